"""A run's folder, as ``stn.train`` writes it and ``stn.runs.report`` reads it.

``<run>/config.yaml`` (the resolved config, written first, with ``<run>/.hydra/overrides.yaml``,
the command's overrides), ``<run>/tensorboard/`` (the event files),
``<run>/checkpoints/{best,last}.ckpt``, ``<run>/metrics.json`` (the final
metrics, written last: the run is finished) or ``<run>/FAILED`` (a multirun job that
raised).

A smoke or partial run (``partial``: it trains or evaluates on part of the data) is named
by those options, so it never takes the folder of the full run, and ``stn.runs.report`` lists
it apart from the tables.
"""

from __future__ import annotations

from pathlib import Path

from stn.files import read_yaml

CONFIG = "config.yaml"
METRICS = "metrics.json"
FAILED = "FAILED"
TENSORBOARD = "tensorboard"
LAST = "checkpoints/last.ckpt"
BEST = "checkpoints/best.ckpt"
OVERRIDES = ".hydra/overrides.yaml"  # the command's overrides, as Hydra wrote them
# A record of a run (stn.runs.record) holds CONFIG, METRICS, its facts and its weights.
FACTS = "record.json"
WEIGHTS = "weights.safetensors"


def is_record(path: Path) -> bool:
    """Whether ``path`` is a record (``stn.runs.record``) rather than a run folder."""
    return (path / FACTS).is_file()


def flatten(tree: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def recorded_config(run: Path) -> dict:
    """The flat config recorded in folder ``run`` (``config.yaml``, read as data)."""
    return flatten(read_yaml(run / CONFIG))


# Options that make a run smoke or partial: on when set (not null, false or 0) ...
SMOKE = ("trainer.fast_dev_run", "data.subset", "trainer.overfit_batches")
# ... and Lightning's batch limits unless the whole (the float 1.0; an int counts batches).
LIMITS = ("trainer.limit_train_batches", "trainer.limit_val_batches", "trainer.limit_test_batches")


def partial(config: dict) -> list[str]:
    """The ``key=value`` options that make a run with the flat ``config`` smoke or partial
    (none for a full run)."""
    found = [key for key in SMOKE if config.get(key) not in (None, False, 0)]
    found += [
        key
        for key in LIMITS
        if config.get(key) is not None
        and not (isinstance(config[key], float) and config[key] == 1.0)
    ]
    return [f"{key}={config[key]}" for key in found]


# Keys that do not change what a run trains: runs that differ only in these are seeds of one
# configuration (a key ending in "." covers its whole group).
NOT_TRAINED = (
    *("seed", "data.seed", "paths.", "machine.", "commit", "threads", "compile", "resume"),
    "ckpt_path",
    *("data.data_dir", "data.cache_dir"),  # the dataset's copies of paths.*
    *("train", "test"),
    *("trainer.accelerator", "data.workers", "trainer.log_every_n_steps"),
    "trainer.enable_progress_bar",
)


def trained(key: str) -> bool:
    """Whether the flat config ``key`` changes what a run trains."""
    return not any(key == k or (k.endswith(".") and key.startswith(k)) for k in NOT_TRAINED)


# Options added after runs were recorded, with the value every run recorded before had.
ADDED = {
    "data.distortion.corners": "any",
    "data.distortion.folds": "keep",
    "data.distortion.shift": None,
    "stn.downsample": "pool",
    "model.padding": "same",
}


def differences(recorded: dict, config: dict) -> list[str]:
    """The keys in which flat ``config`` trains something else than flat ``recorded``, as
    ``key: recorded → now``: keys both hold that change training (``trained``) with other
    values. A key one of them lacks, recorded before it existed, is not a difference,
    unless ``ADDED`` says what it was."""
    recorded = {**{k: v for k, v in ADDED.items() if k in config}, **recorded}
    config = {**{k: v for k, v in ADDED.items() if k in recorded}, **config}
    return [
        f"{k}: {recorded[k]!r} → {config[k]!r}"
        for k in sorted(recorded.keys() & config.keys())
        if trained(k) and recorded[k] != config[k]
    ]


def configurations(configs: list[dict]) -> list[list[int]]:
    """The indices of flat ``configs`` grouped by configuration: two runs are seeds of one
    when they have no ``differences``."""
    groups: list[list[int]] = []
    for i, config in enumerate(configs):
        for group in groups:
            if not differences(configs[group[0]], config):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups
