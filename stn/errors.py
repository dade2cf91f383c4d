"""Mistakes a user can fix (a wrong option, missing data, a run folder in use): their
message is the whole story, so the command line prints it alone, without a traceback
(``HYDRA_FULL_ERROR=1`` shows everything). Anything else keeps its traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the message alone explains, with its fix."""


class UsageError(UserError, ValueError):
    """A wrong value: an option, a file's contents, a checkpoint of another model."""


class MissingData(UserError, FileNotFoundError):
    """A file or folder the run needs is not where it was looked for."""
