"""Sweeps that survive: finished runs are skipped, killed runs resume where they were."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from fake_mnist import write_fake_mnist
from helpers import ROOT, SHORT, compose, start, train_into

from stn.train import train


def test_a_finished_run_is_skipped_and_resume_false_retrains(fake_data):
    cfg = compose(SHORT, fake_data)
    first = train(cfg)
    out = fake_data / "out"
    stamp = (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    assert train(cfg) == first  # skipped: returns the recorded metric
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns == stamp
    cfg.resume = False
    train(cfg)
    assert (out / "checkpoints" / "last.ckpt").stat().st_mtime_ns != stamp
    assert json.loads((out / "metrics.json").read_text())["val/err"] == first


def test_a_folder_of_another_configuration_is_neither_skipped_nor_resumed(fake_data):
    from stn.errors import UsageError

    train(compose(SHORT, fake_data))
    out = fake_data / "out"
    other = compose([*SHORT, "schedule.lr=0.001"], fake_data)
    said = r"holds a run of another configuration \(schedule.lr: 0.003 → 0.001\): give resume="
    with pytest.raises(UsageError, match=said):
        train(other)  # not skipped as finished
    (out / "metrics.json").unlink()  # as if killed after its last checkpoint
    with pytest.raises(UsageError, match=said):
        train(other)  # not resumed
    other.resume = False
    train(other)
    assert "lr: 0.001" in (out / "config.yaml").read_text()
    assert train(other) == json.loads((out / "metrics.json").read_text())["val/err"]  # skipped


# 6 short epochs on generated MNIST: as a command (``helpers.start``) or here (``_config``).
SIX_EPOCHS = [
    "experiment=mnist_rts",
    "schedule.max_epochs=6",
    "data.val_size=200",
    "data.subset=1500",
]


def _config(tmp_path, name):
    """The config ``start(tmp_path, tmp_path / name, *SIX_EPOCHS)`` runs, to train in this
    process into folder ``name``."""
    cfg = compose(SIX_EPOCHS, tmp_path)
    cfg.paths.output_dir = str(tmp_path / name)
    return cfg


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_a_killed_run_resumes_to_the_same_result(tmp_path, caplog):
    write_fake_mnist(tmp_path / "data", n_train=1500, n_test=200)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    run = start(tmp_path, tmp_path / "killed", *SIX_EPOCHS, **quiet)
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    while not last.exists() and run.poll() is None:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)  # a crash, right after the first epoch's checkpoint
    _, err = run.communicate()
    assert run.returncode == -signal.SIGKILL, f"the run ended before it was killed: {err[-3000:]}"
    assert not (tmp_path / "killed" / "metrics.json").exists()
    assert torch.load(last, weights_only=True)["epoch"] < 5

    # The same run again (the command's config, recorded in its folder, must match it),
    # then once more without a break.
    caplog.set_level(logging.INFO, logger="stn.train")
    train(_config(tmp_path, "killed"))
    assert f"resuming from {last}" in caplog.messages
    train(_config(tmp_path, "whole"))
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
    cfg = compose(SHORT, fake_data)
    train(cfg)
    trained = json.loads((fake_data / "out" / "metrics.json").read_text())
    best = fake_data / "out" / "checkpoints" / "best.ckpt"

    def evaluate(*overrides):
        cfg = compose(["train=false", *overrides], fake_data)
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
    cfg = compose(["schedule.lr=0", "schedule.max_epochs=3", "test=false"], fake_data)
    train(cfg)
    load = lambda name: torch.load(  # noqa: E731
        fake_data / "out" / "checkpoints" / f"{name}.ckpt", weights_only=True
    )
    assert (load("best")["epoch"], load("last")["epoch"]) == (0, 2)
    assert load("last")["global_step"] == 3 * 2  # 300 training digits: 2 batches per epoch


@pytest.mark.slow  # its parts run by default: test_report, test_train's folder test, below
def test_a_smoke_run_never_stands_in_for_the_full_run(fake_data):
    # The other smoke options name their folders as this one does (test_train's folder test).
    from stn.runs.report import report

    smoke = "trainer.fast_dev_run=true"
    env = {**os.environ, "STN_DATA_DIR": str(fake_data / "data")}
    full = ["schedule.max_epochs=1", "data.val_size=100", f"paths.cache_dir={fake_data / 'c'}"]

    def run(*overrides):
        cmd = [sys.executable, "train.py", "-m", *full, *overrides]
        cmd.append(f"hydra.sweep.dir={fake_data / 'multi'}")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout + done.stderr

    assert "smoke or partial run" in run(smoke)
    assert "finished already" not in run()  # the full command trains
    folders = {p.name for p in (fake_data / "multi" / "mnist_rts").iterdir()}
    full_folder = "data.val_size=100,schedule.max_epochs=1"
    (smoke_folder,) = folders - {full_folder}  # the smoke run is named by its option
    assert smoke.lstrip("+").split("=")[0] in smoke_folder
    for folder in folders:
        assert (fake_data / "multi" / "mnist_rts" / folder / "metrics.json").exists()
    text, rows = report([fake_data / "multi"])
    (cell,) = [r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS")]
    assert cell["n"] == 1  # the full run alone
    assert "### Smoke and partial runs (in no table)" in text and smoke_folder in text


def test_a_smoke_run_left_in_a_full_runs_folder_is_trained_over(fake_data):
    # Before smoke runs had folders of their own, one could sit where the full run goes.
    steps = ["trainer.max_steps=2", "trainer.max_epochs=-1"]
    train(compose([*steps, "trainer.fast_dev_run=true"], fake_data))
    out = fake_data / "out"
    assert (out / "metrics.json").exists()
    full = compose(steps, fake_data)
    train(full)
    state = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 2  # trained, not skipped
    assert train(full) == json.loads((out / "metrics.json").read_text())["val/err"]  # now skipped


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_one_writer_per_run_folder_and_a_dead_writers_lock_is_taken_over(fake_data, caplog):
    out = fake_data / "run"

    def launch(*overrides, **popen):
        return start(fake_data, out, "data.val_size=100", *overrides, **popen)

    first = launch("schedule.max_epochs=100", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = out / "LOCK"
    while not (out / "checkpoints" / "last.ckpt").exists() and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended too soon"
    assert json.loads(lock.read_text())["pid"] == first.pid

    second = launch("schedule.max_epochs=100", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = second.communicate(timeout=120)
    assert second.returncode != 0
    assert f"is in use by process {first.pid} on" in err
    assert first.poll() is None and not (out / "FAILED").exists()  # the first goes on
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert json.loads(lock.read_text())["pid"] == first.pid  # left behind by the dead one

    # The same folder again, trained afresh (the killed run may be past its steps): the
    # lock is taken over.
    caplog.set_level(logging.WARNING, logger="stn.runs.lock")
    train_into(fake_data, "run", "resume=false")
    assert f"taking over {lock}, left by process {first.pid}, which is gone" in caplog.messages
    assert (out / "metrics.json").exists() and not lock.exists()


@pytest.mark.parametrize("model", ["cnn", "fcn"])
def test_a_checkpoint_from_before_an_option_existed_has_the_value_it_was_trained_with(model):
    """``model.padding`` and ``stn.downsample`` came after runs were checkpointed: an old
    checkpoint's hyperparameters read as today's defaults, so it resumes and evaluates
    (``stn.train.check_checkpoint`` compares them whole). The FCN gets no padding."""
    from omegaconf import OmegaConf

    from stn.tasks.checkpoints import upgrade

    cfg = OmegaConf.to_container(compose(["experiment=mnist_rts", f"model={model}"]), resolve=True)
    today = {"model": cfg["model"], "stn": cfg["stn"]}
    old = {
        "model": {k: v for k, v in cfg["model"].items() if k != "padding"},
        "stn": {k: v for k, v in cfg["stn"].items() if k != "downsample"},
    }
    assert old != today and ("padding" in cfg["model"]) == (model == "cnn")
    assert upgrade({"hyper_parameters": old})["hyper_parameters"] == today
