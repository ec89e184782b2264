"""Attention's packed input projection (``InProj``): the query, key and value each
multiplied by their third of one (3E, E) weight and shifted by their third of one bias,
the three results concatenated along the time axis. Its vjp is three linear layers' vjps
side by side. Sample b's ``dW`` stacks ``g_q^T q``, ``g_k^T k``, ``g_v^T v``: one
``OuterRows`` whose left factor is the cotangent placed in the block of rows it belongs to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..batchstate import BATCHED, MIXED
from ..persample import DenseRows, OuterRows
from .base import Op, failed, lead, make
from .conv import layer_batch


class InProj(Op):
    """out = cat([q Wq^T + bq, k Wk^T + bk, v Wv^T + bv], axis=1) for (B, T, E) inputs, with
    W = [Wq; Wk; Wv] (3E, E) and b (3E,) one parameter each (attention's packed projection)."""

    name, rule = "in_proj", "d/dW = [g_q^T q; g_k^T k; g_v^T v], d/dq = g_q Wq (likewise k, v)"

    def __call__(self, q: Any, k: Any, v: Any, W: Any, b: Any) -> Any:
        parents = (q, k, v, W) if b is None else (q, k, v, W, b)
        E = W._data.shape[1]
        outs = []
        for j, t in enumerate((q, k, v)):
            y = t._data @ W._data[j * E:(j + 1) * E].T
            if b is not None:
                y += b._data[j * E:(j + 1) * E]
            outs.append(y)
        try:
            data = np.concatenate(outs, axis=1)
        except ValueError as e:
            failed(self, e, parents)
            raise ValueError(f"in_proj: query, key and value of shapes {q._data.shape}, {k._data.shape}, "
                             f"{v._data.shape} do not share a batch axis") from None
        s = 0
        for p in parents:
            s |= p._bs
        bs, mix = (0, None)
        if s:
            ins = (q, k, v)
            bad = [t for t in ins if t._bs & MIXED]
            bs, mix = layer_batch(self.name, bad[0] if bad else max(ins, key=lambda t: t._bs & BATCHED),
                                  parents[3:])
        rg = any(p._rg for p in parents)
        return make(data, self, parents, (q._data.shape[1], k._data.shape[1]), rg, bs, mix)

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        Tq, Tk = node._ctx
        P = node._parents
        W = P[3].data
        E = W.shape[1]
        n = lead(node, g)
        parts = (g[..., :Tq, :], g[..., Tq:Tq + Tk, :], g[..., Tq + Tk:, :])
        grads: list = []
        for j in range(3):
            grads.append(parts[j] @ W[j * E:(j + 1) * E] if P[j]._rg else None)
        gW = gb = None
        if P[3]._rg:
            gW = np.concatenate([np.einsum("...bto,bti->...oi", parts[j], P[j].data) for j in range(3)], axis=-2)
        if len(P) == 5 and P[4]._rg:
            gb = np.concatenate([parts[j].sum(axis=(n, n + 1)) for j in range(3)], axis=-1)
        return tuple(grads) + ((gW,) if len(P) == 4 else (gW, gb))

    def tvjp(self, node: Any, g: Any) -> tuple:
        """The same three blocks with Tensor ops (matmul, einsum, sums, cat)."""
        from .layout import CONCAT
        from .linalg import einsum_call
        Tq, Tk = node._ctx
        P = node._parents
        W = P[3]
        E = W.shape[1]
        parts = (g[:, :Tq], g[:, Tq:Tq + Tk], g[:, Tq + Tk:])
        Ws = [W[j * E:(j + 1) * E] for j in range(3)]
        grads = [parts[j] @ Ws[j] if P[j]._rg else None for j in range(3)]
        gW = gb = None
        if W._rg:
            gW = CONCAT([einsum_call("bto,bti->oi", [parts[j], P[j]]) for j in range(3)], -2)
        if len(P) == 5 and P[4]._rg:
            gb = CONCAT([parts[j].sum((0, 1)) for j in range(3)], -1)
        return tuple(grads) + ((gW,) if len(P) == 4 else (gW, gb))

    @staticmethod
    def sample_rows(node: Any, g: np.ndarray, i: int, scale: float) -> Any:
        Tq, Tk = node._ctx
        P = node._parents
        p = P[i]
        E = P[3].data.shape[1]
        B = g.shape[0]
        bounds = (0, Tq, Tq + Tk, g.shape[1])
        if i == 4:
            S = np.concatenate([g[:, bounds[j]:bounds[j + 1]].sum(axis=1) for j in range(3)], axis=1)
            return DenseRows(S, p._data.shape, p._data.dtype, scale)
        if i != 3:
            return None
        L = np.zeros((B, g.shape[1], 3 * E), dtype=g.dtype)
        for j in range(3):  # each cotangent block in its own rows of W (three slices, not a loop over data)
            L[:, bounds[j]:bounds[j + 1], j * E:(j + 1) * E] = g[:, bounds[j]:bounds[j + 1]]
        R = np.concatenate([np.broadcast_to(t._data, (B,) + t._data.shape[1:]) for t in P[:3]], axis=1)
        return OuterRows(L, R, p._data.shape, p._data.dtype, scale)


INPROJ = InProj()
