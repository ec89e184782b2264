"""How the launcher starts each rank: ``python -m tinygrad_lite.distributed._run script.py [args ...]``.

It runs ``script.py`` as ``__main__`` with ``sys.argv`` and ``sys.path[0]`` as
``python script.py`` would set them. An exception raised after ``init()`` already
ends the whole job (``_abort``, installed by ``init()``); one raised before it (a
data file missing on one machine, before the script calls ``init()``) is caught
here and ends the job the same way. ``sys.exit`` with a non-zero status does not
reach an exception hook either: the other ranks would wait forever in their next
collective. Here such an exit prints ``rank K: exited with status S`` and ends
every rank of the job, with that status. A script that ends normally makes one last
exchange (``script_ended``), after joining the world if it never called ``init()``: a rank
still calling collectives then raises on every rank instead of waiting for the rank that is
gone. Started by ``mpiexec`` or ``srun`` directly, a rank that called ``init()`` makes the same
last exchange when its interpreter exits (``sys.exit`` too; ``init()`` registers it with ``atexit``).
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any, Optional

from . import _abort, _mpi


def _status(code: Any) -> int:
    """The process exit status ``sys.exit(code)`` gives (a message means status 1)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def abort_job(code: Any) -> None:
    """After ``sys.exit(code)`` with a non-zero status on this rank: say so on stderr and end
    every rank of the job (nothing happens in a world of one process)."""
    comm = _mpi.connect()
    if comm is None:
        return
    rank, size = _mpi.rank_and_size(comm)
    if size < 2:
        return
    said = "" if isinstance(code, int) else f"rank {rank}: {code}\n"
    sys.stderr.write(f"{said}rank {rank}: exited with status {_status(code)}, aborting all {size} ranks\n")
    _mpi.abort(comm, _status(code))  # (after the launcher has passed the message on)


def script_ended() -> None:
    """The last exchange of a rank whose script ended normally: a rank that still calls a
    collective meets it and every rank raises, instead of waiting for one that is gone. A
    rank whose script never called ``init()`` joins the world first (the other ranks' ``init()``
    waits for every rank of the job to start MPI)."""
    dist = sys.modules[__package__]  # (the package, whose init() the script called, or not)
    if getattr(dist, "_ended", False):  # (once: the launcher calls it, and so does the exit hook init() set)
        return
    if not dist._initialized and _mpi.launched():
        dist.init()
    if dist._initialized and dist._size > 1:
        dist._ended = True
        dist._exchange_headers(dist._header(4, False), None)


def main(argv: Optional[list] = None) -> None:
    """Runs ``argv[0]`` (a script path) with the arguments ``argv[1:]`` as ``__main__``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.exit("usage: python -m tinygrad_lite.distributed._run script.py [args ...]")
    sys.argv[:] = args
    sys.path[0] = os.path.realpath(os.path.dirname(args[0]))  # as `python script.py` sets it
    try:
        runpy.run_path(args[0], run_name="__main__")
    except SystemExit as exc:
        if _status(exc.code):
            abort_job(exc.code)
        script_ended()
        raise
    except BaseException:  # (raised before init() installed the hook, or caught first here)
        comm = _mpi.connect()
        if comm is not None and _mpi.rank_and_size(comm)[1] > 1:
            _abort.fail(comm, *_mpi.rank_and_size(comm), *sys.exc_info())
        raise
    script_ended()


if __name__ == "__main__":
    main()
