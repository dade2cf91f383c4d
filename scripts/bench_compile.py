"""``torch.compile`` against eager: forward + backward of the paper's networks.

    python scripts/bench_compile.py [--repeats 8] [--models cnn,affine,projective,tps,svhn_multi]

The MNIST CNN and ST-CNN (each transform type; RTS, 42×42, batch 256) and the SVHN ST-CNN
Multi (64×64, batch 128), each in the precision and memory format ``stn.hardware`` chooses
on this machine, eager against compiled (``nn.Module.compile()``, inductor), side by side
in one process; compilation time (the first calls) is printed apart. ``compile=true`` is
worth making a default where it is at least 1.3× faster.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from stn import hardware
from stn.benchmark import compare, markdown_table, mnist_task
from stn.models.svhn import build_svhn_model

MODELS = ("cnn", "affine", "projective", "tps", "svhn_multi")


def network(name: str, channels_last: bool) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """The network and its input shape."""
    if name == "svhn_multi":
        net = build_svhn_model("multi", (3, 64, 64), "affine")
        shape = (128, 3, 64, 64)
    else:
        net = mnist_task("none" if name == "cnn" else name).net
        shape = (256, 1, 42, 42)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return net.to(memory_format=layout), shape


def step(net: torch.nn.Module, x: torch.Tensor, bf16: bool):
    def run() -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            out = net(x)
        F.cross_entropy(
            out.float().flatten(0, -2), torch.zeros(len(out.flatten(0, -2)), dtype=torch.long)
        ).backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    machine = hardware.detect("cpu")
    bf16 = hardware.choose_precision(machine) == "bf16-mixed"
    channels_last = hardware.choose_channels_last(machine)
    print(
        f"{machine.name}, {machine.isa}, {torch.get_num_threads()} threads, torch "
        f"{torch.__version__}, {'bf16' if bf16 else 'fp32'}, channels-last {channels_last}\n"
    )
    rows = []
    for name in args.models.split(","):
        eager, shape = network(name, channels_last)
        compiled, _ = network(name, channels_last)
        compiled.load_state_dict(eager.state_dict())
        compiled.compile()
        layout = torch.channels_last if channels_last else torch.contiguous_format
        x = torch.rand(shape).contiguous(memory_format=layout)
        start = time.perf_counter()
        step(compiled, x, bf16)()
        step(compiled, x, bf16)()
        seconds = time.perf_counter() - start
        times = compare(
            {"eager": step(eager, x, bf16), "compiled": step(compiled, x, bf16)},
            repeats=args.repeats,
        )
        speedup = times["eager"] / times["compiled"]
        rows.append(
            [
                name,
                f"{times['eager'] * 1e3:.0f}",
                f"{times['compiled'] * 1e3:.0f}",
                f"{speedup:.2f}",
                f"{seconds:.0f}",
            ]
        )
        print(
            markdown_table(
                ["fwd+bwd", "eager ms", "compiled ms", "speed-up", "compile s"], rows[-1:]
            ),
            flush=True,
        )
    print()
    print(markdown_table(["fwd+bwd", "eager ms", "compiled ms", "speed-up", "compile s"], rows))


if __name__ == "__main__":
    main()
