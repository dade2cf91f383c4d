"""Atomic file writes: a killed run never leaves a half-written file that is later trusted."""

from __future__ import annotations

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
    """The YAML file ``path`` read as plain data (dicts, lists, scalars; ``${...}`` left as
    written), as a run folder or record may hold it: no tags that make Python objects, no
    aliases (a kilobyte of nested aliases expands to gigabytes), at most ``limit`` bytes.

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
    try:
        events = list(yaml.parse(text, Loader=yaml.SafeLoader))
        data = None if any(isinstance(e, yaml.AliasEvent) for e in events) else yaml_data(text)
    except Exception as err:  # YAML's and OmegaConf's errors alike
        raise UsageError(f"{path} is not plain YAML data: {str(err).splitlines()[0]}") from err
    if data is None:
        raise UsageError(f"{path} holds a YAML alias (*name) or no data: not a recorded config")
    return data


def yaml_data(text: str):
    """``text`` as OmegaConf reads YAML (its float rules), returned as plain containers."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.create(text), resolve=False)
