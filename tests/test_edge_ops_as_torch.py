"""Edge inputs where torch gives a result and the op used to fail or give another dtype:
``inner`` of empty vectors, ``sign`` / ``sgn`` / ``diff`` of bool tensors, ``aminmax`` over a
non-empty dim of an empty tensor, ``movedim`` of a 0-d tensor, ``cumsum`` / ``cumprod`` of a
0-d integer or bool tensor (int64, as the 1-d ones)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

B = np.array([[True, False, False], [True, True, False]])
CASES: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "inner of empty vectors": (lambda m: m.inner(m.zeros(0, dtype=m.float64), m.zeros(0, dtype=m.float64)), None),
    "inner of (2, 0) and (3, 0)": (lambda m: m.inner(m.ones(2, 0, dtype=m.float64), m.ones(3, 0, dtype=m.float64)),
                                   None),
    "sign of bool": (lambda m, x=B: m.tensor(x).sign(), None),
    "sgn of bool": (lambda m, x=B: m.tensor(x).sgn(), None),
    "diff of bool": (lambda m, x=B: m.tensor(x).diff(dim=1), None),
    "diff of bool, n=2, dim 0": (lambda m, x=B: m.tensor(np.vstack([x, x[::-1]])).diff(n=2, dim=0), None),
    "aminmax over a non-empty dim": (lambda m: m.tensor(np.zeros((0, 3))).aminmax(dim=1)[1], None),
    "movedim of 0-d": (lambda m: m.tensor(np.array(3.0)).movedim(0, -1), None),
    "cumsum of 0-d int32": (lambda m: m.tensor(np.array(3, np.int32)).cumsum(0), None),
    "cumprod of 0-d int16": (lambda m: m.tensor(np.array(3, np.int16)).cumprod(0), None),
    "cumsum of 0-d bool": (lambda m: m.tensor(np.array(True)).cumsum(0), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_edge_input_gives_torchs_result(case: str) -> None:
    f, _ = CASES[case]
    got, want = f(tl), f(torch)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.data, want.numpy())


def test_aminmax_over_an_empty_dim_still_refuses_naming_it() -> None:
    with pytest.raises(ValueError, match=r"aminmax: cannot reduce an empty tensor of shape \(0, 3\) over dim 0"):
        tl.tensor(np.zeros((0, 3))).aminmax(dim=0)
    with pytest.raises(ValueError, match="over all axes"):
        tl.tensor(np.zeros((0, 3))).aminmax()


def test_zero_d_cumsum_and_movedim_keep_the_gradient() -> None:
    x = tl.tensor(2.0, requires_grad=True)
    (x.cumsum(0) * 3 + x.movedim(0, 0) * 5 + x.cumprod(-1) * 7).backward()
    assert float(x.grad) == 15.0
