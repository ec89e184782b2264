"""More update rules with PyTorch's names, defaults, state keys and formulas: NAdam, RAdam,
Adamax, Adadelta, ASGD and Rprop. As in ``rules.py``, each class validates its
hyper-parameters and writes ``update()``; the loop, ``maximize`` and L2 weight decay
(``g <- g + weight_decay * p``) are the base class's. ``g`` below is the gradient after them.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .optimizer import Optimizer, check_number, hyper
from .rules import _check_betas, _descend, decay_decoupled

__all__ = ["NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop"]


def _pair(group: dict, name: str) -> tuple:
    """A group's pair hyper-parameter (betas, etas, step_sizes) as a tuple of two floats."""
    value = group[name]
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"invalid {name}: {value!r} (must be a pair of numbers)")
    return tuple(check_number(f"{name}[{i}]", v, -math.inf) for i, v in enumerate(value))


def _moments(state: dict, p: Any, names: tuple) -> None:
    """Create a step counter and zero buffers ``names`` on a parameter's first step."""
    if not state:
        state["step"] = 0
        for name in names:
            state[name] = np.zeros_like(p.data)


class _BetasRule(Optimizer):
    """Shared checks of the Adam-like rules: ``betas`` in [0, 1) and ``eps`` >= 0."""

    checks = {"eps": "number"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])


class NAdam(_BetasRule):
    """NAdam: Adam with Nesterov momentum. At step ``t = 1, 2, ...``::

        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        P <- P * mu_t                           (P, the product of the mu's, starts at 1)
        m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g**2
        d = sqrt(v / (1 - beta2**t)) + eps
        p <- p - lr * (1 - mu_t) / (1 - P) * g / d - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / d

    With ``decoupled_weight_decay=True`` weight decay is ``p <- p * (1 - lr * weight_decay)``
    first instead of a gradient term. Buffers: ``"step"``, ``"mu_product"`` (P),
    ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v).
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False,
                 *, foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"momentum_decay": "number", "decoupled_weight_decay": "bool"}
    buffers = {"step": "step", "mu_product": "scalar", "exp_avg": "array", "exp_avg_sq": "array"}

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One NAdam step of ``p`` (see the class docstring)."""
        if not state:
            _moments(state, p, ("exp_avg", "exp_avg_sq"))
            state["mu_product"] = 1.0
        lr, eps, decay = float(group["lr"]), float(group["eps"]), float(group["momentum_decay"])
        beta1, beta2 = _pair(group, "betas")
        state["step"] += 1
        t = state["step"]
        if group["decoupled_weight_decay"]:
            decay_decoupled(p, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * decay))
        state["mu_product"] *= mu
        prod = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        denom = np.sqrt(v / (1 - beta2**t)) + eps
        _descend(p, g / denom * (lr * (1.0 - mu) / (1.0 - prod)))
        _descend(p, m / denom * (lr * mu_next / (1.0 - prod * mu_next)))


