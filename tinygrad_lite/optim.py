"""Optimizers and learning-rate schedules.

An optimizer owns a list of *parameter groups*: dicts holding ``"params"`` (a
list of Tensors) and the hyper-parameters for those parameters (``"lr"``,
``"momentum"``, ...). Per-parameter buffers (momentum, running averages, step
counters) live in ``optimizer.state[p]``, created the first time ``step()``
needs them. A new optimizer only has to write ``step()``:

    class SignSGD(Optimizer):
        def step(self, closure=None):
            loss = closure() if closure is not None else None
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data -= group["lr"] * np.sign(p.grad)
            return loss

    opt = SignSGD(model.parameters(), {"lr": 0.01})   # the defaults of every group

The update rules, defaults and ``state_dict()`` layout follow PyTorch's, so the
same gradients give the same weights. Every update happens in place in the
parameter's own array and in its own dtype: a float32 parameter stays float32.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

    ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]

__all__ = [
    "DPSGD",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
]


# --------------------------------------------------------------------------- helpers


def _is_param(obj: Any) -> bool:
    """A parameter is anything with an ndarray ``.data`` and a ``.grad`` slot (a Tensor)."""
    return isinstance(getattr(obj, "data", None), np.ndarray) and hasattr(obj, "grad")


def _check_at_least(name: str, value: Any, low: float = 0.0) -> None:
    # written as `not value >= low` so that NaN is rejected too
    if not value >= low:
        raise ValueError(f"invalid {name}: {value!r} (must be >= {low})")


def _gradient(p: Tensor, maximize: bool = False) -> np.ndarray:
    """``p.grad`` in the parameter's dtype, negated when maximizing (never modified in place)."""
    g = p.grad
    if g.shape != p.data.shape:
        raise RuntimeError(f"gradient of shape {g.shape} does not match its parameter's shape {p.data.shape}")
    if g.dtype != p.data.dtype:
        g = g.astype(p.data.dtype)
    return -g if maximize else g


def _descend(p: Tensor, update: np.ndarray) -> None:
    """``p <- p - update``, in place in ``p.data``."""
    np.subtract(p.data, update, out=p.data)


def _call(closure: Callable[[], Any] | None) -> Any:
    return None if closure is None else closure()


