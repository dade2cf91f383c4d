"""Side-by-side timing: candidates run interleaved, so machine noise hits them alike."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

# Env that makes this CPU compute as one without native bf16 would (AVX2, no AVX-512, no
# AMX): ATen's kernels and oneDNN's both capped at AVX2.
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def compare(
    candidates: dict[str, Callable[[], object]], repeats: int = 20, warmup: int = 3
) -> dict[str, float]:
    """Median seconds per call of each candidate, measured round-robin.

    Each round calls every candidate once, in turn, starting one further along each round
    so that none always follows the same neighbour (a candidate that frees a lot of memory
    makes the next one pay for fresh pages). The median over ``repeats`` rounds is robust
    to the bursts of load a shared machine has.
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            fn = candidates[name]
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def mnist_config(*overrides: str) -> DictConfig:
    """The resolved ``mnist_rts`` config with ``overrides``, writing to a temporary folder."""
    from hydra import compose, initialize_config_dir

    from stn.train import CONFIGS

    out = f"paths.output_dir={tempfile.mkdtemp()}"
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=mnist_rts", out, *overrides])
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def mnist_task(stn: str = "affine", channels_last: bool = False, **overrides: str):
    """The ``Classification`` module of ``mnist_rts`` (``stn=...``, 42×42 inputs), as the
    harness builds it; ``overrides`` are config keys (``model="fcn"``)."""
    from stn.tasks.classification import Classification

    extra = [f"{key.replace('__', '.')}={value}" for key, value in overrides.items()]
    cfg = OmegaConf.to_container(mnist_config(f"stn={stn}", *extra))
    return Classification(cfg["model"], cfg["stn"], cfg["schedule"], [1, 42, 42], 10, channels_last)


def training_step(module: torch.nn.Module, bf16: bool = False):
    """``step(x, y)``: forward (bf16 autocast if ``bf16``), cross-entropy, backward and the
    configured optimiser's step, as one training iteration runs."""
    from stn.tasks.classification import OPTIMISERS

    schedule = module.hparams.schedule
    opt = OPTIMISERS[schedule["optimizer"]](module.parameters(), schedule)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(module(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (for the console and for ``experiments/``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
