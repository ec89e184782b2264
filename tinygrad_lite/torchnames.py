"""torch's top-level spellings of the layer functions and losses (``tl.conv2d``,
``tl.batch_norm``, ``tl.embedding``, ``tl.dropout``, ``tl.kl_div``, ...) and its top-level
in-place functions (``tl.relu_(x)``, ``tl.exp_(x)``, ``tl.clamp_(x, 0, 1)``, ...).

The maths is ``tl.nn.functional``'s (and the Tensor methods'); what differs is the calling
convention of the top-level names, which is kept here:

* ``dropout(input, p, train)`` and its relatives take ``train`` positionally and no
  ``inplace``; the in-place forms are the names ending in ``_``. ``feature_dropout``
  zeroes whole (sample, channel) slices ``x[n, c]`` with probability ``p`` and scales the
  kept ones by ``1 / (1 - p)``.
* ``batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
  cudnn_enabled)`` and ``instance_norm`` take the affine parameters before the running
  statistics, all positional; ``layer_norm`` / ``group_norm`` end with the ``cudnn`` flag.
  The flags are checked to be bools and change nothing.
* ``embedding(weight, indices, padding_idx=-1, ...)`` takes the table first; a negative
  ``padding_idx`` (or one past the table) means no padding row.
* ``max_pool1d/2d/3d`` return the pooled values only, ``max_pool1d_with_indices`` and
  ``adaptive_max_pool1d`` the pair ``(values, indices)``.
* The losses take ``reduction`` as torch's integer code: 0 = ``'none'``, 1 = ``'mean'``,
  2 = ``'sum'`` (``kl_div``'s 1 is the mean over every element).

Every in-place function ``name_(input, *args)`` is the Tensor method ``input.name_(*args)``:
the input takes the result and is returned.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

import numpy as np

from .nn import functional as F
from .nn.inplace_fns import in_place
from .random import as_generator
from .tensor import Tensor
from .torchnames_more import *  # noqa: F403
from .torchnames_more import __all__ as _more_all

_LAYERS = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "dropout",
           "dropout_", "alpha_dropout", "alpha_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_",
           "feature_dropout", "feature_dropout_", "batch_norm", "layer_norm", "group_norm", "instance_norm",
           "embedding", "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "avg_pool1d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
           "prelu", "selu", "selu_", "celu", "celu_", "rrelu", "rrelu_", "threshold", "threshold_", "hardshrink",
           "bilinear", "pdist", "rms_norm"]
_LOSSES = ["binary_cross_entropy_with_logits", "cosine_embedding_loss", "ctc_loss", "hinge_embedding_loss",
           "kl_div", "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss"]
# torch's top-level in-place functions: name_(input, *args) is input.name_(*args)
_INPLACE = ("abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
            "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_",
            "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_",
            "frac_", "gcd_", "i0_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_",
            "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_",
            "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_")

__all__ = _LAYERS + _LOSSES + list(_INPLACE) + list(_more_all)

# the same functions as tl.nn.functional's (torch's top-level signatures are F's)
conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d
pixel_shuffle, pixel_unshuffle, channel_shuffle = F.pixel_shuffle, F.pixel_unshuffle, F.channel_shuffle
prelu, hardshrink, bilinear, pdist, rms_norm = F.prelu, F.hardshrink, F.bilinear, F.pdist, F.rms_norm
avg_pool1d, adaptive_avg_pool1d = F.avg_pool1d, F.adaptive_avg_pool1d


def _flag(who: str, name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {v!r}")
    return bool(v)


def _tensor(who: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor input, got {type(x).__name__}")
    return x


# ------------------------------------------------------------------------- dropout -------
def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """With ``train``: each element zeroed with probability ``p``, the rest scaled by
    ``1 / (1 - p)``; without: ``input`` itself."""
    return F.dropout(_tensor("dropout", input), p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``dropout`` in place: ``input`` takes the result and is returned."""
    return F.dropout(_tensor("dropout_", input), p, train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """SELU's dropout: dropped elements set to SELU's saturation value, then an affine map
    keeping mean 0 and variance 1 (``F.alpha_dropout``); without ``train`` the input."""
    return F.alpha_dropout(_tensor("alpha_dropout", input), p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``alpha_dropout`` in place."""
    return F.alpha_dropout(_tensor("alpha_dropout_", input), p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``alpha_dropout`` dropping whole (sample, channel) slices ``x[n, c]``."""
    return F.feature_alpha_dropout(_tensor("feature_alpha_dropout", input), p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``feature_alpha_dropout`` in place."""
    return F.feature_alpha_dropout(_tensor("feature_alpha_dropout_", input), p, train, inplace=True)


def _feature_dropout(x: Tensor, p: float, train: bool, who: str) -> Tensor:
    F.check_dropout(p, train, who)
    shape = tuple(x.shape)
    if len(shape) < 2:
        raise ValueError(f"{who}: expected an input with at least 2 axes (N, C, ...), got shape {shape}")
    if not train or p == 0.0:
        return x
    x = x._floating(who)
    dt = x.data.dtype
    mshape = shape[:2] + (1,) * (len(shape) - 2)
    if p == 1.0:
        return x * np.zeros(mshape, dt)
    keep = as_generator(None).random(mshape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(dt)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """With ``train``: each slice ``x[n, c]`` zeroed with probability ``p`` (one draw per
    slice), the kept ones scaled by ``1 / (1 - p)``; without: ``input`` itself."""
    return _feature_dropout(_tensor("feature_dropout", input), p, train, "feature_dropout")


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``feature_dropout`` in place."""
    x = _tensor("feature_dropout_", input)
    F.check_dropout(p, train, "feature_dropout_")
    if not train:
        return x
    return in_place(x, "feature_dropout_", lambda t: _feature_dropout(t, p, train, "feature_dropout_"))


# ---------------------------------------------------------------------- normalising -------
def batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], running_mean: Optional[Tensor],
               running_var: Optional[Tensor], training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over every axis but the channel axis
    1: the batch's (biased) statistics when ``training`` (the running ones, when given, move
    ``momentum`` of the way to the batch's, with the unbiased variance), else the running ones."""
    _flag("batch_norm", "cudnn_enabled", cudnn_enabled)
    _flag("batch_norm", "training", training)
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, who="batch_norm")


def instance_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], running_mean: Optional[Tensor],
                  running_var: Optional[Tensor], use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """``batch_norm`` of each sample on its own: statistics over the spatial axes of each
    (sample, channel) slice (``use_input_stats``), else the running ones."""
    _flag("instance_norm", "cudnn_enabled", cudnn_enabled)
    _flag("instance_norm", "use_input_stats", use_input_stats)
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-05, cudnn_enable: bool = True) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last axes ``normalized_shape``."""
    _flag("layer_norm", "cudnn_enable", cudnn_enable)
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-05, cudnn_enabled: bool = True) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups, then ``* weight + bias``
    per channel."""
    _flag("group_norm", "cudnn_enabled", cudnn_enabled)
    return F.group_norm(input, num_groups, weight, bias, eps, who="group_norm")


