"""Sweeps that survive: finished runs are skipped, killed runs resume where they were."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from fake_mnist import write_fake_mnist
from test_train import ROOT, _compose

from stn.train import train

SHORT = ["trainer.max_steps=2", "trainer.max_epochs=-1", "+trainer.limit_val_batches=1"]


def test_a_finished_run_is_skipped_and_resume_false_retrains(fake_data):
    cfg = _compose(SHORT, fake_data)
    first = train(cfg)
    out = fake_data / "out"
    stamp = (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    assert train(cfg) == first  # skipped: returns the recorded metric
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stamp
    cfg.resume = False
    train(cfg)
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns != stamp
    assert json.loads((out / "metrics.json").read_text())["val/err"] == first


def _train(tmp_path, name):
    """``python train.py`` for 6 short epochs on generated MNIST, in folder ``name``."""
    cmd = [
        *(sys.executable, "train.py", "experiment=mnist_rts", "schedule.max_epochs=6"),
        *("data.val_size=200", "data.subset=1500", f"paths.cache_dir={tmp_path / 'cache'}"),
        f"hydra.run.dir={tmp_path / name}",
    ]
    env = {**os.environ, "STN_DATA_DIR": str(tmp_path / "data")}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, **quiet)


def test_a_killed_run_resumes_to_the_same_result(tmp_path):
    write_fake_mnist(tmp_path / "data", n_train=1500, n_test=200)
    assert _train(tmp_path, "whole").wait(timeout=600) == 0

    run = _train(tmp_path, "killed")
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    while not last.exists() and run.poll() is None:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)  # a crash, right after the first epoch's checkpoint
    run.wait()
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (tmp_path / "killed" / "metrics.json").exists()
    assert torch.load(last, weights_only=True)["epoch"] < 5

    resumed = _train(tmp_path, "killed")  # the same command again
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()[-3000:]
    log = (tmp_path / "killed" / "train.log").read_text()
    assert f"Restoring states from the checkpoint path at {last}" in log
    whole, killed = (
        json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("whole", "killed")
    )
    assert killed == whole
    steps = [
        torch.load(tmp_path / n / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        for n in ("whole", "killed")
    ]
    assert steps[0] == steps[1] > 0


def test_train_false_evaluates_a_checkpoint_and_refuses_wrong_ones(fake_data):
    cfg = _compose(SHORT, fake_data)
    train(cfg)
    trained = json.loads((fake_data / "out" / "metrics.json").read_text())
    best = fake_data / "out" / "checkpoints" / "best.ckpt"

    def evaluate(*overrides):
        cfg = _compose(["train=false", *overrides], fake_data)
        cfg.paths.output_dir = str(fake_data / "eval")
        return train(cfg)

    assert evaluate(f"ckpt_path={best}") == trained["test/err"]
    assert (
        json.loads((fake_data / "eval" / "metrics.json").read_text())["test/err"]
        == (trained["test/err"])
    )
    assert list((fake_data / "eval" / "tensorboard").glob("events.*"))
    with pytest.raises(ValueError, match="pass ckpt_path"):
        evaluate()
    with pytest.raises(ValueError, match=r"trained with model=.*'cnn'.*this run has model="):
        evaluate(f"ckpt_path={best}", "model=fcn")
    with pytest.raises(ValueError, match="trained with stn="):
        evaluate(f"ckpt_path={best}", "stn=tps")
    corrupt = fake_data / "corrupt.ckpt"
    corrupt.write_bytes(best.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        evaluate(f"ckpt_path={corrupt}")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        evaluate(f"ckpt_path={fake_data / 'missing.ckpt'}")


def test_last_checkpoint_is_saved_every_epoch_even_without_improvement(fake_data):
    # lr 0: val/err never improves after epoch 0, so best.ckpt stays there; last.ckpt must not.
    cfg = _compose(["schedule.lr=0", "schedule.max_epochs=3", "test=false"], fake_data)
    train(cfg)
    load = lambda name: torch.load(  # noqa: E731
        fake_data / "out" / "checkpoints" / f"{name}.ckpt", weights_only=True
    )
    assert (load("best")["epoch"], load("last")["epoch"]) == (0, 2)
    assert load("last")["global_step"] == 3 * 2  # 300 training digits: 2 batches per epoch
