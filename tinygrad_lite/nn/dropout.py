"""Channel dropout: ``F.dropout1d`` / ``F.dropout2d`` and the modules ``Dropout1d`` /
``Dropout2d`` with torch's names and semantics.

In training mode every channel of every sample is kept with probability ``1 - p`` and then
scaled, or zeroed as a whole:

    y[b, c, ...] = x[b, c, ...] * m[b, c] / (1 - p),   m[b, c] ~ Bernoulli(1 - p)

so the expectation is unchanged. The mask is drawn for the (B, C) leading axes only (shape
(B, C, 1, ...)), one draw per sample and channel, so each sample gets its own mask and
per-sample gradients are those of a product with a constant. In evaluation mode (or with
``training=False``) the input is returned unchanged. The draw uses ``rng=`` when given,
else the project's generator (``tl.manual_seed``), like ``F.dropout``.

``dropout1d`` takes (B, C, L) or unbatched (C, L); ``dropout2d`` takes (B, C, H, W), and a
3-d input is read as (B, C, L) as torch reads it today (with a warning; use ``dropout1d``).

Alpha dropout (for SELU networks: it keeps a zero-mean, unit-variance input so) sets the
dropped values to SELU's saturation value ``-alpha'`` (``alpha' = scale * alpha =
1.7580993408473766``) and then applies the affine map that restores mean 0 and variance 1:

    y = a (x m - alpha' (1 - m)) + a alpha' p,   a = ((1 - p) (1 + p alpha'^2))^(-1/2)

``alpha_dropout`` draws ``m`` per element, ``feature_alpha_dropout`` per (sample, channel) of
an input with at least 2 axes (mask shape (B, C, 1, ...)). As in torch, both functions
default to ``training=False``; p = 1 gives zeros, and an empty input comes back unchanged.
"""

from __future__ import annotations

import warnings
from typing import Any, Union

import numpy as np

from ..batchstate import BATCHED
from ..random import as_generator
from ..tensor import Tensor
from . import functional as F
from .activations import _inplace
from .inplace_fns import forward as in_place_forward
from .layers import Dropout

__all__ = ["dropout1d", "dropout2d", "Dropout1d", "Dropout2d", "alpha_dropout", "feature_alpha_dropout", "AlphaDropout",
           "FeatureAlphaDropout"]

Rng = Union[None, int, np.random.Generator]


def _channel_dropout(x: Any, p: float, training: bool, rng: Rng, nd: int, who: str) -> Tensor:
    F.check_dropout(p, training, who)
    x = F._t(x)
    shape = tuple(x.data.shape)
    if x.data.ndim not in (nd + 1, nd + 2) or (x._bs & BATCHED and x.data.ndim != nd + 2):
        want = "(B, C, L) or (C, L)" if nd == 1 else "(B, C, H, W) or (C, H, W)"
        raise ValueError(f"{who}: expected an input of shape {want}, got shape {shape}"
                         + (" (a batched input needs the sample axis first)" if x._bs & BATCHED else ""))
    if nd == 2 and x.data.ndim == 3:
        warnings.warn(f"{who}: a 3-d input of shape {shape} is read as (B, C, L) and each (sample, channel) row "
                      "is zeroed as a whole, as torch does; use dropout1d for that meaning", UserWarning, stacklevel=3)
    if not training or p == 0.0:
        return x
    x = x._floating(who)  # the kept values are scaled by 1/(1-p): an integer input would truncate it
    lead = 2 if x.data.ndim == nd + 2 or nd == 2 else 1
    mshape = shape[:lead] + (1,) * (len(shape) - lead)
    if p == 1.0:
        return x * np.zeros(mshape, dtype=x.data.dtype)
    keep = as_generator(rng).random(mshape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.data.dtype)


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, rng: Rng = None) -> Tensor:
    """Zero whole channels of (B, C, L) (or (C, L)) with probability p, scale the rest by 1/(1-p)."""
    _inplace(inplace, "dropout1d")
    return _channel_dropout(input, p, training, rng, 1, "dropout1d")


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False, rng: Rng = None) -> Tensor:
    """Zero whole channels of (B, C, H, W) (or (C, H, W)) with probability p, scale the rest by 1/(1-p)."""
    _inplace(inplace, "dropout2d")
    return _channel_dropout(input, p, training, rng, 2, "dropout2d")


class Dropout1d(Dropout):
    """``F.dropout1d`` in training mode, the identity in evaluation mode; ``rng=`` as ``Dropout``."""

    def forward(self, input: Any) -> Tensor:
        p, training, rng = self.p, self.training, self.rng
        return in_place_forward(self, input, lambda x: _channel_dropout(x, p, training, rng, 1, "Dropout1d"))


class Dropout2d(Dropout):
    """``F.dropout2d`` in training mode, the identity in evaluation mode; ``rng=`` as ``Dropout``."""

    def forward(self, input: Any) -> Tensor:
        p, training, rng = self.p, self.training, self.rng
        return in_place_forward(self, input, lambda x: _channel_dropout(x, p, training, rng, 2, "Dropout2d"))


SELU_ALPHA = 1.7580993408473766  # SELU's scale * alpha: -SELU_ALPHA is its saturation value


def _alpha_dropout(x: Any, p: float, training: bool, rng: Rng, feature: bool, who: str) -> Tensor:
    F.check_dropout(p, training, who)
    x = F._t(x)
    shape = tuple(x.data.shape)
    if feature and len(shape) < 2:
        raise ValueError(f"{who}: expected an input with at least 2 axes (N, C, ...), got shape {shape}")
    if not training or p == 0.0 or x.data.size == 0:
        return x
    x = x._floating(who)
    dt = x.data.dtype
    if p == 1.0:
        return x * np.zeros((), dt)
    mshape = shape[:2] + (1,) * (len(shape) - 2) if feature else shape
    keep = as_generator(rng).random(mshape) >= p
    a = 1.0 / np.sqrt((SELU_ALPHA * SELU_ALPHA * p + 1.0) * (1.0 - p))
    return x * (keep * a).astype(dt) + (SELU_ALPHA * a * (keep - 1.0 + p)).astype(dt)


def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False,
                  rng: Rng = None) -> Tensor:
    """Alpha dropout of each element (training only): ``a (x m - alpha' (1 - m)) + a alpha' p``."""
    _inplace(inplace, "alpha_dropout")
    return _alpha_dropout(input, p, training, rng, False, "alpha_dropout")


def feature_alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False,
                          rng: Rng = None) -> Tensor:
    """Alpha dropout of whole channels of (N, C, ...) (training only), one draw per (sample, channel)."""
    _inplace(inplace, "feature_alpha_dropout")
    return _alpha_dropout(input, p, training, rng, True, "feature_alpha_dropout")


class AlphaDropout(Dropout):
    """``F.alpha_dropout`` in training mode, the identity in evaluation mode; ``rng=`` as ``Dropout``."""

    def forward(self, input: Any) -> Tensor:
        # (torch's AlphaDropout takes inplace=True and still leaves its input as it was)
        return _alpha_dropout(input, self.p, self.training, self.rng, False, "AlphaDropout")


class FeatureAlphaDropout(Dropout):
    """``F.feature_alpha_dropout`` in training mode, the identity in evaluation mode."""

    def forward(self, input: Any) -> Tensor:
        return _alpha_dropout(input, self.p, self.training, self.rng, True, "FeatureAlphaDropout")  # (likewise)
