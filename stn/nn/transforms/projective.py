"""Projective transformation (homography): θ = (h11, h12, h13, h21, h22, h23, h31, h32), h33 = 1.

(x_s, y_s) = (h1 · p, h2 · p) / (h3 · p),   p = (x_t, y_t, 1)
"""

from __future__ import annotations

import torch
from torch import Tensor

from stn.nn.transforms.base import Transform, homogeneous


class Projective(Transform):
    """8 parameters; the homogeneous denominator is kept at least ``eps`` away from zero.

    Args:
        eps: smallest magnitude of the denominator ``h3 · p``. Where it would vanish, the
            point lies on the horizon and would map to infinity (and its gradient explode);
            it is clamped to ``±eps`` with the sign of the true denominator instead.
    """

    n_params = 8

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = eps

    def _identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], dtype=torch.float64)

    def matrix(self, theta: Tensor) -> Tensor:
        """``(B, 8)`` → the homographies ``(B, 3, 3)`` with h33 = 1."""
        return torch.cat((theta, torch.ones_like(theta[:, :1])), dim=1).view(-1, 3, 3)

    def basis(self, xy: Tensor) -> Tensor:
        return homogeneous(xy)

    def coefficients(self, theta: Tensor) -> Tensor:
        return self.matrix(theta).transpose(1, 2)

    def project(self, uvw: Tensor) -> Tensor:
        return self._divide(uvw[..., :2], uvw[..., 2:])

    def _grid_points(self, theta: Tensor, grid: tuple[tuple[int, int], bool]) -> Tensor:
        # Numerator and denominator by two GEMMs: slicing one (H·W, B, 3) product costs more
        # in the backward pass (a zero-filled copy per slice) than the second GEMM.
        h = self.matrix(theta)
        num, den = h[:, :2].transpose(1, 2), h[:, 2:].transpose(1, 2)  # not .mT: legacy ONNX
        return self._divide(self._on_grid(num, grid), self._on_grid(den, grid))

    def _divide(self, uv: Tensor, w: Tensor) -> Tensor:
        """``uv / w`` with ``|w|`` clamped to at least ``eps``, keeping its sign (``where``, not
        ``copysign``: ONNX has no sign-bit operator)."""
        magnitude = w.abs().clamp(min=self.eps)
        return uv * torch.where(w < 0, -magnitude, magnitude).reciprocal()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}"
