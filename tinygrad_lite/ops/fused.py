"""Matmul and the fused hot ops: Linear (``x @ W.T + b`` in one node), mse_loss and
cross_entropy (numerically stable, one node each).

Matmul and Linear contract the sample axis in their weight gradients, so they carry the
per-sample rule ``sample_rows``: sample b's weight gradient is ``sum_t g_bt (x) x_bt`` (its
output cotangent rows times its input rows), kept as those two factors (``OuterRows``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from ..graph import state
from ..keptinputs import watch
from ..lazygrad import FACTORED
from ..persample import DenseRows, LazyGrad, OuterRows
from .base import DtypeError, Op, ShapeMismatchError, colsum, const, failed, lead, make, ones_for, tmm, xwt
from .layout import RESHAPE, TRANSPOSE
from .memory import POOL_MIN, pooled, released


class Matmul(Op):
    """out = a @ b (numpy's matmul: 1-D operands are promoted and the added axis removed;
    leading axes broadcast). da = g @ b^T, db = a^T @ g."""

    name, rule, symbol = "matmul", "d(a@b)/da = g @ b.T, d(a@b)/db = a.T @ g", "@"

    def forward(self, a: np.ndarray, b: np.ndarray) -> tuple:
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeMismatchError(f"matmul: both operands need at least one axis, got shapes {a.shape} and "
                                     f"{b.shape}")
        try:
            return np.asarray(np.matmul(a, b)), None
        except ValueError:
            k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
            why = ("a's last axis must match b's second-to-last" if a.shape[-1] != k_b else
                   f"the leading (batch) axes {a.shape[:-2]} and {b.shape[:-2]} do not broadcast")
            raise ShapeMismatchError(f"matmul: shapes {a.shape} and {b.shape} are not aligned ({why})") from None

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        return batchstate.matmul(*inputs)

    def __call__(self, a: Any, b: Any) -> Any:
        """The hot path of ``forward`` + recording, for two Tensors."""
        try:
            out = a._data @ b._data  # numpy raises ValueError for a 0-d operand too
        except (ValueError, MemoryError):
            return Op.__call__(self, a, b)  # the error path: forward raises with the shapes
        if a._bs | b._bs:
            bs, mix = batchstate.matmul(a, b)
            return make(out, self, (a, b), None, a._rg or b._rg, bs, mix)
        return make(out, self, (a, b), None, a._rg or b._rg)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        A, Bp = node._parents
        a, b = A._data, Bp._data
        if a.ndim == 2 and b.ndim == 2 and g.ndim == 2:  # the hot case
            return (g @ b.T if A._rg else None, tmm(a, g) if Bp._rg else None)
        a2 = a if a.ndim > 1 else a[None, :]
        b2 = b if b.ndim > 1 else b[:, None]
        if a.ndim == 1 and b.ndim == 1:
            g2 = g[..., None, None]
        elif a.ndim == 1:
            g2 = g[..., None, :]
        elif b.ndim == 1:
            g2 = g[..., :, None]
        else:
            g2 = g
        ga = gb = None
        if A._rg:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if Bp._rg:
            gb = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = gb[..., :, 0]
        return ga, gb

    def tvjp(self, node: Any, g: Any) -> tuple:
        A, Bp = node._parents
        na, nb = A._data.ndim, Bp._data.ndim
        a2 = A if na > 1 else RESHAPE(A, (1,) + A.shape)
        b2 = Bp if nb > 1 else RESHAPE(Bp, Bp.shape + (1,))
        gs = g.shape
        g2 = g if na > 1 and nb > 1 else RESHAPE(
            g, (1, 1) if na == 1 and nb == 1 else gs[:-1] + (1, gs[-1]) if na == 1 else gs + (1,))
        ga = gb = None
        if A._rg:
            ga = self(g2, _swap(b2))
            if na == 1:
                ga = RESHAPE(ga, ga.shape[:-2] + ga.shape[-1:])
        if Bp._rg:
            gb = self(_swap(a2), g2)
            if nb == 1:
                gb = RESHAPE(gb, gb.shape[:-1])
        return ga, gb

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        A, Bp = node._parents
        a, b = A._data, Bp._data
        B = node._data.shape[0]
        if i == 1 and A._bs & BATCHED and a.ndim >= 2 and b.ndim <= 2:
            n = a.shape[-1]
            T = math.prod(a.shape[1:-1])  # explicit sizes: B may be 0
            L = a.reshape(B, T, n)
            R = g.reshape(B, T, b.shape[-1] if b.ndim == 2 else 1)  # (B, T, k); k = 1 for a 1-D b
            return OuterRows(L, R, b.shape, b.dtype, scale)
        if i == 0 and Bp._bs & BATCHED and a.ndim == 2 and b.ndim == 3:
            # W @ x_b with x_b (n, k): S[b] = g_b x_b^T = sum_t g_b[:, t] (x) x_b[:, t]
            return OuterRows(np.swapaxes(g, 1, 2), np.swapaxes(b, 1, 2), a.shape, a.dtype, scale)
        return None


def _swap(t: Any) -> Any:
    """``t`` with its last two axes swapped (a differentiable transpose)."""
    n = t._data.ndim
    return TRANSPOSE(t, tuple(range(n - 2)) + (n - 1, n - 2))


# a weight of at least this many elements that an SGD optimizer holds (lazygrad.FACTORED) keeps
# its gradient as factors in a backward without batched inputs too: the step applies G^T X to it
# in one BLAS call (optim.rules, _blas) without writing G^T X out, and reading .grad multiplies
# it out; a smaller weight gets its gradient at once (the product costs less than keeping it)
LAZY_MIN = 4096


class Linear(Op):
    """out = x @ W.T + b, one node. dx = g @ W, dW = g^T x (summed over samples),
    db = sum of g over samples; per sample: dW_b = g_b^T x_b, db_b = g_b."""

    name, rule = "linear", "d(xW^T+b)/dx = g W, /dW = g^T x, /db = sum g"

    def __call__(self, x: Any, W: Any, b: Any = None) -> Any:
        xd = x._data
        try:
            out = xwt(xd, W._data)
        except ValueError:
            raise failed(self, ShapeMismatchError(f"linear: input of shape {xd.shape} does not match weight of "
                                                  f"shape {W._data.shape}"), (x, W)) from None
        if b is not None:
            out += b._data
            parents = (x, W, b)
            rg = x._rg or W._rg or b._rg
        else:
            parents = (x, W)
            rg = x._rg or W._rg
        s = x._bs | W._bs | (b._bs if b is not None else 0)
        bs, mix = (0, None) if not s else self.batch(parents, out, None)
        return make(out, self, parents, None, rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x, W = inputs[0], inputs[1]
        b = inputs[2] if len(inputs) == 3 else None
        s = x._bs
        if (W._bs | (b._bs if b is not None else 0)) & (BATCHED | MIXED | STAT):
            return batchstate.mixed("op 'linear' with batched or batch-statistic weights", *inputs)
        if s & MIXED:
            return MIXED, x._mix
        if s & BATCHED:
            if x._data.ndim < 2:
                return batchstate.mixed(f"op 'linear' on a batched input of shape {x._data.shape} contracts "
                                        "the sample axis", x)
            return BATCHED, None
        if W._rg or (b is not None and b._rg):
            return batchstate.mixed("op 'linear' multiplies a batch statistic by parameters", x)
        return STAT, x._mix

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        parents = node._parents
        x, W = parents[0], parents[1]
        has_b = len(parents) == 3
        xd, Wd = x._data, W._data
        gx = None
        if x._rg:
            if g.size * Wd.shape[1] * g.itemsize < POOL_MIN * max(g.shape[-1], 1):
                gx = g @ Wd
            else:  # a large result: memory used before (ops.memory)
                dt = g.dtype if g.dtype is Wd.dtype else np.result_type(g, Wd)
                gx = np.matmul(g, Wd, out=pooled(g.shape[:-1] + Wd.shape[1:], dt))
        gW = gb = None
        if g.ndim == xd.ndim:  # no per-sample stack axes
            g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
            x2 = xd if xd.ndim == 2 else xd.reshape(-1, xd.shape[-1])
            if W._rg:
                # state.lazy: True in the rows backward, "plain" in one that keeps nothing per sample
                lazy = state.__dict__.get("lazy")
                if x._bs & BATCHED and lazy is True:
                    keep = W._op is None
                else:
                    keep = (Wd.size >= LAZY_MIN and W._op is None and lazy == "plain"
                            and (r := FACTORED.get(id(W))) is not None and r() is W)
                    if keep and x._op is None:
                        watch((x,), (W,))  # an in-place write into x multiplies gW out first
                if keep:
                    gW = LazyGrad([(g2, x2)], Wd.shape, np.result_type(g2, x2))  # kept with the factors
                else:
                    gW = tmm(g2, x2, released(W, "_gbuf"))
            if has_b and parents[2]._rg:
                gb = colsum(g2)
        else:  # a stack of per-sample cotangents over an unbatched input
            k = lead(node, g)
            L = math.prod(g.shape[:k])
            g3 = g.reshape(L, -1, g.shape[-1])
            x2 = xd.reshape(-1, xd.shape[-1])
            gW = np.einsum("lmo,mi->loi", g3, x2).reshape(g.shape[:k] + Wd.shape)
            gb = g3.sum(axis=1).reshape(g.shape[:k] + (g.shape[-1],)) if has_b else None
        return (gx, gW, gb) if has_b else (gx, gW)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """dx = g W, dW = g2^T x2, db = the column sums of g2 (g2, x2: g and x as 2-D)."""
        from .reduce import SUM
        x, W = node._parents[0], node._parents[1]
        gx = MATMUL(g, W) if x._rg else None
        g2 = g if g.ndim == 2 else RESHAPE(g, (-1, g.shape[-1]))
        x2 = x if x.ndim == 2 else RESHAPE(x, (-1, x.shape[-1]))
        gW = MATMUL(TRANSPOSE(g2, (1, 0)), x2) if W._rg else None
        if len(node._parents) == 2:
            return gx, gW
        if not node._parents[2]._rg:
            return gx, gW, None
        ones = ones_for(g2)  # (the vjp's column sums, as a differentiable product: the same bits)
        return gx, gW, (SUM(g2, 0, False) if ones is None else MATMUL(const(ones), g2))

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        x = node._parents[0]
        p = node._parents[i]
        xd = x._data
        B = xd.shape[0]
        if i == 1:
            if xd.ndim == 2:
                return OuterRows(g[:, None, :], xd[:, None, :], p._data.shape, p._data.dtype, scale)
            T = math.prod(xd.shape[1:-1])  # explicit: B may be 0
            return OuterRows(g.reshape(B, T, g.shape[-1]), xd.reshape(B, T, xd.shape[-1]), p._data.shape,
                             p._data.dtype, scale)
        if i == 2:
            return DenseRows(g, p._data.shape, p._data.dtype, scale)
        return None


class _Loss(Op):
    """A cost over samples: its ctx starts with (c, reduction), the weight of each sample's
    term (1/B for a mean, 1 for a sum) and the reduction's name."""

    @staticmethod
    def sample_scale(node: Any) -> float:
        return node._ctx[0]

    @staticmethod
    def sample_reduction(node: Any) -> str:
        return node._ctx[1]


