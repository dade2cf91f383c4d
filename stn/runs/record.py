"""A finished run's record, small enough for the repository:
``python -m stn.runs.record RUN... --into experiments/records/BLOCK``.

A record is a folder that every tool reads as it reads the run folder it came from
(``stn.runs.run.read_run``), and from which the trained network loads without Lightning
(``stn.models.zoo``):

- ``config.yaml`` and ``metrics.json``: the run's, byte for byte;
- ``scalars.csv``: every logged scalar (``tag, step, epoch, value, wall_time, sitting``), enough
  to redraw the learning curves and to recount the minutes of training;
- ``record.json``: the facts: the command and commit that trained it, the machine (CPU model
  and ISA, or GPU), precision, threads, minutes, dates, the tested checkpoint's epoch and
  step, the network's input shape, classes and parameter count, and the weights' SHA-256 and
  size;
- ``weights.safetensors``: the tested (best) checkpoint's network weights alone: no optimiser,
  no pickle.

A record is named after the paper's table cell it fills (``mnist_rts/st-cnn-aff``, with
``-seed<N>`` for seeds but 0), or after its run folder where it fills none. Only a finished,
full run is recorded; each record is written whole or not at all.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from stn.errors import MissingData, UsageError, UserError
from stn.files import read_yaml
from stn.runs.folder import (
    BEST,
    CONFIG,
    FACTS,
    FAILED,
    METRICS,
    OVERRIDES,
    WEIGHTS,
    recorded_config,
)
from stn.runs.run import DONE, SCALARS, Run, event_scalars, find_runs, read_run

COLUMNS = ("tag", "step", "epoch", "value", "wall_time", "sitting")


def slug(label: str) -> str:
    """A table row's label as a name: ``ST-CNN Aff`` → ``st-cnn-aff``, ``2×ST-FCN`` →
    ``2xst-fcn``."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower().replace("×", "x")).strip("-")


def paper_cell(run: Run) -> tuple[str, float | None] | None:
    """``(row label, the paper's number)`` of the first paper table cell ``run`` fills."""
    from stn.runs.paper import TABLES

    for table in TABLES.values():
        for label, selector in table.rows:
            for column, where in table.columns:
                if run.matches(selector) and run.matches(where):
                    return label, table.paper.get((label, column))
    return None


def record_name(run: Run) -> str:
    """``<task>/<row>`` of the paper's cell ``run`` fills (``-seed<N>`` for seeds but 0), or
    ``<task>/<run folder>`` where it fills none."""
    task = run.config.get("task_name", "run")
    cell = paper_cell(run)
    if cell is None:
        return f"{task}/{run.path.name}"
    seed = run.config.get("seed", 0)
    return f"{task}/{slug(cell[0])}" + (f"-seed{seed}" if seed else "")


def check_recordable(run: Run) -> None:
    """Refuse a run that is not a finished, full, validated and tested run with its best
    checkpoint."""
    if (run.path / FAILED).exists():
        raise UsageError(f"{run.path} failed ({FAILED}): only a finished run is recorded")
    if run.status != DONE:
        raise UsageError(f"{run.path} has no {METRICS}: it is not finished, so not recorded")
    if run.partial:
        raise UsageError(
            f"{run.path} is a smoke or partial run ({', '.join(run.partial)}): not recorded"
        )
    metrics = json.loads((run.path / METRICS).read_text())  # never validated: run.partial
    if not math.isfinite(metrics.get("test/err", math.nan)):
        raise UsageError(
            f"{run.path} was never tested (test/err is {metrics.get('test/err', 'missing')} in "
            f"{METRICS}): not recorded"
        )
    if not (run.path / BEST).is_file():
        raise MissingData(f"{run.path / BEST} is missing: the tested network cannot be recorded")


def checked(path: Path, commit: str | None) -> tuple[Run, str, str, str]:
    """``(run, record name, commit, command)`` of the run in ``path``, refused unless it can
    be recorded whole (``check_recordable``, a known commit and command)."""
    run = read_run(path)
    check_recordable(run)
    commit = run.config.get("commit") or commit
    if not commit:
        raise UsageError(
            f"{path} does not record the commit that trained it: give it with --commit SHA"
        )
    return run, record_name(run), commit, command(path)


def command(run: Path) -> str:
    """The command that trains ``run`` again: ``python train.py`` with its overrides (Hydra's
    ``.hydra/overrides.yaml``, read as data)."""
    overrides = run / OVERRIDES
    if not overrides.is_file():
        raise MissingData(
            f"{overrides} is missing: the command that trained {run} is unknown, so it is not "
            f"recorded (runs of train.py write it)"
        )
    words = [str(w) for w in read_yaml(overrides)]
    return " ".join(["python train.py", *(w for w in words if not w.startswith(LOCAL))])


# Overrides that say where a run's files were on its machine, not what it trained.
LOCAL = ("hydra.", "paths.", "data.data_dir=", "data.cache_dir=")


