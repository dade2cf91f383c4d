"""The training schedule's options (``schedule.*``), typed and checked without Lightning.

``stn.train`` checks them before anything heavy is imported, and ``Classification`` reads
them through the same class, so one list of options serves both (the numbers' ranges are
``stn.config_checks.NUMBERS``'s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stn.errors import UsageError
from stn.options import typed

OPTIMISERS = ("sgd", "adam")
SCHEDULERS = ("step", "cosine")


@dataclass(frozen=True, kw_only=True)
class ScheduleOptions:
    """``optimizer`` (``sgd`` with ``momentum``, or ``adam``), ``lr``, ``weight_decay``,
    ``loc_lr_factor`` (the localisation nets' learning rate relative to the rest),
    ``scheduler`` (``step``: ×``gamma`` every ``step_size`` iterations, the paper's;
    ``cosine``: to 0 over the run) after ``warmup_steps`` of linear warm-up (0: none), and
    the run's length: ``max_epochs``, or -1 with ``max_steps`` (``stn.config_checks``)."""

    batch_size: int
    optimizer: str
    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    loc_lr_factor: float = 1.0
    scheduler: str = "cosine"
    warmup_steps: int = 0
    max_steps: int = -1
    max_epochs: int = -1
    step_size: int | None = None
    gamma: float | None = None

    def __post_init__(self) -> None:
        for key, valid in (("optimizer", OPTIMISERS), ("scheduler", SCHEDULERS)):
            if getattr(self, key) not in valid:
                raise UsageError(
                    f"schedule.{key}={getattr(self, key)!r} is not one of: {', '.join(valid)}"
                )
        if self.scheduler == "step" and not (
            isinstance(self.step_size, int) and self.step_size >= 1 and 0 < (self.gamma or 0) <= 1
        ):
            raise UsageError(
                f"schedule.scheduler=step needs schedule.step_size, an integer of at least 1 "
                f"(now {self.step_size!r}), and schedule.gamma in (0, 1] (now {self.gamma!r})"
            )


def schedule_options(schedule: Mapping[str, Any]) -> ScheduleOptions:
    """The ``schedule`` config, checked."""
    return typed(ScheduleOptions, schedule, "schedule", "the schedule")
