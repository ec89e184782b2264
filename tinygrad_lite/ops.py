"""The op table of the tensor engine: each op's vjp (and per-sample rule) in one place.

The forward of each op is the ``Tensor`` method of the same name (``tensor.py``), which
saves in ``node._ctx`` what the vjp needs. ``vjp(node, g)`` receives the cotangent
``g = dL/d(out)`` and returns one cotangent per parent, in the FULL broadcast shape;
the walker reduces it to the parent's shape in one place (``persample.fit``).

Every vjp also accepts ``g`` with extra LEADING axes (a stack of cotangents, one per
sample): that is how per-sample gradients flow through parameter-side ops such as
``W.T``. Ops whose vjp contracts the sample axis (matmul, linear) define
``vjp_ps(node, g, c)``: the per-sample rule, returning a ``PerSample`` for an unbatched
parent (each sample's own gradient, and the total). Ops that reduce the sample axis
define ``sample_scale(node)``: the weight ``c`` of each sample's term in the cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .persample import BATCHED, NORMS_ONLY, PerSample, sample_buffer


class Op:
    """Base of all tensor ops: a ``name`` for errors and pictures, ``rule`` for traces."""

    name = "op"
    rule = ""

    def __repr__(self) -> str:
        return f"<op {self.name}>"


def _lead(node: Any, g: np.ndarray) -> int:
    """Number of extra leading (per-sample stack) axes of ``g``."""
    return g.ndim - node.data.ndim


def _tmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b for 2-D a, b with the same number of rows. With one row it is an outer
    product, which matmul computes without BLAS (several times slower than einsum)."""
    if a.shape[0] == 1:
        return np.einsum("ki,kj->ij", a, b)
    return a.T @ b


def _alias(g: Any) -> Any:
    """``g`` passed on unchanged: as a view of an array (a leaf copies views, so no two
    ``.grad`` arrays share memory); numpy scalars are immutable and go as they are."""
    return g.view() if type(g) is np.ndarray else g


def _need(node: Any, i: int) -> bool:
    return node._parents[i].requires_grad


# ---------------------------------------------------------------- elementwise binary ------
class Add(Op):
    name, rule = "add", "d(a+b)/da = 1, d(a+b)/db = 1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return _alias(g), _alias(g)


class Sub(Op):
    name, rule = "sub", "d(a-b)/da = 1, d(a-b)/db = -1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return _alias(g), (-g if _need(node, 1) else None)


class Mul(Op):
    name, rule = "mul", "d(a*b)/da = b, d(a*b)/db = a"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        return (g * b.data if a.requires_grad else None, g * a.data if b.requires_grad else None)


class Div(Op):
    name, rule = "div", "d(a/b)/da = 1/b, d(a/b)/db = -a/b**2"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ga = g / b.data if a.requires_grad else None
        gb = -g * node.data / b.data if b.requires_grad else None
        return ga, gb


class Pow(Op):
    name, rule = "pow", "d(a**b)/da = b*a**(b-1), d(a**b)/db = a**b * log(a)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        a, b = node._parents
        ga = g * b.data * a.data ** (b.data - 1) if a.requires_grad else None
        gb = None
        if b.requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * node.data * np.log(a.data)
        return ga, gb


class Matmul(Op):
    """out = a @ b (numpy's matmul: 1-D operands are promoted and the added axis removed;
    leading axes broadcast). da = g @ b^T, db = a^T @ g."""

    name, rule = "matmul", "d(a@b)/da = g @ b.T, d(a@b)/db = a.T @ g"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        A, Bp = node._parents
        a, b = A.data, Bp.data
        if a.ndim == 2 and b.ndim == 2 and g.ndim == 2:  # the hot case
            ga = g @ b.T if A.requires_grad else None
            gb = None
            if Bp.requires_grad:
                gb = _tmm(a, g)
            return ga, gb
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
        if A.requires_grad:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = ga[..., 0, :]
        if Bp.requires_grad:
            gb = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = gb[..., :, 0]
        return ga, gb

    @staticmethod
    def vjp_ps(node: Any, g: np.ndarray, c: float) -> tuple:
        A, Bp = node._parents
        a, b = A.data, Bp.data
        if A._bs & BATCHED and a.ndim == 2 and not Bp._bs & BATCHED and Bp.requires_grad:
            # rows of a are samples: keep the sample axis of the weight gradient
            ga = None
            if A.requires_grad:
                ga = g @ b.T if b.ndim == 2 else g[:, None] * b
            gc = g * (1.0 / c)
            if b.ndim == 2 and NORMS_ONLY[0]:  # S[b] = outer(a_b, gc_b), kept factored
                gb = PerSample(None, _tmm(a, g), [(a[:, None, :], gc[:, None, :])])
            elif b.ndim == 2:
                S = sample_buffer(Bp, (a.shape[0],) + b.shape, np.result_type(a, gc))
                np.einsum("bn,bp->bnp", a, gc, out=S)
                gb = PerSample(S, _tmm(a, g))
            else:
                gb = PerSample(a * gc[:, None], a.T @ g)
            return ga, gb
        return Matmul.vjp(node, g)


