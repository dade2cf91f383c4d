"""FCN, CNN, ST-FCN, ST-CNN and 2×ST-FCN for distorted MNIST (§4.1, appendix A.1, A.4).

The classifiers have three weight layers: FCN ``FC → FC → FC``, CNN ``conv 9×9 → max-pool →
conv 7×7 → max-pool → FC``. The ST variants put a spatial transformer at the input, with a
fully connected localisation net for ST-FCN and a convolutional one for ST-CNN (as the
model's ``localisation`` config says), its output downsampled 2× for RTS and TC (the
paper's): sampled at full size, then average-pooled (``stn.downsample=pool``), or sampled on a
grid half the size (``sample``). ``n = 2`` parallel STs (2×ST-FCN) each see every input channel;
their outputs are concatenated along channels. They share one localisation net, or with
``stn.shared=false`` each has its own (the paper defines an ST as its localisation net,
grid generator and sampler).

The paper compares models of about equal parameter counts. Given a budget ``params``, the
classifier's widths (hidden units or channels) are scaled by one common factor so that the
whole network, localisation net included, has the budgeted number of parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from stn.errors import UsageError
from stn.models.options import CNN, FCN, MnistST, check_cnn_input, localisation_options
from stn.nn.localisation import Localisation, conv_localisation, fc_localisation, hidden_layers
from stn.nn.shape import output_shape
from stn.nn.spatial_transformer import ParallelSpatialTransformer
from stn.nn.transforms import build_transform


def fcn(in_shape: Sequence[int], num_classes: int, hidden: Sequence[int]) -> nn.Sequential:
    """``(B, C, H, W)`` → logits: flatten, ``FC → ReLU`` per hidden width, FC."""
    widths = [math.prod(in_shape), *hidden]
    layers = hidden_layers(widths[0], hidden)
    return nn.Sequential(nn.Flatten(), *layers, nn.Linear(widths[-1], num_classes))


def cnn(
    in_shape: Sequence[int],
    num_classes: int,
    channels: Sequence[int],
    kernel_sizes: Sequence[int],
    padding: str = "same",
) -> nn.Sequential:
    """``(B, C, H, W)`` → logits: ``conv → ReLU → max-pool 2`` per layer, then FC.

    ``padding="same"`` zero-pads each conv to keep its input's size, so the same network
    takes the 21 × 21 output of a downsampling ST as well as 60 × 60 cluttered digits;
    ``"valid"`` does not pad, and an input too small for its kernels is refused."""
    check_cnn_input(kernel_sizes, padding, tuple(in_shape[1:]))
    layers: list[nn.Module] = []
    width = in_shape[0]
    for c, k in zip(channels, kernel_sizes, strict=True):
        layers += [nn.Conv2d(width, c, k, padding=padding), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        width = c
    features = nn.Sequential(*layers, nn.Flatten())
    (n_features,) = output_shape(features, in_shape)
    return nn.Sequential(*features, nn.Linear(n_features, num_classes))


class TransformedClassifier(nn.Module):
    """Spatial transformers at the input (all their outputs stacked on channels), an optional
    average pooling, then the classifier. ``transformers`` is empty for FCN and CNN."""

    def __init__(
        self, transformers: Sequence[ParallelSpatialTransformer], pool: int, classifier: nn.Module
    ):
        super().__init__()
        self.transformers = nn.ModuleList(transformers)
        self.pool = nn.AvgPool2d(pool) if pool > 1 else nn.Identity()
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        if self.transformers:
            x = torch.cat([out for st in self.transformers for out in st(x)], dim=1)
        return self.classifier(self.pool(x))


# Each kind of localisation net's builder; its options: stn.models.options.LOCALISATION.
LOCALISATION = {"conv": conv_localisation, "fc": fc_localisation}


def localisation_net(options: dict[str, Any], in_shape: Sequence[int]) -> Localisation:
    """The localisation net that ``model.localisation`` describes, for ``in_shape``."""
    kind, fields = localisation_options(options)
    return LOCALISATION[kind](in_shape, **vars(fields))


def transformed(
    options: FCN | CNN,
    stn: MnistST,
    in_shape: tuple[int, ...],
    classifier: Callable[[tuple[int, ...], list[int]], nn.Module],
    widths: list[int],
) -> TransformedClassifier:
    """The STs that ``stn`` asks for at the input, then ``classifier(shape, widths)`` with
    its ``widths`` scaled to the parameter budget ``options.params``."""
    transformers, pool, shape = [], 1, in_shape
    if stn.transform != "none":
        size = stn.classifier_size(in_shape[1:])
        out_size = size if stn.downsample == "sample" else None

        def make(n: int) -> ParallelSpatialTransformer:
            loc = localisation_net(options.localisation, in_shape)
            transform = build_transform(stn.transform)
            return ParallelSpatialTransformer(loc, transform, n=n, out_size=out_size)

        transformers = [make(stn.n)] if stn.shared else [make(1) for _ in range(stn.n)]
        pool = stn.pool if out_size is None else 1
        shape = (in_shape[0] * stn.n, *size)
    if options.params is not None:
        loc = sum(_count(st) for st in transformers)
        build = lambda w: classifier(shape, w)  # noqa: E731
        widths = _fit_widths(build, widths, options.params - loc, options.params)
    return TransformedClassifier(transformers, pool, classifier(shape, widths))


def build_fcn(
    *, options: FCN, stn: MnistST, in_shape: tuple[int, ...], num_classes: int
) -> TransformedClassifier:
    """FCN, or ST-FCN with the STs of ``stn``, for ``(C, H, W)`` inputs."""
    classifier = lambda shape, w: fcn(shape, num_classes, w)  # noqa: E731
    return transformed(options, stn, in_shape, classifier, options.hidden)


def build_cnn(
    *, options: CNN, stn: MnistST, in_shape: tuple[int, ...], num_classes: int
) -> TransformedClassifier:
    """CNN, or ST-CNN with the STs of ``stn``, for ``(C, H, W)`` inputs."""
    classifier = lambda shape, w: cnn(  # noqa: E731
        shape, num_classes, w, options.kernel_sizes, options.padding
    )
    return transformed(options, stn, in_shape, classifier, options.channels)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _fit_widths(build, widths: Sequence[int], budget: int, total: int) -> list[int]:
    """``widths`` scaled by the common factor whose ``build(widths)`` has the parameter
    count nearest ``budget`` (found by bisection; counted on the meta device, for free)."""

    def scaled(k: float) -> list[int]:
        return [max(1, round(w * k)) for w in widths]

    counts: dict[tuple[int, ...], int] = {}  # near the end, most factors round alike

    def count(k: float) -> int:
        w = tuple(scaled(k))
        if w not in counts:
            with torch.device("meta"):
                counts[w] = _count(build(list(w)))
        return counts[w]

    low, high = 1e-3, 1e3
    if budget < count(low):
        fixed = total - budget  # the localisation nets'
        raise UsageError(
            f"model.params={total} is too small for this network: its localisation nets take "
            f"{fixed} parameters and its classifier at least {count(low)}: give model.params "
            f"of at least {fixed + count(low)} (or null to use the listed widths)"
        )
    for _ in range(60):  # count(k) is non-decreasing in k: keep count(low) <= budget
        mid = (low * high) ** 0.5
        low, high = (mid, high) if count(mid) <= budget else (low, mid)
    best = min((low, high), key=lambda k: abs(count(k) - budget))
    return scaled(best)
