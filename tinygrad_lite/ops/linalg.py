"""Matrix-shaped ops: ``diagonal`` (a diagonal of two axes, moved to the end), ``diag_embed``
(a vector placed on a diagonal of a new matrix), ``tril`` / ``triu`` (a triangle kept, the
rest zero), ``einsum`` (a sum of products over index letters) and ``svdvals`` (the singular
values of each matrix, whose gradient ``U diag(g) V^T`` gives the nuclear norm's ``U V^T``).

The first four are linear and move or mask values, so each vjp puts the cotangent back
where the values came from. ``einsum`` is multilinear: the cotangent of operand i is the
einsum of the output's cotangent with the other operands, written to operand i's
subscripts (letters only operand i has are broadcast back, a repeated letter writes the
diagonal). Each class holds its forward, vjp, batch rule and derivative text.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import batchstate
from ..batchstate import BATCHED, MIXED, STAT
from .base import Op, failed, lead

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Diagonal(Op):
    name, rule = "diagonal", "d diagonal(a)/da: the cotangent written back on the diagonal, 0 elsewhere"

    def forward(self, a: np.ndarray, offset: int = 0, dim1: int = 0, dim2: int = 1) -> tuple:
        """A view of ``a``'s diagonal, writable when ``a`` is (torch's ``diagonal`` is a view:
        ``x.diagonal().fill_(v)`` writes into ``x``, and the write is versioned like a slice's)."""
        out = np.diagonal(a, offset, dim1, dim2)
        if a.flags.writeable:
            out.flags.writeable = True  # (numpy hands out a read-only view; the memory is a's)
        return out, (a.shape, offset, dim1, dim2)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        shape, offset, d1, d2 = node._ctx
        k = lead(node, g)
        z = np.zeros(g.shape[:k] + shape, node._data.dtype)
        n = g.shape[-1]
        rows, cols = np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)
        np.moveaxis(z, (d1 + k, d2 + k), (-2, -1))[..., rows, cols] = g  # (a view of z)
        return (z,)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The cotangent put back on the diagonal by the getitem-backward op: an index array
        for every axis of the input, each broadcast to the output's shape."""
        from .layout import SCATTERBACK
        shape, offset, d1, d2 = node._ctx
        out = node._data.shape
        n = out[-1]
        rest = iter(range(len(out) - 1))
        rows, cols = np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)
        idx = tuple(rows if d == d1 else cols if d == d2 else
                    np.arange(m).reshape((-1,) + (1,) * (len(out) - 1 - next(rest))) for d, m in enumerate(shape))
        return (SCATTERBACK(g, (shape, idx, True)),)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x = inputs[0]
        if x._bs & BATCHED and 0 in ctx[2:]:
            return batchstate.mixed(f"op 'diagonal' takes a diagonal across the sample axis (shape "
                                    f"{x._data.shape} -> {out.shape})", x)
        return batchstate.unary(self.name, x, linear=True)


class DiagEmbed(Op):
    """``out[..., i, i + offset] = v[..., i]`` (``i - offset`` for the row when offset < 0)
    in a square matrix of side ``n + |offset|``; the rest is 0."""

    name, rule = "diag", "d diag(v)/dv: the diagonal of the cotangent"

    def forward(self, v: np.ndarray, offset: int = 0) -> tuple:
        n = v.shape[-1]
        m = n + abs(offset)
        out = np.zeros(v.shape[:-1] + (m, m), v.dtype)
        rows, cols = np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)
        out[..., rows, cols] = v
        return out, (rows, cols)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        rows, cols = node._ctx
        return (g[..., rows, cols],)

    def tvjp(self, node: Any, g: Any) -> tuple:
        rows, cols = node._ctx
        return (g[..., rows, cols],)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        return _linear_unless(self.name, inputs[0], 1, "spreads the sample axis over a matrix")


def _linear_unless(op: str, x: Any, ndim: int, why: str) -> tuple:
    """Batch state of an op linear in ``x`` that keeps the sample axis, unless a batched
    ``x`` has ``ndim`` axes: then the op mixes the samples, for the reason ``why``."""
    if x._bs & BATCHED and x._data.ndim == ndim:
        return batchstate.mixed(f"op '{op}' {why} (a batched tensor of shape {x._data.shape})", x)
    return batchstate.unary(op, x, linear=True)


