"""Precision and memory format by CPU, and what ``precision=auto`` chooses on each.

    python scripts/bench_precision.py [--batch 256] [--repeats 8] [--profile] [--epoch]

Training images/s (forward, backward, Adam step) of the CNN and ST-CNN (affine) of RTS
MNIST, 42×42, in fp32 and bf16 autocast, NCHW and channels-last, side by side in one
process, twice: on this CPU as it is, and capped at AVX2 (ATen's kernels and oneDNN's; no
AVX-512, no AMX: what most AMD and older Intel CPUs have), each beside the choice that
``stn.hardware`` makes there. ``--profile``: where the chosen configuration's time goes,
operator by operator. ``--epoch``: a real one-epoch run of the default experiment
(``python train.py schedule.max_epochs=1 test=false``) with the choice against bf16 +
channels-last forced, in each ISA (needs MNIST).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = {"NCHW": False, "channels-last": True}


def measure(batch: int, repeats: int, profile: bool) -> None:
    """The table for the CPU as this process sees it."""
    import torch

    from stn import hardware
    from stn.benchmark import compare, markdown_table, mnist_task, training_step

    machine = hardware.detect("cpu")
    auto = (
        hardware.choose_precision(machine) == "bf16-mixed",
        hardware.choose_channels_last(machine),
    )
    data = (torch.rand(batch, 1, 42, 42), torch.randint(0, 10, (batch,)))
    candidates = {}
    for stn in ("none", "affine"):
        for bf16 in (False, True):
            for layout, channels_last in LAYOUTS.items():
                step = training_step(mnist_task(stn, channels_last), bf16)
                candidates[stn, bf16, layout] = lambda step=step: step(*data)
    times = compare(candidates, repeats=repeats)
    rows = []
    for (stn, bf16, layout), t in times.items():
        chosen = (bf16, LAYOUTS[layout]) == auto
        best = times[stn, auto[0], "channels-last" if auto[1] else "NCHW"]
        rows.append(
            [
                ("CNN" if stn == "none" else "ST-CNN") + (" **(auto)**" if chosen else ""),
                "bf16" if bf16 else "fp32",
                layout,
                f"{batch / t:.0f}",
                f"{t / best:.2f}",
            ]
        )
    print(f"{machine.name}, {machine.isa}, {torch.get_num_threads()} threads, batch {batch}")
    print(markdown_table(["model", "precision", "layout", "img/s", "time × auto"], rows))
    if profile:
        step = training_step(mnist_task("affine", auto[1]), auto[0])
        for _ in range(3):
            step(*data)
        with torch.profiler.profile() as prof:
            for _ in range(5):
                step(*data)
        print("\nST-CNN, auto, 5 steps: where the time goes")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def epoch(env: dict, forced: bool) -> str:
    """One real epoch of the default run (its choice, or bf16 + channels-last forced)."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_precision_{os.getpid()}_{forced}"
    cmd = [
        sys.executable,
        "train.py",
        "schedule.max_epochs=1",
        "test=false",
        f"hydra.run.dir={out}",
    ]
    if forced:
        cmd += ["trainer.precision=bf16-mixed", "channels_last=true"]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    chosen = (out / "config.yaml").read_text().split("precision: ")[1].split()[0]
    return f"{'forced' if forced else 'auto'} ({chosen}): {seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--epoch", action="store_true")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return measure(args.batch, args.repeats, args.profile)
    from stn.benchmark import AVX2_ONLY

    for name, env in (("this CPU", {}), ("capped at AVX2", AVX2_ONLY)):
        print(f"## {name}\n", flush=True)
        inner = [sys.executable, __file__, "--inner", f"--batch={args.batch}"]
        inner += [f"--repeats={args.repeats}"] + (["--profile"] if args.profile else [])
        subprocess.run(inner, env={**os.environ, **env}, check=True)
        if args.epoch:
            print(
                "\none epoch of `python train.py`:", ", ".join(epoch(env, f) for f in (False, True))
            )
        print(flush=True)


if __name__ == "__main__":
    main()
