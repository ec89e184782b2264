"""Random generators: ``tl.Generator`` (torch's ``Generator``) and the library's default one.

``tl.Generator`` is a ``numpy.random.Generator`` (PCG64) with torch's methods, so it goes
wherever a numpy Generator does. ``tl.default_generator`` is the one that layer
initialisation, ``Dropout``, the random factories and ``DataLoader`` draw from whenever no
``rng=`` / ``generator=`` / ``seed=`` is given; ``tl.manual_seed(seed)`` reseeds it in place,
so the same seed gives the same run (PyTorch's ``torch.manual_seed``).

Public names (also ``tl.<name>``): ``Generator``, ``default_generator``, ``manual_seed``,
``seed``, ``initial_seed``, ``get_rng_state``, ``set_rng_state``, ``fork_rng``; ``as_generator``
turns ``None`` / an int seed / a Generator into the Generator a random function draws from.

This module keeps the default generator's state and touches no other module's.
"""

from __future__ import annotations

import contextlib
import numbers
import secrets
from collections.abc import Iterable, Iterator
from typing import Any, Optional, Union

import numpy as np

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "fork_rng", "as_generator", "draw_seed"]

DEFAULT_SEED = 67280421310721  # a new ``Generator()``'s seed, as torch's
_MAGIC = b"TLG1"  # the first bytes of every state
_HEAD = len(_MAGIC) + 16 + 16 + 1 + 4  # magic, PCG64 state and increment, has_uint32, uinteger


