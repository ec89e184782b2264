"""``F.multi_head_attention_forward``: torch's functional multi-head attention, run by the
package's ``MultiheadAttention`` (nn/attention.py) on the weights it is given.

Keeps no state; touches nothing: each call checks the arguments as torch does, dresses a
throw-away ``MultiheadAttention`` in the given tensors (the same objects, so gradients reach
them) and calls its forward with ``batch_first=False`` (torch's layout: query (L, N, E), key
and value (S, N, E); unbatched (L, E), (S, E)). The maths is that module's:

    [q; k; v] = [query Wq^T + bq; key Wk^T + bk; value Wv^T + bv]
    head_h = softmax(q_h k_h^T / sqrt(E / H) + masks) v_h,   out = concat_h(head_h) Wo^T + bo

``static_k`` / ``static_v`` ((N*H, S, E/H), the projected keys / values per head) are fed
through an identity projection with a zero bias, which reproduces them exactly.
``is_causal`` is torch's hint: it needs an ``attn_mask``; without ``key_padding_mask`` and
with ``need_weights=False`` the causal mask replaces it, otherwise ``attn_mask`` is used.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from ..conventions import ArgumentError, ShapeMismatchError, check_bool
from ..ops.layout import cat
from ..random import as_generator
from ..tensor import Tensor
from .attention import MultiheadAttention
from .module import Linear

__all__ = ["multi_head_attention_forward"]

_WHO = "multi_head_attention_forward"


def _t(x: Any) -> Optional[Tensor]:
    return x if x is None or isinstance(x, Tensor) else Tensor(x)


def _ndim(x: Any) -> int:
    return np.ndim(x.data if isinstance(x, Tensor) else x)


def _shape(x: Any) -> tuple:
    return np.shape(x.data if isinstance(x, Tensor) else x)


def _check_shapes(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any, attn_mask: Any,
                  num_heads: int) -> bool:
    """torch's checks of the ranks; True for a batched query (3-D)."""
    q = query.data.ndim
    if q not in (2, 3):
        raise ShapeMismatchError(f"{_WHO}: query should be unbatched 2-D or batched 3-D, got a {q}-D query")
    if key.data.ndim != q or value.data.ndim != q:
        raise ShapeMismatchError(f"{_WHO}: for a {q}-D query, key and value must be {q}-D, got {key.data.ndim}-D "
                                 f"and {value.data.ndim}-D")
    if key_padding_mask is not None and _ndim(key_padding_mask) != q - 1:
        raise ShapeMismatchError(f"{_WHO}: for a {q}-D query, key_padding_mask must be None or {q - 1}-D, got shape "
                                 f"{_shape(key_padding_mask)}")
    if attn_mask is not None:
        if _ndim(attn_mask) not in (2, 3):
            raise ShapeMismatchError(f"{_WHO}: attn_mask must be None, 2-D or 3-D, got shape {_shape(attn_mask)}")
        want3 = (num_heads * (query.data.shape[1] if q == 3 else 1), query.data.shape[0], key.data.shape[0])
        want = (query.data.shape[0], key.data.shape[0]) if _ndim(attn_mask) == 2 else want3
        if _shape(attn_mask) != want:
            raise ShapeMismatchError(f"{_WHO}: the {_ndim(attn_mask)}-D attn_mask has shape {_shape(attn_mask)}, "
                                     f"but should be {want}")
    for name, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        dt = np.asarray(m.data if isinstance(m, Tensor) else m).dtype if m is not None else None
        if dt is not None and dt.kind not in "bf":
            raise TypeError(f"{_WHO}: only bool and floating {name} is supported, got dtype {dt}")
    return q == 3


