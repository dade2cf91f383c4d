"""The registry of networks: a name → its builder (``stn.models.options`` holds its options).

``create_model(model, stn)`` builds ``model["name"]`` from the ``model`` and ``stn`` configs,
its options checked first (``stn.models.options.model_options``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from stn.data.options import DataOptions, MnistOptions
from stn.models.cub import build_cub
from stn.models.mnist import build_cnn, build_fcn
from stn.models.options import model_options
from stn.models.svhn import build_svhn

# Each builder: (*, options, stn, in_shape, num_classes) -> nn.Module, with its two option
# classes in stn.models.options.OPTIONS under the same name.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "fcn": build_fcn,
    "cnn": build_cnn,
    "svhn": build_svhn,
    "cub": build_cub,
}


def create_model(
    model: Mapping[str, Any], stn: Mapping[str, Any], *, in_shape: Sequence[int], num_classes: int
) -> nn.Module:
    """The network ``model["name"]`` for inputs ``(B, *in_shape)``, ``num_classes`` outputs."""
    name, options, st = model_options(model, stn)
    return MODELS[name](options=options, stn=st, in_shape=tuple(in_shape), num_classes=num_classes)


def check_budget(model: Mapping[str, Any], stn: Mapping[str, Any], data: DataOptions) -> None:
    """Raise ``UsageError`` where an MNIST network cannot meet its parameter budget
    (``model.params``): it is fitted on the meta device (no memory, no data), so that the
    run is refused before it starts."""
    if model.get("params") is None or not isinstance(data, MnistOptions):
        return
    with torch.device("meta"):
        create_model(model, stn, in_shape=data.image_shape, num_classes=data.num_classes)
