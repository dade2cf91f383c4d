"""How much each configured distortion destroys, measured before any training, over the
MNIST test digits: the share of warps that mirror the digit, and how much ink is left.

A warp mirrors (some of) the digit where its sampling grid's Jacobian is negative at a
pixel that samples the digit's image: a TPS folded over itself, or a homography that shows
the digit from behind (P does when a corner's noise drags it inside the quad). No front
view of a flat digit does either. The ink left, Σ distorted / Σ digit, falls with
down-scaling (by the area, s²) and with squashing.

    python -m stn.runs.survey [r rts p e p_unfolded ...] [--data DIR] [--out PNG]
    python -m stn.runs.survey --runs RUN_OR_RECORD [RUN_OR_RECORD ...]

The first prints a Markdown table, and with ``--out`` draws each distortion's first 16 test
digits, one row each. The second splits finished runs' test error (a run folder's best
checkpoint, or a record's weights: ``stn.runs.trained``) between the *damaged*
test digits (mirrored, or left with under a quarter of their ink) and the intact rest.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from stn.paths import default_data_dir
from stn.runs.arguments import output_file, user_errors

if TYPE_CHECKING:
    from torch import Tensor

    from stn.nn import Transform
# torch, torchvision and Lightning are imported where they work: --help answers at once.

CONFIGS = Path(__file__).parents[2] / "configs" / "data" / "distortion"
SEED = 0
LITTLE_INK = 0.25  # a digit left with less of its ink than this counts as damaged


def mirrored(theta: Tensor, transform: Transform, size: int) -> Tensor:
    """Which warps θ ``(B, P)`` of ``transform`` show some of the digit mirrored on a
    ``size`` square: ``(B,)`` bool, true where the sampling grid's Jacobian determinant is
    negative at a pixel that samples inside the source image."""
    grid = transform.grid(theta.double(), (size, size))  # (B, H, W, 2)
    corner = grid[:, :-1, :-1]
    dx = grid[:, :-1, 1:] - corner  # along a row
    dy = grid[:, 1:, :-1] - corner  # down a column
    det = dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]
    inside = (corner.abs() <= 1).all(-1)  # the rest samples the empty border
    return ((det < 0) & inside).flatten(1).any(1)


def damage(
    digits: Tensor, images: Tensor, theta: Tensor, transform: Transform
) -> tuple[Tensor, Tensor]:
    """Per sample, whether the warp θ ``(N, P)`` of ``transform`` mirrored the digit
    ``(N, 28, 28)``, and the ink its image ``(N, 1, S, S)`` kept (Σ image / Σ digit):
    ``(N,)`` bool, ``(N,)`` float."""
    ink = images.flatten(1).float().sum(1) / digits.flatten(1).float().sum(1)
    return mirrored(theta, transform, images.shape[-1]), ink


def damaged(digits: Tensor, images: Tensor, theta: Tensor, transform: Transform) -> Tensor:
    """``(N,)`` bool: mirrored, or left with less than a quarter of the digit's ink."""
    flipped, ink = damage(digits, images, theta, transform)
    return flipped | (ink < LITTLE_INK)


def survey(config: str, digits: Tensor, labels: Tensor) -> tuple[dict[str, float], Tensor]:
    """Mirrored share and ink left for the distortion of ``configs/data/distortion/<config>``
    over ``digits`` ``(N, 28, 28)`` uint8, and the distorted images ``(N, 1, S, S)`` uint8."""
    from omegaconf import OmegaConf

    from stn.data.distortions import transform_of
    from stn.data.mnist import distort

    params = OmegaConf.to_container(OmegaConf.load(CONFIGS / f"{config}.yaml"))
    name = params.pop("name")
    out = distort(digits, labels, name, params, digits_per_sample=1, seed=SEED)
    flipped, ink = damage(digits, out["images"], out["theta"], transform_of(name, params))
    stats = {
        "mirrored": flipped.float().mean().item(),
        "ink_median": ink.median().item(),
        "ink_below_quarter": (ink < LITTLE_INK).float().mean().item(),
    }
    return stats, out["images"]


