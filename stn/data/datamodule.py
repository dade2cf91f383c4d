"""The contract every dataset keeps: one constructor, one shape API, one batch type.

Each dataset (``mnist``, ``svhn``, ``cub``; registered in ``stn.data.registry``) is a
``SplitDataModule`` built with the same keyword arguments, meaning the same everywhere:

- ``data_dir``: the data folder (``stn.paths``: it holds ``MNIST/``, ``SVHN/``,
  ``CUB_200_2011/``);
- ``cache_dir``: where generated or decoded data is cached (CUB keeps none);
- ``batch_size``: training and evaluation batch size;
- ``val_size``: samples held out of the training set for validation (the test set is never
  used for choices);
- ``workers``: loader worker processes (0: batches are made in the training process, as
  for the in-memory MNIST and SVHN sets; ``None``: one per usable core);
- ``seed``: seeds the validation split, the shuffles and anything generated;
- ``subset``: only the first ``subset`` samples of each source split (quick runs, tests);

plus its own options (the configs in ``configs/data/`` give every one), all of them fields of
its option class (``stn.data.options``), checked as it is built. Every one has
``image_shape`` ``(C, H, W)`` and ``num_classes`` once built, and yields ``Batch``es.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from stn.data.batches import Batch, batch_loader
from stn.data.options import OPTIONS, DataOptions
from stn.hardware import usable_cores
from stn.options import typed


class SplitDataModule(pl.LightningDataModule):
    """Loaders over ``self.sets`` (filled by ``setup``): training batches shuffled afresh
    every epoch, seeded by (``seed``, epoch), each DDP process its share (the trainer
    rebuilds the loader every epoch); evaluation batches in order. A subclass names its
    option class as ``Options`` (its options are then ``self.options``) and sets
    ``image_shape`` and ``num_classes`` in its constructor."""

    image_shape: tuple[int, int, int]
    num_classes: int
    Options: type[DataOptions] = DataOptions  # the dataset's options (stn.data.options)

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = typed(self.Options, options, "data", f"the {self.dataset} dataset")
        o = self.options
        self.data_dir, self.cache_dir = Path(o.data_dir), Path(o.cache_dir)
        self.batch_size, self.seed = o.batch_size, o.seed
        self.workers = usable_cores() if o.workers is None else o.workers
        self.val_size, self.subset = o.val_size, o.subset
        self.sets: dict[str, Dataset] = {}

    def prepare_data(self) -> None:
        """Lightning's first step, in one process: the dataset's files found (MNIST's
        downloaded where allowed), as ``stn.train`` checks them before it writes anything."""
        self.options.check_files()

    @property
    def dataset(self) -> str:
        """The dataset's name in the registry (``data.name``)."""
        return next((n for n, c in OPTIONS.items() if c is self.Options), type(self).__name__)

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

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        """Images as the network takes them: uint8 → float in [0, 1], on the device."""
        if not batch.image.is_floating_point():
            batch = batch._replace(image=batch.image.float().div_(255))
        return batch
