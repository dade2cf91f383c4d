"""HDF5 caches of generated datasets: written atomically, trusted only if their recipe matches."""

from __future__ import annotations

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
    attribute; a cache whose recipe differs, or that cannot be read, is rebuilt. The file is
    written under a temporary name and renamed into place, so a killed run never leaves a
    partial cache that a later run would trust.
    """
    path = Path(path)
    key = json.dumps(recipe, sort_keys=True)
    if path.exists():
        try:
            with h5py.File(path, "r") as f:
                if f.attrs.get("recipe") == key:
                    return {name: torch.from_numpy(f[name][()]) for name in f}
            log.info("cache %s was built from another recipe: rebuilding", path)
        except OSError as err:
            log.warning("cache %s is unreadable (%s): rebuilding", path, err)
    arrays = build()

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            for name, array in arrays.items():
                f.create_dataset(name, data=np.asarray(array.numpy()))
            f.attrs["recipe"] = key

    write_atomic(path, write)
    return arrays
