"""The paper's tables from our runs: ``python -m stn.runs.report PATH`` (or ``stn-report PATH``).

Finds every run under PATH, or under several (a folder holding the ``config.yaml`` that
``stn.train`` records, or a record of one, ``stn.runs.record``), reads its scalars (a run
folder's TensorBoard events with tensorboard's own reader, a record's CSV), places
it in the cell of each paper table whose row and column match its config, and prints ours
(mean ± std over seeds) beside the paper's with the difference. Runs still going and failed
runs are counted in their cells and listed, never dropped; runs that fit no table are listed
too. Writes ``report.md`` and ``report.csv`` to PATH (or ``--out``); ``--into PAGE`` writes
the tables into a Markdown page instead (``--block NAME``: into the page's block of that
name), and ``--brief`` leaves out all but the tables (for a README). Several PATHs combine
budgets in one page (e.g. Table 1 from one sweep, Table 4 from a longer one); a cell's runs
must then come from one of them, or they would count as seeds. Every report is headed by
the command that made it, so a page's tables can be made again from its records.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shlex
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from stn.files import write_text_atomic
from stn.runs.folder import configurations, trained
from stn.runs.paper import TABLES, Table
from stn.runs.run import CRASHED, DONE, UNREADABLE, Run, find_runs
from stn.runs.validation import validation as side_by_side


@dataclass
class Cell:
    """A table cell: its runs' values (one configuration, over seeds; a seed run again is
    counted once, and its repeats as ``duplicates``), or, where its runs differ in more than
    the seed, each configuration apart (``configurations``: its distinguishing options, and
    its own cell), never averaged together."""

    values: list[float] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)  # (machine, minutes) per run
    unfinished: int = 0
    failed: int = 0
    duplicates: int = 0
    seeds: set = field(default_factory=set)
    configurations: list[tuple[str, Cell]] = field(default_factory=list)

    def mean_std(self) -> tuple[float | None, float | None]:
        if not self.values:
            return None, None
        std = statistics.stdev(self.values) if len(self.values) > 1 else 0.0
        return statistics.fmean(self.values), std

    def add(self, run: Run, table: Table) -> None:
        if run.status == DONE and table.metric in run.scalars:
            seed = run.config.get("seed")
            if seed in self.seeds:  # the same configuration and seed again: not a new sample
                self.duplicates += 1
                return
            self.seeds.add(seed)
            error = run.scalars[table.metric]
            self.values.append(100 - error if table.accuracy else error)
            if run.minutes is not None:
                self.timings.append((run.machine, run.minutes))
        elif run.status == CRASHED:
            self.failed += 1
        else:  # still going, or finished without testing (test=false)
            self.unfinished += 1

    def minutes_by_machine(self) -> dict[str, float]:
        """Each machine's mean minutes per run: machines that differ many times in speed (a
        shared GPU, a 2-core CPU) are never averaged together, which would time neither."""
        by_machine: dict[str, list[float]] = {}
        for machine, minutes in self.timings:
            by_machine.setdefault(machine, []).append(minutes)
        return {machine: statistics.fmean(m) for machine, m in by_machine.items()}

    def minutes_text(self) -> str:
        """``7.7`` where one machine ran the cell, ``7.7 on A, 22.1 on B`` where several did."""
        means = self.minutes_by_machine()
        if len(means) <= 1:
            return next((f"{m:.1f}" for m in means.values()), "—")
        return ", ".join(f"{m:.1f} on {machine}" for machine, m in means.items())


def _cell(runs: list[Run], table: Table) -> Cell:
    groups = [[runs[i] for i in group] for group in configurations([r.config for r in runs])]
    cell = Cell()
    if len(groups) <= 1:
        for run in runs:
            cell.add(run, table)
        return cell
    firsts = [group[0].config for group in groups]
    shared = set.intersection(*(set(c) for c in firsts))
    differ = sorted(k for k in shared if trained(k) and len({repr(c[k]) for c in firsts}) > 1)
    for group, first in zip(groups, firsts, strict=True):
        cell.configurations.append(
            (", ".join(f"{k}={first[k]}" for k in differ), _cell(group, table))
        )
    return cell


def fill(table: Table, runs: list[Run]) -> tuple[dict[tuple[str, str], Cell], set[Path]]:
    """The table's cells from ``runs``, and the folders of the runs it placed."""
    members: dict[tuple[str, str], list[Run]] = {
        (r, c): [] for r, _ in table.rows for c, _ in table.columns
    }
    placed = set()
    for run in (r for r in runs if not r.partial):  # smoke runs never stand in for a cell
        for (row, row_sel), (col, col_sel) in ((r, c) for r in table.rows for c in table.columns):
            if run.matches(row_sel) and run.matches(col_sel):
                members[row, col].append(run)
                placed.add(run.path)
    return {key: _cell(found, table) for key, found in members.items()}, placed


