"""``tl.nn.utils``: gradient clipping, and parameters as one vector, as in PyTorch;
``tl.nn.utils.rnn.pad_sequence`` pads sequences into one batch."""

from __future__ import annotations

import numbers
import warnings
from typing import Iterable, Optional, Union

import numpy as np

from ...tensor import Tensor
from . import rnn  # noqa: F401  (tl.nn.utils.rnn.pad_sequence, as torch.nn.utils.rnn)

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters",
           "TotalNorm"]


class TotalNorm(float):
    """The total gradient norm that ``clip_grad_norm_`` returns: a Python float, which also
    answers what scripts call on torch's 0-d tensor result (``norm.item()``, ``.tolist()``,
    ``.detach()``, ``.cpu()``, ``.numpy()``)."""

    def item(self) -> float:
        """The norm as a plain float."""
        return float(self)

    def tolist(self) -> float:
        """The norm as a plain float (a 0-d tensor's list is its number)."""
        return float(self)

    def detach(self) -> "TotalNorm":
        """Itself: a number carries no graph."""
        return self

    def cpu(self) -> "TotalNorm":
        """Itself: it is in host memory."""
        return self

    def numpy(self) -> np.ndarray:
        """The norm as a 0-d float64 array."""
        return np.asarray(float(self))


def _params(parameters: Union[Tensor, Iterable[Tensor]], who: str = "clip_grad") -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    if not isinstance(parameters, Iterable) or isinstance(parameters, (str, bytes)):
        raise TypeError(f"{who}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}")
    ps = list(parameters)
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters must be Tensors, got {type(p).__name__}")
    return ps


def _foreach(who: str, foreach: object) -> None:
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError(f"{who}: foreach must be None or a bool, got {foreach!r}")


def _real(who: str, name: str, v: object) -> float:
    """``v`` as a float: a real number, or a one-element Tensor / array of one (torch takes a
    tensor here, and ``norm_type`` through ``float()``, so also ``"inf"``)."""
    raw = v.data if isinstance(v, Tensor) else v
    if isinstance(raw, np.ndarray) and raw.size == 1 and raw.dtype.kind in "iuf":
        return float(raw.reshape(()))
    if name == "norm_type" and isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise TypeError(f"{who}: norm_type must be a real number or 'inf', got {v!r}") from None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    return float(v)


def clip_grad_norm_(parameters: Union[Tensor, Iterable[Tensor]], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> TotalNorm:
    """Scale every ``p.grad`` in place by ``min(1, max_norm / (total_norm + 1e-6))`` where
    ``total_norm = (sum_p |p.grad|_q^q)^(1/q)`` over all parameters together (q = norm_type,
    ``inf`` for the largest entry); returns ``total_norm`` as a float, as torch does (a
    :class:`TotalNorm`, so ``norm.item()`` works as on torch's 0-d tensor).
    Parameters without a gradient are skipped. ``foreach`` (torch's choice of kernel) changes
    nothing: None or a bool."""
    _foreach("clip_grad_norm_", foreach)
    ps = [p for p in _params(parameters) if p.grad is not None]
    max_norm = _real("clip_grad_norm_", "max_norm", max_norm)
    q = _real("clip_grad_norm_", "norm_type", norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if q != q:
        raise ValueError(f"clip_grad_norm_: norm_type must be a number, got {norm_type!r}")
    if not isinstance(error_if_nonfinite, (bool, np.bool_)):
        raise TypeError(f"clip_grad_norm_: error_if_nonfinite must be a bool, got {error_if_nonfinite!r}")
    if not ps:
        return TotalNorm(0.0)
    if not q > 0:  # (0: the count of parameters with a non-zero gradient; q < 0 and -inf: as torch)
        from .fusion import _vector_norm
        total = _vector_norm(np.array([_vector_norm(p.grad.astype(np.float64), q) for p in ps]), q)
    elif q == np.inf:
        total = max(float(np.max(np.abs(p.grad))) if p.grad.size else 0.0 for p in ps)
    elif q == 2.0:
        total = float(np.sqrt(sum(float(np.vdot(p.grad, p.grad).real) for p in ps)))
    else:
        total = float(sum(float(np.sum(np.abs(p.grad.astype(np.float64)) ** q)) for p in ps) ** (1.0 / q))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}")
    total = TotalNorm(total)
    coef = max_norm / (total + 1e-6)
    if coef >= 1.0:
        return total
    for p in ps:  # in place, as torch (a read-only array is replaced); a nan norm makes them nan, as there
        if p.grad.flags.writeable:
            np.multiply(p.grad, np.asarray(coef, dtype=p.grad.dtype), out=p.grad)
        else:
            p.grad = np.asarray(p.grad * np.asarray(coef, dtype=p.grad.dtype))
    return total


def clip_grad_norm(parameters: Union[Tensor, Iterable[Tensor]], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> TotalNorm:
    """:func:`clip_grad_norm_` under its older name, which warns (a FutureWarning, as torch)
    that it is deprecated."""
    warnings.warn("nn.utils.clip_grad_norm is deprecated; use nn.utils.clip_grad_norm_", FutureWarning,
                  stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Union[Tensor, Iterable[Tensor]], clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clip every gradient entry to [-clip_value, clip_value] in place (``foreach``, torch's
    choice of kernel, changes nothing)."""
    _foreach("clip_grad_value_", foreach)
    c = _real("clip_grad_value_", "clip_value", clip_value)
    if not c >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value!r}")
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad, -c, c, out=p.grad)


def parameters_to_vector(parameters: Union[Tensor, Iterable[Tensor]]) -> Tensor:
    """One 1-D Tensor: every parameter flattened, concatenated in order,
    ``v = [p_1.reshape(-1), ..., p_k.reshape(-1)]``; differentiable (``dv/dp_i`` places
    the gradient back in ``p_i``'s shape)."""
    from ...ops.layout import cat

    ps = _params(parameters, "parameters_to_vector")
    if not ps:
        raise ValueError("parameters_to_vector: no parameters given")
    return cat([p.reshape(-1) for p in ps], 0)


def vector_to_parameters(vec: Tensor, parameters: Union[Tensor, Iterable[Tensor]]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' values, in order
    (the inverse of :func:`parameters_to_vector`); a new version of each parameter, so
    graphs built before refuse backward. A wrong type or length changes nothing."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}")
    ps = _params(parameters, "vector_to_parameters")
    total = sum(int(p.data.size) for p in ps)
    if vec.data.ndim != 1 or vec.data.size != total:
        raise ValueError(f"vector_to_parameters: vec of shape {vec.data.shape} does not hold the {total} values of "
                         "the parameters (a 1-D tensor of that length is needed)")
    start = 0
    for p in ps:
        n = int(p.data.size)
        p.data = vec.data[start:start + n].reshape(p.data.shape).astype(p.data.dtype)
        start += n


# (after the functions above: these modules import the layers, which import this package)
from . import parametrizations, parametrize, prune, stateless  # noqa: E402,F401  (torch's module paths)
from .fusion import (  # noqa: E402
    clip_grads_with_norm_,
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
    get_total_norm,
    skip_init,
)
from .norm_hooks import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm  # noqa: E402

__all__ += ["parametrizations", "parametrize", "prune", "weight_norm", "remove_weight_norm", "spectral_norm",
            "remove_spectral_norm", "stateless", "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "get_total_norm", "clip_grads_with_norm_", "skip_init"]
