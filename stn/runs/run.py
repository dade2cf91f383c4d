"""One run as every tool sees it: its folder, config, status, logged scalars and time.

A run is read from its folder (TensorBoard event files) or from its record (the same
scalars as ``scalars.csv``, see ``stn.runs.record``): both give the same ``Run``.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from stn.runs.folder import CONFIG, FAILED, METRICS, TENSORBOARD, partial, recorded_config

DONE, UNFINISHED, CRASHED, UNREADABLE = "done", "unfinished", "failed", "unreadable"
SCALARS = "scalars.csv"  # a record's scalars, in place of its TensorBoard events


class Scalar(NamedTuple):
    """One logged value: ``sitting`` counts the event files (a resumed run has several)."""

    sitting: int
    tag: str
    step: int
    wall_time: float
    value: float


@dataclass
class Run:
    """One training run: its folder, flattened config, status, last scalar values, and its
    minutes of training: first to last logged value of each sitting (event file), summed, so
    the pause before a resumed run is not counted; for an unreadable run, why."""

    path: Path
    config: dict
    status: str
    scalars: dict[str, float] = field(default_factory=dict)
    minutes: float | None = None
    reason: str = ""
    validated: bool = True  # a finished run with a finite best val/err (or not finished yet)

    @property
    def machine(self) -> str:
        """``name (ISA)`` of the machine its config records (a GPU's ISA is its compute
        capability, ``sm_90``); ``""`` where the config names none."""
        name = self.config.get("machine.name") or ""
        isa = self.config.get("machine.isa") or self.config.get("machine.accelerator")
        return f"{name} ({isa})" if name and isa else name

    def matches(self, selector: dict) -> bool:
        return all(self.config.get(key) == value for key, value in selector.items())

    @property
    def partial(self) -> list[str]:
        """The options that make this a smoke or partial run (``stn.runs.folder.partial``),
        and ``no validation`` for a finished run that never validated (zero epochs,
        ``max_steps`` before the first validation, a checkpoint only tested): no table cell
        takes it."""
        return partial(self.config) + ([] if self.validated else ["no validation"])


def event_scalars(path: Path) -> list[Scalar]:
    """Every scalar logged to run folder ``path``'s TensorBoard events, sitting by sitting,
    each tag's values in the order logged."""
    # tensorboard's reader takes seconds to import: only where runs are read, not for --help
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found = []
    for sitting, events in enumerate(sorted((path / TENSORBOARD).glob("events.out.tfevents.*"))):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0}).Reload()
        for tag in acc.Tags()["scalars"]:
            found += [
                Scalar(sitting, tag, e.step, e.wall_time, float(e.value)) for e in acc.Scalars(tag)
            ]
    return found


def record_scalars(path: Path) -> list[Scalar]:
    """The scalars of the record in ``path`` (its ``scalars.csv``)."""
    with open(path / SCALARS, newline="") as file:
        rows = csv.reader(file)  # not DictReader: a record has thousands of rows
        column = {name: i for i, name in enumerate(next(rows))}
        sitting, tag, step, wall_time, value = (column[name] for name in Scalar._fields)
        return [
            Scalar(int(r[sitting]), r[tag], int(r[step]), float(r[wall_time]), float(r[value]))
            for r in rows
        ]


def scalars_of(path: Path) -> list[Scalar]:
    """``path``'s scalars: a record's from its CSV, a run folder's from its events."""
    return record_scalars(path) if (path / SCALARS).exists() else event_scalars(path)


def read_run(path: Path) -> Run:
    """The run recorded in folder ``path`` (which holds ``config.yaml``): a run folder or a
    record."""
    config = recorded_config(path)
    logged = scalars_of(path)
    series: dict[str, list[float]] = {}
    sittings: dict[int, list[float]] = {}
    for scalar in logged:
        series.setdefault(scalar.tag, []).append(scalar.value)
        sittings.setdefault(scalar.sitting, []).append(scalar.wall_time)
    seconds = sum(max(times) - min(times) for times in sittings.values())
    # The last value; for the validation error the best (the tested checkpoint's).
    scalars = {tag: min(v) if tag == "val/err" else v[-1] for tag, v in series.items()}
    validated = True
    if (path / FAILED).exists():
        status = CRASHED
    elif (path / METRICS).exists():
        status = DONE
        best = json.loads((path / METRICS).read_text()).get("val/err")
        validated = isinstance(best, (int, float)) and math.isfinite(best)
    else:
        status = UNFINISHED
    return Run(path, config, status, scalars, seconds / 60 if series else None, "", validated)


def find_runs(root: Path) -> list[Run]:
    """Every run under ``root`` (``root`` itself included), in path order."""
    configs = sorted(p for p in root.rglob(CONFIG) if p.parent.name != ".hydra")
    return [_read_or_say_why(p.parent) for p in configs]


def _read_or_say_why(path: Path) -> Run:
    """The run in ``path``, or one marked unreadable, with its reason."""
    try:
        return read_run(path)
    except Exception as err:  # a truncated config.yaml, a broken event file: report the rest
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        return Run(path, {}, UNREADABLE, reason=reason)
