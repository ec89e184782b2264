"""Per-sample gradients from the same backward: kept as what they are made of, built on read.

If the cost is ``C = sum_b c * term_b`` (``c = 1/B`` for a mean, ``1`` for a sum), the
backward cotangent of a batched node has rows ``c * dterm_b/dx_b``. Where a batched node
feeds a parameter-side (unbatched) node, the ordinary pass contracts the sample axis; the
per-sample context (``Context``, one per ``backward()``, passed to the walker as its
``ctx``) additionally KEEPS that edge's per-sample gradient ``S[b] = dterm_b/dp`` as a
``Rows`` object, without building it:

* ``OuterRows(L, R)``: ``S[b] = sum_t L[b,t] (x) R[b,t]`` (a Linear or matmul weight: the
  output cotangent rows and the input rows, which the pass already has);
* ``DenseRows(g)``: the op's own full-shape cotangent, whose sample axis the walker would
  otherwise sum away (elementwise ops such as ``x * w``);
* ``ShareRows(d)``: a cotangent reaching the parameter outside the per-sample terms
  (``0.1 * (W**2).sum()`` added to a cost), shared equally by the B samples;
* ``PushedRows``: rows of a parameter-side non-leaf (``W.T``) pushed through its op.

Each leaf parameter keeps its rows in a ``SampleGrads`` (``p._ps``) until ``zero_grad()``:
one segment per batch (another batch before ``zero_grad()`` appends its rows; another cost
over the same batch adds). ``grad_sample`` is built on first read; ``grad_sample_norm``,
DP-SGD's clipped sum and the gradient variance are computed from the factors where a rule
exists (``|sum_t L_t (x) R_t|^2 = sum_{t,s} (L_t.L_s)(R_t.R_s)``, ``sum_b w_b S[b] =
(w L)^T R``). A graph that mixed samples keeps its reason, and reading raises it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .batchstate import BATCHED, MIXED, STAT, batch_ident
from .batchstate import fit as _fit
from .keptinputs import before_write, watch  # noqa: F401  (before_write re-exported: Tensor.numpy)
from .lazygrad import LazyGrad  # noqa: F401  (re-exported: tensors accumulate it)
from .samplerows import DenseRows, OuterRows, PushedRows, Rows, ShareRows, _Summed, dense_sum, push, sq_norms, widened  # noqa: F401  (re-exported)


class BatchRecord(tuple):
    """``p.last_batch``, ``(n, reduction)``, with ``kind``: the reduction the cost's op wrote
    (``.sum()`` is "sum" also when divided by B). Of one sample a mean and a sum weigh it alike;
    ``tl.distributed`` reads ``kind`` to tell a cost written as a sum from one written as a mean."""

    def __new__(cls, record: tuple, kind: Any = None) -> "BatchRecord":
        self = super().__new__(cls, record)
        self.kind = kind
        return self

    def __reduce__(self) -> tuple:  # (copies and pickles keep kind)
        return BatchRecord, (tuple(self), self.kind)


class Segment:
    """One batch's per-sample gradient of one parameter: ``parts`` add up to S (B rows).
    ``ident`` names the batch (``batchstate.batch_ident``); ``order`` counts the segments made
    in this process, so rows of several parameters line up in the order their batches came."""

    __slots__ = ("ident", "B", "parts", "c", "weight", "error", "order")

    def __init__(self, ident: tuple, B: int, parts: list, c: float, weight: Optional[float],
                 error: Optional[str]) -> None:
        self.ident, self.B, self.parts, self.c, self.weight, self.error = ident, B, parts, c, weight, error
        self.order = next(_ORDER)


_ORDER = itertools.count()


class SampleGrads:
    """What a leaf parameter's per-sample gradients are made of, since ``zero_grad()``."""

    __slots__ = ("segments", "stepped")

    def __init__(self) -> None:
        self.segments: list = []
        self.stepped = False  # a DPSGD step used these rows (a later step must not use them again)

    def check(self, label: str) -> None:
        for s in self.segments:
            if s.error:
                raise RuntimeError(f"per-sample gradients of {label} are undefined: {s.error}. "
                                   ".grad is correct; per-sample gradients need a graph in which sample b's "
                                   "term depends on sample b only")

    @property
    def B(self) -> int:
        return sum(s.B for s in self.segments)

    def dense(self, out: Optional[np.ndarray] = None) -> np.ndarray:
        segs = self.segments
        if len(segs) == 1:
            return dense_sum(segs[0].parts, out)
        return np.concatenate([dense_sum(s.parts) for s in segs], axis=0)

    def sq_norms(self) -> np.ndarray:
        return np.concatenate([sq_norms(s.parts) for s in self.segments])

    def weighted_sum(self, w: np.ndarray) -> np.ndarray:
        """``sum_b w_b S[b]`` over every row of every segment."""
        total = None
        k = 0
        for s in self.segments:
            ws = w[k:k + s.B]
            k += s.B
            for r in s.parts:
                t = r.weighted_sum(ws)
                total = t if total is None else total + t
        return total

    def sq_sum(self) -> np.ndarray:
        total = None
        for s in self.segments:
            t = s.parts[0].sq_sum() if len(s.parts) == 1 else Rows.sq_sum(_Summed(s.parts))
            total = t if total is None else total + t
        return total

    def widened(self) -> "SampleGrads":
        """The same rows with float64 factors (``samplerows.widened``), for sums of many rows."""
        out = SampleGrads()
        for s in self.segments:
            w = Segment(s.ident, s.B, [widened(r) for r in s.parts], s.c, s.weight, s.error)
            w.order = s.order
            out.segments.append(w)
        return out

    def units(self, expected: Optional[int] = None) -> np.ndarray:
        """Per row, the factor turning ``S[b]`` (sample b's term's gradient as the cost writes
        it, relative to its reduction's weight ``c``) into sample b's gradient of its own loss:
        1 (as written: ``0.5 * a.mean()`` is the mean of ``0.5 a_b``), but ``B`` for a sum
        divided by B (``c = 1``, each term weighted ``w = 1/B``): the mean it is; likewise ``E``
        for a sum divided by the ``expected`` batch size E (Poisson sampling's mean), whatever
        B the draw gave, so the step does not change its meaning when B happens to be E."""
        out = []
        for s in self.segments:
            if s.weight is None or s.weight == 0:
                raise ValueError("per-sample gradients: the cost weights its per-sample terms unevenly or by "
                                 "zero; write it as a plain .mean() (reduction='mean') or .sum()")
            u = 1.0
            if s.c == 1.0 and s.B > 1 and abs(s.weight * s.B - 1) <= 1e-12:
                u = s.B
            elif s.c == 1.0 and expected is not None and expected > 1 and abs(s.weight * expected - 1) <= 1e-12:
                u = expected
            out.append(np.full(s.B, u))
        return np.concatenate(out) if out else np.zeros(0)


