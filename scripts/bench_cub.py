"""CUB-200-2011: images/s of the loader alone against images/s of the networks' training.

    python scripts/bench_cub.py [--data-dir ../shared/data] [--batch 16]

1. The DataModule's test loader (JPEG decoding, resizing, boxes, uint8 → float) on every
   image of the split, at 224 and 448 px, with 0, 1 and 2 worker processes.
2. Forward + backward images/s of the CNN and 2×ST-CNN (googlenet, random weights) at the
   same sizes in bf16 + channels-last, as training runs on this CPU. The loader keeps the
   model busy when its images/s exceeds the model's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import stn.data.cub as cub
from stn.benchmark import compare, markdown_table
from stn.models.cub import build_cub_model
from stn.paths import default_data_dir


def loader_rate(data_dir: Path, size: int, workers: int, batch: int) -> float:
    data = cub.CUB200(
        data_dir=str(data_dir),
        cache_dir="",
        size=size,
        batch_size=batch,
        workers=workers,
        val_size=1,  # the test split is read
    )
    data.setup()
    start, n = time.perf_counter(), 0
    for batch in data.test_dataloader():
        x = data.on_after_batch_transfer(batch, 0).image
        n += len(x)
    return n / (time.perf_counter() - start)


def model_rate(name: str, size: int, batch: int) -> float:
    transform = "none" if name == "cnn" else "attention"
    net = build_cub_model(pretrained=False, transform=transform, n=2, num_classes=200)
    net = net.to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        with torch.autocast("cpu", torch.bfloat16):
            net(x).float().sum().backward()

    return batch / compare({name: step}, repeats=3, warmup=1)[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    rows = []
    for size in (224, 448):
        rates = [loader_rate(args.data_dir, size, w, args.batch) for w in (0, 1, 2)]
        models = [model_rate(name, size, args.batch) for name in ("cnn", "2x")]
        rows.append([size, *(f"{r:.0f}" for r in rates), *(f"{r:.1f}" for r in models)])
    header = ["px", "loader 0 workers", "1 worker", "2 workers"]
    print(markdown_table([*header, "CNN fwd+bwd", "2×ST-CNN fwd+bwd"], rows))
    print("\n(images/s; the loader's over the test split, the models' at batch", args.batch, ")")


if __name__ == "__main__":
    main()
