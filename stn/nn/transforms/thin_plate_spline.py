"""Thin-plate spline: θ is the source position of each point of a fixed control grid.

The K control points ``p_k`` sit on a regular ``g × g`` grid in the output frame (coordinates
``linspace(-span, span, g)`` in x and y, raster order: y outer, x inner; ``span`` 1: the
frame's edges). θ = (x1, y1, …, xK, yK)
gives their source positions ``q_k``. The spline is the standard one (Bookstein 1989) with
kernel centres at the fixed ``p_k``:

    T(p) = A (1, x, y)ᵀ + Σ_k w_k U(|p - p_k|),   U(r) = r² log r²,

with ``(w, A)`` solving ``L [w; A] = [q; 0]``, ``L = [[U(|p_i - p_j|), P], [Pᵀ, 0]]``.
Because ``L`` depends only on the fixed grid, ``T(p) = B(p) L⁻¹[:, :K] q`` is linear in θ,
with ``B(p) = [U(|p - p_1|), …, U(|p - p_K|), 1, x, y]``: the grid generator precomputes
``M = B(grid) L⁻¹[:, :K]`` once per output size, and a forward pass is one matmul ``M q``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from stn.nn.transforms.base import Transform


def _radial_basis(xy: Tensor, centres: Tensor) -> Tensor:
    """``U(|xy_n - c_k|) = r² log r²`` (0 at r = 0): ``(..., N, 2), (K, 2)`` → ``(..., N, K)``."""
    d2 = (xy.unsqueeze(-2) - centres).square().sum(-1)
    return torch.where(d2 > 0, d2 * torch.log(torch.where(d2 > 0, d2, 1.0)), 0.0)


def _basis(xy: Tensor, centres: Tensor) -> Tensor:
    """Rows ``[U(|p - p_1|), …, U(|p - p_K|), 1, x, y]``: ``(..., N, 2)`` → ``(..., N, K + 3)``."""
    ones = torch.ones_like(xy[..., :1])
    return torch.cat((_radial_basis(xy, centres), ones, xy), dim=-1)


class ThinPlateSpline(Transform):
    """``2 K`` parameters, ``K = grid_size²`` control points (the paper: 4 × 4 = 16).

    Args:
        grid_size: control points per side, at least 2.
        span: the outermost control points' coordinate, in normalised units (1: the frame's
            edges; 20 / 28: MNIST's 20-pixel digit box).
    """

    def __init__(self, grid_size: int = 4, span: float = 1.0) -> None:
        super().__init__()
        if not isinstance(grid_size, int) or grid_size < 2:
            raise ValueError(f"grid_size must be an int >= 2, got {grid_size!r}")
        if not (type(span) in (int, float) and 0 < span < float("inf")):
            raise ValueError(f"span must be a positive number, got {span!r}")
        self.grid_size = grid_size
        self.span = float(span)
        self.n_params = 2 * grid_size**2
        coords = torch.linspace(-span, span, grid_size, dtype=torch.float64)
        grid_y, grid_x = torch.meshgrid(coords, coords, indexing="ij")
        centres = torch.stack((grid_x, grid_y), dim=-1).reshape(-1, 2)  # (K, 2)
        k = centres.shape[0]
        system = torch.zeros(k + 3, k + 3, dtype=torch.float64)
        system[:k] = _basis(centres, centres)
        system[k:, :k] = system[:k, k:].T
        # float64 constants, kept off the module's buffers so that .to(dtype) cannot degrade them.
        self._centres = centres
        self._solve = torch.linalg.inv(system)[:, :k]  # (K + 3, K): q ↦ [w; A]

    def _identity(self) -> Tensor:
        return self._centres.flatten()

    def basis(self, xy: Tensor) -> Tensor:
        """``(..., N, 2)`` → ``B(p) L⁻¹[:, :K]``, ``(..., N, K)``: the weight of each q_k at p."""
        centres = self._centres.to(xy.device, xy.dtype)
        return _basis(xy, centres) @ self._solve.to(xy.device, xy.dtype)

    def coefficients(self, theta: Tensor) -> Tensor:
        return theta.view(-1, self.n_params // 2, 2)

    def extra_repr(self) -> str:
        return f"grid_size={self.grid_size}, span={self.span:g}, n_params={self.n_params}"