class MSELoss(_Loss):
    """L = scale * sum (pred - target)^2, scale = 1/N (mean) or 1 (sum).
    dL/dpred = 2 scale (pred - target), dL/dtarget = -dL/dpred."""

    name, rule, local = "mse_loss", "d/dpred = 2 (pred - target) / N", True

    def forward(self, p: np.ndarray, t: np.ndarray, reduction: str = "mean", batched: bool = False) -> tuple:
        if p.shape != t.shape:
            raise ValueError(f"mse_loss: prediction shape {p.shape} and target shape {t.shape} differ; "
                             "reshape one of them (broadcasting them would compute a different loss)")
        if t.dtype.kind in "biu" and p.dtype.kind == "f":  # (an integer target takes the float's dtype, as torch)
            t = t.astype(p.dtype)
        d = p - t
        flat = d.reshape(-1)
        n = flat.size
        scale = 1.0 / n if reduction == "mean" and n else 1.0
        if reduction == "mean" and n == 0 and not batched:
            value = np.asarray(np.nan, dtype=d.dtype)
        else:
            value = np.asarray(np.dot(flat, flat) * scale, dtype=d.dtype)
        B = d.shape[0] if d.ndim else 1
        c = (1.0 / B if B else 1.0) if reduction == "mean" else 1.0
        return value, (c, reduction, d, scale)

    def __call__(self, pred: Any, target: Any, reduction: str = "mean") -> Any:
        try:
            data, ctx = self.forward(pred._data, target._data, reduction, bool((pred._bs | target._bs) & BATCHED))
        except Exception as e:
            failed(self, e, (pred, target))
            raise
        s = pred._bs | target._bs
        bs, mix = self.batch((pred, target), ctx[2], ctx) if s else (0, None)
        rg = (pred._rg or target._rg)
        return make(data, self, (pred, target), ctx, rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        pred, target = inputs
        bs, mix = batchstate.elementwise(self.name, out.shape, pred, target, "")
        if bs == BATCHED:
            return STAT, batchstate.stat_origin(self.name)
        if bs == STAT:
            return batchstate.mixed("op 'mse_loss' applied to a batch statistic", pred, target)
        return bs, mix

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        d, scale = node._ctx[2], node._ctx[3]
        if g.ndim:  # a stack of per-sample cotangents: one scalar per sample
            g = g.reshape(g.shape + (1,) * d.ndim)
        gp = d * (g * (2.0 * scale))
        pred, target = node._parents
        return (gp if pred._rg else None, -gp if target._rg else None)

    def tvjp(self, node: Any, g: Any) -> tuple:
        pred, target = node._parents
        gp = (pred - target) * (g * (2.0 * node._ctx[3]))
        return (gp if pred._rg else None, -gp if target._rg else None)



class CrossEntropy(_Loss):
    """L = scale * sum_b -log softmax(z_b)[y_b]. dL/dz_b = scale (softmax(z_b) - onehot(y_b))."""

    name, rule, local = "cross_entropy", "d/dz = (softmax(z) - onehot(y)) / N", True

    def forward(self, z: np.ndarray, y: np.ndarray, reduction: str = "mean", batched: bool = False) -> tuple:
        if z.ndim not in (1, 2):
            raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,), got {z.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DtypeError(f"cross_entropy: labels must be integer class indices, got dtype {y.dtype}")
        want = z.shape[:1] if z.ndim == 2 else ()
        if y.shape != want:
            raise ValueError(f"cross_entropy: labels of shape {y.shape} do not match logits of shape {z.shape} "
                             f"(expected labels of shape {want})")
        C = z.shape[-1]
        if y.size and (y.min() < 0 or y.max() >= C):
            bad = y[(y < 0) | (y >= C)].reshape(-1)[0]
            raise IndexError(f"cross_entropy: label {int(bad)} is out of range for {C} classes")
        if z.size:
            zz = z - z.max(axis=-1, keepdims=True)
            logp = zz - np.log(np.exp(zz).sum(axis=-1, keepdims=True))
        else:
            logp = z.copy()
        picked = logp[np.arange(z.shape[0]), y] if z.ndim == 2 else logp[y]
        N = z.shape[0] if z.ndim == 2 else 1
        scale = 1.0 / N if reduction == "mean" and N else 1.0
        if reduction == "mean" and N == 0 and not batched:
            value = np.asarray(np.nan, dtype=z.dtype)
        else:
            value = np.asarray(-picked.sum() * scale, dtype=z.dtype)
        c = (1.0 / N if N else 1.0) if reduction == "mean" else 1.0
        return value, (c, reduction, logp, y, scale)

    def __call__(self, logits: Any, y: np.ndarray, reduction: str = "mean") -> Any:
        try:
            data, ctx = self.forward(logits._data, y, reduction, bool(logits._bs & BATCHED))
        except Exception as e:
            failed(self, e, (logits,))
            raise
        s = logits._bs
        bs, mix = self.batch((logits,), logits._data, ctx) if s else (0, None)
        return make(data, self, (logits,), ctx, logits._rg, bs, mix)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        (logits,) = inputs
        s = logits._bs
        if s & MIXED:
            return MIXED, logits._mix
        if s & BATCHED:
            if logits._data.ndim != 2:
                return batchstate.mixed("op 'cross_entropy' on a batched 1-D input", logits)
            return STAT, batchstate.stat_origin(self.name)
        return batchstate.mixed("op 'cross_entropy' applied to a batch statistic", logits)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        logp, labels, scale = node._ctx[2], node._ctx[3], node._ctx[4]
        p = np.exp(logp)
        if p.ndim == 1:
            p[labels] -= 1
        else:
            p[np.arange(p.shape[0]), labels] -= 1
        if np.ndim(g):  # a stack of per-sample cotangents: one scalar per sample
            g = np.reshape(g, np.shape(g) + (1,) * p.ndim)
        return (p * (g * scale),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        from .reduce import SOFTMAX
        logp, labels, scale = node._ctx[2], node._ctx[3], node._ctx[4]
        onehot = np.zeros_like(logp)
        if onehot.ndim == 1:
            onehot[labels] = 1
        else:
            onehot[np.arange(onehot.shape[0]), labels] = 1
        return ((SOFTMAX(node._parents[0], -1) - const(onehot)) * (g * scale),)



MATMUL, LINEAR, MSE, XENT = Matmul(), Linear(), MSELoss(), CrossEntropy()
