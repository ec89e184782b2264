"""torch's ``cuda`` queries, answered for this library: it computes with numpy arrays on
the CPU, so there is no CUDA device. Code written as
``tl.device("cuda" if tl.cuda.is_available() else "cpu")`` picks the CPU; the seeding calls
(``manual_seed``, ``manual_seed_all``) and ``empty_cache`` are ignored as torch ignores them
without CUDA, and ``synchronize`` raises as there. Keeps no state."""

from __future__ import annotations

import numbers


def is_available() -> bool:
    """False: no CUDA device is ever used."""
    return False


def device_count() -> int:
    """0: the number of CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Ignored, as torch ignores it without CUDA (the CPU generator is ``tl.manual_seed``)."""
    _check_seed("manual_seed", seed)


def manual_seed_all(seed: int) -> None:
    """Ignored, as torch ignores it without CUDA (the CPU generator is ``tl.manual_seed``)."""
    _check_seed("manual_seed_all", seed)


def empty_cache() -> None:
    """Nothing to release: no CUDA memory is ever allocated."""


def synchronize(device: object = None) -> None:
    """A RuntimeError, as torch without CUDA: there is no device to wait for."""
    raise RuntimeError("cuda.synchronize: no CUDA device is available (tinygrad_lite computes on the CPU); "
                       "guard it with tl.cuda.is_available()")


def _check_seed(who: str, seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"cuda.{who}: seed must be an int, got {seed!r}")
