"""The checking and mode names of ``torch.autograd`` that ``tl.autograd`` also holds:
``gradcheck`` and ``gradgradcheck`` (torch's signatures, on top of ``tl.gradcheck``),
``detect_anomaly`` / ``set_detect_anomaly`` and the ``grad_mode`` namespace.

``tinygrad_lite/__init__.py`` attaches these names to ``tl.autograd``. Nothing here keeps
state: the checks restore every input they perturb, the modes are ``graph``'s per-thread
flags.
"""

from __future__ import annotations

import math
import numbers
import types
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import gradcheck as _fd
from .anomaly import detect_anomaly
from .autograd import grad
from .graph import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled, state
from .random import default_generator
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "detect_anomaly", "set_detect_anomaly", "grad_mode",
           "Variable", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_multithreading_enabled",
           "set_multithreading_enabled"]

GradcheckError = _fd.GradcheckError

grad_mode = types.ModuleType("tinygrad_lite.autograd.grad_mode", "torch.autograd.grad_mode's names: the grad modes.")
grad_mode.no_grad = no_grad  # type: ignore[attr-defined]
grad_mode.enable_grad = enable_grad  # type: ignore[attr-defined]
grad_mode.set_grad_enabled = set_grad_enabled  # type: ignore[attr-defined]
grad_mode.inference_mode = inference_mode  # type: ignore[attr-defined]
grad_mode.is_grad_enabled = is_grad_enabled  # type: ignore[attr-defined]
grad_mode.__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode"]  # type: ignore[attr-defined]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:  # every Tensor is a Variable, as in torch
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """torch's older wrapper, kept for old code: ``Variable(t, requires_grad=False)`` is a new
    leaf Tensor sharing ``t``'s data (cut from ``t``'s graph, as ``t.detach()``) with the
    given ``requires_grad``; ``isinstance(x, Variable)`` holds for every Tensor. ``volatile``
    has no effect (a UserWarning says so; use ``no_grad()``)."""

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:  # type: ignore[misc]
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable: data has to be a Tensor, got {type(data).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Variable: requires_grad must be a bool, got {requires_grad!r}")
        if volatile:
            import warnings
            warnings.warn("Variable: volatile has no effect; use `with tl.no_grad():`", UserWarning, stacklevel=2)
        out = data.detach()
        return out.requires_grad_(True) if requires_grad else out


_MULTITHREADING = [True]


def is_multithreading_enabled() -> bool:
    """torch's switch for its multithreaded backward engine: this library's backward always
    runs in the calling thread, and the switch is only recorded (default True)."""
    return _MULTITHREADING[0]


class set_multithreading_enabled:
    """Records torch's multithreaded-backward switch (no effect here: see
    :func:`is_multithreading_enabled`); a statement, or a context manager that restores it."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_multithreading_enabled: mode must be a bool, got {mode!r}")
        self._prev = _MULTITHREADING[0]
        _MULTITHREADING[0] = mode

    def __enter__(self) -> "set_multithreading_enabled":
        return self

    def __exit__(self, *exc: Any) -> None:
        _MULTITHREADING[0] = self._prev


class set_detect_anomaly(detect_anomaly):
    """Switch anomaly detection on (``mode=True``) or off in this thread, as torch's: at once
    when called (a statement), until the end of the block as a context manager, while the
    function runs as a decorator. ``check_nan=False`` also switches the checks off (this
    library's detection is its NaN/Inf check). See ``tl.detect_anomaly``."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        for name, v in (("mode", mode), ("check_nan", check_nan)):
            if not isinstance(v, bool):
                raise TypeError(f"set_detect_anomaly: {name} must be a bool, got {v!r}")
        self._init(mode and check_nan)
        self._prev.append(state.anomaly)
        state.anomaly = self._mode
        self._applied = True


_NO_FUNC = object()


def _inputs(where: str, inputs: Any, name: str = "inputs", func: Any = _NO_FUNC) -> tuple:
    """``inputs`` as a tuple (a lone Tensor wrapped); given ``func``, first checks it is callable."""
    if func is not _NO_FUNC and not callable(func):
        raise TypeError(f"{where}: func must be callable, got {type(func).__name__}")
    if isinstance(inputs, Tensor):
        return (inputs,)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{where}: {name} must be a Tensor or a tuple of them, got {type(inputs).__name__}")
    return tuple(inputs)


def _outputs(where: str, out: Any) -> list:
    """The Tensors among ``func``'s result (one Tensor or a tuple/list holding some)."""
    items = [out] if isinstance(out, Tensor) else list(out) if isinstance(out, (list, tuple)) else None
    if items is None:
        raise TypeError(f"{where}: func must return a Tensor or a tuple of Tensors, got {type(out).__name__}")
    return [o for o in items if isinstance(o, Tensor)]


def _check_options(where: str, eps: Any, atol: Any, rtol: Any, nondet_tol: Any, flags: dict,
                   unsupported: Sequence[str]) -> None:
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol), ("nondet_tol", nondet_tol)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0 \
                or (name == "eps" and v == 0):
            raise ValueError(f"{where}: {name} must be a finite number {'> 0' if name == 'eps' else '>= 0'}, "
                             f"got {v!r}")
    for name, v in flags.items():
        if not isinstance(v, bool):
            raise TypeError(f"{where}: {name} must be a bool, got {v!r}")
    for name in unsupported:
        if flags[name]:
            raise NotImplementedError(f"{where}: {name}=True is not supported by this check, which compares "
                                      "reverse-mode gradients with finite differences (forward mode: "
                                      "tl.autograd.forward_ad; batched gradients: tl.func.vmap, "
                                      "tl.autograd.grad(..., is_grads_batched=True))")


def _run(where: str, func: Callable, args: tuple, eps: float, atol: float, rtol: float, raise_exception: bool) -> bool:
    """Every output element's gradient against central differences (``tl.gradcheck`` per element)."""
    with enable_grad():
        outs = _outputs(where, func(*args))
    if not any(o.requires_grad for o in outs):  # nothing differentiable: the function must not vary
        return _constant(where, func, args, outs, eps, raise_exception)
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue  # (an output the inputs do not reach: nothing to check)
        if o.data.dtype.kind not in "fc":
            raise TypeError(f"{where}: output {k} requires grad but has dtype {o.data.dtype}")
        for j in range(o.data.size):
            def element(*xs: Any, k: int = k, j: int = j) -> Tensor:
                return _outputs(where, func(*xs))[k].reshape(-1)[j]

            try:
                with enable_grad():
                    _fd.gradcheck(element, list(args), eps=eps, atol=atol, rtol=rtol)
            except GradcheckError as e:
                if not raise_exception:
                    return False
                idx = tuple(int(i) for i in np.unravel_index(j, o.data.shape)) if o.data.ndim else ()
                raise GradcheckError(f"{where}: Jacobian mismatch for output {k}, element {idx}: "
                                     f"{str(e).removeprefix('gradcheck: ')}") from None
    return True


def _constant(where: str, func: Callable, args: tuple, outs: list, eps: float, raise_exception: bool) -> bool:
    """torch's check of a function none of whose outputs requires grad (``x.detach().sin()``):
    its central differences with respect to every input that requires grad must all be 0
    (within 1e-8), else ``GradcheckError`` (False with ``raise_exception=False``)."""
    for x in args:
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        d = x.data  # (each entry is perturbed in place, then restored)
        for i in np.ndindex(*d.shape):
            keep = d[i]
            try:
                d[i] = keep + eps
                with no_grad():
                    up = [np.array(o.data, dtype=np.float64) for o in _outputs(where, func(*args))]
                d[i] = keep - eps
                with no_grad():
                    down = [np.array(o.data, dtype=np.float64) for o in _outputs(where, func(*args))]
            finally:
                d[i] = keep
            if any(np.any(np.abs((u - d) / (2 * eps)) > 1e-8) for u, d in zip(up, down)):
                if not raise_exception:
                    return False
                raise GradcheckError(f"{where}: Numerical gradient for function expected to be zero (no output "
                                     f"requires grad, but output values change with input element {i})")
    return True


def gradcheck(func: Callable, inputs: Union[Tensor, Sequence[Any]], *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: Optional[bool] = None) -> bool:
    """Check ``func``'s backward against central finite differences, as ``torch.autograd.gradcheck``.

    ``func(*inputs)`` returns a Tensor or a tuple of Tensors of any shape; ``inputs`` is a
    Tensor or a tuple (non-Tensors are passed through). For every output element ``y_j``,
    every input ``x`` with ``requires_grad`` and every index ``i``, the analytic
    ``dy_j/dx_i`` (a backward from ``y_j``) must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|`` with
    ``numeric = (y_j(x + eps e_i) - y_j(x - eps e_i)) / (2 eps)``: the whole Jacobian is
    checked. Returns True; a mismatch raises ``GradcheckError`` naming the output element,
    the input and index and both values (``raise_exception=False``: returns False). Use
    float64 inputs. Outputs that do not require grad are skipped (when none does, the
    function must not vary with the inputs, as torch checks); ``fast_mode`` runs the
    full check; ``check_backward_ad=False`` checks nothing; ``nondet_tol``,
    ``check_undefined_grad``, ``check_grad_dtypes`` and ``masked`` are accepted;
    forward-mode and batched checks raise NotImplementedError.
    """
    where = "autograd.gradcheck"
    args = _inputs(where, inputs, func=func)
    flags = {"raise_exception": raise_exception, "check_undefined_grad": check_undefined_grad,
             "check_grad_dtypes": check_grad_dtypes, "check_batched_grad": check_batched_grad,
             "check_batched_forward_grad": check_batched_forward_grad, "check_forward_ad": check_forward_ad,
             "check_backward_ad": check_backward_ad, "fast_mode": fast_mode}
    if masked is not None and not isinstance(masked, bool):
        raise TypeError(f"{where}: masked must be a bool or None, got {masked!r}")
    _check_options(where, eps, atol, rtol, nondet_tol, flags,
                   ("check_batched_grad", "check_batched_forward_grad", "check_forward_ad"))
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        raise ValueError(f"{where}: no input has requires_grad=True")
    if not check_backward_ad:
        return True
    return _run(where, func, args, float(eps), float(atol), float(rtol), raise_exception)


def gradgradcheck(func: Callable, inputs: Union[Tensor, Sequence[Any]], grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
                  check_grad_dtypes: bool = False, check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives, as ``torch.autograd.gradgradcheck``: ``gradcheck`` of

        (inputs, v) -> tl.autograd.grad(func(*inputs), inputs, v, create_graph=True)

    the vector-Jacobian products of ``func`` with cotangents ``v`` (``grad_outputs``: one
    Tensor per output that requires grad, each of its output's shape; None: uniform in
    ``[-1, 1)`` from the default generator, ``tl.manual_seed``), differentiated with respect
    to both the inputs and ``v``. The gradients of inputs ``func`` does not use are left out.
    Returns True, or raises ``GradcheckError`` (``raise_exception=False``: returns False).
    """
    where = "autograd.gradgradcheck"
    args = _inputs(where, inputs, func=func)
    flags = {"raise_exception": raise_exception, "gen_non_contig_grad_outputs": gen_non_contig_grad_outputs,
             "check_undefined_grad": check_undefined_grad, "check_grad_dtypes": check_grad_dtypes,
             "check_batched_grad": check_batched_grad, "check_fwd_over_rev": check_fwd_over_rev,
             "check_rev_over_rev": check_rev_over_rev, "fast_mode": fast_mode, "masked": masked}
    _check_options(where, eps, atol, rtol, nondet_tol, flags, ("check_batched_grad", "check_fwd_over_rev"))
    wanted = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not wanted:
        raise ValueError(f"{where}: no input has requires_grad=True")
    with enable_grad():
        outs = [o for o in _outputs(where, func(*args)) if o.requires_grad]
    if grad_outputs is None:
        rng = default_generator()
        gos = [Tensor(rng.uniform(-1.0, 1.0, o.shape).astype(o.dtype), requires_grad=True) for o in outs]
    else:
        gos = list(_inputs(where, grad_outputs, "grad_outputs"))
        if len(gos) != len(outs):
            raise ValueError(f"{where}: got {len(gos)} grad_outputs for {len(outs)} output(s) that require grad")
        for k, (g, o) in enumerate(zip(gos, outs)):
            if not isinstance(g, Tensor) or g.shape != o.shape:
                raise ValueError(f"{where}: grad_outputs[{k}] must be a Tensor of shape {o.shape}, got "
                                 f"{getattr(g, 'shape', type(g).__name__)}")
    if not check_rev_over_rev:
        return True
    n = len(args)

    def first_grads(*xs: Any) -> tuple:
        ins, vs = xs[:n], xs[n:]
        with enable_grad():  # (also at the perturbed points, which gradcheck evaluates without a graph)
            ys = [o for o in _outputs(where, func(*ins)) if o.requires_grad]
            gs = grad(ys, [ins[i] for i in wanted], list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return _run(where, first_grads, args + tuple(gos), float(eps), float(atol), float(rtol), raise_exception)
