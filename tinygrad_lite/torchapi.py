"""PyTorch's everyday Tensor methods built on the ops: copies and conversions (``clone``,
``contiguous``, ``to``, ``type``, ``cpu``; ``new_*`` from ``torchnew.NewMethods``), in-place fills for use under
``no_grad()`` (``zero_``, ``fill_``, ``copy_``, ``abs_``), shape utilities (``expand``,
``repeat``, ``split``, ``chunk``, ``unbind``, ``roll``, ``flip``), selection (``where``,
``masked_fill``, ``gather``), reductions (``prod``, ``logsumexp``, ``amax`` / ``amin``,
``norm``, ``var`` / ``std``, ``cumsum``), the piecewise-constant functions and whole-tensor
comparisons (``allclose``, ``equal``); the in-place arithmetic ``add_``, ``sub_``, ``mul_``,
``div_``, ``clamp_``, ``neg_``, ``exp_`` and the one-sided ``clamp_min`` / ``clamp_max``.
The elementwise maths and predicates come from ``torchmath.MathMethods``, ordering, matrix
shapes, more selection and the random fills from ``torchextra.ExtraMethods``.

``Tensor`` inherits these through ``TorchMethods``; each differentiable one is one op call
or a composition of op calls, so gradients, per-sample gradients and the mixing errors come
from the ops. ``x[index] = value`` and the write rule come from ``torchwrite.WriteMethods``.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from . import factories, ops
from .conventions import _int, _shape_arg, _torch_axis, store
from .intcast import int_fill
from .ops import base
from .ops.base import allocating, axes_of
from .ops.intdiv import IntegerDivisionError
from .ops.memory import row_order
from .ops.reduce import AMAX, AMIN, WIDER, asked_dtype
from .torchextra import _along
from .torchextra import _axis as _one_axis
from .torchindex import IndexMethods, fill_value
from .torchkw import one_of
from .torchlayout import LayoutMethods, refuse_copy
from .torchnew import NewMethods
from .torchscatter import ScatterMethods
from .torchwrite import WriteMethods, recorded

if TYPE_CHECKING:
    from .tensor import Tensor


def _shape_of(other: Any, who: str) -> tuple:
    """The shape of ``other``, a Tensor or a numpy array (else ``TypeError`` naming ``who``)."""
    if not isinstance(other, (base.Tensor, np.ndarray)):
        raise TypeError(f"{who}: other must be a Tensor, got {type(other).__name__}")
    return tuple(other.shape)


class TorchMethods(WriteMethods, IndexMethods, ScatterMethods, LayoutMethods, NewMethods):
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        """As torch: a 0-d tensor formats as its number (``f"{loss:.4f}"``); others only with
        an empty spec (their repr), else TypeError."""
        return format(self.data.item(), spec) if self.data.ndim == 0 else object.__format__(self, spec)

    # ------------------------------------------------------------ copies, conversions --
    def clone(self, *, memory_format: Any = None) -> "Tensor":
        """A copy in its own memory; the gradient passes back unchanged (d clone(x)/dx = 1)."""
        return ops.CLONE(self)

    def contiguous(self, memory_format: Any = None) -> "Tensor":
        """This tensor if its data is C-contiguous (``row_order``), else a contiguous copy (gradient flows)."""
        return self if row_order(self).flags.c_contiguous else ops.CLONE(self)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(row_order(self).flags.c_contiguous)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False, non_blocking: bool = False,
           memory_format: Any = None) -> "Tensor":
        """``to(dtype)``, ``to("cpu")``, ``to(device, dtype)``, ``to(other)`` (other's dtype):
        this tensor when nothing changes (a copy with ``copy=True``), else ``astype``."""
        for a in args:
            if isinstance(a, base.Tensor):
                dtype = a.dtype
            elif factories.is_device(a):
                device = a
            else:
                dtype = a
        factories.check_device("to", device)
        out = self if dtype is None else self.astype(factories.as_dtype("to", dtype))
        return ops.CLONE(out) if copy and out is self else out

    def cpu(self) -> "Tensor":
        """This tensor (it already lives on the CPU)."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        """There is no CUDA device here: a RuntimeError (as torch built without CUDA)."""
        factories.check_device("cuda", "cuda" if device is None else device)
        return self  # (device "cpu" given: nothing to move)

    @property
    def device(self) -> Any:
        """Where the data lives: always ``tl.device("cpu")``."""
        return factories.device("cpu")

    def register_hook(self, hook: Any) -> Any:
        """``hook(grad)`` runs during backward with the gradient of the cost w.r.t. this
        tensor (for a leaf, this backward's share before it is added to ``.grad``); a
        returned Tensor or array replaces it. Returns a handle whose ``remove()`` detaches it."""
        from . import hooks

        return hooks.register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """``hook(self)`` runs after each backward has added its gradient to this leaf's
        ``.grad`` (its result is ignored); returns a handle whose ``remove()`` detaches it."""
        from . import hooks

        return hooks.register_post_accumulate_hook(self, hook)

    @property
    def is_cuda(self) -> bool:
        return False

    def half(self) -> "Tensor":
        """A float16 copy (``astype(np.float16)``; the gradient flows back in this dtype)."""
        return self.astype(np.float16)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without ``dtype``: torch's type name (``"torch.DoubleTensor"``); with one: ``to(dtype)``."""
        if dtype is None:
            return factories.torch_type_name(self.data.dtype)
        return self.astype(factories.as_dtype("type", dtype))

    def type_as(self, other: Any) -> Any:
        """This tensor in ``other``'s dtype (``to(other.dtype)``); ``other`` is a Tensor or an array."""
        if not isinstance(other, (base.Tensor, np.ndarray)):
            raise TypeError(f"type_as: other must be a Tensor, got {type(other).__name__}")
        return self.to(other.dtype)

    def nelement(self) -> int:
        """The number of elements (``numel()``)."""
        return int(self.data.size)

    def element_size(self) -> int:
        """Bytes per element."""
        return int(self.data.itemsize)

    def retain_grad(self) -> None:
        """torch's spelling, here nothing to switch on: every non-leaf tensor keeps the gradient
        of the latest backward in ``.grad`` (a leaf accumulates it). As torch, a tensor that
        does not require grad refuses (RuntimeError)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets no gradient to keep")

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    # ------------------------------------------------------------ in place -------------
    def zero_(self) -> "Tensor":
        """Set every element to 0 in place; returns this tensor."""
        if self._records("zero_"):
            return recorded(self, "zero_", lambda x: factories.where(True, 0, x), "unsafe")
        return store(self, np.zeros((), self.data.dtype), "zero_", "unsafe")

    def fill_(self, value: Any) -> "Tensor":
        """Set every element to ``value`` (a number or a one-element tensor) in place."""
        # (an int dtype: torch's range rule)
        v = np.asarray(int_fill("fill_", value.data if isinstance(value, base.Tensor) else value, self.data.dtype))
        if v.size != 1 or v.dtype.kind not in "biuf":
            raise ValueError(f"fill_: value must be a number or a one-element tensor, got {value!r}")
        if self._records("fill_", value):
            one = value.reshape(()) if isinstance(value, base.Tensor) else v.reshape(())
            return recorded(self, "fill_", lambda x: factories.where(True, one, x), "unsafe")
        return store(self, v.reshape(()), "fill_", "unsafe")

    def copy_(self, src: Any, non_blocking: bool = False) -> "Tensor":
        """Copy ``src``'s values (broadcast to this shape, converted to this dtype) in place."""
        arr = base.const(src, "copy_").data
        if self._records("copy_", src):
            return recorded(self, "copy_", lambda x: factories.where(True, src, x), "unsafe")
        return store(self, arr, "copy_", "unsafe")

    def abs_(self) -> "Tensor":
        """|x| in place."""
        return self._assign("abs_", None, lambda x: x.abs())

    def _update(self, who: str, other: Any, fn: Any) -> "Tensor":
        """``self._assign`` of ``fn(x, other)``: out-of-place Tensor arithmetic stored in this
        tensor (recorded inside a graph); a result that does not fit changes nothing."""
        return self._assign(who, other, lambda x: fn(x, other))

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """x += alpha * other in place (other broadcast to this shape)."""
        return self._update("add_", other, lambda x, o: x.add(o, alpha=alpha))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """x -= alpha * other in place."""
        return self._update("sub_", other, lambda x, o: x.sub(o, alpha=alpha))

    def mul_(self, other: Any) -> "Tensor":
        """x *= other in place."""
        return self._update("mul_", other, lambda x, o: x * o)

    def div_(self, other: Any, *, rounding_mode: Optional[str] = None) -> "Tensor":
        """x /= other in place; ``rounding_mode`` "trunc" or "floor" rounds the quotient
        (toward zero or down), which an integer tensor needs, as in torch."""
        if rounding_mode not in (None, "trunc", "floor"):
            raise ValueError(f"div_: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        if rounding_mode is None:
            return self._update("div_", other, lambda x, o: x / o)
        rnd = np.trunc if rounding_mode == "trunc" else np.floor

        def rounded(x: Any, o: Any) -> Any:
            q = rnd((x / o).data)
            if x.data.dtype.kind in "biu" and q.dtype.kind == "f" and base.const(o).data.dtype.kind in "biu":
                if not np.isfinite(q).all():
                    raise IntegerDivisionError("div_: integer division by zero")
                q = q.astype(x.data.dtype)
            return base.const(q)
        return self._update("div_", other, rounded)

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        """Limit the values to [min, max] in place."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._update("clamp_", None, lambda x, _: ops.CLIP(x, min, max))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where the boolean ``mask`` (broadcast to this shape) is True, in place."""
        return self._update("masked_fill_", None, lambda x, _: x.masked_fill(mask, value))

    def clamp_min(self, min: Any) -> "Tensor":
        """max(x, min) elementwise: ``clamp(min=min)``; the gradient is 0 where clipped."""
        return ops.CLIP(self, min, None)

    def clamp_max(self, max: Any) -> "Tensor":
        """min(x, max) elementwise: ``clamp(max=max)``."""
        return ops.CLIP(self, None, max)

    def clamp_min_(self, min: Any) -> "Tensor":
        """``clamp_(min=min)``."""
        return self.clamp_(min, None)

    def clamp_max_(self, max: Any) -> "Tensor":
        """``clamp_(max=max)``."""
        return self.clamp_(None, max)

    def neg_(self) -> "Tensor":
        """-x in place."""
        return self._assign("neg_", None, lambda x: -x)

    def exp_(self) -> "Tensor":
        """e^x in place (a float tensor)."""
        return self._assign("exp_", None, lambda x: x.exp())

    # ------------------------------------------------------------ shape ----------------
    def expand(self, *sizes: Any, size: Any = None) -> "Tensor":
        """A broadcast view to ``sizes`` (-1 keeps an axis; new axes go in front; torch's keyword
        ``size=`` too); the gradient sums over the copies."""
        return ops.EXPAND(self, _shape_arg(sizes, size))

    def expand_as(self, other: Any) -> "Tensor":
        """``expand(other.shape)``: ``other`` is a Tensor (or a numpy array)."""
        return ops.EXPAND(self, _shape_of(other, "expand_as"))

    @allocating("repeat")
    def repeat(self, *sizes: Any, repeats: Any = None) -> "Tensor":
        """Tile the tensor ``sizes[i]`` times along axis i (numpy's ``tile``; torch's keyword
        ``repeats=`` too); the gradient sums over the tiles."""
        sizes = sizes if repeats is None else sizes + (repeats,)
        if not sizes:
            raise TypeError("repeat: the repeat counts are required (one per axis, e.g. x.repeat(2, 1))")
        return ops.REPEAT(self, _shape_arg(sizes))

    def view_as(self, other: Any) -> "Tensor":
        """``view(other.shape)``: ``other`` is a Tensor (or a numpy array)."""
        refuse_copy(self, shape := _shape_of(other, "view_as"), "view_as")
        return ops.RESHAPE(self, shape)

    def reshape_as(self, other: Any) -> "Tensor":
        """``reshape(other.shape)``: ``other`` is a Tensor (or a numpy array)."""
        return ops.RESHAPE(self, _shape_of(other, "reshape_as"))

    def t(self) -> "Tensor":
        """The transpose of a tensor of at most 2 axes (torch's ``t()``)."""
        if self.data.ndim > 2:
            raise base.ShapeMismatchError(f"t: expects a tensor of at most 2 axes, got shape {self.data.shape}")
        return ops.TRANSPOSE(self, ())

    def split(self, split_size_or_sections: Any = None, dim: int = 0, *, split_size: Any = None) -> tuple:
        """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the
        given section sizes, which must add up to the axis length (``split_size=``: torch's keyword)."""
        ax, s = _one_axis(self, dim, "split"), split_size_or_sections if split_size is None else split_size
        n = self.data.shape[ax]
        if split_size is not None and split_size_or_sections is not None:
            raise TypeError("split: give split_size_or_sections or split_size=, not both")
        if isinstance(s, base.Tensor) and s.data.ndim == 0 and s.data.dtype.kind in "iu":
            s = int(s.data)  # a 0-d integer tensor is a size, as torch reads it
        if isinstance(s, (list, tuple)):
            if any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0 for k in s) or sum(s) != n:
                raise ValueError(f"split: sections {list(s)} must be ints >= 0 adding up to {n}, the size of axis "
                                 f"{ax} of shape {self.data.shape}")
            bounds = np.cumsum([0] + list(s)).tolist()
        elif isinstance(s, numbers.Integral) and not isinstance(s, bool) and (s > 0 or n == 0):
            bounds = list(range(0, n, s)) + [n] if n else [0, 0]
        else:
            raise base.ArgumentError(f"split: split_size must be an int > 0 or a list of section sizes, got {s!r}")
        return tuple(self[_along(self.data.ndim, ax, slice(a, b))] for a, b in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most ``chunks`` pieces along ``dim``, each of ceil(n / chunks) (the last smaller)."""
        if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks <= 0:
            raise base.ArgumentError(f"chunk: chunks must be an int > 0, got {chunks!r}")
        n = self.data.shape[_one_axis(self, dim, "chunk")]
        if n == 0:  # an empty axis makes ``chunks`` empty pieces, as torch
            return self.split([0] * chunks, dim)
        return self.split(math.ceil(n / chunks), dim)

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along ``dim``, that axis removed (``tuple(x)`` for dim 0)."""
        ax = _one_axis(self, dim, "unbind")
        return tuple(self[_along(self.data.ndim, ax, i)] for i in range(self.data.shape[ax]))

    def roll(self, shifts: Any, dims: Any = None) -> "Tensor":
        """Shift the elements cyclically by ``shifts`` along ``dims`` (of the flattened tensor
        when ``dims`` is None); the gradient is rolled back."""
        if not isinstance(shifts, (numbers.Integral, tuple, list)) or isinstance(shifts, bool):
            raise TypeError(f"roll: shifts must be an int or a tuple of ints, got {shifts!r}")
        if dims is None:
            if not isinstance(shifts, numbers.Integral) and len(shifts) != 1:
                raise ValueError(f"roll: without dims, shifts must be one int, got {shifts!r}")
            return self.reshape(-1).roll(shifts, 0).reshape(self.data.shape)
        sh = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        ds = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(sh) != len(ds) or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) for k in sh):
            raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must be ints, as many of one as of the other")
        sh = tuple(_int("roll", "shifts", k) for k in sh)
        out = self
        for k, d in zip(sh, ds):
            ax = _one_axis(self, d, "roll")
            n = self.data.shape[ax]
            if n:
                out = out[_along(self.data.ndim, ax, (np.arange(n) - k) % n)]
        return out  # type: ignore[return-value]

    def flip(self, *dims: Any, **kw: Any) -> "Tensor":
        """Reverse the order of the elements along ``dims`` (required, positionally or as torch's
        keyword ``dims=``; ``()`` flips none)."""
        if kw and (dims or set(kw) != {"dims"}):
            raise TypeError(f"flip: takes the axes positionally or as dims=, got {dims!r} and {sorted(kw)}")
        dims = (kw["dims"],) if kw else dims
        if not dims:
            raise TypeError("flip: the axes to reverse are required (e.g. x.flip(0)); give () to flip none")
        axes = axes_of(self.data.ndim, _shape_arg(dims), "flip") or ()
        # a copy, as torch's flip (not numpy's view): an in-place change of it leaves this tensor alone
        key = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.data.ndim))
        return ops.CLONE(self[key])

    # ------------------------------------------------------------ selection ------------
    def where(self, condition: Any, y: Any = None, *, other: Any = None) -> "Tensor":
        """This tensor where ``condition`` holds, else ``y`` (``tl.where(condition, self, y)``;
        torch's keyword for ``y``: ``other``)."""
        return factories.where(condition, self, one_of("where", y=y, other=other))

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """``value`` where the boolean ``mask`` is True, else this tensor's values (the two
        shapes broadcast together, as torch); the gradient reaches this tensor where the mask
        is False."""
        m = factories._operand(mask)
        try:
            np.broadcast_shapes(m.data.shape, self.data.shape)
            ok = m.data.dtype == np.bool_
        except ValueError:
            ok = False
        if not ok:
            raise base.ShapeMismatchError(f"masked_fill: mask of shape {m.data.shape} and dtype {m.data.dtype} must "
                                          f"be bool and broadcast with the tensor's shape {self.data.shape}")
        return ops.WHERE(m, fill_value("masked_fill", value, self.data.dtype), self)

    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> "Tensor":
        """``out[..., i, ...] = self[..., index[..., i, ...], ...]`` along ``dim``; a 0-d tensor
        acts as one of shape (1,), and a 0-d or one-axis index gives its own shape."""
        if self.data.ndim == 0:
            shape = np.shape(index.data if isinstance(index, base.Tensor) else index)
            if len(shape) <= 1:
                idx = index.reshape(-1) if isinstance(index, base.Tensor) else np.reshape(index, -1)
                return ops.GATHER(self.reshape(1), dim, idx).reshape(shape)
        return ops.GATHER(self, dim, index)

    # ------------------------------------------------------------ reductions -----------
    def cumsum(self, dim: int, *, dtype: Any = None) -> "Tensor":
        """Running sums along ``dim``."""
        x = self if dtype is None else self.astype(factories.as_dtype("cumsum", dtype))
        return asked_dtype(ops.CUMSUM(x, dim), dtype, x)

    def _in_dtype(self, who: str, dtype: Any, floats: bool = False) -> "Tensor":
        """The input of a reduction with torch's ``dtype=``: cast to it first (between floats the
        gradient is cast back); ``floats``: a float dtype only (``mean``), else a TypeError."""
        dt = factories.as_dtype(who, dtype)
        if floats and dt.kind != "f":
            raise TypeError(f"{who}: dtype must be a float dtype, got {dt} (the tensor's dtype is {self.data.dtype})")
        return self.astype(dt)

    def prod(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> "Tensor":
        """The product over ``dim`` (all elements when None); exact gradients at zeros."""
        x = self if dtype is None else self.astype(factories.as_dtype("prod", dtype))
        axis, keep = _torch_axis(None, keepdim, dim, None)
        return asked_dtype(ops.PROD(x, axis, keep), dtype, x)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        """log(sum(exp(x))) over ``dim``, computed stably."""
        axis, keep = _torch_axis(None, keepdim, dim, None)
        return ops.LOGSUMEXP(self._floating("logsumexp"), axis, keep)

    def amax(self, dim: Any = (), keepdim: bool = False) -> "Tensor":
        """The maximum over ``dim`` (every axis by default); ties share the gradient evenly."""
        axis, keep = _torch_axis(None, keepdim, dim, None)
        return AMAX(self, axis, keep)

    def amin(self, dim: Any = (), keepdim: bool = False) -> "Tensor":
        """The minimum over ``dim`` (every axis by default); ties share the gradient evenly."""
        axis, keep = _torch_axis(None, keepdim, dim, None)
        return AMIN(self, axis, keep)

    def norm(self, p: Union[float, str] = "fro", dim: Any = None, keepdim: bool = False,
             dtype: Any = None) -> "Tensor":
        """The vector p-norm (sum |x|**p)**(1/p) over ``dim`` (all elements when None); ``"fro"``
        is p = 2; p = inf / -inf give max / min |x|, p = 0 the count of non-zeros; ``"nuc"``:
        the nuclear norm (sum of singular values) of the matrices over the two axes ``dim``
        (a 2-D tensor when None), gradient U V^T."""
        if isinstance(p, str):
            if p == "nuc":
                from .linalg import matrix_norm
                if dim is None and self.data.ndim != 2:
                    raise ValueError(f"norm: p='nuc' needs dim (two axes) or a 2-D tensor, got shape {self.data.shape}")
                return matrix_norm(self, "nuc", (0, 1) if dim is None else dim, keepdim, dtype=dtype)
            if p != "fro":
                raise base.ArgumentError(f"norm: p={p!r} is not supported; give a number, inf, 'fro' or 'nuc'")
            p = 2.0
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"norm: p must be a real number, inf or 'fro', got {p!r}")
        x = self._floating("norm")
        if dtype is not None:
            dt, src = factories.as_dtype("norm", dtype), self.data.dtype
            if dt.kind != "f" or (src.kind == "f" and not np.can_cast(src, dt, "safe")):
                raise TypeError(f"norm: dtype {dt} must be a float at least as wide as the tensor's {src} "
                                "(the values are not narrowed)")
            x = x.astype(dt)
        axis, keep = _torch_axis(None, keepdim, dim, None)
        return ops.NORM(x, axis, keep, float(p))

    def var(self, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
            correction: Optional[float] = None) -> "Tensor":
        """sum((x - mean)**2) / (N - correction) over ``dim``; ``correction`` defaults to 1
        (``unbiased=False`` means 0). N <= correction gives inf or nan, as torch; so does the
        gradient, except along a given ``dim`` with N < correction, where it is torch's finite
        2 (x - mean) / (N - correction). Computed in a wider float (``ops.reduce.WIDER``), then
        rounded once, as torch's CPU kernel (no overflow of the squared deviations)."""
        if isinstance(dim, bool):  # torch's var(unbiased)
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise TypeError("var: give either unbiased or correction, not both")
        c = correction if correction is not None else (0 if unbiased is False else 1)
        x = self._floating("var")
        if x.data.dtype in WIDER:
            return x.to(WIDER[x.data.dtype]).var(dim, keepdim=keepdim, correction=c).to(x.data.dtype)
        axis, keep = _torch_axis(None, keepdim, dim, None)
        axes = axes_of(x.data.ndim, axis, "var")
        n = x.data.size if axes is None else math.prod(x.data.shape[a] for a in axes)
        if n - c > 0:
            centred = x - x.mean(axis, keepdims=True)
            return (centred * centred).sum(axis, keepdims=keep) / (n - c)
        # No degrees of freedom: the value is s / 0 (inf, or nan where s = 0). The gradient is
        # torch's: the mean held fixed (its exact share is 0, and inf - inf would make it nan),
        # and over all elements, inf with no sign (nan where x equals the mean).
        centred = x - x.mean(axis, keepdims=True).detach()
        if dim is not None and x.data.ndim:
            s = (centred * centred).sum(axis, keepdims=keep)
            if n == c:
                return s / 0
            # N < correction along a given dim: still s / 0, with torch's gradient 2 (x - mean) / (N - c)
            v = s / (n - c)
            return v - v.detach() + s.detach() / 0
        c0 = centred.detach()
        return ((c0 * c0).sum(axis, keepdims=keep) + ((x - x.detach()) * c0.abs()).sum(axis, keepdims=keep)) / 0

    def std(self, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
            correction: Optional[float] = None) -> "Tensor":
        """The square root of ``var`` (same arguments); where it is 0 the gradient is 0, as
        torch's (not 0/0). Computed as ``var`` is, in a wider float, then rounded once."""
        dt = self.data.dtype
        if dt in WIDER:
            return self.to(WIDER[dt]).std(dim, unbiased, keepdim, correction=correction).to(dt)
        v = self.var(dim, unbiased, keepdim, correction=correction)
        return factories.where(v == 0, np.zeros((), v.data.dtype), v).sqrt()

    # ------------------------------------------------------------ step functions -------
    def sign(self) -> "Tensor":
        """-1, 0 or 1 by the sign of each element (zero gradient); a bool tensor is its own sign."""
        return self.clone() if self.data.dtype.kind == "b" else ops.SIGN(self)

    def floor(self) -> "Tensor":
        """The largest integer <= x, elementwise (zero gradient)."""
        return ops.FLOOR(self)

    def ceil(self) -> "Tensor":
        """The smallest integer >= x, elementwise (zero gradient)."""
        return ops.CEIL(self)

    def round(self, decimals: int = 0) -> "Tensor":
        """Round to ``decimals`` digits, halves to even (zero gradient)."""
        return ops.ROUND(self, _int("round", "decimals", decimals))

    # ------------------------------------------------------------ comparisons ----------
    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return factories.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Any) -> bool:
        return factories.equal(self, other)
