"""The registry of datasets: a name → its ``SplitDataModule`` (``stn.data.datamodule``).

``create_datamodule(data)`` builds ``data["name"]`` from the ``data`` config, checked against
the dataset's constructor first (``stn.options.typed``). A config recorded before datasets
had names (``_target_: stn.data....DistortedMNIST``) is read by its class name, as data
(nothing in a run folder names code to run), and CUB's ``val_fraction`` of then becomes
today's ``val_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stn.data.cub import CUB200
from stn.data.cub_metadata import read_cub_metadata
from stn.data.datamodule import SplitDataModule
from stn.data.mnist import DistortedMNIST
from stn.data.svhn import MultiDigitSVHN
from stn.errors import UsageError
from stn.options import typed

DATASETS: dict[str, type[SplitDataModule]] = {
    "mnist": DistortedMNIST,
    "svhn": MultiDigitSVHN,
    "cub": CUB200,
}
# Older run folders name the class to instantiate (with Hydra options) instead.
RECORDED = {cls.__name__: name for name, cls in DATASETS.items()}
HYDRA_KEYS = ("_target_", "_convert_", "_recursive_")


def dataset_options(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The dataset ``data`` names and its options (the other keys)."""
    options = {k: v for k, v in data.items() if k not in ("name", *HYDRA_KEYS)}
    name = data.get("name")
    if name is None and "_target_" in data:
        name = RECORDED.get(str(data["_target_"]).rsplit(".", 1)[-1])
        if name is None:
            raise UsageError(
                f"data._target_={data['_target_']!r} is not a dataset of this suite (valid: "
                f"{', '.join(f'{c.__module__}.{c.__qualname__}' for c in DATASETS.values())}); "
                f"nothing named in a config is imported or run"
            )
        if name == "cub" and "val_fraction" in options:  # recorded before the common arguments
            meta = read_cub_metadata(Path(options["data_dir"]) / "CUB_200_2011")
            options["val_size"] = round(options.pop("val_fraction") * int(meta.train.sum()))
            options.setdefault("cache_dir", options["data_dir"])  # unused: CUB caches nothing
    if name not in DATASETS:
        raise UsageError(f"unknown data.name={name!r}; valid: {', '.join(DATASETS)}")
    return name, options


def create_datamodule(data: Mapping[str, Any]) -> SplitDataModule:
    """The dataset of the ``data`` config (not yet set up)."""
    name, options = dataset_options(data)
    return typed(DATASETS[name], options, "data", f"the {name} dataset")
