"""Adafactor and SparseAdam with PyTorch's names, defaults, state keys and formulas.

Adafactor (Shazeer and Stern, 2018, as torch implements it) keeps, for a parameter of two
or more axes, only the row and column means of the squared gradient over its last two axes
(``row_var`` of shape (..., R, 1), ``col_var`` (..., 1, C)); a vector keeps ``variance``.
At step ``t`` with ``beta_t = t ** beta2_decay``, ``rho = min(lr, 1 / sqrt(t))`` and
``alpha = max(eps2, RMS(p)) * rho`` (RMS(p) = ||p|| / sqrt(numel), before weight decay)::

    p <- p * (1 - lr * weight_decay)
    row_var <- row_var + beta_t (mean_{last}(g^2) - row_var)   col_var likewise over axis -2
    V = (row_var @ col_var) / max(mean_{-2}(row_var), eps1)   (variance for a vector)
    u = g / sqrt(max(V, eps1^2));  p <- p - alpha / max(1, RMS(u) / d) * u

``eps1`` None means the machine epsilon of the parameter's dtype.

SparseAdam is Adam restricted to the rows the gradient touches: torch takes a sparse
gradient (an ``Embedding(sparse=True)``'s); here the gradient is dense and a row (an index
of axis 0) counts as touched when any of its entries is non-zero. Only touched rows of the
moments and of the parameter change; the step count advances every step. (A looked-up row
whose gradient is exactly zero is untouched here, but present in torch's sparse gradient.)
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .optimizer import Optimizer, check_number, hyper
from .rules import _check_betas, adam_state

__all__ = ["Adafactor", "SparseAdam"]


class Adafactor(Optimizer):
    """Adafactor (see the module docstring). Buffers: ``"step"``, and ``"row_var"`` /
    ``"col_var"`` (parameters of 2 or more axes) or ``"variance"`` (vectors and scalars)."""

    decoupled_weight_decay = True

    def __init__(self, params: Any, lr: float = 1e-2, beta2_decay: float = -0.8, eps: tuple = (None, 1e-3),
                 d: float = 1.0, weight_decay: float = 0.0, *, foreach: Optional[bool] = None,
                 maximize: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"d": "number"}
    buffers = {"step": "step", "variance": "array", "row_var": "factor", "col_var": "factor"}
    required = ("step",)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("beta2_decay", group["beta2_decay"], -math.inf, 0.0)
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"invalid eps: {eps!r} (must be a pair (eps1 or None, eps2))")
        if eps[0] is not None:
            check_number("epsilon1", eps[0])
        check_number("epsilon2", eps[1])
        check_number("clipping threshold d", group["d"], 1.0)

    def _check_buffer(self, name: str, value: Any, p: Any, key: Any) -> Any:
        if name not in ("row_var", "col_var"):
            return super()._check_buffer(name, value, p, key)
        shape = list(p.data.shape)
        if len(shape) >= 2:
            shape[-1 if name == "row_var" else -2] = 1
        if not isinstance(value, np.ndarray) or len(shape) < 2 or value.shape != tuple(shape):
            raise ValueError(f"state buffer {name!r} of parameter {key!r} must be an array of shape {tuple(shape)} "
                             f"for a parameter of shape {p.data.shape}, got "
                             f"{getattr(value, 'shape', type(value).__name__)}")
        if value.dtype.kind not in "biuf":
            raise ValueError(f"state buffer {name!r} of parameter {key!r} has non-numeric dtype {value.dtype}")
        return value.astype(p.data.dtype)

    def _check_loaded(self, state: dict, groups: list) -> None:
        """A parameter's loaded state holds its second-moment buffers: ``row_var`` and
        ``col_var`` for 2 or more axes, ``variance`` otherwise (a step would need them)."""
        params = [p for g in groups for p in g["params"]]
        for i, p in enumerate(params):
            st = state.get(p)
            need = ("row_var", "col_var") if p.data.ndim >= 2 else ("variance",)
            lacking = [n for n in need if st and n not in st]
            if lacking:
                raise ValueError(f"the state of parameter {i} (shape {p.data.shape}) lacks the buffer(s) {lacking}")

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Adafactor step of ``p`` (see the module docstring)."""
        lr, decay, d, wd = (float(group[k]) for k in ("lr", "beta2_decay", "d", "weight_decay"))
        eps1, eps2 = group["eps"]
        data = p.data
        eps1 = float(np.finfo(data.dtype).eps) if eps1 is None else float(eps1)
        factored = g.ndim > 1
        if not state:
            state["step"] = 0
            if factored:
                state["row_var"] = np.zeros(g.shape[:-1] + (1,), data.dtype)
                state["col_var"] = np.zeros(g.shape[:-2] + (1, g.shape[-1]), data.dtype)
            else:
                state["variance"] = np.zeros_like(data)
        state["step"] += 1
        t = float(state["step"])
        beta = t ** decay
        rho = min(lr, 1 / t ** 0.5)
        alpha = max(float(eps2), float(np.linalg.norm(data.reshape(-1))) / max(data.size, 1) ** 0.5) * rho
        if wd != 0:
            np.multiply(data, 1 - lr * wd, out=data)
        if factored:
            row, col = state["row_var"].astype(data.dtype, copy=False), state["col_var"].astype(data.dtype, copy=False)
            row += beta * ((np.linalg.norm(g, axis=-1, keepdims=True) ** 2) / g.shape[-1] - row)
            col += beta * ((np.linalg.norm(g, axis=-2, keepdims=True) ** 2) / g.shape[-2] - col)
            state["row_var"], state["col_var"] = row, col
            var = (row @ col) / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            v = state["variance"]
            v += beta * (g * g - v)
            var = v.copy()
        u = g / np.sqrt(np.maximum(var, eps1 * eps1))
        denom = max(1.0, float(np.linalg.norm(u.reshape(-1))) / (max(u.size, 1) ** 0.5 * d))
        data -= (alpha / denom) * u


