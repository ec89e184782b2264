"""Reductions (sum, mean, max, min, prod, logsumexp, the vector p-norm), the softmax
family and the running sum (cumsum).

A reduction over the sample axis turns per-sample terms into a batch statistic (a cost);
its ``sample_scale`` tells the per-sample pass the weight c of each sample's term.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED
from .base import Op, ReadsOutput, ShapeOnly, axes_of, const, failed, lead, make, owned
from .layout import EXPAND, GETITEM, RESHAPE, TRANSPOSE


def _expand_reduced(g: np.ndarray, nlead: int, in_shape: tuple, axes: Any) -> np.ndarray:
    """Undo a reduction's shape: put size-1 axes back where ``axes`` were removed."""
    n = len(in_shape)
    kshape = (1,) * n if axes is None else tuple(1 if i in axes else s for i, s in enumerate(in_shape))
    return g.reshape(g.shape[:nlead] + kshape)


def _kept(g: Any, in_shape: tuple, axes: Any, expand: bool = True) -> Any:
    """``_expand_reduced`` for a Tensor (no stack axes): the reduced axes put back with size
    1, then (``expand``) broadcast to ``in_shape``; differentiable ops."""
    kshape = (1,) * len(in_shape) if axes is None else tuple(1 if i in axes else s for i, s in enumerate(in_shape))
    g = RESHAPE(g, kshape) if g.shape != kshape else g
    return EXPAND(g, in_shape) if expand and kshape != in_shape else g



class EmptyReductionError(ValueError, IndexError, RuntimeError):
    """A max / min / argmax over an empty axis: a ``ValueError``, and the ``IndexError`` or
    ``RuntimeError`` torch raises there."""

class _Reduce(Op):
    sum_or_mean = True
    local = reduces = True  # local only for a reduction to a scalar
    fn: Any = None

    def __call__(self, x: Any, axis: Any = None, keepdims: bool = False, *extra: Any) -> Any:
        """``extra``: the op's own parameters (the norm's p), passed to ``compute`` and kept
        at the end of the node's ctx ``(in_shape, axes, keepdims, *extra)``."""
        xd = x._data
        try:
            if not isinstance(keepdims, (bool, np.bool_)):
                raise TypeError(f"{self.name}: keepdims must be a bool, got {keepdims!r}")
            axes = axes_of(xd.ndim, axis, self.name)
            if axes is not None and len(axes) == xd.ndim and not keepdims:
                axes = None
            data = self.compute(xd, axes, bool(keepdims), bool(x._bs & BATCHED), *extra)
        except Exception as e:
            failed(self, e, (x,))
            raise
        s = x._bs
        bs, mix = batchstate.reduction(self.name, x, axes, self.sum_or_mean) if s else (0, None)
        ctx = (xd.shape, axes, keepdims) + extra if extra else (xd.shape, axes, keepdims)
        return make(owned(data), self, (x,), ctx, x._rg, bs, mix)

    def compute(self, xd: np.ndarray, axes: Any, keepdims: bool, batched: bool) -> np.ndarray:
        return np.asarray(type(self).fn(xd, axis=axes, keepdims=keepdims))


# the dtype torch's CPU kernels for var/std (and std_mean's mean) accumulate a float dtype in
WIDER = {np.dtype(np.float16): np.dtype(np.float32), np.dtype(np.float32): np.dtype(np.float64)}


