"""Uncaught exceptions end the whole job, not just one rank.

Without this, a rank that dies leaves the others waiting forever in their next
collective call. :func:`install` (called by ``init()`` in a world above 1)
replaces ``sys.excepthook`` and ``threading.excepthook``: the traceback is
printed to stderr with every line prefixed ``rank K:``, then ``MPI_Abort``
ends every rank of the job and the launcher exits non-zero.
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

from . import _mpi


def report(rank: int, exc_type: Any, exc: Any, tb: Any) -> str:
    """The traceback as printed by the hook, every line prefixed with ``rank K: ``."""
    text = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")
    return "".join(f"rank {rank}: {line}\n" for line in text.split("\n"))


def fail(comm: Any, rank: int, size: int, exc_type: Any, exc: Any, tb: Any) -> None:
    """Print the traceback, every line prefixed ``rank K:``, and abort all ``size`` ranks."""
    try:
        sys.stderr.write(report(rank, exc_type, exc, tb))
        sys.stderr.write(f"rank {rank}: uncaught {exc_type.__name__}, aborting all {size} ranks\n")
        sys.stderr.flush()
    finally:
        _mpi.abort(comm, 1)


def install(comm: Any, rank: int, size: int) -> None:
    """Makes an uncaught exception on this rank print its traceback and abort all ``size`` ranks."""

    def _die(exc_type: Any, exc: Any, tb: Any) -> None:
        fail(comm, rank, size, exc_type, exc, tb)

    def _thread_hook(args: Any) -> None:
        if args.exc_type is SystemExit:
            return
        _die(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = _die
    threading.excepthook = _thread_hook