def _cell_text(cell: Cell, paper: float | None) -> str:
    if cell.configurations:
        known = f" [{paper:g}]" if paper is not None else ""
        return f"—{known} {len(cell.configurations)} configurations (listed below)"
    mean, std = cell.mean_std()
    parts = []
    if mean is not None:
        ours = f"{mean:.2f}" + (f" ± {std:.2f}" if len(cell.values) > 1 else "")
        ours += f" (n={len(cell.values)})" if len(cell.values) > 1 else ""
        parts.append(ours)
        if paper is not None:
            parts.append(f"[{paper:g}, {mean - paper:+.2f}]")
    else:
        parts.append("—" + (f" [{paper:g}]" if paper is not None else ""))
    if cell.unfinished:
        parts.append(f"{cell.unfinished} unfinished")
    if cell.failed:
        parts.append(f"{cell.failed} failed")
    if cell.duplicates:
        parts.append(f"{cell.duplicates} duplicate seed{'s' if cell.duplicates > 1 else ''}")
    return " ".join(parts)


# The closeness the pages count: two binomial standard errors of a 1-2 % error on 10,000
# test digits, the difference one seed cannot resolve.
NEAR = 0.3


def _near_the_paper(table: Table, cells: dict[tuple[str, str], Cell]) -> tuple[int, int, int]:
    """Of the cells with a number and a paper's number (as shown, to the hundredth): how many
    are within ``NEAR`` points of the paper's, how many are within or below it (no more than
    ``NEAR`` worse), and how many such cells there are."""
    diffs = []
    for key, cell in cells.items():
        mean = cell.mean_std()[0]
        if key in table.paper and mean is not None and not cell.configurations:
            diffs.append(round(mean - table.paper[key], 2))
    return sum(abs(d) <= NEAR for d in diffs), sum(d <= NEAR for d in diffs), len(diffs)


def markdown(table: Table, cells: dict[tuple[str, str], Cell], minutes: bool = True) -> str:
    """The table in Markdown: each cell ``ours ± std (n) [paper, ours − paper]``; then, if
    ``minutes`` and any run is finished, the minutes per run of each cell."""

    def grid(text) -> list[str]:  # the table's rows × columns, each cell's text(row, column)
        header = "| " + " | ".join(["model", *(c for c, _ in table.columns)]) + " |"
        lines = [header, "|" + "---|" * (1 + len(table.columns))]
        for row, _ in table.rows:
            lines.append(f"| {row} | " + " | ".join(text(row, c) for c, _ in table.columns) + " |")
        return lines

    lines = [f"### {table.title}", ""]
    lines += grid(lambda row, col: _cell_text(cells[row, col], table.paper.get((row, col))))
    near, not_worse, numbered = _near_the_paper(table, cells)
    if numbered:
        lines += [
            "",
            f"Within {NEAR:g} points of the paper's: {near} of the {numbered} "
            f"cell{'s' * (numbered > 1)} with a number (of the paper's {len(table.paper)}); "
            f"within {NEAR:g} points or below it: {not_worse}.",
        ]
    several = [(key, cell) for key, cell in cells.items() if cell.configurations]
    if several:
        lines += [
            "",
            "Cells whose runs differ in more than the seed, each configuration apart:",
            "",
        ]
        for (row, col), cell in several:
            paper = table.paper.get((row, col))
            for options, sub in cell.configurations:
                lines.append(f"- {row}, {col}, `{options}`: {_cell_text(sub, paper)}")
    if minutes and any(cell.timings for cell in cells.values()):
        lines += [
            "",
            "Minutes per run (training time, pauses left out; mean over seeds, each machine's "
            "apart):",
            "",
        ]

        lines += grid(lambda row, col: cells[row, col].minutes_text())
    return "\n".join(lines)


