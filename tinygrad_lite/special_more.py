"""torch.special's incomplete gamma functions ``gammainc`` / ``gammaincc``, the Hurwitz
``zeta``, ``erfcx`` and the orthogonal polynomials (``chebyshev_polynomial_t/u/v/w``, their
``shifted_`` forms, ``hermite_polynomial_h/he``, ``laguerre_polynomial_l``,
``legendre_polynomial_p``) as functions of Tensors (and Python numbers where torch takes them).

Keeps the argument checks, torch's dtype promotion (two operands promote as in arithmetic;
integer and bool results compute in float64, this library's default float) and the calls of
the ops in ``ops.special_more`` and the kernels in ``ops.orthopoly``; touches nothing else
(``tl.special`` re-exports these, ``Tensor.igamma`` / ``igammac`` call them).

Gradients, as torch's: P(a, x) and Q(a, x) in x only, d P/dx = -d Q/dx = x^(a-1) e^-x / Gamma(a);
zeta(x, q) in q only, d zeta/dq = -x zeta(x+1, q); erfcx everywhere,
d erfcx/dx = 2x erfcx(x) - 2/sqrt(pi); the polynomials have none (their results do not
require grad). A backward reaching a or x of zeta raises ``NotImplementedError``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .batchstate import derived
from .conventions import ArgumentError, DtypeError, ShapeMismatchError
from .ops import base
from .ops import orthopoly as _poly
from .ops import special_more as _sm

__all__ = ["gammainc", "gammaincc", "zeta", "erfcx", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
           "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


class DtypeNotImplementedError(DtypeError, NotImplementedError):
    """A function without a kernel for these dtypes (torch raises ``NotImplementedError``)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.bool_)) and not isinstance(v, (np.ndarray, base.Tensor))


def _number(v: Any, other: Any) -> Any:
    """The Python number ``v`` as a 0-d constant beside the Tensor ``other``, as torch wraps it:
    in ``other``'s float dtype when it has one (a number never widens a tensor), else a float
    as float64, an int as int64, a bool as bool."""
    od = other._data.dtype
    if od.kind == "f" and not isinstance(v, (bool, np.bool_)):
        return base.const(np.asarray(v, dtype=od))
    dt = np.bool_ if isinstance(v, (bool, np.bool_)) else np.int64 if isinstance(v, numbers.Integral) else np.float64
    return base.const(np.asarray(v, dtype=dt))


def _operands(who: str, names: tuple, input: Any, other: Any, numbers_ok: bool) -> tuple:
    """Both operands as Tensors of the one float dtype torch computes them in."""
    ins = [input, other]
    for i, v in enumerate(ins):
        if isinstance(v, base.Tensor):
            continue
        if not (numbers_ok and _is_number(v)):
            kind = "a Tensor or a number" if numbers_ok else "a Tensor"
            raise TypeError(f"{who}: argument '{names[i]}' must be {kind}, got {type(v).__name__}")
    if not isinstance(input, base.Tensor) and not isinstance(other, base.Tensor):
        raise TypeError(f"{who}: at least one of '{names[0]}' and '{names[1]}' must be a Tensor, got two numbers")
    a = input if isinstance(input, base.Tensor) else _number(input, other)
    b = other if isinstance(other, base.Tensor) else _number(other, input)
    ad, bd = a._data, b._data
    for v, n in ((ad, names[0]), (bd, names[1])):
        if v.dtype.kind not in "biuf":
            raise TypeError(f"{who}: argument '{n}' must hold bools, integers or floats, got dtype {v.dtype}")
    try:
        np.broadcast_shapes(ad.shape, bd.shape)
    except ValueError:
        raise ShapeMismatchError(f"{who}: shapes {ad.shape} and {bd.shape} are not compatible") from None
    if ad.dtype == bd.dtype:
        dt = ad.dtype
    else:
        from .ops.elementwise import promoted
        dt = np.result_type(*promoted(ad[..., :0] if ad.ndim else ad, bd[..., :0] if bd.ndim else bd))
    return a, b, dt


def _as(t: Any, dt: Any) -> Any:
    return t if t._data.dtype == dt else t.astype(dt)


def _incomplete(who: str, op: Any, input: Any, other: Any) -> Any:
    a, x, dt = _operands(who, ("input", "other"), input, other, False)
    if dt.kind != "f":
        raise DtypeNotImplementedError(f"{who}: not implemented for dtype {dt} (input {a._data.dtype}, other "
                                       f"{x._data.dtype}); at least one operand must be floating-point")
    return op(_as(a, dt), _as(x, dt))


def gammainc(input: Any, other: Any) -> Any:
    """The regularized lower incomplete gamma function
    P(a, x) = 1/Gamma(a) int_0^x t^(a-1) e^-t dt with a = ``input``, x = ``other`` (two Tensors,
    broadcast; at least one floating-point). Differentiable in x only:
    d P/dx = exp((a-1) log x - x - lgamma(a)); a backward reaching a raises NotImplementedError.
    nan for a < 0 or x < 0; P(0, x) = 1 for x > 0, P(a, 0) = 0 for a > 0, P(0, 0) = nan."""
    return _incomplete("gammainc", _sm.IGAMMA, input, other)