# ------------------------------------------------------------------ the per-backward context --
class Context:
    """What one ``backward()`` needs for per-sample gradients (no module globals, so two
    threads can run backward at once). ``mode``: ``"rows"`` (the default: keep factors),
    ``"norms"`` (norms now, nothing kept) or ``"plain"`` (only the batch size and the cost's
    reduction, for ``p.last_batch``)."""

    def __init__(self, root: Any, mode: str, seed: Optional[np.ndarray] = None) -> None:
        self.mode = mode
        self.B: Optional[int] = None
        self.c: Optional[float] = 1.0 if root._bs & BATCHED else None
        self.c_by = "a batched root"
        self.weight: Optional[float] = self.c
        self.kind: Optional[str] = "sum" if self.c else None  # the cost's reduction, for p.last_batch
        self.error: Optional[str] = root._mix if root._bs & MIXED else None
        self.rows: dict = {}
        self.direct: dict = {}  # leaf -> its gradient not carried by any sample's rows (a penalty's)
        self.shared = False  # whether some gradient reaches a parameter so (a term of no sample)
        self.keys: dict = {}
        self.uneven = False  # (backward(gradient=v) weighing the samples of a batched root unevenly)
        if root._bs & BATCHED:
            self.B = root._data.shape[0]
            if seed is not None and seed.size:  # v weighs sample b's term by v[b]: a weight as _reduction's
                rows = np.asarray(seed).reshape(self.B, -1)
                if not (rows == rows[0]).all():
                    self.weight, self.uneven = None, True
                elif (rows[0] == rows[0, 0]).all():
                    w, eps = float(rows[0, 0]), 16 * np.finfo(rows.dtype).eps if rows.dtype.kind == "f" else 0.0
                    self.weight = next((e for e in (1.0 / self.B, 1.0) if abs(w - e) <= eps * e), w)
        self._plain = mode == "plain" or bool(self.error)

    @property
    def visit(self) -> Callable[[Any, Any, tuple], None]:
        """The walker's per-node step: ``_visit_plain`` (only the batch size and the cost's
        reduction) or ``_visit_rows``. Chosen on each read, not kept: a bound method kept on
        the context would be a reference cycle, left for the garbage collector with all it holds."""
        return self._visit_plain if self._plain else self._visit_rows

    def _reduction(self, node: Any, g: Any, p: Any) -> None:
        if self.B is None:
            self.B = p._data.shape[0]
        scale = getattr(node._op, "sample_scale", None)
        if scale is None:
            return
        cs = scale(node)
        # w: the weight of each sample's term in the cost. A reduction over axis 0 only keeps the
        # other axes, whose cotangent weights each sample's term alike (its parts as written):
        # w = cs * that cotangent where it is one number (.sum(0).sum() / B), else cs
        flat = np.ravel(g)
        w = cs * float(flat[0]) if flat.size == 1 or (flat.size and (flat == flat[0]).all()) else cs
        if w is not None and (dt := np.asarray(g).dtype).itemsize < 8:  # (1/B or 1 rounded to a narrower float)
            w = next((e for e in (1.0 / max(self.B, 1), 1.0) if abs(w - e) <= 16 * np.finfo(dt).eps * e), w)
        if self.c is None:
            self.c, self.c_by, self.weight = cs, node._op.name, w
            self.kind = node._op.sample_reduction(node)
            return
        if p._data.shape[0] != self.B and not self.error:  # (two batches: x1 of 4 samples and x2 of 3)
            self.error = (f"the cost combines reductions over batches of different sizes ({self.B} and "
                          f"{p._data.shape[0]} samples; '{self.c_by}' and '{node._op.name}'): sample b of one is no "
                          "sample of the other")
        if cs != self.c and not self.error:
            self.error = (f"the cost combines reductions over the sample axis with different weights "
                          f"('{self.c_by}' and '{node._op.name}'); use one of mean or sum")
        if w is None or self.weight is None:
            self.weight = None
        elif abs(w - self.weight) > 1e-12 * abs(self.weight):
            # reductions with the same c but different factors (ce.mean() + 0.5 * aux.mean()): each
            # sample's loss is their sum as written, weighted by c (no factor to remove)
            self.weight = self.c

    def _visit_plain(self, node: Any, g: Any, grads: tuple) -> None:
        if node._bs & BATCHED:
            return
        if node._bs & (STAT | MIXED) == STAT and not self.shared:  # (visit's direct gradients, told apart)
            self.shared = any(gp is not None and not p._bs and p._rg for p, gp in zip(node._parents, grads))
        for p in node._parents:
            if p._bs & BATCHED:
                self._reduction(node, g, p)
                return

    def _visit_rows(self, node: Any, g: Any, grads: tuple) -> None:
        """One step of the walk: keep the sample axis on edges into parameter-side nodes."""
        parents = node._parents
        if node._bs & BATCHED:
            rule = getattr(node._op, "sample_rows", None)
            scale = 1.0 / self.c if self.c else 1.0
            for i, p in enumerate(parents):
                if p._bs & BATCHED:
                    if p._op is None:
                        self.keys[id(p)] = p
                    continue
                gp = grads[i]
                if gp is None or not p._rg:
                    continue
                r = rule(node, g, i, scale) if rule is not None else None
                if r is None:
                    r = DenseRows(gp, p._data.shape, p._data.dtype, scale)
                self.rows.setdefault(p, []).append(r)
            return
        mine = self.rows.get(node)
        for i, p in enumerate(parents):
            if p._bs & BATCHED:
                self._reduction(node, g, p)
                continue
            gp = grads[i]
            if gp is None or not p._rg:
                continue
            if mine is not None:
                parts = mine
                d = self.direct.get(node)
                if d is not None:
                    parts = parts + [ShareRows(d, mine[0].B, node._data.dtype, self._share())]
                self.rows.setdefault(p, []).extend(push(node, i, parts, p._data.shape, p._data.dtype))
            else:
                d = _fit(p, gp)
                q = self.direct.get(p)
                self.direct[p] = d if q is None else q + d
                self.shared = self.shared or not p._bs  # (into a value of no sample: a penalty's term)

    def _share(self) -> float:
        return 1.0 / ((self.B or 1) * (self.c or 1.0))

    def finish(self, leaves: list) -> None:
        """After the sweep: give every leaf parameter its per-sample record (or norms)."""
        B = self.B
        lost = B is None and self.error is not None  # (the sample axis was folded or moved: its size is unknown)
        if lost and self.mode != "plain":
            B = self.B = 0
        if B is None:  # nothing batched reached: an ordinary pass
            for leaf, _ in leaves:
                if leaf._op is None and not leaf._bs & BATCHED:
                    clear(leaf, None)  # (a pass without batched input: its batch is unknown)
            return
        reduction = None
        if B == 0:
            reduction = self.kind
        elif self.c is not None and self.weight is not None:
            is_mean, is_sum = abs(self.weight * B - 1.0) <= 1e-12, abs(self.weight - 1.0) <= 1e-12
            if is_mean and is_sum:  # one sample: both weights are 1; the cost's own reduction says which
                reduction = self.kind if self.kind in ("mean", "sum") else "mean"
            elif is_mean:
                reduction = "mean"
            elif is_sum:
                reduction = "sum"
            elif not self.error:  # a weight of neither (loss / 2): tl.distributed asks which it is
                reduction = "scaled"
        elif self.uneven and not self.error:  # (per-sample weights v[b] of backward(gradient=v): neither)
            reduction = "scaled"
        if self.kind == "weighted" and reduction in ("mean", "scaled"):  # (class weights: no count weighs it)
            reduction = "weighted"
        elif self.shared and reduction == "sum":  # (a penalty every rank would add: tl.distributed refuses)
            reduction = "shared"
        ident = batch_ident(self.keys.values(), B)  # (the inputs x / 255 or a slice of h0 were made from)
        writes = []
        for leaf, _ in leaves:
            if leaf._bs & BATCHED:
                continue
            parts = self.rows.pop(leaf, [])
            d = self.direct.pop(leaf, None)
            if d is not None and self.mode != "plain" and not self.error:
                parts.append(ShareRows(d, B, leaf._data.dtype, self._share()))
            writes.append((leaf, parts))
        modes = [self._mode_for(leaf, ident) for leaf, _ in writes]  # (may raise: nothing written yet)
        if self.mode == "norms" and not self.error:
            norms = [np.sqrt(sq_norms(parts)).astype(leaf._data.dtype, copy=False) if parts else None
                     for leaf, parts in writes]
        kept: list = []  # leaves whose rows now read the batch's inputs
        for k, (leaf, parts) in enumerate(writes):
            prev = leaf._last_batch if leaf._grad is not None or leaf._lazy else None
            if lost:  # (no count: tl.distributed asks for n=, where (0, ...) would be an empty shard)
                leaf.last_batch = None
            elif prev and prev[0]:  # another backward into the same .grad (accumulation): sums add up
                leaf.last_batch = (prev[0] + B, "sum" if prev[1] == reduction == "sum" else "accumulated")
            else:
                leaf.last_batch = BatchRecord((B, reduction), self.kind)
            if modes[k] == "rows" or (self.mode == "norms" and self.error):
                ps = leaf._ps if leaf._ps is not None else SampleGrads()
                last = ps.segments[-1] if ps.segments else None
                if last is not None and last.ident == ident:
                    last.parts = last.parts + parts
                    if last.c != self.c and not last.error:
                        last.error = "two costs over the same batch weight their per-sample terms differently"
                    if last.weight != self.weight:  # (different factors: the terms add as written)
                        last.weight = None if last.weight is None or self.weight is None else last.c
                    last.error = last.error or self.error
                else:
                    ps.segments.append(Segment(ident, B, parts, self.c or 1.0, self.weight, self.error))
                leaf._ps, leaf._gs, leaf._gsnorm = ps, None, None
                kept.append(leaf)
            elif self.mode == "norms":
                held, n, c = leaf._gsnorm if modes[k] == "append" else None, norms[k], self.c or 1.0
                leaf._ps = leaf._gs = None
                leaf._gsnorm = n if held is None or n is None else np.concatenate([held, n])
                # c: this cost's weight (.grad = c * the sum of the rows; None once two passes' differ)
                leaf._nkeys = (ident, B, c if held is None or leaf._nkeys[2] == c else None)
            else:
                clear(leaf)
        if kept:
            watch(self.keys.values(), kept)

    def _mode_for(self, leaf: Any, ident: tuple) -> str:
        """How this backward's per-sample record joins what ``leaf`` already keeps: ``"rows"``
        (factors, added or appended as rows), ``"norms"`` (norms now), ``"append"`` (norms of
        another batch after the norms kept); norms kept by an earlier norms pass cannot take
        this batch's rows, nor a second cost's norms over the same batch (norms do not add)."""
        mode = self.mode
        held_norms = leaf._ps is None and leaf._gs is None and getattr(leaf, "_gsnorm", None) is not None
        if mode == "plain" or self.error or not held_norms:
            return "rows" if mode == "norms" and leaf._ps is not None and not self.error else mode
        kept = getattr(leaf, "_nkeys", None)
        same = kept is not None and kept[0] == ident
        if mode == "rows" or same:
            raise RuntimeError(
                f"backward: {label(leaf)} keeps the per-sample norms of an earlier backward(per_sample='norms')"
                f"{' over the same batch' if same else ''}; norms do not add up across costs and cannot take "
                "per-sample rows. Call zero_grad() before this backward, or use the default backward() for both "
                "(its per-sample gradients add and append)")
        return "append"


