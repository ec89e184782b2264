"""The Bessel-type functions of ``tl.special`` as elementwise ops, and the functions themselves:
``bessel_j0``, ``bessel_j1``, ``bessel_y0``, ``bessel_y1``, ``modified_bessel_i0``,
``modified_bessel_i1``, ``modified_bessel_k0``, ``modified_bessel_k1``,
``scaled_modified_bessel_k0``, ``scaled_modified_bessel_k1``, ``spherical_bessel_j0`` and
``airy_ai`` (torch.special's names and values; the kernels are ``ops.bessel_kernels``'s).

Keeps the op classes (forward, vjp, the Tensor-op vjp ``tderiv`` for higher derivatives, and
the elementwise batch rule of ``ops.special._Special``) and the public functions. It touches
nothing: ``modified_bessel_i0`` / ``_i1`` are ``ops.special``'s existing ``i0`` / ``i1`` ops.

Inputs: a Tensor (a Python number is refused, as torch refuses it); bool and integer
Tensors are computed in float32, as torch promotes them; float16 is refused, as torch
refuses it. Gradients: torch records no gradient for these functions; here each is
differentiable with its exact derivative, which stays in the family:
J0' = -J1, J1' = J0 - J1/x, Y0' = -Y1, Y1' = Y0 - Y1/x, I0' = I1, I1' = I0 - I1/x,
K0' = -K1, K1' = -K0 - K1/x, (e^x K0)' = e^x K0 - e^x K1, (e^x K1)' = e^x K1 (1 - 1/x) - e^x K0,
j0' = -j1 and j1' = j0 - 2 j1/x (spherical), Ai' (its own op), Ai'' = x Ai.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import bessel_kernels as bk
from .base import DtypeError, ReadsOutput
from .special import I0_, I1_, _masked, _Special


def _quotient(y: np.ndarray, x: np.ndarray, at_zero: float) -> np.ndarray:
    """y / x, ``at_zero`` where x = 0."""
    with np.errstate(all="ignore"):
        return np.where(x == 0, at_zero, y / np.where(x == 0, 1.0, x))


def _t_quotient(y: Any, a: Any, at_zero: float) -> Any:
    """``_quotient`` on Tensors."""
    zero = a._data == 0
    return _masked(zero, y / (a + zero.astype(a._data.dtype)), at_zero)


class _Partner(_Special):
    """An op whose derivative is ``sign`` times another op of this module, ``partner`` (the kernel of
    the same name in ``ops.bessel_kernels`` for values, the op for the graph of higher derivatives)."""

    sign, partner = -1.0, ""

    def deriv(self, node: Any) -> Any:
        d = getattr(bk, self.partner)(node._parents[0]._data)
        return -d if self.sign < 0 else d

    def tderiv(self, node: Any) -> Any:
        d = BY_NAME[self.partner](node._parents[0])
        return -d if self.sign < 0 else d


class BesselJ0(_Partner):
    name, rule, fn = "bessel_j0", "d bessel_j0(a)/da = -bessel_j1(a)", staticmethod(bk.bessel_j0)
    partner = "bessel_j1"


class _OrderOne(ReadsOutput, _Special):
    """J1 and Y1: the derivative ``order0(a) - y/a`` (y the output), the quotient taken as
    ``limit`` at a = 0, and the whole derivative as ``at_zero`` there unless that is None."""

    order0, limit, at_zero = "", 0.0, None

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        d = getattr(bk, self.order0)(a) - _quotient(node._data, a, self.limit)
        return d if self.at_zero is None else np.where(a == 0, self.at_zero, d)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        d = BY_NAME[self.order0](a) - _t_quotient(node, a, self.limit)
        return d if self.at_zero is None else _masked(a._data == 0, d, self.at_zero)


class BesselJ1(_OrderOne):
    name, rule = "bessel_j1", "d bessel_j1(a)/da = bessel_j0(a) - bessel_j1(a)/a (1/2 at a = 0)"
    fn, order0, limit = staticmethod(bk.bessel_j1), "bessel_j0", 0.5


class BesselY0(_Partner):
    name, rule, fn = "bessel_y0", "d bessel_y0(a)/da = -bessel_y1(a)", staticmethod(bk.bessel_y0)
    partner = "bessel_y1"


class BesselY1(_OrderOne):
    name, rule = "bessel_y1", "d bessel_y1(a)/da = bessel_y0(a) - bessel_y1(a)/a (+inf at a = 0)"
    fn, order0, at_zero = staticmethod(bk.bessel_y1), "bessel_y0", np.inf


class ModifiedBesselK0(_Partner):
    name, rule = "modified_bessel_k0", "d modified_bessel_k0(a)/da = -modified_bessel_k1(a)"
    fn, partner = staticmethod(bk.modified_bessel_k0), "modified_bessel_k1"


class ModifiedBesselK1(ReadsOutput, _Special):
    name, fn = "modified_bessel_k1", staticmethod(bk.modified_bessel_k1)
    rule = "d modified_bessel_k1(a)/da = -modified_bessel_k0(a) - modified_bessel_k1(a)/a (-inf at a = 0)"

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return -bk.modified_bessel_k0(a) - _quotient(node._data, a, np.inf)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return -MODIFIED_BESSEL_K0(a) - _t_quotient(node, a, np.inf)


class ScaledModifiedBesselK0(ReadsOutput, _Special):
    name = "scaled_modified_bessel_k0"
    rule = "d scaled_modified_bessel_k0(a)/da = scaled_modified_bessel_k0(a) - scaled_modified_bessel_k1(a)"
    fn = staticmethod(bk.scaled_modified_bessel_k0)

    def deriv(self, node: Any) -> Any:
        return node._data - bk.scaled_modified_bessel_k1(node._parents[0]._data)

    def tderiv(self, node: Any) -> Any:
        return node - SCALED_MODIFIED_BESSEL_K1(node._parents[0])


class ScaledModifiedBesselK1(ReadsOutput, _Special):
    name = "scaled_modified_bessel_k1"
    rule = ("d scaled_modified_bessel_k1(a)/da = scaled_modified_bessel_k1(a) (1 - 1/a) - "
            "scaled_modified_bessel_k0(a) (-inf at a = 0)")
    fn = staticmethod(bk.scaled_modified_bessel_k1)

    def deriv(self, node: Any) -> Any:
        a, y = node._parents[0]._data, node._data
        return y - _quotient(y, a, np.inf) - bk.scaled_modified_bessel_k0(a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return node - _t_quotient(node, a, np.inf) - SCALED_MODIFIED_BESSEL_K0(a)


class SphericalBesselJ0(_Partner):
    name, rule = "spherical_bessel_j0", "d spherical_bessel_j0(a)/da = -j1(a) = (a cos a - sin a) / a^2"
    fn, partner = staticmethod(bk.spherical_bessel_j0), "spherical_bessel_j1"


class SphericalBesselJ1(ReadsOutput, _Special):
    """j1(x) = (sin(x)/x - cos x)/x: the derivative of j0 (negated), kept as an op so the
    derivatives of ``spherical_bessel_j0`` of every order are exact at 0 too."""

    name, rule = "spherical_bessel_j1", "d j1(a)/da = j0(a) - 2 j1(a)/a (1/3 at a = 0)"
    fn = staticmethod(bk.spherical_bessel_j1)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return bk.spherical_bessel_j0(a) - 2.0 * _quotient(node._data, a, 1.0 / 3.0)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return SPHERICAL_BESSEL_J0(a) - _t_quotient(node, a, 1.0 / 3.0) * 2.0


class AiryAi(_Partner):
    name, rule, fn = "airy_ai", "d airy_ai(a)/da = Ai'(a)", staticmethod(bk.airy_ai)
    sign, partner = 1.0, "airy_ai_prime"


class AiryAiPrime(_Special):
    """Ai'(x), the derivative of ``airy_ai``; Airy's equation Ai'' = x Ai gives its own."""

    name, rule, fn = "airy_ai_prime", "d Ai'(a)/da = a Ai(a)", staticmethod(bk.airy_ai_prime)

    def deriv(self, node: Any) -> Any:
        a = node._parents[0]._data
        return a * bk.airy_ai(a)

    def tderiv(self, node: Any) -> Any:
        a = node._parents[0]
        return a * AIRY_AI(a)


BESSEL_J0, BESSEL_J1, BESSEL_Y0, BESSEL_Y1 = BesselJ0(), BesselJ1(), BesselY0(), BesselY1()
MODIFIED_BESSEL_K0, MODIFIED_BESSEL_K1 = ModifiedBesselK0(), ModifiedBesselK1()
SCALED_MODIFIED_BESSEL_K0, SCALED_MODIFIED_BESSEL_K1 = ScaledModifiedBesselK0(), ScaledModifiedBesselK1()
SPHERICAL_BESSEL_J0, SPHERICAL_BESSEL_J1 = SphericalBesselJ0(), SphericalBesselJ1()
AIRY_AI, AIRY_AI_PRIME = AiryAi(), AiryAiPrime()
ALL = (BESSEL_J0, BESSEL_J1, BESSEL_Y0, BESSEL_Y1, MODIFIED_BESSEL_K0, MODIFIED_BESSEL_K1, SCALED_MODIFIED_BESSEL_K0,
       SCALED_MODIFIED_BESSEL_K1, SPHERICAL_BESSEL_J0, SPHERICAL_BESSEL_J1, AIRY_AI, AIRY_AI_PRIME)
BY_NAME = {op.name: op for op in ALL}


# ------------------------------------------------------------------- the functions --------
def _input(who: str, x: Any) -> Any:
    """``x`` as the op's operand: a Tensor of float32 or float64 (bools and integers become
    float32, as torch promotes them); other inputs raise, naming ``who``."""
    from .base import Tensor
    if not isinstance(x, Tensor):
        hint = "; x.data is a numpy array here, so pass x or x.detach()" if isinstance(x, np.ndarray) else ""
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__} (tl.tensor(...) makes one{hint})")
    dt = x._data.dtype
    if dt.kind in "biu":
        return x.astype(np.float32)
    if dt.kind != "f" or dt.itemsize < 4:
        raise DtypeError(f"{who}: not implemented for dtype {dt} (float32 and float64 are; torch refuses "
                         f"{dt} too)")
    return x


def _function(op: Any, name: str, maths: str) -> Any:
    def f(input: Any) -> Any:
        return op(_input(name, input))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{maths}, elementwise. Differentiable: {op.rule}."
    return f


bessel_j0 = _function(BESSEL_J0, "bessel_j0", "J0(x), the Bessel function of the first kind of order 0")
bessel_j1 = _function(BESSEL_J1, "bessel_j1", "J1(x), the Bessel function of the first kind of order 1")
bessel_y0 = _function(BESSEL_Y0, "bessel_y0",
                      "Y0(x), the Bessel function of the second kind of order 0 (nan for x < 0, -inf at 0)")
bessel_y1 = _function(BESSEL_Y1, "bessel_y1",
                      "Y1(x), the Bessel function of the second kind of order 1 (nan for x < 0, -inf at 0)")
modified_bessel_i0 = _function(I0_, "modified_bessel_i0",
                               "I0(x) = sum_k (x/2)^2k / k!^2, the modified Bessel function of the first kind of "
                               "order 0 (``i0``)")
modified_bessel_i1 = _function(I1_, "modified_bessel_i1",
                               "I1(x) = sum_k (x/2)^(2k+1) / (k! (k+1)!), the modified Bessel function of the first "
                               "kind of order 1 (``i1``)")
modified_bessel_k0 = _function(MODIFIED_BESSEL_K0, "modified_bessel_k0",
                               "K0(x), the modified Bessel function of the second kind of order 0 (nan for x < 0, "
                               "+inf at 0)")
modified_bessel_k1 = _function(MODIFIED_BESSEL_K1, "modified_bessel_k1",
                               "K1(x), the modified Bessel function of the second kind of order 1 (nan for x < 0, "
                               "+inf at 0)")
scaled_modified_bessel_k0 = _function(SCALED_MODIFIED_BESSEL_K0, "scaled_modified_bessel_k0",
                                      "e^x K0(x) (nan for x < 0, +inf at 0)")
scaled_modified_bessel_k1 = _function(SCALED_MODIFIED_BESSEL_K1, "scaled_modified_bessel_k1",
                                      "e^x K1(x) (nan for x < 0, +inf at 0)")
spherical_bessel_j0 = _function(SPHERICAL_BESSEL_J0, "spherical_bessel_j0",
                                "j0(x) = sin(x)/x, the spherical Bessel function of the first kind of order 0")
airy_ai = _function(AIRY_AI, "airy_ai", "Ai(x), the Airy function of the first kind, the solution of y'' = x y "
                    "that decays as x -> +inf (nan at +-inf, as torch)")

FUNCTIONS = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
             "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
             "spherical_bessel_j0", "airy_ai")
