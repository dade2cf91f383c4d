"""Distorted MNIST (Table 1, TC) and MNIST addition (Table 4) as a LightningDataModule."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from stn.data.batches import Batches
from stn.data.cache import cached
from stn.data.datamodule import SplitDataModule
from stn.data.distortions import DISTORTIONS
from stn.data.mnist_files import digits_checksum, load_mnist
from stn.data.options import MnistOptions

log = logging.getLogger(__name__)
CHUNK = 4096  # digits distorted at a time: bounds the float32 working memory


def distort(
    digits: Tensor,
    labels: Tensor,
    name: str,
    params: dict,
    digits_per_sample: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict[str, Tensor]:
    """Distort every digit of ``digits`` ``(N, 28, 28)`` uint8, deterministically in ``seed``.

    With ``digits_per_sample = 2`` (MNIST addition) each sample stacks two independently
    distorted digits as channels, the second drawn at random, and its label is their sum.
    The warps run on ``device`` (a GPU makes a fresh training set in milliseconds); the
    random draws do not depend on it.

    Returns:
        On ``device``: ``images`` ``(N, digits_per_sample, S, S)`` uint8, ``labels`` ``(N,)``,
        and the first digit's ``theta`` ``(N, n_params)``.
    """
    gen = torch.Generator().manual_seed(seed)
    partners = [torch.arange(len(digits))]
    partners += [torch.randperm(len(digits), generator=gen) for _ in range(digits_per_sample - 1)]
    digits = digits.to(device)  # once: the CPU-drawn indices below pick from it there
    extra = {"clutter_from": digits.float() / 255} if name == "tc" else {}
    images, thetas = [], []
    for start in range(0, len(digits), CHUNK):
        channels = []
        for index in partners:
            chunk = digits[index[start : start + CHUNK]].float() / 255
            image, theta = DISTORTIONS[name](chunk, gen, **params, **extra)
            channels.append(image)
            if len(channels) == 1:
                thetas.append(theta)
        images.append(torch.cat(channels, dim=1).mul_(255).round_().clamp_(0, 255).byte())
    return {
        "images": torch.cat(images),
        "labels": sum(labels[index] for index in partners).to(device),
        "theta": torch.cat(thetas).to(device),
    }


class DistortedMNIST(SplitDataModule):
    """MNIST digits under one of the paper's distortions (``stn.data.datamodule`` gives the
    common arguments; the validation digits are held out of the 60k training digits).

    Args:
        distortion: ``name`` (``r``, ``rts``, ``p``, ``e``, ``tc``) and that distortion's
            parameters (see ``stn.data.distortions``).
        digits_per_sample: 1, or 2 for MNIST addition (19 classes: the sum).
        train_distortions: ``fresh`` (resampled every epoch from ``seed`` and the epoch) or
            ``fixed`` (one cached set).
        download: download MNIST into ``data_dir`` when it is missing.
    """

    Options = MnistOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        params = dict(self.options.distortion)
        self.name = params.pop("name")
        self.params = params
        self.digits_per_sample = self.options.digits_per_sample
        self.train_distortions = self.options.train_distortions
        self.download = self.options.download
        self.num_classes = self.options.num_classes
        self.image_shape = self.options.image_shape
        self.thetas: dict[str, Tensor] = {}  # set up: each val/test sample's (first) digit's θ

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        train_digits, train_labels = load_mnist(self.data_dir, train=True, download=self.download)
        test_digits, test_labels = load_mnist(self.data_dir, train=False, download=self.download)
        if self.subset:
            train_digits, train_labels = train_digits[: self.subset], train_labels[: self.subset]
            test_digits, test_labels = test_digits[: self.subset], test_labels[: self.subset]
        self.options.check_val_size(len(train_digits), "MNIST training digits")
        order = torch.randperm(
            len(train_digits), generator=torch.Generator().manual_seed(self.seed)
        )
        val, train = order[: self.val_size], order[self.val_size :]
        self.splits = {
            "train": (train_digits[train], train_labels[train]),
            "val": (train_digits[val], train_labels[val]),
            "test": (test_digits, test_labels),
        }
        for split in ("val", "test"):
            self.sets[split], self.thetas[split] = self._generated(split, self.seed)
        if self.train_distortions == "fixed":
            self.sets["train"], _ = self._generated("train", self.seed)

    def _generated(self, split: str, seed: int) -> tuple[Batches, Tensor]:
        digits, labels = self.splits[split]
        # Distinct, reproducible streams per split (the same digit is never distorted alike).
        seed = seed * 1000 + ("train", "val", "test").index(split)
        recipe = {
            "distortion": self.name,
            "params": self.params,
            "digits_per_sample": self.digits_per_sample,
            "split": split,
            "seed": seed,
            "source": digits_checksum(digits, labels),
        }
        key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
        path = self.cache_dir / f"mnist_{self.name}{self.digits_per_sample}_{split}_{key}.h5"

        def build() -> dict[str, Tensor]:
            log.info("generating %s %s (%d digits) into %s", self.name, split, len(digits), path)
            return distort(digits, labels, self.name, self.params, self.digits_per_sample, seed)

        arrays = cached(path, recipe, build)
        return Batches(arrays["images"], arrays["labels"]), arrays["theta"]

    def train_dataloader(self) -> DataLoader:
        # The trainer reloads this loader every epoch: fresh shuffles (and distortions), warped
        # on the training device. Two CPU cores take 0.3 s (E) to 2.7 s (TC) for the 50k
        # digits, as long as a whole GPU epoch; the random draws are the same on any device.
        if self.train_distortions == "fresh":
            digits, labels = self.splits["train"]
            arrays = distort(
                digits,
                labels,
                self.name,
                self.params,
                self.digits_per_sample,
                (self.seed + 1) * 100_003 + self.epoch,
                self.trainer.strategy.root_device if self.trainer else "cpu",
            )
            self.sets["train"] = Batches(arrays["images"], arrays["labels"])
        return super().train_dataloader()
