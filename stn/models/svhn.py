"""The SVHN multi-digit networks of §4.2: the 11-hidden-layer CNN and ST-CNN Single / Multi.

CNN (Goodfellow et al. 2014, as the paper uses it): 8 conv layers of 48, 64, 128, 160, 192,
192, 192, 192 filters, 5×5 with zero padding, each followed by ReLU and 2×2 max-pooling
whose stride alternates 2, 1, 2, 1, ... (so a 64×64 input reaches 4×4), then FC 3072,
FC 3072 with dropout, and 5 independent softmax heads of 11 classes (a digit or "none").
ST-CNN Single: one ST at the input with a 4-layer CNN localisation net (conv 32, conv 32,
FC 32, FC 32). ST-CNN Multi: an ST before each of the first 4 conv layers, each with a
localisation net of 2 FC layers of 32 units, transforming that layer's input feature map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from torch import Tensor, nn

from stn.errors import UsageError
from stn.models.options import SVHN, SVHNST, placement_positions
from stn.models.options import SVHN_CHANNELS as CHANNELS
from stn.nn.localisation import conv_localisation, fc_localisation
from stn.nn.placement import place_transformers
from stn.nn.shape import output_shape
from stn.nn.spatial_transformer import SpatialTransformer
from stn.nn.transforms import build_transform

POSITIONS, CLASSES = 5, 11


def conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """``conv 5×5 (same) → ReLU → max-pool 2×2`` with the given pooling stride."""
    # Stride 1 keeps the size: pad one zero row and column (harmless after the ReLU).
    pool = nn.MaxPool2d(2)
    if stride == 1:
        pool = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1))
    return nn.Sequential(nn.Conv2d(c_in, c_out, 5, padding=2), nn.ReLU(inplace=True), pool)


class SequenceClassifier(nn.Module):
    """Features (with any STs placed among them) → FC → FC → 5 heads of 11 classes.

    Output: logits ``(B, 5, 11)``.
    """

    def __init__(
        self, features: nn.Sequential, in_shape: Sequence[int], hidden: int, dropout: float
    ) -> None:
        super().__init__()
        self.features = features
        n = math.prod(output_shape(features, in_shape))
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.heads = nn.Linear(hidden, POSITIONS * CLASSES)
        # He initialisation: with PyTorch's default, each ReLU layer shrinks the signal's
        # variance ~6×, which stalls SGD in a 10-layer net without normalisation. The STs
        # keep theirs (their regressors start at the identity).
        for block in (*features, self.fc):
            if isinstance(block, SpatialTransformer):
                continue
            for m in block.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)

    @property
    def transformers(self) -> list[SpatialTransformer]:
        return [m for m in self.features if isinstance(m, SpatialTransformer)]

    def forward(self, x: Tensor) -> Tensor:
        return self.heads(self.fc(self.features(x))).view(-1, POSITIONS, CLASSES)


# Each placement's localisation nets (where they sit: stn.models.options.PLACEMENTS).
LOCALISATION = {
    "single": lambda shape: conv_localisation(shape, (32, 32), kernel_size=5, hidden=(32, 32)),
    "multi": lambda shape: fc_localisation(shape, (32, 32)),
}


def build_svhn(
    *, options: SVHN, stn: SVHNST, in_shape: tuple[int, ...], num_classes: int
) -> SequenceClassifier:
    """The CNN (``stn.transform=none``), ST-CNN Single or Multi for ``(3, S, S)`` inputs."""
    if num_classes != CLASSES:
        raise UsageError(f"the SVHN network has {CLASSES} classes per digit, got {num_classes}")
    return build_svhn_model(
        "cnn" if stn.transform == "none" else options.placement,
        in_shape,
        stn.transform,
        hidden=options.hidden,
        dropout=options.dropout,
        channels=options.channels,
    )


def build_svhn_model(
    name: str | Sequence[int],
    in_shape: Sequence[int] = (3, 64, 64),
    transform: str = "affine",
    hidden: int = 3072,
    dropout: float = 0.5,
    channels: Sequence[int] = CHANNELS,
) -> SequenceClassifier:
    """``cnn``, ``single`` (ST-CNN Single) or ``multi`` (ST-CNN Multi) for ``in_shape``
    ``(3, S, S)``, its STs of type ``transform``. ``name`` may instead list the conv layers
    (0–7) to put an ST before, each with Multi's localisation net."""
    if name == "cnn":
        positions, localisation = (), None
    else:
        positions = placement_positions(name, len(channels))
        localisation = LOCALISATION["single" if name == "single" else "multi"]
    widths = (in_shape[0], *channels)
    layers = [
        conv_block(c_in, c_out, stride=2 if i % 2 == 0 else 1)
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths))
    ]

    def make(shape: tuple[int, ...]) -> SpatialTransformer:
        return SpatialTransformer(localisation(shape), build_transform(transform))

    features = place_transformers(layers, positions, make, in_shape)
    return SequenceClassifier(features, in_shape, hidden, dropout)
