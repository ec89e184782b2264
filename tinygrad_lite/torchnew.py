"""torch's ``new_*`` constructors as Tensor methods (``new_zeros``, ``new_ones``,
``new_empty``, ``new_full``, ``new_tensor``): a new leaf with this tensor's dtype unless
``dtype`` is given. Keeps nothing; touches only the tensors it makes.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from . import factories
from .ops import base

if TYPE_CHECKING:
    from .tensor import Tensor


def _size(who: str, sizes: tuple, size: Any) -> tuple:
    """The shape given as ``f(2, 3)``, ``f((2, 3))`` or with torch's keyword ``f(size=(2, 3))``."""
    return factories.size_arg(who, sizes if size is None else sizes + (size,))


class NewMethods:
    """Mixin of ``Tensor`` (through ``torchapi.TorchMethods``)."""

    __slots__ = ()

    def _new(self, who: str, arr: Any, dtype: Any, requires_grad: bool, device: Any = None) -> "Tensor":
        factories.check_device(who, device)
        dt = self.data.dtype if dtype is None else factories.as_dtype(who, dtype)
        return base.Tensor(arr, dtype=dt, requires_grad=requires_grad)

    def new_zeros(self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        """Zeros of the given shape with this tensor's dtype (unless ``dtype`` is given)."""
        return self._new("new_zeros", np.zeros(_size("new_zeros", sizes, size)), dtype, requires_grad, device)

    def new_ones(self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        """Ones of the given shape with this tensor's dtype."""
        return self._new("new_ones", np.ones(_size("new_ones", sizes, size)), dtype, requires_grad, device)

    def new_empty(self, *sizes: Any, size: Any = None, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> "Tensor":
        """A tensor of the given shape with this tensor's dtype (zeros here)."""
        return self._new("new_empty", np.zeros(_size("new_empty", sizes, size)), dtype, requires_grad, device)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> "Tensor":
        """``fill_value`` in the given shape with this tensor's dtype."""
        shape = factories.size_arg("new_full", (size,) if isinstance(size, numbers.Integral) else tuple(size))
        return self._new("new_full", np.full(shape, fill_value), dtype, requires_grad, device)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> "Tensor":
        """A new leaf holding a copy of ``data``, with this tensor's dtype unless ``dtype`` is given."""
        return self._new("new_tensor", data.data if isinstance(data, base.Tensor) else data, dtype, requires_grad,
                         device)
