"""Chebyshev coefficient tables of the Bessel and Airy kernels (``ops.bessel_kernels``):
read from ``bessel_tables.json`` (data only) at import; nothing elsewhere touched.

Each table ``C`` is the Chebyshev series sum_k C[k] T_k(u) on -1 <= u <= 1 of one smooth
function (the kernels evaluate it by Clenshaw's recurrence). The series were obtained by
interpolating the function at the 80 points u_j = cos(pi (j + 1/2) / 80) in 50-digit
arithmetic and dropping the trailing coefficients below 2e-18 of the leading ones, so each
reproduces its function to about 1e-17 of its size. The functions, with z = x^2:

* ``J0_SMALL``: J0(x) / ((z - j01^2)(z - j02^2)), 0 <= x <= 8, u = z/32 - 1 (j0k the zeros of J0);
* ``J1_SMALL``: J1(x) / (x (z - j11^2)(z - j12^2)), same range and u (j1k the zeros of J1);
* ``Y0_SMALL``: Y0(x) - (2/pi) log(x) J0(x) (an entire function of z), same range and u;
* ``Y1_SMALL``: (Y1(x) - (2/pi) (log(x) J1(x) - 1/x)) / x (entire in z), same range and u;
* ``P0_MID``, ``Q0_MID``, ``P1_MID``, ``Q1_MID``: the Hankel modulus parts P_n(x) and x Q_n(x)
  of J_n = sqrt(2/(pi x)) (P_n cos chi - Q_n sin chi), Y_n = sqrt(2/(pi x)) (P_n sin chi +
  Q_n cos chi), chi = x - (2n+1) pi/4, for 8 <= x <= 25, u = 2 (s - s0)/(1 - s0) - 1 with
  s = 64/x^2, s0 = 64/625;
* ``K0_SMALL``: K0(x) + log(x) I0(x), 0 <= x <= 2, u = z/2 - 1 (entire in z);
* ``K1_SMALL``: (K1(x) - log(x) I1(x) - 1/x) / x, same range and u (entire in z);
* ``K0_MID``, ``K1_MID``: K_n(x) e^x sqrt(x), 2 <= x <= 25, u = 2 (t - t0)/(1 - t0) - 1 with
  t = 2/x, t0 = 2/25;
* ``AI_M10``, ``AI_M7``, ``AI_M4``, ``AI_M1`` (and ``AIP_...`` for Ai'): Ai(x) on [-10, -7],
  [-7, -4], [-4, -1], [-1, 2], u the affine map of the interval onto [-1, 1];
* ``AI_POS``: Ai(x) 2 sqrt(pi) x^(1/4) e^zeta, ``AIP_POS``: -Ai'(x) 2 sqrt(pi) x^(-1/4) e^zeta,
  zeta = (2/3) x^(3/2), for 2 <= x <= 10, u = 2 (t - t0)/(1 - t0) - 1 with t = zeta(2)/zeta,
  t0 = zeta(2)/zeta(10).

``ZEROS``: the first two positive zeros of J0 and of J1, each as a pair (hi, lo) of floats
whose sum is the zero to about 1e-32.
"""

import json
from pathlib import Path

_DATA = json.loads(Path(__file__).with_name("bessel_tables.json").read_text())
ZEROS = {k: tuple(tuple(pair) for pair in v) for k, v in _DATA.pop("ZEROS").items()}
globals().update({name: tuple(table) for name, table in _DATA.items()})  # J0_SMALL, ..., AIP_POS
__all__ = ["ZEROS", *_DATA]
