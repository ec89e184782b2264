"""NoiseScale after backward(per_sample="norms") equals the default backward's for every way
of writing the cost, or refuses; an accountant's history assigned as a tuple keeps working."""

import numpy as np
import pytest

import tinygrad_lite as tl

rs = np.random.RandomState(0)
X = rs.randn(12, 5)
Y = rs.randint(0, 3, 12)


def _model():
    tl.manual_seed(0)
    return tl.nn.Sequential(tl.nn.Linear(5, 8), tl.nn.Tanh(), tl.nn.Linear(8, 3))


COSTS = {
    "mean": lambda z, y: tl.nn.functional.cross_entropy(z, y),
    "sum": lambda z, y: tl.nn.functional.cross_entropy(z, y, reduction="sum"),
    "sum/B": lambda z, y: tl.nn.functional.cross_entropy(z, y, reduction="sum") / len(y),
    "0.5*mean": lambda z, y: 0.5 * tl.nn.functional.cross_entropy(z, y),
    "3*sum": lambda z, y: 3.0 * tl.nn.functional.cross_entropy(z, y, reduction="sum"),
}


def _noise_scale(cost, mode, slices):
    m = _model()
    m.zero_grad()
    for sl in slices:
        COSTS[cost](m(tl.Tensor(X[sl], batched=True)), Y[sl]).backward(per_sample=mode)
    ns = tl.stats.NoiseScale(beta=0.0)
    ns.update(m)
    return ns.last_trace_sigma, ns.last_grad_sqnorm


@pytest.mark.parametrize("cost", list(COSTS))
@pytest.mark.parametrize("slices", [(slice(0, 12),), (slice(0, 6), slice(6, 12)), (slice(0, 4), slice(4, 8),
                                                                                    slice(8, 12))])
def test_norms_mode_equals_the_default_backward(cost, slices):
    want = _noise_scale(cost, True, slices)
    got = _noise_scale(cost, "norms", slices)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_the_default_backward_matches_the_formula_from_per_sample_gradients():
    m = _model()
    COSTS["mean"](m(tl.Tensor(X, batched=True)), Y).backward()
    S = np.concatenate([p.grad_sample.reshape(12, -1) for p in m.parameters()], axis=1)
    g = S.mean(axis=0)
    B = 12
    trace = (np.sum(S * S) - B * g @ g) / (B - 1)
    ns = tl.stats.NoiseScale(beta=0.0)
    ns.update(m)
    np.testing.assert_allclose(ns.last_trace_sigma, trace, rtol=1e-12)
    np.testing.assert_allclose(ns.last_grad_sqnorm, g @ g - trace / B, rtol=1e-12)


def test_norms_mode_over_means_of_different_batch_sizes_refuses():
    m = _model()
    for sl in (slice(0, 4), slice(4, 12)):
        COSTS["mean"](m(tl.Tensor(X[sl], batched=True)), Y[sl]).backward(per_sample="norms")
    ns = tl.stats.NoiseScale(beta=0.0)
    with pytest.raises(ValueError, match="weight their samples differently"):
        ns.update(m)
    assert ns.steps == 0 and ns.trace_sigma is None


def test_norms_mode_after_zero_grad_starts_afresh():
    m = _model()
    for sl in (slice(0, 4), slice(4, 12)):
        COSTS["mean"](m(tl.Tensor(X[sl], batched=True)), Y[sl]).backward(per_sample="norms")
    m.zero_grad()
    COSTS["mean"](m(tl.Tensor(X, batched=True)), Y).backward(per_sample="norms")
    ns = tl.stats.NoiseScale(beta=0.0)
    ns.update(m)
    np.testing.assert_allclose((ns.last_trace_sigma, ns.last_grad_sqnorm),
                               _noise_scale("mean", True, (slice(0, 12),)), rtol=1e-10)


@pytest.mark.parametrize("kind", ["rdp", "pld"])
def test_a_history_assigned_as_a_tuple_keeps_stepping(kind):
    pytest.importorskip("dp_accounting")
    a = tl.privacy.Accountant(kind)
    a.history = ((1.0, 0.1, 5),)
    a.step(1.0, 0.1)
    a.step(2.0, 0.1, 3)
    assert a.history == [(1.0, 0.1, 6), (2.0, 0.1, 3)]
    b = tl.privacy.Accountant(kind)
    b.step(1.0, 0.1, 6)
    b.step(2.0, 0.1, 3)
    assert a.get_epsilon(1e-5) == b.get_epsilon(1e-5)


def test_a_state_of_the_other_kind_is_a_value_error_and_changes_nothing():
    pytest.importorskip("dp_accounting")
    pld, rdp = tl.privacy.Accountant("pld"), tl.privacy.Accountant("rdp")
    pld.step(1.0, 0.1, 10)
    rdp.step(2.0, 0.1, 1)
    with pytest.raises(ValueError, match="the state is of a 'pld' accountant, this one is 'rdp'"):
        rdp.load_state_dict(pld.state_dict())
    assert rdp.history == [(2.0, 0.1, 1)]
    with pytest.raises(ValueError, match="the state is of a 'rdp' accountant, this one is 'pld'"):
        pld.load_state_dict(rdp.state_dict())


def test_make_private_negative_seed_is_a_value_error():
    pytest.importorskip("dp_accounting")
    model = tl.nn.Linear(5, 3)
    with pytest.raises(ValueError, match="seed must be None, an int >= 0"):
        tl.privacy.make_private(model, X, Y, batch_size=4, epochs=1, target_epsilon=5.0, target_delta=1e-5,
                                max_grad_norm=1.0, lr=0.1, seed=-1)
    with pytest.raises(TypeError, match="seed must be None"):
        tl.privacy.make_private(model, X, Y, batch_size=4, epochs=1, target_epsilon=5.0, target_delta=1e-5,
                                max_grad_norm=1.0, lr=0.1, seed=1.5)