def gammaincc(input: Any, other: Any) -> Any:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)
    = 1/Gamma(a) int_x^inf t^(a-1) e^-t dt (a = ``input``, x = ``other``, as ``gammainc``).
    Differentiable in x only: d Q/dx = -exp((a-1) log x - x - lgamma(a))."""
    return _incomplete("gammaincc", _sm.IGAMMAC, input, other)


def zeta(input: Any, other: Any) -> Any:
    """The Hurwitz zeta function zeta(x, q) = sum_{k>=0} (k + q)^-x with x = ``input`` and
    q = ``other`` (Tensors or one Python number, broadcast). inf at x = 1 and at the poles
    q = 0, -1, -2, ...; nan for x < 1 and for a negative q with a non-integer x.
    Differentiable in q: d zeta/dq = -x zeta(x+1, q); a backward reaching x raises
    NotImplementedError."""
    x, q, dt = _operands("zeta", ("input", "other"), input, other, True)
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    return _sm.ZETA(_as(x, dt), _as(q, dt))


def erfcx(input: Any) -> Any:
    """The scaled complementary error function erfcx(x) = exp(x^2) erfc(x), which does not
    underflow for large x (~ 1/(x sqrt(pi))); differentiable: d/dx = 2x erfcx(x) - 2/sqrt(pi)."""
    if not isinstance(input, base.Tensor):
        raise TypeError(f"erfcx: argument 'input' must be a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind not in "biuf":
        raise TypeError(f"erfcx: input must hold bools, integers or floats, got dtype {input._data.dtype}")
    return _sm.ERFCX(input if input._data.dtype.kind == "f" else input.astype(np.float64))


_POLY_DOCS = {
    "chebyshev_polynomial_t": "Chebyshev polynomial of the first kind T_n(x): T_0 = 1, T_1 = x, "
                              "T_(k+1) = 2x T_k - T_(k-1); T_n(cos t) = cos(n t)",
    "chebyshev_polynomial_u": "Chebyshev polynomial of the second kind U_n(x): U_0 = 1, U_1 = 2x, "
                              "U_(k+1) = 2x U_k - U_(k-1); U_n(cos t) = sin((n+1) t) / sin t",
    "chebyshev_polynomial_v": "Chebyshev polynomial of the third kind V_n(x): V_0 = 1, V_1 = 2x - 1, "
                              "V_(k+1) = 2x V_k - V_(k-1); V_n(cos t) = cos((n+1/2) t) / cos(t/2)",
    "chebyshev_polynomial_w": "Chebyshev polynomial of the fourth kind W_n(x): W_0 = 1, W_1 = 2x + 1, "
                              "W_(k+1) = 2x W_k - W_(k-1); W_n(cos t) = sin((n+1/2) t) / sin(t/2)",
    "hermite_polynomial_h": "physicists' Hermite polynomial H_n(x): H_0 = 1, H_1 = 2x, "
                            "H_(k+1) = 2x H_k - 2k H_(k-1)",
    "hermite_polynomial_he": "probabilists' Hermite polynomial He_n(x): He_0 = 1, He_1 = x, "
                             "He_(k+1) = x He_k - k He_(k-1)",
    "laguerre_polynomial_l": "Laguerre polynomial L_n(x): L_0 = 1, L_1 = 1 - x, "
                             "L_(k+1) = ((2k + 1 - x) L_k - k L_(k-1)) / (k + 1)",
    "legendre_polynomial_p": "Legendre polynomial P_n(x): P_0 = 1, P_1 = x, "
                             "P_(k+1) = ((2k + 1) x P_k - k P_(k-1)) / (k + 1)",
}
for _k in "tuvw":
    _POLY_DOCS[f"shifted_chebyshev_polynomial_{_k}"] = (f"shifted Chebyshev polynomial {_k.upper()}*_n(x) = "
                                                        f"{_k.upper()}_n(2x - 1)")


def _polynomial(name: str) -> Any:
    kernel = _poly.KERNELS[name]

    def f(input: Any, n: Any) -> Any:
        x, k, dt = _operands(name, ("input", "n"), input, n, True)
        try:
            out = np.asarray(kernel(x._data, k._data), dtype=dt if dt.kind == "f" else np.float64)
        except ArgumentError as e:
            raise ArgumentError(f"{name}: {e}") from None
        return base.make(out, None, (), None, False, *derived(name, out.shape, x, k))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"The {_POLY_DOCS[name]}, at x = ``input`` (a Tensor or a number) for degree ``n`` (a Tensor or a "
                 "number, truncated to an integer; a negative degree gives 0), broadcast. Not differentiable: the "
                 f"result does not require grad, as torch's. Degrees above {_poly.MAX_STEPS} that need the recurrence "
                 "raise an ArgumentError.")
    return f


chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w = (
    _polynomial(f"chebyshev_polynomial_{k}") for k in "tuvw")
(shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
 shifted_chebyshev_polynomial_w) = (_polynomial(f"shifted_chebyshev_polynomial_{k}") for k in "tuvw")
hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p = (
    _polynomial(n) for n in ("hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
                             "legendre_polynomial_p"))
