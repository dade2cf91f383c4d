"""The Hydra entry: compose a config, train, test, log to TensorBoard.

python train.py [experiment=mnist_rts] [model=fcn|cnn] [stn=none|affine|projective|tps] ...
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger

from stn.tasks.classification import Classification

log = logging.getLogger(__name__)
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
OmegaConf.register_new_resolver(
    "stn.project_root",
    lambda: str(CONFIGS.parent if CONFIGS.is_dir() else Path.cwd()),
    replace=True,
)
# A run's folder: its overrides, or "default" when it has none.
OmegaConf.register_new_resolver("stn.run_name", lambda name: name or "default", replace=True)
MONITOR = "val/err"


def train(cfg: DictConfig) -> float:
    """Train (and test) the configured model; returns the best ``val/err``."""
    pl.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    container = OmegaConf.to_container(cfg, resolve=True)
    task = Classification(
        model=container["model"],
        stn=container["stn"],
        schedule=container["schedule"],
        in_shape=list(datamodule.image_shape),
        num_classes=datamodule.num_classes,
        channels_last=cfg.channels_last,
    )
    out = Path(cfg.paths.output_dir)
    logger = TensorBoardLogger(
        save_dir=str(out), name="tensorboard", version="", default_hp_metric=False
    )
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints", monitor=MONITOR, mode="min", save_last=True, filename="best"
    )
    trainer = pl.Trainer(
        **cfg.trainer, logger=logger, callbacks=[checkpoint, LearningRateMonitor()]
    )
    log.info("parameters: %d", sum(p.numel() for p in task.parameters()))
    trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
    metrics = {
        MONITOR: float(
            checkpoint.best_model_score or trainer.callback_metrics.get(MONITOR, math.nan)
        )
    }
    if cfg.test:
        best = None if cfg.trainer.fast_dev_run else "best"
        metrics.update(trainer.test(task, datamodule=datamodule, ckpt_path=best)[0])
    logger.log_hyperparams(_flatten(container), {k: float(v) for k, v in metrics.items()})
    return metrics[MONITOR]


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value) if isinstance(value, list) else value
    return flat


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="train")
def main(cfg: DictConfig) -> float:
    try:
        return train(cfg)
    except Exception:
        if HydraConfig.get().mode != RunMode.MULTIRUN:
            raise
        # One failing job of a sweep must not stop the others: record it and go on.
        log.exception("job failed: %s", HydraConfig.get().job.override_dirname)
        (Path(cfg.paths.output_dir) / "FAILED").touch()
        return math.nan


if __name__ == "__main__":
    main()
