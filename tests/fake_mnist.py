"""A small MNIST in the original IDX layout, for tests that must not depend on real data."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from stn.data.mnist_files import FILES


def _write_idx(path: Path, array: np.ndarray) -> None:
    dims = array.shape
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root: Path, n_train: int = 400, n_test: int = 100, seed: int = 0) -> Path:
    """Blob "digits" whose position depends on the label, under ``root/MNIST/raw``."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:28, :28]
    for n, (images_file, labels_file) in ((n_train, list(FILES)[:2]), (n_test, list(FILES)[2:])):
        labels = rng.integers(0, 10, n)
        cx, cy = 8 + labels % 4 * 4, 8 + labels // 4 * 5
        blobs = np.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 8.0)
        images = np.clip(blobs * 255 + rng.normal(0, 10, blobs.shape), 0, 255)
        _write_idx(raw / images_file, images)
        _write_idx(raw / labels_file, labels)
    return root