class _Triangle(Op):
    """A triangle of the last two axes kept, the rest set to 0 (``fn`` is np.tril or np.triu)."""

    fn: Any = None

    def forward(self, a: np.ndarray, diagonal: int = 0) -> tuple:
        return type(self).fn(a, diagonal), diagonal

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        return (type(self).fn(g, node._ctx),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        return (self(g, diagonal=node._ctx),)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        return _linear_unless(self.name, inputs[0], 2, "masks by position along the sample axis (its rows are "
                              "the samples)")


class Tril(_Triangle):
    name, rule, fn = "tril", "d tril(a)/da: the cotangent's lower triangle", np.tril


class Triu(_Triangle):
    name, rule, fn = "triu", "d triu(a)/da: the cotangent's upper triangle", np.triu


# ------------------------------------------------------------------ einsum ---------------
def parse(equation: str, shapes: list) -> tuple:
    """``equation`` with every ``...`` replaced by letters of its own (right-aligned, as
    broadcasting aligns axes) and the output made explicit: (subscripts per operand, output
    subscripts, size of each letter). Errors name einsum and the shapes."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has {len(terms)} operand subscripts but "
                         f"{len(shapes)} operands were given")
    used = set(c for c in eq if c.isalpha())
    bad = set(eq) - set(_LETTERS) - set(".,->")
    if bad or any(t.replace("...", "").count(".") for t in terms + [out]):
        raise ValueError(f"einsum: invalid subscripts in {equation!r} (letters a-z, A-Z, '...', ',' and '->')")
    n_ell = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t] or [0])
    if n_ell < 0:
        n_ell = 0
    fresh = [c for c in _LETTERS if c not in used]
    if len(fresh) < n_ell:
        raise ValueError(f"einsum: {equation!r} needs more than 52 index letters")
    ell = "".join(fresh[:n_ell])
    subs = []
    for t, s in zip(terms, shapes):
        plain = t.replace("...", "")
        n = len(s) - len(plain)
        if t.count("...") > 1 or (n != 0 and "..." not in t) or n < 0:
            raise ValueError(f"einsum: subscripts {t!r} do not fit an operand of shape {s}")
        subs.append(t.replace("...", ell[n_ell - n:]))
    if arrow:
        if out.count("...") > 1:
            raise ValueError(f"einsum: the output {out!r} has more than one '...'")
        out = out.replace("...", ell)
    else:
        once = sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1)
        out = ell + "".join(once)
    sizes: dict = {}
    for t, s in zip(subs, shapes):
        for c, m in zip(t, s):
            if sizes.get(c, 1) != 1 and m not in (1, sizes[c]):
                raise ValueError(f"einsum: index {c!r} has size {sizes[c]} in one operand and {m} in another "
                                 f"(operand shapes {[tuple(x) for x in shapes]})")
            sizes[c] = m if sizes.get(c, 1) == 1 else sizes[c]
    for c in out:
        if out.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
        if c not in sizes:
            raise ValueError(f"einsum: output subscript {c!r} of {equation!r} appears in no operand")
    return subs, out, sizes


def _spread(G: np.ndarray, have: str, sub: str, shape: tuple, pre: str) -> np.ndarray:
    """``G`` (letters ``pre + have``) as an array of letters ``pre + sub``: letters it lacks,
    or has with size 1 where the operand's size is larger, broadcast to the operand's size
    (the forward summed or broadcast over them), and a repeated letter written on the
    diagonal."""
    uniq = "".join(dict.fromkeys(sub))
    missing = "".join(c for c in uniq if c not in have)
    k = len(pre)
    G = G.reshape(G.shape + (1,) * len(missing))
    if have + missing != uniq:
        G = np.einsum(f"{pre + have + missing}->{pre + uniq}", G)
    size = dict(zip(sub, shape))
    want = G.shape[:k] + tuple(size[c] if G.shape[k + j] == 1 else G.shape[k + j] for j, c in enumerate(uniq))
    if want != G.shape:
        G = np.broadcast_to(G, want)
    if uniq == sub:
        return G
    z = np.zeros(G.shape[:k] + tuple(shape), G.dtype)
    np.einsum(f"{pre + sub}->{pre + uniq}", z)[...] = G  # the diagonal of z, as a writable view
    return z


class Einsum(Op):
    name, rule = "einsum", "d einsum/d operand_i: einsum of the cotangent with the other operands"

    def forward(self, *arrays: np.ndarray, equation: str = "") -> tuple:
        subs, out, sizes = parse(equation, [a.shape for a in arrays])
        with np.errstate(all="ignore"):
            data = np.asarray(np.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2))
        return data, (subs, out, sizes)

    def _grad(self, node: Any, g: np.ndarray, i: int, pre: str, gsub: str) -> np.ndarray:
        """The cotangent of operand ``i`` from ``g`` (letters ``gsub``), with the letters
        ``pre`` of ``g`` kept in front."""
        subs = node._ctx[0]
        others = [(t, p._data) for j, (t, p) in enumerate(zip(subs, node._parents)) if j != i]
        present = set(gsub).union(*[set(t) for t, _ in others])
        have = "".join(c for c in dict.fromkeys(subs[i]) if c in present and c not in pre)
        terms = ",".join([gsub] + [t for t, _ in others])
        with np.errstate(all="ignore"):
            G = np.einsum(f"{terms}->{pre + have}", g, *[a for _, a in others], optimize=len(others) > 1)
        return _spread(np.asarray(G, node._data.dtype), have, subs[i], node._parents[i]._data.shape, pre)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        k = lead(node, g)
        used = set("".join(node._ctx[0]))
        pre = "".join([c for c in _LETTERS if c not in used][:k])
        if len(pre) < k:
            raise ValueError("einsum: too many index letters to carry the per-sample axes")
        gsub = pre + node._ctx[1]
        return tuple(self._grad(node, g, i, pre, gsub) if p._rg else None
                     for i, p in enumerate(node._parents))

    def tvjp(self, node: Any, g: Any) -> tuple:
        """Operand i's cotangent as an einsum of ``g`` with the other operands (Tensors), then
        the letters it lacks added as size-1 axes, put in the operand's order and broadcast
        (with a repeated letter, an operand's diagonal: by recomputing through ``_undiagonal``)."""
        from .layout import EXPAND, RESHAPE, TRANSPOSE
        subs, out, _ = node._ctx
        res = []
        for i, p in enumerate(node._parents):
            if not p._rg:
                res.append(None)
                continue
            sub = subs[i]
            if len(set(sub)) != len(sub):  # a diagonal: differentiate einsum(diagonal(...)) instead
                from ..higher import recompute
                return recompute(node, g, lambda *ps: _undiagonal(subs, out, ps))
            others = [(t, q) for j, (t, q) in enumerate(zip(subs, node._parents)) if j != i]
            present = set(out).union(*[set(t) for t, _ in others])
            have = "".join(c for c in sub if c in present)
            G = einsum_call(",".join([out] + [t for t, _ in others]) + "->" + have, [g] + [q for _, q in others])
            missing = "".join(c for c in sub if c not in have)
            if missing:
                G = RESHAPE(G, G.shape + (1,) * len(missing))
            perm = tuple((have + missing).index(c) for c in sub)
            if perm != tuple(range(len(sub))):
                G = TRANSPOSE(G, perm)
            want = tuple(max(a, b) for a, b in zip(G.shape, p.shape))
            res.append(EXPAND(G, want) if want != G.shape else G)
        return tuple(res)

    def sample_rows(self, node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        """Sample b's gradient of an unbatched operand (which lacks the sample letter, the
        output's first): its cotangent with that letter kept in front."""
        from ..persample import DenseRows

        p = node._parents[i]
        out = node._ctx[1]
        S = self._grad(node, g, i, out[0], out)
        return DenseRows(S, p._data.shape, p._data.dtype, scale)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        """Samples stay independent when every batched operand's first letter is the output's
        first letter (and appears once in it), and no unbatched operand that requires grad
        carries that letter; batch statistics follow matmul's rule (linear in each operand)."""
        subs, o, _ = ctx
        s = 0
        for t in inputs:
            s |= t._bs
        if s & MIXED:
            return batchstate.mixed("einsum", *inputs)
        if s & STAT:
            stats = [t for t in inputs if t._bs & STAT]
            if s & BATCHED or len(stats) > 1:
                return batchstate.mixed("op 'einsum' combines a batch statistic with per-sample values or "
                                        "another batch statistic", *inputs)
            if any(t._rg for t in inputs if not t._bs & STAT):
                return batchstate.mixed("op 'einsum' multiplies a batch statistic by a value that requires "
                                        "grad", *inputs)
            return STAT, batchstate._origin(*inputs)
        first = o[:1]
        for t, sub in zip(inputs, subs):
            if t._bs & BATCHED:
                ok = bool(first) and sub[:1] == first and sub.count(first) == 1
            else:
                ok = not (first and first in sub and t._rg)
            if not ok:
                return batchstate.mixed(f"op 'einsum' {','.join(subs)}->{o} contracts, moves or repeats the "
                                        "sample axis", *inputs)
        return BATCHED, None


def _undiagonal(subs: list, out: str, ps: tuple) -> Any:
    """The einsum of ``ps`` with each repeated letter of an operand first taken as a diagonal
    (the diagonal op puts it last): the same values, every operand's letters distinct."""
    terms, args = [], []
    for sub, p in zip(subs, ps):
        while len(set(sub)) != len(sub):
            c = next(c for c in sub if sub.count(c) > 1)
            i = sub.index(c)
            j = sub.index(c, i + 1)
            p = DIAGONAL(p, offset=0, dim1=i, dim2=j)
            sub = sub[:i] + sub[i + 1:j] + sub[j + 1:] + c
        terms.append(sub)
        args.append(p)
    return einsum_call(",".join(terms) + "->" + out, args)


DIAGONAL, DIAG, TRIL, TRIU, EINSUM = Diagonal(), DiagEmbed(), Tril(), Triu(), Einsum()


def einsum_call(equation: str, operands: list) -> Any:
    """Run ``EINSUM`` on Tensors (the checks of ``parse`` come first, naming einsum)."""
    try:
        parse(equation, [t._data.shape for t in operands])
    except ValueError as e:
        raise failed(EINSUM, e, tuple(operands)) from None
    return EINSUM(*operands, equation=equation)


class Svdvals(Op):
    """The singular values of each matrix (the last two axes), descending: (..., min(m, n)).
    With A = U diag(s) V^T (reduced), ds_i = u_i^T dA v_i, so the cotangent of A is
    U diag(g) V^T (for distinct non-zero singular values; the nuclear norm's gradient
    is U V^T)."""

    name, rule = "svdvals", "d s_i(A)/dA = u_i v_i^T (A = U diag(s) V^T)"

    def forward(self, a: np.ndarray) -> tuple:
        if a.ndim < 2:
            from ..conventions import ShapeMismatchError
            raise ShapeMismatchError(f"svdvals: the input must have at least 2 axes (matrices), got shape {a.shape}")
        if a.dtype.kind != "f":
            a = a.astype(np.float64)
        from .linalg_more import converged
        U, s, Vh = converged("svdvals", np.linalg.svd, a, full_matrices=False)
        return s.astype(a.dtype, copy=False), (U, Vh)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        U, Vh = node._ctx
        return (np.matmul(U * g[..., None, :], Vh).astype(node._data.dtype, copy=False),)

    def tvjp(self, node: Any, g: Any) -> tuple:
        """U diag(g) V^T with U and V taken from the svd op (differentiable again)."""
        from .linalg_decomp import SVD_, unpack
        a = node._parents[0]
        m, n = a.shape[-2:]
        k = min(m, n)
        U, _, Vh = unpack(SVD_(a, full_matrices=False), [(m, k), (1, k), (k, n)])
        return ((U * g.unsqueeze(-2)) @ Vh,)

    def batch(self, inputs: tuple, out: np.ndarray, ctx: Any) -> tuple:
        x = inputs[0]
        if x._data.ndim < 3:  # the sample axis is a row axis of the matrix
            return batchstate.mixed("op 'svdvals' of a matrix whose rows are the samples", x)
        return batchstate.unary(self.name, x)

SVDVALS = Svdvals()
