"""``tl.nn.functional`` (``F``): the layers as functions, with PyTorch's signatures.

Each function checks its arguments (a wrong channel count, a kernel larger than the padded
input, an index out of range ... raise ``ValueError`` / ``IndexError`` naming the function
or layer and the shapes) and calls one op (``tinygrad_lite.ops``) or a few.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Union

import numpy as np

from .. import ops
from ..batchstate import BATCHED
from ..ops.base import const as _const
from ..ops.nnops import BATCHNORM, EMBEDDING, GELU, GROUPNORM, LAYERNORM, SILU
from ..random import as_generator
from ..tensor import Tensor
from .inplace_fns import checked_flag

__all__ = ["linear", "conv1d", "conv2d", "conv3d", "max_pool2d", "avg_pool2d", "embedding", "layer_norm", "group_norm",
           "batch_norm", "dropout", "relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "log_softmax", "mse_loss",
           "cross_entropy", "scaled_dot_product_attention", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "l1_loss", "huber_loss", "smooth_l1_loss", "leaky_relu", "elu",
           "softplus", "hardtanh", "relu6", "logsigmoid", "mish", "softsign", "one_hot", "max_pool1d", "avg_pool1d",
           "max_unpool1d", "max_unpool2d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "selu", "celu",
           "hardsigmoid", "hardswish", "softmin", "glu", "threshold", "prelu", "tanhshrink", "conv_transpose1d",
           "conv_transpose2d", "interpolate", "dropout1d", "dropout2d", "pad", "normalize", "cosine_similarity",
           "pairwise_distance", "kl_div", "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "rms_norm",
           "hardshrink", "softshrink", "pixel_shuffle", "pixel_unshuffle", "instance_norm", "max_pool3d", "avg_pool3d",
           "max_unpool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "conv_transpose3d", "unfold", "fold",
           "alpha_dropout", "feature_alpha_dropout", "bilinear",
           "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "triplet_margin_with_distance_loss", "lp_pool1d", "lp_pool2d", "lp_pool3d", "local_response_norm", "rrelu",
           "channel_shuffle", "embedding_bag", "ctc_loss"]


def _t(x: Any) -> Tensor:
    """A Tensor as it is; an array (or array-like) wrapped without copying."""
    return x if isinstance(x, Tensor) else _const(x)


def _tuple(v: Any, n: int, what: str, who: str, lo: int = 1) -> tuple:
    """An int or a tuple of n ints (each >= lo) as a tuple of n ints."""
    vals = (v,) * n if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    if (not isinstance(vals, (tuple, list)) or len(vals) != n
            or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < lo for a in vals)):
        raise ValueError(f"{who}: {what} must be an int >= {lo} or a tuple of {n} such ints, got {v!r}")
    return tuple(int(a) for a in vals)


def _pads(padding: Any, n: int, k: tuple, d: tuple, stride: tuple, who: str) -> tuple:
    """padding as ((lo, hi), ...): an int, a tuple, 'valid' or 'same' (stride 1; extra on the high side)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride {stride}")
            tot = [dd * (kk - 1) for kk, dd in zip(k, d)]
            return tuple((t // 2, t - t // 2) for t in tot)
        raise ValueError(f"{who}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    p = _tuple(padding, n, "padding", who, lo=0)
    return tuple((a, a) for a in p)


def _spatial(x: Tensor, nd: int, who: str) -> tuple:
    """(input with a batch axis, whether one was added): (C, *S) inputs get one, as in PyTorch."""
    xd = x.data
    if xd.ndim == nd + 2:
        return x, False
    if xd.ndim == nd + 1 and not x._bs & BATCHED:
        return x.unsqueeze(0), True
    raise ValueError(f"{who}: expected an input of shape {batched_shape(nd)}, got shape {xd.shape}")


def batched_shape(nd: int) -> str:
    """The name of a batched input's shape with ``nd`` spatial axes: "(B, C, D, H, W)" for 3."""
    return "(B, C, " + ("L" if nd == 1 else ", ".join("DHW"[3 - nd:])) + ")"


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x @ weight.T + bias (one fused node)."""
    x, W = _t(input), _t(weight)
    if W.data.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got {W.data.shape}")
    if bias is not None and _t(bias).data.shape != W.data.shape[:1]:
        raise ValueError(f"linear: bias must have shape {W.data.shape[:1]}, got {_t(bias).data.shape}")
    if x.data.ndim == 0 or x.data.shape[-1] != W.data.shape[-1]:
        raise ValueError(f"linear: input of shape {x.data.shape} does not match weight of shape {W.data.shape}")
    return ops.LINEAR(x, W, None if bias is None else _t(bias))


def embedding(input: Any, weight: Any, padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False, *,
              who: str = "embedding") -> Tensor:
    """Rows ``weight[input]``: output (*input.shape, D); repeated indices add their gradients; the
    row ``padding_idx`` gets none. ``max_norm``: first, as torch, every looked-up row whose
    ``norm_type``-norm exceeds it is scaled IN PLACE (not recorded) by ``max_norm / (norm + 1e-7)``.
    ``scale_grad_by_freq`` and ``sparse`` must stay False (a dense, unscaled gradient)."""
    idx = input if isinstance(input, Tensor) else _const(np.asarray(input))
    W = _t(weight)
    a = idx.data
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{who}: indices must be integers, got dtype {a.dtype}")
    if W.data.ndim != 2:
        raise ValueError(f"{who}: weight must have shape (num_embeddings, embedding_dim), got {W.data.shape}")
    N = W.data.shape[0]
    if a.size and (a.min() < 0 or a.max() >= N):
        bad = int(a[(a < 0) | (a >= N)].reshape(-1)[0])
        raise IndexError(f"{who}: index {bad} is out of range for a table of {N} rows (weight {W.data.shape}, "
                         f"input of shape {a.shape})")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{who}: scale_grad_by_freq=True and sparse=True are not supported (the gradient "
                                  "is dense and unscaled)")
    pad = padding_index(padding_idx, N, who)
    if max_norm is not None:
        from .functional_more import renorm_rows
        renorm_rows(W, a, max_norm, norm_type, who)
    return EMBEDDING(idx, W, pad)


def padding_index(padding_idx: Any, N: int, who: str) -> Optional[int]:
    """``padding_idx`` as a row in ``0..N-1`` (negative counts from the end), or None;
    TypeError / ValueError naming ``who`` otherwise."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, (bool, np.bool_)) or not isinstance(padding_idx, numbers.Integral):
        raise TypeError(f"{who}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -N <= int(padding_idx) < N:
        raise ValueError(f"{who}: padding_idx {padding_idx} is out of range for a table of {N} rows")
    return int(padding_idx) % N


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes."""
    x = _t(input)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    if not isinstance(ns, (tuple, list)) or not all(isinstance(n, numbers.Integral) for n in ns):
        raise TypeError(f"layer_norm: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
    ns = tuple(int(n) for n in ns)
    _check_eps(eps, "layer_norm")
    if x.data.shape[x.data.ndim - len(ns):] != ns or len(ns) > x.data.ndim:
        raise ValueError(f"layer_norm: input of shape {x.data.shape} does not end in normalized_shape {ns}")
    if not ns:
        raise ValueError("layer_norm: normalized_shape must name at least one axis, got ()")
    w, b = _affine("layer_norm", weight, bias, ns)
    return LAYERNORM(x._floating("layer_norm"), w, b, k=len(ns), eps=float(eps))


def _affine(who: str, weight: Any, bias: Any, shape: tuple) -> tuple:
    """A normalisation's weight and bias as Tensors (or None), each of ``shape`` (ValueError
    naming the op otherwise, as torch)."""
    out = []
    for name, v in (("weight", weight), ("bias", bias)):
        t = None if v is None else _t(v)
        if t is not None and t.data.shape != shape:
            raise ValueError(f"{who}: {name} of shape {t.data.shape} does not match the normalized shape {shape}")
        out.append(t)
    return tuple(out)


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5,
               who: str = "group_norm") -> Tensor:
    """Normalise (B, C, *S) over each group of C/num_groups channels and all positions; then
    weight[c] * xhat + bias[c]."""
    x = _t(input)
    if x.data.ndim < 2:
        raise ValueError(f"{who}: expected an input of shape (B, C, ...), got {x.data.shape}")
    C = x.data.shape[1]
    if isinstance(num_groups, (bool, np.bool_)) or not isinstance(num_groups, numbers.Integral):
        raise TypeError(f"{who}: num_groups must be an int, got {num_groups!r}")
    _check_eps(eps, who)
    if num_groups < 1 or C % num_groups:
        raise ValueError(f"{who}: num_groups={num_groups} does not divide the {C} channels of the input of shape "
                         f"{x.data.shape}")
    w, b = _affine(who, weight, bias, (C,))
    return GROUPNORM(x._floating(who), w, b, groups=int(num_groups), eps=float(eps))


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: Optional[float] = 0.1, eps: float = 1e-5,
               who: str = "BatchNorm", num_batches_tracked: Any = None) -> Tensor:
    """Training: normalise with the batch's per-channel mean and variance over (B, *S) and update
    the running statistics in place (``running = (1 - momentum) running + momentum batch``, the
    variance unbiased; momentum None: a cumulative average). Evaluation: the running statistics."""
    _check_eps(eps, who)
    if momentum is not None and (isinstance(momentum, (bool, np.bool_)) or not isinstance(momentum, numbers.Real)):
        raise TypeError(f"{who}: momentum must be a real number or None, got {momentum!r}")
    if momentum is not None and not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{who}: momentum must be in [0, 1] or None, got {momentum!r}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{who}: training must be a bool, got {training!r}")
    x = _t(input)
    xd = x.data
    if xd.ndim < 2:
        raise ValueError(f"{who}: expected an input of shape (B, C, ...), got {xd.shape}")
    C = xd.shape[1]
    rm = None if running_mean is None else (running_mean.data if isinstance(running_mean, Tensor) else running_mean)
    rv = None if running_var is None else (running_var.data if isinstance(running_var, Tensor) else running_var)
    for name, a in (("running_mean", rm), ("running_var", rv)):
        if a is not None and np.shape(a) != (C,):
            raise ValueError(f"{who}: {name} of shape {np.shape(a)} does not match the {C} channels of the input "
                             f"of shape {xd.shape}")
        if a is not None and training and (not isinstance(a, np.ndarray) or a.dtype.kind != "f"
                                           or not a.flags.writeable):
            raise TypeError(f"{who}: {name} must be a writable float array (it is updated in place), got "
                            f"{type(a).__name__}{f' of dtype {a.dtype}' if isinstance(a, np.ndarray) else ''}")
    if num_batches_tracked is not None and not isinstance(num_batches_tracked, Tensor):
        raise TypeError(f"{who}: num_batches_tracked must be a Tensor (a buffer) or None, got "
                        f"{type(num_batches_tracked).__name__}")
    w = None if weight is None else _t(weight)
    b = None if bias is None else _t(bias)
    for name, t in (("weight", w), ("bias", b)):  # checked before the running statistics change
        if t is not None and t.data.shape != (C,):
            raise ValueError(f"{who}: {name} of shape {t.data.shape} does not match the {C} channels of the input "
                             f"of shape {xd.shape}")
    if training and xd.size == 0 and C:  # an empty batch: an empty output, the statistics as they were
        if num_batches_tracked is not None:  # (torch counts the batch)
            num_batches_tracked.data = num_batches_tracked.data + 1
        z = np.zeros(C, xd.dtype)
        return BATCHNORM(x, w, b, mean=z, var=z + 1, training=False, eps=float(eps), label=who)
    if training:
        n = xd.size // C if C else 0
        if n <= 1:
            raise ValueError(f"{who}: training mode needs more than one value per channel, got input of shape "
                             f"{xd.shape}")
        axes = (0,) + tuple(range(2, xd.ndim))
        mean = xd.mean(axis=axes)
        var = xd.var(axis=axes)
        if rm is not None and rv is not None:  # every check passed: now the updates
            count = None if num_batches_tracked is None else num_batches_tracked.data + 1
            m = (1.0 / float(count) if momentum is None and count is not None
                 else (0.0 if momentum is None else float(momentum)))
            new_mean = (1.0 - m) * rm + m * mean
            new_var = (1.0 - m) * rv + m * var * (n / (n - 1))
            rm[...] = new_mean
            rv[...] = new_var
            if count is not None:
                num_batches_tracked.data = count
    elif rm is None or rv is None:
        raise ValueError(f"{who}: evaluation mode needs running_mean and running_var")
    return BATCHNORM(x, w, b, mean=rm, var=rv, training=bool(training), eps=float(eps), label=who)


def check_dropout(p: Any, training: Any, who: str) -> None:
    """p a probability and training a bool (TypeError / ValueError naming ``who`` otherwise)."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{who}: p must be a real number (a probability), got {p!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{who}: p must be between 0 and 1, got {p}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{who}: training must be a bool, got {training!r}")


def _inplace(v: Any, who: str) -> None:
    """Check ``inplace`` (a bool, else TypeError). The function bodies compute out of place:
    ``F``'s public functions take ``inplace=True`` through ``inplace_fns``, which passes
    False here; an unwrapped body given True refuses it rather than leave its input as it was."""
    if checked_flag(v, who):
        raise ValueError(f"{who}: inplace=True is handled by tl.nn.functional.{who}; this body computes out of place")


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False,
            rng: Union[None, int, np.random.Generator] = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only). The
    mask is drawn per element, so each sample of a batch gets its own."""
    check_dropout(p, training, "dropout")
    _inplace(inplace, "dropout")
    x = _t(input)
    if not training or p == 0.0:
        return x
    x = x._floating("dropout")  # the kept values are scaled by 1/(1-p): an integer input would truncate it
    if p == 1.0:
        return x * np.zeros_like(x.data)
    keep = as_generator(rng).random(x.data.shape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.data.dtype)


def relu(input: Any, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise (``inplace=True``: the input takes the result, see ``inplace_fns``)."""
    if inplace is not False:
        from .inplace_fns import in_place
        if checked_flag(inplace, "relu"):
            return in_place(input, "relu", ops.RELU)
    return ops.RELU(input if type(input) is Tensor else _t(input))


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Phi(x) (Phi the standard normal cdf), or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _t(input)
    return GELU(x._floating("gelu"), approximate)


def silu(input: Any, inplace: bool = False) -> Tensor:
    """x sigmoid(x)."""
    _inplace(inplace, "silu")
    return SILU(_t(input)._floating("silu"))


def tanh(input: Any) -> Tensor:
    return _t(input).tanh()


def sigmoid(input: Any) -> Tensor:
    return _t(input).sigmoid()


def _check_eps(eps: Any, who: str) -> None:
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{who}: eps must be a real number, got {eps!r}")
    if not 0.0 <= float(eps) < math.inf:
        raise ValueError(f"{who}: eps must be a finite number >= 0, got {eps!r}")


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(input: Any = None, target: Any = None, reduction: str = "mean", *, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, weight: Any = None, pred: Any = None) -> Tensor:
    """Squared error: mean (default) or sum over EVERY element of (pred - target)^2. With
    ``weight`` (input's shape), torch's weighted form: w (pred - target)^2, summed (divided by
    sum(w) for "mean"); every operand gets its gradient.

    With a batched ``pred`` of B samples, sample b's own term is the mean (or sum) over its
    outputs, so the cost is the mean (or sum) of the B per-sample terms. One fused node:
    dL/dpred = 2 (pred - target) / N (N = number of elements; 1 for ``sum``). ``pred=`` is the
    contract's keyword for ``input``.
    """
    if input is None or pred is not None or target is None:
        from ..torchkw import one_of
        input = one_of("mse_loss", input=input, pred=pred)
        if target is None:
            raise TypeError("mse_loss: missing the argument 'target'")
    if size_average is not None or reduce is not None:  # torch's legacy flags
        from .losses import _reduction
        reduction = _reduction("mse_loss", size_average, reduce, reduction)
    if reduction != "mean":
        _check_reduction("mse_loss", reduction)
    pred = input if type(input) is Tensor else _t(input)
    if pred._data.dtype.kind != "f":  # an integer prediction computes in float (its mean is no integer)
        pred = pred._floating("mse_loss")
    target = target if type(target) is Tensor else _t(target)
    if pred._data.shape != target._data.shape:
        raise ValueError(f"mse_loss: prediction shape {pred._data.shape} and target shape {target._data.shape} "
                         "differ; reshape one of them (broadcasting them would compute a different loss)")
    if weight is not None:
        w = _t(weight)
        if w._data.shape != pred._data.shape:
            raise ValueError(f"mse_loss: weight shape {w._data.shape} and input shape {pred._data.shape} differ "
                             "(the weights and the input must have the same size)")
        if not w._rg:  # one op: a batched input's per-sample terms are each sample's weighted mean
            from .losses import _pointwise
            return _pointwise(ops.losses.WSQUARED, "mse_loss", pred, target, reduction, True, weight=w)
        sq = (pred - target) ** 2 * w
        return sq if reduction == "none" else sq.sum() if reduction == "sum" else sq.sum() / w.sum()
    if reduction == "none":
        return (pred - target) ** 2
    if target._bs & BATCHED and not pred._bs and pred.requires_grad:
        # only the target holds the samples: the composed ops carry each sample's own term
        sq = (pred - target) ** 2
        return sq.mean() if reduction == "mean" else sq.sum()
    return ops.MSE(pred, target, reduction)


# the convolutions, the losses beyond mse_loss, more activations, the pools, the transposed convolutions, fold and
# unfold, resizing, channel dropout and attention live in conv.py, losses.py, activations*.py, pooling.py,
# convtranspose.py, fold.py, resample.py, dropout.py and attention.py (they use the helpers above)
from .activations import elu, hardtanh, leaky_relu, logsigmoid, mish, one_hot, relu6, softplus, softsign  # noqa: E402
from .activations_more import (  # noqa: E402
    celu,
    glu,
    hardsigmoid,
    hardswish,
    log_softmax,
    prelu,
    selu,
    softmax,
    softmin,
    tanhshrink,
    threshold,
)
from .attention import scaled_dot_product_attention  # noqa: E402
from .bilinear import bilinear  # noqa: E402
from .conv import conv1d, conv2d, conv3d  # noqa: E402
from .convtranspose import conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402
from .ctc import ctc_loss  # noqa: E402
from .dropout import alpha_dropout, dropout1d, dropout2d, feature_alpha_dropout  # noqa: E402
from .embedding_bag import embedding_bag  # noqa: E402
from .fold import fold, unfold  # noqa: E402
from .functional_extra import (  # noqa: E402
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d_with_indices,
    dropout3d,
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    gumbel_softmax,
    max_pool1d_with_indices,
    max_pool2d_with_indices,
    max_pool3d_with_indices,
    pdist,
)
from .functional_more import cosine_similarity, normalize, pairwise_distance  # noqa: E402
from .grid import affine_grid, grid_sample  # noqa: E402
from .inplace_fns import add_inplace  # noqa: E402
from .layers_extra import channel_shuffle, local_response_norm, lp_pool1d, lp_pool2d, lp_pool3d, rrelu  # noqa: E402
from .layers_more import hardshrink, instance_norm, pixel_shuffle, pixel_unshuffle, rms_norm, softshrink  # noqa: E402
from .linear_ce import linear_cross_entropy  # noqa: E402
from .losses import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    nll_loss,
    smooth_l1_loss,
)
from .losses_margin import (  # noqa: E402
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    triplet_margin_with_distance_loss,
)
from .losses_more import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    kl_div,
    margin_ranking_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .padding import pad  # noqa: E402
from .pooling import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from .resample import interpolate, upsample, upsample_bilinear, upsample_nearest  # noqa: E402

__all__ += ["affine_grid", "grid_sample", "gumbel_softmax", "pdist", "max_pool1d_with_indices",
            "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
            "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "dropout3d",
            "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "upsample", "upsample_nearest",
            "upsample_bilinear", "linear_cross_entropy"]
add_inplace(globals())  # inplace=True for the functions that take it; F.relu_, F.elu_, ...
