"""Training throughput on distorted MNIST (RTS, 42×42), measured side by side in one run.

    python scripts/bench_training.py [--batch 256] [--repeats 10] [--epoch]

Prints four tables:
1. training images/s (forward, backward, optimiser step) of CNN and ST-CNN (affine, 2× pooling
   after the ST), in fp32 and in bf16 autocast with channels-last: the ST's overhead and
   the precision's gain;
2. the harness: ``Trainer.fit`` of our LightningModule through the DistortedMNIST
   DataModule against a bare PyTorch loop over the same model and tensors;
3. RTS distortion generation, batched (``stn.data.distortions.rts``) against a per-sample
   ``torchvision.transforms.v2`` loop doing the same work (pad to the canvas, random
   rotation, scale and translation);
4. with ``--epoch``: the wall time of one real training epoch of ST-CNN on RTS through
   ``stn.train`` (fresh distortions for 50k digits, then validation on 10k).

Needs MNIST in the data folder (``$STN_DATA_DIR``; see ``stn.paths``).
"""

from __future__ import annotations

import argparse
import logging
import platform
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torchvision.transforms import v2

from stn.benchmark import compare, markdown_table, mnist_config, mnist_task
from stn.benchmark import training_step as bare_step
from stn.data.distortions import rts
from stn.data.registry import create_datamodule
from stn.train import train

PRECISIONS = {"fp32": "32-true", "bf16+CL": "bf16-mixed"}


def task(stn: str, precision: str):
    return mnist_task(stn, channels_last=precision == "bf16+CL")


def training_step(module, precision: str):
    return bare_step(module, bf16=precision == "bf16+CL")


def models(batch: int, repeats: int) -> str:
    data = (torch.rand(batch, 1, 42, 42), torch.randint(0, 10, (batch,)))
    candidates = {}
    for stn in ("none", "affine"):
        for p in PRECISIONS:
            step = training_step(task(stn, p), p)
            candidates[stn, p] = lambda step=step: step(*data)
    times = compare(candidates, repeats=repeats)
    base = times[("none", "fp32")]
    rows = [
        [
            "CNN" if stn == "none" else "ST-CNN",
            p,
            f"{batch / t:.0f}",
            f"{t / base:.2f}",
            f"{t / times[('none', p)]:.2f}",
        ]
        for (stn, p), t in times.items()
    ]
    header = ["model", "precision", "img/s", "time × CNN fp32", "time × CNN (same precision)"]
    return markdown_table(header, rows)


def harness(datamodule, steps: int, repeats: int, precision: str) -> str:
    """Lightning ``fit`` through the DataModule vs a bare loop over its loader."""
    lightning = task("affine", precision)
    bare = task("affine", precision)
    bare.load_state_dict(lightning.state_dict())
    loader = datamodule.train_dataloader()
    out = Path(tempfile.mkdtemp())

    def fit():
        trainer = pl.Trainer(
            max_steps=steps,
            max_epochs=1,
            limit_val_batches=0,
            precision=PRECISIONS[precision],
            logger=pl.loggers.TensorBoardLogger(out, name="tb"),
            enable_checkpointing=False,
            enable_progress_bar=False,  # its console output would interleave the tables
            enable_model_summary=False,
        )
        trainer.fit(lightning, datamodule=datamodule)

    step = training_step(bare, precision)

    def loop():
        bare.train()
        for i, batch in zip(range(steps), loader, strict=False):
            x, y, _ = datamodule.on_after_batch_transfer(batch, i)
            step(x, y)

    times = compare({"Lightning fit": fit, "bare loop": loop}, repeats=repeats, warmup=1)
    images = steps * datamodule.batch_size
    rows = [
        [name, f"{t:.2f}", f"{images / t:.0f}", f"{t / times['bare loop']:.3f}"]
        for name, t in times.items()
    ]
    header = [f"{steps} steps of ST-CNN, {precision}", "s", "img/s", "× bare loop"]
    return markdown_table(header, rows)


def distortions(digits: torch.Tensor, repeats: int) -> str:
    """Batched RTS against the per-sample torchvision.transforms.v2 equivalent."""
    gen = torch.Generator().manual_seed(0)
    pad = (42 - 28) // 2
    per_sample = v2.Compose(
        [v2.Pad(pad), v2.RandomAffine(degrees=45, translate=(0.17, 0.17), scale=(0.7, 1.2))]
    )

    def loop():
        torch.stack([per_sample(d[None]) for d in digits])

    times = compare(
        {"ours, batched": lambda: rts(digits, gen), "torchvision v2, per sample": loop},
        repeats=repeats,
        warmup=1,
    )
    rows = [
        [name, f"{len(digits) / t:.0f}", f"{times['torchvision v2, per sample'] / t:.1f}"]
        for name, t in times.items()
    ]
    return markdown_table([f"RTS of {len(digits)} digits", "digits/s", "× per-sample v2"], rows)


def epoch(precision: str) -> str:
    """One real epoch of ST-CNN on RTS through ``stn.train.train`` (no test)."""
    cfg = mnist_config(
        "schedule.max_epochs=1",
        f"trainer.precision={PRECISIONS[precision]}",
        f"channels_last={precision == 'bf16+CL'}",
        "test=false",
    )
    start = time.perf_counter()
    val_err = train(cfg)
    seconds = time.perf_counter() - start
    return f"one epoch of ST-CNN on RTS ({precision}): {seconds:.1f} s, val/err {val_err:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=40, help="steps per harness run")
    parser.add_argument("--epoch", action="store_true", help="also time a real epoch")
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads, "
        f"batch {args.batch}\n"
    )
    print(models(args.batch, args.repeats), "\n")

    cfg = mnist_config(f"schedule.batch_size={args.batch}", "data.train_distortions=fixed")
    datamodule = create_datamodule(OmegaConf.to_container(cfg.data))
    datamodule.setup()
    for precision in PRECISIONS:
        print(harness(datamodule, args.steps, max(3, args.repeats // 2), precision), "\n")

    digits = datamodule.splits["train"][0][:2048].float() / 255
    print(distortions(digits, max(3, args.repeats // 2)), "\n")
    if args.epoch:
        for precision in PRECISIONS:
            print(epoch(precision))


if __name__ == "__main__":
    main()
