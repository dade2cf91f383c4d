"""The paper's Table 1 picture from a trained run: test images with each ST's sampling grid
drawn on them, above the STs' outputs.

    python -m stn.runs.figure RUN [--out PNG] [--n 8] [--scale 3] [--where KEY=VALUE ...]

``RUN`` is a run folder (``outputs/...`` or ``multirun/...``), or a record (then ``--out``
is needed: a record's folder is the repository's evidence); its best weights are drawn on
the first ``n`` images of its test set. The PNG stacks one panel per ST. ``RUN`` may
instead hold several runs: the finished one with STs, matching every ``--where`` (config
keys such as ``model.name=cnn``), with the lowest validation error is drawn (chosen on the
validation split, never the test set).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from stn.errors import MissingData
from stn.runs.arguments import beside, count, output_file, user_errors
from stn.runs.folder import CONFIG
from stn.runs.run import DONE, find_runs

if TYPE_CHECKING:
    from torch import Tensor
# torch, torchvision and Lightning are imported where a figure is drawn: --help answers at once.


def render(run: Path, n: int = 8) -> Tensor:
    """The panels of ``run``'s best checkpoint on its first ``n`` test images, stacked
    vertically, ``(3, H, W)`` in [0, 1]."""
    import torch

    from stn.runs.trained import first_images, load
    from stn.tasks.visualise import transformer_panels

    data, task = load(run)
    panels = [panel for panel, _ in transformer_panels(task.net, first_images(data, "test", n))]
    if not panels:
        raise ValueError(f"{run} trained a network without spatial transformers: nothing to draw")
    return torch.cat(panels, dim=1)


def best_run(root: Path, where: dict[str, str]) -> Path:
    """The finished run under ``root`` with STs, matching ``where``, of lowest ``val/err``."""
    runs = [
        run
        for run in find_runs(root)
        if run.status == DONE
        and "val/err" in run.scalars
        and run.config.get("stn.transform") != "none"
        and all(str(run.config.get(key)) == value for key, value in where.items())
    ]
    if not runs:
        raise MissingData(f"no finished run with STs under {root} matches {where}")
    return min(runs, key=lambda run: run.scalars["val/err"]).path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run folder")
    parser.add_argument(
        "--out", type=Path, help="the PNG (default: RUN/figure.png; a record needs it)"
    )
    parser.add_argument("--n", type=count(1), default=8, help="test images drawn")
    parser.add_argument("--scale", type=count(1), default=3, help="pixels per image pixel")
    parser.add_argument("--where", nargs="*", default=[], help="KEY=VALUE: choose among runs")
    args = parser.parse_args(argv)
    bad = [item for item in args.where if "=" not in item]
    if bad:
        parser.error(f"--where {' '.join(bad)}: give KEY=VALUE, e.g. model.name=cnn")
    with user_errors("stn-figure"):
        if args.out:
            output_file(args.out)  # before any run is read
        run = args.run
        if not (run / CONFIG).exists():
            run = best_run(run, dict(item.split("=", 1) for item in args.where))
            print(f"drawing {run}")
        out = args.out or beside(run, "figure.png")
        image = render(run, args.n)[None]
        import torch.nn.functional as F
        import torchvision.utils as vutils

        vutils.save_image(F.interpolate(image, scale_factor=args.scale, mode="nearest"), out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
