"""A finished run, loaded back: its data module (set up) and its trained network."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor

from stn.runs import BEST, CONFIG
from stn.tasks.classification import Classification

SPLITS = ("val", "test")


def load(run: Path, checkpoint: str = BEST) -> tuple[pl.LightningDataModule, Classification]:
    """``run``'s data module, set up, and its ``checkpoint`` (``runs.BEST`` or ``runs.LAST``)
    on the CPU in eval mode."""
    for name in (CONFIG, checkpoint):
        if not (run / name).exists():
            raise FileNotFoundError(f"{run / name} is missing: is {run} a finished run folder?")
    data = instantiate(OmegaConf.load(run / CONFIG).data)
    data.setup("test")
    task = Classification.load_from_checkpoint(
        run / checkpoint, map_location="cpu", weights_only=True
    )
    return data, task.eval()


def first_images(data: pl.LightningDataModule, split: str, n: int) -> Tensor:
    """The first ``n`` images ``(n, C, H, W)`` of ``split`` (``val`` | ``test``), as the
    network sees them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    loader = data.val_dataloader() if split == "val" else data.test_dataloader()
    images, count = [], 0
    for i, batch in enumerate(loader):
        images.append(data.on_after_batch_transfer(batch, i)[0])
        count += len(images[-1])
        if count >= n:
            break
    return torch.cat(images)[:n]
