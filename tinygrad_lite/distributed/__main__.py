"""The launcher: ``python -m tinygrad_lite.distributed -n N script.py [args ...]``.

Runs ``mpiexec -n N <this python> script.py args...`` with the ``mpiexec`` found
next to this interpreter (where the ``mpich`` wheel installs it), else the one
on PATH. When mpi4py or mpiexec is missing it says how to install them and
exits with status 2 without running the script.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from typing import Optional

from ._mpi import INSTALL_HINT

PROG = "python -m tinygrad_lite.distributed"


def find_mpiexec() -> Optional[str]:
    """``mpiexec`` in the interpreter's own bin directory, else on PATH, else None."""
    bindir = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpiexec.exe", "mpiexec.bat"):
        candidate = os.path.join(bindir, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("mpiexec")


def has_mpi4py() -> bool:
    """Whether mpi4py is installed (looked up without importing it)."""
    return importlib.util.find_spec("mpi4py") is not None


def command(n: int, script: str, args: list[str], mpiexec: str) -> list[str]:
    """The ``mpiexec`` command line that starts ``n`` copies of ``script``."""
    return [mpiexec, "-n", str(n), sys.executable, script, *args]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run N copies of a training script as one data-parallel MPI job.",
    )
    parser.add_argument("-n", "--np", dest="n", type=int, required=True, help="number of processes (ranks)")
    parser.add_argument("script", help="the Python script every rank runs")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Parses ``argv``, checks the MPI installation, then runs the job; returns its exit status."""
    opts = _parser().parse_args(argv)
    if opts.n < 1:
        print(f"{PROG}: error: -n must be at least 1, got {opts.n}", file=sys.stderr)
        return 2
    if not os.path.isfile(opts.script):
        print(f"{PROG}: error: no such script: {opts.script}", file=sys.stderr)
        return 2
    missing = []
    if not has_mpi4py():
        missing.append("mpi4py")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        missing.append("mpiexec")
    if missing:
        print(
            f"{PROG}: error: {' and '.join(missing)} not found; the distributed extra provides both: "
            f"{INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    cmd = command(opts.n, opts.script, opts.args, mpiexec)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(mpiexec, cmd)  # mpiexec replaces this process: signals reach it directly
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
