"""Spellings that users of other small autodiff libraries and of torch reach for first:
``Value.pow``, ``abs(v)`` / ``abs(t)``, ordering comparisons of Values, and abs's gradient
at a nan input. Values and gradients come from exact maths or torch."""

import math
import random

import numpy as np
import pytest

import tinygrad_lite as tl


@pytest.mark.parametrize("a,k", [(4.0, 2), (4.0, 0.5), (-3.0, 3), (2.5, -1.5), (0.7, np.float64(1.25))])
def test_value_pow_method_equals_operator_and_its_derivative(a: float, k: float) -> None:
    x = tl.Value(a)
    y = x.pow(k)
    y.backward()
    assert y.data == a ** float(k)
    assert x.grad == pytest.approx(float(k) * a ** (float(k) - 1), rel=1e-15)
    with pytest.raises(TypeError):
        x.pow(tl.Value(2.0))  # the exponent is a number, as for **


@pytest.mark.parametrize("a,sign", [(-2.5, -1.0), (3.0, 1.0), (0.0, 0.0), (-0.0, 0.0)])
def test_value_abs_value_and_gradient(a: float, sign: float) -> None:
    x = tl.Value(a)
    y = abs(x * 2.0)
    y.backward()
    assert y.data == abs(2.0 * a)
    assert x.grad == 2.0 * sign
    assert x.abs().data == abs(a)


def test_value_abs_matches_torch_including_nan() -> None:
    torch = pytest.importorskip("torch")
    for a in (-1.5, 0.0, 2.0, math.nan):
        x = tl.Value(a)
        (x.abs() * 3.0).backward()
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        (t.abs() * 3.0).backward()
        assert x.grad == t.grad.item()


def test_tensor_builtin_abs_and_gradient_at_nan_match_torch() -> None:
    torch = pytest.importorskip("torch")
    data = np.array([math.nan, 0.0, -0.0, 2.0, -3.0, math.inf])
    for dt in (np.float64, np.float32):
        x = tl.Tensor(data.astype(dt), requires_grad=True)
        y = abs(x)
        assert isinstance(y, tl.Tensor)
        (y * 2.0).sum().backward()
        t = torch.tensor(data.astype(dt), requires_grad=True)
        (abs(t) * 2.0).sum().backward()
        np.testing.assert_array_equal(y.data, np.abs(data.astype(dt)))
        np.testing.assert_array_equal(x.grad, t.grad.numpy())
        assert x.grad.dtype == dt


def test_value_ordering_compares_data_and_keeps_identity_hashing() -> None:
    a, b = tl.Value(2.0), tl.Value(3.0)
    assert a < b and a <= b and b > a and b >= a and not a > b
    assert a > 1 and a >= 2 and a <= np.float64(2.0) and a < np.int64(5) and 1.5 < a
    assert max(a, b) is b and min([b, a]) is a
    assert sorted([b, a, tl.Value(-1.0)], key=None)[0].data == -1.0
    twin = tl.Value(2.0)
    assert a != twin and len({a, twin, a}) == 2  # equality stays identity: graph sets keep both
    for bad in ("2", None, [1.0], True):
        with pytest.raises(TypeError):
            a < bad  # noqa: B015


def test_max_of_values_routes_the_gradient_to_the_larger() -> None:
    a, b = tl.Value(2.0), tl.Value(-1.0)
    y = max(a * 3.0, b * 5.0)
    y.backward()
    assert (a.grad, b.grad) == (3.0, 0.0)


def test_scalar_svm_mlp_step_matches_torch() -> None:
    """A micrograd-style ReLU MLP on a max-margin loss with an L2 term: loss and every
    gradient equal torch's in float64 (the Values run the same sums in the same order)."""
    torch = pytest.importorskip("torch")
    rng = random.Random(3)
    sizes = [2, 4, 4, 1]
    W = [[[rng.uniform(-1, 1) for _ in range(sizes[i])] for _ in range(sizes[i + 1])] for i in range(3)]
    X = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(6)]
    Y = [1.0 if rng.random() < 0.5 else -1.0 for _ in range(6)]

    def run(make, relu):
        params = [[[make(w) for w in row] for row in layer] for layer in W]
        biases = [[make(0.0) for _ in layer] for layer in W]
        losses = []
        for x, yi in zip(X, Y):
            h = x
            for li, (layer, bl) in enumerate(zip(params, biases)):
                out = [sum((wi * hi for wi, hi in zip(row, h)), b) for row, b in zip(layer, bl)]
                h = [relu(o) for o in out] if li < 2 else out
            losses.append(relu(1 + -yi * h[0]))
        flat = [p for layer in params for row in layer for p in row] + [b for bl in biases for b in bl]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in flat)
        total.backward()
        return total, flat

    tv, fv = run(tl.Value, lambda v: v.relu())

    def mk(w):
        return torch.tensor(w, dtype=torch.float64, requires_grad=True)

    tt, ft = run(mk, torch.relu)
    assert tv.data == pytest.approx(tt.item(), rel=1e-14)
    for p, q in zip(fv, ft):
        assert p.grad == pytest.approx(q.grad.item(), rel=1e-12, abs=1e-15)
