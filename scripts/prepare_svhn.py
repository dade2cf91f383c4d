"""Turn the extracted SVHN archives into the crop caches training reads.

    python scripts/prepare_svhn.py [--data-dir ../shared/data] [--sizes 64 128]

Expects ``<data-dir>/SVHN/{train,extra,test}/`` as extracted from ``train.tar.gz``,
``extra.tar.gz`` and ``test.tar.gz`` (http://ufldl.stanford.edu/housenumbers/); writes
``data/cache/svhn_<split>_<size>.h5``. Runs once; later calls find the caches.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from stn.data.svhn_cache import SPLITS, prepare
from stn.paths import default_data_dir

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "cache")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for size in args.sizes:
        for split in args.splits:
            out = prepare(args.data_dir, args.cache_dir, split, size)
            print(f"{split} {size}px: {len(out['labels'])} crops, {int(out['dropped'][0])} dropped")


if __name__ == "__main__":
    main()
