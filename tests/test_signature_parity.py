"""Constructor keyword parity with PyTorch: Embedding's ``_weight`` / ``_freeze``."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def test_embedding_weight_keyword_matches_torch_values_and_grads() -> None:
    w = np.random.default_rng(0).standard_normal((5, 3))
    idx = np.array([[0, 2, 2], [4, 1, 0]])
    te = torch.nn.Embedding(5, 3, padding_idx=0, _weight=torch.tensor(w))
    le = tl.nn.Embedding(5, 3, padding_idx=0, _weight=w)
    np.testing.assert_array_equal(le.weight.numpy(), te.weight.detach().numpy())  # padding row kept as given
    to, lo = te(torch.tensor(idx)), le(idx)
    np.testing.assert_allclose(lo.numpy(), to.detach().numpy(), rtol=0, atol=1e-12)
    (to ** 2).sum().backward()
    (lo ** 2).sum().backward()
    np.testing.assert_allclose(le.weight.grad, te.weight.grad.numpy(), rtol=0, atol=1e-12)


def test_embedding_freeze_keyword_matches_torch() -> None:
    w = np.ones((4, 2))
    assert tl.nn.Embedding(4, 2, _weight=w, _freeze=True).weight.requires_grad is False
    assert torch.nn.Embedding(4, 2, _weight=torch.tensor(w), _freeze=True).weight.requires_grad is False
    assert tl.nn.Embedding(4, 2, _freeze=True).weight.requires_grad is False
    assert tl.nn.Embedding(4, 2).weight.requires_grad is True


def test_embedding_weight_wrong_shape_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"Embedding: _weight has shape \(4, 2\).*\(5, 2\)"):
        tl.nn.Embedding(5, 2, _weight=np.ones((4, 2)))


def test_embedding_weight_keyword_per_sample_grads() -> None:
    w = np.random.default_rng(1).standard_normal((6, 3))
    idx = np.array([[0, 1, 1], [5, 2, 0], [3, 3, 4]])
    e = tl.nn.Embedding(6, 3, _weight=w)
    (e(tl.Tensor(idx, batched=True)) ** 2).sum().backward()
    gs = e.weight.grad_sample
    for b in range(3):
        eb = tl.nn.Embedding(6, 3, _weight=w)
        (eb(idx[b]) ** 2).sum().backward()
        np.testing.assert_allclose(gs[b], eb.weight.grad, rtol=0, atol=1e-12)
