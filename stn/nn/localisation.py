"""Localisation networks: the part of a spatial transformer that looks at the input.

A localisation net maps the input ``(B, C, H, W)`` to features ``(B, out_features)``; the
``SpatialTransformer`` adds the final regression layer to θ. Builders for the paper's two
kinds: convolutional (ST-CNN on MNIST: two 5×5 conv of 20 filters with 2×2 max-pooling, then
FC 20; SVHN single: conv, conv, FC, FC of 32) and fully connected (ST-FCN; SVHN multi: two FC
layers of 32 units).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from stn.nn.shape import output_shape


class Localisation(nn.Sequential):
    """A feature extractor ``(B, *in_shape)`` → ``(B, out_features)``."""

    def __init__(self, *layers: nn.Module, in_shape: Sequence[int]) -> None:
        super().__init__(*layers)
        self.in_shape = tuple(in_shape)
        shape = output_shape(self, self.in_shape)
        if len(shape) != 1:
            raise ValueError(f"a localisation net must end in a flat feature vector, got {shape}")
        self.out_features = shape[0]


def hidden_layers(in_features: int, hidden: Sequence[int]) -> list[nn.Module]:
    """``Linear → ReLU`` per width of ``hidden``, from ``in_features`` inputs."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True)]
        in_features = width
    return layers


def fc_localisation(in_shape: Sequence[int], hidden: Sequence[int] = (32, 32)) -> Localisation:
    """Fully connected localisation net: flatten, then ``Linear → ReLU`` per hidden width.

    Args:
        in_shape: ``(C, H, W)`` of the transformer's input.
        hidden: widths of the hidden layers.
    """
    in_features = 1
    for dim in in_shape:
        in_features *= dim
    return Localisation(nn.Flatten(), *hidden_layers(in_features, hidden), in_shape=in_shape)


def conv_localisation(
    in_shape: Sequence[int],
    channels: Sequence[int] = (20, 20),
    kernel_size: int = 5,
    pool: int = 2,
    hidden: Sequence[int] = (20,),
) -> Localisation:
    """Convolutional localisation net: ``Conv → ReLU → MaxPool`` per entry of ``channels``
    (valid convolutions), flatten, then ``Linear → ReLU`` per hidden width.

    Args:
        in_shape: ``(C, H, W)`` of the transformer's input.
        channels: filters of each conv layer.
        kernel_size: side of every conv kernel.
        pool: side and stride of every max-pooling window.
        hidden: widths of the fully connected hidden layers.
    """
    convs: list[nn.Module] = []
    in_channels = in_shape[0]
    for width in channels:
        convs += [
            nn.Conv2d(in_channels, width, kernel_size),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(pool),
        ]
        in_channels = width
    features = nn.Sequential(*convs, nn.Flatten())
    (in_features,) = output_shape(features, in_shape)
    return Localisation(*features, *hidden_layers(in_features, hidden), in_shape=in_shape)
