"""Image classification with spatial transformers: the LightningModule of the MNIST tables."""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
import torchvision.utils as vutils
from torch import Tensor

from stn.nn.models.mnist import build_mnist_model
from stn.nn.spatial_transformer import ParallelSpatialTransformer
from stn.tasks.visualise import draw_grids

SCHEDULERS = ("step", "cosine")
OPTIMISERS = {
    "sgd": lambda groups, cfg: torch.optim.SGD(
        groups, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
    ),
    "adam": lambda groups, cfg: torch.optim.Adam(
        groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"]
    ),
}


class Classification(pl.LightningModule):
    """Cross-entropy training; ``train/loss``, ``val/err`` and ``test/err`` (percent) logged.

    Args:
        model, stn: the ``model`` and ``stn`` configs (see ``build_mnist_model``).
        schedule: ``optimizer`` (``sgd`` with ``momentum``, or ``adam``), ``lr``,
            ``weight_decay``, ``loc_lr_factor`` (the localisation nets' learning rate relative
            to the rest), ``scheduler`` (``step``: ×``gamma``
            every ``step_size`` iterations, the paper's; ``cosine``: to 0 over the run).
        in_shape: ``(C, H, W)`` of the inputs; num_classes: classes.
        channels_last: run convolutions in the channels-last memory format.

    All arguments are plain containers, so checkpoints load with ``weights_only=True``.
    """

    def __init__(
        self,
        model: dict,
        stn: dict,
        schedule: dict,
        in_shape: list[int],
        num_classes: int,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        for key, valid in (("optimizer", OPTIMISERS), ("scheduler", SCHEDULERS)):
            if schedule[key] not in valid:
                raise ValueError(
                    f"unknown schedule.{key} {schedule[key]!r}; valid: {', '.join(valid)}"
                )
        self.save_hyperparameters()
        self.net = build_mnist_model(model, stn, in_shape, num_classes)
        self.channels_last = channels_last
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.preview: Tensor | None = None  # fixed validation images for the figure

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    def _error(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        err = (logits.argmax(1) != y).float().mean() * 100
        # sync_dist: under DDP, the mean over every process's share of the set.
        self.log(f"{stage}/loss", loss, batch_size=len(y), sync_dist=True)
        self.log(f"{stage}/err", err, prog_bar=True, batch_size=len(y), sync_dist=True)
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss is {loss.item()} at step {self.global_step}: lower schedule.lr "
                f"or schedule.loc_lr_factor, or train in 32-true precision"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        if batch_idx == 0 and self.preview is None:
            self.preview = batch[0][:8].detach().clone()
        self._error(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._error(batch, "test")

    def on_validation_epoch_end(self) -> None:
        st = self.net.transformer
        writer = getattr(self.logger, "experiment", None)
        if st is None or self.preview is None or not hasattr(writer, "add_image"):
            return
        with torch.no_grad():
            x = self.preview
            outputs = torch.cat(st(x), dim=1)
            theta = st.theta  # (8, n, P)
        step = self.global_step
        for i in range(st.n):
            drawn = draw_grids(
                x[:, i % x.shape[1] : i % x.shape[1] + 1],
                st.transform,
                theta[:, i],
                st.out_size or tuple(x.shape[-2:]),
            )
            out = outputs[:, i : i + 1].expand(-1, 3, -1, -1).clamp(0, 1)
            if out.shape[-2:] != drawn.shape[-2:]:
                out = F.interpolate(out, size=drawn.shape[-2:])
            panel = vutils.make_grid(torch.cat((drawn, out)), nrow=len(x), padding=2, pad_value=0.5)
            writer.add_image(f"st{i}/input_grid_output", panel, step)
            writer.add_histogram(f"st{i}/theta", theta[:, i].float(), step)

    def configure_optimizers(self):
        cfg = self.hparams.schedule
        loc = [
            p
            for m in self.modules()
            if isinstance(m, ParallelSpatialTransformer)
            for p in m.parameters()
        ]
        loc_ids = {id(p) for p in loc}
        rest = [p for p in self.parameters() if id(p) not in loc_ids]
        groups = [{"params": rest, "lr": cfg["lr"]}]
        if loc:
            groups.append({"params": loc, "lr": cfg["lr"] * cfg["loc_lr_factor"]})
        optimiser = OPTIMISERS[cfg["optimizer"]](groups, cfg)
        if cfg["scheduler"] == "step":
            step_size, gamma = cfg["step_size"], cfg["gamma"]
            factor = lambda it: gamma ** (it // step_size)  # noqa: E731
        else:
            total = max(1, int(self.trainer.estimated_stepping_batches))
            factor = lambda it: 0.5 * (1 + math.cos(math.pi * min(it, total) / total))  # noqa: E731
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
