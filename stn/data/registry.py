"""The registry of datasets: a name → its ``SplitDataModule`` (``stn.data.datamodule``).

``create_datamodule(data)`` builds ``data["name"]`` from the ``data`` config, its options
checked first (``stn.data.options``, which also reads configs recorded by older versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stn.data.cub import CUB200
from stn.data.datamodule import SplitDataModule
from stn.data.mnist import DistortedMNIST
from stn.data.options import dataset_options
from stn.data.svhn import MultiDigitSVHN

DATASETS: dict[str, type[SplitDataModule]] = {
    "mnist": DistortedMNIST,
    "svhn": MultiDigitSVHN,
    "cub": CUB200,
}


def create_datamodule(data: Mapping[str, Any]) -> SplitDataModule:
    """The dataset of the ``data`` config (not yet set up)."""
    name, options = dataset_options(data)
    return DATASETS[name](**options)