# --------------------------------------------------------------------------- base class


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) each holding
            ``"params"`` and any hyper-parameters that differ from ``defaults``.
        defaults: the hyper-parameters every group gets unless it sets its own.

    Attributes:
        param_groups: list of dicts with ``"params"`` (list of Tensors) and hyper-parameters.
        state: ``state[p]`` is a dict of buffers for parameter ``p``, created on first use.
        defaults: the default hyper-parameters.

    A subclass overrides ``step()`` and may override ``_check_group()`` to validate
    the hyper-parameters of each group.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if _is_param(params) or isinstance(params, dict):
            raise TypeError(
                "params must be an iterable of Tensors or of dicts (parameter groups), "
                f"not a single {type(params).__name__}; wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError if a group's hyper-parameters are invalid (subclasses override)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters; hyper-parameters it does not set are taken from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        params = param_group["params"]
        params = [params] if _is_param(params) else list(params)
        for p in params:
            if not _is_param(p):
                raise TypeError(f"an optimizer can only optimize Tensors, got {type(p).__name__}")
        group = {k: v for k, v in param_group.items() if k != "params"}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        group["params"] = params

        ids = [id(p) for p in params]
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if len(set(ids)) != len(ids) or taken.intersection(ids):
            raise ValueError("a parameter appears more than once in the optimizer's parameter groups")
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self) -> None:
        """Clear ``.grad``, ``.grad_sample`` and ``.grad_sample_norm`` (set them to None) of every
        parameter."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
                p.grad_sample = None
                if hasattr(p, "grad_sample_norm"):
                    p.grad_sample_norm = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters from their gradients.

        If ``closure`` is given it is called first (to recompute the loss) and
        its result is returned; otherwise returns None.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data (arrays, numbers, strings, lists, dicts).

        Parameters are referred to by their index in the order of the groups:
        ``{"state": {index: {buffer name: value}}, "param_groups": [{..., "params": [indices]}]}``.
        Arrays are copies, so later steps do not change a saved state dict.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                saved["params"].append(index[id(p)])
            groups.append(saved)
        state = {
            index[id(p)]: copy.deepcopy(self.state[p])
            for group in self.param_groups
            for p in group["params"]
            if self.state.get(p)
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state made by ``state_dict()``: buffers and hyper-parameters of every group.

        The number of groups, the number of parameters in each group and the
        shape of every buffer must match this optimizer; otherwise a ValueError
        names the mismatch and nothing is changed. Loaded arrays are copied
        (floating ones cast to their parameter's dtype).
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError("an optimizer state_dict is a dict with the entries 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
            isinstance(g, dict) and "params" in g for g in saved_groups
        ):
            raise ValueError("state_dict['param_groups'] must be a list of dicts with a 'params' entry")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the loaded state_dict has {len(saved_groups)} parameter group(s), "
                f"this optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {i} has {len(saved['params'])} parameter(s) in the loaded "
                    f"state_dict and {len(group['params'])} in this optimizer"
                )
            try:
                indices = [int(k) for k in saved["params"]]
            except (TypeError, ValueError):
                raise ValueError(f"param_groups[{i}]['params'] must be a list of parameter indices") from None
            by_index.update(zip(indices, group["params"]))
        if len(by_index) != sum(len(g["params"]) for g in self.param_groups):
            raise ValueError("a parameter index appears twice in the loaded state_dict's param_groups")

        if not isinstance(state_dict["state"], dict):
            raise TypeError("state_dict['state'] must be a dict keyed by parameter index")
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, buffers in state_dict["state"].items():
            try:
                p = by_index[int(key)]
            except (KeyError, ValueError, TypeError):
                raise ValueError(
                    f"the loaded state_dict has state for parameter {key!r}, "
                    f"which is not one of this optimizer's {len(by_index)} parameter indices"
                ) from None
            if not isinstance(buffers, dict):
                raise TypeError(f"the state of parameter {key!r} is a {type(buffers).__name__}, not a dict")
            entry = {}
            for name, value in buffers.items():
                if isinstance(value, np.ndarray) and value.ndim > 0:
                    if value.shape != p.data.shape:
                        raise ValueError(
                            f"state buffer {name!r} of parameter {key!r} has shape {value.shape}, "
                            f"but the parameter has shape {p.data.shape}"
                        )
                    if np.issubdtype(value.dtype, np.floating):
                        value = value.astype(p.data.dtype)  # astype copies
                entry[name] = copy.deepcopy(value)
            new_state[p] = entry

        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            missing = sorted(self.defaults.keys() - saved.keys())
            if missing:
                raise ValueError(f"parameter group {i} of the loaded state_dict lacks {', '.join(missing)}")
            new_group = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)

        # all checks passed: commit (group dicts are updated in place, so references stay valid)
        self.state = new_state
        for group, new_group in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new_group)


# --------------------------------------------------------------------------- optimizers


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and Nesterov momentum.

    For a parameter ``p`` with gradient ``g``, each step does::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0
        if momentum != 0:
            b <- g                              on the first step
            b <- momentum * b + (1 - dampening) * g    afterwards
            g <- g + momentum * b  if nesterov,  else  g <- b
        p <- p - lr * g

    The momentum buffer ``b`` is ``state[p]["momentum_buffer"]``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        self._scratch: dict[Tensor, np.ndarray] = {}  # reused storage for lr * g
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_at_least("learning rate", group["lr"])
        _check_at_least("momentum", group["momentum"])
        _check_at_least("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD step (see the class docstring for the update)."""
        loss = _call(closure)
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), float(group["momentum"])
            dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, group["maximize"])
                if weight_decay != 0:
                    g = g + weight_decay * p.data
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if group["nesterov"] else buf
                # p <- p - lr * g without allocating: lr * g goes into a per-parameter scratch array
                scratch = self._scratch.get(p)
                if scratch is None or scratch.shape != p.data.shape or scratch.dtype != p.data.dtype:
                    scratch = self._scratch[p] = np.empty_like(p.data)
                np.multiply(g, lr, out=scratch)
                _descend(p, scratch)
        return loss


