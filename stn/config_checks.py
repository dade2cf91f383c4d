"""The numbers a run is configured with, checked before any data is loaded or any folder
written: a wrong one stops the run at once, naming the key, the value and what is allowed."""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

from stn.errors import UsageError
from stn.runs import flatten

# key: (integer only, the smallest value allowed; None: any). A key a family lacks is skipped.
NUMBERS = {
    "seed": (True, None),
    "schedule.batch_size": (True, 1),
    "schedule.max_epochs": (True, -1),
    "schedule.max_steps": (True, -1),
    "schedule.warmup_steps": (True, 0),
    "schedule.lr": (False, 0),
    "schedule.loc_lr_factor": (False, 0),
    "schedule.weight_decay": (False, 0),
    "schedule.momentum": (False, 0),
    "stn.n": (True, 1),
    "stn.pool": (True, 1),
    "data.val_size": (True, 1),
    "model.params": (True, 1),
}


def check_numbers(cfg: DictConfig) -> None:
    """Raise ``UsageError`` for the first value in ``NUMBERS`` of the wrong type or range."""
    flat = flatten(OmegaConf.to_container(cfg, resolve=True))
    for key, (integer, minimum) in NUMBERS.items():
        if key not in flat or (key == "model.params" and flat[key] is None):
            continue
        value = flat[key]
        kind = "an integer" if integer else "a number"
        is_number = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not is_number or not math.isfinite(value):
            raise UsageError(f"{key}={value!r} must be {kind}: give e.g. {key}=1")
        if minimum is not None and value < minimum:
            raise UsageError(f"{key}={value!r} must be {kind} of at least {minimum}")