CSV_FIELDS = [
    *("table", "row", "column", "configuration", "n", "mean", "std", "paper", "diff"),
    *("minutes", "minutes_per_machine", "unfinished", "failed", "duplicates"),
]


def csv_rows(name: str, table: Table, cells: dict[tuple[str, str], Cell]) -> list[dict]:
    """One row per cell; a cell of several configurations, one row per configuration.
    ``minutes`` is the mean per run where one machine ran them all, blank where several did;
    ``minutes_per_machine`` gives each machine's, as a JSON object."""
    rows = []
    for (row, col), cell in cells.items():
        for options, part in cell.configurations or [("", cell)]:
            mean, std = part.mean_std()
            paper = table.paper.get((row, col))
            diff = mean - paper if mean is not None and paper is not None else None
            means = part.minutes_by_machine()
            minutes = next(iter(means.values())) if len(means) == 1 else None
            values = [name, row, col, options, len(part.values), mean, std, paper, diff]
            values += [minutes, json.dumps(means) if means else None]
            counts = [part.unfinished, part.failed, part.duplicates]
            rows.append(dict(zip(CSV_FIELDS, [*values, *counts], strict=True)))
    return rows


def report(
    roots: list[Path],
    names: list[str] | None = None,
    brief: bool = False,
    command: str | None = None,
    validation: bool = False,
) -> tuple[str, list[dict]]:
    """Markdown and CSV rows of the tables ``names`` (default: those with any run) from the
    runs (or records) under ``roots``; ``brief`` Markdown has the tables alone, without
    minutes or the lists of runs (each run named by its folder). ``command``, the command
    line that made it, heads the Markdown, so a reader can make it again. ``validation``:
    instead of the tables, the runs side by side on validation alone (``stn.runs.validation``)."""
    by_folder = {run.path.resolve(): run for root in roots for run in find_runs(root)}
    runs = list(by_folder.values())  # a run under two of the roots counts once
    where = f"{len(runs)} runs under " + " and ".join(f"`{root}`" for root in roots)
    if validation:
        table, rows = side_by_side(runs)
        head = f"{where}, on the validation split (no test numbers)."
        return _page(command, head, [table]), rows
    sections, rows, placed, shown = [], [], set(), set()
    for name, table in TABLES.items():
        cells, found = fill(table, runs)
        placed |= found  # a run of a table not shown is not "outside the tables"
        if (found and not names) or (names and name in names):
            shown |= found
            sections.append(markdown(table, cells, minutes=not brief))
            rows += csv_rows(name, table, cells)
    listed = [] if brief else runs
    smoke = [run for run in listed if run.partial and run.status != UNREADABLE]
    broken = [run for run in runs if run.status == UNREADABLE]  # listed even when brief
    loose = [
        run
        for run in listed
        if run.path not in placed and not run.partial and run.status != UNREADABLE
    ]
    if broken:
        lines = ["### Unreadable runs (in no table)", ""]
        lines += [f"- `{r.path}`: {r.reason}" for r in broken]
        sections.append("\n".join(lines))
    if smoke:
        lines = ["### Smoke and partial runs (in no table)", ""]
        lines += [f"- `{r.path}`: {r.status}, {', '.join(r.partial)}" for r in smoke]
        sections.append("\n".join(lines))
    if loose:
        lines = ["### Runs outside these tables", ""]
        for run in loose:
            key = "test/err" if "test/err" in run.scalars else "val/err"
            value = f", {key} {run.scalars[key]:.2f}" if key in run.scalars else ""
            lines.append(f"- `{run.path}`: {run.status}{value}")
        sections.append("\n".join(lines))
    unfinished = [
        r
        for r in listed
        if r.status not in (DONE, UNREADABLE)
        and not r.partial
        and (r.path in shown or r.path not in placed)
    ]
    if unfinished:
        lines = ["### Unfinished and failed runs", ""]
        lines += [f"- `{r.path}`: {r.status}" for r in unfinished]
        sections.append("\n".join(lines))
    head = f"{where}; cells: ours ± std (n seeds) [paper, ours − paper]."
    return _page(command, head, sections), rows


