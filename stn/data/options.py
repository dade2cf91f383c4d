"""Every dataset's options, typed and checked without Lightning, torchvision or any data.

``check_data(data)`` reads the ``data`` config into the named dataset's option class
(``stn.options.typed``: unknown, missing and mistyped keys), whose checks then say what is
allowed of each value; ``stn.train`` calls it before anything heavy is imported, and every
``SplitDataModule`` is built from the same class, so one list of options serves both.

A config recorded before datasets had names (``_target_: stn.data....DistortedMNIST``) is
read by its class name, as data (nothing in a run folder names code to run), and CUB's
``val_fraction`` of then becomes today's ``val_size``.

``check_files()`` of the checked options then finds the dataset's files (MNIST: downloads
them where allowed, and reads them whole), still without Lightning: a missing, swapped or
corrupt file, or a ``val_size`` that leaves no training samples, is said in seconds, before
a run's folder is written (SVHN's crops are counted only once cut: its ``val_size`` is
checked as it is set up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stn.errors import UsageError
from stn.options import typed

SVHN_SIZES = (64, 128)  # stn.data.svhn_crops.CONTEXT: the paper's crops and twice the context
CUB_SIZES = (224, 448)  # the paper's two; smaller ones for quick runs


def _at_least(key: str, value: int | None, least: int, none: str = "") -> None:
    if value is not None and value < least:
        allowed = f"null ({none}) or " if none else ""
        raise UsageError(f"data.{key}={value!r} must be {allowed}an integer of at least {least}")


DIGIT = 28  # MNIST's side, pixels
CANVAS = {"rts": 42, "tc": 60}  # stn.data.distortions' default canvases (a test keeps them equal)
# Each distortion's parameters: the keyword arguments of its function in stn.data.distortions.
DISTORTION_PARAMETERS = {
    "r": ("angle",),
    "rts": ("canvas", "angle", "scale", "shift"),
    "p": ("scale", "corner_std", "corners", "folds"),
    "e": ("std", "grid_size", "grid_span"),
    "tc": ("canvas", "clutter", "clutter_size"),
}


def _number(value, low: float, high: float = math.inf) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _integer(value, low: int, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _range(value) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(_number(v, 0) for v in value)
        and 0 < value[0] <= value[1]
    )


# Each parameter's allowed values: (check, what to say). A canvas must hold the digit.
RULES = {
    "angle": (lambda v: _number(v, 0, 180), "a number of degrees in [0, 180]"),
    "scale": (_range, "two numbers [low, high] with 0 < low <= high"),
    "canvas": (lambda v: _integer(v, DIGIT), f"an integer of at least {DIGIT} (the digit's size)"),
    "shift": (
        lambda v: v is None or _number(v, 0),
        "null (wherever the scaled digit fits) or a number of pixels, 0 or more",
    ),
    "corner_std": (lambda v: _number(v, 0), "a number of pixels, 0 or more"),
    "std": (lambda v: _number(v, 0), "a number of pixels, 0 or more"),
    "grid_size": (lambda v: _integer(v, 2), "an integer of at least 2"),
    "grid_span": (lambda v: _number(v, 0) and v > 0, "a number of pixels, more than 0"),
    "clutter": (lambda v: _integer(v, 0), "an integer, 0 or more"),
    "clutter_size": (lambda v: _integer(v, 1, DIGIT), f"an integer in [1, {DIGIT}]"),
    "corners": (lambda v: v in ("any", "outward"), "'any' or 'outward'"),
    "folds": (lambda v: v in ("keep", "redraw"), "'keep' or 'redraw'"),
}


def check_distortion(name: str, params: dict) -> None:
    """Raise ``UsageError`` for an unknown distortion or parameter, naming the valid ones, or
    a value out of its range (``RULES``): a negative scale, say, would give blank digits."""
    if name not in DISTORTION_PARAMETERS:
        valid = ", ".join(DISTORTION_PARAMETERS)
        raise UsageError(f"unknown distortion {name!r}; valid: {valid}")
    valid = list(DISTORTION_PARAMETERS[name])
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise UsageError(f"distortion {name!r} has no parameter {unknown}; valid: {valid}")
    for key, value in params.items():
        check, allowed = RULES[key]
        if not check(list(value) if isinstance(value, tuple) else value):
            raise UsageError(f"data.distortion.{key}={value!r} must be {allowed}")


@dataclass(frozen=True, kw_only=True)
class DataOptions:
    """What every dataset takes (``stn.data.datamodule`` says what each means)."""

    data_dir: str | Path
    cache_dir: str | Path
    batch_size: int
    val_size: int
    workers: int | None = 0
    seed: int = 0
    subset: int | None = None

    def __post_init__(self) -> None:
        _at_least("batch_size", self.batch_size, 1)
        _at_least("val_size", self.val_size, 1)
        _at_least("workers", self.workers, 0, "one per usable core")
        _at_least("subset", self.subset, 1, "all")

    def check_files(self) -> None:
        """Raise ``MissingData`` (saying where to put what) or ``UsageError`` (a wrong file)
        unless the dataset's files are under ``data_dir``."""
        raise NotImplementedError

    def check_val_size(self, n: int, source: str) -> None:
        """Raise unless ``val_size`` leaves training samples among the ``n`` ``source``
        that ``subset`` keeps."""
        if self.val_size < n:
            return
        kept = f" with data.subset={self.subset}" if self.subset else ""
        raise UsageError(
            f"data.val_size={self.val_size} must lie in (0, {n}): there are {n} {source}"
            f"{kept}; give a smaller data.val_size"
        )


