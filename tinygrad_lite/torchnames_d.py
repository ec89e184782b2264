"""More of torch's top-level functions: the recurrent cells (``tl.rnn_tanh_cell``,
``rnn_relu_cell``, ``lstm_cell``, ``gru_cell``), the ``native_*`` normalisations and dropout
that also return their statistics or mask, ``tl.embedding_bag`` with torch's 4-tuple,
``tl.orgqr``, and re-exported from their own modules the control flow (``tl.cond``,
``tl.while_loop``, ``controlflow``) and the randomized factorisations (``tl.svd_lowrank``,
``tl.pca_lowrank``, ``lowrank``).

Everything differentiable is built from the existing layers and ops, so gradients and
per-sample gradients come from them:

* the cells are one step of ``tl.nn``'s recurrent layers (``nn.recurrent``'s step functions
  after ``F.linear``), with torch's top-level signatures: weights passed in, a 2-D input
  (N, input_size) and states (N, H) (torch's top-level cells take no unbatched input);
* ``native_layer_norm`` / ``native_batch_norm`` / ``native_group_norm`` compute the output
  with ``F.layer_norm`` / ``F.batch_norm`` (which updates the running statistics as torch) /
  ``F.group_norm``; their mean and 1/sqrt(var + eps) are returned as torch does (constants for
  layer and batch norm, differentiable compositions for group norm, as torch's);
* ``native_dropout`` draws its mask through ``F.dropout`` (so ``tl.manual_seed`` governs it as
  ``tl.dropout``) and returns it as a bool array;
* ``embedding_bag`` is ``F.embedding_bag``; the bag of each index, the bag sizes and the
  argmax rows of mode 'max' are integer arrays computed beside it, as torch's.

The module keeps no state; ``native_batch_norm`` in training writes the running statistics
it is given (as torch), ``native_dropout`` draws from the library's generator.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence

import numpy as np

from .controlflow import cond, while_loop
from .conventions import _int, _tensor_arg
from .linalg_householder import householder_product
from .lowrank import pca_lowrank, svd_lowrank
from .nn import functional as F
from .nn.embedding_bag import _bags
from .nn.recurrent import _STEPS
from .ops.base import ArgumentError, DtypeError, IndexRangeError, ShapeMismatchError
from .tensor import Tensor

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "native_layer_norm", "native_batch_norm",
           "native_group_norm", "native_dropout", "embedding_bag", "orgqr", "cond", "while_loop", "svd_lowrank",
           "pca_lowrank"]

orgqr = householder_product  # torch.orgqr(A, tau): the same product of Householder reflectors


def _same_dtype(who: str, x: Tensor, others: Sequence[tuple]) -> None:
    """x a float tensor and every other given tensor of its dtype (torch refuses a mix)."""
    if x.data.dtype.kind != "f":
        raise DtypeError(f"{who}: input must be a float tensor, got dtype {x.data.dtype}")
    for name, t in others:
        if t is not None and t.data.dtype != x.data.dtype:
            raise DtypeError(f"{who}: {name} has dtype {t.data.dtype} but input has dtype {x.data.dtype}; all "
                             "must share one dtype")


def _real(who: str, name: str, v: Any) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    return float(v)


# ------------------------------------------------------------------------ the cells -------
def _cell(who: str, mode: str, input: Any, states: list, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """One step of ``mode`` with torch's checks, in its order: the input's features against
    w_ih's columns, the weights' rows against G * H (H = w_hh's columns), then each state's
    batch size and width."""
    G, step = _STEPS[mode]
    x = _tensor_arg(who, input, "input")
    hs = [_tensor_arg(who, h, f"hx[{k}]" if len(states) > 1 else "hx") for k, h in enumerate(states)]
    w_ih, w_hh = _tensor_arg(who, w_ih, "w_ih"), _tensor_arg(who, w_hh, "w_hh")
    b_ih, b_hh = _tensor_arg(who, b_ih, "b_ih", True), _tensor_arg(who, b_hh, "b_hh", True)
    _same_dtype(who, x, [("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)]
                + [(f"hx[{k}]", h) for k, h in enumerate(hs)])
    for name, w in (("w_ih", w_ih), ("w_hh", w_hh)):
        if w.data.ndim != 2:
            raise ShapeMismatchError(f"{who}: {name} must be 2-D, got shape {w.data.shape}")
    if x.data.ndim < 2:
        raise IndexRangeError(f"{who}: input must be 2-D (N, input_size) (torch's top-level cells take no "
                              f"unbatched input), got shape {x.data.shape}")
    if x.data.ndim > 2 or x.data.shape[1] != w_ih.data.shape[1]:
        raise ShapeMismatchError(f"{who}: input of shape {x.data.shape} does not match w_ih's input_size "
                                 f"{w_ih.data.shape[1]} (expected (N, {w_ih.data.shape[1]}))")
    H = w_hh.data.shape[1]
    for name, w in (("w_ih", w_ih), ("w_hh", w_hh)):
        if w.data.shape[0] != G * H:
            raise ShapeMismatchError(f"{who}: {name}'s first dim must be {G} * hidden_size = {G * H} (hidden_size "
                                     f"from w_hh's {H} columns), got shape {w.data.shape}")
    N = x.data.shape[0]
    for k, h in enumerate(hs):
        if h.data.shape != (N, H):
            raise ShapeMismatchError(f"{who}: hidden state {k} must have shape (N, hidden_size) = {(N, H)} for an "
                                     f"input of shape {x.data.shape}, got {h.data.shape}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and b.data.shape != (G * H,):
            raise ShapeMismatchError(f"{who}: {name} must have shape {(G * H,)}, got {b.data.shape}")
    return step(F.linear(x, w_ih, b_ih), tuple(hs), w_hh, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
                  b_hh: Optional[Tensor] = None) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); input (N, in), hx (N, H)."""
    return _cell("rnn_tanh_cell", "RNN_TANH", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
                  b_hh: Optional[Tensor] = None) -> Tensor:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh); input (N, in), hx (N, H)."""
    return _cell("rnn_relu_cell", "RNN_RELU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
             b_hh: Optional[Tensor] = None) -> Tensor:
    """With gates r, z, n (w_ih (3H, in), w_hh (3H, H)): r = sigmoid(x W_ir^T + b_ir + h W_hr^T
    + b_hr), z likewise, n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),
    h' = (1 - z) * n + z * h."""
    return _cell("gru_cell", "GRU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
              b_hh: Optional[Tensor] = None) -> tuple:
    """(h', c') with gates i, f, g, o (w_ih (4H, in), w_hh (4H, H)):
    [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh,
    c' = sigmoid(a_f) c + sigmoid(a_i) tanh(a_g), h' = sigmoid(a_o) tanh(c'); hx = (h, c)."""
    who = "lstm_cell"
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"{who}: hx must be a tuple (h, c) of Tensors, got {type(hx).__name__}")
    if len(hx) != 2:
        raise ArgumentError(f"{who}: hx must hold two hidden states (h, c), got {len(hx)}")
    h, c = _cell(who, "LSTM", input, list(hx), w_ih, w_hh, b_ih, b_hh)
    return h, c


