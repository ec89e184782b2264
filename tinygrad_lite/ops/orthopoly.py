"""The classical orthogonal polynomials of torch.special as numpy kernels: Chebyshev T, U, V,
W (and the shifted ones, of 2x - 1), Hermite H (physicists') and He (probabilists'),
Laguerre L and Legendre P, each a function ``f(x, n)`` of two broadcast arrays.

Keeps only these kernels (float64 in, float64 out) and touches nothing else. As torch's, the
degree n is truncated to an integer (a nan, an infinite or a huge n counts as a negative
one), a negative degree gives 0, and the values come from the three-term recurrences, with
torch's closed forms where it uses them: the values at x = +-1 (x = 0, 1 for the shifted
ones), cos/sin forms of the Chebyshev polynomials for |x| < 1 and n above a small degree, and
L_n(0) = 1. They have no gradient (as torch's). A degree that needs more than ``MAX_STEPS``
recurrence steps is refused (torch loops on).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ArgumentError
from .special import _f64

MAX_STEPS = 10 ** 6  # (the recurrence takes one vectorized step per degree)


def _degree(n: np.ndarray) -> np.ndarray:
    """The degree as torch takes it: truncated towards zero; a nan, an infinite or an out of
    range n (which torch's integer conversion turns into the most negative integer) is -1."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(n) | (np.abs(n) >= 2.0 ** 63)
        return np.where(bad, -1, np.trunc(np.where(bad, 0.0, n))).astype(np.int64)


def _recurrence(x: np.ndarray, k: np.ndarray, p1: np.ndarray, step: Any) -> np.ndarray:
    """p_k(x) from p_0 = 1, p_1 = ``p1`` and p_(j+1) = step(x, j, p_j, p_(j-1)), for each
    element's own degree k >= 0 (the other elements are left at 0); a degree above
    ``MAX_STEPS`` is refused (an ArgumentError) rather than looped over for minutes."""
    prev, cur = np.ones_like(x), p1.copy()
    out = np.where(k == 0, 1.0, np.where(k == 1, p1, 0.0))
    top = int(k.max(initial=0))
    if top > MAX_STEPS:
        raise ArgumentError(f"degree n = {top} needs {top} recurrence steps here; at most {MAX_STEPS} are taken")
    with np.errstate(all="ignore"):
        for j in range(1, top):
            prev, cur = cur, step(x, j, cur, prev)
            out = np.where(k == j + 1, cur, out)
    return out


def _two_x(x: np.ndarray, j: int, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return 2.0 * x * p - q


def _chebyshev(kind: str, x: np.ndarray, n: np.ndarray, above: int) -> np.ndarray:
    """T_n, U_n, V_n or W_n (``kind``) at x: the recurrence p_(j+1) = 2x p_j - p_(j-1) from
    p_1 = x, 2x, 2x - 1, 2x + 1; for |x| < 1 and n > ``above``, with x = cos(theta):
    T = cos(n theta), U = sin((n+1) theta)/sin(theta), V = cos((n+1/2) theta)/cos(theta/2),
    W = sin((n+1/2) theta)/sin(theta/2); at x = +-1 their closed values."""
    x, n = np.broadcast_arrays(_f64(x), _f64(n))
    k = _degree(n)
    p1 = {"t": x, "u": 2.0 * x, "v": 2.0 * x - 1.0, "w": 2.0 * x + 1.0}[kind]
    with np.errstate(invalid="ignore"):
        inside = (np.abs(x) < 1) & (k > above)
    out = _recurrence(x, np.where(inside | (np.abs(x) == 1), 0, np.maximum(k, 0)), p1, _two_x)
    with np.errstate(all="ignore"):
        th = np.arccos(np.where(inside, x, 0.0))  # (in (0, pi) where used: no division by 0)
        kf = k.astype(np.float64)
        trig = {"t": lambda: np.cos(kf * th), "u": lambda: np.sin((kf + 1) * th) / np.sin(th),
                "v": lambda: np.cos((kf + 0.5) * th) / np.cos(th / 2),
                "w": lambda: np.sin((kf + 0.5) * th) / np.sin(th / 2)}[kind]()
        out = np.where(inside, trig, out)
        odd = (k % 2) == 1
        plus = {"t": 1.0, "u": kf + 1, "v": 1.0, "w": 2 * kf + 1}[kind]
        minus = {"t": np.where(odd, -1.0, 1.0), "u": np.where(odd, -(kf + 1), kf + 1),
                 "v": np.where(odd, -(2 * kf + 1), 2 * kf + 1), "w": np.where(odd, -1.0, 1.0)}[kind]
        out = np.where((x == 1) & (k >= 0), plus, np.where((x == -1) & (k >= 0), minus, out))
    return np.where(k < 0, 0.0, out)


def chebyshev(kind: str, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The Chebyshev polynomial of ``kind`` ("t", "u", "v", "w") of degree n at x (the closed
    cos/sin form, as torch, for n > 6 (T) or n > 8 (U, V, W))."""
    return _chebyshev(kind, x, n, 6 if kind == "t" else 8)


def shifted_chebyshev(kind: str, x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The shifted Chebyshev polynomial p*_n(x) = p_n(2x - 1) of ``kind`` (the closed cos/sin
    form, as torch, for n > 6 (T, U, V) or n > 4 (W))."""
    return _chebyshev(kind, 2.0 * _f64(x) - 1.0, n, 4 if kind == "w" else 6)


def hermite_h(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The physicists' Hermite polynomial: H_0 = 1, H_1 = 2x, H_(j+1) = 2x H_j - 2j H_(j-1)."""
    x, n = np.broadcast_arrays(_f64(x), _f64(n))
    k = _degree(n)
    out = _recurrence(x, np.maximum(k, 0), 2.0 * x, lambda x, j, p, q: 2.0 * x * p - 2.0 * j * q)
    return np.where(k < 0, 0.0, out)


def hermite_he(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The probabilists' Hermite polynomial: He_0 = 1, He_1 = x, He_(j+1) = x He_j - j He_(j-1)."""
    x, n = np.broadcast_arrays(_f64(x), _f64(n))
    k = _degree(n)
    out = _recurrence(x, np.maximum(k, 0), x.copy(), lambda x, j, p, q: x * p - j * q)
    return np.where(k < 0, 0.0, out)


def laguerre_l(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The Laguerre polynomial: L_0 = 1, L_1 = 1 - x,
    L_(j+1) = ((2j + 1 - x) L_j - j L_(j-1)) / (j + 1); L_n(0) = 1."""
    x, n = np.broadcast_arrays(_f64(x), _f64(n))
    k = _degree(n)
    kk = np.where(x == 0, 0, np.maximum(k, 0))  # (L_n(0) = 1 without the recurrence)
    out = _recurrence(x, kk, 1.0 - x, lambda x, j, p, q: ((2 * j + 1 - x) * p - j * q) / (j + 1))
    out = np.where(x == 0, 1.0, out)
    return np.where(k < 0, 0.0, out)


def legendre_p(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The Legendre polynomial: P_0 = 1, P_1 = x, P_(j+1) = ((2j + 1) x P_j - j P_(j-1)) / (j + 1);
    P_n(1) = 1, P_n(-1) = (-1)^n."""
    x, n = np.broadcast_arrays(_f64(x), _f64(n))
    k = _degree(n)
    kk = np.where(np.abs(x) == 1, 0, np.maximum(k, 0))  # (P_n(+-1) = (+-1)^n without the recurrence)
    out = _recurrence(x, kk, x.copy(), lambda x, j, p, q: ((2 * j + 1) * x * p - j * q) / (j + 1))
    out = np.where(x == 1, 1.0, np.where(x == -1, np.where(k % 2 == 1, -1.0, 1.0), out))
    return np.where(k < 0, 0.0, out)


KERNELS = {
    "chebyshev_polynomial_t": lambda x, n: chebyshev("t", x, n),
    "chebyshev_polynomial_u": lambda x, n: chebyshev("u", x, n),
    "chebyshev_polynomial_v": lambda x, n: chebyshev("v", x, n),
    "chebyshev_polynomial_w": lambda x, n: chebyshev("w", x, n),
    "shifted_chebyshev_polynomial_t": lambda x, n: shifted_chebyshev("t", x, n),
    "shifted_chebyshev_polynomial_u": lambda x, n: shifted_chebyshev("u", x, n),
    "shifted_chebyshev_polynomial_v": lambda x, n: shifted_chebyshev("v", x, n),
    "shifted_chebyshev_polynomial_w": lambda x, n: shifted_chebyshev("w", x, n),
    "hermite_polynomial_h": hermite_h,
    "hermite_polynomial_he": hermite_he,
    "laguerre_polynomial_l": laguerre_l,
    "legendre_polynomial_p": legendre_p,
}
