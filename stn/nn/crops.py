"""Initial θs that start spatial transformers as crops spread over the image (CUB's parts).

A crop of relative size ``scale`` centred at ``c`` maps output coordinates ``p`` to source
coordinates ``scale · p + c``. For every transform type whose points are linear in θ
(attention, affine, thin-plate spline) or become so at the identity (projective), the θ
that makes this map is found exactly by one least-squares step from the identity.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from stn.nn.transforms import Transform
from stn.nn.transforms.base import output_coordinates


def spread_centres(n: int, radius: float = 0.25) -> Tensor:
    """``n`` crop centres ``(n, 2)`` evenly on a circle of ``radius`` about the image centre
    (normalised coordinates, x first): 2 side by side, 4 in a diamond; 1 at the centre."""
    if n == 1:
        return torch.zeros(1, 2)
    angles = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    return (radius * torch.stack((angles.cos(), angles.sin()), dim=1)).float()


def crop_theta(transform: Transform, scale: float, centres: Tensor) -> Tensor:
    """θs ``(n, n_params)`` of ``transform`` that crop ``scale`` of the image about each of
    ``centres`` ``(n, 2)``."""
    identity = transform.identity(torch.float64)
    xy = output_coordinates((8, 8), dtype=torch.float64)  # enough points to fit
    jacobian = torch.autograd.functional.jacobian(
        lambda theta: transform.points(theta[None], xy)[0].flatten(), identity
    )  # (2 · points, n_params)
    start = transform.points(identity[None], xy)[0]
    thetas = []
    for centre in centres.double():
        target = scale * xy + centre
        residual = (target - start).flatten()
        step = torch.linalg.lstsq(jacobian, residual[:, None]).solution[:, 0]
        theta = identity + step
        if not torch.allclose(transform.points(theta[None], xy)[0], target, atol=1e-6):
            raise ValueError(f"{type(transform).__name__} cannot express a crop: give θs")
        thetas.append(theta)
    return torch.stack(thetas).float()
