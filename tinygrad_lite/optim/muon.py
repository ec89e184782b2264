"""Muon: momentum whose update is orthogonalised by a Newton-Schulz iteration, for the
2-D weight matrices of a network (PyTorch's names, defaults, state keys and formulas).

For a matrix parameter ``W`` (shape ``A x B``) with gradient ``g``, each step::

    B_t  <- B_{t-1} + (1 - momentum) (g - B_{t-1})          (the momentum buffer, from 0)
    M    <- g + momentum (B_t - g)  if nesterov,  else  B_t
    O    <- NS(M)                                           (see ``newton_schulz``)
    W    <- W (1 - lr weight_decay)                         (decoupled weight decay)
    W    <- W - lr * r(A, B) * O

with the learning-rate ratio ``r = sqrt(max(1, A / B))`` ("original", the default) or
``r = 0.2 sqrt(max(A, B))`` ("match_rms_adamw", which gives the update the RMS of an AdamW
step). The two interpolations are written as PyTorch's ``lerp`` computes them, so the
buffers agree with its to the last bit.

``NS(M)`` scales ``M`` to Frobenius norm 1 (a norm below ``eps`` counts as ``eps``), works
on ``M^T`` when ``M`` has more rows than columns (so that ``X X^T`` is the smaller Gram
matrix) and repeats ``ns_steps`` times::

    G <- X X^T;   X <- a X + (b G + c G G) X

which drives the singular values of ``X`` towards 1 (to roughly [0.7, 1.2] with the default
quintic coefficients). As PyTorch's, the iteration runs in bfloat16 by default: every
operation's float32 result is rounded to the nearest bfloat16 (ties to even), and the
bfloat16 matrix ``O`` is then added to the parameter in the parameter's own dtype. A
matrix product's float32 value here is its exact sum rounded once; a kernel that rounds
partial sums in another order can land on the other side of a bfloat16 rounding tie, so
PyTorch's ``O`` may differ from this one by one bfloat16 step in such rare elements.
``ns_dtype=None`` runs it in the parameter's dtype instead (float64 for float64 parameters).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

from .optimizer import Optimizer, check_bool, check_number
from .rules import decay_decoupled

__all__ = ["Muon", "newton_schulz"]

_ADJUST = (None, "original", "match_rms_adamw")
_NS_DTYPES = ("bfloat16", None)


def _bfloat16(x: Any) -> np.ndarray:
    """``x`` rounded to float32 and then to the nearest bfloat16 (ties to even; NaN stays
    NaN, too large becomes inf), returned as float64 holding those values exactly."""
    x32 = np.asarray(x, dtype=np.float32)
    bits = x32.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(x32), np.nan, rounded.view(np.float32).astype(np.float64))  # (also 0-d: a norm)


def _float32(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to float32 (as float64)."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def newton_schulz(m: np.ndarray, coefficients: tuple = (3.4445, -4.775, 2.0315), steps: int = 5,
                  eps: float = 1e-7, dtype: Optional[str] = "bfloat16") -> np.ndarray:
    """The approximately orthogonal matrix of Muon's update for a 2-D array ``m``:
    ``X = m / max(||m||_F, eps)`` (transposed when ``m`` is tall), then ``steps`` times
    ``X <- a X + (b X X^T + c (X X^T)^2) X``, transposed back.

    ``dtype="bfloat16"``: each operation's result (norm, quotient, ``X X^T``,
    ``b G + c G G``, ``a X + U X``) is rounded to bfloat16 through float32 (matrix products
    are rounded to float32 before they are scaled and added, ``a``, ``b``, ``c`` are taken
    in float32), and the result is a float64 array of bfloat16 values; ``dtype=None``:
    computed in ``m``'s dtype.
    """
    if m.ndim != 2:
        raise ValueError(f"newton_schulz: the input must be a 2-D matrix, got shape {m.shape}")
    a, b, c = (float(v) for v in coefficients)
    tall = m.shape[0] > m.shape[1]
    if dtype is None:
        x = m.T if tall else m
        x = x / np.maximum(np.linalg.norm(x), x.dtype.type(eps))
        for _ in range(steps):
            gram = x @ x.T
            x = a * x + (b * gram + c * (gram @ gram)) @ x
        return x.T if tall else x
    a32, b32, c32 = (float(np.float32(v)) for v in (a, b, c))  # the scalars in float32 arithmetic
    x = _bfloat16(m.T if tall else m)
    norm = _bfloat16(np.maximum(_bfloat16(np.sqrt(np.sum(x * x))), eps))
    x = _bfloat16(x / norm)
    for _ in range(steps):
        gram = _bfloat16(x @ x.T)
        # beta C + alpha (A B) with the product A B in float32, the rest rounded once
        poly = _bfloat16(b32 * gram + c32 * _float32(gram @ gram))
        x = _bfloat16(a32 * x + _float32(poly @ x))
    return x.T if tall else x


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight (end - start)``, in ``start``'s dtype, evaluated from the nearer end
    (from ``end`` as ``end - (end - start)(1 - weight)`` when ``|weight| >= 0.5``)."""
    w = start.dtype.type(weight)
    if abs(w) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (start.dtype.type(1) - w)


