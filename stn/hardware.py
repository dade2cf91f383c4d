"""The machine a run trains on, and the settings that are fast and right on it.

``precision=auto`` and ``channels_last=auto`` resolve by capability, ``threads=auto`` by the
cores this process may use and the jobs that share them. Explicit values always win. A
CPU computes bf16 natively only with AMX or AVX512-BF16; elsewhere bf16 autocast is
emulated and several times slower than fp32 (``scripts/bench_precision.py`` measures the
choice; ``experiments/benchmarks.md`` holds the figures).

Nothing here imports torch at module level, so the command line stays instant.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

from stn.errors import UsageError

AUTO = "auto"
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "64-true")
# oneDNN's ISA cap (``ONEDNN_MAX_CPU_ISA``) below which it has no bf16 kernels.
ONEDNN_BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "ALL")


@dataclass(frozen=True)
class HardwareOptions:
    """``trainer.precision``, ``channels_last`` and ``threads`` as configured (``auto``: the
    machine chooses, ``choose_*``), checked without looking at the machine or importing torch."""

    precision: str = AUTO
    channels_last: bool | str = AUTO
    threads: int | str = AUTO

    def __post_init__(self) -> None:
        if self.precision != AUTO and str(self.precision) not in PRECISIONS:
            raise UsageError(
                f"trainer.precision={self.precision!r} is not one of: {AUTO}, "
                f"{', '.join(PRECISIONS)}"
            )
        if self.channels_last != AUTO and not isinstance(self.channels_last, bool):
            raise UsageError(f"channels_last={self.channels_last!r} must be true, false or {AUTO}")
        threads = self.threads
        if threads != AUTO and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise UsageError(f"threads={threads!r} must be a positive integer or {AUTO}")


@dataclass(frozen=True)
class Machine:
    """What a run trains on: ``accelerator`` (``cpu`` or ``gpu``), the device's ``name`` (CPU
    model or GPU name), its ``isa`` (the CPU's vector ISA as ATen uses it, with ``+AMX`` /
    ``+AVX512-BF16``; a GPU's compute capability), whether it computes bf16 natively, and
    the CPU ``cores`` this process may use."""

    accelerator: str
    name: str
    isa: str
    native_bf16: bool
    cores: int

    def describe(self) -> dict:
        return asdict(self)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask: SLURM's and taskset's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_name() -> str:
    """The CPU's model name, e.g. ``AMD EPYC 7B13`` (``/proc/cpuinfo`` on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_bf16_features() -> list[str]:
    """The CPU's native bf16 features (``AMX``, ``AVX512-BF16``) that torch reports and
    oneDNN may use: none where ``ONEDNN_MAX_CPU_ISA`` caps it below them."""
    import torch

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "ALL"))
    if cap.upper() not in ONEDNN_BF16_ISAS:
        return []
    if hasattr(torch.cpu, "get_capabilities"):
        found = torch.cpu.get_capabilities()
        amx, avx512_bf16 = found.get("amx_bf16", False), found.get("avx512_bf16", False)
    else:  # torch < 2.9
        amx = torch.cpu._is_amx_tile_supported()
        avx512_bf16 = torch.cpu._is_avx512_bf16_supported()
    return [name for name, has in (("AMX", amx), ("AVX512-BF16", avx512_bf16)) if has]


def detect(accelerator: str = "cpu") -> Machine:
    """The machine for ``accelerator`` (``cpu``, ``gpu``/``cuda``, or ``auto``: a GPU if
    torch sees one)."""
    import torch

    gpu = accelerator in ("gpu", "cuda") or (accelerator == AUTO and torch.cuda.is_available())
    if gpu:
        if not torch.cuda.is_available():
            raise UsageError(
                f"trainer.accelerator={accelerator} but torch sees no CUDA device: "
                "use trainer=cpu (or trainer.accelerator=cpu)"
            )
        major, minor = torch.cuda.get_device_capability()
        return Machine(
            "gpu",
            torch.cuda.get_device_name(),
            f"sm_{major}{minor}",
            torch.cuda.is_bf16_supported(),
            usable_cores(),
        )
    bf16 = cpu_bf16_features()
    isa = "+".join([torch.backends.cpu.get_cpu_capability(), *bf16])
    return Machine("cpu", cpu_name(), isa, bool(bf16), usable_cores())


def choose_precision(machine: Machine, precision: str = AUTO) -> str:
    """``precision`` unless ``auto``: then ``bf16-mixed`` where the device computes bf16
    natively, else ``32-true`` on a CPU and ``16-mixed`` on a GPU."""
    if precision != AUTO:
        return str(HardwareOptions(precision=precision).precision)
    if machine.native_bf16:
        return "bf16-mixed"
    return "16-mixed" if machine.accelerator == "gpu" else "32-true"


def choose_channels_last(machine: Machine, channels_last: bool | str = AUTO) -> bool:
    """``channels_last`` unless ``auto``: then on. Convolutions run faster channels-last in
    every configuration measured (fp32 and bf16, AVX2 and AMX CPUs, GPUs' tensor cores)."""
    if channels_last == AUTO:
        return True
    return HardwareOptions(channels_last=channels_last).channels_last


def concurrent_jobs(launcher: dict | None, cores: int) -> int:
    """How many jobs of a sweep run at once on this machine: the joblib launcher's
    ``n_jobs`` (joblib's convention: -1 every core, -2 all but one, ...), capped at the
    cores; 1 for every other launcher (one job at a time here, or one per SLURM task)."""
    if not launcher or "joblib" not in str(launcher.get("_target_", "")):
        return 1
    n = int(launcher.get("n_jobs") or 1)
    n = n if n > 0 else cores + 1 + n
    return max(1, min(n, cores))


def choose_threads(machine: Machine, jobs: int, threads: int | str = AUTO) -> int:
    """Intra-op threads: ``threads`` unless ``auto``; then this job's share of the cores
    (at least one), so that ``jobs`` concurrent jobs never oversubscribe them."""
    if threads == AUTO:
        return max(1, machine.cores // max(1, jobs))
    return HardwareOptions(threads=threads).threads
