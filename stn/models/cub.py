"""The CUB-200-2011 networks of §4.3: an ImageNet Inception, alone or with parallel
attention STs whose crops feed their own Inception part nets.

CNN: the backbone (Inception with batch norm, ``googlenet`` or ``inception_v3`` from
torchvision) classifies the whole image. ``n``×ST-CNN: one localisation net — the backbone
on the whole image, then a hidden FC layer — regresses ``n`` θs (attention: ``s, tx, ty``);
each ST crops the image to ``crop`` px, its own part net (an Inception initialised like the
backbone) describes the crop, and one classifier reads the concatenated part features.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from stn.models.options import BACKBONES, CUB, CUBST
from stn.nn.crops import crop_theta, spread_centres
from stn.nn.localisation import hidden_layers
from stn.nn.spatial_transformer import ParallelSpatialTransformer
from stn.nn.transforms import build_transform

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # ImageNet's, as the weights expect


def inception(name: str, pretrained: bool) -> nn.Module:
    """Backbone ``name`` without its classifier: ``(B, 3, H, W)`` normalised → ``(B, F)``;
    ``F`` is its ``out_features``. ``pretrained``: ImageNet weights (torchvision's API)."""
    import torchvision  # seconds to import: only where a CUB network is built

    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")
    weights = torchvision.models.get_model_weights(name).DEFAULT if pretrained else None
    # With weights, torchvision builds the auxiliary heads to load them; they go below.
    options = {} if pretrained else {"aux_logits": False, "init_weights": True}
    try:
        net = torchvision.models.get_model(name, weights=weights, **options)
    except (urllib.error.URLError, OSError) as err:
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise RuntimeError(
            f"cannot load the ImageNet weights of {name} ({err}): {cache} is not cached and "
            f"they cannot be downloaded here. Download {weights.url} to {cache}, or set "
            f"model.pretrained=false to start from random weights"
        ) from err
    net.aux_logits = False
    for head in ("aux1", "aux2", "AuxLogits"):  # googlenet's and inception_v3's
        if hasattr(net, head):
            setattr(net, head, None)
    net.out_features = net.fc.in_features
    net.fc = nn.Identity()
    return net


class PartClassifier(nn.Module):
    """Images ``(B, 3, S, S)`` in [0, 1] → logits ``(B, num_classes)``.

    Either a ``backbone`` describes the whole image, or a ``transformer`` (``n`` parallel
    STs, its loc net holding its own backbone) crops it and the ``n`` part nets describe the
    crops, their features concatenated.
    """

    def __init__(
        self,
        backbone: nn.Module | None,
        transformer: ParallelSpatialTransformer | None,
        parts: Sequence[nn.Module],
        num_classes: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if (backbone is None) == (transformer is None) or len(parts) != (
            transformer.n if transformer else 0
        ):
            raise ValueError("give a backbone alone, or a transformer and one part net per ST")
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.backbone = backbone
        self.transformer = transformer
        self.parts = nn.ModuleList(parts)
        width = sum(p.out_features for p in parts) if parts else backbone.out_features
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes))

    @property
    def transformers(self) -> list[ParallelSpatialTransformer]:
        return [] if self.transformer is None else [self.transformer]

    def forward(self, x: Tensor) -> Tensor:
        x = (x - self.mean) / self.std
        if self.transformer is None:
            return self.classifier(self.backbone(x))
        crops = self.transformer(x)
        features = [part(c) for part, c in zip(self.parts, crops, strict=True)]
        return self.classifier(torch.cat(features, dim=1))


def build_cub(
    *, options: CUB, stn: CUBST, in_shape: tuple[int, ...], num_classes: int
) -> PartClassifier:
    """The CNN or ``n``×ST-CNN (``build_cub_model``) for ``(3, S, S)`` inputs."""
    return build_cub_model(
        **vars(options), transform=stn.transform, n=stn.n, num_classes=num_classes
    )


def build_cub_model(
    backbone: str = "googlenet",
    pretrained: bool = True,
    transform: str = "none",
    n: int = 2,
    crop: int = 224,
    crop_scale: float = 0.5,
    crop_spread: float = 0.25,
    loc_hidden: int = 128,
    dropout: float = 0.5,
    num_classes: int = 200,
) -> PartClassifier:
    """The CNN (``transform="none"``) or ``n``×ST-CNN with STs of type ``transform``.

    The STs start as crops of ``crop_scale`` of the image about ``n`` centres spread
    ``crop_spread`` from its middle (normalised coordinates), so the parts differ from the
    first step; each crop is resampled to ``crop`` px.
    """
    if transform == "none":
        return PartClassifier(inception(backbone, pretrained), None, [], num_classes, dropout)
    trunk = inception(backbone, pretrained)
    localisation = nn.Sequential(trunk, *hidden_layers(trunk.out_features, [loc_hidden]))
    st = build_transform(transform)
    transformer = ParallelSpatialTransformer(
        localisation,
        st,
        n,
        out_size=crop,
        theta_init=crop_theta(st, crop_scale, spread_centres(n, crop_spread)),
        in_features=loc_hidden,
    )
    parts = [inception(backbone, pretrained) for _ in range(n)]
    return PartClassifier(None, transformer, parts, num_classes, dropout)
