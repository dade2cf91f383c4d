"""Atomic file writes: a killed run never leaves a half-written file that is later trusted."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary sibling of ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


# A recorded config is a few kB; anything near this is not one.
YAML_LIMIT = 1_000_000


def read_yaml(path: str | os.PathLike, limit: int = YAML_LIMIT):
    """The YAML file ``path`` read as plain data (a dict or a list of scalars and containers;
    ``${...}`` left as written; floats by OmegaConf's rules, ``1e-3`` a number), as a run
    folder or record may hold it: no tags that make Python objects, no aliases (a kilobyte of
    nested aliases expands to gigabytes), no duplicate keys, at most ``limit`` bytes.

    Raises:
        UsageError: the file is too large, holds an alias, or is not such YAML, saying which.
    """
    import yaml

    from stn.errors import UsageError

    path = Path(path)
    size = path.stat().st_size
    if size > limit:
        raise UsageError(f"{path} is {size:,} bytes, more than a recorded config's {limit:,}")
    text = path.read_text()
    loader = omegaconf_loader()
    try:
        aliased = any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=loader))
        data = None if aliased else yaml.load(text, Loader=loader)
    except Exception as err:  # YAML's errors and its constructors' (a bad tag's arguments)
        raise UsageError(f"{path} is not plain YAML data: {str(err).splitlines()[0]}") from err
    if not isinstance(data, (dict, list)):
        raise UsageError(f"{path} holds a YAML alias (*name) or no data: not a recorded config")
    return data


@functools.cache
def omegaconf_loader():
    """OmegaConf's YAML loader (its float rules, no timestamps, duplicate keys refused),
    parsing with libyaml where PyYAML has it: many times faster than ``OmegaConf.create``,
    and reading every record alike (tests/test_files.py)."""
    import yaml
    from omegaconf._utils import get_yaml_loader  # the rules of OmegaConf.create

    rules = get_yaml_loader()
    if not yaml.__with_libyaml__:
        return rules

    class Loader(yaml.cyaml.CParser, rules):  # libyaml's parser first: it replaces Python's
        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return Loader