# ---------------------------------------------------------------- with a constant ---------
class AddC(Op):
    name, rule = "add", "d(a+c)/da = 1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (_alias(g),)


class MulC(Op):
    name, rule = "mul", "d(a*c)/da = c"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g * node._ctx,)


class DivC(Op):
    name, rule = "div", "d(a/c)/da = 1/c"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g / node._ctx,)


class RSubC(Op):
    name, rule = "rsub", "d(c-a)/da = -1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (-g,)


class RDivC(Op):
    name, rule = "rdiv", "d(c/a)/da = -c/a**2"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (-g * node.data / node._parents[0].data,)


class PowC(Op):
    name, rule = "pow", "d(a**k)/da = k*a**(k-1)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        k = node._ctx
        a = node._parents[0].data
        if k == 2:
            return (g * (2 * a),)
        return (g * (k * a ** (k - 1)),)


class RPowC(Op):
    name, rule = "rpow", "d(c**a)/da = c**a * log(c)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g * node.data * np.log(node._ctx),)


class Cast(Op):
    name, rule = "cast", "d cast(a)/da = 1 (the cotangent is cast back)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g,)


# ---------------------------------------------------------------- elementwise unary -------
class Neg(Op):
    name, rule = "neg", "d(-a)/da = -1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (-g,)


class Exp(Op):
    name, rule = "exp", "d exp(a)/da = exp(a)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g * node.data,)


class Log(Op):
    name, rule = "log", "d log(a)/da = 1/a"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g / node._parents[0].data,)


class Sqrt(Op):
    name, rule = "sqrt", "d sqrt(a)/da = 1/(2 sqrt(a))"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g * 0.5 / node.data,)


class Tanh(Op):
    name, rule = "tanh", "d tanh(a)/da = 1 - tanh(a)**2"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        t = node.data
        return (g * (1 - t * t),)


class Sigmoid(Op):
    name, rule = "sigmoid", "d s(a)/da = s(a) (1 - s(a))"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        s = node.data
        return (g * (s * (1 - s)),)


class Abs(Op):
    name, rule = "abs", "d|a|/da = sign(a)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g * np.sign(node._parents[0].data),)


class Clip(Op):
    name, rule = "clip", "d clip(a)/da = 1 where lo <= a <= hi, else 0"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        lo, hi = node._ctx
        a = node._parents[0].data
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return (g * inside,)


class Relu(Op):
    name, rule = "relu", "d relu(a)/da = 1 where a > 0, else 0"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        d = node.data
        return (np.multiply(g, d > 0, dtype=d.dtype),)


# ---------------------------------------------------------------- reductions --------------
def _expand_reduced(g: np.ndarray, lead: int, in_shape: tuple, axes: Any, keepdims: bool) -> np.ndarray:
    """Undo a reduction's shape: put size-1 axes back where ``axes`` were removed."""
    n = len(in_shape)
    if axes is None:
        kshape = (1,) * n
    else:
        kshape = tuple(1 if i in axes else s for i, s in enumerate(in_shape))
    return g.reshape(g.shape[:lead] + kshape)


class Sum(Op):
    name, rule = "sum", "d sum(a)/da_i = 1"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, keepdims = node._ctx
        lead = _lead(node, g)
        g = _expand_reduced(g, lead, in_shape, axes, keepdims)
        return (np.broadcast_to(g, g.shape[:lead] + in_shape),)

    @staticmethod
    def sample_scale(node: Any) -> float:
        return 1.0


