"""Embedding.from_pretrained / EmbeddingBag.from_pretrained, against torch."""

import numpy as np
import pytest

import tinygrad_lite as tl

rng = np.random.default_rng(5)
W = rng.random((6, 4))
IDX = np.array([[0, 1, 5], [2, 2, 3]])


def test_frozen_table_gets_no_gradient_and_does_not_move():
    e = tl.nn.Embedding.from_pretrained(tl.tensor(W))
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(tl.tensor(IDX)).data, W[IDX])
    lin = tl.nn.Linear(4, 1, rng=0)
    opt = tl.optim.SGD(list(e.parameters()) + list(lin.parameters()), lr=0.1)
    lin(e(tl.tensor(IDX))).sum().backward()
    opt.step()
    np.testing.assert_array_equal(e.weight.data, W)
    assert e.weight.grad is None and lin.weight.grad is not None


def test_trainable_table_matches_torch_with_padding_and_max_norm():
    torch = pytest.importorskip("torch")
    e = tl.nn.Embedding.from_pretrained(W, freeze=False, padding_idx=2, max_norm=1.0)
    te = torch.nn.Embedding.from_pretrained(torch.tensor(W), freeze=False, padding_idx=2, max_norm=1.0)
    out, tout = e(tl.tensor(IDX)), te(torch.tensor(IDX))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-14)
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    np.testing.assert_allclose(e.weight.grad, te.weight.grad.numpy(), rtol=1e-14)
    assert repr(e) == repr(te)


def test_embedding_bag_from_pretrained_matches_torch():
    torch = pytest.importorskip("torch")
    for mode in ("mean", "sum", "max"):
        b = tl.nn.EmbeddingBag.from_pretrained(W.astype(np.float32), mode=mode, freeze=False)
        tb = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(W, dtype=torch.float32), mode=mode, freeze=False)
        out, tout = b(tl.tensor(IDX)), tb(torch.tensor(IDX))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6)
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(b.weight.grad, tb.weight.grad.numpy(), rtol=1e-6)
    assert not tl.nn.EmbeddingBag.from_pretrained(W).weight.requires_grad


def test_bad_tables_raise_naming_the_function():
    with pytest.raises(ValueError, match=r"Embedding.from_pretrained: embeddings must be 2-D .* shape \(6,\)"):
        tl.nn.Embedding.from_pretrained(np.ones(6))
    with pytest.raises(TypeError, match="EmbeddingBag.from_pretrained: embeddings must be floating point"):
        tl.nn.EmbeddingBag.from_pretrained(np.ones((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="freeze"):
        tl.nn.Embedding.from_pretrained(W, freeze="yes")
    with pytest.raises(NotImplementedError, match="sparse=True"):
        tl.nn.Embedding.from_pretrained(W, sparse=True)


@pytest.mark.parametrize("make", [
    lambda: tl.nn.Embedding.from_pretrained(W),
    lambda: tl.nn.Embedding(6, 4, _weight=W, _freeze=True),
    lambda: tl.nn.Embedding(6, 4, _freeze=True),
    lambda: tl.nn.EmbeddingBag.from_pretrained(W),
], ids=["from_pretrained", "_weight", "_freeze", "bag"])
def test_a_frozen_table_is_still_a_parameter_as_torch(make) -> None:
    # torch keeps a frozen table in parameters() and state_dict(): a torch checkpoint loads,
    # .float() converts it, and the usual loop over parameters() unfreezes it
    torch = pytest.importorskip("torch")
    model = tl.nn.Sequential(make(), tl.nn.Linear(4, 2, rng=0))
    assert list(model.state_dict()) == ["0.weight", "1.weight", "1.bias"]
    assert [p.shape for p in model.parameters()] == [(6, 4), (2, 4), (2,)]
    assert not model[0].weight.requires_grad
    ref = torch.nn.Sequential(torch.nn.Embedding.from_pretrained(torch.tensor(W[::-1].copy())), torch.nn.Linear(4, 2))
    model.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    np.testing.assert_array_equal(model[0].weight.data, W[::-1])
    assert model.float()[0].weight.dtype == np.float32
    for p in model.parameters():
        p.requires_grad_(True)
    model[0](tl.tensor(IDX)).sum().backward()
    assert model[0].weight.grad is not None