def _lr_ratio(adjust_lr_fn: Optional[str], shape: tuple) -> float:
    """The learning-rate multiplier for an ``A x B`` matrix: ``sqrt(max(1, A / B))``
    ("original", also for None) or ``0.2 sqrt(max(A, B))`` ("match_rms_adamw")."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return math.sqrt(max(1, rows / cols))


class Muon(Optimizer):
    """Muon (see the module docstring for the update), for 2-D parameters only: optimize
    biases, norms and embeddings with another optimizer such as AdamW.

    Args:
        params: Tensors or parameter groups; every parameter must be a 2-D floating matrix.
        lr: learning rate (>= 0), before the shape's ratio.
        weight_decay: decoupled weight decay (>= 0): ``W <- W (1 - lr weight_decay)``.
        momentum: momentum factor (>= 0).
        nesterov: use ``g + momentum (B - g)`` instead of ``B``.
        ns_coefficients: ``(a, b, c)`` of the Newton-Schulz polynomial.
        eps: lower bound (>= 0) of the norm ``M`` is divided by.
        ns_steps: number of Newton-Schulz iterations, an int in [0, 100).
        adjust_lr_fn: None or "original" (``sqrt(max(1, A / B))``) or "match_rms_adamw"
            (``0.2 sqrt(max(A, B))``).
        ns_dtype: "bfloat16" (PyTorch's arithmetic) or None (the parameter's dtype); an
            attribute of the optimizer, not of its groups.

    Buffer: ``state[p]["momentum_buffer"]`` (``B``, of the parameter's shape and dtype).
    """

    decoupled_weight_decay = True
    checks = {"momentum": "number", "nesterov": "bool", "eps": "number"}
    buffers = {"momentum_buffer": "array"}

    def __init__(self, params: Any, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple = (3.4445, -4.775, 2.0315), eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: Optional[str] = None, *,
                 ns_dtype: Optional[str] = "bfloat16") -> None:
        if ns_dtype not in _NS_DTYPES:
            raise ValueError(f"Muon: ns_dtype must be 'bfloat16' or None (the parameter's dtype), got {ns_dtype!r}")
        self.ns_dtype = ns_dtype
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                                  "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                                  "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        coefficients = group["ns_coefficients"]
        if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
            raise ValueError(f"Muon: ns_coefficients must be a tuple of exactly 3 numbers (a, b, c), got "
                             f"{coefficients!r}")
        for i, v in enumerate(coefficients):
            check_number(f"ns_coefficients[{i}]", v, -math.inf)
        steps = group["ns_steps"]
        if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"Muon: ns_steps must be an int, got {type(steps).__name__} {steps!r}")
        if not 0 <= steps < 100:
            raise ValueError(f"Muon: ns_steps must be in [0, 100), got {steps}")
        if group["adjust_lr_fn"] not in _ADJUST:
            raise ValueError(f"Muon: adjust_lr_fn {group['adjust_lr_fn']!r} is not supported (use None, "
                             "'original' or 'match_rms_adamw')")
        check_bool("nesterov", group["nesterov"])
        for p in group["params"]:
            if p.data.ndim != 2:
                raise ValueError(f"Muon only optimizes 2-D parameters, got one of shape {p.data.shape}; "
                                 "optimize it with another optimizer such as AdamW")
            if p.data.dtype.kind != "f":
                raise ValueError(f"Muon: parameters must be real floating matrices, got dtype {p.data.dtype} "
                                 f"(shape {p.data.shape})")

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Muon step of ``p`` (see the module docstring)."""
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(g)
        momentum = float(group["momentum"])
        buf = state["momentum_buffer"]
        buf[...] = _lerp(buf, g, 1 - momentum)
        direction = _lerp(g, buf, momentum) if group["nesterov"] else buf
        ortho = newton_schulz(direction, group["ns_coefficients"], int(group["ns_steps"]), float(group["eps"]),
                              self.ns_dtype)
        lr = float(group["lr"])
        step = -lr * _lr_ratio(group["adjust_lr_fn"], p.data.shape)
        decay_decoupled(p, group)
        d = p.data
        if d.dtype == np.float64 or self.ns_dtype is None:
            d += ortho.astype(d.dtype, copy=False) * d.dtype.type(step)
        else:  # p + step * O rounded once to p's dtype (the product of the two is exact in float64)
            d[...] = d.astype(np.float64) + float(d.dtype.type(step)) * ortho
