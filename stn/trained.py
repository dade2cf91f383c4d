"""A finished run, loaded back: its data module (set up) and its trained network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor

from stn.errors import MissingData
from stn.runs import BEST, CONFIG
from stn.tasks.classification import Classification

SPLITS = ("val", "test")


def _require(run: Path, *names: str) -> None:
    for name in names:
        if not (run / name).exists():
            raise MissingData(f"{run / name} is missing: is {run} a finished run folder?")


def load_task(run: Path, checkpoint: str = BEST) -> Classification:
    """``run``'s ``checkpoint`` (``runs.BEST`` or ``runs.LAST``), eager, on the CPU in eval
    mode; only the checkpoint is read (``weights_only``)."""
    _require(run, checkpoint)
    task = Classification.load_from_checkpoint(
        run / checkpoint, map_location="cpu", weights_only=True, compile=False
    )
    return task.eval()


def load(run: Path, checkpoint: str = BEST) -> tuple[pl.LightningDataModule, Classification]:
    """``run``'s data module, set up, and its ``checkpoint`` (see ``load_task``)."""
    _require(run, CONFIG, checkpoint)
    data = instantiate(OmegaConf.load(run / CONFIG).data)
    data.setup("test")
    return data, load_task(run, checkpoint)


def batches(data: pl.LightningDataModule, split: str) -> Iterator[tuple[Tensor, Tensor]]:
    """``split``'s (``val`` | ``test``) batches in order, images as the network sees them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    loader = data.val_dataloader() if split == "val" else data.test_dataloader()
    for i, batch in enumerate(loader):
        yield data.on_after_batch_transfer(batch, i)


def first_images(data: pl.LightningDataModule, split: str, n: int) -> Tensor:
    """The first ``n`` images ``(n, C, H, W)`` of ``split``, as the network sees them."""
    images, count = [], 0
    for x, _ in batches(data, split):
        images.append(x)
        count += len(x)
        if count >= n:
            break
    return torch.cat(images)[:n]


@torch.no_grad()
def predictions(data: pl.LightningDataModule, task: Classification, split: str) -> Tensor:
    """The class ``task`` predicts for each sample of ``split``, in order: ``(N,)``."""
    return torch.cat([task(x).argmax(-1) for x, _ in batches(data, split)])
