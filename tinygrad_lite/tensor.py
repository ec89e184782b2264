"""Tensor: a numpy array that records the ops applied to it, for reverse-mode autodiff.

Forward maths lives in the methods below, each op's derivative in ``ops.py``; the graph
walker (``graph.py``) is shared with the scalar ``Value`` engine.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import graph, ops, persample
from .persample import BATCHED, MIXED, STAT

ArrayLike = Union["Tensor", np.ndarray, float, int, Sequence]

_GRAD = graph._GRAD
_AxisError = getattr(np, "exceptions", np).AxisError
_new = object.__new__


def _make(data: np.ndarray, op: Any, parents: tuple, ctx: Any, rg: bool, bs: int = 0,
          mix: Any = None) -> "Tensor":
    """Build an op's output node (internal fast path: no validation)."""
    t = _new(Tensor)
    t.data = data if type(data) is np.ndarray else np.asarray(data)  # 0-d numpy results are scalars
    t.grad = None
    t.grad_sample = None
    t.name = None
    t._bs = bs
    if bs & (MIXED | STAT):
        t._mix = mix
    if rg:
        t.requires_grad = True
        t._parents = parents
        t._op = op
        t._ctx = ctx
    else:
        t.requires_grad = False
        t._parents = ()
        t._op = None
        t._ctx = None
    return t


def _val(a: np.ndarray) -> Any:
    """The operand for arithmetic with a Python number: a 0-d array as its numpy scalar
    (same dtype and promotion rules, several times cheaper to compute with); the result
    goes back into an array in ``_make``."""
    return a[()] if a.ndim == 0 else a


def _const(x: Any) -> "Tensor":
    """A Tensor for a numpy array (or array-like) operand: no gradient, not batched."""
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"cannot use an object of type {type(x).__name__} as a tensor operand")
    return _make(arr, None, (), None, False)


def _shape_error(op: str, a: Any, b: Any) -> ValueError:
    return ValueError(f"{op}: shapes {np.shape(a)} and {np.shape(b)} are not compatible")


