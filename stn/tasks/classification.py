"""Image classification with spatial transformers: the LightningModule of every table.

A network's logits are ``(B, K)`` with labels ``(B,)``, or for SVHN sequences one softmax
per position, ``(B, 5, 11)`` with labels ``(B, 5)``: the loss sums the positions'
cross-entropies, and an image counts as an error unless every position is right (the
sequence error of Table 2). A ``Batch`` may carry the object's box ``(B, 4)`` (CUB), used
only to measure where the STs attend.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from stn.data.batches import Batch
from stn.data.svhn_crops import NO_DIGIT
from stn.errors import UserError
from stn.models import create_model
from stn.nn.spatial_transformer import ParallelSpatialTransformer
from stn.tasks.checkpoints import upgrade
from stn.tasks.schedule import schedule_options
from stn.tasks.visualise import transformer_panels

# A training loss this many times the chance loss (a uniform guess) for this many steps in a
# row has diverged: it will not come back, and its weights are no longer a result.
DIVERGED, PATIENCE = 100, 20


class Diverged(UserError, FloatingPointError):
    """The training loss became non-finite or left every sensible bound."""


OPTIMISERS = {
    "sgd": lambda groups, cfg: torch.optim.SGD(
        groups, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
    ),
    "adam": lambda groups, cfg: torch.optim.Adam(
        groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"]
    ),
}


class Classification(pl.LightningModule):
    """Cross-entropy training; ``train/loss``, ``val/err`` and ``test/err`` (percent) logged,
    and for sequences ``val/digit_acc`` and ``test/digit_acc`` (percent of the true digits,
    "no digit" positions aside, read right).

    Args:
        model, stn: the ``model`` and ``stn`` configs (see ``stn.models.create_model``).
        schedule: ``optimizer`` (``sgd`` with ``momentum``, or ``adam``), ``lr``,
            ``weight_decay``, ``loc_lr_factor`` (the localisation nets' learning rate relative
            to the rest), ``scheduler`` (``step``: ×``gamma``
            every ``step_size`` iterations, the paper's; ``cosine``: to 0 over the run), after
            ``warmup_steps`` of linear warm-up (0: none).
        in_shape: ``(C, H, W)`` of the inputs; num_classes: classes.
        channels_last: run convolutions in the channels-last memory format.
        compile: ``torch.compile`` the network (in place: parameter names and checkpoints
            are those of the eager network).

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
        compile: bool = False,
    ) -> None:
        super().__init__()
        schedule_options(schedule)
        self.save_hyperparameters()
        self.net = create_model(model, stn, in_shape=in_shape, num_classes=num_classes)
        self.channels_last = channels_last
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        if compile:
            self.net.compile()
        self.preview: Tensor | None = None  # fixed validation images for the figure
        self.too_high = 0  # steps in a row with the loss above DIVERGED × chance
        self.val_loss, self.val_chance = [0.0, 0], math.log(num_classes)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        upgrade(checkpoint)  # a run resumed from an older version's checkpoint

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x)

    @staticmethod
    def loss(logits: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy, summed over a sequence's positions, averaged over the batch."""
        positions = y[0].numel()
        return F.cross_entropy(logits.flatten(0, -2), y.flatten()) * positions

    @staticmethod
    def errors(logits: Tensor, y: Tensor) -> dict[str, Tensor]:
        """``err``: % of images with any position wrong; for sequences also ``digit_acc``:
        % of the true digits ("no digit" positions aside) read right."""
        right = logits.argmax(-1) == y
        metrics = {"err": (~right).view(len(y), -1).any(1).float().mean() * 100}
        if y.ndim == 2:
            metrics["digit_acc"] = right[y != NO_DIGIT].float().mean() * 100
        return metrics

    def _evaluate(self, batch: Batch, stage: str) -> None:
        x, y, box = batch
        logits = self(x)
        loss = self.loss(logits, y)
        if stage == "val":  # this process's share, for the divergence check
            self.val_loss[0] += float(loss) * len(y)
            self.val_loss[1] += len(y)
            self.val_chance = y[0].numel() * math.log(logits.shape[-1])
        # sync_dist: under DDP, the mean over every process's share of the set.
        self.log(f"{stage}/loss", loss, batch_size=len(y), sync_dist=True)
        for name, value in self.errors(logits, y).items():
            # Batch sizes weight the epoch's mean: images for err, true digits for digit_acc.
            n = len(y) if name == "err" else int((y != NO_DIGIT).sum())
            self.log(f"{stage}/{name}", value, prog_bar=name == "err", batch_size=n, sync_dist=True)
        if box is not None:  # where the STs attend: how often each one's centre lies in the box
            for k, inside in enumerate(centres_in_box(self.net.transformers, box)):
                self.log(f"{stage}/st{k}_in_box", inside, batch_size=len(y), sync_dist=True)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        x, y, _ = batch
        logits = self(x)
        loss = self.loss(logits, y)
        self.check_divergence(loss.item(), y[0].numel() * math.log(logits.shape[-1]))
        self.log("train/loss", loss, prog_bar=True, batch_size=len(y))
        return loss

    def check_divergence(self, loss: float, chance: float) -> None:
        """Raise ``Diverged`` on a non-finite loss, or one above ``DIVERGED`` × ``chance`` (the
        loss of a uniform guess) for ``PATIENCE`` steps in a row."""
        self.too_high = self.too_high + 1 if loss > DIVERGED * chance else 0
        if math.isfinite(loss) and self.too_high < PATIENCE:
            return
        what = (
            f"is {loss}"
            if not math.isfinite(loss)
            else f"has stayed above {DIVERGED} × the chance loss ({chance:.2f}) for "
            f"{PATIENCE} steps (now {loss:.3g})"
        )
        raise self.diverged(f"the loss {what} at step {self.global_step}")

    def check_validation(self, loss: float, chance: float) -> None:
        """Raise ``Diverged`` on a validation loss that is non-finite, or at least ``DIVERGED``
        × ``chance`` while the last training loss was too (``too_high``): however few steps a
        run took, its weights are then no result. A high validation loss alone is not enough:
        after a step or two of a fresh batch-normalised network (Inception), eval mode's
        running statistics have not caught up with the weights, which are sound."""
        if math.isfinite(loss) and (loss < DIVERGED * chance or not self.too_high):
            return
        raise self.diverged(
            f"the validation loss is {loss:.3g} (chance: {chance:.2f}) after step "
            f"{self.global_step}"
        )

    def diverged(self, what: str) -> Diverged:
        """The error for a run that diverged as ``what`` says, with the fix for its settings."""
        cfg = self.hparams.schedule
        precision = str(self._trainer.precision if self._trainer else "32-true")
        advice = "lower schedule.lr or schedule.loc_lr_factor"
        if not precision.startswith(("32", "64")):
            advice += ", or train in 32-true precision (trainer.precision=32-true)"
        return Diverged(
            f"training diverged: {what}, with schedule.lr={cfg['lr']} and "
            f"schedule.loc_lr_factor={cfg['loc_lr_factor']} in {precision} precision: {advice}"
        )

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        if batch_idx == 0 and self.preview is None:
            self.preview = batch.image[:8].detach().clone()
        self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_validation_epoch_start(self) -> None:
        self.val_loss = [0.0, 0]  # summed loss, images

    def on_validation_epoch_end(self) -> None:
        """Stop a run whose validation loss diverged (``check_validation``); then each ST's
        grid on the preview images, their resampling, and its θ histogram."""
        if self.val_loss[1] and not self.trainer.sanity_checking:
            self.check_validation(self.val_loss[0] / self.val_loss[1], self.val_chance)
        writer = getattr(self.logger, "experiment", None)
        if self.preview is None or not hasattr(writer, "add_image"):
            return
        for k, (panel, theta) in enumerate(transformer_panels(self.net, self.preview)):
            writer.add_image(f"st{k}/input_grid_output", panel, self.global_step)
            writer.add_histogram(f"st{k}/theta", theta.float(), self.global_step)

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
        # A linear warm-up from lr / warmup_steps: Adam's first full-size steps kill ReLUs.
        warmup = max(1, cfg["warmup_steps"])
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda it: min(1.0, (it + 1) / warmup) * factor(it)
        )
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def centres_in_box(transformers: list, box: Tensor) -> list[Tensor]:
    """For each ST (every parallel one in turn), the % of images whose crop centre — the
    source point of the output's centre, from the last forward's θ — lies in ``box``
    ``(B, 4)`` (``x0, y0, x1, y1`` normalised)."""
    out = []
    for st in transformers:
        thetas = st.theta.view(len(box), st.n, -1)
        origin = torch.zeros(1, 2, dtype=torch.float32, device=box.device)
        for theta in thetas.unbind(1):
            (cx, cy) = st.transform.points(theta.float(), origin)[:, 0].unbind(-1)
            inside = (box[:, 0] <= cx) & (cx <= box[:, 2]) & (box[:, 1] <= cy) & (cy <= box[:, 3])
            out.append(inside.float().mean() * 100)
    return out
