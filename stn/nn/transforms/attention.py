"""Attention: isotropic scale and translation, θ = (s, tx, ty), used for the CUB part crops.

It is the affine map [[s, 0, tx], [0, s, ty]]: the output window is a square of side ``s``
(in units of the source's extent) centred at ``(tx, ty)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from stn.nn.transforms.affine import Affine


class Attention(Affine):
    """3 parameters ``(s, tx, ty)``."""

    n_params = 3

    def _identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)

    def matrix(self, theta: Tensor) -> Tensor:
        s, tx, ty = theta.unbind(dim=1)
        zero = torch.zeros_like(s)
        return torch.stack((s, zero, tx, zero, s, ty), dim=1).view(-1, 2, 3)