def _manual_seed_value(who: str, seed: Any) -> int:
    """A ``manual_seed`` argument as the seed kept: an int in [-2**63, 2**64) as torch takes it,
    a negative s read as the 64-bit pattern s + 2**64 (so -1 seeds as 2**64 - 1, as in torch);
    TypeError (not an int) / ValueError (out of that range) naming ``who`` otherwise."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{who}: seed must be an int, got {seed!r}")
    s = int(seed)
    if not -2 ** 63 <= s < 2 ** 64:
        raise ValueError(f"{who}: seed must be an int in [-2**63, 2**64 - 1], got {s!r}")
    return s + 2 ** 64 if s < 0 else s


class Generator(np.random.Generator):
    """torch's ``Generator`` on numpy: a PCG64 ``numpy.random.Generator`` with ``manual_seed``,
    ``seed``, ``initial_seed``, ``get_state``, ``set_state`` and ``device``.

    ``Generator().manual_seed(s)`` draws exactly what ``numpy.random.default_rng(s)`` draws
    (the same bit generator, seeded the same way), so an int seed ``s`` given as ``rng=`` /
    ``generator=`` / ``seed=`` and ``Generator().manual_seed(s)`` give the same numbers. A new
    Generator is seeded with torch's default seed 67280421310721. ``device`` is the CPU, the
    one device here (another device is a RuntimeError, something that is no device a
    TypeError). Copies (``copy.deepcopy``, pickling) are Generators in the same state.
    """

    def __init__(self, device: Any = "cpu") -> None:
        if not (isinstance(device, str) and device == "cpu"):
            from .factories import check_device

            check_device("Generator", device)
        super().__init__(np.random.PCG64(DEFAULT_SEED))
        self._seed = DEFAULT_SEED

    @property
    def device(self) -> Any:
        """The CPU (``tl.device("cpu")``)."""
        from .factories import device

        return device("cpu")

    def manual_seed(self, seed: int) -> Generator:
        """Reseeds this Generator in place with ``seed`` and returns it: its draws start over as
        those of ``numpy.random.default_rng(s)``. As torch, ``seed`` is an int in [-2**63,
        2**64 - 1] and a negative one is taken as ``seed + 2**64`` (``manual_seed(-1)`` then
        ``initial_seed() == 2**64 - 1``); anything else is a TypeError (not an int) or
        ValueError (out of range), nothing changed."""
        s = _manual_seed_value("manual_seed", seed)
        self.bit_generator.state = np.random.PCG64(s).state
        self._seed = s
        return self

    def seed(self) -> int:
        """Reseeds this Generator from fresh operating-system entropy and returns the new
        seed (an int in ``[0, 2**64)``), which ``initial_seed()`` then gives."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this Generator was last seeded with (``manual_seed``, ``seed``, or the
        seed saved in a state given to ``set_state``)."""
        return self._seed

    def get_state(self) -> np.ndarray:
        """A snapshot of this Generator: a 1-d ``uint8`` array (a new one each call) holding
        the PCG64 state, its increment, its buffered 32-bit half-word and the initial seed.
        ``set_state`` with it replays the stream from this point exactly."""
        st = self.bit_generator.state
        inner = st["state"]
        body = (_MAGIC + int(inner["state"]).to_bytes(16, "little") + int(inner["inc"]).to_bytes(16, "little")
                + bytes([int(st["has_uint32"])]) + int(st["uinteger"]).to_bytes(4, "little"))
        seed = self._seed.to_bytes(max(1, (self._seed.bit_length() + 7) // 8), "little")
        return np.frombuffer(body + seed, dtype=np.uint8).copy()

    def set_state(self, new_state: Any) -> Generator:
        """Restores a ``get_state()`` snapshot (of this or any Generator) and returns self.
        ``new_state`` must be such a ``uint8`` array (or a Tensor holding one); anything else
        is a TypeError, a ``uint8`` array that is no snapshot a ValueError, nothing changed."""
        state, seed = _parse_state("set_state", new_state)
        self.bit_generator.state = state
        self._seed = seed
        return self

    def __reduce__(self) -> tuple:
        return (_rebuild, (self.get_state(),))

    def __repr__(self) -> str:
        return f"tl.Generator(device='cpu', initial_seed={self._seed})"

    __str__ = __repr__


def _rebuild(state: np.ndarray) -> Generator:
    """A Generator in ``state`` (what pickling and deep copies rebuild)."""
    return Generator().set_state(state)


def _parse_state(who: str, new_state: Any) -> tuple[dict[str, Any], int]:
    """The PCG64 state and initial seed in a ``get_state`` snapshot; TypeError / ValueError
    naming ``who`` for anything else."""
    from .tensor import Tensor

    data = new_state.data if isinstance(new_state, Tensor) else new_state
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        dtype = f" of dtype {data.dtype}" if isinstance(data, np.ndarray) else ""
        raise TypeError(f"{who}: expected a uint8 array from get_state() / get_rng_state(), got "
                        f"{type(new_state).__name__}{dtype}")
    raw = data.tobytes()
    if (data.ndim != 1 or len(raw) <= _HEAD or raw[:len(_MAGIC)] != _MAGIC or raw[36] > 1
            or not raw[20] & 1):  # (PCG64's increment is always odd: an even one is a damaged state)
        raise ValueError(f"{who}: not a Generator state: expected a 1-d uint8 array of more than {_HEAD} bytes "
                         f"from get_state() / get_rng_state(), got shape {data.shape}")
    state = {"bit_generator": "PCG64",
             "state": {"state": int.from_bytes(raw[4:20], "little"), "inc": int.from_bytes(raw[20:36], "little")},
             "has_uint32": raw[36], "uinteger": int.from_bytes(raw[37:41], "little")}
    return state, int.from_bytes(raw[_HEAD:], "little")


class _DefaultGenerator(Generator):
    """The library's default Generator. Calling it returns it, so the older spelling
    ``tl.random.default_generator()`` still gives the Generator; copies are plain
    Generators."""

    def __call__(self) -> Generator:
        return self


default_generator: Generator = _DefaultGenerator()
default_generator.seed()  # fresh entropy at import, as torch's default generator


def manual_seed(seed: int) -> Generator:
    """Reseeds the default generator in place and returns it (``tl.default_generator``);
    ``seed`` as for ``Generator.manual_seed``: an int in [-2**63, 2**64 - 1], negatives taken
    as ``seed + 2**64`` (torch's mapping), TypeError / ValueError otherwise, nothing changed."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseeds the default generator from fresh entropy; returns the new seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """A snapshot of the default generator (``default_generator.get_state()``)."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restores a ``get_rng_state()`` snapshot into the default generator (a wrong object is
    a TypeError / ValueError, nothing changed)."""
    _parse_state("set_rng_state", new_state)
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices: Optional[Iterable[Any]] = None, enabled: bool = True) -> Iterator[None]:
    """A context in which the default generator may be reseeded or drawn from: on leaving it
    (also by an exception) the generator's state and initial seed are what they were on
    entering, so the draws after it are those it would have given without the block.

    ``enabled=False`` makes it do nothing. ``devices`` (torch's CUDA devices to fork too)
    must be None or empty: there are no such devices here (RuntimeError otherwise)."""
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"fork_rng: enabled must be a bool, got {enabled!r}")
    if devices is not None and not isinstance(devices, Iterable):
        raise TypeError(f"fork_rng: devices must be None or an iterable of devices, got {devices!r}")
    if devices is not None and list(devices):
        raise RuntimeError(f"fork_rng: devices={devices!r}: tinygrad_lite has no CUDA devices, only the CPU "
                           "generator (leave devices=None)")
    if not enabled:
        yield
        return
    saved = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(saved)


def as_generator(rng: Union[None, int, np.random.Generator], name: str = "rng") -> np.random.Generator:
    """``rng`` as a numpy Generator: a Generator (``tl.Generator`` or numpy's) as it is, an
    int seed a new one (``numpy.random.default_rng(seed)``, the draws of
    ``Generator().manual_seed(seed)``), None the default generator (so ``manual_seed``
    governs it)."""
    if rng is None:
        return default_generator
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a tl.Generator, a numpy Generator, a non-negative int seed or None, "
                    f"got {rng!r}")


def draw_seed() -> int:
    """A seed drawn from the default generator (a DataLoader without ``seed=`` takes one
    when it is constructed)."""
    return int(default_generator.integers(0, 2**63 - 1))
