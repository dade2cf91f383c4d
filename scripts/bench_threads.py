"""Two training jobs on one machine: at once (a joblib sweep) against one after the other.

    python scripts/bench_threads.py [--steps 60] [--avx2]

Runs the same two-seed sweep of the default experiment (``--steps`` training steps and a
validation pass each) three ways, each timed from the command's start to its end:
1. one job after the other (Hydra's basic launcher; each job takes every core);
2. both at once with ``hydra/launcher=joblib hydra.launcher.n_jobs=2`` (``threads=auto``:
   each job takes its share of the cores);
3. both at once with each job forced to every core (``threads=<cores>``): what two
   separately started runs, each unaware of the other, do.
Goal: 2 at most 1.15× the time of 1. ``--avx2`` runs all three as on a CPU without native
bf16 (see ``stn.benchmark.AVX2_ONLY``). Needs MNIST in the data folder (``$STN_DATA_DIR``,
e.g. ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stn.benchmark import AVX2_ONLY, markdown_table
from stn.hardware import cpu_name, usable_cores

ROOT = Path(__file__).resolve().parents[1]


def sweep(steps: int, env: dict, *overrides: str) -> float:
    """Seconds for ``python train.py -m seed=1,2 ...`` with ``overrides``."""
    out = tempfile.mkdtemp(prefix="bench_threads_")
    cmd = [
        *(sys.executable, "train.py", "-m", "seed=1,2", "schedule.max_epochs=1", "test=false"),
        *(f"+trainer.limit_train_batches={steps}", "+trainer.enable_progress_bar=false"),
        *(f"hydra.sweep.dir={out}", *overrides),
    ]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--avx2", action="store_true", help="as on a CPU without native bf16")
    args = parser.parse_args()
    env = AVX2_ONLY if args.avx2 else {}
    cores = usable_cores()
    joblib = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    ways = {
        "one after the other": (),
        "joblib, 2 at once, threads=auto": joblib,
        f"joblib, 2 at once, threads={cores} each": (*joblib, f"threads={cores}"),
    }
    sweep(2, env)  # warm the caches (validation and test sets) and the file system
    times = {name: sweep(args.steps, env, *overrides) for name, overrides in ways.items()}
    base = times["one after the other"]
    rows = [[name, f"{t:.0f}", f"{t / base:.2f}"] for name, t in times.items()]
    isa = " (capped at AVX2)" if args.avx2 else ""
    print(f"{cpu_name()}{isa}, {cores} cores; 2 jobs of {args.steps} steps + validation\n")
    print(markdown_table(["2 jobs", "s", "× one after the other"], rows))


if __name__ == "__main__":
    main()
