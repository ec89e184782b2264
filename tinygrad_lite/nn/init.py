"""Parameter initialisation, shaped like PyTorch's ``torch.nn.init``: each function fills a
float Tensor in place (its array is overwritten; the version bump makes graphs built
before refuse ``backward``), records no graph, and returns the tensor.

Random draws come from ``generator`` (a numpy Generator or an int seed) or, when it is
None, from the library's generator that ``tl.manual_seed`` seeds.

Fans, for a weight of shape ``(out, in, *kernel)``: ``fan_in = in * prod(kernel)``,
``fan_out = out * prod(kernel)``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional, Union

import numpy as np

from ..conventions import store
from ..random import as_generator
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "dirac_",
           "sparse_", "uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "orthogonal", "sparse", "eye", "dirac"]

Gen = Union[None, int, np.random.Generator]

_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
          "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended scale of the weights before ``nonlinearity``: 1 for linear, conv and
    sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu
    (``param`` is the slope, 0.01 by default), 3/4 for selu."""
    if not isinstance(nonlinearity, str):
        raise ValueError(f"calculate_gain: nonlinearity must be a name such as 'relu', got {nonlinearity!r}")
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real) or math.isnan(param):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity in _GAINS:
        return _GAINS[nonlinearity]
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (one of "
                     f"{sorted(_GAINS) + ['leaky_relu']})")


def _target(tensor: Any, who: str) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.data.dtype.kind != "f":
        raise TypeError(f"{who}: only floating-point tensors can be initialised, got dtype {tensor.data.dtype}")
    return tensor.data


def _fill(tensor: Tensor, values: Any) -> Tensor:
    """Write ``values`` (cast to the tensor's dtype) into the tensor, in place where its array
    is writeable (``store``: a new version for it and for every tensor sharing that memory,
    e.g. the parameter ``w`` of ``init.zeros_(w[0])``), else as a new array."""
    arr = tensor.data
    if arr.flags.writeable:
        return store(tensor, np.asarray(values), "init", "unsafe")
    tensor.data = np.array(np.broadcast_to(values, arr.shape), dtype=arr.dtype)
    return tensor


