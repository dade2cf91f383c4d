"""What the tools' command lines share: a wrong number is refused by the parser, with its
usage line and exit code 2, before any run is read; an output file is checked before any
work; and a user's mistake is one paragraph, as ``train.py`` gives it."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path

from stn.errors import UsageError, UserError
from stn.runs.folder import is_record


def count(minimum: int):
    """An ``argparse`` type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer of at least {minimum}")
        return value

    return parse


def positive(text: str) -> float:
    """An ``argparse`` type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


@contextlib.contextmanager
def user_errors(prog: str):
    """Answer a user's mistake as ``train.py`` does: ``prog: message``, one paragraph, exit
    code 1, no traceback (a missing or unreadable file among them); anything else keeps its
    traceback."""
    try:
        yield
    except (UserError, OSError) as err:
        message = (
            f"{err.strerror}: {err.filename}" if isinstance(err, OSError) and err.filename else err
        )
        sys.exit(f"{prog}: {message}")


def output_file(path: Path) -> Path:
    """``path``, a file to be written, checked before any work: not a folder, its folder
    made."""
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder: give the file to write, e.g. {path}/out.png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {path}: cannot make its folder ({err.strerror})") from err
    return path


def beside(run: Path, name: str) -> Path:
    """``run / name``, where a tool writes when no ``--out`` is given; refused for a record,
    whose folder is the repository's evidence."""
    if is_record(run):
        raise UsageError(f"{run} is a record, kept in the repository: give --out")
    return run / name