# ------------------------------------------------------------------ normalisations -------
def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Optional[Tensor],
                      bias: Optional[Tensor], eps: float) -> tuple:
    """(out, mean, rstd): out = F.layer_norm over the last len(normalized_shape) axes; mean
    and rstd = 1/sqrt(var + eps) (biased variance) with those axes kept as size 1, no gradient
    (as torch)."""
    who = "native_layer_norm"
    x = _tensor_arg(who, input, "input")
    w, b = _tensor_arg(who, weight, "weight", True), _tensor_arg(who, bias, "bias", True)
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{who}: normalized_shape must be a tuple of ints, got {normalized_shape!r}")
    ns = tuple(_int(who, "normalized_shape", n) for n in normalized_shape)
    eps = _real(who, "eps", eps)
    _same_dtype(who, x, [("weight", w), ("bias", b)])
    out = F.layer_norm(x, ns, w, b, eps)
    axes = tuple(range(x.data.ndim - len(ns), x.data.ndim))
    mean = x.data.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(x.data.var(axis=axes, keepdims=True) + eps)
    return out, Tensor(mean), Tensor(rstd.astype(x.data.dtype))


def native_batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                      running_mean: Optional[Tensor], running_var: Optional[Tensor], training: bool, momentum: float,
                      eps: float) -> tuple:
    """(out, save_mean, save_invstd): out = F.batch_norm over every axis but axis 1; in
    training save_mean / save_invstd are the batch's per-channel mean and 1/sqrt(var + eps)
    (biased variance) and the running statistics, when given, move ``momentum`` of the way to
    the batch's (unbiased variance); in evaluation the running statistics normalise and the
    two saved tensors are empty, as torch's."""
    who = "native_batch_norm"
    x = _tensor_arg(who, input, "input")
    w, b = _tensor_arg(who, weight, "weight", True), _tensor_arg(who, bias, "bias", True)
    rm = _tensor_arg(who, running_mean, "running_mean", True)
    rv = _tensor_arg(who, running_var, "running_var", True)
    if (rm is None) != (rv is None):
        raise ValueError(f"{who}: running_mean and running_var must both be None or neither")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{who}: training must be a bool, got {training!r}")
    if not training and rm is None:
        raise ArgumentError(f"{who}: evaluation (training=False) needs running_mean and running_var")
    momentum, eps = _real(who, "momentum", momentum), _real(who, "eps", eps)
    _same_dtype(who, x, [("weight", w), ("bias", b), ("running_mean", rm), ("running_var", rv)])
    if x.data.ndim < 2:
        raise IndexRangeError(f"{who}: input must have a channel axis (N, C, ...), got shape {x.data.shape}")
    xd = x.data
    out = F.batch_norm(x, rm, rv, w, b, bool(training), momentum, eps, who=who)
    if not training:
        return out, Tensor(np.zeros(0, xd.dtype)), Tensor(np.zeros(0, xd.dtype))
    axes = (0,) + tuple(range(2, xd.ndim))
    invstd = 1.0 / np.sqrt(xd.var(axis=axes) + eps)
    return out, Tensor(xd.mean(axis=axes)), Tensor(invstd.astype(xd.dtype))


