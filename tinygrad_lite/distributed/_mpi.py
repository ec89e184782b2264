"""The only module that talks to MPI.

Nothing here imports ``mpi4py`` at import time. :func:`connect` imports it
(and so initialises MPI) only when the process was started by an MPI launcher
(``mpiexec``/``mpirun``, ``srun``, a Kubernetes MPI job), recognised by the
environment variables those launchers set. Every other function works on the
communicator :func:`connect` returned, with mpi4py's buffer-based (upper-case)
methods on contiguous numpy arrays, so no pickling is involved.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, Optional

import numpy as np

INSTALL_HINT = 'pip install "tinygrad_lite[distributed]"'

# Variables a process finds in its environment when an MPI launcher started it:
# MPICH's hydra and Slurm's PMI/PMI-2 (PMI_RANK, PMI_SIZE, PMI_FD), Open MPI
# (OMPI_COMM_WORLD_*), PMIx-based launchers (PMIX_RANK).
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                  "PMIX_RANK", "HYDRA_CONTROL_FD")  # (not any HYDRA_*: other tools use the prefix too)
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")


def launched(environ: Any = None) -> bool:
    """True when the environment shows that an MPI launcher started this process."""
    env = os.environ if environ is None else environ
    return any(v in env for v in _LAUNCHER_VARS)


def _launcher_size(environ: Any = None) -> int:
    env = os.environ if environ is None else environ
    for var in _SIZE_VARS:
        try:
            return int(env[var])
        except (KeyError, ValueError):
            continue
    return 1


def connect() -> Any:
    """``MPI.COMM_WORLD``, or ``None`` for a world of one process.

    ``None`` when no launcher started the process (mpi4py is then not even
    imported), or when mpi4py cannot be imported (a ``RuntimeWarning`` then
    says so if the launcher started more than one process: each would train
    alone).
    """
    if not launched():
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        if _launcher_size() > 1:
            warnings.warn(
                f"the launcher started {_launcher_size()} processes but mpi4py cannot be imported, so each "
                f"process runs as a world of 1; install the extra: {INSTALL_HINT}",
                RuntimeWarning,
                stacklevel=3,
            )
        return None
    return MPI.COMM_WORLD


def rank_and_size(comm: Any) -> tuple[int, int]:
    return int(comm.Get_rank()), int(comm.Get_size())


def allgather(comm: Any, buf: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Every rank's ``buf`` (same length and dtype on every rank): rows of a ``(world, len)`` array.

    ``out``, if given, is that contiguous array of ``buf``'s dtype, filled in place.
    """
    send = np.ascontiguousarray(buf).reshape(-1)
    recv = np.empty((comm.Get_size(), send.size), dtype=send.dtype) if out is None else out
    comm.Allgather(send, recv)
    return recv


def allreduce_sum_inplace(comm: Any, buf: np.ndarray) -> None:
    """Overwrites the contiguous array ``buf`` on every rank with the elementwise sum over
    ranks (MPI's Allreduce with SUM)."""
    from mpi4py import MPI

    comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)


# how long a rank waits, after writing why it ends the job, before the abort: the launcher
# forwards each rank's stderr through a pipe, and an abort that comes first loses the message
# (seen on a loaded 2-core machine with a 0.2 s wait)
ABORT_GRACE = 1.0


def abort(comm: Any, code: int = 1) -> None:
    """Ends every process of the job (the launcher then exits non-zero), ``ABORT_GRACE``
    seconds after this rank's stderr was flushed, so the launcher has passed the message on."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed stderr: nothing to wait for
        pass
    else:
        time.sleep(ABORT_GRACE)
    comm.Abort(code)