class Mean(Op):
    name, rule = "mean", "d mean(a)/da_i = 1/N"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, keepdims = node._ctx
        n = node._parents[0].data.size // max(node.data.size, 1) if node.data.size else 1
        lead = _lead(node, g)
        g = _expand_reduced(g, lead, in_shape, axes, keepdims) * (1.0 / n)
        return (np.broadcast_to(g, g.shape[:lead] + in_shape).astype(node.data.dtype, copy=False),)

    @staticmethod
    def sample_scale(node: Any) -> float:
        return 1.0 / node._parents[0].data.shape[0]


class Max(Op):
    name, rule = "max", "d max(a)/da_i = 1/k for each of the k tied maxima, else 0"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        in_shape, axes, keepdims = node._ctx
        x = node._parents[0].data
        lead = _lead(node, g)
        mk = _expand_reduced(node.data, 0, in_shape, axes, keepdims)
        mask = x == mk
        w = mask / mask.sum(axis=axes, keepdims=True)
        g = _expand_reduced(g, lead, in_shape, axes, keepdims)
        return ((g * w).astype(x.dtype, copy=False),)


# ---------------------------------------------------------------- softmax family ---------
class Softmax(Op):
    name, rule = "softmax", "d s_i/da_j = s_i (delta_ij - s_j)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        axis = node._ctx
        s = node.data
        gs = g * s
        return (gs - s * gs.sum(axis=axis, keepdims=True),)


class LogSoftmax(Op):
    name, rule = "log_softmax", "d l_i/da_j = delta_ij - softmax(a)_j"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        axis = node._ctx
        return (g - np.exp(node.data) * g.sum(axis=axis, keepdims=True),)


# ---------------------------------------------------------------- layout ----------------
class Reshape(Op):
    name, rule = "reshape", "the cotangent is reshaped back"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        return (g.reshape(g.shape[:_lead(node, g)] + node._ctx),)


class Transpose(Op):
    name, rule = "transpose", "the cotangent is permuted back"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        inv = node._ctx
        lead = _lead(node, g)
        return (np.transpose(g, tuple(range(lead)) + tuple(lead + i for i in inv)),)


class Concat(Op):
    name, rule = "cat", "the cotangent is split back into the pieces"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        axis, sizes = node._ctx
        return tuple(np.split(g, sizes, axis=axis))


class GetItem(Op):
    name, rule = "getitem", "the cotangent is scattered back (repeated indices add)"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        in_shape, idx, advanced = node._ctx
        lead = _lead(node, g)
        z = np.zeros(g.shape[:lead] + in_shape, dtype=node.data.dtype)
        full = (slice(None),) * lead + idx
        if advanced:
            np.add.at(z, full, g)
        else:
            z[full] = g
        return (z,)


