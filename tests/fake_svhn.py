"""A small SVHN in the layout of the archives (PNGs and a v7.3 ``digitStruct.mat`` per split),
for tests that must not depend on real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from stn.data.digit_struct import write_digit_struct

COUNTS = {"train": 30, "extra": 20, "test": 12}


def write_fake_svhn(root: Path, counts: dict[str, int] = COUNTS, seed: int = 0) -> dict:
    """Noise images of varied sizes with 1–5 digit boxes each, plus one 6-digit record per
    split (dropped by the preparation), under ``root/SVHN/<split>/``.

    Returns: ``{split: [(name, boxes (D, 5): label 1–10, left, top, width, height), ...]}``.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, n in counts.items():
        folder = root / "SVHN" / split
        folder.mkdir(parents=True, exist_ok=True)
        records = []
        for i in range(n):
            digits = 6 if i == n - 1 else int(rng.integers(1, 6))
            height, width = int(rng.integers(32, 64)), int(rng.integers(60, 120))
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i + 1}.png")
            w = width // 8
            left = 2 + w * np.arange(digits)
            top = rng.integers(0, height // 3, digits)
            boxes = np.column_stack(
                [rng.integers(1, 11, digits), left, top, [w] * digits, [height // 2] * digits]
            )
            records.append((f"{i + 1}.png", boxes))
        write_digit_struct(folder / "digitStruct.mat", records)
        written[split] = records
    return written
