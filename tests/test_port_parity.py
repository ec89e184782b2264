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
    y, ty = w * 2, tw * 2                 # a value inside a graph: recorded, as torch records it
    y[1] = 0.0
    ty[1] = 0.0
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())
    w.grad = None
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


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_loads_torch_weights_and_gives_torch_outputs_and_gradients(batch_first: bool,
                                                                              norm_first: bool) -> None:
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16, dropout=0.0,
              batch_first=batch_first, norm_first=norm_first)
    tm = torch.nn.Transformer(**kw, dtype=torch.float64)
    m = tl.nn.Transformer(**kw, rng=0)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(m.state_dict()) == list(sd)
    m.load_state_dict(sd)
    rng = np.random.default_rng(3)
    S, T, N = 5, 4, 3
    src = rng.normal(size=(N, S, 8) if batch_first else (S, N, 8))
    tgt = rng.normal(size=(N, T, 8) if batch_first else (T, N, 8))
    kpm = np.zeros((N, S), bool)
    kpm[1, 3:] = True
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    mask = tl.nn.Transformer.generate_square_subsequent_mask(T)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    ts, tt = torch.tensor(src, requires_grad=True), torch.tensor(tgt)
    want = tm(ts, tt, tgt_mask=tmask, src_key_padding_mask=torch.tensor(kpm),
              memory_key_padding_mask=torch.tensor(kpm))
    xs = tl.tensor(src, requires_grad=True)
    got = m(xs, tl.tensor(tgt), tgt_mask=mask, src_key_padding_mask=tl.tensor(kpm),
            memory_key_padding_mask=tl.tensor(kpm))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    (want ** 2).sum().backward()
    (got ** 2).sum().backward()
    np.testing.assert_allclose(xs.grad, ts.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, tm.get_parameter(name).grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_transformer_draws_its_weight_matrices_from_xavier_uniform_as_torch() -> None:
    # torch's Transformer redraws every parameter with more than one dimension from Xavier's
    # uniform law: linear1.weight (32, 8) spreads to sqrt(6 / 40), beyond Linear's 1 / sqrt(8)
    m = tl.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32, rng=0)
    tm = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32)
    for name, p in m.named_parameters():
        if p.ndim > 1:
            bound = np.sqrt(6.0 / sum(p.shape))
            tp = tm.get_parameter(name).detach().numpy()
            assert np.abs(p.numpy()).max() <= bound and np.abs(tp).max() <= bound
            assert np.abs(p.numpy()).max() > 0.8 * bound and np.abs(tp).max() > 0.8 * bound


def _pair(a: np.ndarray) -> tuple:
    return tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("name,args,kwargs", [
    ("add", (2.0,), {"alpha": 3}), ("sub", ("other",), {"alpha": 0.5}), ("mul", ("other",), {}), ("pow", (3,), {}),
    ("norm", (), {"dim": 1}), ("cumsum", (), {"dim": 1}), ("logsumexp", (1,), {}), ("var", (0,), {"keepdim": True}),
    ("std", (), {"dim": 1, "correction": 0}), ("amax", ((0, 1),), {}), ("chunk", (2, 1), {}), ("split", (1,), {}),
    ("unbind", (1,), {}), ("gather", (1, "index"), {}), ("flip", ((0, 1),), {}), ("roll", (1, 0), {}),
    ("clone", (), {}), ("t", (), {}), ("masked_fill", ("mask", -1.0), {}),
    ("median", (1,), {}), ("nanmedian", (), {}), ("quantile", (0.3,), {"dim": 1}), ("nansum", (), {"dim": 0}),
    ("kthvalue", (2, 1), {}), ("aminmax", (), {"dim": 0}), ("logaddexp", ("other",), {}), ("fmax", ("other",), {}),
    ("lgamma", (), {}), ("cov", (), {}), ("var_mean", (1,), {}), ("std_mean", (), {"dim": 0, "correction": 0}),
    ("scatter_add", (1, "index", "src"), {}), ("scatter_reduce", (1, "index", "src"), {"reduce": "amax"}),
    ("take_along_dim", ("index", 1), {}), ("tile", ((2, 1),), {}), ("rot90", (), {}), ("ravel", (), {}),
    ("tensor_split", (3, 1), {}), ("select", (1, 2), {}), ("broadcast_to", ((2, 3, 4),), {}),
    ("diagonal_scatter", ("diag",), {}), ("slice_scatter", ("src", 1, 3), {}), ("narrow_copy", (1, 1, 2), {}),
])
def test_torch_functions_that_call_the_method_of_their_name(name: str, args: tuple, kwargs: dict) -> None:
    # torch.add(x, y, alpha=2), torch.norm(x, dim=1), torch.chunk(x, 2, 1), ... (and x.add(y, alpha=2))
    rng = np.random.default_rng(4)
    a, other = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    extra = {"other": (tl.tensor(other), torch.tensor(other)), "mask": (tl.tensor(a > 0), torch.tensor(a > 0)),
             "index": (tl.tensor([[0], [3], [1]]), torch.tensor([[0], [3], [1]])),
             "src": (tl.tensor(other[:, :1]), torch.tensor(other[:, :1])),
             "diag": (tl.tensor(other[0, :3]), torch.tensor(other[0, :3]))}
    x, tx = _pair(a)
    got = getattr(tl, name)(x, *[extra[v][0] if isinstance(v, str) else v for v in args], **kwargs)
    want = getattr(torch, name)(tx, *[extra[v][1] if isinstance(v, str) else v for v in args], **kwargs)
    got, want = (list(got), list(want)) if isinstance(want, (tuple, list)) else ([got], [want])
    g = [rng.normal(size=w.shape) for w in want]
    for r, w in zip(got, want):
        np.testing.assert_allclose(r.numpy(), w.detach().numpy(), rtol=1e-13, atol=1e-14)
    sum((r * tl.tensor(gi)).sum() for r, gi in zip(got, g)).backward()
    sum((w * torch.tensor(gi)).sum() for w, gi in zip(want, g)).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_in_place_masked_fill_add_with_alpha_and_type_as_as_torch() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    x, tx = tl.tensor(a), torch.tensor(a)
    x.masked_fill_(x > 0.5, 0.0)
    tx.masked_fill_(tx > 0.5, 0.0)
    x.add_(tl.tensor(b), alpha=-2.0)
    tx.add_(torch.tensor(b), alpha=-2.0)
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.sub(tl.tensor(b), alpha=3).numpy(), tx.sub(torch.tensor(b), alpha=3).numpy())
    y = x.type_as(tl.ones(1, dtype=tl.float32))
    assert y.dtype == np.float32 and tx.type_as(torch.ones(1)).dtype == torch.float32
    w = tl.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_"):
        w.masked_fill_(w > 0, 0.0)
    with pytest.raises(ValueError, match="masked_fill"):
        x.masked_fill_(tl.ones(5) > 0, 0.0)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_pads_and_passes_gradients_as_torch(batch_first: bool, side: str) -> None:
    from tinygrad_lite.nn.utils.rnn import pad_sequence
    rng = np.random.default_rng(6)
    arrays = [rng.normal(size=(n, 2)) for n in (3, 5, 1)]
    xs, ts = zip(*(_pair(v) for v in arrays))
    got = pad_sequence(list(xs), batch_first=batch_first, padding_value=-1.0, padding_side=side)
    want = torch.nn.utils.rnn.pad_sequence(list(ts), batch_first=batch_first, padding_value=-1.0,
                                           padding_side=side)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    g = rng.normal(size=want.shape)
    (got * tl.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad, t.grad.numpy())
    ids = [np.array([4, 1, 2]), np.array([3])]       # token ids: the long dtype stays
    padded = tl.nn.utils.rnn.pad_sequence([tl.tensor(i) for i in ids], batch_first=True)
    tpadded = torch.nn.utils.rnn.pad_sequence([torch.tensor(i) for i in ids], batch_first=True)
    np.testing.assert_array_equal(padded.numpy(), tpadded.numpy())
    assert padded.dtype == np.int64
    with pytest.raises(ValueError, match=r"pad_sequence: sequence 1 has shape \(2, 3\)"):
        pad_sequence([tl.ones(2, 2), tl.ones(2, 3)])


