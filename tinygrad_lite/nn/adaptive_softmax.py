"""``nn.AdaptiveLogSoftmaxWithLoss`` (Grave et al., 2017), with torch's parameters, names,
shapes, checks and results, built from existing differentiable ops.

Keeps no state beyond its layers; touches nothing else. With cutoffs
``c_1 < ... < c_m < n_classes`` (``c_0 = 0``, ``c_{m+1} = n_classes``): the ``head``
Linear(in, c_1 + m) scores the shortlist classes 0..c_1-1 and one entry per cluster; tail
cluster j (classes c_j..c_{j+1}-1) is ``Sequential(Linear(in, h_j), Linear(h_j, c_{j+1} - c_j))``
without biases, ``h_j = floor(in / div_value^j)``. With ``hd = log_softmax(head(x))``:

    log p(y | x) = hd[y]                                          (y < c_1)
    log p(y | x) = hd[c_1 + j - 1] + log_softmax(tail_j(x))[y - c_j]   (c_j <= y < c_{j+1})

``forward(input, target)`` returns ``(output, loss)`` with output[b] = log p(target_b | x_b)
and loss = mean_b(-output[b]). Every cluster's scores are computed for all rows and the row's
own entry picked by ``where``, so row b depends on sample b only: per-sample gradients
(``grad_sample``) come from the same ``backward()`` of the loss of a batched input.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from ..conventions import ArgumentError, IndexRangeError, ShapeMismatchError, check_bool
from ..factories import param_dtype, where
from ..ops.layout import cat
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .module import Linear, Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_WHO = "AdaptiveLogSoftmaxWithLoss"


class _ASMoutput(NamedTuple):
    """What ``AdaptiveLogSoftmaxWithLoss.forward`` returns: each target's log-probability
    (``output``) and the mean negative log-likelihood (``loss``)."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """``AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=4.0,
    head_bias=False, device=None, dtype=None, *, rng=None)``; ``head`` (Linear) and ``tail``
    (ModuleList of Sequential(Linear, Linear)) as torch's, initialised as ``Linear``
    (drawing from ``rng``). ``forward(input, target)``: input (N, in_features) with target (N,)
    or input (in_features,) with a 0-d target; ``log_prob(input)`` (N, n_classes) and
    ``predict(input)`` (N,) take a 2-D input, as torch's."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Any, div_value: float = 4.0,
                 head_bias: bool = False, device: Any = None, dtype: Any = None, *, rng: Any = None) -> None:
        for name, v in (("in_features", in_features), ("n_classes", n_classes)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{_WHO}: {name} must be an int >= 1, got {v!r}")
        if isinstance(cutoffs, (str, bytes)) or not hasattr(cutoffs, "__iter__"):
            raise TypeError(f"{_WHO}: cutoffs must be a sequence of ints, got {cutoffs!r}")
        cuts = list(cutoffs)
        if not cuts:
            raise ValueError(f"{_WHO}: cutoffs should be a sequence of length larger than 0")
        if (any(isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Integral) for c in cuts)
                or cuts != sorted(cuts) or len(set(cuts)) != len(cuts) or min(cuts) <= 0 or max(cuts) > n_classes - 1):
            raise ValueError(f"{_WHO}: cutoffs should be a sequence of unique, positive integers sorted in an "
                             f"increasing order, where each value is between 1 and n_classes-1 "
                             f"(n_classes={n_classes}), got {cuts}")
        if isinstance(div_value, (bool, np.bool_)) or not isinstance(div_value, numbers.Real):
            raise TypeError(f"{_WHO}: div_value must be a real number, got {div_value!r}")
        check_bool(_WHO, "head_bias", head_bias)
        dt = param_dtype(_WHO, dtype, device)
        self.in_features, self.n_classes = int(in_features), int(n_classes)
        self.cutoffs = [int(c) for c in cuts] + [self.n_classes]
        self.div_value, self.head_bias = div_value, bool(head_bias)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        hidden = [int(self.in_features // (div_value ** (i + 1))) for i in range(self.n_clusters)]
        if min(hidden) < 1:
            raise ValueError(f"{_WHO}: div_value={div_value} leaves tail clusters with hidden sizes {hidden} (from "
                             f"in_features={in_features}); each must be >= 1 here")
        r = as_generator(rng)
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, rng=r, dtype=dt)
        self.tail = ModuleList([Sequential(Linear(self.in_features, h, bias=False, rng=r, dtype=dt),
                                           Linear(h, hi - lo, bias=False, rng=r, dtype=dt))
                                for h, lo, hi in zip(hidden, self.cutoffs, self.cutoffs[1:])])

    def reset_parameters(self) -> None:
        """Draw every weight again, as at construction (from the library's generator)."""
        r = as_generator(None)
        for lin in [self.head] + [m for seq in self.tail for m in seq]:
            bound = 1.0 / np.sqrt(lin.in_features)
            for p in (lin.weight, lin.bias):
                if p is not None:
                    p.data = r.uniform(-bound, bound, p.data.shape).astype(p.data.dtype)

    def _input(self, input: Any, rank: int, who: str) -> Tensor:
        x = F._t(input)
        if x.data.ndim != rank or x.data.shape[-1] != self.in_features:
            want = f"(N, {self.in_features})" if rank == 2 else f"({self.in_features},)"
            raise ShapeMismatchError(f"{_WHO}.{who}: input must have shape {want}, got {x.data.shape}")
        return x

    def forward(self, input: Any, target: Any) -> _ASMoutput:
        """``(output, loss)``: each target's log-probability and their mean negative."""
        t = np.asarray(target.data if isinstance(target, Tensor) else target)
        xd = np.shape(input.data if isinstance(input, Tensor) else input)
        if t.ndim == 1:
            if len(xd) < 1 or xd[0] != t.shape[0]:
                raise ShapeMismatchError(f"{_WHO}: input and target should have the same size in the batch "
                                         f"dimension, got input {tuple(xd)} and target {t.shape}")
            if len(xd) != 2:
                raise ShapeMismatchError(f"{_WHO}: a 1-D target expects a 2-D input, got input of shape {tuple(xd)}")
        elif t.ndim == 0:
            if len(xd) != 1:
                raise ShapeMismatchError(f"{_WHO}: a 0-D target expects a 1-D input, got input of shape {tuple(xd)}")
        else:
            raise ShapeMismatchError(f"{_WHO}: 0-D or 1-D target expected (multi-target not supported), got "
                                     f"shape {t.shape}")
        if t.dtype.kind not in "iu":
            raise ArgumentError(f"{_WHO}: target must hold integer class indices, got dtype {t.dtype}")
        batched = t.ndim == 1
        x = self._input(input, 2 if batched else 1, "forward")
        x, t = (x, t) if batched else (x.unsqueeze(0), t[None])
        if t.size and (t.min() < 0 or t.max() > self.n_classes - 1):
            raise IndexRangeError(f"{_WHO}: target values should be in [0, {self.n_classes - 1}], but values in "
                                  f"range [{t.min()}, {t.max()}] were found")
        t = t.astype(np.int64)
        head = self.head(x).log_softmax(1)
        cluster = np.searchsorted(self.cutoffs, t, side="right")  # 0: shortlist, j: tail cluster j
        head_col = np.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        output = None
        for j in range(1, self.n_clusters + 1):
            rows = cluster == j
            if not rows.any():
                continue
            lo = self.cutoffs[j - 1]
            local = self.tail[j - 1](x).log_softmax(1).gather(1, np.where(rows, t - lo, 0)[:, None]).squeeze(1)
            local = where(rows, local, 0.0)
            output = local if output is None else output + local
        picked = head.gather(1, head_col[:, None]).squeeze(1)
        output = picked if output is None else output + picked
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _full_log_prob(self, x: Tensor, head: Tensor) -> Tensor:
        hd = head.log_softmax(1)
        parts = [hd[:, :self.shortlist_size]]
        for j in range(self.n_clusters):
            parts.append(self.tail[j](x).log_softmax(1) + hd[:, self.shortlist_size + j:self.shortlist_size + j + 1])
        return cat(parts, 1)

    def log_prob(self, input: Any) -> Tensor:
        """log p(c | x) for every class c: (N, n_classes)."""
        x = self._input(input, 2, "log_prob")
        return self._full_log_prob(x, self.head(x))

    def predict(self, input: Any) -> Tensor:
        """The most probable class of each row (N,), int64: the head's arg max when it is a
        shortlist class (no tail class can beat it), else the arg max of the full
        distribution, as torch's."""
        x = self._input(input, 2, "predict")
        head = self.head(x)
        out = head.data.argmax(axis=1).astype(np.int64)
        far = out >= self.shortlist_size
        if far.any():
            rows = np.nonzero(far)[0]
            out[rows] = self._full_log_prob(x[rows], head[rows]).data.argmax(axis=1)
        return Tensor(out)
