"""The multi-layer perceptron the benchmarks train, in three implementations.

* ``NumpyMLP``: hand-written numpy with no graph: every buffer allocated once, every ufunc
  and matmul writing into it with ``out=``, all parameters (and all gradients) views into
  one flat array so an SGD step is two numpy calls. Nothing is computed that the step does
  not need (no gradient with respect to the input). It is the *floor*: what a numpy-based
  framework could at best reach.
* ``tl_mlp``: ``tl.nn.Sequential`` of ``tl.nn.Linear`` and ``tl.nn.ReLU``.
* ``torch_mlp``: ``torch.nn.Sequential`` of ``torch.nn.Linear`` and ``torch.nn.ReLU``.

All three use PyTorch's layout (``W`` of shape (out, in), ``y = x @ W.T + b``) and are
loaded with the same arrays from ``init_params``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def init_params(sizes: Sequence[int], dtype: Any, seed: int) -> list[np.ndarray]:
    """``[W0, b0, W1, b1, ...]``, uniform in +-1/sqrt(fan_in) like PyTorch's default init."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, (n_out,)).astype(dtype))
    return params


def make_batch(sizes: Sequence[int], batch: int, dtype: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs (batch, sizes[0]) and targets (batch, sizes[-1])."""
    rng = np.random.default_rng(seed + 1000)
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.standard_normal((batch, sizes[-1])).astype(dtype)
    return x, y


class NumpyMLP:
    """Linear-ReLU-...-Linear with a mean-squared-error cost, written by hand in numpy.

    ``per_sample=False``: ``backward`` fills the batch gradients (views ``gW``, ``gb``) of
    the mean over all elements of ``(pred - y) ** 2``.

    ``per_sample=True``: the cost is read as the mean over samples of each sample's own term
    (the mean over its outputs, the same number); ``backward`` fills the batch gradients and,
    in preallocated buffers, every sample's gradient: ``gW_sample[l][b]`` is the outer product
    of that sample's delta with its layer input (one ``einsum`` per layer) and
    ``gb_sample[l][b]`` is the delta itself (the deltas are computed straight into it).
    """

    def __init__(self, sizes: Sequence[int], params: Sequence[np.ndarray], batch: int, dtype: Any,
                 per_sample: bool = False) -> None:
        self.sizes = list(sizes)
        self.n_layers = len(sizes) - 1
        self.batch = batch
        self.per_sample = per_sample
        shapes = list(zip(sizes[1:], sizes[:-1]))  # (out, in) per layer
        total = sum(o * i + o for o, i in shapes)
        self.flat = np.empty(total, dtype)  # every parameter is a view into this array
        self.gflat = np.empty(total, dtype)  # ... and every batch gradient into this one
        self.W: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self.gW: list[np.ndarray] = []
        self.gb: list[np.ndarray] = []
        at = 0
        for o, i in shapes:
            self.W.append(self.flat[at:at + o * i].reshape(o, i))
            self.gW.append(self.gflat[at:at + o * i].reshape(o, i))
            at += o * i
            self.b.append(self.flat[at:at + o])
            self.gb.append(self.gflat[at:at + o])
            at += o
        self.set_params(params)
        self.h = [np.empty((batch, o), dtype) for o, _ in shapes]  # layer outputs, after ReLU
        self.mask = [np.empty((batch, o), bool) for o, _ in shapes[:-1]]  # where ReLU let through
        if per_sample:
            self.gW_sample = [np.empty((batch, o, i), dtype) for o, i in shapes]
            self.gb_sample = [np.empty((batch, o), dtype) for o, _ in shapes]
            self.delta = self.gb_sample  # a sample's delta IS its bias gradient
            self.scaled = [np.empty((batch, o), dtype) for o, _ in shapes]  # delta / B for the batch grads
        else:
            self.delta = [np.empty((batch, o), dtype) for o, _ in shapes]

    def set_params(self, params: Sequence[np.ndarray]) -> None:
        """Copy ``[W0, b0, ...]`` into the parameter buffers."""
        for W, b, Wv, bv in zip(self.W, self.b, params[0::2], params[1::2]):
            np.copyto(W, Wv)
            np.copyto(b, bv)

    def params(self) -> list[np.ndarray]:
        """Views ``[W0, b0, W1, b1, ...]`` of the live parameters."""
        return [p for pair in zip(self.W, self.b) for p in pair]

    def grads(self) -> list[np.ndarray]:
        """Views ``[gW0, gb0, ...]`` of the batch gradients of the latest ``backward``."""
        return [g for pair in zip(self.gW, self.gb) for g in pair]

    def forward(self, x: np.ndarray) -> np.ndarray:
        a = x
        last = self.n_layers - 1
        for k in range(self.n_layers):
            h = self.h[k]
            np.matmul(a, self.W[k].T, out=h)  # the transposed view costs nothing: BLAS takes a flag
            np.add(h, self.b[k], out=h)
            if k < last:
                np.maximum(h, 0, out=h)
                np.greater(h, 0, out=self.mask[k])
            a = h
        return a

    def backward(self, x: np.ndarray, y: np.ndarray) -> float:
        """Gradients of the mean squared error of the latest ``forward``; returns the loss."""
        B, n_out = self.h[-1].shape
        d = self.delta[-1]
        np.subtract(self.h[-1], y, out=d)
        flat = d.reshape(-1)
        loss = float(np.dot(flat, flat)) / flat.size
        # batch: dL/dpred = 2 (pred - y) / (B n_out)
        # per sample: d term_b / d pred_b = 2 (pred_b - y_b) / n_out
        np.multiply(d, 2.0 / (n_out if self.per_sample else B * n_out), out=d)
        for k in range(self.n_layers - 1, -1, -1):
            a_prev = x if k == 0 else self.h[k - 1]
            d = self.delta[k]
            if self.per_sample:
                np.einsum("bo,bi->boi", d, a_prev, out=self.gW_sample[k])
                g = self.scaled[k]
                np.multiply(d, 1.0 / B, out=g)  # the batch gradient is the mean of the samples'
            else:
                g = d
            if B == 1:
                # matmul does not call BLAS for an inner dimension of 1; einsum's outer product is fast
                np.einsum("bo,bi->oi", g, a_prev, out=self.gW[k])
                np.copyto(self.gb[k], g[0])
            else:
                np.matmul(g.T, a_prev, out=self.gW[k])
                np.sum(g, axis=0, out=self.gb[k])
            if k > 0:
                d_prev = self.delta[k - 1]
                np.matmul(d, self.W[k], out=d_prev)
                np.multiply(d_prev, self.mask[k - 1], out=d_prev)
        return loss

    def sgd(self, lr: float) -> None:
        """p <- p - lr * g for every parameter at once (the gradient buffer is used as scratch)."""
        np.multiply(self.gflat, lr, out=self.gflat)
        np.subtract(self.flat, self.gflat, out=self.flat)

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """Forward, MSE, backward and one SGD step; returns the loss before the step."""
        self.forward(x)
        loss = self.backward(x, y)
        self.sgd(lr)
        return loss

    def gradients(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward and backward only; returns the loss."""
        self.forward(x)
        return self.backward(x, y)


# ---------------------------------------------------------------------------- tinygrad_lite


def tl_mlp(tl: Any, sizes: Sequence[int], params: Sequence[np.ndarray], dtype: Any) -> Any:
    """``tl.nn.Sequential(Linear, ReLU, ..., Linear)`` holding copies of ``params``."""
    layers: list = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if k:
            layers.append(tl.nn.ReLU())
        layers.append(tl.nn.Linear(n_in, n_out, dtype=dtype))
    model = tl.nn.Sequential(*layers)
    tl_set_params(model, params)
    return model


def tl_set_params(model: Any, params: Sequence[np.ndarray]) -> None:
    """Copy ``params`` into the model's parameter arrays, in place."""
    ps = model.parameters()
    assert len(ps) == len(params), f"{len(ps)} parameters, expected {len(params)}"
    for p, v in zip(ps, params):
        np.copyto(p.data, v)


# ---------------------------------------------------------------------------- PyTorch


def torch_mlp(torch: Any, sizes: Sequence[int], params: Sequence[np.ndarray], dtype: Any) -> Any:
    """``torch.nn.Sequential(Linear, ReLU, ..., Linear)`` holding copies of ``params``."""
    tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    layers: list = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if k:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(n_in, n_out, dtype=tdtype))
    model = torch.nn.Sequential(*layers)
    torch_set_params(torch, model, params)
    return model


def torch_set_params(torch: Any, model: Any, params: Sequence[np.ndarray]) -> None:
    """Copy ``params`` into the model's parameters, in place."""
    with torch.no_grad():
        for p, v in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(v))
