"""SVHN multi-digit preprocessing (Goodfellow et al. 2014, as the STN paper's §4.2 uses it).

The union of an image's digit boxes, enlarged by 30 % about its centre, is cropped (clipped
at the image border) and resized to 64×64; the looser 128×128 variant crops a box twice as
large about the same centre, so the digits keep their size in pixels and gain context.
Labels become 5 positions of 11 classes: the digits 0–9 in reading order, then class 10
("no digit"); SVHN's label 10 is the digit 0. Longer sequences are dropped by the caller.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stn.errors import UsageError

MAX_DIGITS = 5
NO_DIGIT = 10
ENLARGE = 0.3
CONTEXT = {64: 1.0, 128: 2.0}  # crop size → box scale about its centre


def encode_labels(labels: np.ndarray) -> np.ndarray | None:
    """SVHN labels ``(n,)`` (1–10) → classes ``(5,)``; ``None`` when n > 5 (dropped)."""
    if len(labels) > MAX_DIGITS:
        return None
    digits = np.asarray(labels, dtype=np.int64) % 10  # label 10 is the digit 0
    return np.concatenate([digits, np.full(MAX_DIGITS - len(digits), NO_DIGIT)])


def crop_box(boxes: np.ndarray, height: int, width: int, size: int = 64) -> tuple[int, ...]:
    """The crop ``(left, top, right, bottom)`` (exclusive) for digit boxes ``(n, 5)`` rows
    ``(label, left, top, width, height)`` of an image ``height × width``."""
    if size not in CONTEXT:
        raise UsageError(f"SVHN crop size must be one of {sorted(CONTEXT)}, got {size}")
    left, top = boxes[:, 1].min(), boxes[:, 2].min()
    right = (boxes[:, 1] + boxes[:, 3]).max()
    bottom = (boxes[:, 2] + boxes[:, 4]).max()
    scale = (1 + ENLARGE) * CONTEXT[size]
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half_w, half_h = (right - left) * scale / 2, (bottom - top) * scale / 2
    x0, y0 = max(0, int(np.floor(cx - half_w))), max(0, int(np.floor(cy - half_h)))
    x1, y1 = min(width, int(np.ceil(cx + half_w))), min(height, int(np.ceil(cy + half_h)))
    if x1 <= x0 or y1 <= y0:
        where = boxes[:, 1:].tolist()
        raise UsageError(f"digit boxes {where} lie outside the {width}×{height} image")
    return x0, y0, x1, y1


def crop(image: Tensor, box: tuple[int, ...], size: int) -> Tensor:
    """``image`` ``(3, H, W)`` uint8 → the ``box`` resized to ``(3, size, size)`` uint8
    (bilinear with antialiasing, as PIL resizes)."""
    x0, y0, x1, y1 = box
    patch = image[:, y0:y1, x0:x1].float()[None]
    out = F.interpolate(patch, size=(size, size), mode="bilinear", antialias=True)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)
