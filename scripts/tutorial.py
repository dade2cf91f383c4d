"""The PyTorch STN tutorial, run on ``stn.nn`` (``stn.nn.tutorial.TutorialNet``).

    python scripts/tutorial.py                          # train as the tutorial does, then test
    python scripts/tutorial.py --checkpoint tutorial.pt --epochs 0   # test the tutorial's own

Trains on MNIST's 60k digits with the tutorial's recipe (SGD, lr 0.01, batches of 64,
digits normalised by MNIST's mean 0.1307 and std 0.3081) and prints the test accuracy after
each epoch. ``--checkpoint`` starts from a state dict saved from the tutorial's ``Net``
(``torch.save(model.state_dict(), path)``). MNIST is read from ``--data`` (``MNIST/raw/``
holding the four IDX files; default ``$STN_DATA_DIR`` or ``data/``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from stn.data.mnist_files import load_mnist
from stn.errors import UserError
from stn.nn.tutorial import TutorialNet, from_tutorial

MEAN, STD = 0.1307, 0.3081  # the tutorial's normalisation


def digits(root: Path, train: bool, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 1, 28, 28)`` normalised digits and their labels, the first ``limit`` of them."""
    images, labels = load_mnist(root, train)
    images, labels = images[:limit], labels[:limit]
    return ((images.float() / 255 - MEAN) / STD).unsqueeze(1), labels


def accuracy(net: TutorialNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        right = sum(
            (net(x).argmax(1) == y).sum().item()
            for x, y in zip(images.split(1000), labels.split(1000), strict=True)
        )
    return 100 * right / len(labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="the tutorial's 20; 0: test only")
    parser.add_argument("--checkpoint", type=Path, help="a state dict of the tutorial's Net")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("STN_DATA_DIR", "data")))
    parser.add_argument("--limit", type=int, help="use only the first LIMIT digits of each split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 0 or (args.limit is not None and args.limit < 1):
        parser.error("--epochs must be at least 0 and --limit at least 1")
    try:
        test = digits(args.data, train=False, limit=args.limit)
        train = digits(args.data, train=True, limit=args.limit) if args.epochs else None
    except UserError as err:
        sys.exit(f"error: {err}")
    torch.manual_seed(args.seed)
    net = TutorialNet()
    if args.checkpoint:
        net.load_state_dict(from_tutorial(torch.load(args.checkpoint, weights_only=True)))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(train[1]))
        for batch in order.split(64):
            optimizer.zero_grad()
            F.nll_loss(net(train[0][batch]), train[1][batch]).backward()
            optimizer.step()
        print(f"epoch {epoch}: test accuracy {accuracy(net, *test):.2f} %")
    if not args.epochs:
        print(f"test accuracy {accuracy(net, *test):.2f} %")


if __name__ == "__main__":
    main()
