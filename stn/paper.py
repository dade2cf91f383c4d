"""The paper's tables: their layout and published numbers (Jaderberg et al., 2015).

A table is rows × columns of cells; a run belongs to the cell whose row and column both
match its config (flattened keys such as ``task_name``, ``model.name``, ``stn.transform``).
``stn.report`` fills the cells from runs and prints ours beside the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """``rows`` and ``columns``: ``(label, {config key: value})``; ``paper``: the published
    number per ``(row label, column label)``; ``metric``: the logged metric (lower is better
    for errors)."""

    title: str
    metric: str
    rows: tuple[tuple[str, dict], ...]
    columns: tuple[tuple[str, dict], ...]
    paper: dict[tuple[str, str], float]


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


def _paper(rows, columns, values: list[list[float]]) -> dict[tuple[str, str], float]:
    return {
        (row[0], col[0]): value
        for row, line in zip(rows, values, strict=True)
        for col, value in zip(columns, line, strict=True)
    }


_T1_ROWS = _models()
_T1_COLUMNS = tuple(
    (name, {"task_name": f"mnist_{name.lower()}"}) for name in ("R", "RTS", "P", "E")
)
TABLE1 = Table(
    "Table 1: distorted MNIST, test error (%)",
    "test/err",
    _T1_ROWS,
    _T1_COLUMNS,
    _paper(
        _T1_ROWS,
        _T1_COLUMNS,
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
    ),
)

_TC_ROWS = _models(types=("affine",))
_TC_COLUMNS = (("TC", {"task_name": "mnist_tc"}),)
TC = Table(
    "Translated cluttered MNIST (60×60), test error (%)",
    "test/err",
    _TC_ROWS,
    _TC_COLUMNS,
    _paper(_TC_ROWS, _TC_COLUMNS, [[13.2], [3.5], [2.0], [1.7]]),
)

_T4_ROWS = _models()[:5] + tuple((f"2×{label}", m) for label, m in _models(n=2)[2:5])
_T4_COLUMNS = (("addition", {"task_name": "mnist_addition"}),)
TABLE4 = Table(
    "Table 4: MNIST addition, test error (%)",
    "test/err",
    _T4_ROWS,
    _T4_COLUMNS,
    _paper(_T4_ROWS, _T4_COLUMNS, [[47.7], [14.7], [22.6], [18.5], [19.1], [9.0], [5.9], [5.8]]),
)

# SVHN and CUB runs are matched by experiment (task_name) and input size (data.size).
_T2_ROWS = tuple(
    (label, {"task_name": f"svhn_{name}"})
    for label, name in (("CNN", "cnn"), ("ST-CNN Single", "single"), ("ST-CNN Multi", "multi"))
)
_T2_COLUMNS = (("64px", {"data.size": 64}), ("128px", {"data.size": 128}))
TABLE2 = Table(
    "Table 2: SVHN multi-digit, sequence error (%)",
    "test/seq_err",
    _T2_ROWS,
    _T2_COLUMNS,
    _paper(_T2_ROWS, _T2_COLUMNS, [[4.0, 5.6], [3.7, 3.9], [3.6, 3.9]]),
)

_T3_ROWS = (
    ("CNN (224px)", {"task_name": "cub_cnn", "data.size": 224}),
    ("2×ST-CNN 224px", {"task_name": "cub_2x", "data.size": 224}),
    ("2×ST-CNN 448px", {"task_name": "cub_2x", "data.size": 448}),
    ("4×ST-CNN 448px", {"task_name": "cub_4x", "data.size": 448}),
)
_T3_COLUMNS = (("accuracy", {}),)
TABLE3 = Table(
    "Table 3: CUB-200-2011, test accuracy (%)",
    "test/acc",
    _T3_ROWS,
    _T3_COLUMNS,
    _paper(_T3_ROWS, _T3_COLUMNS, [[82.3], [83.1], [83.9], [84.1]]),
)

TABLES = {"table1": TABLE1, "tc": TC, "table2": TABLE2, "table3": TABLE3, "table4": TABLE4}
