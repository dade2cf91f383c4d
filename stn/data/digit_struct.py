"""SVHN format 1's ``digitStruct.mat`` (MATLAB v7.3, i.e. HDF5), read fast.

The file holds ``/digitStruct/name`` and ``/digitStruct/bbox``, two ``(N, 1)`` arrays of
object references. A name points to a ``uint16`` character array; a bbox points to a group
with the fields ``height``, ``label``, ``left``, ``top``, ``width``, each a ``(1, 1)`` float
for a one-digit image, or an ``(n, 1)`` array of references to ``(1, 1)`` floats otherwise.

The widely copied parsers open one object at a time through h5py's high-level API, and take
minutes for the 33,402 records of ``train/``. Here the file is read into memory once, every
object is opened with h5py's low-level API (``h5r.dereference``, ``h5d.read`` into reused
buffers with memory types made once), which skips the high-level wrappers' per-object cost,
and the records are shared among processes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from dataclasses import dataclass

import h5py
import numpy as np

from stn.errors import UsageError

FIELDS = ("label", "left", "top", "width", "height")
FIELDS_B = tuple(name.encode() for name in FIELDS)
ALL = h5py.h5s.ALL
F8 = h5py.h5t.py_create(np.dtype("<f8"))  # the memory type made once, not per read


@dataclass
class DigitStruct:
    """The records of one split, column-wise.

    ``names[i]`` is record i's image file; its digits are ``boxes[start[i]:start[i + 1]]``,
    each row ``(label, left, top, width, height)`` (label 10 means the digit 0).
    """

    names: list[str]
    start: np.ndarray  # (N + 1,) int64
    boxes: np.ndarray  # (D, 5) float64

    def __len__(self) -> int:
        return len(self.names)

    def record(self, i: int) -> tuple[str, np.ndarray]:
        return self.names[i], self.boxes[self.start[i] : self.start[i + 1]]


RECORDS_PER_WORKER = 2000  # at least, so that starting a process pays


def read_digit_struct(path: str | os.PathLike, workers: int | None = None) -> DigitStruct:
    """Every record of ``path``, in file order, read by ``workers`` processes (default: one
    per CPU core, at most 4) each taking a contiguous share of the records."""
    with h5py.File(path, "r") as f:
        if "digitStruct/name" not in f or "digitStruct/bbox" not in f:
            raise UsageError(f"{path} is not an SVHN digitStruct.mat: no /digitStruct/name, bbox")
        n = len(f["digitStruct/name"])
    workers = max(1, min(workers or os.cpu_count() or 1, 4, n // RECORDS_PER_WORKER or 1))
    bounds = np.linspace(0, n, workers + 1).astype(int)
    shares = [(os.fspath(path), int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    if workers == 1:
        parts = [_read_share(*shares[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(_read_share, shares)
    names = [name for part in parts for name in part[0]]
    counts = np.concatenate([part[1] for part in parts])
    start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    boxes = np.concatenate([part[2] for part in parts]) if parts else np.zeros((0, 5))
    return DigitStruct(names, start, boxes.reshape(-1, 5))


def _read_share(path: str, first: int, stop: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Records ``first:stop``: names, digit counts, and boxes ``(D, 5)``."""
    with h5py.File(path, "r", driver="core") as f:  # the file in memory: no per-object IO
        fid = f.id
        name_refs = f["digitStruct/name"][first:stop].ravel()
        bbox_refs = f["digitStruct/bbox"][first:stop].ravel()
        names = []
        for ref in name_refs:
            dataset = h5py.h5r.dereference(ref, fid)
            chars = np.empty(dataset.shape, dtype=np.uint16)
            dataset.read(ALL, ALL, chars)
            names.append(chars.tobytes().decode("utf-16-le"))
        counts = np.empty(len(bbox_refs), dtype=np.int64)
        values: list[float] = []
        scalar = np.empty((1, 1))
        for i, ref in enumerate(bbox_refs):
            group = h5py.h5r.dereference(ref, fid)
            count = 0
            for name in FIELDS_B:
                field = h5py.h5d.open(group, name)
                count = count or field.shape[0]  # every field has one entry per digit
                if count == 1:  # one digit: the float is inline
                    field.read(ALL, ALL, scalar, F8)
                    values.append(scalar[0, 0])
                    continue
                refs = np.empty((count, 1), dtype=h5py.ref_dtype)
                field.read(ALL, ALL, refs)
                for item in refs[:, 0]:
                    h5py.h5r.dereference(item, fid).read(ALL, ALL, scalar, F8)
                    values.append(scalar[0, 0])
            counts[i] = count
    # values run field by field within each record: regroup them into (digit, field) rows.
    flat = np.asarray(values, dtype=np.float64)
    boxes, at = [], 0
    for count in counts:
        boxes.append(flat[at : at + 5 * count].reshape(5, count).T)
        at += 5 * count
    return names, counts, np.concatenate(boxes) if boxes else np.zeros((0, 5))


def write_digit_struct(path: str | os.PathLike, records: list[tuple[str, np.ndarray]]) -> None:
    """Write ``records`` (name, ``(n, 5)`` boxes as in ``DigitStruct``) in the layout MATLAB
    v7.3 gives ``digitStruct.mat``: for tests and benchmarks."""
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        counter = iter(range(10**9))

        def new(data) -> h5py.Reference:
            return refs.create_dataset(str(next(counter)), data=data).ref

        names = f.create_dataset("digitStruct/name", (len(records), 1), dtype=h5py.ref_dtype)
        bboxes = f.create_dataset("digitStruct/bbox", (len(records), 1), dtype=h5py.ref_dtype)
        for i, (name, boxes) in enumerate(records):
            chars = np.frombuffer(name.encode("utf-16-le"), dtype=np.uint16)
            names[i, 0] = new(chars.reshape(-1, 1))
            group = refs.create_group(f"bbox{i}")
            for column, field in zip(np.asarray(boxes, dtype=np.float64).T, FIELDS, strict=True):
                if len(column) == 1:  # MATLAB stores a one-digit record's fields inline
                    group.create_dataset(field, data=column.reshape(1, 1))
                else:
                    field_refs = [new(np.array([[v]])) for v in column]
                    group.create_dataset(
                        field, data=np.array(field_refs).reshape(-1, 1), dtype=h5py.ref_dtype
                    )
            bboxes[i, 0] = group.ref
