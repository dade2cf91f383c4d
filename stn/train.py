"""The Hydra entry: compose a config, train, test, log to TensorBoard.

python train.py [experiment=mnist_rts] [model=fcn|cnn] [stn=none|affine|projective|tps] ...
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from stn import hardware, paths
from stn.config_checks import (
    check_cache_folder,
    check_length,
    check_numbers,
    check_options,
    check_trainer,
)
from stn.data.options import check_data
from stn.errors import MissingData, UsageError, UserError
from stn.files import write_text_atomic
from stn.runs.folder import (
    BEST,
    CONFIG,
    FAILED,
    LAST,
    METRICS,
    OVERRIDES,
    TENSORBOARD,
    differences,
    flatten,
    partial,
    recorded_config,
)
from stn.runs.lock import RunLock
from stn.tasks.schedule import schedule_options

if TYPE_CHECKING:
    from stn.data.datamodule import SplitDataModule

# Lightning, torchvision and the models are imported only where a run trains, tests or
# draws: `--help`, `--cfg job` and a mistyped option answer at once.

log = logging.getLogger(__name__)
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
OmegaConf.register_new_resolver("stn.project_root", lambda: str(paths.project_root()), replace=True)
OmegaConf.register_new_resolver("stn.data_dir", lambda: str(paths.default_data_dir()), replace=True)
# A run's folder: its overrides, or "default" when it has none.
OmegaConf.register_new_resolver("stn.run_name", lambda name: name or "default", replace=True)
MONITOR = "val/err"


def train(cfg: DictConfig) -> float:
    """Train (and test) the configured model; returns the best ``val/err``.

    One process at a time writes a run folder (``stn.runs.lock``): the first process of a run
    holds its lock (further DDP processes write nothing of their own).

    Nothing in the run's folder changes until every check has passed (a refused command
    leaves it as it was); then it records its resolved config (``config.yaml``) first and
    its final metrics (``metrics.json``) last, or ``FAILED`` if the run fails. With
    ``resume`` (the default), a run whose folder holds ``metrics.json`` is finished and is
    skipped, and one with a last checkpoint resumes from it, so re-running a sweep
    completes it. With ``train=false`` the
    checkpoint ``ckpt_path`` is only tested (and ``test/err`` returned).
    """
    # Every option first, none of them importing torch: a mistake is said in about a second.
    check_numbers(cfg)
    check_length(cfg)
    check_trainer(cfg)
    hardware.HardwareOptions(cfg.trainer.get("precision", "auto"), cfg.channels_last, cfg.threads)
    schedule_options(OmegaConf.to_container(cfg.schedule, resolve=True))
    data = check_data(OmegaConf.to_container(cfg.data, resolve=True))
    check_options(cfg, data)
    first = all(os.environ.get(rank, "0") == "0" for rank in RANKS)
    if cfg.ckpt_path and not Path(cfg.ckpt_path).is_file():
        raise no_checkpoint(cfg.ckpt_path)
    if first:  # the others start once it has them (Lightning's prepare_data, then a barrier)
        data.check_files()
    from stn.models.registry import check_budget

    model, stn = (OmegaConf.to_container(cfg[key], resolve=True) for key in ("model", "stn"))
    check_budget(model, stn, data)  # the network fitted to model.params, on the meta device
    choose_machine(cfg)  # its log line starts the run's train.log
    from stn.data.registry import create_datamodule

    datamodule = create_datamodule(OmegaConf.to_container(cfg.data, resolve=True))
    check_cache_folder(cfg)  # the first check that writes: it makes the folder
    if not first:
        return _train(cfg, datamodule)
    with RunLock(cfg.paths.output_dir):
        return _train(cfg, datamodule)


# Set (to a non-zero value) in every process of a distributed run but the first.
RANKS = ("LOCAL_RANK", "NODE_RANK", "SLURM_PROCID")


def _train(cfg: DictConfig, datamodule: SplitDataModule) -> float:
    out = Path(cfg.paths.output_dir)
    done, last = out / METRICS, out / LAST
    if not cfg.train and not cfg.ckpt_path:
        raise UsageError("train=false evaluates a checkpoint: pass ckpt_path=PATH/TO/best.ckpt")
    container = OmegaConf.to_container(cfg, resolve=True)
    config = flatten(container)
    smoke = partial(config)
    if smoke:
        log.info(
            "a smoke or partial run (%s): kept out of stn.runs.report's tables", ", ".join(smoke)
        )
    retrain = cfg.train and not cfg.resume
    recorded = recorded_config(out) if (out / CONFIG).exists() else {}
    if cfg.train and cfg.resume and not cfg.ckpt_path and done.exists():
        stale = partial(recorded)
        if not stale or smoke:
            if not smoke:
                check_same_run(out, recorded, config)
            log.info("finished already, skipping: %s (resume=false trains it again)", out)
            return json.loads(done.read_text())[MONITOR]
        # Made before smoke runs had folders of their own: it must not stand in for this run.
        log.warning(
            "%s holds a smoke run (%s): training the full run in its place", out, ", ".join(stale)
        )
        retrain = True
    ckpt_path = cfg.ckpt_path or (
        str(last) if cfg.resume and not retrain and last.exists() else None
    )
    if cfg.train and not cfg.ckpt_path and ckpt_path:  # resuming on its own, not as asked
        check_same_run(out, recorded, config)
    import pytorch_lightning as pl

    from stn.tasks.classification import Classification

    pl.seed_everything(cfg.seed, workers=True)
    task = Classification(
        model=container["model"],
        stn=container["stn"],
        schedule=container["schedule"],
        in_shape=list(datamodule.image_shape),
        num_classes=datamodule.num_classes,
        channels_last=cfg.channels_last,
        compile=cfg.compile,
    )
    if ckpt_path:
        check_checkpoint(ckpt_path, task.hparams, resumed=cfg.train)
        log.info("%s %s", "resuming from" if cfg.train else "evaluating", ckpt_path)
    from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
    from pytorch_lightning.loggers import TensorBoardLogger

    from stn.tasks.epoch_log import EpochLog

    logger = TensorBoardLogger(
        save_dir=str(out), name=TENSORBOARD, version="", default_hp_metric=False
    )
    # best.ckpt by val/err; last.ckpt every epoch (Lightning's save_last only saves when
    # the best one does). Fixed names, so that a resumed run overwrites them.
    checkpoint = ModelCheckpoint(
        last.parent, Path(BEST).stem, monitor=MONITOR, mode="min", enable_version_counter=False
    )
    every_epoch = ModelCheckpoint(last.parent, last.stem, enable_version_counter=False)
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(no_tips)
    trainer = pl.Trainer(
        **cfg.trainer,
        logger=logger,
        callbacks=[checkpoint, every_epoch, LearningRateMonitor(), EpochLog(MONITOR)],
    )
    # Every check passed: only now does the folder change. A run that fails from here on is
    # marked failed; a command refused above left the folder as it was.
    if cfg.train:
        (out / FAILED).unlink(missing_ok=True)  # tried again
    if retrain:
        shutil.rmtree(out / TENSORBOARD, ignore_errors=True)
        shutil.rmtree(last.parent, ignore_errors=True)
        done.unlink(missing_ok=True)
    write_text_atomic(out / CONFIG, OmegaConf.to_yaml(container))
    if HydraConfig.initialized():  # the command, for the run's record (stn.runs.record)
        overrides = OmegaConf.to_yaml(list(HydraConfig.get().overrides.task))
        write_text_atomic(out / OVERRIDES, overrides)
    log.info("parameters: %d", sum(p.numel() for p in task.parameters()))
    try:
        metrics, tested = {}, ckpt_path
        if cfg.train:
            trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path)
            tested = "best" if checkpoint.best_model_path else None
            if MONITOR not in trainer.callback_metrics:
                # Stopped (max_steps) before an epoch's end: the last weights are validated
                # all the same (a diverged run fails) and, once validated, are the best.
                log.warning("no validation ran (max_steps before an epoch's end?): "
                            "validating the last weights")  # fmt: skip
                trainer.validate(task, datamodule=datamodule, verbose=False)
                if tested is None and MONITOR in trainer.callback_metrics:
                    tested = str(out / BEST)
                    trainer.save_checkpoint(tested)
            best = checkpoint.best_model_score
            metrics[MONITOR] = (
                trainer.callback_metrics.get(MONITOR, math.nan) if best is None else best
            )
        if cfg.test or not cfg.train:
            metrics.update(trainer.test(task, datamodule=datamodule, ckpt_path=tested)[0])
        metrics = {k: float(v) for k, v in metrics.items()}
        hparams = {k: str(v) if isinstance(v, list) else v for k, v in config.items()}
        logger.log_hyperparams(hparams, metrics)
        logger.finalize("success")  # close the event file that testing and hparams reopened
        write_text_atomic(done, json.dumps(metrics, indent=2))
    except BaseException:
        if not done.exists():  # a finished run's folder keeps its status
            (out / FAILED).touch()
        raise
    log.info("finished: %s (%s)", ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), done)
    return metrics[MONITOR if cfg.train else "test/err"]


def no_tips(record: logging.LogRecord) -> bool:
    """Keep Lightning's product tips out of the run's log: they are not news of the run."""
    return not record.getMessage().startswith("💡 Tip")


def check_same_run(out: Path, recorded: dict, config: dict) -> None:
    """Refuse to skip or resume the run in ``out`` as this one when its recorded flat config
    trains something else (``stn.runs.folder.differences``): its record would lie."""
    changed = differences(recorded, config)
    if changed:
        raise UsageError(
            f"{out} holds a run of another configuration ({'; '.join(changed)}): give "
            f"resume=false to train this one in its place, or another hydra.run.dir / "
            f"hydra.sweep.dir to keep both"
        )


ARCHITECTURE = ("model", "stn", "in_shape", "num_classes")  # what a checkpoint must share


def choose_machine(cfg: DictConfig) -> None:
    """Resolve ``trainer.precision``, ``channels_last`` and ``threads`` (``auto``: by the
    machine, see ``stn.hardware``) into ``cfg``, record the machine as ``cfg.machine`` and the
    code's git commit as ``cfg.commit``, set
    torch's threads, and log what was chosen."""
    import torch

    machine = hardware.detect(cfg.trainer.accelerator)
    launcher = None
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        launcher = OmegaConf.to_container(HydraConfig.get().launcher)
    jobs = hardware.concurrent_jobs(launcher, machine.cores)
    with open_dict(cfg):
        cfg.trainer.precision = hardware.choose_precision(machine, cfg.trainer.precision)
        cfg.channels_last = hardware.choose_channels_last(machine, cfg.channels_last)
        cfg.threads = hardware.choose_threads(machine, jobs, cfg.threads)
        if cfg.data.get("workers", 0) is None:  # loader or cropping processes: the same share
            cfg.data.workers = cfg.threads
        cfg.machine = machine.describe()
        cfg.commit = paths.commit()  # the code that trained it, for its record
    torch.set_num_threads(cfg.threads)
    log.info(
        "%s: %s (%s), %d cores for %d job(s) at once: precision %s, channels_last %s, "
        "%d threads, compile %s",
        machine.accelerator,
        machine.name,
        machine.isa,
        machine.cores,
        jobs,
        cfg.trainer.precision,
        cfg.channels_last,
        cfg.threads,
        cfg.compile,
    )


