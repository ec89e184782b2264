"""Torch programs ported by changing the imports: the spellings tutorial code uses that must
give torch's results (compared with torch), or raise torch's error type."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_a_torch_function_given_dot_data_says_what_to_pass() -> None:
    # the classic evaluation loop `_, predicted = torch.max(outputs.data, 1)`: `.data` is the
    # numpy array here (the contract), and the functions take Tensors (as torch's refuse
    # arrays), so the error names the fix
    out = tl.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError):
        torch.max(np.ones((2, 3)), 1)
    with pytest.raises(TypeError, match=r"max: input must be a Tensor, got ndarray .*x.data is a numpy array"):
        tl.max(out.data, 1)
    _, got = tl.max(out.detach(), 1)
    assert got.dtype == np.int64


def _setitem_cases() -> list:
    rng = np.random.default_rng(1)
    return [
        ((slice(1, 3), slice(None, 2)), rng.normal(size=(2, 2))),       # a block
        ((2,), 7.5),                                                     # a row from a number
        ((slice(None), 1), rng.normal(size=(4,))),                       # a column
        ((np.array([0, 3]),), rng.normal(size=(1, 5))),                  # rows by index, broadcast
        ((Ellipsis, -1), 0.0),                                           # the last column
        ((None, 0, slice(None, None, 2)), rng.normal(size=(3,))),        # None and a step
    ]


@pytest.mark.parametrize("key,value", _setitem_cases())
def test_setitem_writes_what_torch_writes(key: tuple, value: object) -> None:
    base = np.random.default_rng(2).normal(size=(4, 5))
    t, x = torch.tensor(base), tl.tensor(base)
    tkey = tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    xkey = tuple(tl.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    t[tkey] = torch.tensor(value) if isinstance(value, np.ndarray) else value
    x[xkey] = tl.tensor(value) if isinstance(value, np.ndarray) else value
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_setitem_builds_a_padded_batch_and_masks_as_torch() -> None:
    seqs = [[3, 1, 4], [1, 5], [9, 2, 6, 5]]
    t = torch.zeros(3, 4, dtype=torch.long)
    x = tl.zeros(3, 4, dtype=tl.long)
    for i, s in enumerate(seqs):
        t[i, :len(s)] = torch.tensor(s)
        x[i, :len(s)] = tl.tensor(s)
    t[t == 0] = -100                      # a bool mask
    x[x == 0] = -100
    t[0, 0] = 2.7                         # a float into a long tensor: truncated, as torch
    x[0, 0] = 2.7
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    assert x.dtype == np.int64


def test_setitem_keeps_torch_rules_for_graphs_and_bad_values() -> None:
    w = tl.tensor(np.ones((2, 3)), requires_grad=True)
    tw = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        tw[0, 0] = 5.0
    with pytest.raises(RuntimeError, match="setitem.*leaf"):
        w[0, 0] = 5.0
    with tl.no_grad():                    # a manual update of a parameter
        w[0] = tl.tensor([1.0, 2.0, 3.0])
    with torch.no_grad():
        tw[0] = torch.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.numpy(), tw.detach().numpy())
    y = w * 2                             # a value inside a graph: torch records it, here refused
    with pytest.raises(RuntimeError, match="setitem.*not recorded"):
        y[1] = 0.0
    x = tl.zeros(2, 3)
    with pytest.raises(RuntimeError):     # torch: RuntimeError (here also a ValueError)
        torch.zeros(2, 3)[0] = torch.ones(2)
    with pytest.raises(RuntimeError, match=r"setitem.*\(2,\).*\(3,\)"):
        x[0] = tl.ones(2)
    with pytest.raises(IndexError, match="setitem"):
        x[5] = 1.0
    assert not x.numpy().any()            # nothing was written
    loss = (w * w).sum()
    with tl.no_grad():
        w[1, 1] = 3.0                     # the graph used the old values: its backward refuses
    with pytest.raises(RuntimeError):
        loss.backward()
