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


def commit(root: Path | None = None) -> str | None:
    """The git commit the checkout ``root`` (default: the project's) is at, ``+dirty`` when
    tracked files differ from it; ``None`` outside a git checkout."""
    import subprocess

    root = root or project_root()
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if head.returncode != 0:
            return None
        changed = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        )
    except OSError:  # no git
        return None
    return head.stdout.strip() + ("+dirty" if changed.stdout.strip() else "")
