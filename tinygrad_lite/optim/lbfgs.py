"""L-BFGS with PyTorch's arguments, state keys and algorithm (one parameter group, a closure
that recomputes the loss and the gradients, optional strong-Wolfe line search).

All parameters are seen as one flat vector ``x`` with gradient ``g``. Each iteration of a
``step(closure)`` picks a direction ``d = -H g`` by the two-loop recursion over the last
``history_size`` pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k`` (a pair is kept when
``y.s > 1e-10``; ``H`` starts as ``(y.s / y.y) I`` of the newest pair, ``I`` before any),
then moves ``x <- x + t d``: with a fixed ``t = lr`` (the first iteration ever:
``t = min(1, 1 / |g|_1) * lr``), or the ``t`` a strong-Wolfe line search finds
(``f(x + t d) <= f(x) + c1 t g.d`` and ``|g(x + t d).d| <= c2 |g.d|``, c1 = 1e-4, c2 = 0.9).
A step stops after ``max_iter`` iterations or ``max_eval`` closure calls, when
``max|g| <= tolerance_grad``, or when the step or the change of the loss is below
``tolerance_change``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional

import numpy as np

from .optimizer import Optimizer, changed

__all__ = ["LBFGS"]


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: Optional[tuple] = None) -> float:
    """The minimiser in ``bounds`` (default ``[min(x1, x2), max(x1, x2)]``) of the cubic with
    values f1, f2 and slopes g1, g2 at x1, x2 (the middle of the bounds if it has none)."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(pos, lo), hi)


def _strong_wolfe(obj: Callable, t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple:
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions: bracket it, then zoom by
    cubic interpolation. ``obj(t)`` is (loss, gradient) at ``x + t d``. Returns
    (loss, gradient, t, number of evaluations)."""
    d_norm = float(np.abs(d).max())
    f_new, g_new = obj(t)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:  # bracketing phase
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, b_f, b_g, b_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, b_f, b_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, b_f, b_g, b_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                          bounds=(t + 0.01 * (t - t_prev), t * 10))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = obj(t)
        evals, gtd_new = evals + 1, float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, b_f, b_g = [0.0, t], [f, f_new], [g, g_new]
    insufficient = False
    low, high = (0, 1) if b_f[0] <= b_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom phase
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], b_f[0], b_gtd[0], bracket[1], b_f[1], b_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:  # too close to an end of the bracket
            if insufficient or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = obj(t)
        evals, gtd_new = evals + 1, float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= b_f[low]:
            bracket[high], b_f[high], b_g[high], b_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if b_f[0] <= b_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], b_f[high], b_g[high], b_gtd[high] = bracket[low], b_f[low], b_g[low], b_gtd[low]
            bracket[low], b_f[low], b_g[low], b_gtd[low] = t, f_new, g_new, gtd_new
    return b_f[low], b_g[low], bracket[low], evals


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"invalid {name}: {value!r} (must be an int >= 1)")
    return int(value)


class LBFGS(Optimizer):
    """L-BFGS (see the module docstring). ``step(closure)`` needs a closure that zeroes the
    gradients, recomputes the loss, calls ``backward()`` and returns the loss; it returns the
    loss of the closure's first call. One parameter group only; no ``maximize`` or weight decay.

    The state (of the first parameter, as in torch) holds ``"func_evals"``, ``"n_iter"`` and,
    after the first step, ``"d"``, ``"t"``, ``"old_dirs"``, ``"old_stps"``, ``"ro"``,
    ``"H_diag"``, ``"prev_flat_grad"``, ``"prev_loss"`` (and ``"al"`` from the second iteration).
    """

    def __init__(self, params: Any, lr: float = 1, max_iter: int = 20, max_eval: Optional[int] = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None) -> None:
        if max_eval is None:
            max_eval = _positive_int("max_iter", max_iter) * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                                  "history_size": history_size, "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    checks = {"tolerance_grad": "number", "tolerance_change": "number"}

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("max_iter", "max_eval", "history_size"):
            _positive_int(name, group[name])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"invalid line_search_fn: {group['line_search_fn']!r} (only None and "
                             "'strong_wolfe' are supported)")

    def add_param_group(self, param_group: dict) -> None:
        """Refused once there is a group: LBFGS has exactly one."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_buffer(self, name: str, value: Any, p: Any, key: Any) -> Any:
        """A loaded buffer: arrays copied (flat ones of all parameters' size), 0-d arrays and
        numbers as Python numbers, lists element-wise."""
        if isinstance(value, (list, tuple)):
            return [self._check_buffer(name, v, p, key) for v in value]
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                value = value.item()
            elif value.ndim != 1 or value.size != self._numel():
                raise ValueError(f"LBFGS state buffer {name!r} has shape {value.shape}, expected "
                                 f"({self._numel()},) (all parameters flattened)")
            else:
                return value.astype(self._params[0].data.dtype)
        if name in ("func_evals", "n_iter"):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"LBFGS state buffer {name!r} must be an int >= 0, got {value!r}")
            return int(value)
        if value is None or isinstance(value, numbers.Real):
            return value
        raise ValueError(f"LBFGS state buffer {name!r} has unsupported type {type(value).__name__}")

    def _numel(self) -> int:
        return sum(p.data.size for p in self._params)

    def _flat_grad(self) -> np.ndarray:
        """All gradients as one vector (zeros for a parameter without a gradient)."""
        dtype = self._params[0].data.dtype
        return np.concatenate([np.zeros(p.data.size, dtype) if p.grad is None
                               else np.asarray(p.grad, dtype).reshape(-1) for p in self._params])

    def _add(self, t: float, d: np.ndarray) -> None:
        """``x <- x + t d``, in place in each parameter."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset:offset + n].reshape(p.data.shape)
            changed(p)
            offset += n

    def _set(self, values: list) -> None:
        for p, v in zip(self._params, values):
            p.data[...] = v
            changed(p)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:  # noqa: C901 (one algorithm)
        """Run up to ``max_iter`` L-BFGS iterations (see the class docstring)."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that recomputes the loss and its gradients")
        group = self.param_groups[0]
        self._check_group(group)
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = float(group["tolerance_grad"]), float(group["tolerance_change"])
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss, evals = float(orig_loss), 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1.0
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair (curvature condition)
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                al = state.setdefault("al", [None] * history_size)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):  # two-loop recursion: d = -H g
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    d = d + (al[i] - float(old_dirs[i] @ d) * ro[i]) * old_stps[i]
            prev_flat_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            ls_evals = 0
            opt_cond = False
            if group["line_search_fn"] == "strong_wolfe":
                x0 = [p.data.copy() for p in self._params]

                def obj(step: float, x0: list = x0, d: np.ndarray = d) -> tuple:
                    self._add(step, d)
                    value = float(closure())
                    grad = self._flat_grad()
                    self._set(x0)
                    return value, grad

                loss, flat_grad, t, ls_evals = _strong_wolfe(obj, t, d, loss, flat_grad, gtd,
                                                             max_ls=max_eval - evals)
                self._add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tol_grad
            else:
                self._add(t, d)
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == max_iter or evals >= max_eval or opt_cond or np.abs(d * t).max() <= tol_change
                    or abs(loss - prev_loss) < tol_change):
                break
        state.update({"d": d, "t": t, "old_dirs": old_dirs, "old_stps": old_stps, "ro": ro, "H_diag": h_diag,
                      "prev_flat_grad": prev_flat_grad, "prev_loss": prev_loss})
        return orig_loss