@dataclass(frozen=True, kw_only=True)
class MnistOptions(DataOptions):
    """Distorted MNIST (``stn.data.mnist``)."""

    distortion: dict
    digits_per_sample: int = 1
    train_distortions: str = "fresh"
    download: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        params = dict(self.distortion)
        check_distortion(params.pop("name", None), params)
        if self.train_distortions not in ("fresh", "fixed"):
            raise UsageError(
                f"data.train_distortions={self.train_distortions!r} must be 'fresh' or 'fixed'"
            )
        if self.digits_per_sample not in (1, 2):
            raise UsageError(
                f"data.digits_per_sample={self.digits_per_sample!r} must be 1 or 2 (addition)"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of a sample: a digit per channel, on the distortion's canvas."""
        name = self.distortion.get("name")
        side = self.distortion.get("canvas", CANVAS.get(name, DIGIT))
        return (self.digits_per_sample, side, side)

    @property
    def num_classes(self) -> int:
        """10 digits, or the 19 sums of two (MNIST addition)."""
        return 10 if self.digits_per_sample == 1 else 19

    def check_files(self) -> None:
        from stn.data.mnist_files import load_mnist

        digits, _ = load_mnist(self.data_dir, True, self.download)
        load_mnist(self.data_dir, False, self.download)
        self.check_val_size(len(digits[: self.subset]), "MNIST training digits")


@dataclass(frozen=True, kw_only=True)
class SvhnOptions(DataOptions):
    """Multi-digit SVHN (``stn.data.svhn``)."""

    size: int = 64
    train_splits: list[str] = field(default_factory=lambda: ["train", "extra"])

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.size not in SVHN_SIZES:
            raise UsageError(
                f"data.size={self.size!r} must be one of {', '.join(map(str, SVHN_SIZES))}"
            )
        splits = list(self.train_splits)
        if not splits or not set(splits) <= {"train", "extra"}:
            raise UsageError(f"data.train_splits={splits} must be train and/or extra")

    def check_files(self) -> None:
        from stn.data.svhn_cache import split_dir

        for split in (*self.train_splits, "test"):
            split_dir(self.data_dir, split)


@dataclass(frozen=True, kw_only=True)
class CubOptions(DataOptions):
    """CUB-200-2011 (``stn.data.cub``)."""

    size: int = 448

    def __post_init__(self) -> None:
        super().__post_init__()
        _at_least("size", self.size, 32)

    def check_files(self) -> None:
        from stn.data.cub_metadata import read_cub_metadata

        root = Path(self.data_dir) / "CUB_200_2011"
        meta = read_cub_metadata(root)
        self.check_val_size(len(meta.train.nonzero()[: self.subset]), f"training images in {root}")


OPTIONS: dict[str, type[DataOptions]] = {
    "mnist": MnistOptions,
    "svhn": SvhnOptions,
    "cub": CubOptions,
}


# Older run folders name the class to instantiate (with Hydra options) instead.
RECORDED = {"DistortedMNIST": "mnist", "MultiDigitSVHN": "svhn", "CUB200": "cub"}
HYDRA_KEYS = ("_target_", "_convert_", "_recursive_")


def dataset_options(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The dataset ``data`` names and its options (the other keys)."""
    options = {k: v for k, v in data.items() if k not in ("name", *HYDRA_KEYS)}
    name = data.get("name")
    if name is None and "_target_" in data:
        name = RECORDED.get(str(data["_target_"]).rsplit(".", 1)[-1])
        if name is None:
            raise UsageError(
                f"data._target_={data['_target_']!r} is not a dataset of this suite (valid: "
                f"{', '.join(RECORDED)}); nothing named in a config is imported or run"
            )
        if name == "cub" and "val_fraction" in options:  # recorded before the common arguments
            from stn.data.cub_metadata import read_cub_metadata

            meta = read_cub_metadata(Path(options["data_dir"]) / "CUB_200_2011")
            options["val_size"] = round(options.pop("val_fraction") * int(meta.train.sum()))
            options.setdefault("cache_dir", options["data_dir"])  # unused: CUB caches nothing
    if name not in OPTIONS:
        raise UsageError(f"unknown data.name={name!r}; valid: {', '.join(OPTIONS)}")
    return name, options


def check_data(data: Mapping[str, Any]) -> DataOptions:
    """The options of the dataset the ``data`` config names, checked."""
    name, options = dataset_options(data)
    return typed(OPTIONS[name], options, "data", f"the {name} dataset")
