"""How long the command line takes to answer: help, a typo, the composed config.

    python scripts/bench_cli.py [--repeats 3]

Each command runs in a fresh process (imports included), ``--repeats`` times, with
``$STN_DATA_DIR`` an empty folder; the median wall time is printed. Goal: each at most 3 s.
None of them trains, so none may import Lightning; only the two without MNIST import torch
(to read the files) and, to try the download, torchvision.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stn.benchmark import markdown_table
from stn.hardware import cpu_name

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python train.py --help": ["train.py", "--help"],
    "python train.py experiment=mnist_rst (a typo)": ["train.py", "experiment=mnist_rst"],
    "python train.py schedul.lr=0.1 (a wrong key)": ["train.py", "schedul.lr=0.1"],
    "python train.py --cfg job": ["train.py", "--cfg", "job"],
    "python train.py data.distortion.angle=abc": ["train.py", "data.distortion.angle=abc"],
    "python train.py +data.foo=1": ["train.py", "+data.foo=1"],
    "python train.py schedule.optimizer=adamw": ["train.py", "schedule.optimizer=adamw"],
    "python train.py trainer.precision=17": ["train.py", "trainer.precision=17"],
    "python train.py model.channels=abc": ["train.py", "model.channels=abc"],
    "python train.py stn.transform=foo": ["train.py", "stn.transform=foo"],
    "python train.py data.download=false (no MNIST)": ["train.py", "data.download=false"],
    "python train.py (no MNIST, offline: the download fails)": ["train.py"],
    "python -m stn.models.zoo (lists the records)": ["-m", "stn.models.zoo"],
    **{
        f"python -m stn.runs.{tool} --help": ["-m", f"stn.runs.{tool}", "--help"]
        for tool in ("report", "record", "verify", "figure", "dead_units", "survey", "export")
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    env = {**os.environ, "STN_DATA_DIR": tempfile.mkdtemp()}
    for name, argv in COMMANDS.items():
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, *argv, f"hydra.run.dir={tempfile.mkdtemp()}"]
                if argv[0] == "train.py" and argv[1:2] != ["--help"]
                else [sys.executable, *argv],
                cwd=ROOT,
                env=env,
                capture_output=True,
            )
            seconds.append(time.perf_counter() - start)
        rows.append([f"`{name}`", f"{statistics.median(seconds):.2f}"])
    print(f"{cpu_name()}, median of {args.repeats}\n")
    print(markdown_table(["command", "s"], rows))


if __name__ == "__main__":
    main()