def embedding(weight: Tensor, indices: Any, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """The rows ``weight[indices]``; row ``padding_idx`` (when in ``[0, rows)``) gets no
    gradient, a negative one means none (torch's top-level convention)."""
    if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"embedding: padding_idx must be an int, got {padding_idx!r}")
    w = _tensor("embedding", weight)
    rows = w.shape[0] if w.ndim else 0
    pad = int(padding_idx) if 0 <= padding_idx < rows else None
    return F.embedding(indices, w, pad, None, 2.0, scale_grad_by_freq, sparse)


# ------------------------------------------------------------------------- pooling -------
def _stride(stride: Any) -> Any:
    return None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """The maximum of each window (stride: the kernel size when empty)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """The maximum of each 2-d window (stride: the kernel size when empty)."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """The maximum of each 3-d window (stride: the kernel size when empty)."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> tuple:
    """``(values, indices)``: each window's maximum and its position along the last axis."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple:
    """``(values, indices)`` of the maxima over ``output_size`` windows covering the last axis."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# --------------------------------------------------------------------- activations -------
def selu(input: Tensor) -> Tensor:
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with SELU's constants."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """``selu`` in place."""
    return F.selu(_tensor("selu_", input), inplace=True)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``celu`` in place."""
    return F.celu(_tensor("celu_", input), alpha, inplace=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Any = None) -> Tensor:
    """``x`` where ``x >= 0``, else ``a * x``: ``a`` drawn uniformly from ``[lower, upper]``
    per element when ``training`` (from ``generator``), else ``(lower + upper) / 2``."""
    return F.rrelu(input, lower, upper, training, rng=as_generator(generator, "rrelu: generator"))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator: Any = None) -> Tensor:
    """``rrelu`` in place."""
    rng = as_generator(generator, "rrelu_: generator")
    return F.rrelu(_tensor("rrelu_", input), lower, upper, training, inplace=True, rng=rng)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``threshold`` in place."""
    return F.threshold(_tensor("threshold_", input), threshold, value, inplace=True)