def opmath(a: np.ndarray) -> np.ndarray:
    """``a`` in the dtype torch's CPU kernels compute a function in: float16 in float32
    (``pi x`` or ``1 + erf(x)`` in half precision loses the value), else as it is."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def asked_dtype(out: Any, dtype: Any, x: Any) -> Any:
    """A sum, product or running one asked for in ``dtype`` (x's, after the cast): in that dtype,
    as torch (a small integer type accumulates in int64 here; the same values, wrapped)."""
    dt = x._data.dtype
    return out if dtype is None or out._data.dtype == dt else out.astype(dt)


def acc_dtype(x: np.ndarray) -> Any:
    """The dtype a sum or product of ``x`` accumulates in when numpy's own is not torch's:
    int64 for unsigned integers (numpy's uint64 would wrap a later subtraction), else None."""
    return np.int64 if x.dtype.kind == "u" else None


def _widened(fn: Any) -> Any:
    """``fn`` (a sum or product) accumulating in ``acc_dtype``."""
    def f(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        return fn(x, axis=axis, keepdims=keepdims, dtype=acc_dtype(x))
    return f


class Sum(ShapeOnly, _Reduce):
    name, rule, fn = "sum", "d sum(a)/da_i = 1", staticmethod(_widened(np.sum))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, _ = node._ctx
        k = lead(node, g)
        g = _expand_reduced(g, k, in_shape, axes)
        return (np.broadcast_to(g, g.shape[:k] + in_shape),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        in_shape, axes, _ = node._ctx
        return (_kept(g, in_shape, axes),)

    @staticmethod
    def sample_scale(node: Any) -> float:
        return 1.0

    @staticmethod
    def sample_reduction(node: Any) -> str:
        return "sum"


class Mean(ShapeOnly, _Reduce):
    name, rule = "mean", "d mean(a)/da_i = 1/N"

    def compute(self, xd: np.ndarray, axes: Any, keepdims: bool, batched: bool) -> np.ndarray:
        if batched and xd.shape[0] == 0 and (axes is None or 0 in axes):
            # the mean over an EMPTY batch is 0.0 (a training loop over Poisson batches runs
            # on); over an empty unbatched input it is NaN, as in torch
            shape = np.sum(xd, axis=axes, keepdims=keepdims).shape
            return np.zeros(shape, xd.dtype)
        if xd.size == 0:  # nothing to average: NaN (torch's value), without numpy's warning
            return np.full(np.sum(xd, axis=axes, keepdims=keepdims).shape, np.nan, xd.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.mean(xd, axis=axes, keepdims=keepdims))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, _ = node._ctx
        n = node._parents[0]._data.size // max(node._data.size, 1) if node._data.size else 1
        k = lead(node, g)
        g = _expand_reduced(g, k, in_shape, axes) * (1.0 / max(n, 1))
        return (np.broadcast_to(g, g.shape[:k] + in_shape).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        in_shape, axes, _ = node._ctx
        n = node._parents[0]._data.size // max(node._data.size, 1) if node._data.size else 1
        return (_kept(g, in_shape, axes) * (1.0 / max(n, 1)),)

    @staticmethod
    def sample_scale(node: Any) -> float:
        B = node._parents[0]._data.shape[0]
        return 1.0 / B if B else 1.0

    @staticmethod
    def sample_reduction(node: Any) -> str:
        return "mean"


class Max(ReadsOutput, _Reduce):
    name, rule, sum_or_mean = "max", "d max(a)/da_i = 1/k for each of the k tied maxima, else 0", False
    # torch's max and max(dim) select: 0 off the extrema even under an infinite or nan cotangent;
    # its amax and amin multiply by the tie weights (nan there), as AMax and AMin below
    selects = True
    fn = staticmethod(np.max)

    def compute(self, xd: np.ndarray, axes: Any, keepdims: bool, batched: bool) -> np.ndarray:
        empty = xd.size == 0 and (xd.ndim == 0 or any(xd.shape[a] == 0 for a in (axes or range(xd.ndim))))
        if empty:  # an empty reduced axis has no extremum (an empty result is fine, as in torch)
            raise EmptyReductionError(f"{self.name}: cannot reduce an empty axis of a tensor of shape {xd.shape}")
        return np.asarray(type(self).fn(xd, axis=axes, keepdims=keepdims))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, _ = node._ctx
        g = _expand_reduced(g, lead(node, g), in_shape, axes)
        w = self.weights(node)
        with np.errstate(invalid="ignore"):
            gw = g * w
            return ((np.where(w != 0, gw, 0) if self.selects else gw).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        in_shape, axes, _ = node._ctx
        w = self.weights(node)
        g = _kept(g, in_shape, axes)
        if self.selects:  # (selected first, as the vjp: 0 off the extrema under an inf cotangent)
            from .unary import _select
            g = _select(w != 0, g, node._data.dtype)
        return (g * w.astype(node._data.dtype),)

    @staticmethod
    def weights(node: Any) -> np.ndarray:
        """1/k at each of the k tied extrema of a group, 0 elsewhere."""
        in_shape, axes, _ = node._ctx
        x = node._parents[0]._data
        mk = _expand_reduced(node._data, 0, in_shape, axes)
        mask = x == mk
        if x.dtype.kind == "f":  # a NaN extremum: the NaN entries share the cotangent, as in torch
            mask |= np.isnan(x) & np.isnan(mk)
        return mask / mask.sum(axis=axes, keepdims=True)


class Min(Max):
    name, rule = "min", "d min(a)/da_i = 1/k for each of the k tied minima, else 0"
    fn = staticmethod(np.min)


class Prod(_Reduce):
    name, rule, sum_or_mean = "prod", "d prod(a)/da_i = the product of the other a_j (exact at zeros)", False
    fn = staticmethod(_widened(np.prod))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        """torch's rule, so non-finite values spread as there: ``g * prod / a`` when no a_i is 0.
        Else g times each element's product of the others (exact at zeros), except that a product
        of all elements with two or more zeros has a zero gradient."""
        in_shape, axes, _ = node._ctx
        x = node._parents[0]._data
        g = _expand_reduced(g, lead(node, g), in_shape, axes)
        zeros = np.count_nonzero(x == 0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if not zeros:
                return ((g * (_expand_reduced(node._data, 0, in_shape, axes) / x)).astype(x.dtype, copy=False),)
            if zeros > 1 and axes is None:
                return (np.zeros(np.broadcast_shapes(g.shape, x.shape), x.dtype),)
            return ((g * _others_product(x, axes)).astype(x.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """``g * prod / a`` when no a_i is 0; else ``g`` times the product of the others, each
        row's n products taken over an n x n tensor holding 1 on its diagonal (exact at zeros)."""
        in_shape, axes, _ = node._ctx
        x = node._parents[0]
        gk = _kept(g, in_shape, axes)
        if x._data.all():
            return (gk * _kept(node, in_shape, axes) / x,)
        return (gk * others_product(x, axes),)


def masked_square(x: Any, mask: np.ndarray, fill: float) -> Any:
    """The last axis of ``x`` (n values) spread over an n x n block ``y[..., i, j] = x[..., j]``
    where ``mask[i, j]``, else ``fill`` (differentiable ops)."""
    from .select import WHERE
    return WHERE(const(mask), RESHAPE(x, x.shape[:-1] + (1, x.shape[-1])), const(np.full((), fill, x.dtype)))


def others_product(x: Any, axes: Any) -> Any:
    """``_others_product`` with differentiable ops: the reduced axes flattened to the last one,
    and each element's product of the others taken over ``masked_square`` (1 on the diagonal)."""
    red = tuple(range(x.ndim)) if axes is None else axes
    perm = [i for i in range(x.ndim) if i not in red] + list(red)
    pshape = tuple(x.shape[i] for i in perm)
    n = int(np.prod([x.shape[i] for i in red]))
    flat = RESHAPE(TRANSPOSE(x, tuple(perm)), pshape[:len(pshape) - len(red)] + (n,))
    oth = PROD(masked_square(flat, ~np.eye(n, dtype=bool), 1.0), -1)
    return TRANSPOSE(RESHAPE(oth, pshape), tuple(int(i) for i in np.argsort(perm)))


def _others_product(x: np.ndarray, axes: Any) -> np.ndarray:
    """For every element, the product of the OTHER elements of its reduction group: the
    exclusive running products from the left and from the right, multiplied (no division,
    so zeros are exact)."""
    if x.size == 0:
        return np.ones_like(x)
    red = tuple(range(x.ndim)) if axes is None else axes
    keep = [i for i in range(x.ndim) if i not in red]
    perm = keep + list(red)
    flat = x.transpose(perm).reshape([x.shape[i] for i in keep] + [-1])
    one = np.ones(flat.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([one, flat[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([one, flat[..., :0:-1]], -1), -1)[..., ::-1]
    both = (left * right).reshape([x.shape[i] for i in perm])
    return both.transpose(np.argsort(perm))


class LogSumExp(ReadsOutput, _Reduce):
    name, rule, sum_or_mean = "logsumexp", "d logsumexp(a)/da_i = exp(a_i - logsumexp(a)) (the softmax)", False

    def compute(self, xd: np.ndarray, axes: Any, keepdims: bool, batched: bool) -> np.ndarray:
        """m + log(sum exp(x - m)) with m the (finite) maximum: stable for large values; an
        empty group gives -inf, as torch."""
        if xd.size:
            m = np.max(xd, axis=axes, keepdims=True)
        else:
            m = np.zeros(tuple(1 if axes is None or i in axes else n for i, n in enumerate(xd.shape)), xd.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(xd.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.log(np.sum(np.exp(xd - m), axis=axes, keepdims=True)) + m
        return out if keepdims else out.reshape(np.sum(out, axis=axes).shape)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, _ = node._ctx
        x = node._parents[0]._data
        out = _expand_reduced(node._data, 0, in_shape, axes)
        with np.errstate(invalid="ignore", over="ignore"):
            return (_expand_reduced(g, lead(node, g), in_shape, axes) * np.exp(x - out),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        in_shape, axes, _ = node._ctx
        return (_kept(g, in_shape, axes) * (node._parents[0] - _kept(node, in_shape, axes, False)).exp(),)


class Norm(ReadsOutput, _Reduce):
    """The vector p-norm over ``axes``: (sum |a_i|**p)**(1/p); p = inf / -inf the largest /
    smallest |a_i|; p = 0 the number of non-zero entries."""

    name, sum_or_mean = "norm", False
    rule = ("d |a|_p/da_i = sign(a_i) |a_i|**(p-1) / |a|_p**(p-1) (0 where |a|_p = 0); for p = inf the "
            "cotangent is shared by the entries of largest |a_i|")

    def compute(self, xd: np.ndarray, axes: Any, keepdims: bool, batched: bool, p: float = 2.0) -> np.ndarray:
        if xd.dtype == np.float16:  # (in float32, as torch: the squares of half values overflow)
            with np.errstate(over="ignore"):
                return self.compute(xd.astype(np.float32), axes, keepdims, batched, p).astype(np.float16)
        a = np.abs(xd)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if p == 0:
                return np.sum(a != 0, axis=axes, keepdims=keepdims).astype(xd.dtype)
            if np.isinf(p):
                if 0 in (xd.shape if axes is None else [xd.shape[i] for i in axes]):
                    raise ValueError(f"norm: the p = {p} norm over an empty axis (shape {xd.shape}, dim {axes}) "
                                     "is undefined")
                return np.asarray((np.max if p > 0 else np.min)(a, axis=axes, keepdims=keepdims))
            if p == 2:
                return np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdims))
            if p == 1:
                return np.sum(a, axis=axes, keepdims=keepdims)
            return np.sum(a ** p, axis=axes, keepdims=keepdims) ** (1.0 / p)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, _, p = node._ctx
        x = node._parents[0]._data
        n = _expand_reduced(node._data, 0, in_shape, axes)
        with np.errstate(all="ignore"):
            if p == 0:
                d = np.zeros_like(x)
            elif np.isinf(p):
                top = (np.abs(x) == n) | np.isnan(x)
                d = np.sign(x) * top / top.sum(axis=axes, keepdims=True)
            else:
                d = np.where(n == 0, 0.0, np.sign(x) * np.abs(x) ** (p - 1) / n ** (p - 1))
                if p < 1:
                    d = np.where(x == 0, 0.0, d)
            g = _expand_reduced(g, lead(node, g), in_shape, axes)
            return ((g * d).astype(x.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The derivative as Tensors for 1 < p < inf (2 the usual case); the piecewise constant
        ones (p = 0, 1, inf) as constants."""
        in_shape, axes, _, p = node._ctx
        x = node._parents[0]
        g = _kept(g, in_shape, axes)
        if p in (0, 1) or np.isinf(p):
            return (g * self.vjp(node, np.ones_like(node._data))[0],)
        from .select import WHERE
        zero = np.broadcast_to(_expand_reduced(node._data, 0, in_shape, axes) == 0, in_shape)
        n = WHERE(const(zero), const(np.ones((), x._data.dtype)), _kept(node, in_shape, axes))  # (no 0/0)
        d = x / n if p == 2 else const(np.sign(x._data)) * (x.abs() / n) ** (p - 1)
        if p < 1:  # (0 where x = 0, as the vjp)
            zero = zero | (x._data == 0)
        return (g * WHERE(const(zero), const(np.zeros((), x._data.dtype)), d),)


class _AlongAxis(Op):
    def __call__(self, x: Any, axis: Any = -1) -> Any:
        xd = x._data
        try:
            if axis is None or isinstance(axis, (tuple, list)):
                raise TypeError(f"{self.name}: axis must be one int, got {axis!r}")
            ax = axes_of(xd.ndim, axis, self.name)
            a = ax[0] - xd.ndim if ax else -1
            data = self.compute(xd, a)
        except Exception as e:
            failed(self, e, (x,))
            raise
        s = x._bs
        bs, mix = batchstate.along_axis(self.name, x, a) if s else (0, None)
        return make(data, self, (x,), a, x._rg, bs, mix)


class Softmax(ReadsOutput, _AlongAxis):
    name, rule = "softmax", "d s_i/da_j = s_i (delta_ij - s_j)"

    @staticmethod
    def compute(x: np.ndarray, a: int) -> np.ndarray:
        """exp(x - max) / sum exp(x - max) (stable for large logits; a row holding inf gives
        nan where torch does, without numpy's warning)."""
        with np.errstate(invalid="ignore"):
            e = np.exp(x - x.max(axis=a, keepdims=True)) if x.size else np.exp(x)
            return e / e.sum(axis=a, keepdims=True)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        s = node._data
        gs = g * s
        return (gs - s * gs.sum(axis=node._ctx, keepdims=True),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        gs = g * node
        return (gs - node * SUM(gs, node._ctx, True),)


class LogSoftmax(ReadsOutput, _AlongAxis):
    name, rule = "log_softmax", "d l_i/da_j = delta_ij - softmax(a)_j"

    @staticmethod
    def compute(x: np.ndarray, a: int) -> np.ndarray:
        """x - max - log(sum exp(x - max)) (stable for large logits)."""
        with np.errstate(invalid="ignore"):
            z = x - x.max(axis=a, keepdims=True) if x.size else x
            return z - np.log(np.exp(z).sum(axis=a, keepdims=True))

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (g - np.exp(node._data) * g.sum(axis=node._ctx, keepdims=True),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (g - node.exp() * SUM(g, node._ctx, True),)


class Cumsum(ShapeOnly, _AlongAxis):
    name, rule = "cumsum", "d (cumsum a)_i/da_j = 1 for j <= i: the cotangent summed from the end"

    @staticmethod
    def compute(x: np.ndarray, a: int) -> np.ndarray:
        """Running sums along axis ``a`` (a 0-d tensor is its own running sum, in the dtype a
        1-d one gets: small integers and bool widen to int64)."""
        dt = acc_dtype(x)
        if x.dtype.kind == "f" and x.dtype.itemsize < 8:  # float16/32 accumulate in float64, as torch's
            return Cumsum.compute(x.astype(np.float64), a).astype(x.dtype)
        return np.cumsum(x, axis=a, dtype=dt) if x.ndim else np.cumsum(x.reshape(1), dtype=dt).reshape(())

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        a = node._ctx
        if node._data.ndim == 0:
            return (g,)
        return (np.flip(self.compute(np.flip(g, a), a), a),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        if node._data.ndim == 0:
            return (g,)
        flip = (slice(None),) * (node._data.ndim + node._ctx) + (slice(None, None, -1),)
        return (GETITEM(self(GETITEM(g, flip), node._ctx), flip),)


class AMax(Max):
    selects = False

    @staticmethod
    def weights(node: Any) -> np.ndarray:
        """1/k at each of the k tied extrema of a group, 0 elsewhere; nan over a group whose
        extremum is nan (no entry equals it: 0/0), as torch's amax and amin."""
        in_shape, axes, _ = node._ctx
        mask = node._parents[0]._data == _expand_reduced(node._data, 0, in_shape, axes)
        with np.errstate(invalid="ignore"):
            return mask / mask.sum(axis=axes, keepdims=True)


class AMin(Min):
    selects = False
    weights = staticmethod(AMax.weights)


SUM, MEAN, MAX, MIN, SOFTMAX, LOGSOFTMAX = Sum(), Mean(), Max(), Min(), Softmax(), LogSoftmax()
AMAX, AMIN = AMax(), AMin()
PROD, LOGSUMEXP, NORM, CUMSUM = Prod(), LogSumExp(), Norm(), Cumsum()
