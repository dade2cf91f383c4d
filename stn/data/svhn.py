"""Multi-digit SVHN (Table 2) as a LightningDataModule: train+extra for training and a
held-out validation split, test for testing, read from the crop caches of
``stn.data.svhn_cache``."""

from __future__ import annotations

import logging
from typing import Any

import torch

from stn.data.batches import Batches
from stn.data.datamodule import SplitDataModule
from stn.data.options import SvhnOptions
from stn.data.svhn_cache import prepare

log = logging.getLogger(__name__)


class MultiDigitSVHN(SplitDataModule):
    """Crops ``(3, size, size)`` of house-number sequences with labels ``(5,)`` (a digit per
    position, 10 where there is none). ``stn.data.datamodule`` gives the common arguments:
    ``data_dir`` holds ``SVHN/{train,extra,test}/`` as extracted from the archives, the crop
    caches are built in ``cache_dir`` on first use (``scripts/prepare_svhn.py`` builds them
    ahead, cropping on every core) and the validation crops are held out of
    ``train_splits``.

    Args:
        size: crop size, 64 (the paper's tight crops) or 128 (twice the context).
        train_splits: the splits trained on (the paper: ``train`` and ``extra``).
    """

    num_classes = 11  # per position: the digits 0–9 and "no digit"

    Options = SvhnOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.size, self.train_splits = self.options.size, tuple(self.options.train_splits)
        self.image_shape = (3, self.size, self.size)

    def _crops(self, split: str) -> dict[str, torch.Tensor]:
        out = prepare(self.data_dir, self.cache_dir, split, self.size, self.subset)
        log.info(
            "SVHN %s: %d crops (%d sequences longer than 5 digits dropped)",
            split,
            len(out["labels"]),
            int(out["dropped"][0]),
        )
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        parts = [self._crops(split) for split in self.train_splits]
        images = torch.cat([p["images"] for p in parts])
        labels = torch.cat([p["labels"] for p in parts])
        del parts  # free the per-split copies: train and val share the concatenation
        self.options.check_val_size(len(labels), f"crops cut from {'+'.join(self.train_splits)}")
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.seed))
        val, train = order[: self.val_size], order[self.val_size :]
        self.sets["train"] = Batches(images, labels, rows=train)
        self.sets["val"] = Batches(images, labels, rows=val)
        test = self._crops("test")
        self.sets["test"] = Batches(test["images"], test["labels"])
