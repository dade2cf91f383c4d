"""Where the suite's folders are: the project root and the data folder.

The data folder, for every dataset, is the first of: ``paths.data_dir`` given on the
command line or in a config; ``$STN_DATA_DIR``; ``<project root>/data`` (beside the caches
in ``data/cache``). MNIST downloads itself there; SVHN and CUB are extracted there by hand or by
``python -m stn.data.download``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "STN_DATA_DIR"


def project_root() -> Path:
    """The checkout holding ``configs/`` (an installed package: the working directory)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "configs").is_dir() else Path.cwd()


def default_data_dir() -> Path:
    """``$STN_DATA_DIR`` if set, else ``<project root>/data``."""
    return Path(os.environ.get(ENV_VAR) or project_root() / "data")