def _axes(ndim: int, axis: Any, op: str) -> Optional[tuple]:
    """Normalise ``axis`` (None, int or tuple) to a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    ax = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in ax:
        a = int(a)
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise _AxisError(f"{op}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else None


def _float_dtype(d: np.dtype) -> bool:
    return np.issubdtype(d, np.floating)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, batched=False, name=None, dtype=None)``: ``data``
    is anything ``np.asarray`` accepts (copied). Python floats give float64 (numpy's
    rule); float32 stays float32 through every op. ``batched=True`` marks axis 0 as the
    sample axis: a cost that averages (or sums) per-sample terms then fills, in the same
    ``backward()``, ``p.grad_sample[b]`` = the gradient of sample b's own term.
    """

    __slots__ = ("data", "grad", "grad_sample", "requires_grad", "name", "_parents", "_op", "_ctx",
                 "_bs", "_mix", "_gsbuf", "_gsnorm", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray + Tensor -> Tensor

    def __init__(self, data: ArrayLike, requires_grad: bool = False, batched: bool = False,
                 name: Optional[str] = None, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = np.array(data, dtype=dtype)
        if arr.dtype == object:
            raise TypeError(f"Tensor: cannot make a numeric tensor from {type(data).__name__} data")
        if requires_grad and not _float_dtype(arr.dtype):
            raise TypeError(f"Tensor: only floating-point tensors can require gradients, "
                            f"got dtype {arr.dtype}")
        if batched and arr.ndim == 0:
            raise ValueError("Tensor: batched=True needs at least one axis (axis 0 indexes the samples)")
        self.data = arr
        self.grad = None
        self.grad_sample = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._parents = ()
        self._op = None
        self._ctx = None
        self._bs = BATCHED if batched else 0

    # ------------------------------------------------------------------ attributes -----
    @property
    def batched(self) -> bool:
        """True when axis 0 indexes samples (set by ``batched=True`` and kept by ops that
        keep samples independent)."""
        return bool(self._bs & BATCHED)

    @property
    def grad_sample_norm(self) -> Optional[np.ndarray]:
        """After ``backward(per_sample="norms")``: the L2 norm of each sample's own gradient
        of this parameter, shape (B,), computed without storing ``grad_sample``."""
        return getattr(self, "_gsnorm", None)

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
    def size(self) -> int:
        return self.data.size

    def numel(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def op(self) -> str:
        """Name of the op that produced this tensor ('' for a leaf)."""
        return self._op.name if self._op is not None else ""

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        extra = ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self._bs & BATCHED:
            extra += ", batched=True"
        if self.name:
            extra += f", name={self.name!r}"
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}{extra})"

    def _accumulate(self, g: np.ndarray) -> None:
        """Leaf gradients accumulate across backward calls (like PyTorch)."""
        if self.grad is None:
            self.grad = g if g.flags.writeable and g.flags.owndata else np.array(g)
        else:
            self.grad = np.asarray(self.grad + g)  # 0-d sums are numpy scalars

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> Union[float, int]:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.data.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.data.shape} is ambiguous")
        return bool(self.data)

    # comparisons give boolean tensors (no gradient); == and != keep identity semantics so
    # that tensors can be dict keys and set members, as the optimizers' state needs
    def _compare(self, other: Any, fn: Any) -> "Tensor":
        o = other.data if isinstance(other, Tensor) else other
        return _make(np.asarray(fn(self.data, o)), None, (), None, False, self._bs & BATCHED)

    def __lt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> "Tensor":
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> "Tensor":
        return self._compare(other, np.greater_equal)

    def detach(self) -> "Tensor":
        """A tensor sharing this data, cut from the graph (keeps the batched flag)."""
        return _make(self.data, None, (), None, False, self._bs & BATCHED)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not _float_dtype(self.data.dtype):
            raise TypeError(f"requires_grad_: only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self) -> None:
        """Clear ``grad``, ``grad_sample`` and ``grad_sample_norm``."""
        self.grad = None
        self.grad_sample = None
        self._gsnorm = None

    # ------------------------------------------------------------------ backward -------
    def backward(self, gradient: Optional[ArrayLike] = None, per_sample: Union[bool, str] = True,
                 trace: Any = None) -> None:
        """Reverse-mode sweep: fill ``.grad`` of the graph's nodes with d(self)/d(node).

        ``gradient`` is dL/d(self); it may be omitted for a one-element tensor (seed 1).
        If the graph holds a batched input and ``self`` is a cost that averages or sums
        per-sample terms, leaf parameters also get ``grad_sample`` (shape (B, *p.shape)).
        ``per_sample=False`` skips them (and allows graphs that mix samples).
        ``per_sample="norms"`` gives each parameter ``grad_sample_norm`` (shape (B,): the
        norm of each sample's gradient) instead, without storing B x |params| floats where
        the per-sample rule allows it (Linear and matmul weights: |g_b x_b^T| = |g_b| |x_b|).
        """
        if per_sample not in (True, False, "norms"):
            raise ValueError(f"backward: per_sample must be True, False or 'norms', got {per_sample!r}")
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph "
                               "(no input had requires_grad=True, or it was built under no_grad())")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: gradient can be implicitly created only for one-element "
                                   f"tensors; this one has shape {self.data.shape}, pass gradient=")
            seed = np.ones_like(self.data)
        else:
            gd = gradient.data if isinstance(gradient, Tensor) else gradient
            seed = np.array(gd, dtype=self.data.dtype)
            if seed.shape != self.data.shape:
                raise RuntimeError(f"backward: gradient has shape {seed.shape} but the tensor has shape "
                                   f"{self.data.shape}")
        bs = self._bs
        if bs == 0 or not per_sample or trace is not None:
            graph.backward(self, seed, persample.fit, trace)
        elif bs & MIXED:
            raise RuntimeError(f"backward: per-sample gradients are undefined: {self._mix}, which mixes "
                               "samples before the cost; nothing was accumulated. Call "
                               "backward(per_sample=False) for .grad only")
        else:
            persample.backward(self, seed, norms_only=per_sample == "norms")

    # ------------------------------------------------------------------ operators ------
    def _bin(self, other: Any, op: Any, name: str, lin: str, fwd: Any, reverse: bool = False) -> "Tensor":
        o = other if isinstance(other, Tensor) else _const(other)
        a, b = (o, self) if reverse else (self, o)
        try:
            data = fwd(a.data, b.data)
        except ValueError:
            raise _shape_error(name, a.data, b.data) from None
        s = a._bs | b._bs
        bs, mix = persample.elementwise(name, data.shape, a, b, lin) if s else (0, None)
        return _make(data, op, (a, b), None, (a.requires_grad or b.requires_grad) and _GRAD[0], bs, mix)

    def _unary(self, data: np.ndarray, op: Any, ctx: Any = None, linear: bool = False) -> "Tensor":
        s = self._bs
        bs, mix = persample.unary(op.name, self, linear) if s else (0, None)
        return _make(data, op, (self,), ctx, self.requires_grad and _GRAD[0], bs, mix)

    def __add__(self, other: Any) -> "Tensor":
        if type(other) is Tensor:
            a, b = self.data, other.data
            try:
                data = a + b
            except ValueError:
                raise _shape_error("add", a, b) from None
            s = self._bs | other._bs
            bs, mix = persample.elementwise("add", data.shape, self, other) if s else (0, None)
            return _make(data, ops.ADD, (self, other), None,
                         (self.requires_grad or other.requires_grad) and _GRAD[0], bs, mix)
        if isinstance(other, (int, float)):  # a constant: folded into the op, no node
            c = other if type(other) is float or type(other) is int else float(other)
            s = self._bs
            bs, mix = persample.unary("add", self, True) if s else (0, None)
            rg = self.requires_grad and _GRAD[0]
            return _make(_val(self.data) + c, ops.ADDC, (self,), None, rg, bs, mix)
        return self._bin(other, ops.ADD, "add", "ab", np.add)

    def __radd__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            return self.__add__(other)
        return self._bin(other, ops.ADD, "add", "ab", np.add, reverse=True)

    def __sub__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            return self._unary(_val(self.data) - (other if type(other) in (int, float) else float(other)),
                               ops.ADDC, None, True)
        return self._bin(other, ops.SUB, "sub", "ab", np.subtract)

    def __rsub__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            c = other if type(other) in (int, float) else float(other)
            return self._unary(c - _val(self.data), ops.RSUBC, None, True)
        return self._bin(other, ops.SUB, "sub", "ab", np.subtract, reverse=True)

    def __mul__(self, other: Any) -> "Tensor":
        if type(other) is Tensor:
            a, b = self.data, other.data
            try:
                data = a * b
            except ValueError:
                raise _shape_error("mul", a, b) from None
            s = self._bs | other._bs
            bs, mix = persample.elementwise("mul", data.shape, self, other, "ab*") if s else (0, None)
            return _make(data, ops.MUL, (self, other), None,
                         (self.requires_grad or other.requires_grad) and _GRAD[0], bs, mix)
        if isinstance(other, (int, float)):
            c = other if type(other) is float or type(other) is int else float(other)
            s = self._bs
            bs, mix = persample.unary("mul", self, True) if s else (0, None)
            return _make(_val(self.data) * c, ops.MULC, (self,), c, self.requires_grad and _GRAD[0], bs, mix)
        return self._bin(other, ops.MUL, "mul", "ab*", np.multiply)

    def __rmul__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            return self.__mul__(other)
        return self._bin(other, ops.MUL, "mul", "ab*", np.multiply, reverse=True)

    def __truediv__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            c = other if type(other) in (int, float) else float(other)
            return self._unary(_val(self.data) / c, ops.DIVC, c, True)
        return self._bin(other, ops.DIV, "div", "a", np.true_divide)

    def __rtruediv__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            c = other if type(other) in (int, float) else float(other)
            return self._unary(c / self.data, ops.RDIVC, c)
        return self._bin(other, ops.DIV, "div", "a", np.true_divide, reverse=True)

    def __pow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            c = other if type(other) in (int, float) else float(other)
            return self._unary(self.data ** c, ops.POWC, c, c == 1)
        o = other if isinstance(other, Tensor) else _const(other)
        try:
            data = self.data ** o.data
        except ValueError:
            raise _shape_error("pow", self.data, o.data) from None
        s = self._bs | o._bs
        bs, mix = persample.elementwise("pow", data.shape, self, o, "") if s else (0, None)
        if bs == persample.STAT:
            bs, mix = persample.mixed("op 'pow' applied to a batch statistic", self, o)
        return _make(data, ops.POW, (self, o), None, (self.requires_grad or o.requires_grad) and _GRAD[0],
                     bs, mix)

    def __rpow__(self, other: Any) -> "Tensor":
        if isinstance(other, (int, float)):
            c = other if type(other) in (int, float) else float(other)
            return self._unary(c ** self.data, ops.RPOWC, c)
        return _const(other).__pow__(self)

    def __neg__(self) -> "Tensor":
        return self._unary(-self.data, ops.NEG, None, True)

    def __pos__(self) -> "Tensor":
        return self

    def __matmul__(self, other: Any) -> "Tensor":
        o = other if isinstance(other, Tensor) else _const(other)
        return _matmul(self, o)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _matmul(_const(other), self)

    def matmul(self, other: Any) -> "Tensor":
        return self.__matmul__(other)

    # ------------------------------------------------------------------ functions ------
    def exp(self) -> "Tensor":
        """e^x elementwise."""
        return self._unary(np.exp(self.data), ops.EXP)

    def log(self) -> "Tensor":
        """Natural logarithm elementwise (log of x <= 0 gives -inf/nan, as numpy)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._unary(np.log(self.data), ops.LOG)

    def sqrt(self) -> "Tensor":
        """sqrt(x) elementwise."""
        with np.errstate(invalid="ignore"):
            return self._unary(np.sqrt(self.data), ops.SQRT)

    def tanh(self) -> "Tensor":
        """tanh(x) elementwise."""
        return self._unary(np.tanh(self.data), ops.TANH)

    def sigmoid(self) -> "Tensor":
        """1 / (1 + e^-x), computed as exp(-softplus(-x)) without overflow."""
        x = self.data
        e = np.exp(-np.abs(x))
        data = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self._unary(data.astype(x.dtype, copy=False), ops.SIGMOID)

    def relu(self) -> "Tensor":
        """max(x, 0) elementwise."""
        return self._unary(np.maximum(self.data, 0), ops.RELU)

    def abs(self) -> "Tensor":
        """|x| elementwise (gradient sign(x), 0 at 0)."""
        return self._unary(np.abs(self.data), ops.ABS)

    def square(self) -> "Tensor":
        """x**2 elementwise."""
        return self ** 2

    def clip(self, min: Any = None, max: Any = None) -> "Tensor":
        """Limit to [min, max] elementwise; the gradient is 1 inside, 0 where clipped."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        data = np.clip(self.data, min, max)
        return self._unary(data.astype(self.data.dtype, copy=False), ops.CLIP, (min, max))

    clamp = clip

    # PyTorch-style method names for the operators
    def add(self, other: Any) -> "Tensor":
        return self + other

    def sub(self, other: Any) -> "Tensor":
        return self - other

    def mul(self, other: Any) -> "Tensor":
        return self * other

    def div(self, other: Any) -> "Tensor":
        return self / other

    def pow(self, other: Any) -> "Tensor":
        return self ** other

    def neg(self) -> "Tensor":
        return -self

    # ------------------------------------------------------------------ reductions -----
    def _reduce(self, op: Any, fn: Any, axis: Any, keepdims: bool, sum_or_mean: bool) -> "Tensor":
        axes = _axes(self.data.ndim, axis, op.name)
        if axes is not None and len(axes) == self.data.ndim:
            axes = None if not keepdims else axes
        if self.data.size == 0 and op is ops.MAX:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {self.data.shape}")
        data = np.asarray(fn(self.data, axis=axes, keepdims=keepdims))
        s = self._bs
        bs, mix = persample.reduction(op.name, self, axes, sum_or_mean) if s else (0, None)
        return _make(data, op, (self,), (self.data.shape, axes, keepdims), self.requires_grad and _GRAD[0],
                     bs, mix)

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> "Tensor":
        """Sum over ``axis`` (all axes when None). ``dim``/``keepdim`` are accepted as aliases."""
        axis, keepdims = _alias(axis, keepdims, dim, keepdim)
        return self._reduce(ops.SUM, np.sum, axis, keepdims, True)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: Optional[bool] = None) -> "Tensor":
        """Mean over ``axis`` (all axes when None): the sum divided by the count N."""
        axis, keepdims = _alias(axis, keepdims, dim, keepdim)
        if not _float_dtype(self.data.dtype):
            return self.astype(np.float64).mean(axis, keepdims)
        return self._reduce(ops.MEAN, np.mean, axis, keepdims, True)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> "Tensor":
        """Maximum over ``axis``; the gradient is split evenly among tied maxima.
        (Returns the values only, also when called with ``dim=``.)"""
        axis, keepdims = _alias(axis, keepdims, dim, keepdim)
        return self._reduce(ops.MAX, np.max, axis, keepdims, False)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: Optional[bool] = None) -> "Tensor":
        """Minimum over ``axis``: -max(-x); ties share the gradient evenly."""
        return -((-self).max(axis, keepdims, dim=dim, keepdim=keepdim))

    def astype(self, dtype: Any) -> "Tensor":
        """A copy converted to ``dtype``; between float dtypes the gradient flows (cast back)."""
        dt = np.dtype(dtype)
        if dt == self.data.dtype:
            return self
        rg = self.requires_grad and _float_dtype(dt) and _GRAD[0]
        return _make(self.data.astype(dt), ops.CAST, (self,), None, rg, self._bs,
                     getattr(self, "_mix", None) if self._bs & (MIXED | STAT) else None)

    def softmax(self, axis: int = -1, *, dim: Optional[int] = None) -> "Tensor":
        """exp(x - max) / sum exp(x - max) along ``axis`` (stable for large logits)."""
        axis = axis if dim is None else dim
        x = self.data
        ax = _axes(x.ndim, axis, "softmax")
        a = ax[0] - x.ndim if ax else -1
        e = np.exp(x - x.max(axis=a, keepdims=True))
        data = e / e.sum(axis=a, keepdims=True)
        s = self._bs
        bs, mix = persample.along_axis("softmax", self, a) if s else (0, None)
        return _make(data, ops.SOFTMAX, (self,), a, self.requires_grad and _GRAD[0], bs, mix)

    def log_softmax(self, axis: int = -1, *, dim: Optional[int] = None) -> "Tensor":
        """x - max - log(sum exp(x - max)) along ``axis`` (stable for large logits)."""
        axis = axis if dim is None else dim
        x = self.data
        ax = _axes(x.ndim, axis, "log_softmax")
        a = ax[0] - x.ndim if ax else -1
        z = x - x.max(axis=a, keepdims=True)
        data = z - np.log(np.exp(z).sum(axis=a, keepdims=True))
        s = self._bs
        bs, mix = persample.along_axis("log_softmax", self, a) if s else (0, None)
        return _make(data, ops.LOGSOFTMAX, (self,), a, self.requires_grad and _GRAD[0], bs, mix)

    # ------------------------------------------------------------------ layout ---------
    def reshape(self, *shape: Any) -> "Tensor":
        """Same data in a new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            data = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.data.shape} "
                             f"into shape {shape}") from None
        s = self._bs
        if s:
            keeps = data.ndim >= 1 and data.shape[0] == self.data.shape[0]
            bs, mix = persample.same_rows("reshape", self, data, keeps)
        else:
            bs, mix = 0, None
        return _make(data, ops.RESHAPE, (self,), self.data.shape, self.requires_grad and _GRAD[0], bs, mix)

    def view(self, *shape: Any) -> "Tensor":
        return self.reshape(*shape)

    def unsqueeze(self, axis: int) -> "Tensor":
        """Insert a size-1 axis at ``axis``."""
        n = self.data.ndim + 1
        if not -n <= axis < n:
            raise _AxisError(f"unsqueeze: axis {axis} is out of bounds for a result of dimension {n}")
        return self.reshape(np.expand_dims(self.data, axis).shape)

    def squeeze(self, axis: Any = None) -> "Tensor":
        """Remove size-1 axes (all of them, or those in ``axis``)."""
        return self.reshape(np.squeeze(self.data, axis).shape)

    def permute(self, *axes: Any) -> "Tensor":
        """Permute the axes (PyTorch's name for ``transpose(*axes)``)."""
        return self.transpose(*axes)

    def flatten(self, start_axis: int = 0) -> "Tensor":
        """Merge the axes from ``start_axis`` on into one."""
        return self.reshape(self.data.shape[:start_axis] + (-1,))

    def transpose(self, *axes: Any) -> "Tensor":
        """Permute the axes (numpy's meaning); reversed when no axes are given."""
        n = self.data.ndim
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        perm = tuple(range(n))[::-1] if not axes else tuple(int(a) % n if n else int(a) for a in axes)
        if sorted(perm) != list(range(n)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {n} axes of shape "
                             f"{self.data.shape}")
        data = self.data.transpose(perm)
        inv = tuple(np.argsort(perm))
        s = self._bs
        bs, mix = persample.same_rows("transpose", self, data, n >= 1 and perm[0] == 0) if s else (0, None)
        return _make(data, ops.TRANSPOSE, (self,), inv, self.requires_grad and _GRAD[0], bs, mix)

    @property
    def T(self) -> "Tensor":
        """The tensor with its axes reversed (numpy's ``.T``)."""
        return self.transpose()

    def __getitem__(self, idx: Any) -> "Tensor":
        idx, advanced = _normalise_index(idx)
        try:
            data = self.data[idx]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor shape {self.data.shape})") from None
        if not isinstance(data, np.ndarray):
            data = np.asarray(data)
        elif not advanced:
            data = data.view()
        s = self._bs
        if s:
            keeps = _index_keeps_rows(idx, self.data.shape)
            bs, mix = persample.same_rows("getitem", self, data, keeps)
        else:
            bs, mix = 0, None
        return _make(data, ops.GETITEM, (self,), (self.data.shape, idx, advanced),
                     self.requires_grad and _GRAD[0], bs, mix)


