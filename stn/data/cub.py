"""CUB-200-2011 (Table 3) as a LightningDataModule: the official train/test split, a
validation split held out of the training images per class, and images decoded in worker
processes straight to the input size.

Every image is resized to ``size × size`` (the whole bird stays in view, which the parts
need); training images are also flipped left–right at random. Batches are ``(x, y, box)``:
images ``(B, 3, S, S)`` (uint8 from the loader, float in [0, 1] on the device), labels
``(B,)``, and the bird's bounding box ``(B, 4)`` as ``x0, y0, x1, y1`` in normalised
coordinates (for evaluating where the STs attend; never for training).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from stn.data.cub_metadata import CUBMetadata, read_cub_metadata
from stn.data.split_datamodule import SplitDataModule
from stn.errors import UsageError


def load_image(path: Path, size: int) -> tuple[Tensor, tuple[int, int]]:
    """The image at ``path`` as ``(3, size, size)`` uint8 (grayscale converted), and its
    original ``(width, height)``."""
    try:
        with Image.open(path) as image:
            original = image.size
            image = image.convert("RGB").resize((size, size), Image.BILINEAR)
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read {path} ({err}): re-extract CUB_200_2011.tgz") from err
    return torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous(), original


class CUBImages(Dataset):
    """The images ``rows`` of ``meta`` at ``size`` px, flipped at random if ``flip``, as uint8
    (a quarter of float32's bytes to pass from the worker processes)."""

    def __init__(self, meta: CUBMetadata, rows: Tensor, size: int, flip: bool) -> None:
        self.meta, self.rows, self.size, self.flip = meta, rows, size, flip

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        row = int(self.rows[i])
        image, (width, height) = load_image(self.meta.paths[row], self.size)
        x, y, w, h = self.meta.boxes[row].tolist()
        corners = torch.tensor([x / width, y / height, (x + w) / width, (y + h) / height])
        box = 2 * corners - 1  # normalised coordinates, as the STs' θs use
        if self.flip and torch.rand(()) < 0.5:
            image, box = image.flip(-1), box[[2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1])
        return image, self.meta.labels[row], box


def stratified_split(labels: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Row indices ``(train, val)`` of ``labels``: ``fraction`` of each class (at least one
    image of a class with two or more) held out for validation, chosen by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    train, val = [], []
    for c in labels.unique():
        rows = (labels == c).nonzero()[:, 0]
        rows = rows[torch.randperm(len(rows), generator=gen)]
        k = min(len(rows) - 1, max(1, round(fraction * len(rows))))
        val.append(rows[:k])
        train.append(rows[k:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


class CUB200(SplitDataModule):
    """CUB-200-2011 from ``<data_dir>/CUB_200_2011`` as distributed.

    Args:
        data_dir: holds ``CUB_200_2011/`` (``$STN_DATA_DIR`` overrides it).
        size: input size, 224 or 448 (the paper's two).
        val_fraction: of each class's training images, held out for validation.
        batch_size: training and evaluation batch size.
        workers: decoding processes per loader (default: every core).
        seed: seeds the validation split.
    """

    num_classes = 200

    def __init__(
        self,
        data_dir: str,
        size: int = 448,
        val_fraction: float = 0.1,
        batch_size: int = 32,
        workers: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not 0 < val_fraction < 1:
            raise UsageError(f"data.val_fraction must lie in (0, 1), got {val_fraction}")
        self.root = Path(data_dir) / "CUB_200_2011"
        self.size, self.val_fraction, self.batch_size = size, val_fraction, batch_size
        self.workers = os.cpu_count() if workers is None else workers
        self.seed = seed
        self.image_shape = (3, size, size)

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        meta = read_cub_metadata(self.root)
        rows = torch.arange(len(meta.ids))
        train, val = stratified_split(meta.labels[meta.train], self.val_fraction, self.seed)
        train_rows = rows[meta.train]
        self.sets = {
            "train": CUBImages(meta, train_rows[train], self.size, flip=True),
            "val": CUBImages(meta, train_rows[val], self.size, flip=False),
            "test": CUBImages(meta, rows[~meta.train], self.size, flip=False),
        }

    def on_after_batch_transfer(self, batch: list[Tensor], dataloader_idx: int) -> list[Tensor]:
        """uint8 → float in [0, 1], on the training device."""
        x, y, box = batch
        return [x.float().div_(255), y, box]
