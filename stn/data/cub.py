"""CUB-200-2011 (Table 3) as a LightningDataModule: the official train/test split, a
validation split held out of the training images per class, and images decoded in worker
processes straight to the input size.

Every image is resized to ``size × size`` (the whole bird stays in view, which the parts
need); training images are also flipped left–right at random. Batches carry the bird's
bounding box (``Batch.box``, normalised coordinates), for evaluating where the STs attend;
never for training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from stn.data.batches import Batch
from stn.data.cub_metadata import CUBMetadata, read_cub_metadata
from stn.data.datamodule import SplitDataModule
from stn.data.options import CubOptions
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


def image_problem(path: Path) -> str | None:
    """Why the image at ``path`` cannot be read, found cheaply (missing, empty, not an image,
    a JPEG without its end marker: cut short), or ``None``."""
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty"
        with Image.open(path) as image:  # reads the header only
            kind = image.format
        if kind == "JPEG":
            with path.open("rb") as file:
                file.seek(max(0, size - 1024))
                if b"\xff\xd9" not in file.read():
                    return "a JPEG cut short (no end marker)"
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as err:
        return f"not a readable image ({err})"
    return None


def check_images(paths: list[Path]) -> None:
    """Refuse, before any training, images that ``image_problem`` finds, naming them."""
    problems = [(p, why) for p in paths if (why := image_problem(p)) is not None]
    if problems:
        listed = "; ".join(f"{p}: {why}" for p, why in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise UsageError(
            f"{len(problems)} of the {len(paths)} CUB images this run reads cannot be read: "
            f"{listed}{more}. Re-extract CUB_200_2011.tgz (python -m stn.data.download cub)"
        )


class CUBImages(Dataset):
    """The images ``rows`` of ``meta`` at ``size`` px, flipped at random if ``flip``, as uint8
    (a quarter of float32's bytes to pass from the worker processes)."""

    def __init__(self, meta: CUBMetadata, rows: Tensor, size: int, flip: bool) -> None:
        self.meta, self.rows, self.size, self.flip = meta, rows, size, flip

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> Batch:
        row = int(self.rows[i])
        image, (width, height) = load_image(self.meta.paths[row], self.size)
        x, y, w, h = self.meta.boxes[row].tolist()
        corners = torch.tensor([x / width, y / height, (x + w) / width, (y + h) / height])
        box = 2 * corners - 1  # normalised coordinates, as the STs' θs use
        if self.flip and torch.rand(()) < 0.5:
            image, box = image.flip(-1), box[[2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1])
        return Batch(image, self.meta.labels[row], box)


def stratified_split(labels: Tensor, size: int, seed: int) -> tuple[Tensor, Tensor]:
    """Row indices ``(train, val)`` of ``labels``: about ``size`` rows held out for
    validation, the same fraction of each class (at least one image of a class with two or
    more), chosen by ``seed``."""
    fraction = size / len(labels)
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
    """CUB-200-2011 from ``<data_dir>/CUB_200_2011`` as distributed (``stn.data.datamodule``
    gives the common arguments; ``val_size`` images are held out of the official training
    images, the same fraction of each class; CUB keeps nothing in ``cache_dir``).

    Args:
        size: input size, 224 or 448 (the paper's two).
    """

    num_classes = 200

    Options = CubOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.root = self.data_dir / "CUB_200_2011"
        self.size = self.options.size
        self.image_shape = (3, self.size, self.size)

    def setup(self, stage: str | None = None) -> None:
        if self.sets:
            return
        meta = read_cub_metadata(self.root)
        rows = torch.arange(len(meta.ids))
        train_rows, test_rows = rows[meta.train][: self.subset], rows[~meta.train][: self.subset]
        # Every image of every split, checked now: not mid-epoch in a loader, nor after training.
        check_images([meta.paths[i] for i in torch.cat([train_rows, test_rows]).tolist()])
        labels = meta.labels[train_rows]
        self.options.check_val_size(len(labels), f"training images in {self.root}")
        train, val = stratified_split(labels, self.val_size, self.seed)
        self.sets = {
            "train": CUBImages(meta, train_rows[train], self.size, flip=True),
            "val": CUBImages(meta, train_rows[val], self.size, flip=False),
            "test": CUBImages(meta, test_rows, self.size, flip=False),
        }