def _alias(axis: Any, keepdims: bool, dim: Any, keepdim: Optional[bool]) -> tuple:
    """Accept PyTorch's ``dim``/``keepdim`` spellings for numpy's ``axis``/``keepdims``."""
    if dim is not None:
        if axis is not None:
            raise TypeError("give either axis or dim, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


def cat(tensors: Sequence[Any], axis: int = 0, *, dim: Optional[int] = None) -> Tensor:
    """Join tensors along an existing axis (numpy's concatenate); the cotangent is split
    back into the pieces."""
    axis = axis if dim is None else dim
    ts = [t if isinstance(t, Tensor) else _const(t) for t in tensors]
    if not ts:
        raise ValueError("cat: needs at least one tensor")
    try:
        data = np.concatenate([t.data for t in ts], axis=axis)
    except ValueError as e:
        shapes = [t.data.shape for t in ts]
        raise ValueError(f"cat: shapes {shapes} cannot be joined along axis {axis} ({e})") from None
    ax = axis % data.ndim
    sizes = np.cumsum([t.data.shape[ax] for t in ts])[:-1]
    s = 0
    for t in ts:
        s |= t._bs
    bs, mix = persample.joined("cat", ts, data.shape, ax == 0) if s else (0, None)
    rg = any(t.requires_grad for t in ts) and _GRAD[0]
    return _make(data, ops.CONCAT, tuple(ts), (ax - data.ndim, tuple(sizes)), rg, bs, mix)


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: Optional[int] = None) -> Tensor:
    """Join tensors along a new axis."""
    axis = axis if dim is None else dim
    ts = [t if isinstance(t, Tensor) else _const(t) for t in tensors]
    if not ts:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.data.shape for t in ts}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([t.unsqueeze(axis) for t in ts], axis)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    try:
        data = np.matmul(a.data, b.data)
    except ValueError:
        raise ValueError(f"matmul: shapes {a.data.shape} and {b.data.shape} are not aligned "
                         "(a's last axis must match b's second-to-last)") from None
    s = a._bs | b._bs
    bs, mix = persample.matmul(a, b) if s else (0, None)
    rg = (a.requires_grad or b.requires_grad) and _GRAD[0]
    return _make(np.asarray(data), ops.MATMUL, (a, b), None, rg, bs, mix)


