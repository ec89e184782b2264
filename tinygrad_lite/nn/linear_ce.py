"""Cross-entropy of the logits a linear map gives: ``F.linear_cross_entropy`` and the module
``LinearCrossEntropyLoss`` (re-exported by ``tl.nn.functional`` and ``tl.nn``).

``linear_cross_entropy(x, W, y)`` is ``cross_entropy(linear(x, W, b), y)``: the logits are
``z = x W^T + b``, computed whole, then the loss is exactly ``cross_entropy``'s (class weights,
``ignore_index``, label smoothing, probability targets; the same reductions). A weight of
shape ``(C, d1, ..., dK, in_features)`` gives the K-dimensional loss: the logits of each
sample, ``(C * d1 * ... * dK,)``, are read as ``(C, d1, ..., dK)`` with the classes on axis 1
of the batch's ``(N, C, d1, ..., dK)``.

Per sample (a batched input ``(B, in_features)``): the loss is built from ``linear``, a
reshape and ``cross_entropy``, so ``grad_sample`` of the weight and bias is what each sample
alone gives, under the same conditions as ``cross_entropy`` (a class-weighted mean, or a
mean with ignored labels, mixes samples and raises when ``grad_sample`` is read).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Union

import numpy as np

from ..factories import param_dtype
from ..tensor import Tensor
from .functional import _check_reduction, _t, linear
from .losses import _class_weight, _index, _LossModule, cross_entropy
from .module import Linear

__all__ = ["linear_cross_entropy", "LinearCrossEntropyLoss"]


def _smoothing(v: Any, who: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be a number in [0, 1], got {v!r}")
    return float(v)


def _options(v: Any, who: str) -> Any:
    """``options`` (the chunking settings) is None or an options object, which is ignored."""
    if v is not None and (isinstance(v, (bool, numbers.Number, str, bytes, np.ndarray, Tensor))
                          or not hasattr(v, "batch_chunk_size")):
        raise TypeError(f"{who}: options must be None or a chunking-options object (with batch_chunk_size, "
                        f"as torch's LinearCrossEntropyOptions), got {v!r}")
    return v


def _ignore(v: Any, who: str) -> Optional[int]:
    return None if v is None else _index(v, who)


def _check_target(y: np.ndarray, probs: bool, logits_shape: tuple, label_shape: tuple, C: int, ignore: int,
                  shapes: str, who: str) -> None:
    """Class indices of ``label_shape`` (each a class or ``ignore``) or probabilities of the logits' shape."""
    if probs:
        if y.dtype.kind != "f":
            raise TypeError(f"{who}: a target of the logits' shape {logits_shape} holds class probabilities and "
                            f"must be float, got dtype {y.dtype}")
        return
    expected = f"class indices of shape {label_shape} or probabilities of shape {logits_shape}"
    if y.dtype.kind not in "iu":  # (neither integer labels nor, at the logits' shape, probabilities)
        raise TypeError(f"{who}: target must hold integer {expected.replace('or p', 'or float p')} ({shapes}), "
                        f"got dtype {y.dtype} and shape {y.shape}")
    if y.shape != label_shape:
        raise ValueError(f"{who}: target of shape {y.shape} does not match {shapes} (expected {expected})")
    bad = (y != ignore) & ((y < 0) | (y >= C))
    if bad.any():
        raise IndexError(f"{who}: label {int(y[bad].reshape(-1)[0])} is out of range for {C} classes "
                         f"(ignore_index={ignore})")