def test_default_dtype_spellings() -> None:
    # torch.set_default_dtype(torch.float64) opens many exact-maths scripts: float64 is the
    # default here already; another default float cannot be set (the library's rule)
    tl.set_default_dtype(tl.float64)
    assert tl.get_default_dtype() == tl.float64 == np.float64
    assert tl.zeros(2).dtype == tl.get_default_dtype()
    with pytest.raises(ValueError, match="set_default_dtype.*float64"):
        tl.set_default_dtype(tl.float32)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError, match="set_default_dtype"):
        tl.set_default_dtype(tl.int64)
    assert tl.get_default_dtype() == np.float64


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("name,args", [
    ("Linear", (2, 3)), ("Conv2d", (1, 2, 3)), ("ConvTranspose1d", (1, 2, 3)), ("Embedding", (4, 2)),
    ("LayerNorm", (3,)), ("BatchNorm1d", (3,)), ("GroupNorm", (1, 2)), ("PReLU", ()), ("LSTM", (2, 3)),
    ("GRUCell", (2, 3)), ("MultiheadAttention", (4, 2)), ("TransformerEncoderLayer", (4, 2)),
    ("Transformer", (4, 2, 1, 1, 8)),
])
def test_layers_take_torch_device_keyword(name: str, args: tuple) -> None:
    # factory_kwargs = {"device": device, "dtype": dtype}; nn.Linear(..., **factory_kwargs)
    getattr(torch.nn, name)(*args, device="cpu", dtype=torch.float64)
    m = getattr(tl.nn, name)(*args, device="cpu", dtype=tl.float64)
    getattr(tl.nn, name)(*args, device=torch.device("cpu"))
    assert all(p.dtype == np.float64 for p in m.parameters())
    with pytest.raises(RuntimeError, match=f"{name}: device 'cuda'"):
        getattr(tl.nn, name)(*args, device="cuda")


def test_every_layer_with_a_dtype_keyword_takes_device() -> None:
    """Every public layer taking ``dtype=`` takes ``device=`` too, and is among the layers whose
    keywords tests/test_ctor_kwargs.py checks by building them."""
    import inspect

    from test_ctor_kwargs import IDS

    with_dtype = {name for name in dir(tl.nn) if isinstance(getattr(tl.nn, name), type)
                  and issubclass(getattr(tl.nn, name), tl.nn.Module)
                  and "dtype" in inspect.signature(getattr(tl.nn, name).__init__).parameters}
    assert with_dtype
    for name in with_dtype:
        assert "device" in inspect.signature(getattr(tl.nn, name).__init__).parameters, name
    assert with_dtype <= set(IDS)
