"""Multi-head attention with PyTorch's parameter names (``in_proj_weight``, ``in_proj_bias``,
``out_proj.weight``, ``out_proj.bias``), and ``F.scaled_dot_product_attention`` with the
masked softmax both use.

For inputs (B, T, E) (``batch_first=True``, the default here since axis 0 is the sample
axis), with H heads of size d = E/H:

    [q; k; v] = [query Wq^T + bq; key Wk^T + bk; value Wv^T + bv]   (W = in_proj_weight (3E, E))
    head_h = softmax(q_h k_h^T / sqrt(d) + mask) v_h
    out = concat_h(head_h) Wo^T + bo

The projection is one fused op (a Linear when query, key and value are the same tensor),
so the per-sample gradient of ``in_proj_weight`` is kept as cotangent rows and input rows
(T per sample) and its norms never build (B, 3E, E).

torch's keyword options: ``kdim`` / ``vdim`` other than E give separate ``q_proj_weight``
(E, E), ``k_proj_weight`` (E, kdim) and ``v_proj_weight`` (E, vdim) (``in_proj_weight`` is
then None; the bias stays one (3E,) ``in_proj_bias``); ``add_bias_kv`` appends the learned
rows ``bias_k`` / ``bias_v`` (1, 1, E) to the projected keys / values, ``add_zero_attn`` then
a zero row, and the masks get one allowed column per appended row (the weights have them).

Masks are added to the scores before the softmax (a float ``attn_mask`` Tensor that requires
grad gets its gradient, as in torch): ``attn_mask`` (Tq, Tk) or
(B*H, Tq, Tk), ``key_padding_mask`` (B, Tk) (unbatched: (Tk,)) broadcast over heads and
queries, and the causal mask; a bool mask adds -inf where it is True, a float mask adds its
values. Sample b's rows of the masks involve sample b only, so per-sample gradients stay
exact with a per-sample key padding mask. A query whose keys are all masked gets weights 0
(its output is the output projection's bias), not nan.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Union

import numpy as np

from .. import ops
from ..batchstate import BATCHED
from ..conventions import check_bool
from ..factories import param_dtype
from ..ops.nnops import INPROJ
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Linear, Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, bias=True, batch_first=True, rng=None)``;
    ``forward(query, key, value, attn_mask=None, need_weights=True, is_causal=False, *,
    key_padding_mask=None, average_attn_weights=True)`` returns ``(output, weights or None)``:
    weights (B, Tq, Tk) averaged over heads, or (B, H, Tq, Tk) per head with
    ``average_attn_weights=False``. A bool ``attn_mask`` / ``key_padding_mask`` is True where
    attention is NOT allowed (torch's meaning for this module); a float mask is added to the
    scores; all given masks add up. ``is_causal=True`` adds the causal mask (query i sees keys
    j <= i), with or without ``attn_mask``. ``dropout`` (keyword) drops attention weights in
    training mode, drawing from ``rng`` (None: the library's default generator, which
    ``tl.manual_seed`` governs). A batched input (axis 0: the samples) needs
    ``batch_first=True``: with False its axis 0 would be read as time, so it is refused.
    Keywords as torch's: ``kdim`` / ``vdim`` (the key's / value's feature size, default E;
    separate ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when either differs),
    ``add_bias_kv`` (learned ``bias_k`` / ``bias_v`` rows appended to the keys / values) and
    ``add_zero_attn`` (a zero key / value row appended after them); each appended row adds an
    allowed column to the masks and the returned weights."""

    # (class-level defaults: a module pickled before these options existed loads as the default layout)
    kdim: Optional[int] = None
    vdim: Optional[int] = None
    _qkv_same_embed_dim: bool = True
    add_zero_attn: bool = False
    q_proj_weight: Optional[Tensor] = None
    k_proj_weight: Optional[Tensor] = None
    v_proj_weight: Optional[Tensor] = None
    bias_k: Optional[Tensor] = None
    bias_v: Optional[Tensor] = None

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, batch_first: bool = True,
                 rng: Union[None, int, np.random.Generator] = None, *, dropout: float = 0.0,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: Optional[int] = None,
                 vdim: Optional[int] = None, dtype: Any = np.float64, device: Any = None) -> None:
        dtype = param_dtype("MultiheadAttention", dtype, device)
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads), ("kdim", kdim), ("vdim", vdim)):
            if v is None and name in ("kdim", "vdim"):
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"MultiheadAttention: {name} must be an int >= 1, got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"MultiheadAttention: bias must be a bool, got {bias!r} (torch's third positional "
                            "argument is dropout: pass dropout= by keyword)")
        check_bool("MultiheadAttention", "batch_first", batch_first)
        check_bool("MultiheadAttention", "add_bias_kv", add_bias_kv)
        check_bool("MultiheadAttention", "add_zero_attn", add_zero_attn)
        if isinstance(dropout, (bool, np.bool_)) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"MultiheadAttention: dropout must be a real number, got {dropout!r}")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads, self.batch_first = int(embed_dim), int(num_heads), bool(batch_first)
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        E = self.embed_dim
        self.kdim = E if kdim is None else int(kdim)
        self.vdim = E if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.add_zero_attn = bool(add_zero_attn)
        r = as_generator(rng)

        def xavier(rows: int, cols: int) -> Tensor:  # xavier uniform on (rows, cols)
            a = math.sqrt(6.0 / (rows + cols))
            return Tensor(r.uniform(-a, a, (rows, cols)).astype(dtype), requires_grad=True)

        self.in_proj_weight: Optional[Tensor] = None
        self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        if self._qkv_same_embed_dim:
            self.in_proj_weight = xavier(3 * E, E)
        else:
            self.q_proj_weight, self.k_proj_weight, self.v_proj_weight = (xavier(E, n) for n in (E, self.kdim,
                                                                                                   self.vdim))
        self.register_parameter("in_proj_bias", Tensor(np.zeros(3 * E, dtype), requires_grad=True) if bias else None)
        self.out_proj = Linear(E, E, bias=bias, rng=r, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0.0
        self.bias_k = self.bias_v = None
        if add_bias_kv:  # xavier normal on (1, 1, E): fan in = fan out = E
            self.bias_k, self.bias_v = (Tensor(r.normal(0.0, math.sqrt(1.0 / E), (1, 1, E)).astype(dtype),
                                               requires_grad=True) for _ in range(2))
        self._rng = None if rng is None else r  # None: the default generator at each call

    def _reset_parameters(self) -> None:
        """torch's name: the input projections drawn again (Xavier uniform), the projection biases 0, bias_k and
        bias_v Xavier normal (``nn.reset``)."""
        from .reset import attention
        attention(self)

    def _mask(self, attn_mask: Any, key_padding_mask: Any, is_causal: bool, B: int, Tq: int, Tk: int,
              dtype: Any, unbatched: bool) -> Any:
        """One additive mask (0 or -inf, or the float mask), broadcastable to (B, H, Tq, Tk): an
        array, or a Tensor when ``attn_mask`` or ``key_padding_mask`` is a float Tensor that
        requires grad (it gets its gradient, as in torch)."""
        H = self.num_heads
        add = learned = None
        if attn_mask is not None:
            m = _mask_array(attn_mask, "attn_mask")
            if m.shape == (B * H, Tq, Tk):
                m = m.reshape(B, H, Tq, Tk)
            elif m.shape != (Tq, Tk):
                hint = (" (a key_padding_mask's shape: torch's forward takes key_padding_mask fourth, this one "
                        "attn_mask; pass key_padding_mask= by keyword)" if m.shape == (B, Tk) else "")
                raise ValueError(f"MultiheadAttention: attn_mask must have shape ({Tq}, {Tk}) or "
                                 f"({B * H}, {Tq}, {Tk}), got {m.shape}{hint}")
            if _learned(attn_mask, m):
                learned = attn_mask.reshape(B, H, Tq, Tk) if m.ndim == 4 else attn_mask
            else:
                add = np.where(m, -np.inf, 0.0) if m.dtype == bool else m.astype(dtype)
        if is_causal:
            c = np.where(np.triu(np.ones((Tq, Tk), dtype=bool), 1), -np.inf, 0.0)
            add = c if add is None else add + c
        if key_padding_mask is not None:
            kp = _mask_array(key_padding_mask, "key_padding_mask")
            want = (Tk,) if unbatched else (B, Tk)
            if kp.shape != want:
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape {want} (True or -inf: "
                                 f"ignore that key), got {kp.shape}")
            if _learned(key_padding_mask, kp):  # a learned float padding bias: in the graph, as attn_mask
                lk = key_padding_mask.reshape(B, 1, 1, Tk)
                learned = lk if learned is None else learned + lk
            else:
                kp = kp.reshape(B, Tk)
                kp = (np.where(kp, -np.inf, 0.0) if kp.dtype == bool else kp.astype(dtype))[:, None, None, :]
                add = kp if add is None else add + kp
        extra = (self.bias_k is not None) + self.add_zero_attn
        if add is not None and extra:  # the appended key rows: allowed for every query
            add = np.pad(add, [(0, 0)] * (add.ndim - 1) + [(0, extra)])
        if learned is not None:
            learned = F.pad(learned, (0, extra)) if extra else learned
            return learned if add is None else learned + np.asarray(add, dtype=dtype)
        return None if add is None else np.asarray(add, dtype=dtype)

    def forward(self, query: Any, key: Any, value: Any, attn_mask: Any = None, need_weights: bool = True,
                is_causal: bool = False, *, key_padding_mask: Any = None,
                average_attn_weights: bool = True) -> tuple:
        for name, flag in (("need_weights", need_weights), ("is_causal", is_causal),
                           ("average_attn_weights", average_attn_weights)):
            check_bool("MultiheadAttention", name, flag)
        q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (query, key, value))
        E, H, d = self.embed_dim, self.num_heads, self.head_dim
        unbatched = q.data.ndim == 2
        if (unbatched or not self.batch_first) and any(t._bs & BATCHED for t in (q, k, v)):
            raise ValueError(f"MultiheadAttention({E}, {H}): a batched input (axis 0: the samples) must have "
                             f"shape (B, T, {E}) with batch_first=True; got query {q.data.shape} with "
                             f"batch_first={self.batch_first} (axis 0 would be read as time)")
        if unbatched:
            q, k, v = (t.unsqueeze(0) for t in (q, k, v))
        elif not self.batch_first:
            q, k, v = (t.transpose(1, 0, 2) for t in (q, k, v))
        kdim, vdim = (E if n is None else n for n in (self.kdim, self.vdim))
        for name, t, n in (("query", q, E), ("key", k, kdim), ("value", v, vdim)):
            if t.data.ndim != 3 or t.data.shape[-1] != n:
                dim = "" if name == "query" else f" ({name[0]}dim={n})"
                raise ValueError(f"MultiheadAttention({E}, {H}): {name} must have shape (B, T, {n}){dim}, got "
                                 f"{t.data.shape}")
        if k.data.shape[:2] != v.data.shape[:2] or q.data.shape[0] != k.data.shape[0]:
            raise ValueError(f"MultiheadAttention({E}, {H}): query {q.data.shape}, key {k.data.shape} and value "
                             f"{v.data.shape} do not share their batch size (and key/value their length)")
        B, Tq, Tk = q.data.shape[0], q.data.shape[1], k.data.shape[1]
        W, b = self.in_proj_weight, self.in_proj_bias
        if W is None:  # separate q/k/v_proj_weight: three Linears, each bias one third of in_proj_bias
            qp, kp, vp = (ops.LINEAR(t, Wj, None if b is None else b[j * E:(j + 1) * E]) for j, (t, Wj) in
                          enumerate(((q, self.q_proj_weight), (k, self.k_proj_weight), (v, self.v_proj_weight))))
        elif q is k and k is v:
            qkv = ops.LINEAR(q, W, b)  # (B, T, 3E): one Linear, T rows per sample
            qp, kp, vp = qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        else:
            packed = INPROJ(q, k, v, W, b)  # (B, Tq + 2 Tk, E)
            qp, kp, vp = packed[:, :Tq], packed[:, Tq:Tq + Tk], packed[:, Tq + Tk:]
        if self.bias_k is not None and self.bias_v is not None:
            kp = ops.CONCAT([kp, self.bias_k.expand(B, 1, E)], 1)
            vp = ops.CONCAT([vp, self.bias_v.expand(B, 1, E)], 1)
        if self.add_zero_attn:
            zero = Tensor(np.zeros((B, 1, E), kp.data.dtype))
            kp, vp = ops.CONCAT([kp, zero], 1), ops.CONCAT([vp, zero], 1)
        Tk2 = kp.data.shape[1]

        def heads(t: Tensor, T: int) -> Tensor:
            return t.reshape(B, T, H, d).transpose(0, 2, 1, 3)  # (B, H, T, d)

        qh, kh, vh = heads(qp, Tq), heads(kp, Tk2), heads(vp, Tk2)
        scores = (qh @ kh.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(d))
        add = self._mask(attn_mask, key_padding_mask, is_causal, B, Tq, Tk, scores.data.dtype, unbatched)
        attn = masked_softmax(scores, add)
        if self.dropout > 0.0 and self.training:
            attn = F.dropout(attn, self.dropout, True, rng=self._rng)
        out = (attn @ vh).transpose(0, 2, 1, 3).reshape(B, Tq, E)
        out = self.out_proj(out)
        weights = None
        if need_weights:
            weights = attn.mean(axis=1) if average_attn_weights else attn
        if unbatched:
            out = out.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, weights

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
        if not self._qkv_same_embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.bias_k is not None:
            s += ", add_bias_kv=True"
        return s + (", add_zero_attn=True" if self.add_zero_attn else "")


