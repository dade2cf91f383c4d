"""One run as every tool sees it: its folder, config, status, logged scalars and time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stn.runs.folder import CONFIG, FAILED, METRICS, TENSORBOARD, partial, recorded_config

DONE, UNFINISHED, CRASHED, UNREADABLE = "done", "unfinished", "failed", "unreadable"


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

    def matches(self, selector: dict) -> bool:
        return all(self.config.get(key) == value for key, value in selector.items())

    @property
    def partial(self) -> list[str]:
        """The options that make this a smoke or partial run (``stn.runs.folder.partial``)."""
        return partial(self.config)


def read_run(path: Path) -> Run:
    """The run recorded in folder ``path`` (which holds ``config.yaml``)."""
    # tensorboard's reader takes seconds to import: only where runs are read, not for --help
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = recorded_config(path)
    series: dict[str, list[float]] = {}
    seconds = 0.0
    for events in sorted((path / TENSORBOARD).glob("events.out.tfevents.*")):  # in time order
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0}).Reload()
        times = []
        for tag in acc.Tags()["scalars"]:
            series.setdefault(tag, []).extend(float(e.value) for e in acc.Scalars(tag))
            times += [e.wall_time for e in acc.Scalars(tag)]
        seconds += max(times) - min(times) if times else 0.0
    # The last value; for the validation error the best (the tested checkpoint's).
    scalars = {tag: min(v) if tag == "val/err" else v[-1] for tag, v in series.items()}
    if (path / FAILED).exists():
        status = CRASHED
    elif (path / METRICS).exists():
        status = DONE
    else:
        status = UNFINISHED
    return Run(path, config, status, scalars, seconds / 60 if series else None)


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
