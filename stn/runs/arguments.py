"""Argument types the tools' command lines share: a wrong number is refused by the parser,
with its usage line and exit code 2, before any run is read."""

from __future__ import annotations

import argparse


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
