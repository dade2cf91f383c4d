"""Forward + backward time of grid generation + sampling, per transform type, side by side.

    python scripts/bench_transformers.py [--batch 256] [--repeats 20] [--threads N]

Prints, for 1×42×42 → 42×42 and 3×64×64 → 64×64 at batch 256, each transform's time and its
ratio to our affine (the floor), and to kornia's equivalents where kornia has one: TPS
(``get_tps_transform`` + ``warp_image_tps``) and projective (normalised ``homography_warp``).
Gradients flow to θ and to the image, as in training. kornia's TPS allocates ~60 MB per call,
which slows whatever runs next by ~20 %, so it is timed in a pair with ours only.
"""

from __future__ import annotations

import argparse
import platform

import torch
import torch.nn.functional as F

from stn.benchmark import compare, markdown_table
from stn.nn import build_transform, sample


def step(fn, *leaves):
    def run():
        for leaf in leaves:
            leaf.grad = None
        fn().sum().backward()

    return run


def candidates(batch: int, channels: int, size: int) -> dict:
    image = torch.rand(batch, channels, size, size, requires_grad=True)
    out = {}
    thetas = {}
    for name in ("affine", "attention", "projective", "tps"):
        transform = build_transform(name)
        theta = transform.identity().repeat(batch, 1) + 0.05 * torch.randn(
            batch, transform.n_params
        )
        theta.requires_grad_()
        thetas[name] = (transform, theta)
        out[name] = step(
            lambda t=transform, th=theta: sample(image, t.grid(th, (size, size))), theta, image
        )
    affine = thetas["affine"][1]
    out["torch affine_grid"] = step(
        lambda: F.grid_sample(
            image,
            F.affine_grid(affine.view(-1, 2, 3), [batch, 1, size, size], align_corners=False),
            align_corners=False,
        ),
        affine,
        image,
    )
    try:
        import kornia.geometry.transform as kt
    except ImportError:
        return out
    projective, h = thetas["projective"]
    out["kornia projective"] = step(
        lambda: kt.homography_warp(
            image,
            projective.matrix(h),
            (size, size),
            align_corners=False,
            normalized_coordinates=True,
        ),
        h,
        image,
    )
    tps, q = thetas["tps"]
    centres = tps.identity().view(1, -1, 2).expand(batch, -1, -1)

    def kornia_tps():
        moved = q.view(batch, -1, 2)
        kernel, affine_w = kt.get_tps_transform(centres, moved)
        return kt.warp_image_tps(image, moved, kernel, affine_w, align_corners=False)

    out["kornia tps"] = step(kornia_tps, q, image)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cpu = platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, {cpu}, {args.threads} threads, batch {args.batch}")
    kornia_of = {"projective": "kornia projective", "tps": "kornia tps"}
    for channels, size in ((1, 42), (3, 64)):
        fns = candidates(args.batch, channels, size)
        kornia_tps = fns.pop("kornia tps", None)
        times = compare(fns, repeats=args.repeats)
        if kornia_tps is not None:
            pair = compare({"tps": fns["tps"], "kornia tps": kornia_tps}, repeats=args.repeats // 2)
            times["kornia tps"] = pair["kornia tps"] * times["tps"] / pair["tps"]
        rows = []
        for name, seconds in times.items():
            kornia = kornia_of.get(name)
            vs_kornia = f"{times[kornia] / seconds:.1f}× faster" if kornia in times else ""
            rows.append(
                [name, f"{seconds * 1e3:.2f}", f"{seconds / times['affine']:.2f}", vs_kornia]
            )
        print(f"\n{channels}×{size}×{size} → {size}×{size}, forward + backward")
        print(markdown_table(["grid + sampler", "ms", "× affine", "vs kornia"], rows))
    print("\n(kornia tps: scaled from its own pair with our tps, to keep its memory churn apart)")


if __name__ == "__main__":
    main()
