"""SVHN end to end: the DataModule's splits, the sequence metrics, every Table 2 experiment
with fast_dev_run on a generated SVHN in the archives' layout, and the Table 2 sweep."""

import csv

import pytest
import torch
import torch.nn.functional as F
from helpers import compose, multirun

from stn.data.svhn import MultiDigitSVHN
from stn.runs.report import main as report
from stn.tasks.classification import Classification
from stn.train import train

SMALL = ["schedule.batch_size=8", "data.val_size=6"]


def _common(root):
    return {"data_dir": root / "data", "cache_dir": root / "cache", "batch_size": 8}


def _datamodule(root, **kwargs):
    data = MultiDigitSVHN(**_common(root), val_size=6, **kwargs)
    data.setup()
    return data


def test_splits_hold_every_kept_record_once(fake_svhn):
    root, records = fake_svhn
    data = _datamodule(root)
    kept = {s: [r for r in records[s] if len(r[1]) <= 5] for s in records}
    assert len(data.sets["train"]) + len(data.sets["val"]) == len(kept["train"] + kept["extra"])
    assert len(data.sets["val"]) == 6 and len(data.sets["test"]) == len(kept["test"])
    train_rows, val_rows = data.sets["train"].rows, data.sets["val"].rows
    assert not set(train_rows.tolist()) & set(val_rows.tolist())
    x, y, _ = data.on_after_batch_transfer(data.sets["test"][list(range(3))], 0)
    assert x.shape == (3, 3, 64, 64) and x.dtype == torch.float32 and 0 <= x.min() <= x.max() <= 1
    for row, (_, boxes) in zip(y, kept["test"][:3], strict=True):
        digits = torch.as_tensor(boxes[:, 0].astype(int) % 10)
        assert torch.equal(row[: len(digits)], digits) and (row[len(digits) :] == 10).all()
    # The same seed gives the same validation split; another seed another one.
    assert torch.equal(_datamodule(root).sets["val"].rows, val_rows)
    assert not torch.equal(_datamodule(root, seed=1).sets["val"].rows, val_rows)
    assert len(_datamodule(root, train_splits=["train"]).sets["train"]) == len(kept["train"]) - 6


def test_bad_settings_say_which_and_what_is_valid(fake_svhn, tmp_path):
    root, records = fake_svhn
    n = sum(len(boxes) <= 5 for s in ("train", "extra") for _, boxes in records[s])
    with pytest.raises(ValueError, match=r"data\.size=96 must be one of 64, 128"):
        MultiDigitSVHN(**_common(root), val_size=6, size=96)
    with pytest.raises(ValueError, match="train and/or extra"):
        MultiDigitSVHN(**_common(root), val_size=6, train_splits=["test"])
    with pytest.raises(ValueError, match=rf"data\.val_size={n} must lie in \(0, {n}\)"):
        MultiDigitSVHN(**_common(root), val_size=n).setup()
    with pytest.raises(FileNotFoundError, match=r"housenumbers/train\.tar\.gz"):
        train(compose(["experiment=svhn_multi", *SMALL], tmp_path / "empty"))


def test_sequence_error_and_digit_accuracy_exactly():
    y = torch.tensor([[1, 9, 10, 10, 10], [2, 1, 0, 10, 10], [5, 10, 10, 10, 10]])
    guess = y.clone()
    guess[1, 2] = 7  # a wrong digit: the second number is wrong
    guess[2, 1] = 3  # a digit where there is none: the third is wrong, its digits right
    logits = F.one_hot(guess, 11).float() * 5
    metrics = Classification.errors(logits, y)
    assert metrics["err"] == pytest.approx(200 / 3)
    assert metrics["digit_acc"] == pytest.approx(100 * 5 / 6)  # 6 true digits, 1 misread
    # The loss is the sum of the 5 heads' cross-entropies, averaged over the batch.
    heads = sum(F.cross_entropy(logits[:, i], y[:, i]) for i in range(5))
    torch.testing.assert_close(Classification.loss(logits, y), heads)
    # A digit classifier is a sequence of one: plain cross-entropy and error.
    torch.testing.assert_close(
        Classification.loss(logits[:, 0], y[:, 0]), F.cross_entropy(logits[:, 0], y[:, 0])
    )
    assert Classification.errors(logits[:, 1], y[:, 1]) == {"err": pytest.approx(100 / 3)}


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=svhn_cnn"],
        ["experiment=svhn_single"],
        ["experiment=svhn_multi"],
        pytest.param(["experiment=svhn_multi", "data.size=128", "stn=tps"], marks=pytest.mark.slow),
        ["experiment=svhn_single", "stn=projective"],
    ],
    ids=lambda o: ",".join(o),
)
def test_fast_dev_run(fake_svhn, overrides):
    root, _ = fake_svhn
    cfg = compose([*overrides, *SMALL, "trainer.fast_dev_run=true"], root)
    assert 0 <= train(cfg) <= 100
    assert list((root / "out" / "tensorboard").glob("events.out.tfevents.*"))


