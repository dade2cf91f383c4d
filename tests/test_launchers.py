"""Beyond one process: DDP on 2 CPU processes, joblib's parallel jobs, SLURM and Optuna configs."""

import json
import math

import pytest
import torch
from helpers import compose, multirun
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from stn.hardware import usable_cores


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_ddp_trains_on_two_cpu_processes(fake_data):
    # 300 training digits = 2 batches of 256 per epoch: each of the 2 processes takes one.
    multirun(
        fake_data,
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.precision=32-true",
        "schedule.max_epochs=3",
        "data.val_size=100",
        "+trainer.enable_progress_bar=false",
    )
    (run,) = (fake_data / "multi" / "mnist_rts").iterdir()
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["global_step"] == 3  # one step per epoch: the batches were shared
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["test/err"] <= 100 and not math.isnan(metrics["val/err"])


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_joblib_runs_jobs_in_parallel_processes(fake_data):
    multirun(
        fake_data,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "seed=1,2",
        "trainer.fast_dev_run=true",
        "data.val_size=100",
    )
    runs = sorted(p.name for p in (fake_data / "multi" / "mnist_rts").iterdir())
    smoke = "trainer.fast_dev_run=True"  # smoke runs are named as such
    assert runs == [f"data.val_size=100,seed=1,{smoke}", f"data.val_size=100,seed=2,{smoke}"]
    share = max(1, usable_cores() // 2)  # two jobs at once share the cores
    for run in runs:
        assert (fake_data / "multi" / "mnist_rts" / run / "metrics.json").exists()
        assert (
            OmegaConf.load(fake_data / "multi" / "mnist_rts" / run / "config.yaml").threads == share
        )


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_optuna_sweep_minimises_the_validation_error(fake_data):
    multirun(
        fake_data,
        "+sweep=optuna",
        "hydra.sweeper.n_trials=3",
        "schedule.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "+trainer.limit_val_batches=1",
        "data.val_size=100",
    )
    best = OmegaConf.load(fake_data / "multi" / "optimization_results.yaml")
    assert set(best.best_params) == {"schedule.lr", "schedule.loc_lr_factor", "schedule.batch_size"}
    runs = list((fake_data / "multi" / "mnist_rts").iterdir())
    assert len(runs) == 3
    metrics = [json.loads((run / "metrics.json").read_text()) for run in runs]
    assert best.best_value == min(m["val/err"] for m in metrics)
    assert all(set(m) == {"val/err"} for m in metrics)  # the test set is never touched


def test_slurm_launcher_config_composes():
    cfg = compose(["hydra/launcher=slurm", "trainer=gpu"])
    launcher = HydraConfig.get().launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.gpus_per_node == 1 and launcher.timeout_min > 0
    assert cfg.trainer.accelerator == "gpu"