def native_group_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], N: int, C: int, HxW: int,
                      group: int, eps: float) -> tuple:
    """(out, mean, rstd): the input read as (N, C, HxW) (its element count must be N * C * HxW),
    normalised by F.group_norm over each of ``group`` groups of C / group channels, back in the
    input's shape; mean and rstd = 1/sqrt(var + eps) of each (sample, group), shape (N, group),
    differentiable as torch's."""
    who = "native_group_norm"
    x = _tensor_arg(who, input, "input")
    w, b = _tensor_arg(who, weight, "weight", True), _tensor_arg(who, bias, "bias", True)
    N, C, HxW, group = (_int(who, n, v) for n, v in (("N", N), ("C", C), ("HxW", HxW), ("group", group)))
    eps = _real(who, "eps", eps)
    _same_dtype(who, x, [("weight", w), ("bias", b)])
    if min(N, C, HxW) < 0 or x.data.size != N * C * HxW:
        raise ShapeMismatchError(f"{who}: input of shape {x.data.shape} ({x.data.size} elements) does not hold "
                                 f"N * C * HxW = {N} * {C} * {HxW} elements")
    if group < 1:
        raise ArgumentError(f"{who}: group must be > 0, got {group}")
    x3 = x.reshape(N, C, HxW)
    out = F.group_norm(x3, group, w, b, eps, who=who).reshape(x.data.shape)
    xg = x3.reshape(N, group, C // group * HxW)
    mean = xg.mean(-1)
    rstd = (xg.var(-1, correction=0) + eps).rsqrt()
    return out, mean, rstd


def native_dropout(input: Tensor, p: float, train: Optional[bool]) -> tuple:
    """(out, mask): with ``train`` True or None, mask[i] is kept with probability 1 - p and
    out = input * mask / (1 - p) (mask all False and out zero when p = 1); with ``train``
    False, out a copy of input and mask all True (p unchecked, as torch)."""
    who = "native_dropout"
    x = _tensor_arg(who, input, "input")
    if train is not None and not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"{who}: train must be a bool or None, got {train!r}")
    p = _real(who, "p", p)
    if train is False or train is np.False_:
        return x.clone(), Tensor(np.ones(x.data.shape, bool))
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{who}: p must be in [0, 1], got {p}")
    if x.data.dtype.kind != "f":
        raise DtypeError(f"{who}: training dropout needs a float input, got dtype {x.data.dtype}")
    scale = F.dropout(Tensor(np.ones(x.data.shape, x.data.dtype)), p, True).data  # mask / (1 - p), F's draw
    return x * scale, Tensor(scale != 0)


