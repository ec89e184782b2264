"""The update rules: SGD, Adam, AdamW, RMSprop, Adagrad, with PyTorch's defaults and
formulas (so the same gradients give the same weights). Each class validates its
hyper-parameters and writes ``update()``; the loop, ``maximize`` and L2 weight decay are
the base class's. Every update happens in place in the parameter's own array and dtype.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .._blas import MIN_SIZE, axpy, tmm_apply, tmm_fits
from ..lazygrad import LazyGrad
from ..ops.memory import relaid, scratch
from ..tensor import Tensor
from .optimizer import Optimizer, check_bool, check_number, hyper

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _descend(p: Any, update: np.ndarray) -> None:
    """``p <- p - update``, in place in ``p.data``."""
    np.subtract(p.data, update, out=p.data)


def decay_decoupled(p: Any, group: dict) -> None:
    """Decoupled weight decay ``p <- p * (1 - lr * weight_decay)``, in place (a no-op when
    ``weight_decay`` is 0)."""
    wd = float(group["weight_decay"])
    if wd != 0:
        np.multiply(p.data, 1 - float(group["lr"]) * wd, out=p.data)


def _check_betas(betas: Any) -> None:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"invalid betas: {betas!r} (must be a pair (beta1, beta2))")
    for i, beta in enumerate(betas):
        check_number(f"beta parameter at index {i}", beta, 0.0, 1.0, high_open=True)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and Nesterov momentum.

    For a parameter ``p`` with gradient ``g`` (after ``maximize`` and weight decay)::

        if momentum != 0:
            b <- g                              on the first step
            b <- momentum * b + (1 - dampening) * g    afterwards
            g <- g + momentum * b  if nesterov,  else  g <- b
        p <- p - lr * g

    The momentum buffer ``b`` is ``state[p]["momentum_buffer"]``. The arguments are torch's, in
    its order; a bool fourth argument is the contract's ``SGD(params, lr, momentum, nesterov)``.
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False, *,
                 foreach: Optional[bool] = None, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        if isinstance(dampening, (bool, np.bool_)) and nesterov is False:  # (no dampening is a bool)
            nesterov, dampening = bool(dampening), 0.0
        super().__init__(params, hyper(locals()))

    checks = {"momentum": "number", "dampening": "number", "nesterov": "bool"}
    buffers = {"momentum_buffer": "array?"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    takes_factors = True

    def _factored_group(self, group: dict) -> bool:
        return not (group["nesterov"] or group["weight_decay"] or group["maximize"])

    def flat_group(self, group: dict) -> bool:
        return group["momentum"] == 0  # (then the step is p <- p - lr g, without state)

    def update_flat(self, flat: np.ndarray, gflat: np.ndarray, group: dict) -> None:
        """``flat <- flat - lr * gflat``, as update() computes each small parameter (``gflat``
        is this step's own concatenation of the gradients and may be overwritten)."""
        np.subtract(flat, np.multiply(gflat, float(group["lr"]), out=gflat), out=flat)

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One SGD step of ``p`` (see the class docstring)."""
        momentum = group["momentum"]
        if type(g) is LazyGrad:  # g = sum_k G_k^T X_k, not multiplied out (a Linear weight's)
            if type(p) is Tensor and p._data.flags.c_contiguous:
                _column_order(p, g)
            if _factored_step(p._data, g, state, group):
                return
            g = p.grad  # (multiplied out)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        # p <- p - lr * g in place, lr * g in p's dtype: one BLAS axpy pass over a large array;
        # else numpy, with a temporary for a small one and this thread's scratch array for a large one
        d = p._data if type(p) is Tensor else p.data
        lr = float(group["lr"])  # a Python float: lr * g stays in g's dtype, which is p's
        if d.size >= MIN_SIZE and axpy(-lr, g, d):  # (below MIN_SIZE BLAS does not pay: not asked)
            return
        if d.size < 65536:
            np.subtract(d, np.multiply(g, lr), out=d)
            return
        lr_g = np.multiply(g, lr, out=scratch("sgd.lr_g", d.shape, d.dtype))
        np.subtract(d, lr_g, out=d)


# a weight of at least this many elements, stepped from a batch of more than COLUMN_ROWS samples,
# moves to column order (see _column_order)
COLUMN_MIN, COLUMN_ROWS = 65536, 32


def _column_order(p: Tensor, g: LazyGrad) -> None:
    """Keep a large float32 Linear weight ``W`` (out, in) in column (Fortran) order from its
    first step on a batch of more than ``COLUMN_ROWS`` samples: the forward's ``x @ W.T`` then
    reads ``W^T`` in row order, which OpenBLAS's sgemm multiplies 5-10% faster than a
    transposed operand from about 48 rows up, while the update ``W^T <- W^T - lr X^T G`` costs
    what ``W <- W - lr G^T X`` does (a training step of a 784-256-128-10 MLP: 2% faster at
    256 samples, 8% at 64, measured with one BLAS thread on x86-64). Up to 32 rows
    ``ops.base.xwt`` has a faster way for row order; for float64 the column-ordered update is
    slower than the forward gains; there the weight stays in row order.
    The values are copied once and ``p.data`` is from then on the new array, only when nothing
    but the Tensor holds the old one (``ops.memory.relaid``): values, reads and writes are the
    same. Reshapes and views of it (``view``, ``flatten``, ...), ``contiguous()``,
    ``is_contiguous()`` and ``stride()`` put it back in row order first, as torch has it; only
    ``p.data.flags`` shows the column order."""
    d = p._data
    if d.dtype is _F32 and d.ndim == 2 and d.size >= COLUMN_MIN and sum(X.shape[0] for _, X in g.parts) > COLUMN_ROWS:
        d = None
        relaid(p, "F")


_F32 = np.dtype(np.float32)


def _factored_step(d: np.ndarray, g: LazyGrad, state: dict, group: dict) -> bool:
    """SGD's step with g = sum_k G_k^T X_k applied from its factors, one BLAS call per term
    (``_blas.tmm_apply``, once ``tmm_fits`` holds for every term): ``d <- d - lr G^T X`` without
    momentum, else the momentum buffer
    ``b <- momentum b + (1 - dampening) G^T X`` (``b <- G^T X`` on the first step) and then
    ``d <- d - lr b``. The product is never written out; ``.grad`` still reads it (the factors
    are kept). False, changing nothing, where BLAS cannot (then the caller multiplies it out):
    Nesterov momentum, or factors or arrays BLAS does not take."""
    momentum = group["momentum"]
    if group["nesterov"]:
        return False
    target, first = d, False
    if momentum != 0:
        target = state.get("momentum_buffer")
        first = target is None
        if first:
            target = np.empty_like(d)
    if not all(tmm_fits(G, X, target) for G, X in g.parts):
        return False
    lr = float(group["lr"])
    if momentum == 0:
        for G, X in g.parts:
            tmm_apply(-lr, G, X, d, 1.0)
        return True
    alpha = 1.0 if first else 1.0 - group["dampening"]
    for i, (G, X) in enumerate(g.parts):
        tmm_apply(alpha, G, X, target, (0.0 if first else momentum) if i == 0 else 1.0)
    state["momentum_buffer"] = target
    if not axpy(-lr, target, d):
        np.subtract(d, np.multiply(target, lr), out=d)
    return True


def adam_state(p: Any, state: dict) -> None:
    """Adam's state of ``p`` on its first step: the step count and the two moment estimates
    (zeros of ``p``'s shape and dtype), torch's keys."""
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(p.data)
        state["exp_avg_sq"] = np.zeros_like(p.data)


class Adam(Optimizer):
    """Adam, and with ``amsgrad=True`` its AMSGrad variant.

    For a parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        m <- beta1 * m + (1 - beta1) * g        (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v)                  if amsgrad; then v_max is used in place of v
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Buffers: ``state[p]["step"]`` (int ``t``), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v)
    and ``"max_exp_avg_sq"`` (v_max, with amsgrad).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False, *,
                 foreach: Optional[bool] = None, capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(betas, list):
            betas = tuple(betas)
        check_bool("decoupled_weight_decay", decoupled_weight_decay)  # (each group's flag: AdamW's rule, as torch)
        super().__init__(params, hyper(locals()))

    checks = {"eps": "number", "amsgrad": "bool"}
    buffers = {"step": "step", "exp_avg": "array", "exp_avg_sq": "array", "max_exp_avg_sq": "array"}
    required = ("step", "exp_avg", "exp_avg_sq")

    def _needs(self, group: dict) -> tuple:
        return ("max_exp_avg_sq",) if group.get("amsgrad") else ()

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        # torch keeps this flag in each Adam/AdamW group: an Adam group with it set decays as AdamW's;
        # AdamW sets it in every group (also in a loaded Adam state, as torch's AdamW does)
        if self.decoupled_weight_decay:
            group["decoupled_weight_decay"] = True
        check_bool("decoupled_weight_decay", group.setdefault("decoupled_weight_decay", False))

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Adam step of ``p`` (see the class docstring)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        adam_state(p, state)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        if group["decoupled_weight_decay"]:
            decay_decoupled(p, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        _descend(p, step_size * m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p <- p * (1 - lr * weight_decay)`` before the
    Adam update of step t (instead of adding ``weight_decay * p`` to the gradient). The
    default ``weight_decay`` is 1e-2."""

    decoupled_weight_decay = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False, *,
                 foreach: Optional[bool] = None, capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    For a parameter ``p`` with gradient ``g``::

        v <- alpha * v + (1 - alpha) * g**2     (v, g_avg, b start at 0)
        d <- sqrt(v - g_avg**2) + eps  with g_avg <- alpha * g_avg + (1 - alpha) * g  if centered,
             sqrt(v) + eps otherwise
        b <- momentum * b + g / d;  p <- p - lr * b      if momentum > 0
        p <- p - lr * g / d                              otherwise

    Buffers: ``state[p]["step"]``, ``"square_avg"`` (v), ``"grad_avg"`` (g_avg, if
    centered) and ``"momentum_buffer"`` (b, if momentum > 0).
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:  # (torch's order: all may be passed by position)
        super().__init__(params, hyper(locals()))

    checks = {"eps": "number", "momentum": "number", "alpha": "number", "centered": "bool"}
    buffers = {"step": "step", "square_avg": "array", "grad_avg": "array", "momentum_buffer": "array"}
    required = ("step", "square_avg")

    def _needs(self, group: dict) -> tuple:
        return (("momentum_buffer",) if group.get("momentum", 0) > 0 else ()) + (
            ("grad_avg",) if group.get("centered") else ())

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One RMSprop step of ``p`` (see the class docstring)."""
        lr, alpha, eps, momentum = float(group["lr"]), float(group["alpha"]), float(group["eps"]), group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            g_avg = state["grad_avg"]
            g_avg *= alpha
            g_avg += (1 - alpha) * g
            denom = np.sqrt(v - g_avg * g_avg) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / denom
            _descend(p, lr * buf)
        else:
            _descend(p, lr * g / denom)


class Adagrad(Optimizer):
    """Adagrad. For a parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g**2                           (s starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(s) + eps)

    As torch, ``s`` starts at the constructor's ``initial_accumulator_value`` for every
    parameter; a param group's own entry of that name is kept but not read.
    Buffers: ``state[p]["step"]`` (int ``t``) and ``"sum"`` (s).
    """

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: Optional[bool] = None) -> None:
        super().__init__(params, hyper(locals()))

    checks = {"lr_decay": "number", "initial_accumulator_value": "number", "eps": "number"}
    buffers = {"step": "step", "sum": "array"}

    def update(self, p: Any, g: np.ndarray, state: dict, group: dict) -> None:
        """One Adagrad step of ``p`` (see the class docstring)."""
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, self.defaults["initial_accumulator_value"])
        state["step"] += 1
        lr_t = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        s = state["sum"]
        s += g * g
        _descend(p, lr_t * g / (np.sqrt(s) + float(group["eps"])))
