"""Side-by-side timing: candidates run interleaved, so machine noise hits them alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


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


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (for the console and for ``experiments/``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