def clear(p: Any, last_batch: Any = "kept") -> None:
    """Clear a parameter's per-sample state (the one routine); write ``last_batch`` if given."""
    p._ps = p._gs = p._gsnorm = None
    if last_batch != "kept":
        p._last_batch = last_batch


def total_norms(params: Any) -> np.ndarray:
    """Each sample's WHOLE gradient norm over ``params`` (shape (B,)):
    ``sqrt(sum_p |grad_sample_p[b]|^2)``, from the kept factors (no ``(B, *p.shape)`` array
    where a factored rule exists), or from ``grad_sample_norm`` after a norms pass."""
    if hasattr(params, "_ps") or not isinstance(params, Iterable):
        raise TypeError(f"per_sample_norms: params must be an iterable of parameters (e.g. model.parameters()), "
                        f"got {type(params).__name__}")
    params = list(params)
    for p in params:
        if not hasattr(p, "_ps"):
            raise TypeError(f"per_sample_norms: params must hold Tensors, got {type(p).__name__}")
    records = [p._ps for p in params if p._ps is not None]
    B, at = layout(records)
    where = {id(r): a for r, a in zip(records, at)}
    sq = None
    for p in params:
        n2 = sq_norms_of(p)
        if n2 is None:
            continue
        if p._ps is not None:
            n2 = spread(n2, where[id(p._ps)], B)
        if sq is not None and n2.shape != sq.shape:
            raise RuntimeError(f"per_sample_norms: the parameters hold different numbers of per-sample rows "
                               f"({sq.shape[0]} and {n2.shape[0]} for {label(p)}): rows set by hand or by "
                               "backward(per_sample='norms') do not say which batches they are of; call zero_grad() "
                               "and backward again")
        sq = n2 if sq is None else sq + n2
    if sq is None:
        raise RuntimeError("per_sample_norms: no parameter has per-sample gradients; run backward on a cost "
                           "over a batched input (Tensor(..., batched=True)) first")
    return np.sqrt(sq)


