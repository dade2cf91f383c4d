"""Grid generators of the paper's transformation families, built by name."""

from __future__ import annotations

from stn.nn.transforms.affine import Affine
from stn.nn.transforms.attention import Attention
from stn.nn.transforms.base import Transform, output_coordinates
from stn.nn.transforms.projective import Projective
from stn.nn.transforms.thin_plate_spline import ThinPlateSpline

TRANSFORMS: dict[str, type[Transform]] = {
    "affine": Affine,
    "projective": Projective,
    "tps": ThinPlateSpline,
    "attention": Attention,
}


def build_transform(name: str, **kwargs) -> Transform:
    """Build a grid generator by name.

    Names: ``affine``, ``projective``, ``tps`` (kwargs ``grid_size``, default 4, and
    ``span``, default 1), ``attention``.
    """
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; valid names: {', '.join(TRANSFORMS)}")
    return TRANSFORMS[name](**kwargs)


__all__ = [
    "TRANSFORMS",
    "Affine",
    "Attention",
    "Projective",
    "ThinPlateSpline",
    "Transform",
    "build_transform",
    "output_coordinates",
]
