"""Spatial transformers in pure PyTorch: grid generators, sampler, localisation nets, placement.

Conventions (``stn.nn.transforms.base``): coordinates normalised to [-1, 1], x first,
``align_corners=False`` unless asked otherwise; θ maps output coordinates to source
coordinates. ``stn.nn.tutorial`` holds the PyTorch tutorial's network on this library.
"""

from stn.nn.localisation import Localisation, conv_localisation, fc_localisation
from stn.nn.placement import place_transformers
from stn.nn.sampler import sample
from stn.nn.shape import output_shape
from stn.nn.spatial_transformer import ParallelSpatialTransformer, SpatialTransformer
from stn.nn.transforms import (
    TRANSFORMS,
    Affine,
    Attention,
    Projective,
    ThinPlateSpline,
    Transform,
    build_transform,
    output_coordinates,
)

__all__ = [
    "TRANSFORMS",
    "Affine",
    "Attention",
    "Localisation",
    "ParallelSpatialTransformer",
    "Projective",
    "SpatialTransformer",
    "ThinPlateSpline",
    "Transform",
    "build_transform",
    "conv_localisation",
    "fc_localisation",
    "output_coordinates",
    "output_shape",
    "place_transformers",
    "sample",
]
