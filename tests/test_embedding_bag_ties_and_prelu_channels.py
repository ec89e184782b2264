"""EmbeddingBag's max sends a tie's gradient to the first maximal row (it split it), a batched
1-D input with offsets is refused (its axis 0 holds bag entries, not samples: the per-sample
gradients were silently dropped), and PReLU reads a 1-D input as one channel, as torch."""

import numpy as np
import pytest

import tinygrad_lite as tl

F = tl.nn.functional
torch = pytest.importorskip("torch")


@pytest.mark.parametrize("W", [np.zeros((5, 2)), np.array([[0.0, 1], [2, 2], [1, 2], [2, 0], [2, 2]])])
def test_max_bag_gradient_goes_to_the_first_maximal_row(W):
    idx = np.array([[1, 3, 4], [4, 2, 1]])
    w, tw = tl.Tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    out = F.embedding_bag(idx, w, mode="max")
    tout = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, mode="max")
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    (out * tl.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    (tout * torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())


def test_max_bag_per_sample_rows_as_a_torch_loop():
    rng = np.random.default_rng(0)
    W, idx = np.round(rng.standard_normal((7, 3))), rng.integers(0, 7, (4, 3))
    m = tl.nn.EmbeddingBag(7, 3, mode="max")
    m.weight.data[:] = W
    (m(tl.Tensor(idx, batched=True)) ** 2).sum(1).mean().backward()
    tm = torch.nn.EmbeddingBag(7, 3, mode="max").double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(W))
    want = []
    for b in range(4):
        tm.zero_grad()
        (tm(torch.tensor(idx[b:b + 1])) ** 2).sum().backward()
        want.append(tm.weight.grad.numpy().copy())
    np.testing.assert_allclose(m.weight.grad_sample, np.stack(want), rtol=1e-12)


def test_batched_one_d_bag_entries_are_refused():
    with pytest.raises(ValueError, match="batched input must be 2-D"):
        tl.nn.EmbeddingBag(7, 3)(tl.Tensor(np.arange(6) % 7, batched=True), np.array([0, 2, 4]))
    assert tl.nn.EmbeddingBag(7, 3)(tl.Tensor(np.arange(6) % 7), np.array([0, 2, 4])).shape == (3, 3)


def test_prelu_reads_a_one_d_input_as_one_channel():
    with pytest.raises(ValueError, match="1 channels"):
        tl.nn.PReLU(4)(tl.Tensor(-np.ones(4), batched=True))
    with pytest.raises(RuntimeError):
        torch.nn.PReLU(4)(-torch.ones(4))
    np.testing.assert_allclose(tl.nn.PReLU(1)(tl.tensor([-1.0, 2.0])).data, [-0.25, 2.0])
    np.testing.assert_allclose(F.prelu(tl.tensor([-1.0, 2.0]), tl.tensor(0.3)).data,
                               torch.nn.functional.prelu(torch.tensor([-1.0, 2.0]), torch.tensor(0.3)).numpy(),
                               rtol=1e-7)
