"""Multi-digit SVHN (Table 2) as a LightningDataModule: train+extra for training and a
held-out validation split, test for testing, read from the crop caches of ``stn.data.svhn``."""

from __future__ import annotations

import logging

import torch

from stn.data.batches import Batches
from stn.data.split_datamodule import SplitDataModule
from stn.data.svhn import prepare
from stn.data.svhn_crops import CONTEXT
from stn.errors import UsageError

log = logging.getLogger(__name__)


class MultiDigitSVHN(SplitDataModule):
    """Crops ``(3, size, size)`` of house-number sequences with labels ``(5,)`` (a digit per
    position, 10 where there is none).

    Args:
        data_dir: holds ``SVHN/{train,extra,test}/`` as extracted from the archives
            (``$STN_DATA_DIR`` overrides it); the caches are built on first use.
        cache_dir: where the crop caches are (``scripts/prepare_svhn.py`` builds them ahead).
        size: crop size, 64 (the paper's tight crops) or 128 (twice the context).
        train_splits: the splits trained on (the paper: ``train`` and ``extra``).
        val_size: crops held out of them for validation (the test set is never used for
            choices).
        batch_size: training and evaluation batch size.
        seed: seeds the validation split and the shuffles.
        subset: use only the first ``subset`` records of each split (quick runs and tests).
        workers: processes cropping the PNGs when a cache is built (default: every core).
    """

    num_classes = 11  # per position: the digits 0–9 and "no digit"

    def __init__(
        self,
        data_dir: str,
        cache_dir: str,
        size: int = 64,
        train_splits: tuple[str, ...] = ("train", "extra"),
        val_size: int = 6000,
        batch_size: int = 128,
        seed: int = 0,
        subset: int | None = None,
        workers: int | None = None,
    ) -> None:
        super().__init__()
        if size not in CONTEXT:
            raise UsageError(f"data.size must be one of {', '.join(map(str, CONTEXT))}, got {size}")
        train_splits = tuple(train_splits)
        if not train_splits or not set(train_splits) <= {"train", "extra"}:
            raise UsageError(
                f"data.train_splits must be train and/or extra, got {list(train_splits)}"
            )
        self.data_dir, self.cache_dir, self.size = data_dir, cache_dir, size
        self.train_splits, self.val_size = train_splits, val_size
        self.batch_size, self.seed, self.subset = batch_size, seed, subset
        self.crop_workers = workers  # the loaders need none: crops are batched in memory
        self.image_shape = (3, size, size)

    def _crops(self, split: str) -> dict[str, torch.Tensor]:
        out = prepare(
            self.data_dir, self.cache_dir, split, self.size, self.subset, self.crop_workers
        )
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
        if not 0 < self.val_size < len(labels):
            raise UsageError(
                f"data.val_size must lie in (0, {len(labels)}) (the crops of "
                f"{'+'.join(self.train_splits)}), got {self.val_size}"
            )
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.seed))
        val, train = order[: self.val_size], order[self.val_size :]
        self.sets["train"] = Batches(images, labels, rows=train)
        self.sets["val"] = Batches(images, labels, rows=val)
        test = self._crops("test")
        self.sets["test"] = Batches(test["images"], test["labels"])
