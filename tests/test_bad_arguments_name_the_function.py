"""A wrong argument to a public function raises an error that names the function (and the
argument where there is one), never Python's or numpy's bare message; the valid spellings keep
working."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

A = tl.ones(2, 3)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: A + "x", TypeError, "^add: cannot use an object of type str"),
    (lambda: tl.sub(A, None), TypeError, "^sub: cannot use an object of type NoneType"),
    (lambda: "x" * A, TypeError, "^mul: "),
    (lambda: A @ "x", TypeError, "^matmul: "),
    (lambda: "x" @ A, TypeError, "^matmul: "),
    (lambda: tl.split_with_sizes_copy(A, None), TypeError, "^split_with_sizes_copy: "),
    (lambda: tl.expand_copy(A, None), TypeError, "^expand_copy: "),
    (lambda: tl.permute_copy(A, None), TypeError, "^permute_copy: "),
    (lambda: tl.frobenius_norm(A, None), TypeError, "^frobenius_norm: dim"),
    (lambda: tl.nan_to_num(A, "x"), TypeError, "^nan_to_num: nan"),
    (lambda: tl.nan_to_num(A, 0.0, "x"), TypeError, "^nan_to_num: posinf"),
    (lambda: tl.full_like(A, "x"), TypeError, "^full_like: fill_value"),
    (lambda: tl.full_like(A, tl.ones(4, 5)), TypeError, "^full_like: fill_value"),
    (lambda: tl.normal(A, "x"), TypeError, "^normal: std"),
    (lambda: tl.normal("x", A), TypeError, "^normal: mean"),
    (lambda: tl.nn.functional.prelu(A, "x"), TypeError, "^prelu: weight"),
    (lambda: tl.randint_like(A, float("nan")), TypeError, "^randint_like: high"),
    (lambda: tl.randint_like(A, float("inf")), TypeError, "^randint_like: high"),
    (lambda: tl.unique_consecutive(A, tl.ones(2)), TypeError, "^unique_consecutive: return_inverse"),
    (lambda: tl.tril_indices(A, 3), TypeError, "^tril_indices: row"),
    (lambda: tl.triu_indices(3, 2.5), TypeError, "^triu_indices: col"),
    (lambda: tl.tril_indices(3, 3, "1"), TypeError, "^tril_indices: offset"),
    (lambda: tl.ones(2).bernoulli_("x"), TypeError, "^bernoulli_: p"),
    (lambda: tl.ones(2).bernoulli("x"), TypeError, "^bernoulli_: p"),
])
def test_a_bad_argument_is_refused_naming_the_function(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_the_valid_spellings_still_work():
    np.testing.assert_array_equal(tl.full_like(A, 2).data, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(tl.full_like(A, tl.tensor(3.0)).data, np.full((2, 3), 3.0))
    np.testing.assert_array_equal(tl.full_like(A, np.float32(1.5)).data, np.full((2, 3), 1.5))
    assert tl.full_like(tl.ones(2, dtype=tl.bool), True).data.tolist() == [True, True]
    np.testing.assert_array_equal(tl.nan_to_num(tl.tensor([np.nan, np.inf, -np.inf, 1.0]), 1.0, 2, -2.0).data,
                                  [1.0, 2.0, -2.0, 1.0])
    np.testing.assert_array_equal(tl.nan_to_num(tl.tensor([np.nan]), tl.tensor(4.0)).data, [4.0])
    assert tl.normal(tl.zeros(2), tl.ones(2)).shape == (2,)
    assert tl.normal(0.0, 1.0, (3,)).shape == (3,)
    assert tl.normal(tl.zeros(2), 2).shape == (2,)
    np.testing.assert_array_equal(tl.tril_indices(3, 3).data, np.stack(np.tril_indices(3, 0, 3)))
    np.testing.assert_array_equal(tl.triu_indices(np.int64(3), 4, -1).data, np.stack(np.triu_indices(3, -1, 4)))
    x = tl.tensor([[-1.0, 2.0, -3.0]])
    np.testing.assert_array_equal(tl.nn.functional.prelu(x, tl.tensor([0.5])).data, [[-0.5, 2.0, -1.5]])
    np.testing.assert_array_equal(tl.nn.functional.prelu(x, [0.5]).data, [[-0.5, 2.0, -1.5]])
    assert tl.expand_copy(tl.ones(1, 3), (2, 3)).shape == (2, 3)
    assert tl.frobenius_norm(A, (0, 1)).item() == pytest.approx(6 ** 0.5)
    assert tl.frobenius_norm(A, 1).shape == (2,)
    assert set(tl.ones(3).bernoulli_(0.5).data.tolist()) <= {0.0, 1.0}


def test_every_public_attribute_of_a_tensor_can_be_read():
    """``last_batch`` is None until a backward over a batched input sets it (it used to be an
    unset slot: reading it raised AttributeError, and so did walking dir(tensor))."""
    t = tl.ones(2, 3, requires_grad=True)
    assert t.last_batch is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the deprecated ones say so)
        for name in dir(t):
            if not name.startswith("_") and name != "imag":  # (imag raises for a real tensor, as torch)
                getattr(t, name)
    w = tl.ones(3, requires_grad=True)
    (tl.Tensor(np.ones((4, 3)), batched=True) * w).sum(1).mean().backward()
    assert w.last_batch == (4, "mean")


def test_unique_consecutive_with_an_inverse():
    out, inverse = tl.unique_consecutive(tl.tensor([1, 1, 2]), True)
    assert out.data.tolist() == [1, 2] and inverse.data.tolist() == [0, 0, 1]


@pytest.mark.parametrize("make, args, name", [
    (lambda: tl.nn.Sequential(tl.nn.Linear(4, 3), tl.nn.ReLU()), ("x",), "Linear"),
    (lambda: tl.nn.LSTM(4, 3), (None,), "LSTM"),
    (lambda: tl.nn.MSELoss(), (tl.ones(2), "x"), "MSELoss"),
    (lambda: tl.nn.Conv2d(1, 2, 3), (None,), "Conv2d"),
    (lambda: tl.nn.Sequential(tl.nn.Sequential(tl.nn.Flatten())), ("x",), "Flatten"),
])
def test_a_layer_given_no_tensor_names_itself_once(make, args, name):
    with pytest.raises(TypeError) as info:
        make()(*args)
    assert str(info.value).startswith(f"{name}: ") and str(info.value).count(":") == 2


def test_optimizers_take_named_parameters_as_torch():
    torch = pytest.importorskip("torch")
    m, tm = tl.nn.Linear(3, 2), torch.nn.Linear(3, 2).double()
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        ours = getattr(tl.optim, name)(m.named_parameters(), lr=0.1)
        theirs = getattr(torch.optim, name)(tm.named_parameters(), lr=0.1)
        assert ours.param_groups[0]["param_names"] == theirs.param_groups[0]["param_names"] == ["weight", "bias"]
        assert ours.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
        assert ours.param_groups[0]["params"] == [m.weight, m.bias]
        with pytest.raises(ValueError, match="with names"):
            ours.add_param_group({"params": [tl.ones(2, requires_grad=True)]})
    assert tl.optim.SGD(m.parameters()).defaults["lr"] == torch.optim.SGD(tm.parameters()).defaults["lr"] == 1e-3
    x = np.random.default_rng(0).standard_normal((4, 3))
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(m.weight.data))
        tm.bias.copy_(torch.tensor(m.bias.data))
    ours, theirs = tl.optim.Adam(m.named_parameters(), lr=0.01), torch.optim.Adam(tm.named_parameters(), lr=0.01)
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        (m(tl.Tensor(x)) ** 2).sum().backward()
        (tm(torch.tensor(x)) ** 2).sum().backward()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(m.weight.data, tm.weight.detach().numpy(), rtol=1e-12, atol=1e-14)
