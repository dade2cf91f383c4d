"""Every network's options, typed and checked without torch.

``model_options(model, stn)`` reads the ``model`` and ``stn`` configs into the named
network's two option classes (``stn.options.typed``: unknown, missing and mistyped keys),
whose checks then say what is allowed of each value; ``stn.train`` calls it before torch is
imported, and every builder (``stn.models.registry``) takes the same classes, so one list
of options serves both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stn.errors import UsageError
from stn.options import typed

# The names of stn.nn.transforms.TRANSFORMS (a test keeps them equal), and none: no ST.
TRANSFORMS = ("none", "affine", "projective", "tps", "attention")
BACKBONES = ("googlenet", "inception_v3")  # torchvision's Inceptions with batch norm
SVHN_CHANNELS = (48, 64, 128, 160, 192, 192, 192, 192)  # Goodfellow et al.'s 8 conv layers
PLACEMENTS = {"single": (0,), "multi": (0, 1, 2, 3)}  # SVHN: conv layers an ST sits before
DOWNSAMPLE = ("pool", "sample")  # MNIST: how an ST's output is made stn.pool times smaller
PADDING = ("same", "valid")  # MNIST CNN: torch's names for zero-padded and unpadded convs


def check_sizes(key: str, value: int | Sequence[int]) -> None:
    """Raise ``UsageError`` unless ``value``, a size (units, channels, a kernel's side, a
    count) or a list of them, is at least 1 throughout."""
    if isinstance(value, int):
        if value < 1:
            raise UsageError(f"{key}={value!r} must be an integer of at least 1")
    elif any(v < 1 for v in value):
        raise UsageError(f"{key}={list(value)} must hold integers of at least 1")


def check_dropout(value: float) -> None:
    """Raise ``UsageError`` unless ``model.dropout`` is a probability a layer can drop with."""
    if not 0 <= value < 1:
        raise UsageError(f"model.dropout={value!r} must be a probability in [0, 1)")


def check_transform(transform: str) -> None:
    if transform not in TRANSFORMS:
        raise UsageError(f"unknown stn.transform={transform!r}; valid: {', '.join(TRANSFORMS)}")


@dataclass(frozen=True)
class MnistST:
    """``stn`` options of the MNIST networks: ``transform`` (``none`` | ``affine`` |
    ``projective`` | ``tps`` | ``attention``), ``n`` parallel STs, whether they share one
    localisation net, and the factor ``pool`` (1: none) their output is downsampled by:
    ``downsample`` ``pool`` samples at the input's size, then average-pools; ``sample``
    samples a grid ``pool`` times smaller (the paper's §3.4: an ST downsamples by its output
    size)."""

    transform: str
    n: int = 1
    pool: int = 1
    shared: bool = True
    downsample: str = "pool"

    def classifier_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The ``(H, W)`` the classifier gets of an ``(H, W)`` input: the STs' output, ``pool``
        times smaller; without STs, the input."""
        if self.transform == "none":
            return size
        return (size[0] // self.pool, size[1] // self.pool)

    def __post_init__(self) -> None:
        check_transform(self.transform)
        if self.downsample not in DOWNSAMPLE:
            raise UsageError(
                f"unknown stn.downsample={self.downsample!r}; valid: {', '.join(DOWNSAMPLE)}"
            )
        if self.transform == "none" and self.n != 1:  # (pool and shared: experiment defaults)
            raise UsageError(
                f"stn.n={self.n} asks for parallel STs, but stn=none has none: remove stn.n, "
                f"or choose a transform (stn=affine|projective|tps)"
            )


@dataclass(frozen=True)
class ConvLocalisation:
    """``model.localisation`` of ``kind: conv`` (``stn.nn.localisation.conv_localisation``)."""

    channels: list[int] = field(default_factory=lambda: [20, 20])
    kernel_size: int = 5
    pool: int = 2
    hidden: list[int] = field(default_factory=lambda: [20])

    def __post_init__(self) -> None:
        for key in ("channels", "kernel_size", "pool", "hidden"):
            check_sizes(f"model.localisation.{key}", getattr(self, key))


@dataclass(frozen=True)
class FCLocalisation:
    """``model.localisation`` of ``kind: fc`` (``stn.nn.localisation.fc_localisation``)."""

    hidden: list[int] = field(default_factory=lambda: [32, 32])

    def __post_init__(self) -> None:
        check_sizes("model.localisation.hidden", self.hidden)


LOCALISATION = {"conv": ConvLocalisation, "fc": FCLocalisation}


def localisation_options(
    options: Mapping[str, Any],
) -> tuple[str, ConvLocalisation | FCLocalisation]:
    """The ``kind`` of localisation net that ``model.localisation`` names, and its options."""
    options = dict(options)
    kind = options.pop("kind", None)
    if kind not in LOCALISATION:
        raise UsageError(
            f"unknown model.localisation.kind={kind!r}; valid: {', '.join(LOCALISATION)}"
        )
    return kind, typed(
        LOCALISATION[kind], options, "model.localisation", f"a {kind} localisation net"
    )


@dataclass(frozen=True)
class FCN:
    """``model`` options of FCN / ST-FCN: ``hidden`` widths, scaled by one factor to meet
    ``params`` (the parameter budget, loc net included; null: as given), and the ST's
    ``localisation`` net (``kind``: ``fc`` or ``conv``, and that builder's options)."""

    hidden: list[int]
    params: int | None = None
    localisation: dict = field(default_factory=lambda: {"kind": "fc"})

    def __post_init__(self) -> None:
        check_sizes("model.hidden", self.hidden)
        localisation_options(self.localisation)


@dataclass(frozen=True)
class CNN:
    """``model`` options of CNN / ST-CNN: conv ``channels`` and ``kernel_sizes``, their
    ``padding`` (``same``: zero-padded to keep their input's size; ``valid``: unpadded, each
    k×k conv shrinks its map by k − 1), then as ``FCN``."""

    channels: list[int]
    kernel_sizes: list[int]
    padding: str = "same"
    params: int | None = None
    localisation: dict = field(default_factory=lambda: {"kind": "conv"})

    def __post_init__(self) -> None:
        check_sizes("model.channels", self.channels)
        check_sizes("model.kernel_sizes", self.kernel_sizes)
        if len(self.channels) != len(self.kernel_sizes):
            raise UsageError(
                f"model.channels={list(self.channels)} and model.kernel_sizes="
                f"{list(self.kernel_sizes)} must be as long: one kernel size per conv layer"
            )
        if self.padding not in PADDING:
            raise UsageError(f"unknown model.padding={self.padding!r}; valid: {', '.join(PADDING)}")
        localisation_options(self.localisation)


def check_cnn_input(kernel_sizes: list[int], padding: str, size: tuple[int, ...]) -> None:
    """Raise ``UsageError`` unless each ``conv → max-pool 2`` of the MNIST CNN, padded as
    ``padding`` says, leaves a map of at least 1×1 of its ``(H, W)`` input ``size``."""
    side = list(size)
    for i, k in enumerate(kernel_sizes):
        conv = [s - (k - 1) if padding == "valid" else s for s in side]
        if min(conv) // 2 < 1:
            unpadded = padding == "valid"
            raise UsageError(
                f"model.padding={padding!r}: conv {i + 1} ({k}×{k}) of the CNN gets a "
                f"{'×'.join(map(str, side))} map from its {'×'.join(map(str, size))} input, "
                f"too small to {'convolve and ' if unpadded else ''}pool: give "
                + (
                    "model.padding=same, or smaller model.kernel_sizes"
                    if unpadded
                    else "fewer conv layers (model.channels and model.kernel_sizes)"
                )
            )
        side = [s // 2 for s in conv]


@dataclass(frozen=True)
class SVHNST:
    """``stn`` options of the SVHN networks: the ``transform`` of every ST (``none``: the
    CNN). Where they sit is ``model.placement``."""

    transform: str

    def __post_init__(self) -> None:
        check_transform(self.transform)


def placement_positions(placement: str | list[int], layers: int) -> tuple[int, ...]:
    """The conv layers (of ``layers``) that ``model.placement`` puts an ST before."""
    if isinstance(placement, str):
        if placement not in PLACEMENTS:
            raise UsageError(
                f"unknown model.placement={placement!r}; valid: {', '.join(PLACEMENTS)}, or a "
                f"list of conv layers 0–{layers - 1} (the CNN has no STs: stn=none)"
            )
        return PLACEMENTS[placement]
    if not placement or any(not 0 <= p < layers for p in placement):
        raise UsageError(
            f"model.placement={list(placement)}: ST positions must be conv layers "
            f"0–{layers - 1}, at least one"
        )
    return tuple(placement)


@dataclass(frozen=True)
class SVHN:
    """``model`` options: ``placement`` (``single``: one ST at the input with a conv loc net;
    ``multi``: before each of conv layers 0–3 with FC loc nets; or a list of conv layers to
    put Multi's ST before), the conv ``channels``, the FC layers' ``hidden`` width and their
    ``dropout``."""

    placement: str | list[int] = "multi"
    channels: list[int] = field(default_factory=lambda: list(SVHN_CHANNELS))
    hidden: int = 3072
    dropout: float = 0.5

    def __post_init__(self) -> None:
        check_sizes("model.channels", self.channels)
        check_sizes("model.hidden", self.hidden)
        check_dropout(self.dropout)
        placement_positions(self.placement, len(self.channels))


@dataclass(frozen=True)
class CUBST:
    """``stn`` options: the ``transform`` of the parallel STs (``none``: the CNN alone;
    ``attention``: the paper's crops) and how many, ``n``."""

    transform: str
    n: int = 2

    def __post_init__(self) -> None:
        check_transform(self.transform)


@dataclass(frozen=True)
class CUB:
    """``model`` options: the Inception ``backbone`` (``googlenet`` | ``inception_v3``), its
    ImageNet weights (``pretrained``), each ST's ``crop`` px, the STs' initial crops
    (``crop_scale`` of the image, ``crop_spread`` from its middle), the loc net's FC width
    ``loc_hidden``, and the classifier's ``dropout``."""

    backbone: str = "googlenet"
    pretrained: bool = True
    crop: int = 224
    crop_scale: float = 0.5
    crop_spread: float = 0.25
    loc_hidden: int = 128
    dropout: float = 0.5

    def __post_init__(self) -> None:
        check_sizes("model.crop", self.crop)
        check_sizes("model.loc_hidden", self.loc_hidden)
        check_dropout(self.dropout)
        if self.backbone not in BACKBONES:
            raise UsageError(
                f"unknown model.backbone={self.backbone!r}; valid: {', '.join(BACKBONES)}"
            )


# name: (its model options, its stn options); each name's builder is in stn.models.registry.
OPTIONS: dict[str, tuple[type, type]] = {
    "fcn": (FCN, MnistST),
    "cnn": (CNN, MnistST),
    "svhn": (SVHN, SVHNST),
    "cub": (CUB, CUBST),
}


def model_options(model: Mapping[str, Any], stn: Mapping[str, Any]) -> tuple[str, Any, Any]:
    """The name of ``model["name"]`` and its typed ``model`` and ``stn`` options."""
    name = model.get("name")
    if name not in OPTIONS:
        raise UsageError(f"unknown model.name={name!r}; valid: {', '.join(OPTIONS)}")
    options, st = OPTIONS[name]
    where = f"the {name} network"
    model = {k: v for k, v in model.items() if k != "name"}
    return name, typed(options, model, "model", where), typed(st, dict(stn), "stn", where)
