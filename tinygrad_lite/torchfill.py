"""Torch's remaining fused arithmetic and fills: ``addcmul``, ``addcdiv``, ``addr``,
``renorm`` (compositions of differentiable ops, so their gradients and per-sample rules come
from those ops; the in-place twins ``addcmul_`` ... come from ``torchwrite``),
``fill_diagonal_`` and the random fills ``cauchy_``, ``log_normal_`` and ``geometric_``.

Every fill follows the in-place rule of ``torchwrite``: recorded inside a graph (the filled
elements then carry no gradient), a plain write of the data otherwise; the random fills are
for data outside a graph (a tensor that requires grad only under ``no_grad()``), as the other
random fills.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import factories
from .conventions import _real, check_bool
from .ops import base
from .random import as_generator


def _tensor(x: Any, who: str, name: str) -> Any:
    if isinstance(x, base.Tensor):
        return x
    if isinstance(x, (bool, str)) or x is None:
        raise TypeError(f"{who}: {name} must be a tensor or a number, got {type(x).__name__}")
    return base.const(x, who)


def _factors(t: Any, tensor1: Any, tensor2: Any, who: str) -> tuple:
    """addcmul's / addcdiv's factors; integer ones in a float ``t``'s dtype (torch's result type of
    the three: a float32 tensor with integer factors stays float32)."""
    a, b = _tensor(tensor1, who, "tensor1"), _tensor(tensor2, who, "tensor2")
    dt = t.data.dtype
    if dt.kind == "f":
        a, b = (f if f.data.dtype.kind == "f" else f.astype(dt) for f in (a, b))
    return a, b


class FillMethods:
    """Mixin of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 * tensor2 (broadcast together)."""
        v = _real("addcmul", "value", value)
        v = int(v) if isinstance(value, (int, np.integer)) else v  # (integer tensors stay integer)
        a, b = _factors(self, tensor1, tensor2, "addcmul")
        return self + a * b * v

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 / tensor2 (broadcast together)."""
        v = _real("addcdiv", "value", value)
        a, b = _factors(self, tensor1, tensor2, "addcdiv")
        return self + a / b * v

    def addr(self, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * outer(vec1, vec2), for 1-D ``vec1`` (n) and ``vec2`` (m) and
        ``self`` broadcasting to (n, m); with beta = 0 ``self`` is ignored (nan and inf too)."""
        a, b = _tensor(vec1, "addr", "vec1"), _tensor(vec2, "addr", "vec2")
        if a.data.ndim != 1 or b.data.ndim != 1:
            raise ValueError(f"addr: vec1 and vec2 must be 1-D, got shapes {a.data.shape} and {b.data.shape}")
        beta, alpha = _real("addr", "beta", beta), _real("addr", "alpha", alpha)
        outer = a.outer(b) * alpha
        try:
            np.broadcast_shapes(self.data.shape, outer.data.shape)  # type: ignore[attr-defined]
        except ValueError:
            raise ValueError(f"addr: input of shape {self.data.shape} does not broadcast to the outer "  # type: ignore
                             f"product's shape {outer.data.shape}") from None
        if beta == 0:  # self's values are not read; its gradient is 0 (as torch's)
            return factories.where(True, outer, self)
        return self * beta + outer

    def renorm(self, p: Any, dim: int, maxnorm: Any) -> Any:
        """Each slice along ``dim`` (``x.select(dim, i)``) whose p-norm exceeds ``maxnorm``
        scaled to norm ``maxnorm``: x_i * maxnorm / (|x_i|_p + 1e-7) (torch's rule);
        gradients flow through the norm as well."""
        p = _real("renorm", "p", p)
        maxnorm = _real("renorm", "maxnorm", maxnorm)
        if not p > 0 or not maxnorm >= 0:
            raise ValueError(f"renorm: needs p > 0 and maxnorm >= 0, got p={p!r}, maxnorm={maxnorm!r}")
        nd = self.data.ndim  # type: ignore[attr-defined]
        if nd < 2:
            raise ValueError(f"renorm: needs a tensor of at least 2 dimensions, got shape {self.data.shape}")
        d = base.axis_of(nd, dim, "renorm")
        others = tuple(a for a in range(nd) if a != d)
        norms = self.norm(p, others, True)  # type: ignore[attr-defined]
        big = norms.data > maxnorm
        scale = factories.where(big, maxnorm / (norms + 1e-7), 1.0)
        return self * scale

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Any:
        """Set the main diagonal (i, i, ..., i) to ``fill_value`` in place: a 2-D tensor, or
        one whose axes all have the same length; ``wrap=True`` restarts the diagonal of a
        tall matrix every ``n + 1`` rows (numpy's ``fill_diagonal``)."""
        shape = self.data.shape  # type: ignore[attr-defined]
        if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
            raise ValueError(f"fill_diagonal_: needs a 2-D tensor or one with all dimensions equal, got shape {shape}")
        value = _real("fill_diagonal_", "fill_value", fill_value)
        mask = np.zeros(shape, bool)
        np.fill_diagonal(mask, True, wrap=check_bool("fill_diagonal_", "wrap", wrap))
        return self._assign("fill_diagonal_", None, lambda x: x.masked_fill(mask, value), "unsafe")  # type: ignore

    def _random(self, who: str, draw: Any, generator: Any, floats: bool = True) -> Any:
        if floats and self.data.dtype.kind != "f":  # type: ignore[attr-defined]
            raise TypeError(f"{who}: needs a floating-point tensor, got dtype {self.data.dtype}")  # type: ignore
        self._writable(who)  # type: ignore[attr-defined]
        rng = as_generator(generator, f"{who}: generator")
        return self._fill(who, draw(rng, self.data.shape))  # type: ignore[attr-defined]

    def cauchy_(self, median: Any = 0.0, sigma: Any = 1.0, *, generator: Any = None) -> Any:
        """Fill in place with draws of the Cauchy law: median + sigma * tan(pi (U - 1/2))."""
        m, s = _real("cauchy_", "median", median), _real("cauchy_", "sigma", sigma)
        if not s > 0:
            raise ValueError(f"cauchy_: sigma must be > 0, got {sigma!r}")
        return self._random("cauchy_", lambda rng, shape: m + s * np.tan(math.pi * (rng.random(shape) - 0.5)),
                            generator)

    def log_normal_(self, mean: Any = 1.0, std: Any = 2.0, *, generator: Any = None) -> Any:
        """Fill in place with exp(N(mean, std**2)) draws."""
        m, s = _real("log_normal_", "mean", mean), _real("log_normal_", "std", std)
        if not s > 0:
            raise ValueError(f"log_normal_: std must be > 0, got {std!r}")
        return self._random("log_normal_", lambda rng, shape: rng.lognormal(m, s, shape), generator)

    def geometric_(self, p: Any, *, generator: Any = None) -> Any:
        """Fill in place with the number of Bernoulli(p) trials up to the first success (>= 1)."""
        q = _real("geometric_", "p", p)
        if not 0 < q <= 1:
            raise ValueError(f"geometric_: p must be in (0, 1], got {p!r}")
        return self._random("geometric_", lambda rng, shape: rng.geometric(q, shape), generator, floats=False)

