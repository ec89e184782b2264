"""``tl.special``: torch's ``torch.special`` names for the special functions here.

``erf``, ``erfc``, ``erfinv``, ``expit`` (the logistic sigmoid), ``logit``, ``xlogy``,
``xlog1py``, ``log1p``, ``expm1``, ``exp2``, ``logsumexp``, ``softmax``, ``log_softmax``,
``gammaln`` (``lgamma``), ``digamma`` / ``psi``, ``polygamma``, ``multigammaln``
(``mvlgamma``), the modified Bessel functions ``i0``, ``i0e``, ``i1``, ``i1e``, the normal
distribution's ``ndtr`` (its cdf Phi(x) = erfc(-x/sqrt 2)/2), ``log_ndtr`` and ``ndtri`` (the
inverse of Phi), ``sinc``, ``entr`` (-x log x) and ``round``. Each is differentiable (but
``round``, whose gradient is 0) and elementwise unless it names a dim.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .functions import _t
from .ops import base
from .ops import special as _sp
from .ops.special_bessel import FUNCTIONS as _BESSEL
from .ops.special_bessel import (  # noqa: F401 (the Bessel-type functions, listed in __all__ below)
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    spherical_bessel_j0,
)
from .special_more import *  # noqa: F403  (gammainc, gammaincc, zeta, erfcx, the orthogonal polynomials)
from .special_more import __all__ as _MORE
from .torchmath import _floats, _other

__all__ = ["erf", "erfc", "erfinv", "expit", "logit", "xlogy", "xlog1py", "log1p", "expm1", "exp2", "logsumexp",
           "softmax", "log_softmax", "gammaln", "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1",
           "i1e", "ndtr", "ndtri", "log_ndtr", "sinc", "entr", "round"]
__all__ += _BESSEL  # (ops.special_bessel)
__all__ += _MORE  # (special_more)


def _method(name: str, torch_name: Optional[str] = None) -> Any:
    who = torch_name or name

    def f(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(_t(who, input), name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = who
    f.__doc__ = f"``Tensor.{name}``: " + (getattr(base.Tensor, name).__doc__ or "")
    return f


def _op(op: Any) -> Any:
    def f(input: Any) -> Any:
        return op(_floats(_t(op.name, input)))

    f.__name__ = f.__qualname__ = op.name
    f.__doc__ = f"{op.name}(x) elementwise, differentiable: {op.rule}."
    return f


erf, erfc, erfinv, log1p, expm1, exp2, logit = (_method(n) for n in ("erf", "erfc", "erfinv", "log1p", "expm1",
                                                                     "exp2", "logit"))
expit = _method("sigmoid", "expit")
gammaln = _method("lgamma", "gammaln")
digamma = _method("digamma")
psi = _method("digamma", "psi")
multigammaln = _method("mvlgamma", "multigammaln")
i0 = _method("i0")
i0e, i1, i1e, sinc, entr, log_ndtr, ndtri = (_op(o) for o in (_sp.I0E, _sp.I1_, _sp.I1E, _sp.SINC, _sp.ENTR,
                                                              _sp.LOGNDTR, _sp.NDTRI))


def xlogy(input: Any, other: Any) -> Any:
    """input * log(other), 0 where input == 0 (unless other is nan)."""
    return _other(input).xlogy(other)


def xlog1py(input: Any, other: Any) -> Any:
    """input * log1p(other), 0 where input == 0 (unless other is nan); gradients log1p(other)
    (0 where input == 0 and other <= -1) and input / (1 + other)."""
    a, b = _other(input), _other(other)
    x = _floats(a, b)
    y = _floats(b, x)
    with np.errstate(invalid="ignore"):
        off = (x.data == 0) & (y.data <= -1)
    ly = y.log1p()
    if off.any():
        ly = ly.where(~np.broadcast_to(off, np.broadcast_shapes(off.shape, ly.data.shape)), 0.0)
    return x * ly


def polygamma(n: int, input: Any) -> Any:
    """The n-th derivative of digamma (torch's argument order)."""
    return _t("polygamma", input).polygamma(n)


def ndtr(input: Any) -> Any:
    """Phi(x) = erfc(-x / sqrt 2) / 2, the standard normal cdf; d/dx = exp(-x^2/2)/sqrt(2 pi)."""
    return _sp.ERFC(_floats(_t("ndtr", input)) * (-1 / math.sqrt(2.0))) * 0.5


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Any:
    """log(sum(exp(input))) over ``dim``."""
    return _t("logsumexp", input).logsumexp(dim, keepdim)


def softmax(input: Any, dim: int, *, dtype: Any = None) -> Any:
    """exp(x) / sum(exp(x)) along ``dim`` (computed in ``dtype`` when given)."""
    x = _t("softmax", input)
    return (x if dtype is None else x.astype(dtype)).softmax(dim)


def log_softmax(input: Any, dim: int, *, dtype: Any = None) -> Any:
    """x - logsumexp(x) along ``dim`` (computed in ``dtype`` when given)."""
    x = _t("log_softmax", input)
    return (x if dtype is None else x.astype(dtype)).log_softmax(dim)


def round(input: Any, *, decimals: int = 0) -> Any:  # noqa: A001
    """Rounded to ``decimals`` digits, halves to even (zero gradient)."""
    return _t("round", input).round(decimals=decimals)
