"""One writer per run folder: ``<run>/LOCK`` holds the host and pid of the process training
there. A second process (the same command started twice, a requeued job beside a live one)
stops at once naming the first; a lock left by a process that died is taken over."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from stn.errors import UserError

LOCK = "LOCK"
log = logging.getLogger(__name__)


class RunInUse(UserError, RuntimeError):
    """Another live process trains in this run folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class RunLock:
    """``with RunLock(folder):`` holds ``folder/LOCK`` for this process."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / LOCK
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):  # a second try after taking over a dead process's lock
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                self._take_over_or_refuse()
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.me, f)
            return self
        raise RunInUse(f"{self.path} keeps being taken by another process: try again")

    def _take_over_or_refuse(self) -> None:
        try:
            holder = json.loads(self.path.read_text())
            host, pid = holder["host"], int(holder["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            host, pid = None, None  # unreadable: half-written by a process killed at once
        if host == self.me["host"] and pid is not None and _alive(pid):
            raise RunInUse(
                f"{self.path.parent} is in use by process {pid} on {host} (the same run started "
                f"twice?): wait for it to end, or stop it; then run this again"
            )
        if host is not None and host != self.me["host"]:
            raise RunInUse(
                f"{self.path.parent} is in use by process {pid} on {host}, which this machine "
                f"cannot check: if that run is dead, delete {self.path} and run this again"
            )
        log.warning("taking over %s, left by process %s, which is gone", self.path, pid)
        self.path.unlink(missing_ok=True)

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
