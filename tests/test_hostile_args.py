"""Arguments of the wrong kind given to Tensor methods: a TypeError or ValueError that names
the method (never an AttributeError or an OverflowError from inside), and the tensor is
left as it was."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

CASES = [
    ("sort", lambda t: t.sort(None), TypeError),
    ("argsort", lambda t: t.argsort(None), TypeError),
    ("flatten", lambda t: t.flatten(None), TypeError),
    ("flatten", lambda t: t.flatten(0, None), TypeError),
    ("unbind", lambda t: t.unbind(None), TypeError),
    ("diagonal", lambda t: t.diagonal(0, None, 1), TypeError),
    ("movedim", lambda t: t.movedim(None, 0), TypeError),
    ("gather", lambda t: t.gather(None, tl.tensor(np.zeros((2, 3), np.int64))), TypeError),
    ("roll", lambda t: t.roll(None), TypeError),
    ("roll", lambda t: t.roll(1.5), TypeError),
    ("roll", lambda t: t.roll(10**19), ValueError),
    ("roll", lambda t: t.roll((10**19,), (0,)), ValueError),
    ("round", lambda t: t.round(None), TypeError),
    ("round", lambda t: t.round(True), TypeError),
    ("expand_as", lambda t: t.expand_as(None), TypeError),
    ("view_as", lambda t: t.view_as((2, 3)), TypeError),
    ("reshape_as", lambda t: t.reshape_as("ab"), TypeError),
    ("tril", lambda t: t.tril(10**30), ValueError),
    ("triu", lambda t: t.triu(-(10**30)), ValueError),
    ("diag", lambda t: t[0].diag(10**30), ValueError),
    ("diagonal", lambda t: t.diagonal(10**30), ValueError),
    ("uniform_", lambda t: t.uniform_(None), TypeError),
    ("uniform_", lambda t: t.uniform_(0.0, "1"), TypeError),
    ("normal_", lambda t: t.normal_(None), TypeError),
    ("normal_", lambda t: t.normal_(0.0, [1.0]), TypeError),
    ("exponential_", lambda t: t.exponential_(None), TypeError),
    ("histc", lambda t: t.histc(None), TypeError),
    ("histc", lambda t: t.histc(0), ValueError),
    ("histc", lambda t: t.histc(4, "a"), TypeError),
    ("logit", lambda t: t.logit("a"), TypeError),
    ("type_as", lambda t: t.type_as(None), TypeError),
]


@pytest.mark.parametrize("who, call, exc", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_bad_argument_names_the_method_and_changes_nothing(who: str, call: Callable[[Any], Any],
                                                             exc: type) -> None:
    t = tl.tensor(np.arange(6.0).reshape(2, 3))
    before = t.data.copy()
    with pytest.raises(exc, match=who):
        call(t)
    np.testing.assert_array_equal(t.data, before)


def test_the_fills_take_one_element_tensors_as_torch_does() -> None:
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(0)
    t = tl.tensor(np.zeros(4)).normal_(tl.tensor(3.0), tl.tensor(0.0), generator=g)
    np.testing.assert_array_equal(t.data, torch.zeros(4, dtype=torch.float64).normal_(torch.tensor(3.0),
                                                                                     torch.tensor(0.0)).numpy())
    u = tl.tensor(np.zeros(4)).uniform_(tl.tensor(2.0), tl.tensor(2.0))
    np.testing.assert_array_equal(u.data, np.full(4, 2.0))


def test_the_checked_arguments_still_work() -> None:
    x = np.arange(6.0).reshape(2, 3)
    t = tl.tensor(x)
    np.testing.assert_array_equal(t.roll(np.int64(1), 1).data, np.roll(x, 1, 1))
    np.testing.assert_array_equal(t.roll((1, -1), (0, 1)).data, np.roll(x, (1, -1), (0, 1)))
    np.testing.assert_array_equal(t.expand_as(np.zeros((4, 2, 3))).data, np.broadcast_to(x, (4, 2, 3)))
    np.testing.assert_array_equal(t.view_as(tl.tensor(np.zeros((3, 2)))).data, x.reshape(3, 2))
    np.testing.assert_array_equal(t.round(np.int64(0)).data, x)
    assert t.flatten(np.int64(0), -1).shape == (6,)
    np.testing.assert_array_equal(t.sort(np.int64(0)).values.data, x)
    np.testing.assert_array_equal(t.diagonal(0, np.int64(0), 1).data, np.diagonal(x))
