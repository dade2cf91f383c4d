"""Dead ReLUs of a trained run: the units (a conv layer's channels, an FC layer's units) that
output 0 on every one of the first ``n`` validation images. A dead unit gets no gradient,
so it stays dead: the network trains with that much less capacity.

    python -m stn.runs.dead_units RUN [RUN ...] [--checkpoint last|best] [--n 1024]

Each RUN is a run folder, or a folder of runs (every finished run under it is read).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from stn.errors import MissingData
from stn.runs.arguments import count, user_errors
from stn.runs.folder import BEST, LAST
from stn.runs.run import DONE, find_runs

if TYPE_CHECKING:
    from torch import Tensor, nn
# torch and Lightning are imported where a network is loaded: --help answers at once.

CHECKPOINTS = {"best": BEST, "last": LAST}


def dead_units(net: nn.Module, x: Tensor) -> list[tuple[str, int, int]]:
    """``(name, dead, units)`` of each ReLU of ``net`` that runs on ``x`` ``(B, ...)``, in
    the order they run; a unit is the output's dimension 1 (channel or feature)."""
    import torch
    from torch import nn

    counts = []

    def count(name: str, output: Tensor) -> None:
        peak = output.transpose(0, 1).flatten(1).amax(1)  # (units,): over images and pixels
        counts.append((name, int((peak <= 0).sum()), output.shape[1]))

    hooks = [
        module.register_forward_hook(lambda m, i, out, name=name: count(name, out))
        for name, module in net.named_modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for hook in hooks:
            hook.remove()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders, or folders of runs")
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default="last")
    parser.add_argument("--n", type=count(1), default=1024, help="validation images")
    args = parser.parse_args(argv)
    with user_errors("stn-dead-units"):
        from stn.runs.trained import first_images, load

        for root in args.runs:
            runs = [run for run in find_runs(root) if run.status == DONE]
            if not runs:
                raise MissingData(f"{root} holds no finished run (a run folder with metrics.json)")
            for run in runs:
                data, task = load(run.path, CHECKPOINTS[args.checkpoint])
                counts = dead_units(task.net, first_images(data, "val", args.n))
                text = ", ".join(f"{name} {dead}/{units}" for name, dead, units in counts)
                print(f"{run.path}: {text or 'no ReLUs'}")


if __name__ == "__main__":
    main()