def _fans(shape: tuple, who: str) -> tuple:
    if len(shape) < 2:
        raise ValueError(f"{who}: fan in and fan out need a tensor of at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _number(who: str, name: str, v: Any, infinite: bool = False) -> float:
    """``v`` as a float: a real number (a one-element Tensor too, as torch takes a 0-d tensor),
    finite unless ``infinite`` (NaN never); TypeError / ValueError naming ``who`` otherwise."""
    if isinstance(v, Tensor) and v.data.size == 1 and v.data.dtype.kind in "iuf":
        v = v.data.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {v!r}")
    f = float(v)
    if math.isnan(f) or (not infinite and math.isinf(f)):
        raise ValueError(f"{who}: {name} must be a {'' if infinite else 'finite '}number, got {f}")
    return f


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Gen = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    arr = _target(tensor, "uniform_")
    a, b = _number("uniform_", "a", a), _number("uniform_", "b", b)
    if a > b:
        raise ValueError(f"uniform_: expects a <= b, got a={a} and b={b}")
    return _fill(tensor, as_generator(generator, "generator").uniform(a, b, arr.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Gen = None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    arr = _target(tensor, "normal_")
    mean, std = _number("normal_", "mean", mean), _number("normal_", "std", std)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, as_generator(generator, "generator").normal(mean, std, arr.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Gen = None) -> Tensor:
    """Fill with draws from N(mean, std^2) conditioned on [a, b] (redrawing the samples that
    fall outside: the exact truncated distribution; for an interval holding under 1e-6 of the
    mass, the inverse of the normal cdf of uniform draws over it)."""
    arr = _target(tensor, "trunc_normal_")
    mean, std = _number("trunc_normal_", "mean", mean), _number("trunc_normal_", "std", std)
    a, b = _number("trunc_normal_", "a", a, infinite=True), _number("trunc_normal_", "b", b, infinite=True)
    if not a < b or std <= 0:
        raise ValueError(f"trunc_normal_: needs a < b and std > 0, got a={a}, b={b}, std={std}")
    lo, hi = (a - mean) / std, (b - mean) / std
    p_in = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))
    rng = as_generator(generator, "generator")
    if p_in < 1e-6:  # far in a tail: the inverse of Phi of uniform draws between Phi(lo) and Phi(hi), on
        from ..ops.special import ndtri  # the lower side (where Phi keeps its digits), clipped to [lo, hi]
        flip = lo > 0
        l, h = (-hi, -lo) if flip else (lo, hi)
        cl, ch = (0.5 * math.erfc(-v / math.sqrt(2)) for v in (l, h))
        z = np.clip(ndtri(rng.uniform(cl, ch, arr.size)), l, h)
        return _fill(tensor, (mean + std * (-z if flip else z)).reshape(arr.shape))
    out = np.empty(arr.size)
    todo = np.arange(arr.size)
    while todo.size:
        z = rng.standard_normal(todo.size)
        ok = (z >= lo) & (z <= hi)
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    return _fill(tensor, (mean + std * out).reshape(arr.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _target(tensor, "constant_")
    return _fill(tensor, _number("constant_", "val", val))


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    _target(tensor, "ones_")
    return _fill(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    _target(tensor, "zeros_")
    return _fill(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal of a 2-D tensor, zeros elsewhere)."""
    arr = _target(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {arr.shape}")
    return _fill(tensor, np.eye(*arr.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Gen = None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    arr = _target(tensor, "xavier_uniform_")
    fan_in, fan_out = _fans(arr.shape, "xavier_uniform_")
    a = _number("xavier_uniform_", "gain", gain) * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, as_generator(generator, "generator").uniform(-a, a, arr.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Gen = None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    arr = _target(tensor, "xavier_normal_")
    fan_in, fan_out = _fans(arr.shape, "xavier_normal_")
    std = _number("xavier_normal_", "gain", gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, as_generator(generator, "generator").normal(0.0, std, arr.shape))


def _kaiming_std(arr: np.ndarray, a: float, mode: str, nonlinearity: str, who: str) -> float:
    mode = mode.lower() if isinstance(mode, str) else mode  # (torch reads "FAN_OUT" as "fan_out")
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{who}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(arr.shape, who)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Gen = None) -> Tensor:
    """He uniform: U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan), the fan chosen by
    ``mode`` and the gain by ``nonlinearity`` (``a``: leaky_relu's slope)."""
    arr = _target(tensor, "kaiming_uniform_")
    if arr.size == 0:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(arr, a, mode, nonlinearity, "kaiming_uniform_")
    return _fill(tensor, as_generator(generator, "generator").uniform(-bound, bound, arr.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Gen = None) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    arr = _target(tensor, "kaiming_normal_")
    if arr.size == 0:
        return tensor
    std = _kaiming_std(arr, a, mode, nonlinearity, "kaiming_normal_")
    return _fill(tensor, as_generator(generator, "generator").normal(0.0, std, arr.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Gen = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``: the Q of the QR factorisation of a Gaussian
    matrix (signs fixed by R's diagonal), over the tensor flattened to (rows, rest)."""
    arr = _target(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape {arr.shape}")
    if arr.size == 0:
        return tensor
    gain = _number("orthogonal_", "gain", gain)
    rows = arr.shape[0]
    cols = arr.size // rows
    m = as_generator(generator, "generator").standard_normal((rows, cols))
    if rows < cols:
        m = m.T
    q, r = np.linalg.qr(m)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(arr.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The identity of a convolution: for a 3-, 4- or 5-D weight ``(out, in, *k)`` split
    into ``groups`` blocks of ``out / groups`` rows, ``w[g * m + d, d, centre] = 1`` for
    ``d < min(out / groups, in)`` (the centre index ``k // 2`` on each kernel axis), 0 elsewhere."""
    arr = _target(tensor, "dirac_")
    if arr.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {arr.shape}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"dirac_: groups must be a positive int, got {groups!r}")
    if arr.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 of shape {arr.shape} must be divisible by groups={groups}")
    per = arr.shape[0] // groups
    out = np.zeros(arr.shape)
    centre = tuple(k // 2 for k in arr.shape[2:])
    for g in range(groups):
        for d in range(min(per, arr.shape[1])):
            out[(g * per + d, d) + centre] = 1.0
    return _fill(tensor, out)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Gen = None) -> Tensor:
    """A sparse 2-D matrix: entries N(0, std^2), then in each column ``ceil(sparsity * rows)``
    entries at random rows set to 0."""
    arr = _target(tensor, "sparse_")
    if arr.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape {arr.shape}")
    sparsity = _number("sparse_", "sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparse_: sparsity must be in [0, 1], got {sparsity}")
    std = _number("sparse_", "std", std)
    rows, cols = arr.shape
    zeros = int(math.ceil(sparsity * rows))
    r = as_generator(generator, "generator")
    values = r.normal(0.0, std, arr.shape)
    for c in range(cols):
        values[r.permutation(rows)[:zeros], c] = 0.0
    return _fill(tensor, values)


def _deprecated(fn: Any) -> Any:
    """torch's old name of ``fn`` (without the trailing underscore), warning that it is deprecated."""
    old = fn.__name__[:-1]

    def alias(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{fn.__name__}`.", FutureWarning,
                      stacklevel=2)
        return fn(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated name of ``{fn.__name__}`` (a FutureWarning says so)."
    return alias


uniform, normal, constant = _deprecated(uniform_), _deprecated(normal_), _deprecated(constant_)
xavier_uniform, xavier_normal = _deprecated(xavier_uniform_), _deprecated(xavier_normal_)
kaiming_uniform, kaiming_normal = _deprecated(kaiming_uniform_), _deprecated(kaiming_normal_)
orthogonal, sparse, eye, dirac = _deprecated(orthogonal_), _deprecated(sparse_), _deprecated(eye_), _deprecated(dirac_)
