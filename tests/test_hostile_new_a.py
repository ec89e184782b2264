"""Hostile inputs to the newer public API (distributions, random state, testing helpers, Size,
print options, the autograd checks): each bad call raises a clear error naming the function
and the offending value, and leaves the generator / options as they were."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.distributions as D
import tinygrad_lite.testing as tlt
from tinygrad_lite import random as R


@pytest.fixture(autouse=True)
def _keep_printoptions():
    saved = tl.get_printoptions()
    yield
    tl.set_printoptions(profile="default")
    tl.set_printoptions(**{k: v for k, v in saved.items()})


def _state_kept(fn, exc, match):
    """``fn()`` raises ``exc`` matching ``match`` and leaves the default generator untouched."""
    before = tl.get_rng_state()
    with pytest.raises(exc, match=match):
        fn()
    np.testing.assert_array_equal(tl.get_rng_state(), before)


# ---- distributions: draws ----------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: D.Binomial(3, probs=0.25), lambda: D.Poisson(2.5)])
def test_scalar_discrete_draws(make) -> None:
    tl.manual_seed(0)
    d = make()
    x = d.sample()
    assert x.shape == () and x.dtype == np.float64
    assert float(x.data) >= 0 and float(x.data) == math.floor(float(x.data))
    assert d.sample((4,)).shape == (4,)


def test_binomial_count_past_int64_is_named() -> None:
    d = D.Binomial(tl.tensor([1e19]), probs=0.5)
    _state_kept(d.sample, ValueError, r"Binomial\.sample: total_count .*1e\+19")


def test_poisson_rate_too_large_or_nan_is_named() -> None:
    _state_kept(D.Poisson(tl.tensor([1e30])).sample, ValueError, r"Poisson\.sample: rate .*1e\+30")
    _state_kept(D.Poisson(float("nan"), validate_args=False).sample, ValueError, r"Poisson\.sample: rate")


@pytest.mark.parametrize("make,match", [
    (lambda: D.Bernoulli(probs=float("nan"), validate_args=False), r"Bernoulli\.sample: probs must lie in \[0, 1\]"),
    (lambda: D.Binomial(3, probs=1.5, validate_args=False), r"Binomial\.sample: probs must lie in \[0, 1\]"),
    (lambda: D.Categorical(probs=tl.tensor([0.0, 0.0]), validate_args=False), r"^Categorical\.sample: probs"),
    (lambda: D.OneHotCategorical(probs=tl.tensor([0.0, 0.0]), validate_args=False),
     r"OneHotCategorical\.sample: probs must be finite"),
    (lambda: D.Gamma(-1.0, 1.0, validate_args=False), r"Gamma\.rsample: the concentration must be >= 0"),
    (lambda: D.Chi2(-1.0, validate_args=False), r"Chi2\.rsample: the concentration"),
    (lambda: D.Dirichlet(tl.tensor([-1.0, 1.0]), validate_args=False), r"Dirichlet\.rsample: the concentration"),
])
def test_draws_outside_what_can_be_drawn(make, match) -> None:
    _state_kept(make().sample, ValueError, match)


def test_draw_shape_past_int64() -> None:
    _state_kept(lambda: D.Normal(0.0, 1.0).sample((2**40, 2**40)), RuntimeError,
                r"Normal\.sample: a draw of shape \(1099511627776, 1099511627776\)")


# ---- distributions: arguments -------------------------------------------------------------

@pytest.mark.parametrize("arg,match", [
    (1 + 2j, r"Normal: arguments must be real numbers.*complex \(1\+2j\)"),
    (np.array([None]), r"Normal: arguments must be real-valued.*dtype object"),
    (np.array(["a"]), r"Normal: arguments must be real-valued.*dtype <U1"),
])
@pytest.mark.parametrize("validate", [True, False])
def test_non_real_parameters(arg, match, validate) -> None:
    with pytest.raises(ValueError, match=match):
        D.Normal(arg, 1.0, validate_args=validate)


def test_non_real_value_without_validation() -> None:
    d = D.Normal(0.0, 1.0, validate_args=False)
    with pytest.raises(ValueError, match=r"Normal\.log_prob: value must be real"):
        d.log_prob(np.array([1 + 1j]))


@pytest.mark.parametrize("value", ["a", None, {}])
def test_icdf_of_a_non_number(value) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.distributions.Normal(0.0, 1.0).icdf(value)
    with pytest.raises(TypeError, match=rf"Normal\.icdf: value must be .*got {type(value).__name__}"):
        D.Normal(0.0, 1.0).icdf(value)


def test_independent_takes_a_numpy_int() -> None:
    torch = pytest.importorskip("torch")
    want = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2, 3), 1.0), np.int64(1))
    got = D.Independent(D.Normal(tl.tensor(np.zeros((2, 3))), 1.0), np.int64(1))
    assert (got.batch_shape, got.event_shape) == (tuple(want.batch_shape), tuple(want.event_shape))
    assert type(got.reinterpreted_batch_ndims) is int


def test_kl_of_mismatched_batches_and_categories() -> None:
    with pytest.raises(ValueError, match=r"kl_divergence: the batch shapes .*\(3,\).*\(2,\)"):
        D.kl_divergence(D.Normal(tl.tensor(np.zeros(3)), 1.0), D.Normal(tl.tensor(np.zeros(2)), 1.0))
    with pytest.raises(ValueError, match="kl_divergence: p \\(Categorical\\) has 2 categories and q"):
        D.kl_divergence(D.Categorical(probs=tl.tensor([0.5, 0.5])), D.Categorical(probs=tl.tensor([0.2, 0.3, 0.5])))


def test_register_kl_of_a_non_callable() -> None:
    class P(D.Normal):
        pass

    with pytest.raises(TypeError, match="register_kl: the decorated object must be callable, got int"):
        D.register_kl(P, P)(3)
    with pytest.raises(NotImplementedError):  # nothing was registered
        D.kl_divergence(P(0.0, 1.0), D.Poisson(1.0))
    assert D.kl_divergence(P(0.0, 1.0), P(0.0, 1.0)).item() == 0.0


# ---- random state -------------------------------------------------------------------------

def test_state_with_an_even_increment_is_rejected() -> None:
    st = tl.get_rng_state()
    bad = st.copy()
    bad[20] &= 0xFE  # PCG64's increment is odd in every real state
    _state_kept(lambda: tl.set_rng_state(bad), ValueError, "set_rng_state: not a Generator state")
    g = tl.Generator().manual_seed(3)
    kept = g.get_state()
    with pytest.raises(ValueError, match="set_state: not a Generator state"):
        g.set_state(bad)
    np.testing.assert_array_equal(g.get_state(), kept)


def test_fork_rng_devices_not_iterable() -> None:
    with pytest.raises(TypeError, match="fork_rng: devices must be None or an iterable of devices, got 3"):
        with R.fork_rng(devices=3):
            pass


# ---- testing helpers ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_make_tensor_nan_bounds(dtype) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.testing.make_tensor(3, dtype=torch.float64 if dtype is np.float64 else torch.int64, device="cpu",
                                  low=float("nan"))
    _state_kept(lambda: tlt.make_tensor(3, dtype=dtype, low=float("nan")), ValueError,
                "make_tensor: low and high cannot be NaN")


@pytest.mark.parametrize("kw", [{"low": "0"}, {"high": [1]}, {"low": True}])
def test_make_tensor_bounds_must_be_numbers(kw) -> None:
    name = next(iter(kw))
    _state_kept(lambda: tlt.make_tensor(3, dtype=np.float64, **kw), TypeError,
                f"make_tensor: {name} must be a real number or None")


def test_make_tensor_clamps_bounds_to_the_dtype() -> None:
    torch = pytest.importorskip("torch")
    tl.manual_seed(1)
    x = tlt.make_tensor(200, dtype=np.uint8, low=-5).data
    ref = torch.testing.make_tensor(200, dtype=torch.uint8, device="cpu", low=-5).numpy()
    assert x.min() >= ref.min() >= 0 and x.max() < 10  # torch clamps low to 0: no wrap-around to 251..255
    assert tlt.make_tensor(200, dtype=np.int8, low=0, high=1000).data.min() >= 0
    for dtype, high in ((np.float64, math.inf), (np.float32, 1e300), (np.float16, 1e6)):
        y = tlt.make_tensor(50, dtype=dtype, low=0, high=high).data
        assert y.dtype == dtype and np.isfinite(y).all() and (y >= 0).all()
    z = tlt.make_tensor(50, dtype=np.float64, low=-math.inf, high=0.0).data
    assert np.isfinite(z).all() and (z <= 0).all()


def test_make_tensor_default_draws_unchanged() -> None:
    tl.manual_seed(5)
    got = tlt.make_tensor(2, 3, dtype=np.float64, low=-2.0, high=3.0).data
    want = np.random.default_rng(5).uniform(-2.0, 3.0, (2, 3))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("device,exc", [("cuda", RuntimeError), (5, TypeError)])
def test_make_tensor_device(device, exc) -> None:
    _state_kept(lambda: tlt.make_tensor(3, dtype=np.float64, device=device), exc, "make_tensor: ")


def test_make_tensor_huge_and_bad_requires_grad_change_nothing() -> None:
    _state_kept(lambda: tlt.make_tensor(10**10, 10**10, dtype=np.float64), ValueError,
                r"make_tensor: shape \(10000000000, 10000000000\) of float64 needs")
    _state_kept(lambda: tlt.make_tensor(3, dtype=np.int64, requires_grad=True), ValueError,
                "make_tensor: requires_grad=True needs a floating-point dtype")


def test_assert_close_integers_are_exact() -> None:
    torch = pytest.importorskip("torch")
    a, b = np.array([2**62, 5]), np.array([2**62 + 1, 5])
    with pytest.raises(AssertionError):
        torch.testing.assert_close(torch.from_numpy(a), torch.from_numpy(b))
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 2"):
        tlt.assert_close(a, b)
    tlt.assert_close(a, a.copy())
    tlt.assert_close(np.array([2**62]), np.array([2**62 + 1]), rtol=1e-6, atol=0)  # (a tolerance, given)


@pytest.mark.parametrize("arr", [np.array([None]), np.array(["a"])])
def test_assert_close_non_numeric_arrays(arr) -> None:
    with pytest.raises(TypeError, match=f"assert_close: actual is an array of dtype {arr.dtype}"):
        tlt.assert_close(arr, arr.copy())


# ---- Size, print options, autograd checks --------------------------------------------------

def test_size_of_a_many_element_tensor() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.Size([torch.tensor([1, 2])])
    with pytest.raises(TypeError, match="Size\\(\\) takes an iterable of 'int' \\(item 1 is 'Tensor'\\)"):
        tl.Size([3, tl.tensor([1, 2])])
    assert tl.Size([tl.tensor(4)]) == (4,)


def test_printoptions_threshold_float_as_torch() -> None:
    torch = pytest.importorskip("torch")
    torch.set_printoptions(threshold=1e3)  # torch takes a float threshold
    torch.set_printoptions(profile="default")
    tl.set_printoptions(threshold=10.0, edgeitems=1)
    assert tl.get_printoptions()["threshold"] == 10
    assert "..." in repr(tl.tensor(np.arange(11.0))) and "..." not in repr(tl.tensor(np.arange(10.0)))
    before = tl.get_printoptions()
    for bad, exc in ((float("nan"), ValueError), (-1.0, ValueError), (-math.inf, ValueError), ("5", TypeError)):
        with pytest.raises(exc, match="set_printoptions: threshold"):
            tl.set_printoptions(threshold=bad, precision=2)
        assert tl.get_printoptions() == before


def test_gradcheck_masked_must_be_bool_or_none() -> None:
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match="autograd.gradcheck: masked must be a bool or None, got 'x'"):
        tl.autograd.gradcheck(lambda t: t * 2, (x,), masked="x")
    assert tl.autograd.gradcheck(lambda t: t * 2, (x,), masked=None)


def test_gradgradcheck_names_grad_outputs() -> None:
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match="autograd.gradgradcheck: grad_outputs must be a Tensor or a tuple"):
        tl.autograd.gradgradcheck(lambda t: t * t, (x,), {})


@pytest.mark.parametrize("kw", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_of_an_empty_event(kw) -> None:
    torch = pytest.importorskip("torch")
    # (torch's own scale_tril check fails on a 0x0 matrix, so its side is built unchecked)
    want = torch.distributions.MultivariateNormal(torch.zeros(0), **{kw: torch.zeros(0, 0)}, validate_args=False)
    d = D.MultivariateNormal(tl.tensor(np.zeros(0)), **{kw: tl.tensor(np.zeros((0, 0)))})
    assert d.sample((2,)).shape == tuple(want.sample((2,)).shape) == (2, 0)
    assert d.entropy().item() == want.entropy().item() == 0.0
    assert d.log_prob(tl.tensor(np.zeros(0))).item() == 0.0  # (the density of the one point of R^0)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 1)])
@pytest.mark.parametrize("grad", [False, True])
def test_repr_of_an_empty_tensor_shows_its_shape(shape, grad) -> None:
    torch = pytest.importorskip("torch")
    want = repr(torch.zeros(shape, dtype=torch.float64, requires_grad=grad)).replace(", dtype=torch.float64", "")
    assert repr(tl.tensor(np.zeros(shape), requires_grad=grad)) == want


@pytest.mark.parametrize("shape", [(2.5,), ("3",), ([2], 3), (True,), (None,)])
def test_make_tensor_non_int_sizes_are_type_errors(shape) -> None:
    torch = pytest.importorskip("torch")
    if not isinstance(shape[0], bool):  # (torch takes True as the size 1)
        with pytest.raises(TypeError):
            torch.testing.make_tensor(*shape, dtype=torch.float64, device="cpu")
    _state_kept(lambda: tlt.make_tensor(*shape, dtype=np.float64), TypeError,
                "make_tensor: shape must be non-negative ints")
    _state_kept(lambda: tlt.make_tensor(2, -1, dtype=np.float64), ValueError,
                r"make_tensor: shape must be non-negative ints, got \(2, -1\)")


def test_assert_close_uint64_against_signed_is_exact() -> None:
    a, b = np.array([2**62, 3], np.uint64), np.array([2**62 + 1, 3], np.int64)
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 2 .*\nGreatest absolute difference: 1\.0 "):
        tlt.assert_close(a, b, check_dtype=False)
    with pytest.raises(AssertionError, match="Expected 4611686018427387905 but got 4611686018427387904"):
        tlt.assert_close(a[:1].reshape(()), b[:1].reshape(()), check_dtype=False)  # (0-d arrays)
    tlt.assert_close(a, np.array([2**62, 3], np.int64), check_dtype=False)
