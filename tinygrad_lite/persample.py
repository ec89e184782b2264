"""Per-sample gradients from the same backward pass: batch-axis tracking and the walk.

Every Tensor carries a batch state ``_bs`` (bit flags, computed once per op at forward):

* ``0``        independent of the batch (parameters and what is computed from them);
* ``BATCHED``  axis 0 indexes samples, and row b depends on sample b only;
* ``STAT``     a batch statistic: a mean or sum over the sample axis of batched terms,
               possibly combined LINEARLY with other statistics or constants (a cost);
* ``MIXED``    samples were mixed (``x - x.mean(0)``, ``x.T @ x``, a sum over axis 0 used
               inside the model, a non-linear function of a batch statistic ...); the node
               keeps in ``_mix`` which op did it and in which module.

If the cost is ``C = sum_b c * term_b`` (``c = 1/B`` for a mean, ``1`` for a sum), the
backward cotangent of a batched node has rows ``c * dterm_b/dx_b``. On an edge from a
batched node to a parameter-side node the sample axis is KEPT instead of summed; the
parameter then receives ``S[b] = dterm_b/dp`` (``grad_sample``) and the ordinary total
``sum_b c * S[b]`` (``grad``).
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

from . import graph

BATCHED, STAT, MIXED = 1, 2, 4

# Modules currently running forward (outermost first): names a mixing op's module path.
MODULE_STACK: list = []


class PerSample:
    """A parameter-side cotangent in the per-sample pass: ``S`` of shape (B, *shape) holds
    each sample's own gradient, ``total`` the ordinary gradient ``sum_b c * S[b]``.

    When only norms are wanted, a weight gradient may instead stay FACTORED: ``factors`` is a
    list of pairs (G, X) of shapes (B, T, out) and (B, T, in) with S[b] = sum_t G[b,t] X[b,t]^T
    (a Linear layer's per-sample rule), and ``S`` is None until something needs it.
    """

    __slots__ = ("S", "total", "factors")

    def __init__(self, S: Optional[np.ndarray], total: np.ndarray, factors: Optional[list] = None) -> None:
        self.S = S
        self.total = total
        self.factors = factors

    def dense(self) -> np.ndarray:
        """``S``, built from the factors if needed."""
        if self.S is None:
            self.S = sum(np.einsum("bto,bti->boi", G, X) for G, X in self.factors)
            self.factors = None
        return self.S

    def sq_norms(self) -> np.ndarray:
        """Squared L2 norm of each sample's gradient, ``|S[b]|^2``, without building S:
        |sum_t G_t X_t^T|_F^2 = sum_{t,s} (G_t . G_s)(X_t . X_s)."""
        if self.S is not None:
            S = self.S.reshape(self.S.shape[0], -1)
            return np.einsum("bk,bk->b", S, S)
        G = np.concatenate([g for g, _ in self.factors], axis=1)
        X = np.concatenate([x for _, x in self.factors], axis=1)
        if G.shape[1] == 1:
            return np.einsum("bo,bo->b", G[:, 0], G[:, 0]) * np.einsum("bi,bi->b", X[:, 0], X[:, 0])
        return np.einsum("bts,bts->b", G @ np.swapaxes(G, 1, 2), X @ np.swapaxes(X, 1, 2))


# True while a per-sample pass computes norms only (weight gradients may stay factored).
NORMS_ONLY = [False]


# Leaves whose grad_sample storage was handed out during the running per-sample pass.
_HANDED: set = set()


def sample_buffer(p: Any, shape: tuple, dtype: Any) -> np.ndarray:
    """Storage for a per-sample gradient of ``p`` (shape (B, *p.shape)).

    For a leaf whose ``grad_sample`` was cleared, the array it held last time is reused
    when nothing else references it any more (per-sample gradients are B x |params| floats;
    fresh pages for them cost more than the arithmetic). Otherwise a new array.
    """
    if p._op is None and p.grad_sample is None and id(p) not in _HANDED:
        _HANDED.add(id(p))
        buf = getattr(p, "_gsbuf", None)
        # references: the slot, `buf`, getrefcount's argument; more means someone kept it
        if buf is not None and buf.shape == shape and buf.dtype == dtype and sys.getrefcount(buf) <= 3:
            return buf
        buf = np.empty(shape, dtype)
        p._gsbuf = buf
        return buf
    return np.empty(shape, dtype)


# ---------------------------------------------------------------- forward-time rules ----
def module_path(stack: Optional[tuple] = None) -> str:
    """Dotted path of the innermost module of ``stack`` (default: the modules running now),
    e.g. ``layers.2``; '' outside any module."""
    stack = tuple(MODULE_STACK) if stack is None else stack
    names = []
    for parent, child in zip(stack, stack[1:]):
        for name, m in parent.named_children():
            if m is child:
                names.append(name)
                break
        else:
            names.append(type(child).__name__)
    if not names and stack:
        return type(stack[0]).__name__
    return ".".join(names)


def _where(why: str, stack: Optional[tuple] = None) -> str:
    where = module_path(stack)
    return why + (f" in module '{where}'" if where else "")


class _Origin:
    """Where a batch statistic was born: the op and the running modules, turned into text
    only if an error message needs it (the statistic is made on every training step)."""

    __slots__ = ("op", "stack")

    def __init__(self, op: str) -> None:
        self.op = op
        self.stack = tuple(MODULE_STACK)

    def __str__(self) -> str:
        return _where(f"op '{self.op}' over the sample axis", self.stack)


def stat_origin(op: str) -> _Origin:
    """Where a batch statistic is born (kept on STAT nodes, quoted by mixing errors)."""
    return _Origin(op)


def _origin(*inputs: Any) -> Optional[_Origin]:
    for t in inputs:
        if getattr(t, "_bs", 0) & STAT:
            return t._mix
    return None


def mixed(why: str, *inputs: Any) -> tuple:
    """State MIXED with its reason: an input's earlier reason if it had one, else ``why``
    (and where the batch statistic involved came from)."""
    for t in inputs:
        if getattr(t, "_bs", 0) & MIXED:
            return MIXED, t._mix
    msg = _where(why)
    origin = _origin(*inputs)
    if origin:
        msg += f" (the batch statistic comes from {origin})"
    return MIXED, msg


def elementwise(op: str, out_shape: tuple, a: Any, b: Any, linear_in: str = "ab") -> tuple:
    """Batch state of an elementwise op of ``a`` and ``b`` with broadcast ``out_shape``.

    ``linear_in`` says in which operands the op is linear with the other operand fixed
    (``"ab"`` for +/-, ``"a"`` for a / b, ``"ab*"`` for a * b: linear in each alone).
    """
    sa, sb = a._bs, b._bs
    s = sa | sb
    if s & MIXED:
        return mixed(op, a, b)
    if s & BATCHED:
        if s & STAT:
            return mixed(f"op '{op}' combines a batch statistic (a mean/sum over the sample axis) "
                         "with per-sample values", a, b)
        for t in (a, b):
            if t._bs & BATCHED and (t.data.ndim != len(out_shape) or t.data.shape[0] != out_shape[0]):
                return mixed(f"op '{op}' broadcasts a batched operand of shape {t.data.shape} to "
                             f"{out_shape}, moving or repeating the sample axis")
        return BATCHED, None
    # STAT: allowed while the op is linear in the statistic and its other operand needs no grad
    if linear_in == "ab":
        return STAT, _origin(a, b)
    stat, other = (a, b) if sa & STAT else (b, a)
    if sa & STAT and sb & STAT:
        return mixed(f"op '{op}' multiplies/divides two batch statistics", a, b)
    if linear_in == "a" and stat is b:
        return mixed(f"op '{op}' divides by a batch statistic", a, b)
    if other.requires_grad:
        return mixed(f"op '{op}' multiplies a batch statistic by a value that requires grad "
                     "(its per-sample split is undefined)", a, b)
    return STAT, _origin(a, b)


def unary(op: str, x: Any, linear: bool = False) -> tuple:
    """Batch state of an elementwise function of one input."""
    s = x._bs
    if s & MIXED:
        return MIXED, x._mix
    if s & STAT and not linear:
        return mixed(f"op '{op}' applies a non-linear function to a batch statistic", x)
    return s, (x._mix if s & (MIXED | STAT) else None)


def reduction(op: str, x: Any, axes: Optional[tuple], is_sum_or_mean: bool) -> tuple:
    """Batch state of a reduction over ``axes`` (normalised, or None = all)."""
    s = x._bs
    if not s & BATCHED:
        if s & STAT and not is_sum_or_mean:
            return mixed(f"op '{op}' applied to a batch statistic", x)
        return s, (x._mix if s & (MIXED | STAT) else None)
    if axes is None or 0 in axes:
        if is_sum_or_mean:
            return STAT, stat_origin(op)
        return mixed(f"op '{op}' over the sample axis (axis 0)", x)
    return BATCHED, None


def along_axis(op: str, x: Any, axis: int) -> tuple:
    """Batch state of an op acting along one axis (softmax, log_softmax)."""
    s = x._bs
    if s & BATCHED and axis % x.data.ndim == 0:
        return mixed(f"op '{op}' along the sample axis (axis 0)", x)
    return unary(op, x)


def same_rows(op: str, x: Any, out: np.ndarray, keeps_rows: bool) -> tuple:
    """Batch state of a layout op (reshape, transpose, indexing)."""
    s = x._bs
    if s & BATCHED and not keeps_rows:
        return mixed(f"op '{op}' moves, merges or selects along the sample axis "
                     f"(shape {x.data.shape} -> {out.shape})", x)
    return s, (x._mix if s & (MIXED | STAT) else None)


def joined(op: str, ts: list, out_shape: tuple, along_samples: bool) -> tuple:
    """Batch state of concatenation: batched pieces keep their rows when joined along
    another axis (every piece then spans the same samples)."""
    s = 0
    for t in ts:
        s |= t._bs
    if s & MIXED:
        return mixed(op, *ts)
    if s & BATCHED:
        if s & STAT or along_samples:
            return mixed(f"op '{op}' joins along the sample axis or joins a batch statistic with "
                         "per-sample values", *ts)
        return BATCHED, None
    return STAT, _origin(*ts)


def matmul(a: Any, b: Any) -> tuple:
    """Batch state of ``a @ b``: samples stay independent when the batched operand keeps
    its axis 0 as a broadcast batch axis (x @ W with x (B, n) or (B, ..., m, n); W @ x with
    x (B, ..., n, k))."""
    sa, sb = a._bs, b._bs
    s = sa | sb
    if s & MIXED:
        return mixed("matmul", a, b)
    na, nb = a.data.ndim, b.data.ndim
    if s & STAT:
        if s & BATCHED:
            return mixed("op 'matmul' combines a batch statistic with per-sample values", a, b)
        if sa & STAT and sb & STAT:
            return mixed("op 'matmul' multiplies two batch statistics", a, b)
        other = b if sa & STAT else a
        if other.requires_grad:
            return mixed("op 'matmul' multiplies a batch statistic by a value that requires grad", a, b)
        return STAT, _origin(a, b)
    ok = True
    if sa & BATCHED:
        ok = (na == 2 and nb <= 2 and not sb & BATCHED) or (na >= 3 and nb <= na)
    if sb & BATCHED and ok:
        ok = nb >= 3 and na <= nb
    if not ok:
        return mixed(f"op 'matmul' of shapes {a.data.shape} @ {b.data.shape} contracts or moves the "
                     "sample axis", a, b)
    return BATCHED, None


# --------------------------------------------------------------- unbroadcasting ----------
def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` (a cotangent of numpy's broadcast of an array of ``shape``) back to ``shape``:
    d/dx of sum_j y_j with y = broadcast(x) adds the cotangents of all copies of x_i."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def unbroadcast_keep0(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Like ``unbroadcast`` to ``(B, *shape)``: axis 0 of ``g`` is the sample axis and is kept."""
    B = g.shape[0]
    rest = g.shape[1:]
    if len(shape) <= len(rest):
        extra = len(rest) - len(shape)
        if extra:
            g = g.sum(axis=tuple(range(1, 1 + extra)))
        axes = tuple(i + 1 for i, n in enumerate(shape) if n == 1 and g.shape[i + 1] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return g
    # the parameter's own axis 0 lines up with the sample axis
    inner = unbroadcast_keep0(g, shape[1:])
    if shape[0] == 1:
        return inner.reshape((B, 1) + tuple(shape[1:]))
    out = np.zeros((B,) + tuple(shape), dtype=g.dtype)
    ar = np.arange(B)
    out[ar, ar] = inner
    return out


def fit(p: Any, g: np.ndarray) -> np.ndarray:
    """The walker's reduction hook for tensors: cotangent to the parent's shape and dtype."""
    d = p.data
    if g.shape != d.shape:
        g = unbroadcast(g, d.shape)
    if g.dtype is not d.dtype and g.dtype != d.dtype:
        g = g.astype(d.dtype)
    return g


# ------------------------------------------------------------------ the per-sample walk ---
def backward(root: Any, seed: np.ndarray, norms_only: bool = False) -> None:
    """Backward from a cost that reduces the batch (or from a batched root), filling
    ``grad`` and ``grad_sample`` of every leaf parameter in one pass; with ``norms_only``,
    ``grad_sample_norm`` (each sample's gradient norm, shape (B,)) instead of ``grad_sample``."""
    NORMS_ONLY[0] = norms_only
    try:
        with graph.gc_paused():
            _sweep(root, seed, norms_only)
    finally:
        NORMS_ONLY[0] = False


def total_norms(params: Any) -> np.ndarray:
    """Each sample's WHOLE gradient norm over ``params`` (shape (B,)):
    sqrt(sum_p |grad_sample_p[b]|^2), from ``grad_sample_norm`` or ``grad_sample``."""
    sq = None
    for p in params:
        n = getattr(p, "grad_sample_norm", None)
        if n is None and p.grad_sample is not None:
            n2 = PerSample(p.grad_sample, None).sq_norms()
        elif n is not None:
            n2 = n * n
        else:
            continue
        sq = n2 if sq is None else sq + n2
    if sq is None:
        raise RuntimeError("total_norms: no parameter has grad_sample or grad_sample_norm; run backward "
                           "with a batched input first")
    return np.sqrt(sq)


def _sweep(root: Any, seed: np.ndarray, norms_only: bool = False) -> None:
    order = graph.toposort(root)
    B = None
    for n in order:
        if n._bs & BATCHED:
            B = n.data.shape[0]
            break
    if B is None:  # nothing batched needs a gradient: an ordinary pass
        graph.backward(root, seed, fit)
        return
    _HANDED.clear()
    c = 1.0 if root._bs & BATCHED else None  # the cost's per-sample weight
    c_by = "a batched root"
    pend: dict = {root: seed}  # batched rows / plain cotangents
    exp: dict = {}  # parameter-side nodes: PerSample
    leaves = []
    for node in reversed(order):
        g = pend.pop(node, None)
        P = exp.pop(node, None)
        if g is None and P is None:
            continue
        op = node._op
        if P is not None:
            # parameter-side node reached from samples (and maybe also from the cost directly):
            # a direct contribution g is shared equally by the B per-sample terms.
            if g is not None:
                P = PerSample(P.dense() + g * (1.0 / (B * c)), P.total + g)
            if op is None:
                leaves.append((node, P.total, P))
                continue
            node.grad = P.total
            gs = op.vjp(node, P.dense())
            gt = op.vjp(node, P.total)
            for p, gps, gpt in zip(node._parents, gs, gt):
                if gps is None or not p.requires_grad:
                    continue
                _add_exp(exp, p, PerSample(_fit_S(p, gps), fit(p, gpt)))
            continue
        if op is None:
            leaves.append((node, g, None))
            continue
        node.grad = g
        if node._bs & BATCHED:
            vjp_ps = getattr(op, "vjp_ps", None)
            grads = vjp_ps(node, g, c) if vjp_ps is not None else op.vjp(node, g)
            for p, gp in zip(node._parents, grads):
                if gp is None or not p.requires_grad:
                    continue
                if p._bs & BATCHED:
                    q = pend.get(p)
                    gp = fit(p, gp)
                    pend[p] = gp if q is None else q + gp
                else:
                    if type(gp) is not PerSample:
                        gp = PerSample(_fit_S(p, unbroadcast_keep0(gp, p.data.shape) * (1.0 / c)),
                                       fit(p, gp))
                    _add_exp(exp, p, gp)
            continue
        grads = op.vjp(node, g)
        for p, gp in zip(node._parents, grads):
            if gp is None or not p.requires_grad:
                continue
            if p._bs & BATCHED:  # `node` reduces the sample axis: it is (part of) the cost
                cs = op.sample_scale(node)
                if c is None:
                    c, c_by = cs, op.name
                elif cs != c:
                    raise RuntimeError(
                        f"per-sample gradients: the cost combines reductions over the sample axis "
                        f"with different weights ('{c_by}' and '{op.name}'); use one of mean or "
                        "sum, or call backward(per_sample=False)")
            gp = fit(p, gp)
            q = pend.get(p)
            pend[p] = gp if q is None else q + gp
    if c is None:
        c = 1.0
    # all checks before any write: a failed backward accumulates nothing
    writes = []
    for leaf, total, P in leaves:
        if leaf._bs & BATCHED:  # a batched input: its .grad rows are the samples' own
            writes.append((leaf, total, None, None))
            continue
        if P is None:  # reached only outside the per-sample terms: an equal share for each sample
            share = np.broadcast_to(total * (1.0 / (B * c)), (B,) + leaf.data.shape)
            P = PerSample(share.astype(leaf.data.dtype), total)
        if norms_only:
            norms = np.sqrt(P.sq_norms()).astype(leaf.data.dtype, copy=False)
            writes.append((leaf, total, None, norms))
            continue
        S = P.dense()
        old = leaf.grad_sample
        if old is not None and old.shape != S.shape:
            raise RuntimeError(
                f"grad_sample of {_label(leaf)} has shape {old.shape} from an earlier backward but this "
                f"batch gives {S.shape}; call zero_grad() between batches of different sizes")
        writes.append((leaf, total, S, None))
    owned: set = set()
    for leaf, total, S, norms in writes:
        leaf._accumulate(total)
        if norms is not None:
            leaf.grad_sample_norm = norms
        if S is not None:
            if leaf.grad_sample is not None:
                S = leaf.grad_sample + S
            elif not (S.flags.writeable and S.flags.owndata) or id(S) in owned:
                S = np.array(S)  # a read-only broadcast, a view or shared with another leaf: own it
            owned.add(id(S))
            leaf.grad_sample = S


def _label(t: Any) -> str:
    return f"'{t.name}'" if getattr(t, "name", None) else f"a tensor of shape {t.data.shape}"


def _fit_S(p: Any, S: np.ndarray) -> np.ndarray:
    """Per-sample cotangent to shape (B, *p.shape) in p's dtype."""
    want = p.data.shape
    if S.shape[1:] != want:
        S = unbroadcast_keep0(S, want)
    if S.dtype != p.data.dtype:
        S = S.astype(p.data.dtype)
    return S


def _add_exp(exp: dict, p: Any, P: PerSample) -> None:
    q = exp.get(p)
    if q is None:
        exp[p] = P
    elif q.S is None and P.S is None:  # both factored: keep the factors side by side
        exp[p] = PerSample(None, q.total + P.total, q.factors + P.factors)
    else:
        exp[p] = PerSample(q.dense() + P.dense(), q.total + P.total)
