"""Vector similarities and distances with PyTorch's signatures: ``normalize``,
``cosine_similarity``, ``pairwise_distance`` (re-exported by ``tl.nn.functional``) and the
modules ``CosineSimilarity`` and ``PairwiseDistance`` (re-exported by ``tl.nn``).

They are composed from Tensor ops (the p-norm, clamps, products and sums), so gradients,
per-sample gradients and the batch rules come from those ops. The ``eps`` guards follow
torch exactly: ``normalize`` clamps the norm (no gradient through a clamped norm),
``cosine_similarity`` clamps each norm's VALUE only (the gradient still flows through the
unclamped norm, as torch's in-place clamp under no_grad), ``pairwise_distance`` adds eps to
the difference.

Also here: ``renorm_rows``, the in-place row renormalisation of ``embedding(..., max_norm=)``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..conventions import DtypeError, ShapeMismatchError
from ..keptinputs import before_write
from ..ops.base import wrote
from ..tensor import Tensor
from .functional import _check_eps, _t
from .module import Module

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "CosineSimilarity", "PairwiseDistance"]


def _real(v: Any, who: str, name: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    return float(v)


def _scalar(v: Any) -> Any:
    """A 0-d real Tensor as its Python number (torch takes one for ``p`` and ``eps``); else ``v``."""
    if isinstance(v, Tensor) and v.data.ndim == 0 and v.data.dtype.kind in "iuf":
        return v.data.item()
    return v


def _axis(dim: Any, ndim: int, who: str) -> int:
    """``dim`` as an axis in ``0..ndim-1`` (negative counts from the end)."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{who}: dim must be an int, got {dim!r}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{who}: dim {dim} is out of range for an input of {ndim} axes")
    return int(dim) % n


def value_clamped(n: Tensor, eps: float) -> Tensor:
    """``max(n, eps)`` as a value, with the gradient of ``n`` itself (torch's in-place clamp of
    a norm under no_grad): n + (max(n, eps) - n) with the bracket a constant."""
    d = n.data
    shift = np.maximum(eps - d, 0)  # (= max(d, eps) - d, and 0 where the norm overflowed to inf)
    return n + shift.astype(d.dtype, copy=False) if np.any(shift) else n


def normalize(input: Any, p: float = 2.0, dim: Any = 1, eps: float = 1e-12) -> Tensor:
    """``v / max(||v||_p, eps)`` for each vector ``v`` along ``dim`` (an int or a tuple).

    Where ``||v||_p < eps`` the divisor is the constant eps, so no gradient flows through the
    norm there; elsewhere d/dv (v / ||v||) as usual.
    """
    x = _t(input)._floating("normalize")
    p = _real(p, "normalize", "p")
    _check_eps(eps, "normalize")
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(_axis(d, x.data.ndim, "normalize") for d in dims) if x.data.ndim else None
    n = x.norm(p, axes, keepdim=True) if axes is not None else x.norm(p)
    return x / n.clamp_min(float(eps))


