"""``embedding_bag`` and ``EmbeddingBag`` with PyTorch's signatures: the sum, mean or max of
bags of embedding rows, without building the per-index output of ``embedding`` for the user.

Bags are the rows of a 2-D index input (B, L), or the slices ``input[offsets[i]:offsets[i+1]]``
of a 1-D input. The lookup is ``embedding`` on a (bags, longest bag) index array, masked where a
bag is shorter or holds ``padding_idx``, then reduced over the bag axis: every step is a
differentiable op, so the table's gradient adds each bag's cotangent (scaled by the
``per_sample_weights`` or the 1 / count of mean) to its rows, and for a batched 2-D input the
table keeps its factored per-sample gradients (one bag per sample).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from .. import factories
from ..batchstate import BATCHED
from ..conventions import ShapeMismatchError, check_bool
from ..factories import param_dtype
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .layers import pretrained_table
from .module import Module

__all__ = ["embedding_bag", "EmbeddingBag"]

MODES = ("sum", "mean", "max")


def _mode(mode: Any, who: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{who}: mode must be one of 'sum', 'mean' or 'max', got {mode!r}")
    return mode


def _bags(a: np.ndarray, offsets: Any, include_last_offset: bool, who: str) -> tuple:
    """(indices (bags, L), positions (bags, L) into the flat input, valid mask (bags, L))."""
    if a.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{who}: a 2-D input (shape {a.shape}) is a batch of bags of one length; offsets must "
                             "be None")
        pos = np.arange(a.size).reshape(a.shape)
        return a, pos, np.ones(a.shape, bool)
    if a.ndim != 1:
        raise ShapeMismatchError(f"{who}: input must be 1-D (with offsets) or 2-D, got shape {a.shape}")
    if offsets is None:
        raise ValueError(f"{who}: a 1-D input (shape {a.shape}) needs 1-D offsets (the start of each bag)")
    o = np.asarray(offsets.data if isinstance(offsets, Tensor) else offsets)
    if o.ndim != 1 or not np.issubdtype(o.dtype, np.integer):
        raise ShapeMismatchError(f"{who}: offsets must be a 1-D integer array, got shape {o.shape}, dtype {o.dtype}")
    if o.size and o[0] != 0:
        raise ValueError(f"{who}: offsets[0] must be 0 (the first bag starts the input), got {int(o[0])}")
    if np.any(np.diff(o) < 0) or (o.size and o[-1] > a.size):
        raise ValueError(f"{who}: offsets {o.tolist()} must be non-decreasing and at most the input's length "
                         f"{a.size}")
    starts = o[:-1] if include_last_offset else o  # (the last bag runs to the input's end, as torch)
    ends = np.append(starts[1:], a.size)[:starts.size]
    lens = ends - starts
    L = int(lens.max()) if lens.size else 0
    j = np.arange(L)
    valid = j < lens[:, None]
    pos = np.where(valid, starts[:, None] + j, 0)
    return (a[pos] if a.size else np.zeros(pos.shape, a.dtype)), pos, valid


def embedding_bag(input: Any, weight: Any, offsets: Any = None, max_norm: Optional[float] = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Any = None, include_last_offset: bool = False,
                  padding_idx: Optional[int] = None) -> Tensor:
    """For each bag b of indices (``padding_idx`` entries left out), ``sum_i w_i W[i]``
    (``"sum"``, w the ``per_sample_weights`` or 1), ``sum_i W[i] / count`` (``"mean"``) or the
    elementwise ``max_i W[i]`` (``"max"``); an empty bag gives zeros. Output (bags, D)."""
    who = "embedding_bag"
    _mode(mode, who)
    include_last_offset = check_bool(who, "include_last_offset", include_last_offset)
    W = F._t(weight)
    a = np.asarray(input.data if isinstance(input, Tensor) else input)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{who}: indices must be integers, got dtype {a.dtype}")
    if W.data.ndim != 2:
        raise ShapeMismatchError(f"{who}: weight must have shape (num_embeddings, embedding_dim), got {W.data.shape}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{who}: scale_grad_by_freq=True and sparse=True are not supported (the gradient "
                                  "is dense and unscaled)")
    if a.ndim == 1 and isinstance(input, Tensor) and input._bs & BATCHED:
        raise ValueError(f"{who}: a batched input must be 2-D (B, bag size), one bag per sample; the 1-D indices "
                         "taken with offsets are the bags' entries end to end, not samples (pad the bags into a "
                         "2-D input, or leave the 1-D input unbatched)")
    idx, pos, valid = _bags(a, offsets, include_last_offset, who)
    N = W.data.shape[0]
    pad = F.padding_index(padding_idx, N, who)
    psw = None
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{who}: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
        psw = F._t(per_sample_weights)
        if psw.data.shape != a.shape:
            raise ShapeMismatchError(f"{who}: per_sample_weights of shape {psw.data.shape} must have the input's "
                                     f"shape {a.shape}")
    if pad is not None:
        valid = valid & (idx != pad)
    # a 2-D input is looked up as given (a batched Tensor stays batched); the masked positions
    # of a 1-D input's bags read the input's first index, with weight 0 (so max_norm renormalises
    # the input's rows only)
    rows = F.embedding(input if a.ndim == 2 else idx, W, None, max_norm, norm_type, who=who)
    count = valid.sum(1, keepdims=True)
    dt = rows.data.dtype
    if mode == "max" and rows.data.shape[1]:
        fill = np.where(count > 0, -np.inf, 0.0).astype(dt)[:, :, None]
        masked = factories.where(valid[:, :, None], rows, fill)
        first = np.argmax(masked.data, axis=1)[:, None, :]  # (torch's: ties send the gradient to the first)
        return masked.gather(1, first).squeeze(1)
    scale: Any = valid.astype(dt)  # (max over empty bags only: the zeros of this sum)
    if psw is not None:
        scale = psw.reshape(-1)[pos] * scale if a.ndim == 1 else psw * scale
    elif mode == "mean":
        scale = scale / np.maximum(count, 1).astype(dt)  # (an int count would promote float32 to float64)
    return (rows * scale.unsqueeze(2) if isinstance(scale, Tensor) else rows * scale[:, :, None]).sum(1)


class EmbeddingBag(Module):
    """A table ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) like torch (the
    ``padding_idx`` row zero, or ``_weight`` if given), reduced over bags by ``embedding_bag``:
    ``forward(input, offsets=None, per_sample_weights=None)``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: Optional[float] = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Any = None, include_last_offset: bool = False, padding_idx: Optional[int] = None,
                 device: Any = None, dtype: Any = None, *, rng: Any = None) -> None:
        who = "EmbeddingBag"
        dtype = param_dtype(who, dtype, device)
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
        _mode(mode, who)
        if scale_grad_by_freq or sparse:
            raise NotImplementedError(f"{who}: scale_grad_by_freq=True and sparse=True are not supported")
        for name, v in (("max_norm", max_norm), ("norm_type", norm_type)):
            if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
                raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type, self.mode = max_norm, norm_type, mode
        self.scale_grad_by_freq, self.sparse = False, False
        self.include_last_offset = check_bool(who, "include_last_offset", include_last_offset)
        self.padding_idx = F.padding_index(padding_idx, self.num_embeddings, who)
        if _weight is None:
            w = as_generator(rng).standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype)
            if self.padding_idx is not None:
                w[self.padding_idx] = 0
        else:
            w = np.array(_weight.data if isinstance(_weight, Tensor) else _weight, dtype=dtype)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ShapeMismatchError(f"{who}: _weight of shape {w.shape} must have shape "
                                         f"{(self.num_embeddings, self.embedding_dim)}")
        self.weight = Tensor(w, requires_grad=True)

    def reset_parameters(self) -> None:
        """The table drawn again from N(0, 1), the padding row zero (``nn.reset``)."""
        from .reset import embedding
        embedding(self)

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Any = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, False, self.mode, False,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, max_norm: Optional[float] = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: Optional[int] = None) -> "EmbeddingBag":
        """An EmbeddingBag whose table is a copy of the 2-D ``embeddings``; with ``freeze`` (the
        default) the table gets no gradient, as torch's."""
        w = pretrained_table("EmbeddingBag.from_pretrained", embeddings, freeze, scale_grad_by_freq, sparse)
        m = cls(w.shape[0], w.shape[1], max_norm, norm_type, mode=mode, _weight=w,
                include_last_offset=include_last_offset, padding_idx=padding_idx, dtype=w.dtype)
        m.weight.requires_grad = not freeze
        return m

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        s += f", mode={self.mode!r}"
        return s + ("" if self.padding_idx is None else f", padding_idx={self.padding_idx}")
