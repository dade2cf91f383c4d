"""Runs side by side on the validation split: ``python -m stn.runs.report PATH... --validation``.

For choosing between readings of the paper or settings without looking at the test set: one
row per run with the options that set it apart from the others, its best validation error
(the checkpoint it would be tested with), its training loss over its last epoch (how well it
fits the training distortions: a high one says the network cannot fit the task, not that it
lacks epochs), its minutes, and the machine and precision it trained with. No test number is
shown.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from stn.runs.folder import ADDED, trained
from stn.runs.run import UNREADABLE, Run, scalars_of


def last_epoch_loss(path: Path) -> float | None:
    """The mean training loss logged during the last epoch of the run in ``path``."""
    scalars = scalars_of(path)
    epoch_at = {s.step: s.value for s in scalars if s.tag == "epoch"}
    losses = [(epoch_at.get(s.step), s.value) for s in scalars if s.tag == "train/loss"]
    if not losses:
        return None
    last = losses[-1][0]
    return statistics.fmean(value for epoch, value in losses if epoch == last)


def setting_apart(runs: list[Run]) -> list[str]:
    """The trained options whose values differ between ``runs`` (an option added after some
    were recorded counts with the value ``ADDED`` gives it)."""
    configs = [{**ADDED, **run.config} for run in runs]
    keys = set.union(*(set(c) for c in configs)) if configs else set()
    return sorted(k for k in keys if trained(k) and len({repr(c.get(k)) for c in configs}) > 1)


def machine(run: Run) -> str:
    """``name (ISA), precision`` of the machine that trained ``run``; ``—`` where its config
    names none."""
    return f"{run.machine}, {run.config.get('trainer.precision')}" if run.machine else "—"


def validation(runs: list[Run]) -> tuple[str, list[dict]]:
    """Markdown of ``runs`` side by side (each named by its path) and its CSV rows."""
    readable = [run for run in runs if run.status != UNREADABLE]
    keys = setting_apart(readable)
    rows = []
    for run in readable:
        loss = last_epoch_loss(run.path)
        rows.append(
            {
                "run": str(run.path),
                "options": ", ".join(
                    f"{k}={_value(run.config.get(k, ADDED.get(k)))}" for k in keys
                ),
                "status": run.status,
                "epochs": run.config.get("schedule.max_epochs"),
                "val_err": run.scalars.get("val/err"),
                "train_loss": loss,
                "minutes": run.minutes,
                "machine": machine(run),
            }
        )
    lines = [
        "| run | options | epochs | val/err (%) | train/loss, last epoch | minutes | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            f"`{row['run']}`" + ("" if row["status"] == "done" else f" ({row['status']})"),
            row["options"] or "—",
            str(row["epochs"]),
            _number(row["val_err"], 2),
            _number(row["train_loss"], 3),
            _number(row["minutes"], 1),
            row["machine"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), rows


def _value(value: Any) -> str:
    """A config value as a command line gives it (``null``, not ``None``)."""
    return "null" if value is None else str(value)


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
