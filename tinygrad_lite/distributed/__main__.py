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
    """The ``mpiexec`` command line that starts ``n`` copies of ``script`` (each through
    ``_run``, which turns a non-zero ``sys.exit`` on one rank into the end of the job)."""
    return [mpiexec, "-n", str(n), sys.executable, "-m", "tinygrad_lite.distributed._run", script, *args]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run N copies of a training script as one data-parallel MPI job.",
    )
    parser.add_argument("-n", "--np", dest="n", type=int, required=True, help="number of processes (ranks)")
    parser.add_argument("script", help="the Python script every rank runs")
    parser.add_argument("args", nargs="?", metavar="args ...",  # (split off by _split: never required)
                        help="arguments passed to the script, unchanged")
    return parser


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """The launcher's own arguments (up to and including the script) and the script's
    arguments, which pass through unchanged (a ``--`` among them too)."""
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in ("-n", "--np"):
            i += 2
        elif tok == "--":
            return argv[:i] + argv[i + 1:i + 2], argv[i + 2:]
        elif tok.startswith("-") and tok != "-":
            i += 1  # -n4, --np=4, -h, or an unknown option (argparse reports it)
        else:
            return argv[:i + 1], argv[i + 1:]
    return argv, []


def main(argv: Optional[list[str]] = None) -> int:
    """Parses ``argv``, checks the MPI installation, then runs the job; returns its exit status."""
    own, script_args = _split(list(sys.argv[1:] if argv is None else argv))
    opts = _parser().parse_args(own)
    opts.args = script_args
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
