"""The original MNIST digits: four IDX files in ``<data_dir>/MNIST/raw/``, checked, and
downloaded there (with torchvision's downloader) when missing.

Files are known by their content: a file that is another official file (its MD5), swapped
or renamed, is named as such; a file that claims the official number of digits must be the
official file; any file must be a whole IDX file. So a truncated or overwritten file is
said to be corrupt, never "missing", while small generated MNISTs (the tests') still load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stn.errors import MissingData, UsageError
from stn.paths import ENV_VAR

if TYPE_CHECKING:
    from torch import Tensor

# file: (digits in the official file, MD5 of the official uncompressed file)
FILES = {
    "train-images-idx3-ubyte": (60_000, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60_000, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (10_000, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10_000, "27ae3e4e09519cfbb04c329615203637"),
}
SPLIT = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}  # fmt: skip


def raw_dir(root: str | os.PathLike) -> Path:
    return Path(root) / "MNIST" / "raw"


def load_mnist(
    root: str | os.PathLike, train: bool, download: bool = False
) -> tuple[Tensor, Tensor]:
    """Digits ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of the train or test split
    under ``root/MNIST/raw``, downloaded there first if missing and ``download``.

    Raises:
        MissingData: a file is missing (and could not be downloaded), saying where to put it.
        UsageError: a file is corrupt, saying which and how.
    """
    raw = raw_dir(root)
    missing = [name for name in FILES if not (raw / name).exists()]
    if missing and download:
        _download(Path(root), missing)
        missing = [name for name in FILES if not (raw / name).exists()]
    if missing:
        raise MissingData(
            f"MNIST not found: {', '.join(missing)} missing in {raw}. Put the four uncompressed "
            f"IDX files ({', '.join(FILES)}) there, from https://yann.lecun.com/exdb/mnist/ "
            f"(or let it download: data.download=true on a machine with internet access), or "
            f"point paths.data_dir (or ${ENV_VAR}) at a folder holding MNIST/raw/."
        )
    images, labels = (_read_idx(raw / name) for name in SPLIT[train])
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        raise UsageError(
            f"{raw}: {SPLIT[train][0]} holds {tuple(images.shape)} images but "
            f"{SPLIT[train][1]} {len(labels)} labels: replace both with the official files"
        )
    import torch  # here: a missing or wrong file is said before torch's import (seconds)

    return torch.from_numpy(images), torch.from_numpy(labels).long()


def _read_idx(path: Path) -> np.ndarray:
    """The uint8 array of an IDX file, checked whole, not another official file under this
    name, and the official file when it claims the official number of items."""
    try:
        data = path.read_bytes()
    except OSError as err:  # a folder in its place, no permission, a failing disk
        raise UsageError(
            f"{path} cannot be read ({err.strerror}): put the official uncompressed file there"
        ) from err
    ndim = data[3] if len(data) >= 4 else 0
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64)) if dims else None
    md5 = hashlib.md5(data).hexdigest()
    other = next((name for name, (_, sum_) in FILES.items() if sum_ == md5), path.name)
    if other != path.name:  # a train split that would test, or labels read as images
        raise UsageError(
            f"{path} is the official {other}, not {path.name}: the MNIST files are swapped or "
            f"renamed. Give each of the four files its official name ({', '.join(FILES)})"
        )
    problem = None
    if len(data) < 4 or data[:3] != b"\0\0\x08" or not 1 <= ndim <= 3:
        problem = "not a uint8 IDX file"
    elif len(data) != expected:
        problem = f"{len(data):,} bytes where its header promises {expected:,} (truncated?)"
    elif dims[0] == FILES.get(path.name, (None,))[0] and md5 != FILES[path.name][1]:
        problem = f"MD5 {md5}, not the official {FILES[path.name][1]}"
    if problem:
        raise UsageError(
            f"{path} is corrupt: {problem}. Delete it (with data.download=true it downloads "
            f"again) or replace it with the official uncompressed file"
        )
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def _download(root: Path, names: list[str]) -> None:
    """Download MNIST with torchvision into a temporary folder under ``root`` and move the
    checked ``names`` into ``root/MNIST/raw``: a failed download leaves nothing behind."""
    from torchvision.datasets import MNIST

    raw = raw_dir(root)
    try:
        raw.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=".MNIST-download-", dir=root))
    except OSError as err:
        raise MissingData(f"cannot download MNIST into {raw} ({err}): give a writable "
                          f"paths.data_dir") from err  # fmt: skip
    try:
        MNIST(str(temp), train=True, download=True)  # both splits; a progress bar each
        for name in names:
            _read_idx(raw_dir(temp) / name)
            os.replace(raw_dir(temp) / name, raw / name)
    except Exception as err:  # offline, a mirror's error page, a corrupt archive
        raise MissingData(
            f"MNIST is not in {raw} and could not be downloaded ({type(err).__name__}: "
            f"{str(err).strip().splitlines()[-1] if str(err).strip() else err}). Put the four "
            f"uncompressed IDX files ({', '.join(FILES)}) there, from "
            f"https://yann.lecun.com/exdb/mnist/, or point paths.data_dir (or ${ENV_VAR}) at "
            f"a folder holding MNIST/raw/."
        ) from err
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def digits_checksum(images: Tensor, labels: Tensor) -> str:
    """A fingerprint of the source digits, stored with caches derived from them."""
    h = hashlib.sha1(images.numpy().tobytes())
    h.update(labels.numpy().tobytes())
    return h.hexdigest()
