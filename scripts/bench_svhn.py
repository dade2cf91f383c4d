"""SVHN: digitStruct.mat parsing, and the cost of ST-CNN Multi over the CNN.

    python scripts/bench_svhn.py [--records 33402] [--file /tmp/digitStruct_33402.mat]

1. Writes (once) a generated ``digitStruct.mat`` of ``--records`` records in the MATLAB
   v7.3 layout (1–5 digits per image, as in SVHN's train split), then times, side by side
   on its first 2,000 records, our reader (1 process) and the high-level h5py parser most
   SVHN loaders copy, and finally our reader on the whole file with its default processes
   (goal: 33,402 records in at most 10 s).
2. Forward + backward of ST-CNN Single and Multi against the CNN at 64×64, batch 128, in
   fp32, bf16 autocast, and bf16 with channels-last (as training runs) (the paper: Multi is
   only 6 % slower; goal here: at most 10 %). ``--profile``: only where Multi's extra time
   goes, operator by operator.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from stn.benchmark import compare, markdown_table
from stn.data.digit_struct import FIELDS, read_digit_struct, write_digit_struct
from stn.models.svhn import build_svhn_model


def generate(path: Path, records: int) -> None:
    rng = np.random.default_rng(0)
    digits = rng.choice([1, 2, 3, 4, 5], size=records, p=[0.2, 0.5, 0.2, 0.08, 0.02])
    labels = [rng.integers(1, 11, n) for n in digits]
    boxes = [np.column_stack([label, *rng.integers(0, 300, (4, len(label)))]) for label in labels]
    write_digit_struct(path, [(f"{i + 1}.png", b) for i, b in enumerate(boxes)])


def high_level(path: Path, stop: int) -> list:
    """The usual parser: every object through h5py's high-level API."""
    out = []
    with h5py.File(path, "r") as f:
        names, bboxes = f["digitStruct/name"], f["digitStruct/bbox"]
        for i in range(stop):
            name = "".join(chr(c) for c in f[names[i, 0]][()].ravel())
            group = f[bboxes[i, 0]]
            fields = {}
            for key in FIELDS:
                field = group[key]
                if len(field) == 1:
                    fields[key] = [field[()].item()]
                else:
                    fields[key] = [f[ref][()].item() for ref in field[()].ravel()]
            out.append((name, fields))
    return out


PRECISIONS = ("fp32", "bf16", "bf16 + channels-last")  # the last: how training runs


def _steps(batch: int, precision: str, names: tuple[str, ...]) -> dict:
    """A forward + backward step of each SVHN network ``names`` in ``precision``."""
    layout = torch.channels_last if "channels-last" in precision else torch.contiguous_format
    x = torch.rand(batch, 3, 64, 64).contiguous(memory_format=layout)
    steps = {}
    for name in names:
        net = build_svhn_model(name, (3, 64, 64)).to(memory_format=layout)

        def step(net=net, bf16=precision != "fp32"):
            net.zero_grad(set_to_none=True)
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                net(x).float().sum().backward()

        steps[name] = step
    return steps


def models(batch: int, repeats: int) -> str:
    candidates = {
        (name, precision): step
        for precision in PRECISIONS
        for name, step in _steps(batch, precision, ("cnn", "single", "multi")).items()
    }
    times = compare(candidates, repeats=repeats, warmup=1)
    rows = [
        [name, precision, f"{t * 1000:.0f}", f"{t / times['cnn', precision]:.3f}"]
        for (name, precision), t in times.items()
    ]
    header = [f"fwd+bwd, batch {batch}, 64×64", "precision", "ms", "× CNN"]
    return markdown_table(header, rows)


def profile(batch: int, precision: str, rows: int = 8) -> str:
    """Where ST-CNN Multi's extra time goes: self CPU ms per step of the operators whose
    time grows most over the CNN's."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    steps = _steps(batch, precision, ("cnn", "multi"))
    ms = {}
    for name, step in steps.items():
        step()
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(2):
                step()
        ms[name] = {e.key: e.self_cpu_time_total / 2e3 for e in prof.key_averages()}
    ops = sorted(set(ms["multi"]), key=lambda k: ms["cnn"].get(k, 0) - ms["multi"][k])
    table = [[op, f"{ms['cnn'].get(op, 0):.0f}", f"{ms['multi'][op]:.0f}"] for op in ops[:rows]] + [
        ["total", f"{sum(ms['cnn'].values()):.0f}", f"{sum(ms['multi'].values()):.0f}"]
    ]
    return markdown_table([f"{precision}: operator (self CPU)", "cnn ms", "multi ms"], table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=33_402)
    parser.add_argument("--file", type=Path, help="where the generated file is kept")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--profile", action="store_true", help="only profile Multi vs CNN")
    args = parser.parse_args()
    if args.profile:
        print("\n\n".join(profile(args.batch, p) for p in ("fp32", PRECISIONS[-1])))
        return
    path = args.file or Path(f"/tmp/digitStruct_{args.records}.mat")
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.records)
        print(f"generated {path} in {time.perf_counter() - start:.0f} s")
    subset = min(2000, args.records)
    partial = path.with_name(f"{path.stem}_first{subset}.mat")
    if not partial.exists():
        full = read_digit_struct(path)
        write_digit_struct(partial, [full.record(i) for i in range(subset)])
    times = compare(
        {
            "ours (1 process)": lambda: read_digit_struct(partial, workers=1),
            "high-level h5py, per object": lambda: high_level(partial, subset),
        },
        repeats=args.repeats,
        warmup=1,
    )
    rows = [
        [name, f"{t:.2f}", f"{subset / t:.0f}", f"{times['high-level h5py, per object'] / t:.1f}"]
        for name, t in times.items()
    ]
    print(markdown_table([f"first {subset} records", "s", "records/s", "× high-level"], rows))
    start = time.perf_counter()
    records = len(read_digit_struct(path))
    seconds = time.perf_counter() - start
    workers = min(os.cpu_count() or 1, 4)
    print(f"\nours, all {records} records, {workers} processes: {seconds:.2f} s (goal ≤ 10 s)\n")
    print(models(args.batch, args.repeats))


if __name__ == "__main__":
    main()
