"""Tensor: a numpy array that records the ops applied to it, for reverse-mode autodiff.

Each method is a one-line call of an op object from ``ops`` (forward, derivative and
per-sample rule live there, together); this file holds the Tensor's attributes, its
``backward`` and its PyTorch-style conveniences. The graph walker (``graph.py``) is
shared with the scalar ``Value`` engine.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import graph, ops, persample
from .batchstate import BATCHED, MIXED, STAT, fit
from .conventions import (
    MinMax,
    _positional,
    _shape_arg,
    _torch_axis,
    check_bool,
    check_dtype,
    check_flags,
    checked_grad,
    checked_order,
    seed_of,
)
from .intcast import IntOverflowError, cast_ints
from .ops import base as _base
from .ops.base import axes_of, bump, const, make
from .ops.memory import released
from .printing import tensor_repr
from .torchapi import TorchMethods
from .torchfill import FillMethods
from .torchinfo import InfoMethods
from .torchlinalg import LinalgMethods
from .torchspecial import SpecialMethods
from .torchstats import StatsMethods
from .torchwrite import add_twins

ArrayLike = Union["Tensor", np.ndarray, float, int, Sequence]


def _float_dtype(d: np.dtype) -> bool:
    return np.issubdtype(d, np.floating)


def _binary(op: Any, reverse: bool = False) -> Any:
    """The Tensor method calling ``op(self, other)`` (``op(other, self)`` when ``reverse``)."""
    number_op = op.rconst_op if reverse else op.const_op  # (a Python number folded into the op)
    if number_op is None:
        def method(self: "Tensor", other: Any) -> "Tensor":
            return op(self, other, reverse)
    else:
        def method(self: "Tensor", other: Any) -> "Tensor":
            t = type(other)
            if t is float or t is int:  # the hot case (x * 2.0): straight to the number's op
                return number_op(self, other)
            return op(self, other, reverse)

    method.__doc__ = f"{op.name}: {op.rule}"
    return method


class Tensor(TorchMethods, StatsMethods, SpecialMethods, FillMethods, LinalgMethods, InfoMethods):
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, batched=False, name=None, dtype=None)``: ``data``
    is anything ``np.asarray`` accepts (copied). Python floats give float64 (numpy's
    rule); float32 stays float32 through every op. ``batched=True`` marks axis 0 as the
    sample axis: a cost that averages (or sums) per-sample terms then gives, from the same
    ``backward()``, ``p.grad_sample[b]`` = the gradient of sample b's own term.
    """

    __slots__ = ("_data", "_v", "_stamp", "_grad", "_lazy", "_rg", "name", "_parents", "_op", "_ctx", "_bs",
                 "_mix", "_ps", "_gs", "_gsbuf", "_gbuf", "_gsnorm", "_nkeys", "_last_batch", "_src", "_param",
                 "_moved", "_hooks", "_post", "_internal", "_home", "_views", "_origin", "_bid", "_mod", "_inf",
                 "__weakref__")
    __hash__ = object.__hash__  # hashable by identity (optimizer state is keyed by parameters)

    def __init__(self, data: ArrayLike, requires_grad: bool = False, batched: bool = False,
                 name: Optional[str] = None, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Tensor: requires_grad must be a bool, got {requires_grad!r}")
        if not isinstance(batched, (bool, np.bool_)):
            raise TypeError(f"Tensor: batched must be a bool, got {batched!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a str or None, got {type(name).__name__}")
        if dtype is not None:
            dtype = check_dtype("Tensor", dtype)
        try:
            arr = np.array(data, dtype=dtype)
        except OverflowError as e:  # an int outside the dtype: torch's rule (wrap into unsigned, or refuse)
            if (arr := cast_ints("Tensor", data, dtype)) is None:
                raise IntOverflowError(f"Tensor: {e}") from None
        except (TypeError, ValueError) as e:  # (ragged lists: a ValueError too, as torch raises)
            raise _DataError(f"Tensor: cannot make a numeric tensor from {type(data).__name__} data ({e})") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: cannot make a numeric tensor from {type(data).__name__} data "
                            f"(dtype {arr.dtype}; bool, integer and float dtypes are supported)")
        if requires_grad and not _float_dtype(arr.dtype):
            raise _base.DtypeError(f"Tensor: only floating-point tensors can require gradients, got dtype {arr.dtype}")
        if batched and arr.ndim == 0:
            raise ValueError("Tensor: batched=True needs at least one axis (axis 0 indexes the samples)")
        self._data, self._v = arr, 0
        self._grad = self._lazy = self._op = self._ctx = self._ps = self._gs = None
        self._rg = self._param = bool(requires_grad)  # _param: a module's parameter, also when frozen
        self.name, self._parents = name, ()
        self._bs = BATCHED if batched else 0
        self._internal = False  # (True, or a weak reference to the tensor, on a former node: formers)
        if graph.state.inference:  # (made in an inference_mode block: is_inference(), as torch)
            self._inf = True

    # ------------------------------------------------------------------ attributes -----
    data = property(attrgetter("_data"), doc="The values (a numpy array). Assigning it (``x.data = ...``, "
                    "``x.data -= ...``) counts as an in-place change: a graph that used the old values "
                    "then refuses to backward, as PyTorch does.")

    @data.setter
    def data(self, value: Any) -> None:
        arr = value if type(value) is np.ndarray else np.asarray(value)
        if arr.dtype.kind not in "biuf" or (self.requires_grad and arr.dtype.kind != "f"):
            want = "a float array (the tensor requires grad)" if self.requires_grad else "a numeric array"
            raise TypeError(f"Tensor.data: expected {want}, got {type(value).__name__} of dtype {arr.dtype}")
        self._data = arr if arr.flags.writeable else arr.copy()  # (a read-only array: a copy, as Tensor(...) makes)
        self._v = bump()

    @property
    def grad(self) -> Optional[np.ndarray]:
        """The gradient (same shape and dtype as ``data``); on leaves it accumulates over backward
        calls. A weight gradient the default backward left as factors is multiplied out on read."""
        lazy = self._lazy
        if lazy:
            total = self._grad
            buf = released(self, "_gbuf") if total is None else None
            for g in lazy:
                v = g.value(buf)
                buf = None
                total = v if total is None else total + v
            self._grad, self._lazy = np.asarray(total), None
        g = self._grad
        if g is not None and not g.flags.writeable:  # (a non-leaf's cotangent may be a broadcast view)
            g = self._grad = np.array(g)
        return g

    @grad.setter
    def grad(self, value: Optional[ArrayLike]) -> None:  # (None clears the per-sample gradients too, as zero_grad)
        self._grad, self._lazy = None if value is None else checked_grad(self, value), None
        if value is None:
            persample.clear(self, (0, None))

    @property
    def batched(self) -> bool:
        """True when axis 0 indexes samples (set by ``batched=True`` and kept by ops that
        keep samples independent)."""
        return bool(self._bs & BATCHED)

    @property
    def grad_sample(self) -> Optional[np.ndarray]:
        """Each sample's own gradient, shape ``(B, *shape)``: ``grad_sample[b]`` is the gradient
        of sample b's term of the cost. Built on first read from what the backward kept
        (then kept until ``zero_grad()``); raises ``RuntimeError`` naming the op if the graph
        mixed samples."""
        gs = self._gs
        if gs is not None or self._ps is None:
            return gs
        ps = self._ps
        ps.check(persample.label(self))
        gs = ps.dense(released(self, "_gsbuf"))
        buf = getattr(self, "_gsbuf", None)
        root = _base._root
        if not gs.flags.writeable or not (gs.flags.owndata or (buf is not None and root(gs) is root(buf))):
            gs = np.array(gs)  # a broadcast or a view of another array: own it
        self._gs = self._gsbuf = gs
        return gs

    @grad_sample.setter
    def grad_sample(self, value: Optional[np.ndarray]) -> None:
        self._ps, self._gs, self._gsnorm = None, value, None  # (the norms follow the new rows)

    @property
    def grad_sample_norm(self) -> Optional[np.ndarray]:
        """The L2 norm of each sample's own gradient, shape (B,); computed on first read from
        the kept factors without building ``grad_sample`` where a factored rule exists (or
        set directly by ``backward(per_sample="norms")``)."""
        n = getattr(self, "_gsnorm", None)
        if n is not None or (self._ps is None and self._gs is None):
            return n
        self._gsnorm = n = np.sqrt(persample.sq_norms_of(self)).astype(self.data.dtype, copy=False)
        return n

    @grad_sample_norm.setter
    def grad_sample_norm(self, value: Optional[np.ndarray]) -> None:
        self._gsnorm = value

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def op(self) -> str:
        """Name of the op that produced this tensor ('' for a leaf)."""
        return self._op.name if self._op is not None else ""

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        extra = ["requires_grad=True"] * bool(self.requires_grad) + ["batched=True"] * bool(self._bs & BATCHED)
        return tensor_repr(self.data, extra + [f"name={self.name!r}"] * bool(self.name))  # (tl.set_printoptions)

    def _accumulate(self, g: np.ndarray) -> None:
        """Leaf gradients accumulate across backward calls (like PyTorch), one thread at a time."""
        with graph.ACCUMULATE:
            if type(g) is persample.LazyGrad:
                self._lazy = (self._lazy or []) + [g]
            elif self._grad is None and not self._lazy:  # (``base is None``: g owns its memory)
                self._grad = g if type(g) is np.ndarray and g.base is None and g.flags.writeable else np.array(g)
            else:
                self.grad = np.asarray(self.grad + g)  # 0-d sums are numpy scalars

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared; ``force=True``, torch's keyword: a copy), also of a tensor
        that requires grad (the contract). Gradients kept as factors that read it are multiplied
        out first, so changing the array in place leaves them as the backward made them."""
        if not check_bool("numpy", "force", force):
            persample.before_write(self)
        return self.data.copy() if force else self.data

    def detach(self) -> "Tensor":
        """A tensor sharing this data, cut from the graph (keeps the batched flag, and the mark
        of a batch statistic: a per-sample gradient through it is refused, as under no_grad). An
        optimizer step that later changes the shared memory makes graphs that read the
        detached tensor refuse ``backward``, as graphs that read the parameter do."""
        d = self._data
        if (self._op is None and self.requires_grad) or d.base is not None:
            _base.detached(d)
        return make(d, None, (), None, False, self._bs, getattr(self, "_mix", None) if self._bs else None)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if check_bool("requires_grad_", "requires_grad", requires_grad) and not _float_dtype(self.data.dtype):
            raise _base.DtypeError(f"requires_grad_: only floating-point tensors can require gradients, "
                                   f"got dtype {self.data.dtype}")
        if not requires_grad and self.requires_grad and self._op is not None:  # (torch's rule)
            raise RuntimeError("requires_grad_: only a leaf's flag can change; detach() a value needing no gradient")
        self._rg = bool(requires_grad)
        if requires_grad and self._op is None:
            self._param = True
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``grad`` and everything per-sample (``grad_sample``, ``grad_sample_norm``,
        the kept factors). ``set_to_none=False`` zeroes ``grad`` in place instead, as torch."""
        if (set_to_none is True or check_bool("zero_grad", "set_to_none", set_to_none)
                or (self._grad is None and not self._lazy)):
            grad = self._grad
            if grad is not None and not self._lazy:
                self._gbuf = grad  # its memory may serve the next gradient (ops.base.released)
            self._grad = self._lazy = None
        elif self._lazy or not self._grad.flags.writeable:  # (factors: zeros, not their product)
            self._grad, self._lazy = np.zeros(self._data.shape, self._data.dtype), None
        else:
            self._grad[...] = 0
        persample.clear(self, (0, None))  # (no batch since: an empty shard adds nothing)

    # ------------------------------------------------------------------ backward -------
    def backward(self, gradient: Optional[ArrayLike] = None, per_sample: Union[bool, str] = True,
                 trace: Any = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Reverse-mode sweep: fill ``.grad`` of the graph's nodes with d(self)/d(node).

        ``gradient`` is dL/d(self); it may be omitted for a one-element tensor (seed 1).
        If the graph holds a batched input and ``self`` is a cost that averages or sums
        per-sample terms, leaf parameters also keep what their per-sample gradients are made
        of: ``grad_sample`` (shape (B, *p.shape)) and ``grad_sample_norm`` are built from it
        on first read. ``per_sample=False`` keeps nothing per-sample; ``per_sample="norms"``
        sets ``grad_sample_norm`` now and keeps nothing else. ``retain_graph`` is accepted
        (the graph lives while referenced). ``create_graph=True`` computes the gradients with
        differentiable ops (module ``higher``), for higher-order gradients: ``.grad`` gets the same
        values (numpy arrays; ``tl.autograd.grad(..., create_graph=True)`` returns the gradients as
        Tensors to differentiate again), and a batched input keeps nothing per-sample (as
        ``per_sample=False``). ``inputs=``: only their ``.grad`` accumulates (``tl.autograd.backward``)."""
        if inputs is not None:
            if trace is not None or per_sample is not True:
                raise ValueError("backward: inputs= cannot be combined with trace= or per_sample=")
            from .autograd import backward
            return backward(self, gradient, retain_graph, create_graph, inputs)
        if per_sample is not True and per_sample is not False and per_sample != "norms":
            raise ValueError(f"backward: per_sample must be True, False or 'norms', got {per_sample!r}")
        graphed = check_flags("backward", retain_graph, create_graph)
        if trace is not None and not callable(trace):
            raise TypeError(f"backward: trace must be callable or None, got {type(trace).__name__}")
        seed = seed_of(self, gradient, "backward")
        if graphed:
            from . import higher
            return higher.backward(self, higher.seed(gradient, seed), checked_order(self), trace)
        if graph.state.anomaly:
            from .anomaly import backward_check
            trace = backward_check(trace)
        ctx = None
        if self._bs:
            mode = "rows" if per_sample is True else ("norms" if per_sample == "norms" else "plain")
            ctx = persample.Context(self, mode, None if gradient is None else seed)
        order = checked_order(self)  # refuses values changed in place since the forward
        st = graph.state
        st.lazy = trace is None and (graph.LAZY.get(ctx.mode, False) if ctx is not None else "plain")  # (graph.LAZY)
        try:
            graph.backward(self, seed, fit, trace, ctx, order)
        finally:
            st.lazy = False

    # ------------------------------------------------------------------ operators ------
    # each a one-line call of its op (numbers, arrays and Tensors on either side)
    __add__ = _binary(ops.ADD)  # (add and sub, with torch's alpha, are in torchmath)
    __radd__ = _binary(ops.ADD, True)
    __sub__ = _binary(ops.SUB)
    __rsub__ = _binary(ops.SUB, True)
    __mul__ = mul = _binary(ops.MUL)
    __rmul__ = _binary(ops.MUL, True)
    __truediv__ = _binary(ops.DIV)  # (div, with torch's rounding_mode, is in torchmath)
    __rtruediv__ = _binary(ops.DIV, True)
    __pow__ = _binary(ops.POW)  # (pow, with torch's keyword exponent=, is in torchmath)
    __rpow__ = _binary(ops.POW, True)

    def __neg__(self) -> "Tensor":
        return ops.NEG(self)

    neg = __neg__

    def __pos__(self) -> "Tensor":
        return self

    def __matmul__(self, other: Any) -> "Tensor":
        return ops.MATMUL(self, other if type(other) is Tensor else const(other, "matmul"))

    matmul = __matmul__

    def __rmatmul__(self, other: Any) -> "Tensor":
        return ops.MATMUL(const(other, "matmul"), self)

    # ------------------------------------------------------------------ functions ------
    def exp(self) -> "Tensor":
        """e^x elementwise."""
        return ops.EXP(self._floating("exp"))

    def log(self) -> "Tensor":
        """Natural logarithm elementwise (log of x <= 0 gives -inf/nan, as numpy and torch)."""
        return ops.LOG(self._floating("log"))

    def sqrt(self) -> "Tensor":
        """sqrt(x) elementwise (nan below 0)."""
        return ops.SQRT(self._floating("sqrt"))

    def tanh(self) -> "Tensor":
        """tanh(x) elementwise."""
        return ops.TANH(self._floating("tanh"))

    def sigmoid(self) -> "Tensor":
        """1 / (1 + e^-x), without overflow."""
        return ops.SIGMOID(self._floating("sigmoid"))

    def relu(self) -> "Tensor":
        """max(x, 0) elementwise."""
        return ops.RELU(self)

    def abs(self) -> "Tensor":
        """|x| elementwise (gradient sign(x), 0 at 0)."""
        return ops.ABS(self)

    __abs__ = abs  # the builtin abs(t), as in torch

    def square(self) -> "Tensor":
        """x**2 elementwise."""
        return ops.POWC(self, 2)

    def clip(self, min: Any = None, max: Any = None) -> "Tensor":
        """Limit to [min, max] elementwise; the gradient is 1 inside, 0 where clipped."""
        return ops.CLIP(self, min, max)

    clamp = clip

    def _floating(self, op: str) -> "Tensor":
        """Integer inputs of float functions compute in float64 (as torch's default dtype)."""
        if _float_dtype(self.data.dtype):
            return self
        return self.astype(np.float64)

    def astype(self, dtype: Any) -> "Tensor":
        """A copy converted to ``dtype``; between float dtypes the gradient flows (cast back)."""
        dt = check_dtype("astype", dtype)
        if dt == self.data.dtype:
            return self
        t = ops.CAST(self, dt)
        if not _float_dtype(dt) and t.requires_grad:
            t._rg, t._parents, t._op, t._ctx = False, (), None, None
        return t

    # ------------------------------------------------------------------ reductions -----
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None, dtype: Any = None) -> "Tensor":
        """Sum over ``axis`` (all axes when None); ``dim``/``keepdim`` are accepted as aliases;
        ``dtype``: the input is cast to it first, as torch (integers sum to int64 without it)."""
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        if dtype is None:
            return ops.SUM(self, axis, keepdims)
        x = self._in_dtype("sum", dtype)
        out = ops.SUM(x, axis, keepdims)
        return out if out.dtype == x.dtype else out.astype(x.dtype)  # (int16 stays int16, as torch)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: Optional[bool] = None, dtype: Any = None) -> "Tensor":
        """Mean over ``axis`` (all axes when None): the sum divided by the count N; ``dtype``
        (a float dtype): the input is cast to it first, as torch."""
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        x = self._floating("mean") if dtype is None else self._in_dtype("mean", dtype, floats=True)
        return ops.MEAN(x, axis, keepdims)

    def max(self, axis: Any = None, *keep: bool, keepdims: bool = False, dim: Any = None,
            keepdim: Optional[bool] = None, other: Any = None) -> Any:
        """Maximum over ``axis``; the gradient is split evenly among tied maxima. With
        torch's spellings (``dim=``, or an int axis with ``keepdim=`` or a second positional
        ``x.max(1, True)``): a named tuple ``(values, indices)`` whose gradient goes to the
        index alone, as torch's; ``x.max(other)`` with a Tensor (or ``other=``): ``maximum``."""
        return self._extremum(axis, keepdims, dim, _positional("max", keep, keepdim), np.argmax, ops.MAX, other)

    def min(self, axis: Any = None, *keep: bool, keepdims: bool = False, dim: Any = None,
            keepdim: Optional[bool] = None, other: Any = None) -> Any:
        """Minimum over ``axis``; ties share the gradient evenly. As ``max``: ``(values,
        indices)`` with torch's spellings; ``x.min(other)``: ``minimum``."""
        return self._extremum(axis, keepdims, dim, _positional("min", keep, keepdim), np.argmin, ops.MIN, other)

    def softmax(self, axis: int = -1, dtype: Any = None, *, dim: Optional[int] = None) -> "Tensor":
        """exp(x - max) / sum exp(x - max) along ``axis`` (stable for large logits), in
        ``dtype`` (a float dtype: the input is cast to it first) when given, as torch."""
        x = self._floating("softmax") if dtype is None else self._in_dtype("softmax", dtype, floats=True)
        return ops.SOFTMAX(x, axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, dtype: Any = None, *, dim: Optional[int] = None) -> "Tensor":
        """x - max - log(sum exp(x - max)) along ``axis`` (stable), in ``dtype`` when given."""
        x = self._floating("log_softmax") if dtype is None else self._in_dtype("log_softmax", dtype, floats=True)
        return ops.LOGSOFTMAX(x, axis if dim is None else dim)

    # ------------------------------------------------------------------ layout ---------
    def reshape(self, *sizes: Any, shape: Any = None) -> "Tensor":
        """Same data in a new shape (one entry may be -1); torch's keyword ``shape=`` too (``view``: torchlayout)."""
        return ops.RESHAPE(self, _shape_arg(sizes, shape))

    def unsqueeze(self, axis: Any = None, *, dim: Any = None) -> "Tensor":
        """Insert a size-1 axis at ``axis`` (torch's keyword: ``dim``)."""
        axis, n = _torch_axis(axis, False, dim, None)[0], self.data.ndim + 1
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"unsqueeze: axis must be an int, got {axis!r}")
        if not -n <= axis < n:
            raise _base._AxisError(f"unsqueeze: axis {axis!r} is out of bounds for a result of dimension {n}")
        return ops.RESHAPE(self, np.expand_dims(self.data, axis).shape)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> "Tensor":
        """Remove size-1 axes (all of them, or those in ``axis`` / torch's ``dim``; a named
        axis of another size stays, as in torch)."""
        axis = _torch_axis(axis, False, dim, None)[0]
        axes = axes_of(self.data.ndim, axis, "squeeze")  # ints in range, else TypeError / AxisError
        if axes is not None:
            axes = tuple(a for a in axes if self.data.shape[a] == 1)
        return ops.RESHAPE(self, np.squeeze(self.data, axes).shape)

    def transpose(self, *axes: Any, dim0: Any = None, dim1: Any = None) -> "Tensor":
        """Permute the axes (numpy's meaning); reversed when no axes are given. On a 2-D
        tensor ``transpose(0, 1)`` is refused: numpy's identity and torch's swap disagree. On
        more axes two ints are no permutation in numpy's meaning, so they are torch's
        ``transpose(dim0, dim1)``: the two axes swapped (``swapaxes``), as in
        ``q.view(B, T, H, D).transpose(1, 2)``. torch's keywords ``dim0=``/``dim1=`` always swap."""
        if dim0 is not None or dim1 is not None:  # (unambiguous: torch's spelling, whatever the ndim)
            return self.swapaxes(*axes, dim0=dim0, dim1=dim1)
        if self.data.ndim == 2 and len(axes) == 2 and all(type(a) is int and -2 <= a < 2 for a in axes) and \
                [a % 2 for a in axes] == [0, 1]:  # (torch's spelling: two int arguments; a tuple is numpy's)
            raise ValueError("transpose(0, 1) on a 2-D tensor: numpy reads it as the identity permutation, "
                             "torch as a swap of the two axes; write x.T or x.swapaxes(0, 1) to swap them, or "
                             "x.transpose((0, 1)) for the identity")
        if self.data.ndim > 2 and len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes) \
                and not any(isinstance(a, (bool, np.bool_)) for a in axes):
            return self.swapaxes(*axes)
        return ops.TRANSPOSE(self, _shape_arg(axes))

    @property
    def T(self) -> "Tensor":
        """The tensor with its axes reversed (numpy's ``.T``)."""
        return ops.TRANSPOSE(self, ())

    def __getitem__(self, idx: Any) -> "Tensor":
        return ops.getitem(self, idx)  # (torch's order of axes: an index's integers first)


class _DataError(TypeError, ValueError):
    """Data ``np.array`` cannot make a numeric array of: a TypeError, and torch's ValueError
    for ragged nested lists."""


_base.Tensor = Tensor
add_twins(Tensor)  # relu_, sin_, pow_, ... : torch's in-place twins of the methods above

from .conventions import tensor  # noqa: E402  (torch.tensor's spelling)
from .ops.layout import cat, stack  # noqa: E402  (the joins live with their op)

__all__ = ["Tensor", "tensor", "cat", "stack", "MinMax", "MIXED", "STAT"]
