"""Whole-batch indexing of in-memory uint8 datasets, and the training batches of one epoch.

Indexing a batch at a time (one gather and one conversion per batch, instead of per sample)
is what keeps a 2-core CPU's loader far ahead of the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler


class Batch(NamedTuple):
    """A batch of every dataset: images ``(B, C, H, W)`` (float in [0, 1] once on the
    device), targets ``(B,)`` or ``(B, 5)`` (SVHN's digit positions), and where the dataset
    has one, the object's box ``(B, 4)`` as ``x0, y0, x1, y1`` normalised (CUB; never for
    training)."""

    image: Tensor
    target: Tensor
    box: Tensor | None = None


class Batches(Dataset):
    """uint8 images ``(N, C, S, S)`` and labels ``(N, ...)``, indexed a whole batch at a time.

    ``rows`` ``(M,)`` makes it the subset of those rows, without copying the images.
    """

    def __init__(self, images: Tensor, labels: Tensor, rows: Tensor | None = None) -> None:
        self.images, self.labels, self.rows = images, labels, rows

    def __len__(self) -> int:
        return len(self.labels) if self.rows is None else len(self.rows)

    def __getitem__(self, indices: list[int]) -> Batch:
        index = torch.as_tensor(indices)
        if self.rows is not None:
            index = self.rows[index]
        return Batch(self.images[index], self.labels[index])


class EpochBatches(Sampler[list[int]]):
    """One epoch's shuffled batches of ``range(n)``, for process ``rank`` of ``world``.

    The order depends only on ``seed`` and ``epoch``, so a run resumed at an epoch boundary
    sees the batches an uninterrupted run would. Under data parallelism each process takes
    every ``world``-th batch, and all take the same number (the last few wrap around to the
    first), as DDP needs every process to step together.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1
    ) -> None:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1009 + epoch))
        batches = [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
        count = math.ceil(len(batches) / world)
        self.batches = [batches[(rank + i * world) % len(batches)] for i in range(count)]

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)


def batch_loader(
    data: Dataset,
    batch_size: int,
    seed: int,
    epoch: int | None = None,
    trainer: pl.Trainer | None = None,
    workers: int = 0,
) -> DataLoader:
    """Batches of ``data``: in order (evaluation: every process sees the whole set), or for
    training (``epoch`` given) that epoch's shuffled batches, this process's share of them.

    ``Batches`` are indexed a whole batch at a time in this process; any other dataset one
    item at a time, in ``workers`` processes.
    """
    if epoch is None:
        sampler = BatchSampler(SequentialSampler(data), batch_size, drop_last=False)
    else:
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        sampler = EpochBatches(len(data), batch_size, seed, epoch, rank, world)
    if isinstance(data, Batches):
        return DataLoader(data, batch_size=None, sampler=sampler)
    return DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=workers,
        # Training loaders are rebuilt every epoch (fresh shuffles); evaluation ones are kept.
        persistent_workers=workers > 0 and epoch is None,
        pin_memory=torch.cuda.is_available(),
    )
