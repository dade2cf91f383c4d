"""The paper's networks, one file per family, built from the ``model`` and ``stn`` configs."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from stn.nn.models.cub import build_cub_model
from stn.nn.models.mnist import build_mnist_model
from stn.nn.models.svhn import CLASSES, build_svhn_model


def build_model(model: dict, stn: dict, in_shape: Sequence[int], num_classes: int) -> nn.Module:
    """The network of ``model.name``: ``fcn`` or ``cnn`` (MNIST), ``svhn`` or ``cub``.

    The ST variant follows ``stn.transform`` (``none``: the plain network). An SVHN network
    puts its STs where ``model.placement`` says (``single``: at the input; ``multi``: before
    each of the first 4 conv layers; or a list of conv layers, 0–7). Every network lists its
    STs, in depth order, as ``transformers``.
    """
    if model["name"] == "cub":
        options = {k: v for k, v in model.items() if k != "name"}
        return build_cub_model(
            **options, transform=stn["transform"], n=stn.get("n", 1), num_classes=num_classes
        )
    if model["name"] != "svhn":
        return build_mnist_model(model, stn, in_shape, num_classes)
    if num_classes != CLASSES:
        raise ValueError(f"the SVHN network has {CLASSES} classes per digit, got {num_classes}")
    placement = "cnn" if stn["transform"] == "none" else model["placement"]
    if (isinstance(placement, str) and placement not in ("cnn", "single", "multi")) or (
        placement == "cnn" and stn["transform"] != "none"
    ):
        raise ValueError(
            f"unknown model.placement {placement!r}; valid: single, multi, or a list of conv "
            f"layers 0–7 (the CNN has no STs: stn=none)"
        )
    return build_svhn_model(
        placement,
        in_shape,
        stn["transform"],
        hidden=model["hidden"],
        dropout=model["dropout"],
        channels=model["channels"],
    )