class RAdam(_BetasRule):
    """RAdam: Adam with the variance of its adaptive learning rate rectified. At step t::

        m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g**2
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p <- p - lr * m / (1 - beta1**t) * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p <- p - lr * m / (1 - beta1**t)

    ``decoupled_weight_decay`` as in NAdam. Buffers: ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"``.
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"decoupled_weight_decay": "bool"}
    buffers = {"step": "step", "exp_avg": "array", "exp_avg_sq": "array"}

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One RAdam step of ``p`` (see the class docstring)."""
        _moments(state, p, ("exp_avg", "exp_avg_sq"))
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = _pair(group, "betas")
        state["step"] += 1
        t = state["step"]
        if group["decoupled_weight_decay"]:
            decay_decoupled(p, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        m_hat = m / bc1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            _descend(p, m_hat * lr * (bc2**0.5 / (np.sqrt(v) + eps)) * rect)
        else:
            _descend(p, m_hat * lr)


class Adamax(_BetasRule):
    """Adamax: Adam with the infinity norm. At step ``t``::

        m <- beta1 * m + (1 - beta1) * g
        u <- max(beta2 * u, |g| + eps)          (m, u start at 0)
        p <- p - lr / (1 - beta1**t) * m / u

    Buffers: ``"step"``, ``"exp_avg"`` (m), ``"exp_inf"`` (u).
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    buffers = {"step": "step", "exp_avg": "array", "exp_inf": "array"}

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Adamax step of ``p`` (see the class docstring)."""
        _moments(state, p, ("exp_avg", "exp_inf"))
        beta1, beta2 = _pair(group, "betas")
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        m += (g - m) * (1 - beta1)
        u *= beta2
        np.maximum(u, np.abs(g) + float(group["eps"]), out=u)
        _descend(p, m / u * (float(group["lr"]) / (1 - beta1 ** state["step"])))


class Adadelta(Optimizer):
    """Adadelta. For a parameter ``p`` with gradient ``g``::

        v <- rho * v + (1 - rho) * g**2          (v, u start at 0)
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho * u + (1 - rho) * delta**2
        p <- p - lr * delta

    Buffers: ``"step"``, ``"square_avg"`` (v), ``"acc_delta"`` (u).
    """

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: Optional[bool] = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"eps": "number"}
    buffers = {"step": "step", "square_avg": "array", "acc_delta": "array"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("rho value", group["rho"], 0.0, 1.0)

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Adadelta step of ``p`` (see the class docstring)."""
        _moments(state, p, ("square_avg", "acc_delta"))
        rho, eps = float(group["rho"]), float(group["eps"])
        state["step"] += 1
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (g * g)
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta)
        _descend(p, float(group["lr"]) * delta)


class ASGD(Optimizer):
    """Averaged SGD. At step ``t = 1, 2, ...``, with ``eta`` (starting at ``lr``) and ``mu``
    (starting at 1) the values set by the previous step::

        p <- p * (1 - lambd * eta) - eta * g
        a <- p  if mu == 1,  else  a <- a + mu * (p - a)      (the average, starts at 0)
        eta <- lr / (1 + lambd * lr * t) ** alpha;  mu <- 1 / max(1, t - t0)

    Buffers: ``"step"``, ``"eta"``, ``"mu"``, ``"ax"`` (a).
    """

    def __init__(self, params: Any, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, foreach: Optional[bool] = None,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"lambd": "number", "alpha": "number", "t0": "number"}
    buffers = {"step": "step", "eta": "scalar", "mu": "scalar", "ax": "array"}

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One ASGD step of ``p`` (see the class docstring)."""
        lr, lambd = float(group["lr"]), float(group["lambd"])
        if not state:  # torch's order of the buffers: step, eta, mu, ax
            state["step"], state["eta"], state["mu"] = 0, lr, 1.0
            state["ax"] = np.zeros_like(p.data)
        state["step"] += 1
        t, eta, mu = state["step"], state["eta"], state["mu"]
        np.multiply(p.data, 1 - lambd * eta, out=p.data)
        _descend(p, eta * g)
        ax = state["ax"]
        if mu != 1:
            ax += (p.data - ax) * mu
        else:
            ax[...] = p.data
        state["eta"] = lr / ((1 + lambd * lr * t) ** float(group["alpha"]))
        state["mu"] = 1 / max(1, t - float(group["t0"]))


class Rprop(Optimizer):
    """Resilient backpropagation: a step size per element, grown where the gradient keeps its
    sign and shrunk where it flips::

        s <- clip(s * (etaplus if g * g_prev > 0, etaminus if < 0, else 1), *step_sizes)
        g <- 0 where g * g_prev < 0             (s starts at lr, g_prev at 0)
        p <- p - sign(g) * s;  g_prev <- g

    No weight decay. Buffers: ``"step"``, ``"prev"`` (g_prev), ``"step_size"`` (s).
    """

    def __init__(self, params: Any, lr: float = 1e-2, etas: tuple = (0.5, 1.2), step_sizes: tuple = (1e-6, 50),
                 *, capturable: bool = False, foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, hyper(locals()))

    buffers = {"step": "step", "prev": "array", "step_size": "array"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        etaminus, etaplus = _pair(group, "etas")
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"invalid eta values: {etaminus}, {etaplus} (must be 0 < etas[0] < 1 < etas[1])")
        low, high = _pair(group, "step_sizes")
        if not 0.0 <= low <= high:
            raise ValueError(f"invalid step_sizes: ({low}, {high}) (must be 0 <= step_sizes[0] <= step_sizes[1])")

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Rprop step of ``p`` (see the class docstring)."""
        if not state:
            _moments(state, p, ("prev",))
            state["step_size"] = np.full_like(p.data, float(group["lr"]))
        etaminus, etaplus = _pair(group, "etas")
        state["step"] += 1
        sign = np.sign(g * state["prev"])
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0))
        s = state["step_size"]
        s *= factor
        np.clip(s, *_pair(group, "step_sizes"), out=s)
        g = np.where(sign < 0, 0.0, g).astype(p.data.dtype)
        _descend(p, np.nan_to_num(np.sign(g), nan=0.0) * s)  # (torch's sign of nan is 0: that weight stays)
        state["prev"][...] = g

