"""Typed options from a config mapping: every key read, none unknown, each of its type.

The registries of networks (``stn.models``) and datasets (``stn.data``) build from plain
config mappings through ``typed``, so a misspelt key, an option a family does not have or a
value of the wrong type stops the run before any work, naming the key, the value, the family
and what is allowed.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, Union

from stn.errors import UsageError

T = TypeVar("T")


def typed(build: Callable[..., T], values: Mapping[str, Any], key: str, family: str) -> T:
    """``build(**values)`` once every value passes: ``build`` is a dataclass or a function
    whose (keyword) parameters are the options; ``key`` is the config key that holds
    ``values`` (e.g. ``model``); ``family`` names what they configure (e.g. ``the svhn
    network``)."""
    params, hints = _options(build)
    unknown = sorted(set(values) - set(params))
    if unknown:
        name = unknown[0]
        raise UsageError(
            f"{key}.{name}={values[name]!r} is not an option of {family} (its options: "
            f"{', '.join(params)}): remove it"
        )
    missing = [n for n, p in params.items() if p.default is p.empty and n not in values]
    if missing:
        raise UsageError(f"{key}.{missing[0]} is missing: {family} needs it")
    for name, value in values.items():
        hint = hints.get(name, Any)
        if not _is(value, hint):
            raise UsageError(
                f"{key}.{name}={value!r} must be {_describe(hint)} (an option of {family})"
            )
    return build(**values)


def _options(build: Callable) -> tuple[dict[str, inspect.Parameter], dict[str, Any]]:
    """The named parameters of ``build`` and their type hints; a class's ``**kwargs`` stand
    for the parameters of its base class's constructor (followed up the hierarchy)."""
    params: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    for fn in _constructors(build):
        own = inspect.signature(fn).parameters
        params.update(
            {
                n: p
                for n, p in own.items()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and n != "self"
            }
        )
        hints.update(typing.get_type_hints(fn))
        if not any(p.kind is p.VAR_KEYWORD for p in own.values()):
            break
    return params, hints


def _constructors(build: Callable) -> list[Callable]:
    if not inspect.isclass(build):
        return [build]
    return [c.__init__ for c in build.__mro__ if "__init__" in vars(c)]


def _is(value: Any, hint: Any) -> bool:
    """Whether ``value`` (plain config data) is of the annotated type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_is(value, arg) for arg in args)
    if hint is None or hint is type(None):
        return value is None
    if origin in (list, tuple) or hint in (list, tuple):  # a list, or OmegaConf's ListConfig
        item = args[0] if args else Any
        return (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and all(_is(v, item) for v in value)
        )
    if origin is dict or hint is dict:
        return isinstance(value, Mapping)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if hint is None or hint is type(None):
        return "null"
    if origin in (list, tuple):
        return f"a list of {_describe(args[0]).split(' ', 1)[-1]}s" if args else "a list"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )
