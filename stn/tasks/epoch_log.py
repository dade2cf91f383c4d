"""One log line per training epoch, for logs that no progress bar reaches.

``epoch 3/10: train/loss 0.2310, val/err 2.41 % (best 2.41 %), 31 s, ~3 min 37 s left`` goes
to the run's ``train.log`` always, and to the console when stdout is not a terminal (under
``nohup``, SLURM, CI); a terminal keeps Lightning's progress bar instead.
"""

from __future__ import annotations

import logging
import math
import sys
import time

import pytorch_lightning as pl

PROGRESS = "stn.progress"
log = logging.getLogger(PROGRESS)


def duration(seconds: float) -> str:
    """``3 min 37 s``, ``1 h 5 min``, ``42 s``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def quiet_on_terminals() -> None:
    """Keep progress lines off a terminal's console handlers (the bar is there)."""
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if isinstance(handler, logging.FileHandler) or stream is None:
            continue
        if getattr(stream, "isatty", lambda: False)():
            handler.addFilter(lambda record: record.name != PROGRESS)


class EpochLog(pl.Callback):
    """Logs each finished training epoch: its mean training loss, the validation error and
    the best so far, its wall time, and the time left at the mean epoch time."""

    def __init__(self, monitor: str = "val/err") -> None:
        self.monitor = monitor
        self.losses: list[float] = []
        self.times: list[float] = []
        self.start = 0.0
        self.best = math.inf

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if sys.stdout.isatty():
            quiet_on_terminals()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.losses, self.start = [], time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None:
            self.losses.append(float(loss))

    def total_epochs(self, trainer: pl.Trainer) -> int | None:
        """The epochs this run trains: ``max_epochs``, or those ``max_steps`` takes."""
        per_epoch = trainer.num_training_batches
        if trainer.max_steps > 0 and isinstance(per_epoch, int) and per_epoch > 0:
            by_steps = math.ceil(trainer.max_steps / per_epoch)
            return min(by_steps, trainer.max_epochs) if trainer.max_epochs > 0 else by_steps
        return trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        seconds = time.perf_counter() - self.start
        self.times.append(seconds)
        epoch, total = trainer.current_epoch + 1, self.total_epochs(trainer)
        parts = [f"epoch {epoch}/{total or '?'}:"]
        if self.losses:
            parts.append(f"train/loss {sum(self.losses) / len(self.losses):.4f},")
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None:
            self.best = min(self.best, float(value))
            parts.append(f"{self.monitor} {float(value):.2f} % (best {self.best:.2f} %),")
        parts.append(duration(seconds))
        if total:
            left = (total - epoch) * sum(self.times) / len(self.times)
            parts[-1] += f", ~{duration(left)} left"
        log.info(" ".join(parts))
