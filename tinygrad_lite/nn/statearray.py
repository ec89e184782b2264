"""``StateArray``: the numpy array that ``Module.state_dict()`` holds for each parameter and
buffer.

It is a plain ``np.ndarray`` copy (numpy's operations, ``tl.save`` and ``load_state_dict``
treat it as one, and what it computes comes back as a plain array) that also answers the
tensor methods training scripts call on the values of torch's state dict: ``clone()`` (a
new copy, e.g. to keep the best weights), ``detach()``, ``cpu()``, ``to(device)``,
``numpy()``, ``numel()``, ``dim()``, ``float()``, ``double()`` and ``item()``.
The file keeps no state and touches nothing else.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from ..factories import check_device
from ..ops.base import ArgumentError

__all__ = ["StateArray"]


class StateArray(np.ndarray):
    """A state dict's array: an ``np.ndarray`` with torch's tensor spellings for reading it."""

    def __array_wrap__(self, arr: np.ndarray, context: Any = None, return_scalar: bool = False) -> Any:
        # results of numpy's operations are plain arrays (or scalars), never StateArrays
        out = np.asarray(arr)
        return out[()] if return_scalar else out

    @classmethod
    def copy_of(cls, arr: Any) -> "StateArray":
        """A new StateArray holding a copy of ``arr``."""
        return np.array(arr, copy=True).view(cls)

    def clone(self) -> "StateArray":
        """A copy (torch's ``clone``)."""
        return StateArray.copy_of(self)

    def detach(self) -> "StateArray":
        """Itself: an array carries no graph."""
        return self

    def cpu(self) -> "StateArray":
        """Itself: it is in host memory."""
        return self

    def to(self, *args: Any, **kwargs: Any) -> "StateArray":
        """``to("cpu")`` / ``to(device)``: itself; ``to(dtype)`` or ``to(dtype=...)``: a copy
        in that dtype. Another device is a RuntimeError naming it."""
        dtype: Optional[Any] = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"StateArray.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, (str, numbers.Integral)) or type(a).__name__ == "device":  # an int: a device index
                device = a
            else:
                dtype = a
        check_device("StateArray.to", device)
        return self if dtype is None else StateArray.copy_of(self.astype(np.dtype(dtype)))

    def item(self, *args: Any) -> Any:
        """The one element as a Python number (numpy's ``item(index)`` also works); an array of
        another size is an ``ArgumentError`` (a ValueError, and torch's RuntimeError) naming its shape."""
        if not args and self.size != 1:
            raise ArgumentError(f"StateArray.item: only a one-element array converts to a number, got shape "
                             f"{self.shape}")
        return np.ndarray.item(self, *args)

    def numpy(self) -> np.ndarray:
        """A plain ndarray sharing this array's memory."""
        return self.view(np.ndarray)

    def numel(self) -> int:
        """The number of elements (numpy's ``size`` attribute stays numpy's)."""
        return int(self.size)

    def dim(self) -> int:
        """The number of axes."""
        return self.ndim

    def float(self) -> "StateArray":
        """A float32 copy."""
        return StateArray.copy_of(self.astype(np.float32))

    def double(self) -> "StateArray":
        """A float64 copy."""
        return StateArray.copy_of(self.astype(np.float64))
