"""Two costs over one batch add their per-sample rows, also when the batch reaches the model
through a value made from it again at each forward (``x / 255``, a recurrent layer's zero
state, a slice of a given initial state, one-hot labels); another batch still appends."""

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional
RNG = np.random.default_rng(0)


def _rows_of_one_cost(model, cost, param):
    model.zero_grad()
    cost().backward()
    return getattr(model, param).grad_sample.copy()


@pytest.mark.parametrize("prep", [lambda x: x / 255.0, lambda x: (x - 1.0) * 2.0, lambda x: x.float().double()])
def test_preprocessed_input_twice_adds(prep):
    xs = tl.Tensor(RNG.standard_normal((4, 3)), batched=True)
    y = RNG.standard_normal((4, 2))
    lin = tl.nn.Linear(3, 2, rng=0)

    def cost():
        return F.mse_loss(lin(prep(xs)), y)

    one = _rows_of_one_cost(lin, cost, "weight")
    lin.zero_grad()
    cost().backward()
    cost().backward()
    assert lin.weight.grad_sample.shape == (4, 2, 3)
    np.testing.assert_allclose(lin.weight.grad_sample, 2 * one, rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad, lin.weight.grad_sample.mean(0), rtol=1e-12)


def test_another_batch_of_equal_values_still_appends():
    X = RNG.standard_normal((4, 3))
    lin = tl.nn.Linear(3, 2, rng=0)
    lin.zero_grad()
    for _ in range(2):
        F.mse_loss(lin(tl.Tensor(X, batched=True) / 255.0), np.zeros((4, 2))).backward()
    assert lin.weight.grad_sample.shape == (8, 2, 3)


@pytest.mark.parametrize("cls", [tl.nn.RNN, tl.nn.GRU, tl.nn.LSTM])
def test_recurrent_layer_twice_over_one_batch_adds(cls):
    m = cls(3, 4, batch_first=True)
    xs = tl.Tensor(RNG.standard_normal((3, 5, 3)), batched=True)

    def cost():
        out, _ = m(xs)
        return (out ** 2).sum(axis=2).sum(axis=1).mean()

    one = _rows_of_one_cost(m, cost, "weight_hh_l0")
    m.zero_grad()
    cost().backward()
    cost().backward()
    gs = m.weight_hh_l0.grad_sample
    assert gs.shape == (3,) + m.weight_hh_l0.shape
    np.testing.assert_allclose(gs, 2 * one, rtol=1e-12)


def test_recurrent_layer_with_one_batched_initial_state_twice_adds():
    m = tl.nn.GRU(3, 4, batch_first=True, num_layers=2)
    xs = tl.Tensor(RNG.standard_normal((3, 5, 3)), batched=True)
    h0 = tl.Tensor(RNG.standard_normal((3, 2, 4)), batched=True)
    m.zero_grad()
    for _ in range(2):
        out, _ = m(xs, h0)
        out.sum(axis=2).sum(axis=1).mean().backward()
    assert m.weight_ih_l1.grad_sample.shape == (3,) + m.weight_ih_l1.shape


@pytest.mark.parametrize("cls", [tl.nn.GRUCell, tl.nn.LSTMCell, tl.nn.RNNCell])
def test_cell_twice_over_one_batch_adds(cls):
    cell = cls(3, 4)
    xs = tl.Tensor(RNG.standard_normal((5, 3)), batched=True)
    cell.zero_grad()
    for _ in range(2):
        out = cell(xs)
        h = out[0] if isinstance(out, tuple) else out
        h.sum(axis=1).mean().backward()
    assert cell.weight_ih.grad_sample.shape == (5,) + cell.weight_ih.shape


def test_one_hot_labels_made_twice_from_one_batch_add():
    labels = tl.Tensor(np.array([0, 2, 1, 2]), batched=True)
    lin = tl.nn.Linear(3, 3, rng=0)
    xs = tl.Tensor(RNG.standard_normal((4, 3)), batched=True)
    lin.zero_grad()
    for _ in range(2):
        onehot = F.one_hot(labels, 3).double()
        (lin(xs) * onehot).sum(axis=1).mean().backward()
    assert lin.weight.grad_sample.shape == (4, 3, 3)