def _mask_array(mask: Any, name: str) -> np.ndarray:
    """A mask as a numpy array: bool (True: not allowed) or float (added); anything else refused."""
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != bool and not np.issubdtype(m.dtype, np.floating):
        raise TypeError(f"MultiheadAttention: {name} must be bool (True: not allowed) or float (added to the "
                        f"scores), got dtype {m.dtype}")
    return m


def _learned(mask: Any, m: np.ndarray) -> bool:
    """Whether ``mask`` (its values ``m``) is a float Tensor that requires grad: a learned bias,
    added to the scores in the graph so that it gets its gradient, as in torch."""
    return isinstance(mask, Tensor) and mask._rg and m.dtype.kind == "f"


def masked_softmax(scores: Tensor, add: Any) -> Tensor:
    """softmax(scores + add) over the last axis, ``add`` a constant (0 / -inf, or floats) or a
    float Tensor that requires grad (a learned bias: it gets its gradient). A row whose keys
    are all -inf is 0 (as torch's attention gives, not nan), with zero gradient."""
    if add is None:
        return scores.softmax(-1)
    learned = isinstance(add, Tensor)
    full = np.broadcast_to(add.data if learned else add, np.broadcast_shapes(np.shape(add), scores.data.shape))
    dead = np.isneginf(full).all(axis=-1, keepdims=True)
    keep = None
    if dead.any():
        from ..factories import where
        add, keep = where(dead, 0.0, add) if learned else np.where(dead, 0.0, full), (~dead).astype(scores.data.dtype)
    attn = (scores + (add.to(scores.data.dtype) if learned else np.asarray(add).astype(scores.data.dtype))).softmax(-1)
    return attn if keep is None else attn * keep


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None, enable_gqa: bool = False,
                                 rng: Union[None, int, np.random.Generator] = None) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two axes (scale = 1/sqrt(d) by default). A
    bool ``attn_mask`` is True where attention IS allowed (torch's meaning here); a float mask is
    added to the scores (a float Tensor that requires grad gets its gradient); ``is_causal`` lets
    query i see keys j <= i (not together with a mask). ``enable_gqa``: grouped-query attention,
    key and value with Hkv heads (axis -3) dividing the query's Hq, each repeated Hq / Hkv times."""
    q, k, v = F._t(query), F._t(key), F._t(value)
    if q.data.ndim < 2 or k.data.ndim < 2 or v.data.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention: query, key and value need at least 2 axes, got shapes "
                         f"{q.data.shape}, {k.data.shape}, {v.data.shape}")
    if q.data.shape[-1] != k.data.shape[-1] or k.data.shape[-2] != v.data.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {q.data.shape}, key {k.data.shape} and value "
                         f"{v.data.shape} do not fit (query and key share the last axis, key and value the "
                         "second-to-last)")
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"scaled_dot_product_attention: is_causal must be a bool, got {is_causal!r}")
    if isinstance(dropout_p, (bool, np.bool_)) or not isinstance(dropout_p, numbers.Real):
        raise TypeError(f"scaled_dot_product_attention: dropout_p must be a real number, got {dropout_p!r}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p!r}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give either attn_mask or is_causal=True, not both")
    if check_bool("scaled_dot_product_attention", "enable_gqa", enable_gqa) and q.data.ndim >= 3:
        Hq, Hk = q.data.shape[-3], k.data.shape[-3]
        if k.data.ndim < 3 or v.data.ndim < 3 or v.data.shape[-3] != Hk or Hq % Hk:
            raise ValueError(f"scaled_dot_product_attention: enable_gqa needs key and value with the same number "
                             f"of heads (axis -3) dividing the query's, got shapes {q.data.shape}, {k.data.shape}, "
                             f"{v.data.shape}")
        if Hk != Hq:
            k, v = k.repeat_interleave(Hq // Hk, dim=-3), v.repeat_interleave(Hq // Hk, dim=-3)
    Tq, Tk = q.data.shape[-2], k.data.shape[-2]
    if scale is not None and (isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real)):
        raise TypeError(f"scaled_dot_product_attention: scale must be a real number or None, got {scale!r}")
    sc = 1.0 / math.sqrt(q.data.shape[-1] or 1) if scale is None else float(scale)  # (no features: scores 0, as torch)
    scores = (q @ k.transpose(*range(k.data.ndim - 2), k.data.ndim - 1, k.data.ndim - 2)) * sc
    add = None
    if is_causal:
        add = np.where(np.tril(np.ones((Tq, Tk), dtype=bool)), 0.0, -np.inf)  # query i sees keys j <= i
    elif attn_mask is not None:
        m = np.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
        try:
            np.broadcast_shapes(m.shape, scores.data.shape)
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {m.shape} does not broadcast to "
                             f"the scores' shape {scores.data.shape}") from None
        if m.dtype != bool and m.dtype.kind != "f":  # (0/1 integers would be added to the scores: nothing masked)
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool (True: attention allowed) or "
                            f"float (added to the scores), got dtype {m.dtype}")
        add = np.where(m, 0.0, -np.inf) if m.dtype == bool else attn_mask if _learned(attn_mask, m) else m
    attn = masked_softmax(scores, add)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, True, rng=rng)
    return attn @ v
