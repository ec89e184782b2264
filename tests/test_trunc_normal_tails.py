"""trunc_normal_ fills an interval far in a tail (under 1e-6 of the mass), as torch does, with
the truncated law's mean and spread (it refused)."""

import math

import numpy as np
import pytest

import tinygrad_lite as tl


def _moments(mu, sigma, a, b):
    al, be = (a - mu) / sigma, (b - mu) / sigma
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    # Z by the tail that keeps its digits
    Z = 0.5 * (math.erfc(al / math.sqrt(2)) - math.erfc(be / math.sqrt(2))) if al > 0 else \
        0.5 * (math.erfc(-be / math.sqrt(2)) - math.erfc(-al / math.sqrt(2)))
    mean = mu + sigma * (phi(al) - phi(be)) / Z
    var = sigma ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    return mean, math.sqrt(var)


@pytest.mark.parametrize("mu,sigma,a,b", [(0, 1, 5, 6), (5, 1, -2, 2), (0, 1, -6, -5), (0, 1, 8, 9), (0, 2, 20, 30)])
def test_far_tail_intervals_are_filled_with_the_truncated_law(mu, sigma, a, b):
    w = tl.zeros(40000)
    out = tl.nn.init.trunc_normal_(w, mu, sigma, a, b, generator=np.random.default_rng(0))
    assert out is w
    assert w.data.min() >= a and w.data.max() <= b
    mean, sd = _moments(mu, sigma, a, b)
    assert abs(w.data.mean() - mean) < 5 * sd / math.sqrt(w.data.size)
    assert abs(w.data.std() - sd) < 0.03 * sd


def test_ordinary_intervals_unchanged_and_bad_bounds_refused():
    w = tl.zeros(20000)
    tl.nn.init.trunc_normal_(w, 0.0, 1.0, -2.0, 2.0, generator=np.random.default_rng(1))
    mean, sd = _moments(0, 1, -2, 2)
    assert abs(w.data.std() - sd) < 0.03 * sd
    with pytest.raises(ValueError, match="a < b"):
        tl.nn.init.trunc_normal_(w, 0.0, 1.0, 2.0, 1.0)