def scalars_csv(run: Path) -> str:
    """``run``'s TensorBoard scalars as CSV (``COLUMNS``), each with the epoch Lightning
    logged at or before its step, in its sitting."""
    logged = event_scalars(run)
    epochs: dict[int, list[tuple[int, float]]] = {}
    for s in logged:
        if s.tag == "epoch":
            epochs.setdefault(s.sitting, []).append((s.step, s.value))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in logged:
        known = [e for step, e in epochs.get(s.sitting, []) if step <= s.step]
        epoch = int(known[-1]) if known else ""
        writer.writerow([s.tag, s.step, epoch, repr(s.value), repr(s.wall_time), s.sitting])
    return buffer.getvalue()


def network_weights(run: Path) -> tuple[dict, dict]:
    """``(weights, network)``: the best checkpoint's network state dict (contiguous tensors)
    and the network's facts (``in_shape``, ``num_classes``, ``parameters``, the checkpoint's
    ``epoch`` and ``step``), the network rebuilt through the registry to check the weights."""
    import torch

    from stn.models import create_model
    from stn.tasks.checkpoints import upgrade

    state = upgrade(torch.load(run / BEST, map_location="cpu", weights_only=True))
    hparams = state["hyper_parameters"]
    weights = {
        k.removeprefix("net."): v.contiguous()
        for k, v in state["state_dict"].items()
        if k.startswith("net.")
    }
    shape, classes = list(hparams["in_shape"]), int(hparams["num_classes"])
    net = create_model(hparams["model"], hparams["stn"], in_shape=shape, num_classes=classes)
    net.load_state_dict(weights)  # strict: the record holds exactly the network
    facts = {
        "in_shape": shape,
        "num_classes": classes,
        "parameters": sum(p.numel() for p in net.parameters()),
        "epoch": state.get("epoch"),
        "step": state.get("global_step"),
    }
    return weights, facts


def _relative(path: Path) -> str:
    """``path`` from the project root where it lies inside it (no machine's own folders)."""
    from stn.paths import project_root

    path = path.resolve()
    root = project_root().resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _date(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def write_record(run_path: Path, into: Path, commit: str | None = None) -> Path:
    """Record the finished run in ``run_path`` under ``into``; returns the record's folder.

    ``commit``: the code's git commit, for runs trained before runs recorded their own
    (``config.yaml``'s ``commit``); a run that recorded one keeps it.
    """
    from safetensors.torch import save

    run, name, commit, train_command = checked(run_path, commit)
    weights, network = network_weights(run_path)
    blob = save(weights, metadata={"record": name})
    scalars = scalars_csv(run_path)
    times = [float(line.split(",")[-2]) for line in scalars.splitlines()[1:]]
    config = run.config
    facts = {
        "name": name,
        "source": _relative(run_path),
        "command": train_command,
        "commit": commit,
        "machine": {k[len("machine.") :]: v for k, v in config.items() if k.startswith("machine.")},
        "precision": config.get("trainer.precision"),
        "channels_last": config.get("channels_last"),
        "threads": config.get("threads"),
        "minutes": round(run.minutes, 2) if run.minutes is not None else None,
        "started": _date(min(times)) if times else None,
        "finished": _date(max(times)) if times else None,
        "tested": "best",
        "paper": (paper_cell(run) or (None, None))[1],
        "network": network,
        "weights": {
            "file": WEIGHTS,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "bytes": len(blob),
        },
    }
    target = into / name
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        shutil.copyfile(run_path / CONFIG, staging / CONFIG)
        shutil.copyfile(run_path / METRICS, staging / METRICS)
        (staging / SCALARS).write_text(scalars)
        (staging / WEIGHTS).write_bytes(blob)
        (staging / FACTS).write_text(json.dumps(facts, indent=2) + "\n")
        recorded_config(staging)  # the copy reads back
        old = target.with_name(f".{target.name}.{os.getpid()}.old")
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="stn-record",
        description="Record finished runs (config, metrics, scalars, facts, weights) for git.",
    )
    parser.add_argument(
        "runs", type=Path, nargs="+", metavar="RUN", help="finished run folders, or folders of them"
    )
    parser.add_argument(
        "--into", type=Path, required=True, help="the records folder (experiments/records/BLOCK)"
    )
    parser.add_argument(
        "--commit", help="the git commit that trained runs which do not record their own"
    )
    args = parser.parse_args(argv)
    runs = []
    for path in args.runs:  # a run folder, or a sweep's: every run under it
        found = [path] if (path / CONFIG).is_file() else [r.path for r in find_runs(path)]
        if not found:
            parser.error(f"{path} is not a run folder and holds none (no {CONFIG})")
        runs += found
    names: dict[str, Path] = {}
    try:
        for path in runs:  # every run checked, and their names told apart, before writing
            name = checked(path, args.commit)[1]
            if name in names:
                raise UsageError(
                    f"{names[name]} and {path} would both be recorded as {name}: record them "
                    f"into different --into folders"
                )
            names[name] = path
        for path in names.values():
            print(f"{write_record(path, args.into, args.commit)}: from {path}")
    except UserError as err:
        sys.exit(f"stn-record: {err}")


if __name__ == "__main__":
    main()
