"""What a run is configured with, checked before any data is loaded or any folder written:
its numbers, its length, its trainer's options, its network's options and its cache
folder (the dataset's options: ``stn.data.options``). None imports torch. A wrong one stops
the run at once, naming the key, the value and what is allowed."""

from __future__ import annotations

import ast
import difflib
import importlib.util
import math
import os
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from stn.data.options import DataOptions, MnistOptions
from stn.errors import UsageError
from stn.models.options import check_cnn_input, model_options
from stn.runs.folder import flatten

# key: (integer only, the smallest value allowed (None: any)[, the largest]). A key a family
# lacks is skipped.
NUMBERS = {
    "seed": (True, 0, 2**32 - 1),  # numpy's bounds, which Lightning's seeding keeps
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
    "model.params": (True, 1),
}


def check_numbers(cfg: DictConfig) -> None:
    """Raise ``UsageError`` for the first value in ``NUMBERS`` of the wrong type or range."""
    flat = flatten(OmegaConf.to_container(cfg, resolve=True))
    for key, (integer, minimum, *maximum) in NUMBERS.items():
        if key not in flat or (key == "model.params" and flat[key] is None):
            continue
        value = flat[key]
        kind = "an integer" if integer else "a number"
        is_number = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not is_number or not math.isfinite(value):
            raise UsageError(f"{key}={value!r} must be {kind}: give e.g. {key}=1")
        if minimum is not None and value < minimum:
            raise UsageError(f"{key}={value!r} must be {kind} of at least {minimum}")
        if maximum and value > maximum[0]:
            raise UsageError(f"{key}={value!r} must be {kind} of at most {maximum[0]}")


def check_length(cfg: DictConfig) -> None:
    """Raise ``UsageError`` unless the run has a length: ``max_epochs`` of at least 1, or -1
    with ``max_steps`` of at least 1 (zero epochs would record a run that never validated,
    and -1 with -1 would never end)."""
    trainer = cfg.trainer
    epochs, steps = trainer.get("max_epochs"), trainer.get("max_steps")
    if trainer.get("fast_dev_run") or epochs is None:
        return
    if epochs == 0 or (epochs == -1 and (steps is None or steps < 1)):
        raise UsageError(
            f"schedule.max_epochs={epochs} with schedule.max_steps={steps} trains for no length: "
            f"give schedule.max_epochs of at least 1, or -1 with schedule.max_steps of at least 1"
        )


# Trainer arguments the suite sets itself, from its own options.
SET_BY_THE_SUITE = ("logger", "callbacks")


@cache
def trainer_arguments() -> frozenset[str]:
    """The arguments of Lightning's ``Trainer``, read from its source, not imported (the
    import takes seconds): what ``trainer.*`` may hold."""
    spec = importlib.util.find_spec("pytorch_lightning")  # finds it without importing it
    source = Path(spec.submodule_search_locations[0]) / "trainer" / "trainer.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ClassDef) and node.name == "Trainer":
            init = next(f for f in node.body if getattr(f, "name", None) == "__init__")
            return frozenset(a.arg for a in init.args.args[1:] + init.args.kwonlyargs)
    raise RuntimeError(f"no class Trainer in {source}")  # a Lightning this suite does not know


def check_trainer(cfg: DictConfig) -> None:
    """Raise ``UsageError`` for a ``trainer.*`` key Lightning's Trainer does not take (a typo
    such as ``trainer.max_epoch``) or one the suite sets itself, naming the nearest."""
    known = trainer_arguments() - set(SET_BY_THE_SUITE)
    for key in cfg.trainer:
        if key in SET_BY_THE_SUITE:
            raise UsageError(f"trainer.{key} is set by the suite: remove it")
        if key not in known:
            near = difflib.get_close_matches(key, known, n=3)
            hint = f"; did you mean {', '.join(f'trainer.{k}' for k in near)}?" if near else ""
            raise UsageError(f"trainer.{key} is not an option of Lightning's Trainer{hint}")


def check_cache_folder(cfg: DictConfig) -> None:
    """Raise ``UsageError`` unless ``paths.cache_dir`` exists or can be made, and is writable:
    said before data is built, not after."""
    folder = Path(cfg.paths.cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK)
        reason = "no write permission"
    except OSError as err:
        writable, reason = False, f"{type(err).__name__}: {err.strerror or err}"
    if not writable:
        raise UsageError(
            f"paths.cache_dir={folder} cannot be written ({reason}): give a folder you can "
            f"write, e.g. paths.cache_dir=$HOME/.cache/stn"
        )


def check_options(cfg: DictConfig, data: DataOptions) -> None:
    """Raise ``UsageError`` for an option the network does not have, or of the wrong type
    or value (``stn.models.options``), naming the key and the family; and, on MNIST, for an
    ``stn.pool`` or a CNN's convolutions that leave no map of the ``data``'s images."""
    config = OmegaConf.to_container(cfg, resolve=True)
    name, model, stn = model_options(config["model"], config["stn"])
    if not isinstance(data, MnistOptions):
        return
    side = data.image_shape[1:]
    size = stn.classifier_size(side)
    if min(size) < 1:
        raise UsageError(
            f"stn.pool={stn.pool} makes the STs' {'×'.join(map(str, side))} output "
            f"{'×'.join(map(str, size))}: give stn.pool of at most {min(side)}"
        )
    if name == "cnn":
        check_cnn_input(model.kernel_sizes, model.padding, size)