def errors_by_damage(
    run: Path, data_dir: Path | None = None, cache_dir: Path | None = None
) -> dict[str, tuple[int, float]]:
    """A finished run's (or record's) test error (%) on the damaged test samples, the intact
    ones and all, with their counts: ``{"damaged": (n, err), "intact": ..., "all": ...}``.
    A record's data is read from ``data_dir``, its test set cached in ``cache_dir``
    (``stn.runs.trained.load_data``)."""
    import torch

    from stn.data.distortions import transform_of
    from stn.runs.trained import load, predictions

    data, task = load(run, data_dir=data_dir, cache_dir=cache_dir)
    if getattr(data, "digits_per_sample", None) != 1:
        raise ValueError(f"{run} is not a one-digit distorted-MNIST run: nothing to survey")
    digits, labels = data.splits["test"]
    warp = transform_of(data.name, data.params)
    hurt = damaged(digits, data.sets["test"].images, data.thetas["test"], warp)
    wrong = predictions(data, task, "test") != labels
    return {
        name: (int(rows.sum()), 100 * wrong[rows].float().mean().item())
        for name, rows in (("damaged", hurt), ("intact", ~hurt), ("all", torch.ones_like(hurt)))
    }


def sheet(rows: list[Tensor], scale: int = 2) -> Tensor:
    """Rows of images ``(n, 1, S_i, S_i)`` uint8, centred on the largest canvas: one image."""
    import torch
    import torch.nn.functional as F
    import torchvision.utils as vutils

    side = max(row.shape[-1] for row in rows)
    padded = []
    for row in rows:
        before = (side - row.shape[-1]) // 2
        after = side - row.shape[-1] - before
        padded.append(F.pad(row.float() / 255, (before, after, before, after)))
    big = F.interpolate(torch.cat(padded), scale_factor=scale, mode="nearest")
    return vutils.make_grid(big, nrow=len(rows[0]), padding=2, pad_value=0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", default=["r", "rts", "p", "e"], help="configs/data/distortion/*"
    )
    parser.add_argument(
        "--data", help="the data folder, holding MNIST/, also a record's (default: stn.paths)"
    )
    parser.add_argument("--out", type=Path, help="a PNG of each distortion's first 16 digits")
    parser.add_argument(
        "--runs",
        nargs="+",
        type=Path,
        help="finished run folders or records: their test error on damaged digits",
    )
    args = parser.parse_args(argv)
    known = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown distortion(s) {', '.join(unknown)}; valid: {', '.join(known)}")
    with user_errors("stn-survey"):
        _survey(args)


def _survey(args: argparse.Namespace) -> None:
    if args.out:
        output_file(args.out)  # before any work
    if args.runs:
        print("| run | damaged: n, err (%) | intact: n, err (%) | all: n, err (%) |")
        print("|---|---|---|---|")
        for run in args.runs:
            split = errors_by_damage(run, Path(args.data) if args.data else None)
            cells = [f"{n:,}, {err:.2f}" for n, err in split.values()]
            print(f"| {run} | {' | '.join(cells)} |")
        return
    import torchvision.utils as vutils

    from stn.data.mnist_files import load_mnist

    root = Path(args.data) if args.data else default_data_dir()
    digits, labels = load_mnist(root, train=False, download=True)
    lines = [
        f"{len(digits):,} test digits, seed {SEED}:",
        "",
        "| distortion | mirrored (%) | ink left, median | ink left < 1/4 (%) |",
        "|---|---|---|---|",
    ]
    rows = []
    for name in args.names:
        stats, images = survey(name, digits, labels)
        lines.append(
            f"| {name.upper()} | {100 * stats['mirrored']:.2f} | {stats['ink_median']:.2f} "
            f"| {100 * stats['ink_below_quarter']:.2f} |"
        )
        rows.append(images[:16])
    print("\n".join(lines))
    if args.out:
        vutils.save_image(sheet(rows), args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