def layout(records: list) -> tuple:
    """Several parameters' records side by side, as DP-SGD's clipping and ``per_sample_norms``
    take them (each sample's gradient over all the parameters): the batches they hold, in the
    order the batches came, as one list of rows. A parameter that a batch's cost did not reach
    (the head one micro-batch does not use) has zero rows there. Returns ``(B, positions)``:
    the number of rows, and per record the positions of its rows (None: all of them, in order)."""
    def keyed(rec: Any) -> list:
        seen: dict = {}
        out = []
        for s in rec.segments:  # (a batch that comes back after another appends its rows again)
            seen[s.ident] = seen.get(s.ident, -1) + 1
            out.append(((s.ident, seen[s.ident]), s))
        return out
    first: dict = {}
    for rec in records:
        for key, s in keyed(rec):
            if key not in first or s.order < first[key]:
                first[key] = s.order
    start, B = {}, 0
    for key in sorted(first, key=first.get):
        start[key] = B
        B += key[0][0]
    positions = []
    for rec in records:
        idx = [np.arange(start[key], start[key] + s.B) for key, s in keyed(rec)]
        at = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        positions.append(None if at.size == B and np.array_equal(at, np.arange(B)) else at)
    return B, positions


def spread(values: np.ndarray, at: Optional[np.ndarray], B: int) -> np.ndarray:
    """``values`` (one per row of a record) on ``layout``'s B rows: 0 where the record has none."""
    if at is None:
        return values
    out = np.zeros((B,) + values.shape[1:], values.dtype)
    out[at] = values
    return out


def sq_norms_of(p: Any, rows: Optional[SampleGrads] = None) -> Optional[np.ndarray]:
    """``|grad_sample[b]|^2`` of one parameter in float64, or None if it has none (``rows``:
    p's kept rows in another form, e.g. ``widened``)."""
    if p._ps is not None:
        p._ps.check(label(p))
        return (p._ps if rows is None else rows).sq_norms().astype(np.float64, copy=False)
    if p._gs is not None:
        S = p._gs.reshape(p._gs.shape[0], math.prod(p._gs.shape[1:])).astype(np.float64, copy=False)
        return np.einsum("bk,bk->b", S, S)
    n = getattr(p, "_gsnorm", None)
    if n is not None:
        n = n.astype(np.float64)
        return n * n
    return None


def label(t: Any) -> str:
    return f"'{t.name}'" if getattr(t, "name", None) else f"a parameter of shape {t._data.shape}"
