"""Neural-network building blocks: Module, Linear, Sequential, activations and losses.

Shaped like PyTorch's ``torch.nn`` so a PyTorch user needs no new names. Linear, mse_loss
and cross_entropy are single fused graph nodes (fewer nodes, numerically stable) with
their own per-sample rules.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Optional, Union

import numpy as np

from . import graph, ops, persample
from .persample import BATCHED, MIXED, STAT
from .tensor import Tensor, _const, _make

__all__ = ["Module", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid", "mse_loss", "cross_entropy"]

_GRAD = graph._GRAD
_STACK = persample.MODULE_STACK


def _as_tensor(x: Any) -> Tensor:
    """A Tensor as it is; an array (or array-like) wrapped without copying, as operators do."""
    return x if isinstance(x, Tensor) else _const(x)


def _rng(rng: Union[None, int, np.random.Generator]) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


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
        _STACK.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            _STACK.pop()

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

    def zero_grad(self) -> None:
        """Clear ``grad``, ``grad_sample`` and ``grad_sample_norm`` of every parameter."""
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
        out = xd @ W.data.T
        b = self.bias
        if b is not None:
            out += b.data
            parents = (x, W, b)
            rg = x.requires_grad or W.requires_grad or b.requires_grad
        else:
            parents = (x, W)
            rg = x.requires_grad or W.requires_grad
        s = x._bs
        bs, mix = (0, None) if not s else _linear_state(x, W, b)
        return _make(out, ops.LINEAR, parents, None, rg and _GRAD[0], bs, mix)

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


def _linear_state(x: Tensor, W: Tensor, b: Optional[Tensor]) -> tuple:
    s = x._bs
    if s & MIXED:
        return MIXED, x._mix
    if s & BATCHED:
        if x.data.ndim < 2:
            return persample.mixed(f"op 'linear' on a batched input of shape {x.data.shape} contracts "
                                   "the sample axis", x)
        return BATCHED, None
    if W.requires_grad or (b is not None and b.requires_grad):
        return persample.mixed("op 'linear' multiplies a batch statistic by parameters", x)
    return STAT, x._mix


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
    if reduction == "none":
        return (pred - target) ** 2
    if target._bs & BATCHED and not pred._bs and pred.requires_grad:
        # only the target holds the samples: the composed ops carry each sample's own term
        sq = (pred - target) ** 2
        return sq.mean() if reduction == "mean" else sq.sum()
    try:
        d = pred.data - target.data
    except ValueError:
        raise ValueError(f"mse_loss: prediction shape {pred.data.shape} and target shape "
                         f"{target.data.shape} are not compatible") from None
    flat = d.reshape(-1)
    n = flat.size
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    data = np.asarray(np.dot(flat, flat) * scale, dtype=d.dtype)
    s = pred._bs | target._bs
    c = 1.0
    if not s:
        bs, mix = 0, None
    else:
        bs, mix = persample.elementwise("mse_loss", d.shape, pred, target, "")
        if bs == BATCHED:
            bs, mix = STAT, persample.stat_origin("mse_loss")
            c = 1.0 / d.shape[0] if reduction == "mean" else 1.0
        elif bs == STAT:
            bs, mix = persample.mixed("op 'mse_loss' applied to a batch statistic", pred, target)
    rg = (pred.requires_grad or target.requires_grad) and _GRAD[0]
    return _make(data, ops.MSE, (pred, target), (d, scale, c), rg, bs, mix)


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
    if z.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,), got {z.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"cross_entropy: labels must be integer class indices, got dtype {y.dtype}")
    want = z.shape[:1] if z.ndim == 2 else ()
    if y.shape != want:
        raise ValueError(f"cross_entropy: labels of shape {y.shape} do not match logits of shape {z.shape} "
                         f"(expected labels of shape {want})")
    C = z.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= C):
        bad = y[(y < 0) | (y >= C)].reshape(-1)[0]
        raise IndexError(f"cross_entropy: label {int(bad)} is out of range for {C} classes")
    if reduction == "none":
        lp = logits.log_softmax(-1)
        return -(lp[np.arange(z.shape[0]), y] if z.ndim == 2 else lp[int(y)])
    m = z.max(axis=-1, keepdims=True)
    zz = z - m
    logp = zz - np.log(np.exp(zz).sum(axis=-1, keepdims=True))
    picked = logp[np.arange(z.shape[0]), y] if z.ndim == 2 else logp[y]
    N = z.shape[0] if z.ndim == 2 else 1
    scale = 1.0 / N if reduction == "mean" and N else 1.0
    data = np.asarray(-picked.sum() * scale, dtype=z.dtype)
    s = logits._bs
    c = 1.0
    if not s:
        bs, mix = 0, None
    elif s & MIXED:
        bs, mix = MIXED, logits._mix
    elif s & BATCHED:
        if z.ndim != 2:
            bs, mix = persample.mixed("op 'cross_entropy' on a batched 1-D input", logits)
        else:
            bs, mix = STAT, persample.stat_origin("cross_entropy")
            c = 1.0 / N if reduction == "mean" else 1.0
    else:
        bs, mix = persample.mixed("op 'cross_entropy' applied to a batch statistic", logits)
    return _make(data, ops.XENT, (logits,), (logp, y, scale, c), logits.requires_grad and _GRAD[0], bs, mix)
