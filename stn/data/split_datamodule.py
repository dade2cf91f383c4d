"""A LightningDataModule whose train, val and test sets are held in ``self.sets``."""

from __future__ import annotations

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from stn.data.batches import batch_loader


class SplitDataModule(pl.LightningDataModule):
    """Loaders over ``self.sets`` (filled by ``setup``): training batches shuffled afresh
    every epoch, seeded by (``seed``, epoch), each DDP process its share (the trainer
    rebuilds the loader every epoch); evaluation batches in order. A subclass sets
    ``batch_size``, ``seed`` and ``workers`` (processes loading items; 0 for ``Batches``)."""

    batch_size: int
    seed: int
    workers: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.sets: dict[str, Dataset] = {}

    @property
    def epoch(self) -> int:
        """The trainer's current epoch (0 without a trainer)."""
        return self.trainer.current_epoch if self.trainer is not None else 0

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.epoch)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def _loader(self, split: str, epoch: int | None = None) -> DataLoader:
        return batch_loader(
            self.sets[split], self.batch_size, self.seed, epoch, self.trainer, self.workers
        )
