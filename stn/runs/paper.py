"""The paper's tables: their layout and published numbers (Jaderberg et al., 2015).

A table is rows × columns of cells; a run belongs to the cell whose row and column both
match its config (flattened keys such as ``task_name``, ``model.name``, ``stn.transform``).
``stn.runs.report`` fills the cells from runs and prints ours beside the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """``rows`` and ``columns``: ``(label, {config key: value})``; ``paper``: the published
    number per ``(row label, column label)``; ``metric``: the logged error (%) the cells
    show, or with ``accuracy`` its complement, 100 − error."""

    title: str
    metric: str
    rows: tuple[tuple[str, dict], ...]
    columns: tuple[tuple[str, dict], ...]
    paper: dict[tuple[str, str], float]
    accuracy: bool = False


SHORT = {"affine": "Aff", "projective": "Proj", "tps": "TPS"}


def _models(types=tuple(SHORT), n: int = 1) -> tuple[tuple[str, dict], ...]:
    """Rows FCN, CNN, then ST-FCN and ST-CNN per transform type (labelled by the type when
    there are several)."""
    rows = [(m.upper(), {"model.name": m, "stn.transform": "none"}) for m in ("fcn", "cnn")]
    for model in ("fcn", "cnn"):
        for t in types:
            label = f"ST-{model.upper()}" + (f" {SHORT[t]}" if len(types) > 1 else "")
            rows.append((label, {"model.name": model, "stn.transform": t, "stn.n": n}))
    return tuple(rows)


def _table(
    title: str, metric: str, rows, columns, paper: list[list[float]], accuracy: bool = False
) -> Table:
    """A ``Table`` whose published numbers are given as a grid in row and column order."""
    numbers = {
        (row, col): value
        for (row, _), line in zip(rows, paper, strict=True)
        for (col, _), value in zip(columns, line, strict=True)
    }
    return Table(title, metric, tuple(rows), tuple(columns), numbers, accuracy)


TABLE1 = _table(
    "Table 1: distorted MNIST, test error (%)",
    "test/err",
    _models(),
    [(name, {"task_name": f"mnist_{name.lower()}"}) for name in ("R", "RTS", "P", "E")],
    [
        [2.1, 5.2, 3.1, 3.2],
        [1.2, 0.8, 1.5, 1.4],
        [1.2, 0.8, 1.5, 2.7],
        [1.3, 0.9, 1.4, 2.6],
        [1.1, 0.8, 1.4, 2.4],
        [0.7, 0.5, 0.8, 1.2],
        [0.8, 0.6, 0.8, 1.3],
        [0.7, 0.5, 0.8, 1.1],
    ],
)

TC = _table(
    "Translated cluttered MNIST (60×60), test error (%)",
    "test/err",
    _models(types=("affine",)),
    [("TC", {"task_name": "mnist_tc"})],
    [[13.2], [3.5], [2.0], [1.7]],
)

TABLE4 = _table(
    "Table 4: MNIST addition, test error (%)",
    "test/err",
    _models()[:5] + tuple((f"2×{label}", m) for label, m in _models(n=2)[2:5]),
    [("addition", {"task_name": "mnist_addition"})],
    [[47.7], [14.7], [22.6], [18.5], [19.1], [9.0], [5.9], [5.8]],
)

# SVHN and CUB runs are matched by experiment (task_name) and input size (data.size).
TABLE2 = _table(
    "Table 2: SVHN multi-digit, sequence error (%)",
    "test/err",  # the sequence error: every digit of the number right
    [
        (label, {"task_name": f"svhn_{name}"})
        for label, name in (("CNN", "cnn"), ("ST-CNN Single", "single"), ("ST-CNN Multi", "multi"))
    ],
    [("64px", {"data.size": 64}), ("128px", {"data.size": 128})],
    [[4.0, 5.6], [3.7, 3.9], [3.6, 3.9]],
)

TABLE3 = _table(
    "Table 3: CUB-200-2011, test accuracy (%)",
    "test/err",
    [
        ("CNN (224px)", {"task_name": "cub_cnn", "data.size": 224}),
        ("2×ST-CNN 224px", {"task_name": "cub_2x", "data.size": 224}),
        ("2×ST-CNN 448px", {"task_name": "cub_2x", "data.size": 448}),
        ("4×ST-CNN 448px", {"task_name": "cub_4x", "data.size": 448}),
    ],
    [("accuracy", {})],
    [[82.3], [83.1], [83.9], [84.1]],
    accuracy=True,
)

TABLES = {"table1": TABLE1, "tc": TC, "table2": TABLE2, "table3": TABLE3, "table4": TABLE4}