def _normalise_index(idx: Any) -> tuple:
    """Index as a tuple; Tensors and lists as arrays, boolean masks as integer arrays.
    Returns (index, has_advanced)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    advanced = False
    for i in idx:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray):
            advanced = True
            if i.dtype == bool:
                out.extend(np.nonzero(i))
                continue
            if not np.issubdtype(i.dtype, np.integer):
                raise IndexError(f"getitem: index arrays must be integer or boolean, got {i.dtype}")
        out.append(i)
    return tuple(out), advanced


def _index_keeps_rows(idx: tuple, shape: tuple) -> bool:
    """True when ``x[idx]`` keeps axis 0 as the sample axis with sample b in row b."""
    if not idx or idx[0] is Ellipsis:
        n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        if idx and n_real >= len(shape):
            return False
        rest = idx[1:]
    else:
        first = idx[0]
        if isinstance(first, slice):
            if first != slice(None) and first.indices(shape[0]) != (0, shape[0], 1):
                return False
            rest = idx[1:]
        elif isinstance(first, np.ndarray):
            pos = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
            if pos != list(range(len(pos))):
                return False
            try:
                bshape = np.broadcast_shapes(*(idx[k].shape for k in pos))
            except ValueError:
                return False
            return (len(bshape) == 1 and bshape[0] == shape[0] and first.ndim == 1
                    and np.array_equal(first, np.arange(shape[0])))
        else:
            return False
    pos = [k for k, i in enumerate(rest) if isinstance(i, np.ndarray)]
    if pos and pos != list(range(pos[0], pos[0] + len(pos))):
        return False  # separated index arrays move their axes to the front
    return True