def _broadcast(x1: Any, x2: Any, who: str) -> tuple:
    a, b = _t(x1), _t(x2)
    if a.data.dtype.kind != "f" and b.data.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating point input, got dtypes {a.data.dtype} and {b.data.dtype}")
    dt = np.result_type(a.data.dtype, b.data.dtype)
    a, b = a.astype(dt), b.astype(dt)
    try:
        shape = np.broadcast_shapes(a.data.shape, b.data.shape)
    except ValueError:
        raise ShapeMismatchError(f"{who}: x1 of shape {a.data.shape} and x2 of shape {b.data.shape} do not "
                                 "broadcast together") from None
    if a.data.shape != shape:
        a = a.expand(*shape)
    if b.data.shape != shape:
        b = b.expand(*shape)
    return a, b


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum_dim (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps))`` (x1, x2 broadcast together).

    The clamp changes the norms' values only: the gradient is that of the same expression
    with each norm's value replaced, the norm itself still differentiated (torch's rule),
    so d/dx1 = x2n / n1c - (x1 / n1) * sum(x1 * x2n) / n1c^2, with n1 = ||x1||, n1c its
    clamped value and x2n = x2 / n2c.
    """
    eps = _scalar(eps)
    _check_eps(eps, "cosine_similarity")
    a, b = _broadcast(x1, x2, "cosine_similarity")
    ax = _axis(dim, a.data.ndim, "cosine_similarity")
    if a.data.ndim == 0:
        na, nb = value_clamped(a.norm(2), eps), value_clamped(b.norm(2), eps)
        return (a / na) * (b / nb)
    na = value_clamped(a.norm(2, ax, keepdim=True), float(eps))
    nb = value_clamped(b.norm(2, ax, keepdim=True), float(eps))
    return ((a / na) * (b / nb)).sum(ax)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last axis (x1, x2 broadcast together), as torch: eps is
    added to every difference (not to the norm)."""
    p = _real(_scalar(p), "pairwise_distance", "p")
    eps = _real(_scalar(eps), "pairwise_distance", "eps")
    if not isinstance(keepdim, (bool, np.bool_)):
        raise TypeError(f"pairwise_distance: keepdim must be a bool, got {keepdim!r}")
    a, b = _t(x1), _t(x2)
    if "b" in (a.data.dtype.kind, b.data.dtype.kind):  # (torch: no subtraction with a bool tensor)
        raise DtypeError(f"pairwise_distance: x1 and x2 have dtypes {a.data.dtype} and {b.data.dtype}; "
                         "the difference with a bool tensor is not defined (convert it first)")
    try:
        np.broadcast_shapes(a.data.shape, b.data.shape)
    except ValueError:
        raise ShapeMismatchError(f"pairwise_distance: x1 of shape {a.data.shape} and x2 of shape {b.data.shape} "
                                 "do not broadcast together") from None
    d = (a - b + eps)._floating("pairwise_distance")
    if d.data.ndim == 0:
        return d.norm(p)
    return d.norm(p, d.data.ndim - 1, keepdim=bool(keepdim))


class CosineSimilarity(Module):
    """``F.cosine_similarity(x1, x2, dim, eps)`` as a module."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        _check_eps(eps, "CosineSimilarity")
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"CosineSimilarity: dim must be an int, got {dim!r}")
        self.dim, self.eps = int(dim), float(eps)

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``F.pairwise_distance(x1, x2, p, eps, keepdim)`` as a module (``norm`` is torch's name
    for p)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        self.norm = _real(p, "PairwiseDistance", "p")
        self.eps = _real(eps, "PairwiseDistance", "eps")
        if not isinstance(keepdim, (bool, np.bool_)):
            raise TypeError(f"PairwiseDistance: keepdim must be a bool, got {keepdim!r}")
        self.keepdim = bool(keepdim)

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


def renorm_rows(W: Tensor, idx: np.ndarray, max_norm: Any, norm_type: Any, who: str) -> None:
    """Scale in place (not recorded, as torch's ``embedding_renorm_``) each row ``W[i]``, i in
    ``idx``, whose ``norm_type``-norm exceeds ``max_norm``: ``W[i] *= max_norm / (|W[i]| + 1e-7)``.
    The change gives ``W`` a new version; the lookup's gradient does not read W's values."""
    for name, v in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    d = W.data
    if d.dtype.kind != "f":
        raise TypeError(f"{who}: max_norm needs a float weight, got dtype {d.dtype}")
    if not d.flags.writeable:
        raise ValueError(f"{who}: max_norm renormalises the weight in place, but its data is read-only")
    rows = np.unique(idx)
    norms = np.linalg.norm(d[rows], ord=float(norm_type), axis=1).astype(np.float64)  # in W's dtype, as torch
    big = norms > max_norm
    if not big.any():
        return
    rows = rows[big]
    scale = (float(max_norm) / (norms[big] + 1e-7)).astype(d.dtype)
    before_write(W)  # per-sample gradients kept from this memory are built first
    d[rows] *= scale[:, None]
    W._v = wrote(d)
