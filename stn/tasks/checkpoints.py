"""Checkpoints of older versions of the suite, read as today's: the one place that knows.

- ``stn`` options a network never read (SVHN's ``n``, ``pool`` and ``shared``, CUB's
  ``pool`` and ``shared``, recorded by the configs of the time) are dropped: they had no
  effect on the weights.
- ``model`` and ``stn`` options added since (``stn.runs.folder.ADDED``) get the value every
  network had before them.
- MNIST networks from before one localisation net per ST held one ``transformer``; today's
  hold a list, ``transformers``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stn.models.options import OPTIONS
from stn.runs.folder import ADDED

# (networks, old prefix, new prefix) of renamed parameters
RENAMED = [(("fcn", "cnn"), "net.transformer.", "net.transformers.0.")]


def upgrade(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """``checkpoint`` (a Lightning checkpoint's dict) in today's form, changed in place."""
    hparams = checkpoint.get("hyper_parameters", {})
    name = hparams.get("model", {}).get("name")
    if name in OPTIONS and "stn" in hparams:
        read = {
            section: {f.name for f in dataclasses.fields(options)}
            for section, options in zip(("model", "stn"), OPTIONS[name], strict=True)
        }
        hparams["stn"] = {k: v for k, v in hparams["stn"].items() if k in read["stn"]}
        for key, value in ADDED.items():
            section, _, option = key.partition(".")
            if option in read.get(section, ()):
                hparams[section].setdefault(option, value)
    state = checkpoint.get("state_dict", {})
    for networks, old, new in RENAMED:
        for key in [k for k in state if name in networks and k.startswith(old)]:
            state[new + key[len(old) :]] = state.pop(key)
    return checkpoint