class SparseAdam(Optimizer):
    """Adam on the touched rows only (see the module docstring)::

        m[R] <- beta1 m[R] + (1 - beta1) g[R];   v[R] <- beta2 v[R] + (1 - beta2) g[R]^2
        p[R] <- p[R] - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m[R] / (sqrt(v[R]) + eps)

    with R the rows of ``g`` that hold a non-zero. Buffers: ``"step"``, ``"exp_avg"``,
    ``"exp_avg_sq"``."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if isinstance(betas, list):
            betas = tuple(betas)
        super().__init__(params, hyper(locals()))

    checks = {"eps": "number"}
    buffers = {"step": "step", "exp_avg": "array", "exp_avg_sq": "array"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        check_number("lr (learning rate)", group["lr"], 0.0, low_open=True)
        check_number("eps (epsilon)", group["eps"], 0.0, low_open=True)  # eps > 0, as torch

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One SparseAdam step of ``p`` (see the class docstring)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        b1, b2 = (float(b) for b in group["betas"])
        adam_state(p, state)
        state["step"] += 1
        t = state["step"]
        rows = np.flatnonzero(g.reshape(g.shape[0], -1).any(axis=1)) if g.ndim else np.flatnonzero(g.reshape(1))
        if not rows.size:
            return
        m, v, data = state["exp_avg"], state["exp_avg_sq"], p.data
        if not g.ndim:
            m, v, data, g = m.reshape(1), v.reshape(1), data.reshape(1), g.reshape(1)
        gr = g[rows]
        m_new = m[rows] + (gr - m[rows]) * (1 - b1)
        v_new = v[rows] + (gr * gr - v[rows]) * (1 - b2)
        m[rows], v[rows] = m_new, v_new
        step_size = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        data[rows] += -step_size * (m_new / (np.sqrt(v_new) + eps))
