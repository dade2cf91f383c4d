"""HDF5 caches of generated datasets: written atomically, trusted only if their recipe matches
and their contents still hash to the checksum stored with them."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor

from stn.files import write_atomic

log = logging.getLogger(__name__)


def cached(
    path: str | os.PathLike, recipe: dict, build: Callable[[], dict[str, Tensor]]
) -> dict[str, Tensor]:
    """The arrays of ``path`` if it was built from ``recipe``; else ``build()``, saved first.

    ``recipe`` (JSON-serialisable: generator parameters, seed, source checksum) is stored as an
    attribute with a checksum of the contents; a cache whose recipe differs, that cannot be
    read, that lacks a dataset or whose bytes no longer match its checksum is rebuilt. The file is
    written under a temporary name and renamed into place, so a killed run never leaves a
    partial cache that a later run would trust.
    """
    path = Path(path)
    key = json.dumps(recipe, sort_keys=True)
    if path.exists():
        try:
            with h5py.File(path, "r") as f:
                if f.attrs.get("recipe") != key:
                    log.info("cache %s was built from another recipe: rebuilding", path)
                else:
                    found = {name: f[name][()] for name in f}
                    stored = f.attrs.get("checksum")
                    if stored == checksum(found):
                        return {name: torch.from_numpy(a) for name, a in found.items()}
                    why = "has no checksum (older)" if stored is None else "fails its checksum"
                    log.warning("cache %s %s: rebuilding", path, why)
        except OSError as err:
            log.warning("cache %s is unreadable (%s): rebuilding", path, err)
    arrays = build()

    def write(tmp: Path) -> None:
        contents = {name: np.asarray(array.numpy()) for name, array in arrays.items()}
        with h5py.File(tmp, "w") as f:
            for name, array in contents.items():
                f.create_dataset(name, data=array)
            f.attrs["recipe"] = key
            f.attrs["checksum"] = checksum(contents)

    write_atomic(path, write)
    return arrays


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """A hash of the datasets' names, dtypes, shapes and bytes (a missing one changes it)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
