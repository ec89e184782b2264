"""``reset_parameters()`` of the layers, as torch's: each parameter drawn again from the law its
layer's constructor draws it from, written into the same Tensor (optimizers and hooks that hold
it keep working; graphs built before refuse a backward through the old values). Draws come from
the library's generator (``tl.manual_seed``), as torch's come from its global one.

* Linear, Conv, ConvTranspose, Bilinear, recurrent layers and cells: uniform in +-1/sqrt(fan_in)
  (fan_in = weight.shape[1] * prod(kernel); Bilinear: in1_features; recurrent: hidden_size).
* Embedding, EmbeddingBag: N(0, 1), the ``padding_idx`` row zero.
* LayerNorm, GroupNorm, RMSNorm, BatchNorm, InstanceNorm: weight 1, bias 0 (and the running
  statistics reset, where kept).
* MultiheadAttention: the input projections Xavier-uniform, their bias and the output bias 0,
  ``bias_k`` / ``bias_v`` Xavier-normal (the output projection's weight is left as it is, as torch).
* PReLU: every slope back to ``init``.

This module touches only the parameters of the module it is given.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import as_generator
from .init import _fill


def _uniform(m: Any, bound: float, names: Any = None) -> None:
    r = as_generator(None)
    for _, p in (m.named_parameters(recurse=False) if names is None
                 else ((n, getattr(m, n, None)) for n in names)):
        if p is not None:
            _fill(p, r.uniform(-bound, bound, p.data.shape))


def fan_in(m: Any) -> None:
    """Weight and bias uniform in +-1/sqrt(fan_in), fan_in = weight.shape[1] * prod(kernel)."""
    w = m.weight.data
    fan = int(w.shape[1] * np.prod(w.shape[2:])) if w.ndim > 1 else w.shape[0]
    _uniform(m, 1.0 / math.sqrt(fan) if fan else 0.0, ("weight", "bias"))


def bilinear(m: Any) -> None:
    """Weight and bias uniform in +-1/sqrt(in1_features)."""
    _uniform(m, 1.0 / math.sqrt(m.weight.data.shape[1]), ("weight", "bias"))


def recurrent(m: Any) -> None:
    """Every parameter uniform in +-1/sqrt(hidden_size)."""
    _uniform(m, 1.0 / math.sqrt(m.hidden_size))


def embedding(m: Any) -> None:
    """N(0, 1), the padding row zero."""
    w = as_generator(None).standard_normal(m.weight.data.shape)
    if getattr(m, "padding_idx", None) is not None:
        w[m.padding_idx] = 0.0
    _fill(m.weight, w)


def affine(m: Any) -> None:
    """Weight 1 and bias 0 (those present); running statistics reset where kept."""
    for name, value in (("weight", 1.0), ("bias", 0.0)):
        p = getattr(m, name, None)
        if p is not None:
            _fill(p, value)
    if getattr(m, "track_running_stats", False):
        m.reset_running_stats()


def attention(m: Any) -> None:
    """Xavier-uniform input projections, zero projection biases, Xavier-normal bias_k / bias_v."""
    r = as_generator(None)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
        p = getattr(m, name, None)
        if p is not None:
            b = math.sqrt(6.0 / sum(p.data.shape))  # (fan out, fan in: the (3E, E) matrix as a whole)
            _fill(p, r.uniform(-b, b, p.data.shape))
    for p in (getattr(m, "in_proj_bias", None), getattr(m.out_proj, "bias", None)):
        if p is not None:
            _fill(p, 0.0)
    for name in ("bias_k", "bias_v"):
        p = getattr(m, name, None)
        if p is not None:  # (1, 1, E): fan in = fan out = E
            _fill(p, r.normal(0.0, math.sqrt(2.0 / (2 * p.data.shape[-1])), p.data.shape))


def prelu(m: Any) -> None:
    """Every slope back to ``init``."""
    _fill(m.weight, m.init)
