"""The differentiable sampler: reads the input at the grid's source coordinates."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")


def check_sampling(mode: str, padding_mode: str) -> None:
    """Raise ``ValueError`` for a sampling mode or padding mode ``grid_sample`` does not know."""
    if mode not in MODES:
        raise ValueError(f"unknown sampling mode {mode!r}; valid: {', '.join(MODES)}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"unknown padding mode {padding_mode!r}; valid: {', '.join(PADDING_MODES)}"
        )


def sample(
    x: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool = False,
) -> Tensor:
    """Sample ``x`` at ``grid``, differentiable in both.

    Args:
        x: ``(B, C, H_in, W_in)``.
        grid: ``(B, H, W, 2)`` normalised source coordinates, x first.
        mode, padding_mode, align_corners: as ``F.grid_sample`` takes them; ``align_corners``
            says where the input's pixels sit (``stn.nn.transforms.base``).

    Returns:
        ``(B, C, H, W)`` in the grid's dtype (at least float32: see ``Transform``).
    """
    check_sampling(mode, padding_mode)
    if x.dim() != 4 or grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != x.shape[0]:
        raise ValueError(
            f"sample expects x (B, C, H_in, W_in) and grid (B, H, W, 2) with equal B, "
            f"got {tuple(x.shape)} and {tuple(grid.shape)}"
        )
    with torch.autocast(x.device.type, enabled=False):
        return F.grid_sample(
            x.to(grid.dtype),
            grid,
            mode=mode,
            padding_mode=padding_mode,
            align_corners=align_corners,
        )
