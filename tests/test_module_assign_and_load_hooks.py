"""Module rules as torch's: a plain Tensor (no parameter) cannot take a parameter's place (it
would silently stop being trained and saved); load_state_dict post-hooks run after the values
are loaded and may clear expected missing or unexpected keys, and keys they leave fail a strict
load with the weights restored."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


def test_a_plain_tensor_cannot_replace_a_parameter() -> None:
    m = tl.nn.Linear(2, 2)
    before = m.weight
    with pytest.raises(TypeError, match="cannot assign a Tensor that is no parameter as parameter 'weight'"):
        m.weight = tl.Tensor(np.ones((2, 2)))
    assert m.weight is before and [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.weight = tl.nn.Parameter(np.ones((2, 2)))
    m.bias = tl.Tensor(np.zeros(2), requires_grad=True)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None  # (an empty slot, as torch's)
    assert [n for n, _ in m.named_parameters()] == ["weight"]


def test_a_post_hook_clearing_expected_missing_keys_lets_a_strict_load_succeed() -> None:
    m = tl.nn.Linear(1, 1)
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: (seen.append(list(keys.missing_keys)),
                                                           keys.missing_keys.clear()))
    result = m.load_state_dict({"weight": np.full((1, 1), 3.0)})
    assert seen == [["bias"]] and result.missing_keys == [] and m.weight.data[0, 0] == 3.0


def test_keys_a_post_hook_leaves_fail_a_strict_load_with_the_weights_restored() -> None:
    m = tl.nn.Linear(1, 1)
    w, b = m.weight.data.copy(), m.bias.data.copy()
    calls = []
    m.register_load_state_dict_post_hook(lambda mod, keys: calls.append(mod.weight.data.copy()))
    with pytest.raises(KeyError, match=r"missing keys \['bias'\]"):
        m.load_state_dict({"weight": np.full((1, 1), 3.0)})
    assert calls and calls[0][0, 0] == 3.0  # (the hook saw the loaded values, as torch's does)
    np.testing.assert_array_equal(m.weight.data, w)
    np.testing.assert_array_equal(m.bias.data, b)


def test_without_post_hooks_a_strict_load_with_missing_keys_changes_nothing() -> None:
    m = tl.nn.Linear(1, 1)
    w = m.weight.data
    with pytest.raises(KeyError, match="missing keys"):
        m.load_state_dict({"weight": np.full((1, 1), 3.0)})
    assert m.weight.data is w