# -------------------------------------------------------------------------- losses -------
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(who: str, reduction: Any) -> str:
    """torch's integer reduction code as F's name."""
    if isinstance(reduction, (bool, np.bool_)) or not isinstance(reduction, (int, np.integer)):
        raise TypeError(f"{who}: reduction must be an int (0 = 'none', 1 = 'mean', 2 = 'sum'), got {reduction!r}")
    if int(reduction) not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 0 ('none'), 1 ('mean') or 2 ('sum'), got {reduction}")
    return _REDUCTIONS[int(reduction)]


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     pos_weight: Optional[Tensor] = None, reduction: int = 1) -> Tensor:
    """``-w * (pos_weight * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x)))``, reduced."""
    red = _reduction("binary_cross_entropy_with_logits", reduction)
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=red, pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 1) -> Tensor:
    """``1 - cos(x1, x2)`` where ``y = 1``, ``max(0, cos(x1, x2) - margin)`` where ``y = -1``."""
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction("cosine_embedding_loss", reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: int = 1, zero_infinity: bool = False) -> Tensor:
    """The connectionist temporal classification loss ``-log p(target | input)``; its mean
    divides each sample's loss by its target length first."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction("ctc_loss", reduction),
                      zero_infinity)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 1) -> Tensor:
    """``x`` where ``y = 1``, ``max(0, margin - x)`` where ``y = -1``, reduced."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def kl_div(input: Tensor, target: Tensor, reduction: int = 1, *, log_target: bool = False) -> Tensor:
    """``target * (log target - input)`` (``exp(target) * (target - input)`` with
    ``log_target``), reduced; the mean is over every element."""
    red = _reduction("kl_div", reduction)
    with warnings.catch_warnings():  # (the integer mean is asked for by code: F's 'mean' advice does not apply)
        warnings.filterwarnings("ignore", message="kl_div: reduction='mean'", category=UserWarning)
        return F.kl_div(input, target, reduction=red, log_target=log_target)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 1) -> Tensor:
    """``max(0, -y * (x1 - x2) + margin)``, reduced."""
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction("margin_ranking_loss", reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """``exp(x) - y * x`` (``log_input``) or ``x - y * log(x + eps)``, plus Stirling's term
    of ``log(y!)`` for ``y > 1`` when ``full``, reduced."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction("poisson_nll_loss", reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-06, swap: bool = False, reduction: int = 1) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm distance (``swap``:
    ``d(a, n)`` replaced by ``min(d(a, n), d(p, n))``), reduced."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction("triplet_margin_loss", reduction))


# ---------------------------------------------------------------------- in-place -------
def _method_inplace(name: str) -> Callable[..., Tensor]:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return getattr(_tensor(name, input), name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(*args)``: ``input`` takes the result of ``{name[:-1]}`` in place and is returned."
    return fn


globals().update({_n: _method_inplace(_n) for _n in _INPLACE})