# ------------------------------------------------------------------- embedding_bag -------
_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False,
                  mode: int = 0, sparse: bool = False, per_sample_weights: Optional[Tensor] = None,
                  include_last_offset: bool = False, padding_idx: Optional[int] = None) -> tuple:
    """(output, offset2bag, bag_size, max_indices) for the bags ``indices[offsets[b]:offsets[b+1]]``
    of a 1-D ``indices``; ``mode`` 0 = sum, 1 = mean, 2 = max. ``output`` is F.embedding_bag's;
    ``offset2bag[i]`` is the bag of indices[i]; ``bag_size`` the count of non-padding indices of
    each bag (zeros for mode sum); ``max_indices`` the table row giving each maximum (bags, D)
    for mode max (0 for an empty bag), ``bag_size`` for mean and zeros for sum, as torch's."""
    who = "embedding_bag"
    W = _tensor_arg(who, weight, "weight")
    idx_t = _tensor_arg(who, indices, "indices")
    off = _tensor_arg(who, offsets, "offsets")
    mode = _int(who, "mode", mode)
    if mode not in _MODES:
        raise ArgumentError(f"{who}: mode must be 0 (sum), 1 (mean) or 2 (max), got {mode}")
    a = np.asarray(idx_t.data)
    if a.ndim != 1:
        raise ShapeMismatchError(f"{who}: indices must be 1-D (the bags given by offsets), got shape {a.shape}")
    out = F.embedding_bag(idx_t, W, off, None, 2, scale_grad_by_freq, _MODES[mode], sparse, per_sample_weights,
                          include_last_offset, padding_idx)
    idx, pos, valid = _bags(a, off, bool(include_last_offset), who)
    bags = idx.shape[0]
    offset2bag = np.zeros(a.shape, np.int64)
    offset2bag[pos[valid]] = np.broadcast_to(np.arange(bags)[:, None], pos.shape)[valid]
    pad = F.padding_index(padding_idx, W.data.shape[0], who)
    used = valid if pad is None else valid & (idx != pad)
    bag_size = used.sum(1).astype(np.int64) if mode else np.zeros(bags, np.int64)
    if mode == 2:
        vals = np.where(used[:, :, None], W.data[idx], -np.inf)  # (bags, L, D)
        best = np.take_along_axis(idx[:, :, None], vals.argmax(1)[:, None, :], 1)[:, 0] if idx.shape[1] else None
        max_indices = np.where(bag_size[:, None] > 0, best, 0) if best is not None else \
            np.zeros((bags, W.data.shape[1]), np.int64)
    else:
        max_indices = bag_size.copy()
    return out, Tensor(offset2bag), Tensor(bag_size), Tensor(max_indices.astype(np.int64))