class Adam(Optimizer):
    """Adam, and with ``amsgrad=True`` its AMSGrad variant.

    For a parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0
        m <- beta1 * m + (1 - beta1) * g        (m, v start at 0)
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v)                  if amsgrad; then v_max is used in place of v
        p <- p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Buffers: ``state[p]["step"]`` (int ``t``), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v)
    and ``"max_exp_avg_sq"`` (v_max, with amsgrad).
    """

    _decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_at_least("learning rate", group["lr"])
        _check_at_least("epsilon", group["eps"])
        _check_at_least("weight_decay", group["weight_decay"])
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"invalid beta parameter at index {i}: {beta!r} (must be in [0, 1))")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam step (see the class docstring for the update)."""
        loss = _call(closure)
        for group in self.param_groups:
            lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, group["maximize"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                if group["amsgrad"] and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]

                if weight_decay != 0:
                    if self._decoupled_weight_decay:
                        np.multiply(p.data, 1 - lr * weight_decay, out=p.data)
                    else:
                        g = g + weight_decay * p.data

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
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay.

    Identical to :class:`Adam` except that weight decay shrinks the parameter
    directly instead of being added to the gradient::

        p <- p * (1 - lr * weight_decay)        before the Adam update of step t

    The default ``weight_decay`` is 1e-2.
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    For a parameter ``p`` with gradient ``g``, each step does::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0
        v <- alpha * v + (1 - alpha) * g**2     (v, g_avg, b start at 0)
        if centered:
            g_avg <- alpha * g_avg + (1 - alpha) * g
            d <- sqrt(v - g_avg**2) + eps
        else:
            d <- sqrt(v) + eps
        if momentum > 0:
            b <- momentum * b + g / d
            p <- p - lr * b
        else:
            p <- p - lr * g / d

    Buffers: ``state[p]["step"]``, ``"square_avg"`` (v), ``"grad_avg"`` (g_avg, if
    centered) and ``"momentum_buffer"`` (b, if momentum > 0).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_at_least("learning rate", group["lr"])
        _check_at_least("epsilon", group["eps"])
        _check_at_least("momentum", group["momentum"])
        _check_at_least("weight_decay", group["weight_decay"])
        _check_at_least("alpha", group["alpha"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop step (see the class docstring for the update)."""
        loss = _call(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, group["maximize"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p.data)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = np.zeros_like(p.data)
                if group["centered"] and "grad_avg" not in state:
                    state["grad_avg"] = np.zeros_like(p.data)
                state["step"] += 1

                if weight_decay != 0:
                    g = g + weight_decay * p.data
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
        return loss


class Adagrad(Optimizer):
    """Adagrad.

    For a parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g**2                           (s starts at initial_accumulator_value)
        p <- p - lr_t * g / (sqrt(s) + eps)

    Buffers: ``state[p]["step"]`` (int ``t``) and ``"sum"`` (s).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_at_least("learning rate", group["lr"])
        _check_at_least("lr_decay", group["lr_decay"])
        _check_at_least("weight_decay", group["weight_decay"])
        _check_at_least("initial_accumulator_value", group["initial_accumulator_value"])
        _check_at_least("epsilon", group["eps"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad step (see the class docstring for the update)."""
        loss = _call(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, group["maximize"])
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
                state["step"] += 1
                t = state["step"]

                if weight_decay != 0:
                    g = g + weight_decay * p.data
                lr_t = lr / (1 + (t - 1) * lr_decay)
                s = state["sum"]
                s += g * g
                _descend(p, lr_t * g / (np.sqrt(s) + eps))
        return loss


class DPSGD(Optimizer):
    """Differentially private SGD from per-sample gradients.

    Reads ``p.grad_sample`` (shape ``(B, *p.shape)``, row ``b`` the gradient of
    sample b's own term of the cost) of every parameter and, with ``C =
    max_grad_norm`` and ``sigma = noise_multiplier``::

        n_b   = sqrt(sum over all parameters of |grad_sample_b|**2)   whole-gradient norm of sample b
        c_b   = C / max(n_b, C)  =  min(1, C / n_b)                     clip factor (exact, never 0/0)
        G     = sum_b c_b * grad_sample_b + N(0, (sigma * C)**2)        noise: one draw per element
        p    <- p - lr * G / B                                          B = actual batch size

    So each sample's whole gradient (all parameters together) is scaled to a
    norm of at most C, the noise is added to the SUM, and the result is divided
    by the batch size B read from ``grad_sample``. With ``noise_multiplier=0``
    and a large ``max_grad_norm`` this is SGD on the mean gradient.

    Args:
        rng: a ``numpy.random.Generator``, an int seed, or None (fresh entropy).

    Attributes:
        last_clipped_fraction: fraction of the samples of the last step whose
            norm exceeded ``max_grad_norm``.
        last_batch_size: B of the last step.

    ``state_dict()`` also holds the generator's state, so a run restored from
    it draws the same noise as an uninterrupted one.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        max_grad_norm: float,
        noise_multiplier: float,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        defaults = {"lr": lr, "max_grad_norm": max_grad_norm, "noise_multiplier": noise_multiplier}
        super().__init__(params, defaults)
        self.rng = np.random.default_rng(rng)
        self.last_clipped_fraction: float | None = None
        self.last_batch_size: int | None = None

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_at_least("learning rate", group["lr"])
        _check_at_least("noise_multiplier", group["noise_multiplier"])
        if not group["max_grad_norm"] > 0:
            raise ValueError(f"invalid max_grad_norm: {group['max_grad_norm']!r} (must be > 0)")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One DP-SGD step (see the class docstring for the update)."""
        loss = _call(closure)
        todo = []  # (lr, parameter, its per-sample gradients)
        settings = set()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad_sample is None:
                    if p.grad is not None:
                        raise RuntimeError(
                            f"DPSGD needs per-sample gradients, but a parameter of shape {p.data.shape} has "
                            ".grad and no .grad_sample. Create the input with tl.Tensor(x, batched=True) "
                            "(or use tl.data.DataLoader, which yields batched tensors) so that backward() "
                            "also fills .grad_sample"
                        )
                    continue
                todo.append((float(group["lr"]), p, p.grad_sample))
                settings.add((float(group["max_grad_norm"]), float(group["noise_multiplier"])))
        if not todo:
            return loss
        if len(settings) > 1:
            raise ValueError(
                "all parameter groups of DPSGD must share max_grad_norm and noise_multiplier, "
                "because each sample's gradient is clipped as a whole"
            )
        ((max_norm, noise_multiplier),) = settings

        batch = todo[0][2].shape[0]
        if batch == 0:
            raise RuntimeError("DPSGD got per-sample gradients of an empty batch (B = 0)")
        for _, p, gs in todo:
            if gs.shape[1:] != p.data.shape:
                raise RuntimeError(
                    f"grad_sample of shape {gs.shape} does not fit its parameter of shape {p.data.shape}"
                )
            if gs.shape[0] != batch:
                raise RuntimeError(
                    f"per-sample gradients disagree on the batch size: {batch} and {gs.shape[0]} samples"
                )

        flat = [gs.reshape(batch, -1) for _, _, gs in todo]
        norms = np.sqrt(sum(np.einsum("bi,bi->b", f, f) for f in flat))
        clip = max_norm / np.maximum(norms, max_norm)
        self.last_clipped_fraction = float(np.mean(norms > max_norm))
        self.last_batch_size = int(batch)

        noise_std = noise_multiplier * max_norm
        for lr, p, gs in todo:
            total = np.tensordot(clip.astype(gs.dtype, copy=False), gs, axes=1)
            if noise_std > 0:
                total += (noise_std * self.rng.standard_normal(p.data.shape)).astype(p.data.dtype)
            _descend(p, (lr / batch) * total.astype(p.data.dtype, copy=False))
        return loss

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`Optimizer.state_dict`, plus ``"rng_state"``: the noise generator's state."""
        state = super().state_dict()
        state["rng_state"] = copy.deepcopy(self.rng.bit_generator.state)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`Optimizer.load_state_dict`; also restores the noise generator if saved."""
        rng = self.rng
        if "rng_state" in state_dict:
            rng_state = state_dict["rng_state"]
            name = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
            if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
                raise ValueError(f"state_dict['rng_state'] is not a numpy bit generator state: {rng_state!r}")
            bit_generator = getattr(np.random, name)()
            try:
                bit_generator.state = copy.deepcopy(rng_state)
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"state_dict['rng_state'] is invalid: {exc}") from None
            rng = np.random.Generator(bit_generator)
        super().load_state_dict(state_dict)
        self.rng = rng


# --------------------------------------------------------------------------- learning-rate schedules


class LRScheduler:
    """Base class of the learning-rate schedules.

    On creation every parameter group gets ``"initial_lr"`` (its current lr,
    unless it already has one); ``base_lrs`` are those values. Each call of
    ``step()`` (once per epoch, after ``optimizer.step()``) increments
    ``last_epoch`` and writes the lr of epoch ``last_epoch`` into every group.
    A subclass implements ``get_lr()``: the new lrs computed from the groups'
    current lrs and ``last_epoch``.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr: list[float] = [group["lr"] for group in optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The lr of every group for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the groups' learning rates."""
        self.last_epoch += 1
        lrs = self.get_lr()
        if len(lrs) != len(self.optimizer.param_groups):
            raise ValueError("the optimizer's parameter groups changed after the scheduler was created")
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the latest ``step()`` (or found at creation)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state made by ``state_dict()``."""
        own = self.state_dict().keys()
        unknown = set(state_dict) - own
        if unknown:
            raise ValueError(f"unknown entries for {type(self).__name__}: {sorted(unknown)}")
        self.__dict__.update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    ``lr(epoch) = initial_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """The current lrs, times ``gamma`` when ``last_epoch`` is a multiple of ``step_size``."""
        decay = self.last_epoch % self.step_size == 0
        return [group["lr"] * self.gamma if decay else group["lr"] for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch: ``lr(epoch) = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """The current lrs times ``gamma``."""
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr down to ``eta_min`` over ``T_max`` epochs.

    The schedule (for ``0 <= epoch <= T_max``, and continuing as a cosine
    wave of period ``2 * T_max`` afterwards) is::

        lr(epoch) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    It is applied as a multiplicative update of the groups' current lrs, so a
    change made to a group's lr between epochs carries on through the schedule::

        lr <- eta_min + (lr - eta_min) * (1 + cos(pi * e / T_max)) / (1 + cos(pi * (e - 1) / T_max))

    except where that ratio would divide by zero (``e - 1`` an odd multiple of
    ``T_max``: the bottom of the wave), where
    ``lr <- lr + (initial_lr - eta_min) * (1 - cos(pi / T_max)) / 2``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if not T_max > 0:
            raise ValueError(f"T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        """The lrs of epoch ``last_epoch`` from those of the previous epoch."""
        e, period, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - period) % (2 * period) == 0:
            rise = (1 - math.cos(math.pi / period)) / 2
            return [group["lr"] + (base - low) * rise for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / period)) / (1 + math.cos(math.pi * (e - 1) / period))
        return [low + (group["lr"] - low) * ratio for group in groups]
