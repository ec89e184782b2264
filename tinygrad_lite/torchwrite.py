"""In-place writes into a tensor's elements: torch's ``x[index] = value`` (``__setitem__``),
with the rule every in-place method of ``TorchMethods`` follows (``_writable``): data outside
a recorded graph changes in place (a leaf that requires grad only under ``no_grad()``), while
a write into a graph, or of a value that requires grad, is refused with a RuntimeError
rather than silently not recorded.

A write gives the tensor a new version, so a graph that used the old values refuses to
backward, and kept per-sample factors made from this memory are multiplied out first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conventions import ShapeMismatchError
from .graph import state
from .keptinputs import before_write
from .ops import base
from .ops.base import wrote
from .ops.layout import indexed, normalise_index
from .torchextra import ExtraMethods


class WriteMethods(ExtraMethods):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def _writable(self, who: str, src: Any = None) -> None:
        """In-place writes are for data outside a graph (a leaf that requires grad only under
        ``no_grad()``, as torch); inside a recorded graph they are refused, not recorded."""
        if not state.grad:
            return
        if self.requires_grad and self._op is None:
            raise RuntimeError(f"{who}: a leaf tensor that requires grad cannot be changed in place while gradients "
                               "are recorded; do it inside `with tl.no_grad():`")
        if self.requires_grad or getattr(src, "requires_grad", False):
            raise RuntimeError(f"{who}: in-place changes are not recorded in the graph; inside a graph build a new "
                               "tensor instead (clone(), where(), masked_fill()), or do it under `tl.no_grad()`")

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value``: the indexed elements take ``value`` (a number, array or Tensor,
        broadcast to the indexed shape and converted to this tensor's dtype, as torch's); the
        index is anything ``x[index]`` reads (slices, ints, None, ``...``, integer or boolean
        arrays and Tensors). A value that does not broadcast raises a ``ValueError`` (also a
        ``RuntimeError``, as torch's) naming both shapes, and nothing is written."""
        self._writable("setitem", value)
        d = self.data
        v = np.asarray(value.data if isinstance(value, base.Tensor) else value)
        idx, _ = normalise_index(index, d.shape, "setitem")
        target = indexed(d, idx, "setitem", index)
        if v.dtype.kind not in "biuf":
            raise TypeError(f"setitem: value of dtype {v.dtype} cannot be stored in a tensor of dtype {d.dtype}")
        try:
            np.broadcast_to(v, np.shape(target))
        except ValueError:
            raise ShapeMismatchError(f"setitem: a value of shape {v.shape} cannot be broadcast to the indexed shape "
                                     f"{np.shape(target)} (tensor shape {d.shape})") from None
        if not d.flags.writeable:
            raise ValueError("setitem: this tensor's data is read-only (a broadcast view, or an array marked "
                             "read-only)")
        before_write(self)  # kept gradients made from this memory are multiplied out first
        d[idx] = v
        self._v = wrote(d)
