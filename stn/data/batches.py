"""Whole-batch indexing of in-memory uint8 datasets, and the training batches of one epoch.

Indexing a batch at a time (one gather and one conversion per batch, instead of per sample)
is what keeps a 2-core CPU's loader far ahead of the model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler


class Batches(Dataset):
    """uint8 images ``(N, C, S, S)`` and labels ``(N,)``, indexed a whole batch at a time."""

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices)
        return self.images[index].float().div_(255), self.labels[index]


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