def no_checkpoint(path: str) -> MissingData:
    return MissingData(f"no checkpoint at {path}: check ckpt_path")


def check_checkpoint(path: str, hparams: dict, resumed: bool = False) -> None:
    """Refuse, before any work, a checkpoint that is unreadable or of another model, or, to be
    ``resumed``, one trained on another schedule but for its length (its optimiser and
    scheduler would go on with the old one while the run's config said the new)."""
    import torch

    from stn.tasks.checkpoints import upgrade

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        theirs = upgrade(state)["hyper_parameters"]
    except FileNotFoundError:
        raise no_checkpoint(path) from None
    except Exception as err:
        raise UsageError(
            f"{path} is not a readable checkpoint of this suite ({type(err).__name__}: {err}); "
            f"it may be truncated or from another program: pass another ckpt_path"
        ) from err
    for key in ARCHITECTURE:
        if theirs.get(key) != hparams[key]:
            raise UsageError(
                f"checkpoint {path} was trained with {key}={theirs.get(key)!r}, but this run "
                f"has {key}={hparams[key]!r}: give the experiment, model and stn it was "
                f"trained with (see config.yaml beside its checkpoints folder)"
            )
    # How long it trains may change; the rest of the schedule is restored with the optimiser.
    lengths = ("max_epochs", "max_steps")
    old, new = ({k: v for k, v in h.get("schedule", {}).items() if k not in lengths}
                for h in (theirs, hparams))  # fmt: skip
    changed = differences(flatten({"schedule": old}), flatten({"schedule": new}))
    if resumed and changed:
        raise UsageError(
            f"checkpoint {path} was trained on another schedule ({'; '.join(changed)}), and a "
            f"resumed run goes on with the one it started with: give the schedule it was "
            f"trained with, or train afresh without ckpt_path"
        )


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="train")
def main(cfg: DictConfig) -> float:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        return train(cfg)
    except Exception as err:
        message = user_message(err) if os.environ.get("HYDRA_FULL_ERROR") != "1" else None
        if message:  # Hydra made the folder: one the refused command left empty goes
            remove_if_empty(Path(HydraConfig.get().runtime.output_dir))
        if not multirun:
            if message:  # the message is the whole story: no traceback
                sys.exit(f"error: {message}")
            raise
        # One failing job of a sweep must not stop the others: say so and go on.
        job = HydraConfig.get().job.override_dirname
        if message:
            log.error("job failed: %s: %s", job, message)
        else:
            log.exception("job failed: %s", job)
        return math.inf  # the worst value, for sweepers that minimise (Optuna rejects NaN)


def remove_if_empty(folder: Path) -> None:
    """Removes ``folder`` if a refused command left it empty, and with it the log handlers
    that would open their file there (``train.log`` opens at its first line), so that a
    sweep can still say why the job failed."""
    with contextlib.suppress(OSError):
        folder.rmdir()
    if folder.exists():
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).parent == folder:
            root.removeHandler(handler)
            handler.close()


def user_message(err: Exception) -> str | None:
    """The one paragraph that says ``err`` to the user, where the traceback would add
    nothing: a mistake the suite detected (``UserError``), or a full disk."""
    if isinstance(err, UserError):
        return str(err)
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" writing {err.filename}" if err.filename else ""
        return (
            f"the disk is full{where} ({err.strerror}): free space on it, or write elsewhere "
            f"(hydra.run.dir=..., paths.cache_dir=...); rerun the same command to resume "
            f"from the run's last checkpoint"
        )
    return None


if __name__ == "__main__":
    main()
