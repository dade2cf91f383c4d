"""A run's folder, as ``stn.train`` writes it and ``stn.report`` reads it.

``<run>/config.yaml`` (the resolved config, written first), ``<run>/tensorboard/`` (the
event files), ``<run>/checkpoints/{best,last}.ckpt``, ``<run>/metrics.json`` (the final
metrics, written last: the run is finished) or ``<run>/FAILED`` (a multirun job that
raised).
"""

from __future__ import annotations

CONFIG = "config.yaml"
METRICS = "metrics.json"
FAILED = "FAILED"
TENSORBOARD = "tensorboard"
LAST = "checkpoints/last.ckpt"
BEST = "checkpoints/best.ckpt"


def flatten(tree: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