def _page(command: str | None, head: str, sections: list[str]) -> str:
    """A report's Markdown: headed by the ``command`` that made it, if given, then ``head``."""
    if command:
        head = f"Generated by `{command}`.\n{head}"
    return "\n\n".join([head, *sections]) + "\n"


COMMAND = "python -m stn.runs.report"


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line's arguments, checked (a mistake exits with the parser's message)."""
    parser = argparse.ArgumentParser(
        prog="stn-report", description="The paper's tables from the runs under PATH."
    )
    parser.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="PATH",
        help="run, multirun or records folders (multirun/, experiments/records/BLOCK)",
    )
    parser.add_argument("--tables", help=f"comma-separated, of: {', '.join(TABLES)}")
    parser.add_argument(
        "--out", type=Path, help="where report.md and report.csv go (PATH; none with --into)"
    )
    parser.add_argument(
        "--into", type=Path, help=f"write the tables into a page, between {' and '.join(marks())}"
    )
    parser.add_argument(
        "--block",
        metavar="NAME",
        help=f"with --into: the page's block NAME, between {' and '.join(marks('NAME'))}",
    )
    parser.add_argument("--brief", action="store_true", help="the tables only (no minutes, lists)")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="instead of the tables, the runs side by side on validation: what sets each apart, "
        "best val/err, last epoch's train/loss, minutes, machine (no test numbers)",
    )
    args = parser.parse_args(argv)
    for path in args.paths:
        if not path.is_dir():
            parser.error(f"{path} is not a folder")
    if len(args.paths) > 1 and not (args.out or args.into):
        parser.error("with several PATHs, say where the report goes: --out or --into")
    names = args.tables.split(",") if args.tables else None
    unknown = set(names or ()) - set(TABLES)
    if unknown:
        parser.error(f"unknown table(s) {', '.join(sorted(unknown))}; valid: {', '.join(TABLES)}")
    if args.validation and (names or args.brief):
        parser.error("--validation shows no paper table: leave out --tables and --brief")
    if args.block and not args.into:
        parser.error(f"--block {args.block} names a block of a page: give the page with --into")
    if args.into:  # said before the runs are read, not after
        try:
            block_span(args.into.read_text(), args.block)
        except OSError as err:
            parser.error(f"--into {args.into}: {err.strerror or err}")
        except ValueError as err:
            parser.error(f"--into {args.into}: {err}")
    args.names = names
    return args


def render(argv: list[str]) -> tuple[argparse.Namespace, str, list[dict]]:
    """``(args, markdown, csv rows)`` of the command line ``argv``, headed by the command."""
    args = parse(argv)
    command = " ".join([COMMAND, *map(shlex.quote, argv)])
    return args, *report(args.paths, args.names, args.brief, command, args.validation)


def main(argv: list[str] | None = None) -> None:
    args, text, rows = render(sys.argv[1:] if argv is None else argv)
    print(text)
    out = args.out or (None if args.into else args.paths[0])
    if out:
        write_text_atomic(out / "report.md", text)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, list(rows[0]) if args.validation and rows else CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(out / "report.csv", buffer.getvalue())
    if args.into:
        write_text_atomic(args.into, into_page(args.into.read_text(), text, args.block))


def marks(block: str | None = None) -> tuple[str, str]:
    """The two comments between which ``--into`` writes; ``block`` names one of a page's
    several (the README has one per table, so each is rewritten where its runs are)."""
    name = f" {block}" if block else ""
    return f"<!-- stn.runs.report{name} -->", f"<!-- /stn.runs.report{name} -->"


def block_span(page: str, block: str | None = None) -> tuple[int, int]:
    """Where the text between ``page``'s ``marks(block)`` starts and ends."""
    first, last = marks(block)
    start, end = page.find(first), page.find(last)
    if start < 0 or end < start:
        raise ValueError(
            f"the page has no {first} ... {last} block for the tables: add those two lines"
            " where they should go"
        )
    return start + len(first), end


def into_page(page: str, text: str, block: str | None = None) -> str:
    """``page`` with what lies between its ``marks(block)`` replaced by ``text``."""
    start, end = block_span(page, block)
    return page[:start] + "\n" + text + page[end:]


if __name__ == "__main__":
    main()