def linear_cross_entropy(input: Any, linear_weight: Any, target: Any, *, linear_bias: Any = None,
                         weight: Any = None, reduction: str = "mean", ignore_index: Optional[int] = None,
                         label_smoothing: float = 0.0, options: Any = None) -> Tensor:
    """``cross_entropy(linear(input, W, b), target, ...)`` with the logits laid out by ``W``'s shape.

    Shapes: ``input`` is ``(in_features,)`` or ``(N, in_features)``; ``linear_weight`` is
    ``(C, in_features)`` or ``(C, d1, ..., dK, in_features)`` (K >= 1 needs an input with a
    batch axis); ``linear_bias`` is ``(C, d1, ..., dK)``. The logits ``z = x W^T + b`` have
    shape ``(*N, C, d1, ..., dK)``. A target of exactly that shape holds class probabilities
    (float); otherwise it holds integer class indices of shape ``(*N, d1, ..., dK)``.

    Position i's term is ``-sum_c Q[i, c] log softmax(z_i)[c]`` with
    ``Q[i] = (1 - eps) w[y_i] onehot(y_i) + eps w / C`` (eps = ``label_smoothing``, w the class
    ``weight``, 1 without one; Q[i] = 0 where y_i is ``ignore_index``), or
    ``Q[i] = w ((1 - eps) q_i + eps / C)`` for probabilities q. ``"mean"`` divides the sum by
    the selected weights' sum ``sum_i w[y_i]`` (the number of positions for probabilities),
    ``"sum"`` adds the terms, ``"none"`` returns them with the target's label shape.

    ``ignore_index=None`` means -100 for class indices; with probability targets it must stay
    None (ValueError otherwise). Gradients reach ``input``, ``linear_weight`` and
    ``linear_bias``: dL/dz is cross_entropy's, dL/dx = dL/dz W, dL/dW = dL/dz^T x,
    dL/db = sum of dL/dz over the batch.

    ``options`` (chunking settings for a memory-saving computation) is accepted and ignored:
    the logits are always computed whole, in the input's dtype, which gives the values and
    gradients a chunked computation reproduces; only the peak memory would differ.
    """
    who = "linear_cross_entropy"
    _check_reduction(who, reduction)
    ignore = _ignore(ignore_index, who)
    eps = _smoothing(label_smoothing, who)
    _options(options, who)
    x, W = _t(input), _t(linear_weight)
    xs, ws = x.data.shape, W.data.shape
    if len(xs) not in (1, 2):
        raise ValueError(f"{who}: input must have shape (in_features,) or (N, in_features), got {xs}")
    if len(ws) < 2:
        raise ValueError(f"{who}: linear_weight must have shape (C, in_features) or (C, d1, ..., dK, in_features), "
                         f"got {ws}")
    if xs[-1] != ws[-1]:
        raise ValueError(f"{who}: input of shape {xs} and linear_weight of shape {ws} differ in in_features "
                         f"({xs[-1]} vs {ws[-1]})")
    C, out = ws[0], tuple(ws[1:-1])
    b = None if linear_bias is None else _t(linear_bias)
    if b is not None and b.data.shape != ws[:-1]:
        raise ValueError(f"{who}: linear_bias must have shape {ws[:-1]} to match linear_weight of shape {ws}, "
                         f"got {b.data.shape}")
    if out and len(xs) == 1:
        raise ValueError(f"{who}: the K-dimensional loss of linear_weight of shape {ws} needs an input with a batch "
                         f"axis, (N, {xs[-1]}), got shape {xs}")
    logits_shape = xs[:-1] + (C,) + out
    y = np.asarray(target.data if isinstance(target, Tensor) else target)
    probs = y.shape == logits_shape
    shapes = f"input of shape {xs} and linear_weight of shape {ws}"
    if probs and ignore is not None:
        raise ValueError(f"{who}: ignore_index must be None when the target holds class probabilities (a target of "
                         f"the logits' shape {logits_shape}), got {ignore}")
    ignore = -100 if ignore is None else ignore
    _check_target(y, probs, logits_shape, xs[:-1] + out, C, ignore, shapes, who)
    if probs and isinstance(target, Tensor) and target.requires_grad:
        raise TypeError(f"{who}: gradients with respect to probability targets are not supported; detach() the "
                        "target")
    w = _class_weight(weight, C, who, np.float64)
    if out:
        n = math.prod(out) * C
        W = W.reshape(n, ws[-1])
        b = None if b is None else b.reshape(n)
    z = linear(x._floating(who), W, b)
    if out:
        z = z.reshape(logits_shape)
    return cross_entropy(z, target, w, ignore_index=ignore, reduction=reduction,
                         label_smoothing=eps)


class LinearCrossEntropyLoss(_LossModule):
    """``F.linear_cross_entropy`` with its own linear map: ``self.linear``, a
    ``Linear(in_features, num_classes * prod(out_features), bias=bias)`` (initialised like
    every Linear: uniform in [-1/sqrt(in_features), 1/sqrt(in_features)]; ``bias`` is off by
    default). Its flat weight and bias are read as ``(num_classes, *out_features, in_features)``
    and ``(num_classes, *out_features)`` in ``forward``. ``weight`` (one entry per class) is kept
    as a buffer, so ``state_dict`` holds ``weight`` (when given), ``linear.weight`` and
    ``linear.bias`` (when ``bias``). ``options`` is accepted and ignored (see the function).
    """

    def __init__(self, in_features: int, num_classes: int, *, out_features: Any = (), bias: bool = False,
                 device: Any = None, dtype: Any = None, reduction: str = "mean", weight: Any = None,
                 ignore_index: Optional[int] = None, label_smoothing: float = 0.0, options: Any = None,
                 rng: Union[None, int, np.random.Generator] = None) -> None:
        who = "LinearCrossEntropyLoss"
        for name, v in (("in_features", in_features), ("num_classes", num_classes)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{who}: {name} must be an int >= 1, got {v!r}")
        if (not isinstance(out_features, (tuple, list))
                or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 1
                       for d in out_features)):
            raise ValueError(f"{who}: out_features must be a tuple of ints >= 1 (the K extra logit axes), got "
                             f"{out_features!r}")
        dtype = param_dtype(who, dtype, device)  # (a device other than the CPU, a bad dtype: named here)
        self._reduce(None, None, reduction)
        if weight is not None:
            _class_weight(weight, int(num_classes), who, np.float64)
        self._weights(weight=weight)
        self.num_classes = int(num_classes)
        self.out_features = tuple(int(d) for d in out_features)
        self.ignore_index = _ignore(ignore_index, who)
        self.label_smoothing = _smoothing(label_smoothing, who)
        self.options = _options(options, who)
        self.linear = Linear(int(in_features), math.prod(self.out_features) * self.num_classes, bias=bias,
                             rng=rng, dtype=dtype)

    def forward(self, input: Any, target: Any) -> Tensor:
        W, b = self.linear.weight, self.linear.bias
        if self.out_features:
            W = W.reshape((self.num_classes, *self.out_features, W.data.shape[-1]))
            b = None if b is None else b.reshape((self.num_classes, *self.out_features))
        return linear_cross_entropy(input, W, target, linear_bias=b, weight=self.weight, reduction=self.reduction,
                                    ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
                                    options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
