"""A finished run, loaded back: its data module (set up) and its trained network.

Only data is read from a run folder: ``config.yaml`` as YAML (its dataset rebuilt through
``stn.data.registry``, by name) and the checkpoint with ``weights_only`` (its network rebuilt
through ``stn.models``). Nothing a run folder names is imported or run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from stn.data.batches import Batch
from stn.data.datamodule import SplitDataModule
from stn.data.registry import create_datamodule
from stn.errors import MissingData, UsageError
from stn.files import read_yaml
from stn.runs.folder import BEST, CONFIG
from stn.tasks.checkpoints import upgrade
from stn.tasks.classification import Classification

SPLITS = ("val", "test")


def _require(run: Path, *names: str) -> None:
    for name in names:
        if not (run / name).exists():
            raise MissingData(f"{run / name} is missing: is {run} a finished run folder?")


def load_task(run: Path, checkpoint: str = BEST) -> Classification:
    """``run``'s ``checkpoint`` (``folder.BEST`` or ``folder.LAST``), eager, on the CPU in
    eval mode (checkpoints of older versions through ``stn.tasks.checkpoints.upgrade``)."""
    _require(run, checkpoint)
    try:
        state = torch.load(run / checkpoint, map_location="cpu", weights_only=True)
        hparams = upgrade(state)["hyper_parameters"]
    except Exception as err:
        raise UsageError(
            f"{run / checkpoint} is not a readable checkpoint of this suite "
            f"({type(err).__name__}: {err}); it may be truncated or from another program"
        ) from err
    task = Classification(**{**hparams, "compile": False})
    task.load_state_dict(state["state_dict"])
    return task.eval()


def load_data(run: Path) -> SplitDataModule:
    """``run``'s data module, set up, from its ``config.yaml`` read as data."""
    _require(run, CONFIG)
    config = read_yaml(run / CONFIG)
    data = create_datamodule(config["data"])
    data.setup("test")
    return data


def load(run: Path, checkpoint: str = BEST) -> tuple[SplitDataModule, Classification]:
    """``run``'s data module, set up, and its ``checkpoint`` (see ``load_task``)."""
    return load_data(run), load_task(run, checkpoint)


def batches(data: SplitDataModule, split: str) -> Iterator[Batch]:
    """``split``'s (``val`` | ``test``) batches in order, images as the network sees them."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    loader = data.val_dataloader() if split == "val" else data.test_dataloader()
    for i, batch in enumerate(loader):
        yield data.on_after_batch_transfer(batch, i)


def first_images(data: SplitDataModule, split: str, n: int) -> Tensor:
    """The first ``n`` images ``(n, C, H, W)`` of ``split``, as the network sees them."""
    images, count = [], 0
    for batch in batches(data, split):
        images.append(batch.image)
        count += len(batch.image)
        if count >= n:
            break
    return torch.cat(images)[:n]


@torch.no_grad()
def predictions(data: SplitDataModule, task: Classification, split: str) -> Tensor:
    """The class ``task`` predicts for each sample of ``split``, in order: ``(N,)``."""
    return torch.cat([task(batch.image).argmax(-1) for batch in batches(data, split)])
