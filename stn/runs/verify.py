"""Check a record's number: ``python -m stn.runs.verify [RECORD_OR_FOLDER...]``.

Rebuilds each recorded network through the registries (``stn.models.zoo``; never from
anything a record names), loads its weights, evaluates the real test set of its data config
(its distortions regenerated from the recorded seed) in the recorded precision (or
``--precision``) and memory format, and prints the recorded test error beside the
recomputed one, in images.

The count must be identical where the recorded precision runs on the same ISA. Elsewhere
(another ISA, another precision, or bf16 emulated where the CPU has no native bf16) the
kernels round differently, and a few images near a decision boundary may change their
prediction: up to ``--tolerance`` images (default ``TOLERANCE`` in the recorded precision,
``PRECISION_TOLERANCE`` in another; both measured in ``experiments/records.md``). Exits 1
where a difference is larger.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stn.errors import UserError
from stn.hardware import PRECISIONS
from stn.runs.arguments import count
from stn.runs.folder import FACTS

# Images of a 10,000-image test set whose prediction may change, twice the largest change
# measured (experiments/records.md): in the recorded precision on another ISA or device (0
# between CPUs, up to 4 for a GPU's record on a CPU), and in another precision (fp32 for
# bf16: up to 7).
TOLERANCE, PRECISION_TOLERANCE = 8, 15


@dataclass
class Verdict:
    """A record's test error, recorded and recomputed, as counts of misread images."""

    name: str
    images: int
    recorded: int
    recomputed: int
    same_machine: bool
    seconds: float

    @property
    def difference(self) -> int:
        return abs(self.recomputed - self.recorded)

    def ok(self, tolerance: int) -> bool:
        return self.difference <= (0 if self.same_machine else tolerance)

    def line(self, tolerance: int) -> str:
        pct = lambda n: f"{100 * n / self.images:.2f} % ({n}/{self.images})"  # noqa: E731
        allowed = "same ISA and precision: identical" if self.same_machine else f"≤ {tolerance}"
        verdict = "ok" if self.ok(tolerance) else "MISMATCH"
        return (
            f"{self.name}: recorded {pct(self.recorded)}, recomputed {pct(self.recomputed)}, "
            f"Δ {self.difference} images ({allowed}) {verdict}, {self.seconds:.1f} s"
        )


def find(paths: list[Path]) -> list[Path]:
    """The records in ``paths``: each a record, or a folder of records."""
    found = []
    for path in paths:
        from stn.models.zoo import find_records  # torch: after the arguments

        records = find_records(path)
        if not records:
            raise UserError(f"{path} holds no record (no {FACTS} in or under it)")
        found += records
    return found


def verify(
    path: Path,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    precision: str | None = None,
) -> Verdict:
    """Evaluate the record in ``path`` on its test set, its data read from ``data_dir`` and
    generated into ``cache_dir`` (defaults: ``stn.runs.trained.load_data``), in
    ``precision`` (default: the recorded one)."""
    import torch

    from stn import hardware
    from stn.models.zoo import load_record, read_record
    from stn.runs.trained import batches, load_data
    from stn.tasks.classification import Classification

    start = time.perf_counter()
    _, facts, metrics = read_record(path)
    net = load_record(path)
    data = load_data(path, data_dir, cache_dir)
    precision = precision or facts["precision"]
    autocast = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    dtype = torch.float64 if precision == "64-true" else torch.float32
    net = net.to(dtype)
    channels_last = bool(facts.get("channels_last"))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    wrong = images = 0
    with torch.inference_mode():
        for x, y, _ in batches(data, "test"):
            x = x.to(dtype)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            context = (
                torch.autocast("cpu", dtype=autocast) if autocast else contextlib.nullcontext()
            )
            with context:
                logits = net(x)
            wrong += round(float(Classification.errors(logits, y)["err"]) * len(y) / 100)
            images += len(y)
    machine = hardware.detect("cpu")
    recorded = facts["machine"]
    same = (
        recorded.get("accelerator") == "cpu"
        and recorded.get("isa") == machine.isa
        and precision == facts["precision"]
    )
    return Verdict(
        facts["name"],
        images,
        round(metrics["test/err"] * images / 100),
        wrong,
        same,
        time.perf_counter() - start,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="stn-verify",
        description="Recompute each record's test error from its weights and the real data.",
    )
    parser.add_argument(
        "paths", type=Path, nargs="*", metavar="RECORD", help="records or folders of records"
    )
    parser.add_argument("--data-dir", type=Path, help="the datasets (default: as train.py)")
    parser.add_argument("--cache-dir", type=Path, help="generated test sets (data/cache)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="evaluate in this precision instead of the recorded one (then within --tolerance)",
    )
    parser.add_argument(
        "--tolerance",
        type=count(0),
        help=f"images that may differ on another ISA (default {TOLERANCE}) or in another "
        f"--precision (default {PRECISION_TOLERANCE})",
    )
    args = parser.parse_args(argv)
    from stn.models.zoo import records_dir  # torch: after the arguments

    if args.tolerance is None:
        args.tolerance = PRECISION_TOLERANCE if args.precision else TOLERANCE
    failed = 0
    try:
        records = find(args.paths or [records_dir()])
        for path in records:
            verdict = verify(path, args.data_dir, args.cache_dir, args.precision)
            print(verdict.line(args.tolerance), flush=True)
            failed += not verdict.ok(args.tolerance)
    except UserError as err:
        sys.exit(f"stn-verify: {err}")
    print(f"{len(records) - failed} of {len(records)} records verified")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
