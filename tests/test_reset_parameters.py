"""reset_parameters() on the layers torch gives it to: the same Tensors (an optimizer holding
them keeps working) drawn again from the constructor's law, from the library's generator."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _torch_has(name):
    return hasattr(getattr(torch.nn, name), "reset_parameters")


def test_the_layers_with_reset_parameters_are_torchs():
    names = [n for n in dir(tl.nn) if n[0].isupper() and hasattr(torch.nn, n) and isinstance(getattr(tl.nn, n), type)]
    mine = {n for n in names if hasattr(getattr(tl.nn, n), "reset_parameters")}
    theirs = {n for n in names if _torch_has(n)}
    assert theirs - mine == set()
    assert mine - theirs == set()
    assert hasattr(tl.nn.MultiheadAttention, "_reset_parameters")


@pytest.mark.parametrize("make,bound", [
    (lambda: tl.nn.Linear(50, 40), 1 / np.sqrt(50)),
    (lambda: tl.nn.Conv2d(6, 8, 3, groups=2), 1 / np.sqrt(3 * 9)),
    (lambda: tl.nn.ConvTranspose2d(6, 8, 3, groups=2), 1 / np.sqrt(4 * 9)),
    (lambda: tl.nn.Conv1d(4, 5, 2), 1 / np.sqrt(8)),
    (lambda: tl.nn.Bilinear(9, 4, 3), 1 / 3),
    (lambda: tl.nn.GRU(3, 16, num_layers=2), 0.25),
    (lambda: tl.nn.LSTMCell(3, 25), 0.2),
])
def test_uniform_layers_draw_again_within_the_bound(make, bound):
    m = make()
    params = dict(m.named_parameters())
    before = {n: p.data.copy() for n, p in params.items()}
    opt = tl.optim.SGD(m.parameters(), lr=0.1)
    tl.manual_seed(0)
    m.reset_parameters()
    for n, p in m.named_parameters():
        assert p is params[n] and p.data.dtype == before[n].dtype
        assert not np.array_equal(p.data, before[n])
        assert np.abs(p.data).max() <= bound
    assert max(np.abs(p.data).max() for p in m.parameters()) > 0.9 * bound
    again = {n: p.data.copy() for n, p in m.named_parameters()}
    tl.manual_seed(0)
    m.reset_parameters()
    for n, p in m.named_parameters():
        np.testing.assert_array_equal(p.data, again[n])
    assert opt.param_groups[0]["params"][0] is next(iter(m.parameters()))


def test_embedding_and_bag_keep_the_padding_row_zero():
    for m in (tl.nn.Embedding(300, 20, padding_idx=3), tl.nn.EmbeddingBag(300, 20, padding_idx=3)):
        m.reset_parameters()
        assert np.all(m.weight.data[3] == 0)
        assert abs(m.weight.data.std() - 1.0) < 0.05


def test_norm_layers_go_back_to_one_and_zero_and_fresh_statistics():
    m = tl.nn.BatchNorm1d(3)
    m(tl.Tensor(np.random.default_rng(0).standard_normal((8, 3)) * 5 + 2))
    m.weight.data[:] = 3.0
    m.bias.data[:] = -1.0
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.data, np.ones(3))
    np.testing.assert_array_equal(m.bias.data, np.zeros(3))
    np.testing.assert_array_equal(m.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(m.running_var.data, np.ones(3))
    assert int(m.num_batches_tracked.data) == 0
    for layer in (tl.nn.LayerNorm(4), tl.nn.GroupNorm(2, 4), tl.nn.RMSNorm(4), tl.nn.InstanceNorm1d(4, affine=True)):
        layer.weight.data[:] = 5.0
        layer.reset_parameters()
        np.testing.assert_array_equal(layer.weight.data, np.ones(4))


def test_prelu_attention_and_lazy_layers():
    p = tl.nn.PReLU(3, init=0.1)
    p.weight.data[:] = 2.0
    p.reset_parameters()
    np.testing.assert_allclose(p.weight.data, [0.1] * 3)
    m = tl.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    m.in_proj_bias.data[:] = 1.0
    m._reset_parameters()
    assert np.all(m.in_proj_bias.data == 0)
    assert 0.9 * np.sqrt(6 / 64) < np.abs(m.in_proj_weight.data).max() <= np.sqrt(6 / 64)
    lazy = tl.nn.LazyLinear(3)
    lazy.reset_parameters()  # (nothing yet)
    lazy(tl.ones(2, 5))
    w = lazy.weight.data.copy()
    lazy.reset_parameters()
    assert not np.array_equal(lazy.weight.data, w) and np.abs(lazy.weight.data).max() <= 1 / np.sqrt(5)
