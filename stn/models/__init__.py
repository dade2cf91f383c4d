"""The paper's networks by name, one file per family.

``create_model(model, stn, in_shape=..., num_classes=...)`` builds ``model["name"]`` (``fcn``
and ``cnn`` on MNIST, ``svhn``, ``cub``) from its ``model`` and ``stn`` configs, each checked
against the family's typed options first (``stn.models.options``, which needs no torch): an
option the family does not read is an error, never ignored. Every network lists its STs, in
depth order, as ``transformers``. ``pretrained(NAME)`` loads a recorded, trained network
(``pretrained_names()`` lists them; both in ``stn.models.zoo``).

A new network: a builder ``(*, options, stn, in_shape, num_classes) -> nn.Module`` in its own
file, a dataclass of its ``model`` options and one of its ``stn`` options in
``stn.models.options.OPTIONS``, and its builder in ``stn.models.registry.MODELS``.

The names below are imported on first use, so that ``stn.models.options`` is read without
torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "MODELS": "stn.models.registry",
    "create_model": "stn.models.registry",
    "OPTIONS": "stn.models.options",
    "model_options": "stn.models.options",
    "pretrained": "stn.models.zoo",
    "pretrained_names": "stn.models.zoo",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'stn.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
