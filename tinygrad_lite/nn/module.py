"""Neural-network building blocks: Module, Linear, Sequential, activations and losses.

Shaped like PyTorch's ``torch.nn`` so a PyTorch user needs no new names. Linear, mse_loss
and cross_entropy are single fused graph nodes (fewer nodes, numerically stable) with
their own per-sample rules.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Union

import numpy as np

from . import ops
from .batchstate import BATCHED
from .graph import state
from .random import as_generator
from .ops.base import const as _const
from .tensor import Tensor

__all__ = ["Module", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid", "mse_loss", "cross_entropy"]



def _as_tensor(x: Any) -> Tensor:
    """A Tensor as it is; an array (or array-like) wrapped without copying, as operators do."""
    return x if isinstance(x, Tensor) else _const(x)


def _rng(rng: Union[None, int, np.random.Generator]) -> np.random.Generator:
    return as_generator(rng)


class Module:
    """Base class of all layers and models.

    Parameters are found by walking attributes: a ``Tensor`` with ``requires_grad=True``
    is a parameter; a ``Module`` (also inside a list, tuple or dict attribute) is a child.
    Calling a module runs ``forward``.
    """

    training: bool = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        stack = state.modules
        stack.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            stack.pop()

    # ----------------------------------------------------------------- traversal -------
    def _members(self) -> Iterator[tuple]:
        for name, v in vars(self).items():
            if isinstance(v, (Module, Tensor)):
                yield name, v
            elif isinstance(v, (list, tuple)):
                for i, item in enumerate(v):
                    if isinstance(item, (Module, Tensor)):
                        yield f"{name}.{i}", item
            elif isinstance(v, dict):
                for k, item in v.items():
                    if isinstance(item, (Module, Tensor)):
                        yield f"{name}.{k}", item

    def named_children(self) -> Iterator[tuple]:
        """(name, module) for each direct child module."""
        for name, v in self._members():
            if isinstance(v, Module):
                yield name, v

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple]:
        """(dotted name, module) for this module and every module below it."""
        seen: set = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = list(m.named_children())
            for cname, c in reversed(kids):
                stack.append((f"{name}.{cname}" if name else cname, c))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple]:
        """(dotted name, parameter), e.g. ``0.weight``, ``layers.2.bias``; each once."""
        seen: set = set()
        for mname, m in self.named_modules(prefix):
            for name, v in m._members():
                if isinstance(v, Tensor) and v.requires_grad and id(v) not in seen:
                    seen.add(id(v))
                    yield (f"{mname}.{name}" if mname else name), v

    def parameters(self) -> list:
        """The parameters, in ``named_parameters`` order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``grad`` and everything per-sample of every parameter."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ----------------------------------------------------------------- state -----------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Parameter name -> a copy of its array."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state: Any, strict: bool = True) -> None:
        """Copy arrays into the parameters, all or nothing.

        A missing or unexpected key raises ``KeyError``, a wrong shape ``ValueError``; on any
        error no parameter changes. Values keep each parameter's dtype (like PyTorch).
        """
        params = OrderedDict(self.named_parameters())
        missing = [k for k in params if k not in state]
        extra = [k for k in state if k not in params]
        if strict and (missing or extra):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                parts.append(f"unexpected keys {extra}")
            raise KeyError(f"load_state_dict: {' and '.join(parts)}")
        new = {}
        for k, p in params.items():
            if k not in state:
                continue
            v = state[k]
            arr = np.asarray(v.data if isinstance(v, Tensor) else v)
            if arr.shape != p.data.shape:
                raise ValueError(f"load_state_dict: '{k}' has shape {arr.shape}, the parameter has shape "
                                 f"{p.data.shape}")
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
                raise ValueError(f"load_state_dict: '{k}' has non-numeric dtype {arr.dtype}")
            new[k] = arr.astype(p.data.dtype, copy=True)
        for k, arr in new.items():
            params[k].data = arr

    def __repr__(self) -> str:
        kids = list(self.named_children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join(f"  ({n}): " + repr(m).replace("\n", "\n  ") for n, m in kids)
        return f"{type(self).__name__}(\n{body}\n)"

    def extra_repr(self) -> str:
        return ""


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features), b of shape (out_features,).

    Initialised like PyTorch: W and b uniform in [-1/sqrt(in), 1/sqrt(in)], drawn from
    ``rng`` (a numpy Generator or an int seed). One graph node; per sample b,
    dterm_b/dW = g_b^T x_b and dterm_b/db = g_b.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 rng: Union[None, int, np.random.Generator] = None, dtype: Any = np.float64) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: in_features and out_features must be >= 1, got {in_features}, "
                             f"{out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        r = _rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.weight = Tensor(r.uniform(-bound, bound, (out_features, in_features)).astype(dtype),
                             requires_grad=True)
        self.bias = (Tensor(r.uniform(-bound, bound, (out_features,)).astype(dtype), requires_grad=True)
                     if bias else None)

    def forward(self, x: Any) -> Tensor:
        x = _as_tensor(x)
        xd = x.data
        W = self.weight
        if xd.ndim == 0 or xd.shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                             f"input of shape {xd.shape} does not end in {self.in_features}")
        return ops.LINEAR(x, W, self.bias)

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Sequential(Module):
    """Modules applied in order; children are named ``0``, ``1``, ..."""

    def __init__(self, *modules: Module) -> None:
        self.layers = list(modules)

    def named_children(self) -> Iterator[tuple]:
        for i, m in enumerate(self.layers):
            yield str(i), m

    def _members(self) -> Iterator[tuple]:
        for i, m in enumerate(self.layers):
            yield str(i), m

    def forward(self, x: Any) -> Any:
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, m: Module) -> "Sequential":
        self.layers.append(m)
        return self


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).relu()


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).tanh()


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Any) -> Tensor:
        return _as_tensor(x).sigmoid()


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error: mean (default) or sum over EVERY element of (pred - target)^2.

    With a batched ``pred`` of B samples, sample b's own term is the mean (or sum) over its
    outputs, so the cost is the mean (or sum) of the B per-sample terms. One fused node:
    dL/dpred = 2 (pred - target) / N (N = number of elements; 1 for ``sum``).
    """
    _check_reduction("mse_loss", reduction)
    pred, target = _as_tensor(pred), _as_tensor(target)
    if pred.data.shape != target.data.shape:
        raise ValueError(f"mse_loss: prediction shape {pred.data.shape} and target shape {target.data.shape} "
                         "differ; reshape one of them (broadcasting them would compute a different loss)")
    if reduction == "none":
        return (pred - target) ** 2
    if target._bs & BATCHED and not pred._bs and pred.requires_grad:
        # only the target holds the samples: the composed ops carry each sample's own term
        sq = (pred - target) ** 2
        return sq.mean() if reduction == "mean" else sq.sum()
    return ops.MSE(pred, target, reduction)


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy: -log softmax(z_b)[y_b], averaged (or summed) over samples.

    ``logits`` has shape (N, C) (or (C,) for one sample); ``labels`` are integer class
    indices (int Tensor or numpy array) of shape (N,) (or a scalar). Computed with a
    stable log-softmax; dL/dz_b = (softmax(z_b) - onehot(y_b)) / N.
    """
    _check_reduction("cross_entropy", reduction)
    logits = _as_tensor(logits)
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    z = logits.data
    if reduction == "none":
        ops.XENT.forward(z, y)  # the same argument checks
        lp = logits.log_softmax(-1)
        return -(lp[np.arange(z.shape[0]), y] if z.ndim == 2 else lp[int(y)])
    return ops.XENT(logits, y, reduction)
