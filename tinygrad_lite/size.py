"""``tl.Size``: the type of ``Tensor.size()``, a tuple of ints as ``torch.Size``.

This module keeps only the class; ``conventions.TorchSpellings.size`` builds it.
``Tensor.shape`` stays a plain tuple (it is read on every op; a ``Size`` is equal to it).
"""

from __future__ import annotations

import operator
from typing import Any, Iterable, Union

__all__ = ["Size"]


class Size(tuple):
    """A shape: a tuple of ints (``tl.Size([2, 3])``) that equals the plain tuple ``(2, 3)``.

    ``numel()`` is the product of the entries (1 for ``Size([])``); slicing, ``+`` and ``*``
    with tuples give a ``Size`` again. Built from an iterable of integers (anything with
    ``__index__``: Python and numpy ints, one-element integer Tensors); another item raises
    TypeError naming it, as torch.
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable = ()) -> "Size":
        try:
            items = list(sizes)
        except TypeError:
            raise TypeError(f"Size() takes an iterable of ints, got {type(sizes).__name__}") from None
        out = []
        for i, v in enumerate(items):
            try:
                out.append(operator.index(v))
            except (TypeError, ValueError):  # (a Tensor of several elements has no single index)
                raise TypeError(f"Size() takes an iterable of 'int' (item {i} is {type(v).__name__!r})") from None
        return tuple.__new__(cls, out)

    def numel(self) -> int:
        """The number of elements of a tensor of this shape: the product of the sizes."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"tl.Size({list(self)!r})"

    __str__ = __repr__

    def __getitem__(self, key: Any) -> Union[int, "Size"]:  # type: ignore[override]
        out = tuple.__getitem__(self, key)
        return tuple.__new__(Size, out) if isinstance(key, slice) else out

    def __add__(self, other: Any) -> "Size":  # type: ignore[override]
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: Any) -> "Size":
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n: Any) -> "Size":  # type: ignore[override]
        out = tuple.__mul__(self, n)
        return NotImplemented if out is NotImplemented else tuple.__new__(Size, out)

    __rmul__ = __mul__

    def __reduce__(self) -> tuple:
        return (Size, (tuple(self),))
