"""The original MNIST digits, read with torchvision from a local data directory."""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor

from stn.errors import MissingData, UsageError

ENV_VAR = "STN_DATA_DIR"
# Beside the checkout, as configs/paths sets it: the default where no folder is given.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def data_dir(configured: str | os.PathLike | None = None) -> Path:
    """``$STN_DATA_DIR`` if set, else the configured directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    if configured is None:
        raise UsageError(f"no data directory: set {ENV_VAR} or paths.data_dir")
    return Path(configured)


def load_mnist(
    root: str | os.PathLike, train: bool, download: bool = False
) -> tuple[Tensor, Tensor]:
    """Digits ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of the train or test split.

    Raises:
        FileNotFoundError: the files are not under ``root/MNIST/raw`` and ``download`` is off
            (or downloading failed), with where to put them.
    """
    from torchvision.datasets import MNIST

    try:
        dataset = MNIST(str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found" / network errors
        raw = Path(root) / "MNIST" / "raw"
        raise MissingData(
            f"MNIST not found in {raw} ({err}). Put the four uncompressed IDX files "
            f"({', '.join(FILES)}) there, from https://yann.lecun.com/exdb/mnist/, or point "
            f"{ENV_VAR} (or paths.data_dir) at a directory holding MNIST/raw/, or set "
            f"data.download=true on a machine with internet access."
        ) from err
    return dataset.data.clone(), dataset.targets.clone().long()


def digits_checksum(images: Tensor, labels: Tensor) -> str:
    """A fingerprint of the source digits, stored with caches derived from them."""
    import hashlib

    h = hashlib.sha1(images.numpy().tobytes())
    h.update(labels.numpy().tobytes())
    return h.hexdigest()
