"""The registry of networks: a name → its builder and its typed options."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from stn.errors import UsageError
from stn.options import typed


@dataclass(frozen=True)
class Family:
    """A registered network: its builder and the dataclasses of its options."""

    build: Callable[..., nn.Module]
    options: type
    stn: type


MODELS: dict[str, Family] = {}


def register(name: str, options: type, stn: type) -> Callable:
    """Register the decorated builder as network ``name``."""

    def add(build: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        MODELS[name] = Family(build, options, stn)
        return build

    return add


def model_options(model: Mapping[str, Any], stn: Mapping[str, Any]) -> tuple[Family, Any, Any]:
    """The family of ``model["name"]`` and its typed ``model`` and ``stn`` options."""
    name = model.get("name")
    if name not in MODELS:
        raise UsageError(f"unknown model.name={name!r}; valid: {', '.join(MODELS)}")
    family = MODELS[name]
    where = f"the {name} network"
    options = typed(family.options, {k: v for k, v in model.items() if k != "name"}, "model", where)
    return family, options, typed(family.stn, dict(stn), "stn", where)


def create_model(
    model: Mapping[str, Any], stn: Mapping[str, Any], *, in_shape: Sequence[int], num_classes: int
) -> nn.Module:
    """The network ``model["name"]`` for inputs ``(B, *in_shape)``, ``num_classes`` outputs."""
    family, options, st = model_options(model, stn)
    return family.build(options=options, stn=st, in_shape=tuple(in_shape), num_classes=num_classes)