def multi_head_attention_forward(query: Any, key: Any, value: Any, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Any, in_proj_bias: Any, bias_k: Any, bias_v: Any,
                                 add_zero_attn: bool, dropout_p: float, out_proj_weight: Any, out_proj_bias: Any,
                                 training: bool = True, key_padding_mask: Any = None, need_weights: bool = True,
                                 attn_mask: Any = None, use_separate_proj_weight: bool = False,
                                 q_proj_weight: Any = None, k_proj_weight: Any = None, v_proj_weight: Any = None,
                                 static_k: Any = None, static_v: Any = None, average_attn_weights: bool = True,
                                 is_causal: bool = False, *, rng: Any = None) -> tuple:
    """``(attn_output, attn_weights or None)`` as torch's (see the module docstring): output
    (L, N, E) (unbatched (L, E)); weights (N, L, S) averaged over heads, or (N, H, L, S) with
    ``average_attn_weights=False``. Masks: bool True = not allowed, float added to the scores;
    ``attn_mask`` (L, S) or (N*H, L, S), ``key_padding_mask`` (N, S). Dropout on the weights
    (``dropout_p``) in ``training`` mode draws from ``rng`` (None: the library's generator)."""
    for name, flag in (("add_zero_attn", add_zero_attn), ("training", training), ("need_weights", need_weights),
                       ("use_separate_proj_weight", use_separate_proj_weight),
                       ("average_attn_weights", average_attn_weights), ("is_causal", is_causal)):
        check_bool(_WHO, name, flag)
    q, k, v = (_t(x) for x in (query, key, value))
    batched = _check_shapes(q, k, v, key_padding_mask, attn_mask, num_heads)
    if is_causal and attn_mask is None:
        raise ArgumentError(f"{_WHO}: is_causal=True needs attn_mask (the causal mask it hints at)")
    causal = bool(is_causal and key_padding_mask is None and not need_weights)
    mask = None if causal else attn_mask
    E = q.data.shape[-1]
    if isinstance(embed_dim_to_check, bool) or not isinstance(embed_dim_to_check, numbers.Integral):
        raise TypeError(f"{_WHO}: embed_dim_to_check must be an int, got {embed_dim_to_check!r}")
    if E != embed_dim_to_check:
        raise ShapeMismatchError(f"{_WHO}: expected embedding dimension {embed_dim_to_check}, got query of shape "
                                 f"{q.data.shape}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, numbers.Integral) or num_heads < 1 or E % num_heads:
        raise ArgumentError(f"{_WHO}: embed_dim {E} is not divisible by num_heads {num_heads!r}")
    H, d = int(num_heads), E // int(num_heads)
    if isinstance(dropout_p, (bool, np.bool_)) or not isinstance(dropout_p, numbers.Real) or not 0 <= dropout_p <= 1:
        raise ArgumentError(f"{_WHO}: dropout_p must be a probability between 0 and 1, got {dropout_p!r}")
    if use_separate_proj_weight:
        if k.data.shape[:-1] != v.data.shape[:-1]:
            raise ShapeMismatchError(f"{_WHO}: key's sequence and batch axes {k.data.shape[:-1]} do not match "
                                     f"value's {v.data.shape[:-1]}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ArgumentError(f"{_WHO}: use_separate_proj_weight=True needs q_proj_weight, k_proj_weight and "
                                "v_proj_weight")
        Wq, Wk, Wv = (_t(w) for w in (q_proj_weight, k_proj_weight, v_proj_weight))
        W = None
    else:
        if k.data.shape != v.data.shape:
            raise ShapeMismatchError(f"{_WHO}: key shape {k.data.shape} does not match value shape {v.data.shape}")
        if in_proj_weight is None:
            raise ArgumentError(f"{_WHO}: use_separate_proj_weight is False but in_proj_weight is None")
        W, Wq, Wk, Wv = _t(in_proj_weight), None, None, None
        if W.data.shape != (3 * E, E):
            raise ShapeMismatchError(f"{_WHO}: in_proj_weight must have shape {(3 * E, E)}, got {W.data.shape}")
    b = _t(in_proj_bias)
    if b is not None and b.data.shape != (3 * E,):
        raise ShapeMismatchError(f"{_WHO}: in_proj_bias must have shape {(3 * E,)}, got {b.data.shape}")
    if (bias_k is None) != (bias_v is None):
        raise ArgumentError(f"{_WHO}: bias_k and bias_v go together (one of them is None)")
    if bias_k is not None and (static_k is not None or static_v is not None):
        raise ArgumentError(f"{_WHO}: bias_k / bias_v cannot be added to a static key or value")
    N = q.data.shape[1] if batched else 1
    statics = []
    for name, s in (("static_k", static_k), ("static_v", static_v)):
        s = _t(s)
        if s is not None and (s.data.ndim != 3 or s.data.shape[0] != N * H or s.data.shape[2] != d):
            raise ShapeMismatchError(f"{_WHO}: {name} must have shape ({N * H}, S, {d}), got {s.data.shape}")
        statics.append(s)
    if any(s is not None for s in statics):  # static rows through an identity projection (exact)
        if W is not None:
            Wq, Wk, Wv, W = W[:E], W[E:2 * E], W[2 * E:], None
        eye = Tensor(np.eye(E, dtype=q.data.dtype))
        zero = Tensor(np.zeros(E, q.data.dtype))
        parts = [None if b is None else b[j * E:(j + 1) * E] for j in range(3)]
        for j, s in ((1, statics[0]), (2, statics[1])):
            if s is None:
                continue
            S = s.data.shape[1]
            rows = s.reshape(N, H, S, d).transpose(2, 0, 1, 3).reshape(S, N, E)
            if j == 1:
                k, Wk = (rows if batched else rows.squeeze(1)), eye
            else:
                v, Wv = (rows if batched else rows.squeeze(1)), eye
            parts[j] = None if b is None else zero
        b = None if b is None else cat(parts, 0)
    out_w, out_b = _t(out_proj_weight), _t(out_proj_bias)
    if out_w is None or out_w.data.shape != (E, E) or (out_b is not None and out_b.data.shape != (E,)):
        raise ShapeMismatchError(f"{_WHO}: out_proj_weight must have shape {(E, E)} and out_proj_bias {(E,)} (or "
                                 f"None), got {None if out_w is None else out_w.data.shape} and "
                                 f"{None if out_b is None else out_b.data.shape}")
    proj = Linear.__new__(Linear)
    proj.__dict__.update(in_features=E, out_features=E, weight=out_w, bias=out_b)
    mha = MultiheadAttention.__new__(MultiheadAttention)
    mha.__dict__.update(embed_dim=E, num_heads=H, head_dim=d, batch_first=False, dropout=float(dropout_p),
                        kdim=k.data.shape[-1], vdim=v.data.shape[-1], _qkv_same_embed_dim=W is not None,
                        add_zero_attn=bool(add_zero_attn), in_proj_weight=W, in_proj_bias=b, q_proj_weight=Wq,
                        k_proj_weight=Wk, v_proj_weight=Wv, bias_k=_t(bias_k), bias_v=_t(bias_v), out_proj=proj,
                        training=bool(training), _rng=None if rng is None else as_generator(rng))
    return mha.forward(q, k, v, mask, need_weights, causal, key_padding_mask=key_padding_mask,
                       average_attn_weights=average_attn_weights)
