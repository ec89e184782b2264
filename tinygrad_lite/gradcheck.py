"""Gradient checking against central finite differences."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, Sequence

import numpy as np

from .graph import no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Check the backward pass of ``fn(*inputs)`` (a one-element Tensor) numerically.

    For every input with ``requires_grad`` and every index i, the central difference

        (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

    must match the analytic ``x.grad[i]`` within ``atol + rtol * |numeric|``. Returns
    ``True``, or raises ``GradcheckError`` naming the input, the index and both values.
    Use float64 inputs: float32 differences are too coarse (a warning says so).
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, Tensor) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"gradcheck: inputs must be a list or tuple of Tensors, got {type(inputs).__name__}")
    for name, v, low in (("eps", eps, 0.0), ("atol", atol, None), ("rtol", rtol, None)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"gradcheck: {name} must be a real number, got {v!r}")
        if not math.isfinite(v) or v < 0 or (low is not None and v <= low):
            raise ValueError(f"gradcheck: {name} must be a finite number {'> 0' if low is not None else '>= 0'}, "
                             f"got {v!r}")
    inputs = list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    if any(t.data.dtype != np.float64 for t in checked):
        warnings.warn("gradcheck: inputs are not float64; finite differences in lower precision are "
                      "unreliable", stacklevel=2)
    saved = [(t.grad, t.grad_sample) for t in checked]
    for t in checked:
        t.zero_grad()
    try:
        out = fn(*inputs)
        if not isinstance(out, Tensor) or out.data.size != 1:
            raise ValueError("gradcheck: fn must return a one-element Tensor")
        out.backward(per_sample=False)
        analytic = [np.zeros_like(t.data) if t.grad is None else np.array(t.grad, dtype=np.float64)
                    for t in checked]
    finally:
        for t, (g, gs) in zip(checked, saved):
            t.grad, t.grad_sample = g, gs

    def f() -> float:
        with no_grad():
            return float(fn(*inputs).data.reshape(()))

    for t in checked:  # perturb in place below: needs a writeable contiguous array
        if not (t.data.flags.c_contiguous and t.data.flags.writeable):
            t.data = np.array(t.data, order="C")  # np.array alone keeps a Fortran layout

    for t, an in zip(checked, analytic):
        label = f"input {next(k for k, u in enumerate(inputs) if u is t)}" + (f" ('{t.name}')" if t.name else "")
        flat = t.data.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            try:  # the input is restored even when fn raises at a perturbed point
                flat[i] = old + eps
                fp = f()
                flat[i] = old - eps
                fm = f()
            finally:
                flat[i] = old
            num = (fp - fm) / (2 * eps)
            a = float(an.reshape(-1)[i])
            if not abs(a - num) <= atol + rtol * abs(num):
                idx = np.unravel_index(i, t.data.shape) if t.data.ndim else ()
                raise GradcheckError(f"gradcheck: {label}, index {tuple(int(j) for j in idx)}: "
                                     f"analytic {a!r} vs numeric {num!r}")
    return True
