"""Results too large to allocate: numpy's refusal (a ``MemoryError``, or the ``ValueError``
of a size past the address space) told as the op's ``AllocationError``, which names it and
its input shapes. Re-exported by ``ops.base``. Touches nothing.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

__all__ = ["AllocationError", "too_big", "allocating"]


class AllocationError(MemoryError, RuntimeError):
    """A result too large to allocate (an absurd size argument): a ``MemoryError``, and the
    ``RuntimeError`` torch raises; the message names the op and its input shapes."""


_TOO_BIG = ("array is too big", "Maximum allowed dimension exceeded", "Maximum allowed size exceeded")


def too_big(who: str, exc: BaseException, shapes: Any = None) -> Optional[AllocationError]:
    """``exc`` told as ``who``'s ``AllocationError`` when it is numpy's refusal to allocate
    (a MemoryError, or the ValueError of a size past the address space); else None."""
    if isinstance(exc, AllocationError):  # (an inner op's: told as the function the caller called)
        head, _, rest = str(exc).partition(": ")
        return exc if head == who or not rest else AllocationError(f"{who}: {rest}")
    if isinstance(exc, MemoryError) or (isinstance(exc, ValueError) and str(exc).startswith(_TOO_BIG)):
        given = "" if shapes is None else f" (input shapes {shapes})"
        return AllocationError(f"{who}: the result is too large to allocate{given}: {exc}")
    return None


def allocating(who: Optional[str]) -> Any:
    """Decorator of a function whose size arguments set the size of its result: numpy's
    refusal to allocate it becomes ``who``'s ``AllocationError`` (numpy names no function);
    ``who=None``: a method's, named by the class of its object (a layer's ``__init__``)."""
    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (MemoryError, ValueError) as e:
                big = too_big(type(args[0]).__name__ if who is None else who, e)
                if big is None:
                    raise
                raise big from None
        return inner
    return wrap
