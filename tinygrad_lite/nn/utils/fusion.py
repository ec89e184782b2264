"""Folding an evaluation-mode BatchNorm into the convolution or Linear before it
(``fuse_conv_bn_eval``, ``fuse_linear_bn_eval`` and their ``_weights`` forms), the two halves
of gradient-norm clipping (``get_total_norm``, ``clip_grads_with_norm_``) and ``skip_init``,
as in ``torch.nn.utils``.

With ``s = bn.weight / sqrt(running_var + eps)``, BatchNorm after ``y = W x + b`` is
``s (W x + b - running_mean) + bn.bias``: the fused layer has ``W' = s W`` (scaling the
output-channel axis: axis 0, axis 1 for a transposed convolution) and
``b' = s (b - running_mean) + bn.bias``.
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any, Iterable, Optional, Union

import numpy as np

from ...tensor import Tensor
from ..containers import Parameter
from ..module import Module

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
           "get_total_norm", "clip_grads_with_norm_", "skip_init"]


def _arr(t: Any) -> np.ndarray:
    return np.asarray(t.data if isinstance(t, Tensor) else t)


def fuse_conv_bn_weights(conv_w: Any, conv_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any, bn_b: Any,
                         transpose: bool = False) -> tuple:
    """``(W', b')`` as new parameters (see the module docstring); a missing conv bias is 0
    (the fused bias then does not require grad, as torch), a missing BatchNorm weight 1 and
    bias 0."""
    w, rm, rv = _arr(conv_w), _arr(bn_rm), _arr(bn_rv)
    b = np.zeros_like(rm) if conv_b is None else _arr(conv_b)
    g = np.ones_like(rm) if bn_w is None else _arr(bn_w)
    beta = np.zeros_like(rm) if bn_b is None else _arr(bn_b)
    axis = 1 if transpose else 0
    if w.ndim < 2 or w.shape[axis] != rm.shape[0]:
        raise ValueError(f"fuse_conv_bn_weights: a conv weight of shape {w.shape} does not have the BatchNorm's "
                         f"{rm.shape[0]} channels on axis {axis}")
    rsqrt = 1.0 / np.sqrt(rv + bn_eps)
    shape = [1] * w.ndim
    shape[axis] = -1
    fw = (w * (g * rsqrt).reshape(shape)).astype(w.dtype)
    fb = ((b - rm) * rsqrt * g + beta).astype(w.dtype if conv_b is None else b.dtype)
    wrg = conv_w.requires_grad if isinstance(conv_w, Tensor) else True
    brg = conv_b.requires_grad if isinstance(conv_b, Tensor) else False
    return Parameter(fw, wrg), Parameter(fb, brg)


def fuse_linear_bn_weights(linear_w: Any, linear_b: Any, bn_rm: Any, bn_rv: Any, bn_eps: float, bn_w: Any,
                           bn_b: Any) -> tuple:
    """``(W', b')`` for a Linear: ``W' = s[:, None] W``, ``b' = s (b - running_mean) + bn.bias``."""
    w, rm = _arr(linear_w), _arr(bn_rm)
    b = np.zeros_like(rm) if linear_b is None else _arr(linear_b)
    s = _arr(bn_w) / np.sqrt(_arr(bn_rv) + bn_eps)
    fw = (w * s[:, None]).astype(w.dtype)
    fb = ((b - rm) * s + _arr(bn_b)).astype(w.dtype if linear_b is None else b.dtype)
    if fb.shape == (1,) and fw.shape[:1] != (1,):  # (a one-feature BatchNorm after a wider Linear: its
        fb = np.repeat(fb, fw.shape[0])  # bias for every output, which torch's Linear broadcasts)
    wrg = linear_w.requires_grad if isinstance(linear_w, Tensor) else True
    brg = linear_b.requires_grad if isinstance(linear_b, Tensor) else False
    return Parameter(fw, wrg), Parameter(fb, brg)


def _eval_pair(who: str, layer: Module, bn: Module) -> None:
    if layer.training or bn.training:
        raise AssertionError(f"{who}: fusion only for eval (call .eval() on both modules)")
    if getattr(bn, "running_mean", None) is None or getattr(bn, "running_var", None) is None:
        raise AssertionError(f"{who}: bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of ``conv`` computing ``bn(conv(x))`` of the evaluation-mode pair."""
    _eval_pair("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of ``linear`` computing ``bn(linear(x))`` of the evaluation-mode pair (the
    BatchNorm has ``out_features`` features, or 1)."""
    _eval_pair("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"fuse_linear_bn_eval: To fuse, linear.out_features == bn.num_features or "
                             f"bn.num_features == 1, got linear.out_features={linear.out_features} and "
                             f"bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def _tensors(tensors: Union[Any, Iterable[Any]], who: str) -> list:
    items = [tensors] if isinstance(tensors, (Tensor, np.ndarray)) else list(tensors)
    out = []
    for t in items:
        if t is None:
            continue
        if not isinstance(t, (Tensor, np.ndarray)):
            raise TypeError(f"{who}: expected Tensors or arrays, got {type(t).__name__}")
        out.append(_arr(t))
    return out


def _vector_norm(a: np.ndarray, q: float) -> float:
    """``(sum |a_i|^q)^(1/q)`` (also for q < 0: 0 once an entry is 0); ``q = inf``: max |a_i|;
    ``q = -inf``: min |a_i|; ``q = 0``: the count of non-zero entries."""
    if not a.size:
        return 0.0
    if q == math.inf:
        return float(np.max(np.abs(a)))
    if q == -math.inf:
        return float(np.min(np.abs(a)))
    if q == 0:
        return float(np.count_nonzero(a))
    with np.errstate(divide="ignore", over="ignore"):
        return float(np.sum(np.abs(a) ** q) ** (1.0 / q))


def get_total_norm(tensors: Union[Any, Iterable[Any]], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """``||(||t_1||_q, ..., ||t_k||_q)||_q`` over the given tensors (e.g. the gradients), as a
    0-d Tensor (``_vector_norm``: ``q = inf`` the largest absolute entry, ``q = 0`` the count
    of non-zeros, here of the non-zero norms); 0 for no tensors."""
    arrs = _tensors(tensors, "get_total_norm")
    if isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, (int, float, np.number)):
        raise TypeError(f"get_total_norm: norm_type must be a number, got {norm_type!r}")
    q = float(norm_type)
    if not arrs:
        return Tensor(np.array(0.0))
    total = _vector_norm(np.array([_vector_norm(a.astype(np.float64, copy=False), q) for a in arrs]), q)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"get_total_norm: the total norm of order {q} of the gradients is non-finite ({total}), "
                           "so it cannot be clipped; pass error_if_nonfinite=False to scale by it anyway")
    return Tensor(np.array(total, dtype=np.result_type(*[a.dtype for a in arrs])))


def clip_grads_with_norm_(parameters: Any, max_norm: float, total_norm: Any, foreach: Optional[bool] = None) -> None:
    """Scale every ``p.grad`` in place by ``min(1, max_norm / (total_norm + 1e-6))``, the
    ``total_norm`` given (from ``get_total_norm``)."""
    ps = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if any(not isinstance(p, Tensor) for p in ps):
        raise TypeError("clip_grads_with_norm_: parameters must be Tensors")
    coef = min(float(max_norm) / (float(_arr(total_norm)) + 1e-6), 1.0)
    for p in ps:
        g = p.grad
        if g is None:
            continue
        if g.flags.writeable:
            np.multiply(g, np.asarray(coef, dtype=g.dtype), out=g)
        else:
            p.grad = np.asarray(g * np.asarray(coef, dtype=g.dtype))


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """``module_cls(*args, **kwargs)`` whose parameter values are not to be relied on (torch
    leaves them uninitialised; here they are what the constructor drew): for code that
    initialises them itself. The class must take ``device=``, as torch requires."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"skip_init: Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError(f"skip_init: Module {module_cls.__name__} must support a 'device' arg to skip "
                           "initialization")
    return module_cls(*args, **kwargs)
