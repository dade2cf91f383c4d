"""A finished run, loaded back: its data module (set up) and its trained network.

Only data is read from a run folder: ``config.yaml`` as YAML (its dataset rebuilt through
``stn.data.registry``, by name) and the checkpoint with ``weights_only`` (its network rebuilt
through ``stn.models``). Nothing a run folder names is imported or run. A record
(``stn.runs.record``) loads the same way: its weights, checked against their SHA-256, and its
data from this machine's data folder, as ``stn.runs.verify`` reads them.
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
from stn.paths import default_data_dir, project_root
from stn.runs.folder import BEST, CONFIG, is_record
from stn.tasks.checkpoints import upgrade
from stn.tasks.classification import Classification

SPLITS = ("val", "test")


def _require(run: Path, *names: str) -> None:
    for name in names:
        if not (run / name).exists():
            raise MissingData(f"{run / name} is missing: is {run} a finished run folder?")


def load_task(run: Path, checkpoint: str = BEST) -> Classification:
    """``run``'s ``checkpoint`` (``folder.BEST`` or ``folder.LAST``), eager, on the CPU in
    eval mode (checkpoints of older versions through ``stn.tasks.checkpoints.upgrade``); a
    record's weights (the best checkpoint's, the only ones it keeps)."""
    if is_record(run):
        return _record_task(run, checkpoint)
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


def _record_task(record: Path, checkpoint: str) -> Classification:
    from stn.models.zoo import load_record, read_record

    if checkpoint != BEST:
        raise UsageError(f"{record} is a record: it keeps the best weights only, not {checkpoint}")
    config, facts, _ = read_record(record)
    shape = facts["network"]
    with torch.device("meta"):  # its network is replaced by the record's: built for free
        task = Classification(
            config["model"],
            config["stn"],
            config["schedule"],
            shape["in_shape"],
            shape["num_classes"],
        )
    task.net = load_record(record)
    return task.eval()


def load_data(
    run: Path, data_dir: Path | None = None, cache_dir: Path | None = None
) -> SplitDataModule:
    """``run``'s data module, set up, from its ``config.yaml`` read as data. A record's data
    is read from ``data_dir`` (default: as ``train.py``) and its generated test sets cached in
    ``cache_dir`` (default: ``data/cache``), never downloaded: the folders it names are the
    recording machine's."""
    _require(run, CONFIG)
    config = read_yaml(run / CONFIG)["data"]
    if is_record(run):
        data_dir = data_dir or default_data_dir()
        cache_dir = cache_dir or project_root() / "data" / "cache"
        config = dict(config, data_dir=str(data_dir), cache_dir=str(cache_dir), download=False)
    data = create_datamodule(config)
    data.setup("test")
    return data


def load(
    run: Path, checkpoint: str = BEST, data_dir: Path | None = None, cache_dir: Path | None = None
) -> tuple[SplitDataModule, Classification]:
    """``run``'s data module, set up, and its ``checkpoint`` (see ``load_data``, ``load_task``):
    the checkpoint first, so that a wrong one is said before the data is read or made."""
    task = load_task(run, checkpoint)
    return load_data(run, data_dir, cache_dir), task


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
