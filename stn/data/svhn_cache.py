"""SVHN format 1 as distributed, preprocessed once into HDF5 caches of crops.

``<data_dir>/SVHN/{train,extra,test}/`` each hold the PNGs and ``digitStruct.mat`` of the
archives at http://ufldl.stanford.edu/housenumbers/ (``train.tar.gz``, ``extra.tar.gz``,
``test.tar.gz``, extracted as they are). ``prepare`` crops every image whose sequence has at
most 5 digits (``stn.data.svhn_crops``) and writes ``images`` ``(N, 3, S, S)`` uint8 and
``labels`` ``(N, 5)`` int64 to one cache per split and crop size.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from stn.data.cache import cached
from stn.data.digit_struct import read_digit_struct
from stn.data.svhn_crops import ENLARGE, crop, crop_box, encode_labels
from stn.errors import MissingData, UsageError
from stn.hardware import usable_cores

log = logging.getLogger(__name__)
SPLITS = ("train", "extra", "test")
URL = "http://ufldl.stanford.edu/housenumbers/"


def split_dir(data_dir: str | os.PathLike, split: str) -> Path:
    """``<data_dir>/SVHN/<split>``, or an error saying what to download and where to put it."""
    folder = Path(data_dir) / "SVHN" / split
    if not (folder / "digitStruct.mat").exists():
        raise MissingData(
            f"SVHN {split} split not found: {folder / 'digitStruct.mat'} is missing. Download "
            f"{URL}{split}.tar.gz and extract it into {folder.parent}/ (it unpacks to "
            f"{split}/ with the PNGs and digitStruct.mat; python -m stn.data.download svhn does "
            f"it), or point paths.data_dir (or $STN_DATA_DIR) at the folder holding SVHN/."
        )
    return folder


def _fingerprint(path: Path) -> str:
    """A cheap identity of the source file (size, and a hash of its first and last MB)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        f.seek(max(0, size - (1 << 20)))
        tail = f.read()
    return f"{size}:{hashlib.sha1(head + tail).hexdigest()}"


def _images_fingerprint(folder: Path) -> str:
    """An identity of the split's PNGs the crops are cut from: each one's name, size and
    modification time (so a changed, added or removed image rebuilds the crops)."""
    h = hashlib.sha1()
    for entry in sorted(
        (e for e in os.scandir(folder) if e.name.endswith(".png")), key=lambda e: e.name
    ):
        info = entry.stat()
        h.update(f"{entry.name}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return h.hexdigest()


def read_rgb(path: Path) -> Tensor:
    """An image file as ``(3, H, W)`` uint8 (grayscale and palette images converted)."""
    try:
        with Image.open(path) as image:
            pixels = np.array(image.convert("RGB"))
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read {path} ({err}): re-extract the SVHN archive") from err
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def _crop_one(args: tuple[Path, np.ndarray, int]) -> tuple[Tensor, np.ndarray] | None:
    path, boxes, size = args
    labels = encode_labels(boxes[:, 0])
    if labels is None:
        return None
    image = read_rgb(path)
    _, height, width = image.shape
    return crop(image, crop_box(boxes, height, width, size), size), labels


def prepare(
    data_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    split: str,
    size: int = 64,
    limit: int | None = None,
    workers: int | None = None,
) -> dict[str, Tensor]:
    """The cached crops of ``split`` at ``size`` px, built on first use.

    Args:
        limit: only the first ``limit`` records (quick runs; the sample in ``../shared``).
        workers: processes decoding PNGs (default: every usable core).

    Returns:
        ``images`` ``(N, 3, size, size)`` uint8, ``labels`` ``(N, 5)`` int64 (digits, then
        10 = no digit), and ``dropped`` (``(1,)``: records with more than 5 digits).
    """
    if split not in SPLITS:
        raise UsageError(f"unknown SVHN split {split!r}; valid: {', '.join(SPLITS)}")
    folder = split_dir(data_dir, split)
    recipe = {
        "split": split,
        "size": size,
        "enlarge": ENLARGE,
        "limit": limit,
        "source": _fingerprint(folder / "digitStruct.mat"),
        "images": _images_fingerprint(folder),
    }
    path = Path(cache_dir) / f"svhn_{split}_{size}{f'_first{limit}' if limit else ''}.h5"

    def build() -> dict[str, Tensor]:
        records = read_digit_struct(folder / "digitStruct.mat")
        n = min(limit or len(records), len(records))
        log.info("cropping %d SVHN %s images to %d px into %s", n, split, size, path)
        jobs = [(folder / records.names[i], records.record(i)[1], size) for i in range(n)]
        # One torch thread per worker: a forked child that enters the parent's OpenMP pool
        # hangs, and the processes already use every core.
        fork = multiprocessing.get_context("fork")
        with fork.Pool(workers or usable_cores(), torch.set_num_threads, (1,)) as pool:
            crops = []
            for i, item in enumerate(pool.imap(_crop_one, jobs, chunksize=256)):
                crops.append(item)
                if (i + 1) % max(1, n // 20) == 0:
                    log.info("  %d / %d", i + 1, n)
        kept = [c for c in crops if c is not None]
        if not kept:
            raise UsageError(f"no SVHN {split} record of at most 5 digits in {folder}")
        log.info("%s: %d crops, %d dropped (more than 5 digits)", split, len(kept), n - len(kept))
        return {
            "images": torch.stack([image for image, _ in kept]),
            "labels": torch.from_numpy(np.stack([labels for _, labels in kept])),
            "dropped": torch.tensor([n - len(kept)]),
        }

    return cached(path, recipe, build)
