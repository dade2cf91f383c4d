"""Affine transformation: θ is the 2×3 matrix A, row-major, exactly as ``F.affine_grid`` takes it.

(x_s, y_s)ᵀ = A (x_t, y_t, 1)ᵀ
"""

from __future__ import annotations

import torch
from torch import Tensor

from stn.nn.transforms.base import Transform, homogeneous


class Affine(Transform):
    """6 parameters ``(a11, a12, a13, a21, a22, a23)``."""

    n_params = 6

    def _identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)

    def matrix(self, theta: Tensor) -> Tensor:
        """``(B, n_params)`` → the affine matrices ``(B, 2, 3)``."""
        return theta.view(-1, 2, 3)

    def basis(self, xy: Tensor) -> Tensor:
        return homogeneous(xy)

    def coefficients(self, theta: Tensor) -> Tensor:
        return self.matrix(theta).transpose(1, 2)