# ---------------------------------------------------------------- fused ------------------
class Linear(Op):
    """out = x @ W.T + b, one node. dx = g @ W, dW = g^T x (summed over samples),
    db = sum of g over samples; per sample: dW_b = g_b^T x_b, db_b = g_b."""

    name, rule = "linear", "d(xW^T+b)/dx = g W, /dW = g^T x, /db = sum g"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        x, W = node._parents[0], node._parents[1]
        has_b = len(node._parents) == 3
        xd, Wd = x.data, W.data
        lead = _lead(node, g)
        gx = g @ Wd if x.requires_grad else None
        gW = gb = None
        if lead == 0:
            g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
            x2 = xd if xd.ndim == 2 else xd.reshape(-1, xd.shape[-1])
            if W.requires_grad:
                gW = _tmm(g2, x2)
            if has_b and node._parents[2].requires_grad:
                gb = g2.sum(axis=0)
        else:  # a stack of per-sample cotangents over an unbatched input
            L = int(np.prod(g.shape[:lead]))
            g3 = g.reshape(L, -1, g.shape[-1])
            x2 = xd.reshape(-1, xd.shape[-1])
            gW = np.einsum("lmo,mi->loi", g3, x2).reshape(g.shape[:lead] + Wd.shape)
            gb = g3.sum(axis=1).reshape(g.shape[:lead] + (g.shape[-1],)) if has_b else None
        return (gx, gW, gb) if has_b else (gx, gW)

    @staticmethod
    def vjp_ps(node: Any, g: np.ndarray, c: float) -> tuple:
        x, W = node._parents[0], node._parents[1]
        has_b = len(node._parents) == 3
        if not x._bs & BATCHED:
            return Linear.vjp(node, g)
        xd = x.data
        gx = g @ W.data if x.requires_grad else None
        gc = g * (1.0 / c) if c != 1.0 else g
        gW = gb = None
        if xd.ndim == 2:
            if W.requires_grad and NORMS_ONLY[0]:  # S[b] = outer(gc_b, x_b), kept factored
                gW = PerSample(None, _tmm(g, xd), [(gc[:, None, :], xd[:, None, :])])
            elif W.requires_grad:
                Wd = W.data
                S = sample_buffer(W, (xd.shape[0],) + Wd.shape, np.result_type(gc, xd))
                np.einsum("bo,bi->boi", gc, xd, out=S)
                gW = PerSample(S, _tmm(g, xd))
            if has_b and node._parents[2].requires_grad:
                gb = PerSample(gc if gc is not g else g.copy(), g.sum(axis=0))
        else:
            Bn = xd.shape[0]
            g3 = g.reshape(Bn, -1, g.shape[-1])
            gc3 = gc.reshape(Bn, -1, g.shape[-1])
            x3 = xd.reshape(Bn, -1, xd.shape[-1])
            if W.requires_grad:
                total = g3.reshape(-1, g.shape[-1]).T @ x3.reshape(-1, xd.shape[-1])
                if NORMS_ONLY[0]:
                    gW = PerSample(None, total, [(gc3, x3)])
                else:
                    gW = PerSample(np.einsum("bmo,bmi->boi", gc3, x3), total)
            if has_b and node._parents[2].requires_grad:
                gb = PerSample(gc3.sum(axis=1), g3.sum(axis=(0, 1)))
        return (gx, gW, gb) if has_b else (gx, gW)


class MSELoss(Op):
    """L = scale * sum (pred - target)^2, scale = 1/N (mean) or 1 (sum).
    dL/dpred = 2 scale (pred - target), dL/dtarget = -dL/dpred."""

    name, rule = "mse_loss", "d/dpred = 2 (pred - target) / N"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        d, scale, _ = node._ctx
        if g.ndim:  # a stack of per-sample cotangents: one scalar per sample
            g = g.reshape(g.shape + (1,) * d.ndim)
        gp = d * (g * (2.0 * scale))
        pred, target = node._parents
        return (gp if pred.requires_grad else None, -gp if target.requires_grad else None)

    @staticmethod
    def sample_scale(node: Any) -> float:
        return node._ctx[2]


class CrossEntropy(Op):
    """L = scale * sum_b -log softmax(z_b)[y_b]. dL/dz_b = scale (softmax(z_b) - onehot(y_b))."""

    name, rule = "cross_entropy", "d/dz = (softmax(z) - onehot(y)) / N"

    @staticmethod
    def vjp(node: Any, g: np.ndarray) -> tuple:
        logp, labels, scale, _ = node._ctx
        p = np.exp(logp)
        if p.ndim == 1:
            p[labels] -= 1
        else:
            p[np.arange(p.shape[0]), labels] -= 1
        if np.ndim(g):  # a stack of per-sample cotangents: one scalar per sample
            g = np.reshape(g, np.shape(g) + (1,) * p.ndim)
        return (p * (g * scale),)

    @staticmethod
    def sample_scale(node: Any) -> float:
        return node._ctx[3]


ADD, SUB, MUL, DIV, POW, MATMUL = Add(), Sub(), Mul(), Div(), Pow(), Matmul()
ADDC, MULC, DIVC, RSUBC, RDIVC, POWC, RPOWC = AddC(), MulC(), DivC(), RSubC(), RDivC(), PowC(), RPowC()
NEG, EXP, LOG, SQRT, TANH, SIGMOID, RELU = Neg(), Exp(), Log(), Sqrt(), Tanh(), Sigmoid(), Relu()
SUM, MEAN, MAX, SOFTMAX, LOGSOFTMAX = Sum(), Mean(), Max(), Softmax(), LogSoftmax()
RESHAPE, TRANSPOSE, GETITEM, CAST, CONCAT = Reshape(), Transpose(), GetItem(), Cast(), Concat()
ABS, CLIP = Abs(), Clip()
LINEAR, MSE, XENT = Linear(), MSELoss(), CrossEntropy()