def test_placement_from_the_config(fake_svhn):
    root, _ = fake_svhn
    cfg = compose(["experiment=svhn_multi", "model.placement=[1,3]", *SMALL], root)
    task = Classification(cfg.model, cfg.stn, cfg.schedule, [3, 64, 64], 11)
    kinds = [type(m).__name__ for m in task.net.features]
    assert [i for i, k in enumerate(kinds) if k == "SpatialTransformer"] == [1, 4]  # conv 1, 3
    for placement, message in (
        ("everywhere", r"unknown model\.placement='everywhere'; valid"),
        ("cnn", r"unknown model\.placement='cnn'; .* \(the CNN has no STs: stn=none\)"),
    ):
        cfg = compose(["experiment=svhn_multi", f"model.placement={placement}", *SMALL], root)
        with pytest.raises(ValueError, match=message):
            train(cfg)
    with pytest.raises(ValueError, match=r"placement=\[8\]: ST positions must be conv layers 0–7"):
        train(compose(["experiment=svhn_multi", "model.placement=[8]", *SMALL], root))


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_table2_sweep_fills_the_table(fake_svhn):
    root, _ = fake_svhn
    # Full runs (one epoch of the tiny data; narrow layers): smoke runs stay out of tables.
    narrow = ["model.hidden=64", "model.channels=[8,8,8,8,8,8,8,8]"]
    multirun(root, "+sweep=table2", *SMALL, *narrow, "schedule.max_epochs=1")
    runs = sorted(p.relative_to(root / "multi") for p in (root / "multi").glob("*/*"))
    assert len(runs) == 6 and not list((root / "multi").glob("*/*/FAILED"))
    report([str(root / "multi"), "--tables", "table2", "--out", str(root / "report")])
    with open(root / "report" / "report.csv") as f:
        cells = {(r["row"], r["column"]): r for r in csv.DictReader(f) if r["table"] == "table2"}
    assert len(cells) == 6 and all(r["n"] == "1" for r in cells.values())
    assert 0 <= float(cells["ST-CNN Multi", "128px"]["mean"]) <= 100


def test_tensorboard_shows_every_transformer_and_the_digit_accuracy(fake_svhn):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root, _ = fake_svhn
    short = ["trainer.max_epochs=1", "+trainer.limit_train_batches=2"]
    train(compose(["experiment=svhn_multi", *SMALL, *short, "+trainer.limit_val_batches=1"], root))
    events = EventAccumulator(str(root / "out" / "tensorboard"), size_guidance={"images": 0})
    tags = events.Reload().Tags()
    assert {"val/err", "val/digit_acc", "test/err", "test/digit_acc"} <= set(tags["scalars"])
    assert {f"st{k}/input_grid_output" for k in range(4)} <= set(tags["images"])
    # Two rows of the 6 validation images (64 px): the grids, and the images as each ST
    # resamples them.
    for k in range(4):
        image = events.Images(f"st{k}/input_grid_output")[-1]
        assert (image.height, image.width) == (2 * 66 + 2, 6 * 66 + 2)


def test_fast_dev_run_on_the_real_sample(sample, tmp_path):
    # The sample's first 3 records of train and of test are the ones with their PNGs.
    for split in ("train", "test"):
        (tmp_path / "data" / "SVHN").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "SVHN" / split).symlink_to(sample / split)
    overrides = ["data.train_splits=[train]", "data.subset=3", "data.val_size=1"]
    cfg = compose(
        [
            "experiment=svhn_single",
            "schedule.batch_size=8",
            *overrides,
            "trainer.fast_dev_run=true",
        ],
        tmp_path,
    )
    assert 0 <= train(cfg) <= 100
