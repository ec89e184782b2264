"""Recurrent layers: a tuple or list of Tensors where one Tensor belongs is refused (it was
stacked into a constant, its gradients lost), and the attributes, warnings and PackedSequence
conversions torch code reads."""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn.utils.rnn import pack_padded_sequence

torch = pytest.importorskip("torch")


def test_tuple_of_states_where_one_tensor_belongs_is_refused():
    g = tl.nn.GRU(3, 4, bidirectional=True)
    h = tl.Tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)
    with pytest.raises(TypeError, match=r"GRU\(3, 4\): h_0 must be a Tensor, got a tuple of Tensors"):
        g(tl.Tensor(np.ones((5, 2, 3))), (h, h))


def test_list_of_step_tensors_as_input_is_refused():
    with pytest.raises(TypeError, match="input must be a Tensor, got a list of Tensors"):
        tl.nn.RNN(3, 4)([tl.ones(2, 3, requires_grad=True)] * 5)
    with pytest.raises(TypeError, match="input must be a Tensor"):
        tl.nn.GRUCell(3, 4)([tl.ones(3)])
    with pytest.raises(TypeError, match="h must be a Tensor"):
        tl.nn.LSTMCell(3, 4)(tl.ones(2, 3), ([tl.zeros(4)] * 2, tl.zeros(2, 4)))


def test_plain_arrays_and_nested_numbers_still_work():
    out, h = tl.nn.GRU(3, 4)(np.ones((5, 2, 3)))
    assert out.shape == (5, 2, 4) and h.shape == (1, 2, 4)
    assert tl.nn.RNNCell(2, 3)([[1.0, 2.0]]).shape == (1, 3)


def test_lstm_hx_of_three_values_says_how_many():
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\), got 3 values"):
        tl.nn.LSTM(3, 4)(tl.ones(5, 2, 3), (tl.zeros(1, 2, 4),) * 3)


@pytest.mark.parametrize("layers,warns", [(1, True), (2, False)])
def test_dropout_with_one_layer_warns_as_torch(layers, warns):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        tl.nn.LSTM(3, 4, num_layers=layers, dropout=0.5)
    with warnings.catch_warnings(record=True) as want:
        warnings.simplefilter("always")
        torch.nn.LSTM(3, 4, num_layers=layers, dropout=0.5)
    assert bool(got) == bool(want) == warns
    if warns:
        assert "dropout" in str(got[0].message) and "num_layers=1" in str(got[0].message)


@pytest.mark.parametrize("kw", [dict(), dict(bias=False), dict(bidirectional=True, num_layers=2),
                                dict(proj_size=2, num_layers=2, bidirectional=True)])
def test_all_weights_in_torchs_order(kw):
    cls = "LSTM" if "proj_size" in kw else "GRU"
    m, tm = getattr(tl.nn, cls)(3, 4, **kw), getattr(torch.nn, cls)(3, 4, **kw)
    named = {id(p): n for n, p in m.named_parameters()}
    tnamed = {id(p): n for n, p in tm.named_parameters()}
    assert [[named[id(p)] for p in layer] for layer in m.all_weights] == \
        [[tnamed[id(p)] for p in layer] for layer in tm.all_weights]


def test_nonlinearity_attribute():
    assert tl.nn.RNN(3, 4, nonlinearity="relu").nonlinearity == torch.nn.RNN(3, 4, nonlinearity="relu").nonlinearity
    assert tl.nn.RNNCell(3, 4).nonlinearity == torch.nn.RNNCell(3, 4).nonlinearity == "tanh"


def test_packed_sequence_conversions_and_float_lengths():
    x = np.random.default_rng(1).standard_normal((3, 2, 1))
    ps = pack_padded_sequence(tl.Tensor(x), [3.0, 2.0])
    tps = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [3.0, 2.0])
    np.testing.assert_array_equal(ps.batch_sizes.data, tps.batch_sizes.numpy())
    for name in ("long", "int", "half", "short", "char", "byte", "float", "double"):
        assert str(getattr(ps, name)().data.dtype) == str(getattr(tps, name)().data.dtype)[6:]
