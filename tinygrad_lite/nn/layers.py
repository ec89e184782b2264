"""Activations, Dropout, losses, Embedding and the normalisation layers, as modules.

Each module holds its parameters (and buffers) under PyTorch's names and calls a function of
``tl.nn.functional``, so a same-shaped torch model's ``state_dict`` loads unchanged.
"""

from __future__ import annotations

import numbers
from typing import Any, Optional, Union

import numpy as np

from ..conventions import check_bool
from ..factories import param_dtype
from ..graph import no_grad
from ..ops import RELU
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .inplace_fns import forward as in_place_forward
from .losses import _reduction
from .module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "Softmax", "LogSoftmax", "Dropout", "MSELoss", "Embedding",
           "LayerNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]

Rng = Union[None, int, np.random.Generator]


class _InPlace(Module):
    """A module taking torch's ``inplace`` flag: with ``inplace=True`` the input takes the
    result in place and is returned (``inplace_fns.forward``)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = check_bool(type(self).__name__, "inplace", inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InPlace):
    """max(x, 0)."""

    def forward(self, input: Any) -> Tensor:
        if self.inplace:
            return in_place_forward(self, input, RELU)
        return RELU(input if type(input) is Tensor else F._t(input))


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input: Any) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, input: Any) -> Tensor:
        return F.sigmoid(input)


class GELU(Module):
    """x Phi(x) with Phi the standard normal cdf (``approximate="tanh"``: PyTorch's tanh form)."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Any) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_InPlace):
    """x sigmoid(x)."""

    def forward(self, input: Any) -> Tensor:
        return in_place_forward(self, input, F.silu)


def _dim(v: Any, who: str) -> Optional[int]:
    """An axis as an int (None: torch's implicit choice, which ``F.softmax`` makes and warns about)."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{who}: dim must be an int, got {v!r}")
    return int(v)


def _eps(v: Any, who: str) -> float:
    F._check_eps(v, who)
    return float(v)


class _AlongDim(Module):
    """A normalisation along the axis ``dim`` (an int, or None for torch's implicit choice),
    checked at construction; subclasses define ``forward`` and name themselves in ``_who``."""

    _who: str

    def __init__(self, dim: Optional[int] = -1) -> None:
        self.dim = _dim(dim, self._who)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """softmax along ``dim``."""

    _who = "Softmax"

    def forward(self, input: Any) -> Tensor:
        return F.softmax(input, self.dim)


class LogSoftmax(_AlongDim):
    """log softmax along ``dim``."""

    _who = "LogSoftmax"

    def forward(self, input: Any) -> Tensor:
        return F.log_softmax(input, self.dim)


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the others by
    1/(1-p) (so the expectation is unchanged); each sample of a batch gets its own mask. In
    evaluation mode (``.eval()``), the identity."""

    def __init__(self, p: float = 0.5, rng: Rng = None, *, inplace: bool = False) -> None:
        who = type(self).__name__
        if isinstance(rng, (bool, np.bool_)):  # torch's Dropout(p, inplace) spelled positionally (no rng is a bool)
            rng, inplace = None, rng
        self.inplace = check_bool(who, "inplace", inplace)  # (torch's flag: written into the input, see _InPlace)
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
            raise TypeError(f"{who}: p must be a real number (a probability), got {p!r}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{who}: p must be a probability between 0 and 1, got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else as_generator(rng)

    def forward(self, input: Any) -> Tensor:
        return in_place_forward(self, input, lambda x: F.dropout(x, self.p, self.training, rng=self.rng))

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _Loss(Module):
    """A loss function of ``nn.functional`` as a module: ``fn(input, target, reduction)``."""

    fn: Any = None

    def __init__(self, reduction: str = "mean") -> None:
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def forward(self, input: Any, target: Any) -> Tensor:
        return type(self).fn(input, target, self.reduction)


class MSELoss(_Loss):
    """``F.mse_loss(input, target, reduction)`` as a module (torch's legacy ``size_average`` /
    ``reduce`` flags map to the reduction as in ``F.mse_loss``; a string in the first place is
    the reduction)."""

    fn = staticmethod(F.mse_loss)

    def __init__(self, size_average: Any = None, reduce: Optional[bool] = None, reduction: str = "mean") -> None:
        if isinstance(size_average, str):  # MSELoss("sum"): the reduction given by position
            size_average, reduction = None, size_average
        super().__init__(_reduction("MSELoss", size_average, reduce, reduction))


def _pos_int(v: Any, what: str, who: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{who}: {what} must be an int >= 1, got {v!r}")
    return int(v)


def pretrained_table(who: str, embeddings: Any, freeze: Any, scale_grad_by_freq: Any, sparse: Any) -> np.ndarray:
    """A copy of a pretrained table for ``from_pretrained`` (2-D, floating), after torch's checks."""
    try:
        w = np.array(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{who}: embeddings must be a 2-D table of numbers, got a ragged or unreadable "
                         f"{type(embeddings).__name__} ({e})") from None
    if w.ndim != 2:
        raise ValueError(f"{who}: embeddings must be 2-D (num_embeddings, embedding_dim), got shape {w.shape}")
    if w.dtype.kind != "f":
        raise TypeError(f"{who}: embeddings must be floating point, got dtype {w.dtype}")
    check_bool(who, "freeze", freeze)
    if check_bool(who, "scale_grad_by_freq", scale_grad_by_freq) or check_bool(who, "sparse", sparse):
        raise NotImplementedError(f"{who}: scale_grad_by_freq=True and sparse=True are not supported")
    return w


def _table(w: np.ndarray, freeze: bool) -> Tensor:
    """An embedding table: a parameter of its module, frozen (no gradient) when asked, which
    ``parameters()`` and ``state_dict()`` still list, as torch's."""
    t = Tensor(w, requires_grad=True)
    t.requires_grad = not freeze
    return t


class Embedding(Module):
    """A table ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) like PyTorch (the
    ``padding_idx`` row zero). Input: integer indices (array or int Tensor, batched or not) of
    any shape; output (*input.shape, embedding_dim). Per sample, the table's gradient adds the
    cotangent rows at the sample's indices (kept factored: indices and rows). ``max_norm``
    (with ``norm_type``): each forward first scales the looked-up rows whose norm exceeds it
    down to it, in place, as torch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None, rng: Rng = None,
                 dtype: Any = np.float64, *, max_norm: Optional[float] = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, _weight: Any = None, _freeze: bool = False,
                 device: Any = None) -> None:
        if check_bool("Embedding", "scale_grad_by_freq", scale_grad_by_freq) or check_bool("Embedding", "sparse",
                                                                                           sparse):
            raise NotImplementedError("Embedding: scale_grad_by_freq=True and sparse=True are not supported (the "
                                      "gradient is dense and unscaled); leave both False")
        dtype = param_dtype("Embedding", dtype, device)
        self.scale_grad_by_freq = self.sparse = False  # (torch's attributes; only False is supported)
        self.num_embeddings = _pos_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _pos_int(embedding_dim, "embedding_dim", "Embedding")
        padding_idx = F.padding_index(padding_idx, self.num_embeddings, "Embedding")
        self.padding_idx = padding_idx
        for name, v in (("max_norm", max_norm), ("norm_type", norm_type)):
            if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)):
                raise TypeError(f"Embedding: {name} must be a real number, got {v!r}")
        self.max_norm, self.norm_type = max_norm, norm_type
        if _weight is not None:  # torch: the given table as is (padding row untouched), no init
            w = pretrained_table("Embedding", _weight, _freeze, False, False)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {w.shape}, expected (num_embeddings, embedding_dim) "
                                 f"= ({self.num_embeddings}, {self.embedding_dim})")
            self.weight = _table(w, _freeze)
            return
        check_bool("Embedding", "_freeze", _freeze)
        w = as_generator(rng).standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        if padding_idx is not None:
            w[padding_idx] = 0
        self.weight = _table(w, _freeze)

    def reset_parameters(self) -> None:
        """The table drawn again from N(0, 1), the padding row zero (``nn.reset``)."""
        from .reset import embedding
        embedding(self)

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           who=f"Embedding({self.extra_repr()})")

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: Optional[int] = None,
                        max_norm: Optional[float] = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose table is a copy of the 2-D ``embeddings`` (its dtype kept); with
        ``freeze`` (the default) the table gets no gradient, as torch's."""
        w = pretrained_table("Embedding.from_pretrained", embeddings, freeze, scale_grad_by_freq, sparse)
        m = cls(w.shape[0], w.shape[1], padding_idx, rng=0, dtype=w.dtype, max_norm=max_norm, norm_type=norm_type)
        m.weight = _table(w, freeze)
        return m

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        norm = "" if self.max_norm is None else f", max_norm={self.max_norm}"
        norm += "" if self.norm_type == 2 else f", norm_type={self.norm_type}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}{norm}"


class LayerNorm(Module):
    """Normalise over the last axes (``normalized_shape``): (x - mean) / sqrt(var + eps) * weight
    + bias, weight ones and bias zeros at start."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float64, *, device: Any = None) -> None:
        dtype = param_dtype("LayerNorm", dtype, device)
        ns = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
        if not isinstance(ns, (tuple, list)) or not ns:
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a non-empty tuple of ints, got "
                            f"{normalized_shape!r}")
        self.normalized_shape = tuple(_pos_int(n, "normalized_shape", "LayerNorm") for n in ns)
        self.eps = _eps(eps, "LayerNorm")
        self.elementwise_affine = check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        self._bias = elementwise_affine and check_bool("LayerNorm", "bias", bias)
        self.register_parameter("weight", Tensor(np.ones(self.normalized_shape, dtype), requires_grad=True)
                                if elementwise_affine else None)
        self.register_parameter("bias", Tensor(np.zeros(self.normalized_shape, dtype), requires_grad=True)
                                if self._bias else None)

    def reset_parameters(self) -> None:
        """Weight 1, bias 0 (``nn.reset``)."""
        from .reset import affine
        affine(self)

    def forward(self, input: Any) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self._bias}")


class GroupNorm(Module):
    """Normalise (B, C, *S) over each group of C/num_groups channels and all positions, then a
    per-channel weight and bias. Each sample is normalised with its own statistics, so
    per-sample gradients are defined (unlike BatchNorm in training mode)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = np.float64, *, bias: bool = True, device: Any = None) -> None:
        dtype = param_dtype("GroupNorm", dtype, device)
        self.num_groups = _pos_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _pos_int(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_groups={num_groups} does not divide num_channels={num_channels}")
        self.eps, self.affine = _eps(eps, "GroupNorm"), check_bool("GroupNorm", "affine", affine)
        self._bias = affine and check_bool("GroupNorm", "bias", bias)
        self.register_parameter("weight", Tensor(np.ones(num_channels, dtype), requires_grad=True) if affine else None)
        self.register_parameter("bias", Tensor(np.zeros(num_channels, dtype), requires_grad=True)
                                if self._bias else None)

    def reset_parameters(self) -> None:
        """Weight 1, bias 0 (``nn.reset``)."""
        from .reset import affine
        affine(self)

    def forward(self, input: Any) -> Tensor:
        xd = input.data if isinstance(input, Tensor) else np.asarray(input)
        if xd.ndim < 2 or xd.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.extra_repr()}): expected an input of shape (B, {self.num_channels}, "
                             f"...), got {xd.shape}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps,
                            who=f"GroupNorm({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self._bias}"


class _BatchNorm(Module):
    """Per-channel normalisation with batch statistics (training) or running ones (eval)."""

    dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = np.float64, *, bias: bool = True,
                 device: Any = None) -> None:
        who = type(self).__name__
        dtype = param_dtype(who, dtype, device)
        self.num_features = _pos_int(num_features, "num_features", who)
        if momentum is not None:
            if isinstance(momentum, (bool, np.bool_)) or not isinstance(momentum, numbers.Real):
                raise TypeError(f"{who}: momentum must be a real number or None, got {momentum!r}")
            if not 0.0 <= float(momentum) <= 1.0:
                raise ValueError(f"{who}: momentum must be between 0 and 1 (or None), got {momentum!r}")
        self.eps, self.momentum, self.affine = _eps(eps, who), momentum, check_bool(who, "affine", affine)
        self.track_running_stats = check_bool(who, "track_running_stats", track_running_stats)
        self._bias = affine and check_bool(who, "bias", bias)
        self.register_parameter("weight", Tensor(np.ones(num_features, dtype), requires_grad=True) if affine else None)
        self.register_parameter("bias", Tensor(np.zeros(num_features, dtype), requires_grad=True)
                                if self._bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_parameters(self) -> None:
        """Weight 1, bias 0, the running statistics reset (``nn.reset``)."""
        from .reset import affine
        affine(self)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch count 0 (in place; nothing without
        ``track_running_stats``), as torch."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.copy_(np.zeros(self.num_features))
                self.running_var.copy_(np.ones(self.num_features))
                self.num_batches_tracked.copy_(np.array(0))

    def forward(self, input: Any) -> Tensor:
        who = type(self).__name__
        xd = input.data if isinstance(input, Tensor) else np.asarray(input)
        if xd.ndim not in self.dims or xd.shape[1] != self.num_features:
            want = " or ".join(f"(B, {self.num_features}{', ...' * (d - 2)})" for d in self.dims)
            raise ValueError(f"{who}({self.num_features}): expected an input of shape {want}, got {xd.shape}")
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            use_batch, self.momentum, self.eps, who=who,
                            num_batches_tracked=self.num_batches_tracked if self.training else None)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self._bias}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """BatchNorm over (B, C) or (B, C, L) inputs."""

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm over (B, C, H, W) inputs."""

    dims = (4,)


class BatchNorm3d(_BatchNorm):
    """BatchNorm over (B, C, D, H, W) inputs."""

    dims = (5,)
