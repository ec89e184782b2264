"""Hostile inputs get errors that name the op, the path or the key, and change nothing:
operands of the wrong type, numbers too large, absurd sizes, deep scalar graphs copied,
checkpoint paths that lead nowhere, and ints too long to store."""

from __future__ import annotations

import copy
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.ops.base import AllocationError

X = tl.Tensor(np.ones((2, 2)))

BAD_OPERANDS = {
    "mm": lambda: X.mm("a"),
    "copy_": lambda: tl.Tensor(np.ones(2)).copy_(None),
    "masked_select": lambda: X.masked_select("a"),
    "outer": lambda: tl.Tensor(np.ones(2)).outer("a"),
    "kron": lambda: X.kron("a"),
    "mv": lambda: X.mv("a"),
    "equal": lambda: X.equal("a"),
    "new": lambda: X.new([1, "a"]),
}


@pytest.mark.parametrize("name", sorted(BAD_OPERANDS))
def test_a_non_numeric_operand_is_a_type_error_naming_the_op(name: str) -> None:
    before = X.data.copy()
    with pytest.raises(TypeError, match=f"^{name}: cannot use an object of type"):
        BAD_OPERANDS[name]()
    np.testing.assert_array_equal(X.data, before)


def test_a_comparison_with_an_int_beyond_every_dtype_names_the_comparison() -> None:
    with pytest.raises(TypeError, match="^equal: "):
        X == 10**20  # noqa: B015


@pytest.mark.parametrize("op, name", [(lambda x: x + 2**1100, "add"), (lambda x: x * 2**1100, "mul"),
                                      (lambda x: x.long() + 2**70, "add")])
def test_a_number_too_large_for_the_dtype_is_an_overflow_error_naming_the_op(op, name) -> None:
    with pytest.raises(OverflowError, match=f"^{name}: .*does not fit the tensor's dtype"):
        op(X)


def test_a_value_too_large_for_a_float_names_value() -> None:
    with pytest.raises(OverflowError, match="^Value: data 1000"):
        tl.Value(10**400)


HUGE = {
    "zeros": lambda: tl.zeros(10**13),
    "ones": lambda: tl.ones(10**13),
    "empty": lambda: tl.empty(10**13),
    "full": lambda: tl.full((10**13,), 1.0),
    "randn": lambda: tl.randn(10**7, 10**7),
    "rand": lambda: tl.rand(10**13),
    "randint": lambda: tl.randint(0, 3, (10**13,)),
    "eye": lambda: tl.eye(10**7),
    "add": lambda: tl.Tensor(np.ones((10**7, 1))) + tl.Tensor(np.ones((1, 10**7))),
    "matmul": lambda: tl.Tensor(np.ones((10**7, 1))) @ tl.Tensor(np.ones((1, 10**7))),
}


@pytest.mark.parametrize("name", sorted(HUGE))
def test_an_absurd_size_is_the_ops_allocation_error(name: str) -> None:
    with pytest.raises(AllocationError, match=f"^{name}: the result is too large to allocate"):
        HUGE[name]()


def _deep_value(n: int) -> tl.Value:
    y = tl.Value(1.0, label="x")
    for _ in range(n):
        y = y * 1.0000001
    return y


def test_a_deep_value_graph_pickles_as_a_leaf_without_recursion() -> None:
    y = _deep_value(100_000)
    y.label = "loss"
    z = pickle.loads(pickle.dumps(y))
    assert z.data == y.data and z.label == "loss" and z._op is None and z._parents == ()
    c = copy.copy(y)
    assert c.data == y.data and c._op is None


def test_deep_copying_a_value_computed_in_the_graph_is_refused_clearly_and_a_leaf_copies() -> None:
    with pytest.raises(RuntimeError, match=r"^deepcopy: a Value computed in the graph \(by op 'mul'\)"):
        copy.deepcopy(_deep_value(10_000))
    x = tl.Value(2.0, label="w")
    x.grad = 3.0
    pair = copy.deepcopy([x, x])
    assert pair[0] is pair[1] and pair[0] is not x
    assert (pair[0].data, pair[0].grad, pair[0].label) == (2.0, 3.0, "w")
    leaf = pickle.loads(pickle.dumps(x))
    assert (leaf.data, leaf.grad, leaf.label) == (2.0, 3.0, "w")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlink_loop_is_a_checkpoint_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.npz"
    os.symlink(loop, loop)
    with pytest.raises(tl.CheckpointError, match="cannot load .*loop.npz"):
        tl.load(loop)
    with pytest.raises(tl.CheckpointError, match="cannot save to .*loop.npz.*nothing was written"):
        tl.save({"a": 1}, loop)


def test_a_file_used_as_a_directory_is_a_checkpoint_error(tmp_path: Path) -> None:
    f = tmp_path / "plain"
    f.write_bytes(b"x")
    with pytest.raises(tl.CheckpointError, match="cannot load"):
        tl.load(f / "x.npz")
    with pytest.raises(tl.CheckpointError, match="cannot save to"):
        tl.save({"a": 1}, f / "x.npz")
    assert f.read_bytes() == b"x"


def test_an_int_too_long_for_text_names_where_it_is_and_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "c.npz"
    tl.save({"n": 3}, p)
    with pytest.raises(ValueError, match=r"cannot save int at obj\['n'\]\[1\]\['k'\]"):
        tl.save({"n": [1, {"k": -(10**5000)}]}, p)
    assert tl.load(p) == {"n": 3}
    tl.save({"n": 10**4000}, p)  # (long, but within what Python writes as text)
    assert tl.load(p)["n"] == 10**4000
