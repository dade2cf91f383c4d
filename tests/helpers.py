"""What many tests share: composing the config as ``train.py`` does, and running
``train.py`` for real (in this process or as a command) on a generated MNIST.

(A helper module, not a test module: tests import it, never each other.)"""

from __future__ import annotations

import copy
import functools
import os
import subprocess
import sys
from pathlib import Path

import torch
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from stn.train import CONFIGS, train

ROOT = Path(__file__).resolve().parents[1]
# The real datasets beside the checkout (or where $STN_DATA_DIR points): tests only.
SHARED_DATA = Path(os.environ.get("STN_DATA_DIR") or ROOT.parent / "shared" / "data")
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
MNIST = [e for e in EXPERIMENTS if e.startswith("mnist_")]
# A full run (no smoke option) of two steps of 32 (of the generated MNIST's ten a epoch):
# what the tables take, in seconds.
SHORT = ["trainer.max_steps=2", "trainer.max_epochs=-1", "schedule.batch_size=32"]


# What a light code path (an option check, a tool's --help) must not import: seconds each.
HEAVY = ("torch", "torchvision", "pytorch_lightning", "h5py")


def in_a_fresh_process(code: str) -> list[str]:
    """The lines ``code`` prints in a new Python, then, last, the ``HEAVY`` modules it
    imported (``[]`` when none)."""
    tail = f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", code + tail], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def compose(overrides: list[str], tmp_path: Path | None = None) -> DictConfig:
    """The config ``python train.py OVERRIDES`` runs; with ``tmp_path``, its folders there
    (output ``out/``, data ``data/``, caches ``cache/``) and 100 validation samples."""
    cfg = copy.deepcopy(_composed(tuple(overrides)))
    if tmp_path is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / "out")
            cfg.paths.data_dir = str(tmp_path / "data")
            cfg.paths.cache_dir = str(tmp_path / "cache")
            if not any(o.startswith("data.val_size=") for o in overrides):
                cfg.data.val_size = 100
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra  # as @hydra.main passes it to the task
    return cfg


@functools.cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    """Hydra's composition, once per overrides (~0.3 s each; a copy costs ~0.01 s): its
    interpolations stay unresolved, so what the environment sets is read at use."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        return hydra_compose("train", overrides=list(overrides), return_hydra_config=True)


def train_into(root: Path, name: str, *overrides: str) -> Path:
    """A ``SHORT`` run with ``overrides`` on the data under ``root``, trained into
    ``root/name``."""
    cfg = compose([*SHORT, *overrides], root)
    with open_dict(cfg):
        cfg.paths.output_dir = str(root / name)
    train(cfg)
    return root / name


def multirun(fake_data: Path, *overrides: str) -> None:
    """``python train.py -m OVERRIDES`` on the generated MNIST, swept into ``multi/``."""
    env = {**os.environ, "STN_DATA_DIR": str(fake_data / "data")}
    cmd = [
        *(sys.executable, "train.py", "-m", *overrides),
        f"paths.cache_dir={fake_data / 'cache'}",
        f"hydra.sweep.dir={fake_data / 'multi'}",
    ]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


def start(fake_data: Path, out: Path, *overrides: str, **popen) -> subprocess.Popen:
    """``python train.py OVERRIDES`` on the generated MNIST into folder ``out``, started."""
    env = {**os.environ, "STN_DATA_DIR": str(fake_data / "data")}
    cmd = [
        *(sys.executable, "train.py", *overrides),
        *(f"paths.cache_dir={fake_data / 'cache'}", f"hydra.run.dir={out}"),
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, text=True, **popen)


def single_run(fake_data: Path, out: Path, *overrides: str) -> tuple[int, str, str]:
    """``start`` to its end: ``(returncode, stdout, stderr)``."""
    run = start(fake_data, out, *overrides, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = run.communicate(timeout=600)
    return run.returncode, stdout, stderr


def near_identity(transform, batch: int, scale: float = 0.1, dtype=torch.float32):
    """Random θ ``(batch, n_params)`` around the identity."""
    theta = transform.identity(dtype).repeat(batch, 1)
    return theta + scale * torch.randn(batch, transform.n_params, dtype=dtype)
