"""Hostile inputs, fifth round: triangle indices of absurd sizes (refused before any memory is
taken, and built without a row x col mask), and a parameter made read-only by hand (refused
before a step changes anything)."""

import itertools

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.ops.base import AllocationError


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
def test_triangle_indices_match_torch_for_every_small_shape_and_offset(fn):
    torch = pytest.importorskip("torch")
    for row, col, offset in itertools.product(range(6), range(6), range(-8, 9)):
        got = getattr(tl, fn)(row, col, offset).data
        want = getattr(torch, fn)(row, col, offset).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape, (row, col, offset)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
def test_triangle_indices_match_numpy_and_keep_the_dtype(fn):
    for row, col, offset in [(7, 4, 0), (4, 7, 2), (9, 9, -3), (3, 1000, 500), (1000, 3, -500), (0, 5, 0)]:
        got = getattr(tl, fn)(row, col, offset, dtype=tl.int32).data
        want = np.stack(getattr(np, fn)(row, offset, col))
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("n", [2 ** 17, 2 ** 31, 2 ** 62])
def test_triangle_indices_of_an_absurd_size_are_refused_naming_the_function(fn, n):
    with pytest.raises(AllocationError, match=fn):
        getattr(tl, fn)(n, n)


def test_triangle_indices_of_many_rows_and_no_entries_take_no_memory():
    assert tl.tril_indices(2 ** 40, 0).shape == (2, 0)
    assert tl.triu_indices(2 ** 40, 3, 2 ** 41).shape == (2, 0)
    assert tl.tril_indices(3, 2 ** 40, -(2 ** 40)).shape == (2, 0)
    np.testing.assert_array_equal(tl.triu_indices(3, 2 ** 40, 2 ** 40 - 1).data, [[0], [2 ** 40 - 1]])


@pytest.mark.parametrize("opt_cls", [tl.optim.SGD, tl.optim.Adam, tl.optim.AdamW, tl.optim.RMSprop])
def test_a_parameter_made_read_only_by_hand_is_refused_before_the_step_changes_anything(opt_cls):
    m = tl.nn.Sequential(tl.nn.Linear(2, 3, rng=0), tl.nn.Linear(3, 1, rng=1))
    m[1].bias.data.flags.writeable = False
    before = [p.data.copy() for p in m.parameters()]
    opt = opt_cls(m.parameters(), lr=0.1)
    m(tl.Tensor(np.ones((4, 2)))).sum().backward()
    with pytest.raises(ValueError, match=rf"{opt_cls.__name__}\.step: .*shape \(1,\).*read-only.*nothing was changed"):
        opt.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(m.parameters(), before))
    assert not opt.state or all(not s for s in opt.state.values())


LOSS_CASES = [
    ("cross_entropy", {"target": [-100] * 4}),
    ("nll_loss", {"target": [0, 1, 2, 1], "weight": [0.0, 0.0, 0.0]}),
    ("cross_entropy", {"target": [0, 1, 2, -100], "weight": [0.0, 0.0, 0.0]}),
    ("cross_entropy", {"target": [0, 1, 2, 1], "weight": [0.0, 0.0, 0.0], "label_smoothing": 0.1}),
    ("nll_loss", {"target": [-100] * 4}),
    ("cross_entropy", {"target": [-100] * 4, "label_smoothing": 0.1}),
    ("cross_entropy", {"target": [0, 0, -100, -100], "weight": [0.0, 1.0, 1.0]}),
    ("cross_entropy", {"target": [0, 1, -100, -100], "weight": [0.0, 1.0, 1.0]}),
]


@pytest.mark.parametrize("fn,kw", LOSS_CASES)
def test_a_mean_over_no_selected_weight_gives_torch_s_nan_where_a_kept_label_reaches(fn, kw):
    """0 / 0: the loss is NaN; the gradient is NaN where a label that is not ignored reaches
    (so training does not go on silently with zero weights), 0 where every label is ignored."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((4, 3))
    tx, a = torch.tensor(x, requires_grad=True), tl.Tensor(x, requires_grad=True)
    tkw = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else torch.tensor(v) if k == "target" else v
           for k, v in kw.items()}
    lkw = {k: tl.Tensor(np.array(v, dtype=float)) if k == "weight" else np.array(v) if k == "target" else v
           for k, v in kw.items()}
    want = getattr(torch.nn.functional, fn)(tx, **tkw)
    want.backward()
    got = getattr(tl.nn.functional, fn)(a, **lkw)
    got.backward()
    np.testing.assert_array_equal(np.isnan(got.data), np.isnan(want.detach().numpy()))
    np.testing.assert_array_equal(np.isnan(a.grad), np.isnan(tx.grad.numpy()))
    np.testing.assert_allclose(np.nan_to_num(a.grad), np.nan_to_num(tx.grad.numpy()), rtol=1e-12, atol=1e-15)


MEDIAN_CASES = [
    np.array([0.1, 0.1, 0.1, 9.0, 9.0]),
    np.array([3e38, 3e38, -1e38], np.float32),
    np.array([1e308, 1e308, 1.0]),
    np.array([5.0, 1.0, 5.0, 5.0, 2.0]),
    np.array([np.inf, np.inf, 1.0]),
    np.array([1.0, np.nan, 2.0]),
    np.array([np.finfo(np.float64).max] * 3),
]


@pytest.mark.parametrize("x", MEDIAN_CASES, ids=range(len(MEDIAN_CASES)))
def test_the_median_of_all_values_is_one_of_them_with_its_gradient_shared_by_the_ties(x):
    """The value is the middle element itself (no average of the ties, which rounds or
    overflows); the gradient goes in equal parts to the elements equal to it, as torch."""
    torch = pytest.importorskip("torch")
    a = tl.Tensor(x.copy(), requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    m, tm = a.median(), t.median()
    assert m.dtype == x.dtype
    np.testing.assert_array_equal(m.data, tm.detach().numpy())
    m.backward()
    tm.backward()
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-12, atol=0)


def test_nanmedian_is_one_of_the_values():
    assert tl.Tensor(np.array([0.1, 0.1, 0.1, np.nan])).nanmedian().item() == 0.1


def test_the_standard_deviation_of_half_values_is_computed_in_float32_as_torch_s():
    torch = pytest.importorskip("torch")
    x = np.array([60000, 10000, 1.5], np.float16)
    for got, want in [(tl.tensor(x).std(), torch.tensor(x).std()), (tl.tensor(x).std(0), torch.tensor(x).std(0)),
                      (tl.std_mean(tl.tensor(x))[0], torch.std_mean(torch.tensor(x))[0])]:
        assert got.dtype == np.float16 and np.isfinite(got.data)
        np.testing.assert_array_equal(got.data, want.numpy())
    a, t = tl.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    a.std().backward()
    t.std().backward()
    assert a.grad.dtype == np.float16
    np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=2e-3)


@pytest.mark.parametrize("make", [lambda: tl.nn.Sequential(tl.nn.ReLU(), tl.nn.Tanh()),
                                  lambda: tl.nn.ModuleList([tl.nn.ReLU(), tl.nn.Tanh()])])
def test_an_index_past_a_container_names_the_container_and_its_length(make):
    c = make()
    assert isinstance(c[-2], tl.nn.ReLU) and isinstance(c[np.int64(1)], tl.nn.Tanh)
    for k in (2, -3, 10):
        with pytest.raises(IndexError, match=rf"{type(c).__name__}: index {k} is out of range for 2 modules"):
            c[k]
