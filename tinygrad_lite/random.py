"""The library's default random generator: ``tl.manual_seed(seed)`` seeds it; layer
initialisation, ``Dropout`` and ``DataLoader`` draw from it whenever no ``rng=`` /
``seed=`` is given, so the same seed gives the same run (PyTorch's ``torch.manual_seed``)."""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np

__all__ = ["manual_seed", "default_generator", "as_generator", "draw_seed"]

_default = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator (an int >= 0) and return it."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _default[0] = np.random.default_rng(int(seed))
    return _default[0]


def default_generator() -> np.random.Generator:
    """The generator used when no ``rng=`` is given."""
    return _default[0]


def as_generator(rng: Union[None, int, np.random.Generator], name: str = "rng") -> np.random.Generator:
    """``rng`` as a numpy Generator: a Generator as it is, an int seed a new one, None the
    default generator (so ``manual_seed`` governs it)."""
    if rng is None:
        return _default[0]
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy Generator, a non-negative int seed or None, got {rng!r}")


def draw_seed() -> int:
    """A seed drawn from the default generator (a DataLoader without ``seed=`` takes one
    when it is constructed)."""
    return int(_default[0].integers(0, 2**63 - 1))
