"""Every experiment config composes and trains end to end (fast_dev_run) on generated MNIST."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fake_mnist import write_fake_mnist
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from stn.tasks.classification import Classification
from stn.train import CONFIGS, train

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))


def _compose(overrides, tmp_path=None):
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    if tmp_path is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / "out")
            cfg.paths.data_dir = str(tmp_path / "data")
            cfg.paths.cache_dir = str(tmp_path / "cache")
            cfg.data.val_size = 100
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra  # as @hydra.main passes it to the task
    return cfg


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    monkeypatch.delenv("STN_DATA_DIR", raising=False)
    write_fake_mnist(tmp_path / "data")
    return tmp_path


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("model", ["fcn", "cnn"])
@pytest.mark.parametrize("stn", ["none", "affine", "projective", "tps"])
def test_every_table_cell_composes(experiment, model, stn):
    cfg = _compose([f"experiment={experiment}", f"model={model}", f"stn={stn}"])
    assert cfg.task_name == experiment and cfg.model.name == model
    assert cfg.stn.transform == stn


def test_experiments_cover_the_paper():
    assert EXPERIMENTS == [
        "mnist_addition",
        "mnist_e",
        "mnist_p",
        "mnist_r",
        "mnist_rts",
        "mnist_tc",
    ]


@pytest.mark.parametrize(
    "overrides",
    [[f"experiment={e}"] for e in EXPERIMENTS]
    + [
        ["experiment=mnist_rts", "model=fcn", "stn=tps"],
        ["experiment=mnist_addition", "stn.n=2", "stn=projective"],
    ],
    ids=lambda o: ",".join(o),
)
def test_fast_dev_run(fake_data, overrides):
    cfg = _compose([*overrides, "trainer.fast_dev_run=true"], fake_data)
    val_err = train(cfg)
    assert 0 <= val_err <= 100
    assert list((fake_data / "out" / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoints_load_with_weights_only_and_resume(fake_data):
    overrides = [
        "experiment=mnist_rts",
        "stn=tps",
        "trainer.max_steps=2",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "test=false",
    ]
    train(_compose(overrides, fake_data))
    last = fake_data / "out" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    assert state["global_step"] == 2
    model = Classification(**state["hyper_parameters"])
    model.load_state_dict(state["state_dict"])
    resumed = _compose(
        [*overrides, "trainer.max_steps=4", "trainer.max_epochs=-1", f"ckpt_path={last}"], fake_data
    )
    train(resumed)
    assert torch.load(last, weights_only=True)["global_step"] == 4


def test_a_failing_job_does_not_stop_a_multirun(fake_data):
    env = {**os.environ, "STN_DATA_DIR": str(fake_data / "data")}
    cmd = [
        sys.executable,
        "train.py",
        "-m",
        "data.val_size=100,100000",
        "trainer.fast_dev_run=true",
        f"paths.cache_dir={fake_data / 'cache'}",
        f"hydra.sweep.dir={fake_data / 'multi'}",
    ]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = {p.name: p for p in (fake_data / "multi").iterdir() if p.is_dir()}
    assert set(runs) == {"data.val_size=100", "data.val_size=100000"}
    assert (runs["data.val_size=100000"] / "FAILED").exists()
    assert not (runs["data.val_size=100"] / "FAILED").exists()
    assert list((runs["data.val_size=100"] / "tensorboard").glob("events.*"))


def test_default_run_on_real_mnist(mnist_root, tmp_path):
    cfg = _compose(
        [
            "trainer.fast_dev_run=true",
            f"paths.data_dir={mnist_root}",
            "data.subset=3000",
            "data.val_size=500",
        ]
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
        cfg.paths.cache_dir = str(tmp_path / "cache")
    assert not math.isnan(train(cfg))


def test_unknown_values_fail_before_any_work():
    with pytest.raises(Exception, match="mnist_x"):
        _compose(["experiment=mnist_x"])
    with pytest.raises(ValueError, match="valid: fcn, cnn"):
        from stn.nn.models.mnist import build_mnist_model

        build_mnist_model({"name": "mlp"}, {"transform": "none"}, (1, 28, 28), 10)
