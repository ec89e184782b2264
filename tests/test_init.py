"""tl.nn.init: torch's initialisers, in place, with torch's gains, fans and bounds; seeded
draws; bad input refused without changing the tensor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import init

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _w(*shape: int, dtype: type = np.float64) -> tl.Tensor:
    return tl.Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)


@needs_torch
@pytest.mark.parametrize("nl,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_gains_are_torch_gains(nl: str, param: float) -> None:
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-15)


@pytest.mark.parametrize("fn,kw,bound", [
    (init.xavier_uniform_, {}, math.sqrt(6.0 / (20 * 9 + 30 * 9))),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6.0 / (20 * 9 + 30 * 9))),
    (init.kaiming_uniform_, {}, math.sqrt(6.0 / (20 * 9))),  # a=0: leaky_relu's slope 0, gain sqrt(2)
    (init.kaiming_uniform_, {"a": 0.2}, math.sqrt(3.0) * math.sqrt(2.0 / (1 + 0.2 ** 2)) / math.sqrt(20 * 9)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1.0 / math.sqrt(20 * 9)),  # torch's Linear/Conv default
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(3.0 * 2.0 / (30 * 9))),
    (init.uniform_, {"a": -0.3, "b": 0.3}, 0.3),
])
def test_uniform_initialisers_fill_their_whole_interval(fn: object, kw: dict, bound: float) -> None:
    w = _w(30, 20, 3, 3)
    assert fn(w, generator=0, **kw) is w  # type: ignore[operator]
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound  # 5400 draws reach the edges
    assert abs(w.data.mean()) < 0.05 * bound
    if torch is not None and fn is not init.uniform_:
        t = torch.zeros(30, 20, 3, 3, dtype=torch.float64)
        getattr(torch.nn.init, fn.__name__)(t, **kw)  # type: ignore[attr-defined]
        assert t.abs().max().item() <= bound and t.abs().max().item() > 0.99 * bound


@pytest.mark.parametrize("fn,kw,std", [
    (init.xavier_normal_, {}, math.sqrt(2.0 / (200 + 300))),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2.0 / 200)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}, 5.0 / 3 / math.sqrt(300)),
    (init.normal_, {"mean": 0.0, "std": 0.02}, 0.02),
])
def test_normal_initialisers_have_the_right_spread(fn: object, kw: dict, std: float) -> None:
    w = _w(300, 200)
    fn(w, generator=1, **kw)  # type: ignore[operator]
    assert w.data.std() == pytest.approx(std, rel=0.02)  # 60000 draws: the std is within 1%
    assert abs(w.data.mean()) < 0.02 * std * 5


def test_trunc_normal_stays_in_its_interval_and_is_normal_inside() -> None:
    w = _w(200, 100)
    init.trunc_normal_(w, mean=0.5, std=1.0, a=0.0, b=1.0, generator=2)
    assert w.data.min() >= 0.0 and w.data.max() <= 1.0
    assert w.data.mean() == pytest.approx(0.5, abs=0.01)  # symmetric around the mean
    w2 = _w(100000)
    init.trunc_normal_(w2, std=0.02, a=-0.04, b=0.04, generator=3)
    # the std of N(0, s) truncated at +-2s is 0.8796 s
    assert w2.data.std() == pytest.approx(0.8796 * 0.02, rel=0.01)
    with pytest.raises(ValueError, match="trunc_normal_"):
        init.trunc_normal_(w, a=1.0, b=0.0)


@pytest.mark.parametrize("shape,gain", [((6, 6), 1.0), ((4, 10), 2.0), ((10, 4), 1.0), ((3, 2, 2, 2), 0.5)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape: tuple, gain: float) -> None:
    w = _w(*shape)
    init.orthogonal_(w, gain=gain, generator=4)
    m = w.data.reshape(shape[0], -1)
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-12)


def test_constants_eye_and_dtype_kept_in_place() -> None:
    w = _w(3, 4, dtype=np.float32)
    arr = w.data
    init.ones_(w)
    assert w.data is arr and w.dtype == np.float32 and (arr == 1).all()
    init.constant_(w, 0.25)
    assert (w.data == np.float32(0.25)).all()
    init.zeros_(w)
    assert not w.data.any()
    init.eye_(w)
    np.testing.assert_array_equal(w.data, np.eye(3, 4))
    with pytest.raises(ValueError, match="eye_: only 2-D"):
        init.eye_(_w(2, 2, 2))


def test_same_generator_seed_same_weights_and_manual_seed_governs_the_default() -> None:
    a, b = _w(5, 7), _w(5, 7)
    init.kaiming_uniform_(a, generator=11)
    init.kaiming_uniform_(b, generator=np.random.default_rng(11))
    np.testing.assert_array_equal(a.data, b.data)
    tl.manual_seed(5)
    init.xavier_normal_(a)
    tl.manual_seed(5)
    init.xavier_normal_(b)
    np.testing.assert_array_equal(a.data, b.data)


def test_a_graph_built_before_an_initialisation_refuses_backward() -> None:
    w = _w(2, 3)
    init.ones_(w)
    loss = (w * w).sum()  # (reads w's values: w * 2.0 would not, and backpropagates as torch's)
    with tl.no_grad():
        init.normal_(w, generator=0)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_initialising_a_model_by_walking_its_modules() -> None:
    model = tl.nn.Sequential(tl.nn.Linear(4, 8, rng=0), tl.nn.ReLU(), tl.nn.Linear(8, 2, rng=1))
    for m in model.modules():
        if isinstance(m, tl.nn.Linear):
            init.xavier_uniform_(m.weight, generator=0)
            init.zeros_(m.bias)
    assert not model[0].bias.data.any() and not model[2].bias.data.any()
    assert np.abs(model[0].weight.data).max() <= math.sqrt(6.0 / 12)
    out = model(tl.Tensor(np.ones((3, 4)))).sum()
    out.backward()  # the new weights train as before
    assert model[0].weight.grad.shape == (8, 4)


def test_bad_input_is_refused_and_changes_nothing() -> None:
    w = _w(4, 5)
    init.ones_(w)
    with pytest.raises(ValueError, match="fan in and fan out.*\\(7,\\)"):
        init.xavier_uniform_(_w(7))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(w, mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.kaiming_uniform_(w, nonlinearity="swish")
    with pytest.raises(ValueError, match="uniform_: expects a <= b"):
        init.uniform_(w, 1.0, 0.0)
    with pytest.raises(ValueError, match="normal_: std must be >= 0"):
        init.normal_(w, std=-1.0)
    with pytest.raises(TypeError, match="only floating-point"):
        init.zeros_(tl.Tensor(np.arange(3)))
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))
    with pytest.raises(TypeError, match="generator"):
        init.normal_(w, generator="seed")
    assert (w.data == 1).all()  # none of the failed calls wrote anything
