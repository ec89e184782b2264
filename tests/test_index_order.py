"""``x[index]`` and ``x[index] = v`` place the index arrays' axes as torch does when an integer
stands apart from an index array (``x[0, :, [1, 2]]``): torch applies the integers first, numpy
counts them among the arrays and would move the arrays' axes to the front. Values, shapes and
gradients are checked against torch (skipped without it) and against the integers-first rule
written out with numpy (always)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import tinygrad_lite as tl

S = slice(None)
# (label, index builder given the module (torch or tl) whose tensors an index may hold, tensor shape)
KEYS: list = [
    ("int, :, list", lambda M: (0, S, [1, 2]), (2, 3, 4)),
    ("0-d tensor, :, list", lambda M: (M.tensor(0), S, [1, 2]), (2, 3, 4)),
    ("numpy int, :, list", lambda M: (np.int64(1), S, [3, 0, 3]), (2, 3, 4)),
    ("None, list, :, int", lambda M: (None, [0, 1], S, 1), (2, 3, 4)),
    ("-1, None, :, list", lambda M: (-1, None, S, [3, 0]), (2, 3, 4)),
    ("int, slice, list", lambda M: (1, slice(1, None), [0, 0, 2]), (2, 3, 4)),
    ("int, :, bool mask", lambda M: (0, S, M.tensor([True, False, True, True])), (2, 3, 4)),
    ("int, :, 2-d index", lambda M: (0, S, M.tensor([[1, 2], [0, 0]])), (2, 3, 4)),
    ("..., int, :, list", lambda M: (Ellipsis, 0, S, [1, 0]), (2, 3, 2, 2)),
    ("int, ..., list", lambda M: (0, Ellipsis, [1, 0]), (2, 3, 2, 2)),
    ("list, int, :, list", lambda M: ([1, 0], 1, S, [0, 1]), (2, 3, 2, 2)),
    (":, int, :, list", lambda M: (S, 2, S, [1, 1, 0]), (2, 3, 4, 2)),
    # numpy's order already is torch's: one node, as before
    ("list, :, int", lambda M: ([1, 0], S, 0), (2, 3, 4)),
    (":, int, list", lambda M: (S, 0, [1, 2]), (2, 3, 4)),
    ("list, int, list", lambda M: ([0, 1], 0, [1, 2]), (2, 3, 4)),
]


def _ints_first(a: np.ndarray, key: tuple) -> np.ndarray:
    """torch's rule by hand: index with the integers (slices elsewhere), then with the rest."""
    first, rest = [], []
    for i in key:
        i = np.asarray(i.data) if isinstance(i, tl.Tensor) else i
        if isinstance(i, (int, np.integer)) or (isinstance(i, np.ndarray) and i.ndim == 0):
            first.append(int(i))
        elif isinstance(i, (list, np.ndarray)):
            arr = np.asarray(i)
            first += [S] * (arr.ndim if arr.dtype == bool else 1)
            rest.append(arr)
        else:
            first.append(i)
            rest.append(i if i is Ellipsis else S)
    return a[tuple(first)][tuple(rest)]


@pytest.mark.parametrize("label, build, shape", KEYS, ids=[k[0] for k in KEYS])
def test_getitem_applies_the_integers_first(label: str, build: Callable, shape: tuple) -> None:
    a = np.arange(float(np.prod(shape))).reshape(shape)
    want = _ints_first(a, build(tl))
    x = tl.Tensor(a, requires_grad=True)
    y = x[build(tl)]
    assert y.shape == want.shape, f"{label}: shape {y.shape}, torch's order gives {want.shape}"
    np.testing.assert_array_equal(y.data, want)
    w = np.random.default_rng(0).standard_normal(want.shape)
    (y * tl.Tensor(w)).sum().backward()
    expect = np.zeros(shape)
    np.add.at(expect.reshape(-1), _ints_first(np.arange(a.size).reshape(shape), build(tl)).reshape(-1), w.reshape(-1))
    np.testing.assert_array_equal(x.grad, expect)


