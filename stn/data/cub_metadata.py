"""CUB-200-2011's metadata as distributed, read by image id.

``<root>/images.txt`` (id, relative path), ``image_class_labels.txt`` (id, class id 1–200),
``train_test_split.txt`` (id, 1 = train), ``bounding_boxes.txt`` (id, x, y, width, height in
pixels), ``classes.txt`` (class id, name) and ``images/``. Every per-image file must list the
same ids; a malformed line, an unknown or repeated id, or a missing one is an error naming
the file and the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from stn.errors import MissingData, UsageError

URL = "https://data.caltech.edu/records/65de6-vp158"
FILES = ("images.txt", "image_class_labels.txt", "train_test_split.txt", "bounding_boxes.txt")


@dataclass
class CUBMetadata:
    """The images of CUB-200-2011 (or a subset), in id order.

    ``ids`` ``(N,)``; ``paths`` under ``root/images``; ``labels`` ``(N,)`` 0-based class
    indices; ``train`` ``(N,)`` bool; ``boxes`` ``(N, 4)`` x, y, width, height in pixels;
    ``classes`` every class name, by 0-based index.
    """

    root: Path
    ids: Tensor
    paths: list[Path]
    labels: Tensor
    train: Tensor
    boxes: Tensor
    classes: list[str]


def _read(path: Path, fields: int) -> dict[int, tuple[int, list[str]]]:
    """``{id: (line number, [the other fields])}`` of a whitespace-separated file of
    ``fields`` columns (with 2, the second may hold spaces)."""
    if not path.exists():
        raise MissingData(
            f"{path} is missing: extract CUB_200_2011.tgz ({URL}) so that its folder holds "
            f"{', '.join(FILES)}, classes.txt and images/ (python -m stn.data.download cub "
            f"does it), or point paths.data_dir (or $STN_DATA_DIR) at the folder holding it"
        )
    rows: dict[int, tuple[int, list[str]]] = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split(maxsplit=fields - 1) if fields == 2 else line.split()
            try:
                key = int(parts[0])
                if len(parts) != fields:
                    raise ValueError
            except ValueError:
                raise UsageError(
                    f"{path}:{number}: expected {fields} fields (an id first), got {line!r}"
                ) from None
            if key in rows:
                raise UsageError(f"{path}:{number}: image id {key} appears twice")
            rows[key] = number, [p.strip() for p in parts[1:]]
    return rows


def read_cub_metadata(root: str | os.PathLike) -> CUBMetadata:
    """The metadata under ``root`` (the extracted ``CUB_200_2011/``), checked for agreement."""
    root = Path(root)
    images, labels, split, boxes = (
        _read(root / name, n) for name, n in zip(FILES, (2, 2, 2, 5), strict=True)
    )
    classes = _read(root / "classes.txt", 2)
    ids = sorted(images)
    for name, rows in zip(FILES[1:], (labels, split, boxes), strict=True):
        if missing := sorted(set(ids) - set(rows)):
            raise UsageError(
                f"{root / name}: no line for image id {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + " listed in images.txt"
            )
        if unknown := sorted(set(rows) - set(ids)):
            line = rows[unknown[0]][0]
            raise UsageError(f"{root / name}:{line}: image id {unknown[0]} is not in images.txt")

    def numbers(rows: dict, name: str, kind: type) -> list[list]:
        out = []
        for i in ids:
            line, values = rows[i]
            try:
                out.append([kind(v) for v in values])
            except ValueError:
                raise UsageError(f"{root / name}:{line}: expected numbers, got {values}") from None
        return out

    class_ids = [c for (c,) in numbers(labels, FILES[1], int)]
    if bad := [c for c in class_ids if c not in classes]:
        raise UsageError(f"{root / FILES[1]}: class id {bad[0]} is not in classes.txt")
    is_train = [t for (t,) in numbers(split, FILES[2], int)]
    if bad := [t for t in is_train if t not in (0, 1)]:
        raise UsageError(f"{root / FILES[2]}: the split must be 0 or 1, got {bad[0]}")
    names = [classes[c][1][0] for c in sorted(classes)]
    index = {c: i for i, c in enumerate(sorted(classes))}
    return CUBMetadata(
        root=root,
        ids=torch.tensor(ids),
        paths=[root / "images" / images[i][1][0] for i in ids],
        labels=torch.tensor([index[c] for c in class_ids]),
        train=torch.tensor(is_train, dtype=torch.bool),
        boxes=torch.tensor(numbers(boxes, FILES[3], float)),
        classes=names,
    )
