"""torch's ``cuda`` queries, answered for this library: it computes with numpy arrays on
the CPU, so there is no CUDA device. Code written as
``tl.device("cuda" if tl.cuda.is_available() else "cpu")`` picks the CPU."""

from __future__ import annotations


def is_available() -> bool:
    """False: no CUDA device is ever used."""
    return False


def device_count() -> int:
    """0: the number of CUDA devices."""
    return 0