@pytest.mark.parametrize("label, build, shape", KEYS, ids=[k[0] for k in KEYS])
def test_setitem_writes_in_torchs_order(label: str, build: Callable, shape: tuple) -> None:
    a = np.arange(float(np.prod(shape))).reshape(shape)
    view_shape = _ints_first(a, build(tl)).shape
    v = np.random.default_rng(1).standard_normal(view_shape)
    want = a.copy()
    pos = _ints_first(np.arange(a.size).reshape(shape), build(tl))
    want.reshape(-1)[pos.reshape(-1)] = v.reshape(-1)  # (a repeated position keeps its last value, as numpy)
    z = tl.Tensor(a.copy())
    z[build(tl)] = v
    np.testing.assert_array_equal(z.data, want)
    z = tl.Tensor(a.copy())
    z[build(tl)] += tl.Tensor(v)  # Python's read, add and write back
    np.testing.assert_array_equal(z.data, _added(a, pos, v))


def _added(a: np.ndarray, pos: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.reshape(-1)[pos.reshape(-1)] = a.reshape(-1)[pos.reshape(-1)] + v.reshape(-1)
    return out


@pytest.mark.parametrize("label, build, shape", KEYS, ids=[k[0] for k in KEYS])
def test_indexing_matches_torch_with_gradients(label: str, build: Callable, shape: tuple) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape)
    xt = torch.tensor(a, requires_grad=True)
    yt = xt[build(torch)]
    w = rng.standard_normal(tuple(yt.shape))
    (yt * torch.tensor(w)).sum().backward()
    x = tl.Tensor(a, requires_grad=True)
    y = x[build(tl)]
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    (y * tl.Tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    # a recorded write of a value that requires grad, into a tensor inside a graph
    c = rng.standard_normal(shape)
    vt = torch.tensor(w, requires_grad=True)
    xt2 = torch.tensor(a, requires_grad=True)
    yt2 = xt2 * 1
    yt2[build(torch)] = vt
    (yt2 * torch.tensor(c)).sum().backward()
    v = tl.Tensor(w, requires_grad=True)
    x2 = tl.Tensor(a, requires_grad=True)
    y2 = x2 * 1
    y2[build(tl)] = v
    (y2 * tl.Tensor(c)).sum().backward()
    np.testing.assert_array_equal(y2.data, yt2.detach().numpy())
    np.testing.assert_array_equal(x2.grad, xt2.grad.numpy())
    np.testing.assert_allclose(v.grad, vt.grad.numpy(), rtol=0, atol=1e-15)


def test_a_batched_input_keeps_its_rows_and_per_sample_gradients() -> None:
    """x[:, 0, :, [1, 2]] of a batched x keeps the sample axis first (numpy's order would put the
    list's axis there and mix the samples)."""
    rng = np.random.default_rng(3)
    xb = tl.Tensor(rng.standard_normal((5, 3, 4, 6)), batched=True)
    W = tl.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = xb[:, 0, :, [1, 2]]
    assert y.shape == (5, 4, 2)
    (y @ W).sum().backward()
    rows = []
    for b in range(5):
        Wb = tl.Tensor(W.data.copy(), requires_grad=True)
        (tl.Tensor(xb.data[b:b + 1])[:, 0, :, [1, 2]] @ Wb).sum().backward()
        rows.append(Wb.grad)
    np.testing.assert_allclose(W.grad_sample, np.stack(rows), rtol=1e-13)


def test_a_value_of_the_wrong_shape_changes_nothing() -> None:
    a = np.arange(24.0).reshape(2, 3, 4)
    z = tl.Tensor(a.copy())
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        z[0, :, [1, 2]] = np.ones((2, 3))  # torch's indexed shape is (3, 2)
    np.testing.assert_array_equal(z.data, a)


def test_a_leaf_that_requires_grad_is_refused_as_for_any_index() -> None:
    x = tl.Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    for key in [(0, S, [1, 2]), (S, 0, [1, 2])]:
        with pytest.raises(RuntimeError, match="setitem: a leaf tensor that requires grad cannot be changed in place"):
            x[key] = 5.0
    np.testing.assert_array_equal(x.data, 0.0)
    with tl.no_grad():
        x[0, :, [1, 2]] = 5.0
    assert x.data.sum() == 5.0 * 6
