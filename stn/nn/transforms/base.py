"""The grid generator's common contract: θ maps output coordinates to source coordinates.

Coordinates are normalised to [-1, 1], x first. With ``align_corners=False`` (the default)
the centre of pixel ``j`` of a row of ``W`` pixels sits at ``(2j + 1) / W - 1``; with
``True`` at ``2j / (W - 1) - 1`` (the corner pixels' centres at ±1): exactly the grids that
``F.affine_grid`` builds and ``F.grid_sample`` reads with the same ``align_corners``.

Every transformation of the paper is linear in θ over a fixed basis of the output point,
followed for the projective one by a perspective divide:

    T_θ(p) = project(basis(p) · coefficients(θ)),   basis: (N, D),  coefficients: (B, D, c).

The basis of a whole output grid does not depend on θ, so it is computed once per output
size (in float64) and cached; generating a grid is then one GEMM ``(H·W, D) @ (D, B·c)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def output_coordinates(
    size: tuple[int, int],
    device: torch.device | None = None,
    dtype: torch.dtype | None = None,
    align_corners: bool = False,
) -> Tensor:
    """Normalised pixel-centre coordinates of an output of ``size = (H, W)``.

    Returns:
        ``(H * W, 2)``, x first, in raster order (row ``i``, column ``j`` at ``i * W + j``).
    """

    def axis(n: int) -> Tensor:
        if align_corners and n > 1:  # as F.affine_grid (one pixel: 0 either way)
            return torch.linspace(-1, 1, n, device=device, dtype=torch.float64)
        return (torch.arange(n, device=device, dtype=torch.float64) * 2 + 1) / n - 1

    grid_y, grid_x = torch.meshgrid(axis(size[0]), axis(size[1]), indexing="ij")
    return torch.stack((grid_x, grid_y), dim=-1).reshape(-1, 2).to(dtype or torch.float32)


def homogeneous(xy: Tensor) -> Tensor:
    """``(..., N, 2)`` → ``(..., N, 3)``: appends 1 to each point."""
    return torch.cat((xy, torch.ones_like(xy[..., :1])), dim=-1)


class Transform(nn.Module):
    """A parametrised transformation ``T_θ`` and its grid generator.

    Subclasses set ``n_params`` and implement ``_identity``, ``basis`` and ``coefficients``;
    a non-linear one also overrides ``project``.

    Grids are computed in at least float32 with autocast disabled: a bf16 sampling grid
    would misplace samples by up to ~0.4 % of the image width, and the cost is negligible.
    """

    n_params: int

    def __init__(self) -> None:
        super().__init__()
        self._grid_bases: dict[tuple, Tensor] = {}

    def identity(self, dtype: torch.dtype | None = None) -> Tensor:
        """θ of the identity transformation, ``(n_params,)``, in ``dtype`` (default: torch's)."""
        return self._identity().to(dtype or torch.get_default_dtype())

    def _identity(self) -> Tensor:
        """The identity θ in float64."""
        raise NotImplementedError

    def basis(self, xy: Tensor) -> Tensor:
        """The θ-independent part at output points: ``(..., N, 2)`` → ``(..., N, D)``."""
        raise NotImplementedError

    def coefficients(self, theta: Tensor) -> Tensor:
        """The θ-dependent part: ``(B, n_params)`` → ``(B, D, c)``."""
        raise NotImplementedError

    def project(self, uv: Tensor) -> Tensor:
        """``(..., c)`` → source coordinates ``(..., 2)``; the identity for linear maps."""
        return uv

    def points(self, theta: Tensor, xy: Tensor) -> Tensor:
        """Map output points to source points.

        Args:
            theta: ``(B, n_params)``.
            xy: ``(N, 2)`` or ``(B, N, 2)`` normalised output coordinates, x first.

        Returns:
            ``(B, N, 2)`` source coordinates.
        """
        theta = self._check_theta(theta)
        if xy.dim() not in (2, 3) or xy.shape[-1] != 2 or (xy.dim() == 3 and len(xy) != len(theta)):
            raise ValueError(f"xy must be (N, 2) or (B={len(theta)}, N, 2), got {tuple(xy.shape)}")
        with torch.autocast(theta.device.type, enabled=False):
            return self.project(self.basis(xy.to(theta.dtype)) @ self.coefficients(theta))

    def grid(self, theta: Tensor, size: tuple[int, int], align_corners: bool = False) -> Tensor:
        """The sampling grid of an output of ``size = (H, W)``.

        Args:
            theta: ``(B, n_params)``.
            size: output ``(H, W)``.
            align_corners: where the output's pixels sit (see the module's docstring); give
                ``F.grid_sample`` the same.

        Returns:
            ``(B, H, W, 2)``, contiguous: the source coordinates of every output pixel.
        """
        theta = self._check_theta(theta)
        size = tuple(size)
        if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
            raise ValueError(f"size must be two positive ints (H, W), got {size!r}")
        with torch.autocast(theta.device.type, enabled=False):
            xy = self._grid_points(theta, (size, align_corners))  # (H·W, B, 2)
        # Contiguous: grid_sample's backward is ~2× slower on a strided grid.
        return xy.transpose(0, 1).contiguous().view(theta.shape[0], *size, 2)

    def _grid_points(self, theta: Tensor, grid: tuple[tuple[int, int], bool]) -> Tensor:
        """Source points of the output ``grid`` (size, align_corners): ``(H·W, B, 2)``."""
        return self.project(self._on_grid(self.coefficients(theta), grid))

    def _on_grid(self, coef: Tensor, grid: tuple[tuple[int, int], bool]) -> Tensor:
        """The cached grid basis times ``coef`` ``(B, D, c)``: one GEMM, ``(H·W, B, c)``."""
        key = (grid, coef.device, coef.dtype)
        if key not in self._grid_bases:
            size, align_corners = grid
            xy = output_coordinates(size, dtype=torch.float64, align_corners=align_corners)
            self._grid_bases[key] = self.basis(xy).to(coef.device, coef.dtype)
        batch, dim, c = coef.shape
        return (self._grid_bases[key] @ coef.transpose(0, 1).reshape(dim, batch * c)).view(
            -1, batch, c
        )

    def _check_theta(self, theta: Tensor) -> Tensor:
        if theta.dim() != 2 or theta.shape[1] != self.n_params:
            raise ValueError(
                f"{type(self).__name__} expects theta of shape (B, {self.n_params}), "
                f"got {tuple(theta.shape)}"
            )
        if not theta.is_floating_point():
            raise ValueError(f"theta must be a floating-point tensor, got {theta.dtype}")
        return theta.to(torch.promote_types(theta.dtype, torch.float32))

    def extra_repr(self) -> str:
        return f"n_params={self.n_params}"
