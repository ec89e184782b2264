"""tl.utils.checkpoint: recomputing a segment in the backward gives the gradients (and
per-sample gradients) of the plain run, keeps none of the segment's nodes, and restores the
random state so dropout draws the same masks."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import graph
from tinygrad_lite.utils.checkpoint import checkpoint, checkpoint_sequential

nn = tl.nn
rng = np.random.default_rng(3)


def _model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8, rng=1), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 8, rng=2), nn.Tanh(),
                         nn.Linear(8, 1, rng=3))


def _reference(m, X):
    tl.manual_seed(5)
    (m(X) ** 2).mean().backward()
    out = [(p.grad.copy(), p.grad_sample.copy()) for p in m.parameters()]
    m.zero_grad()
    return out


def test_checkpointed_segment_gives_the_plain_gradients_and_per_sample_gradients():
    m = _model()
    X = tl.Tensor(rng.random((6, 4)), batched=True)
    ref = _reference(m, X)
    tl.manual_seed(5)
    h = checkpoint(lambda x: m[2](m[1](m[0](x))), X, use_reentrant=False)
    (m[5](m[4](m[3](h))) ** 2).mean().backward()
    for (g, gs), p in zip(ref, m.parameters()):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p.grad_sample, gs, rtol=1e-12, atol=1e-15)


def test_checkpoint_sequential_matches_the_plain_run():
    m = _model()
    X = tl.Tensor(rng.random((5, 4)), batched=True)
    ref = _reference(m, X)
    tl.manual_seed(5)
    (checkpoint_sequential(m, 3, X, use_reentrant=True) ** 2).mean().backward()
    for (g, _), p in zip(ref, m.parameters()):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)


def test_the_segment_keeps_no_intermediate_nodes():
    m = _model().eval()
    X = tl.Tensor(rng.random((3, 4)))
    plain = len(graph.toposort(m(X).sum()))
    kept = len(graph.toposort(checkpoint(m, X).sum()))
    # the checkpointed graph: the sum, the segment's node, its 6 parameters (X needs no grad)
    assert kept == 8 < plain


def test_input_closed_over_tensor_and_keyword_tensor_get_gradients():
    lin = nn.Linear(3, 3, rng=4)
    x = tl.tensor(rng.random((2, 3)), requires_grad=True)
    e = tl.tensor(rng.random(3), requires_grad=True)
    y = tl.tensor(rng.random((2, 3)), requires_grad=True)

    def run(ck):
        h = lin(x)  # built before the segment: its history gets the gradient too

        def seg(z, extra=None):
            return (z * h + extra).tanh()

        out = checkpoint(seg, y, extra=e) if ck else seg(y, extra=e)
        (out ** 2).sum().backward()
        grads = [t.grad.copy() for t in (x, e, y, lin.weight, lin.bias)]
        for t in (x, e, y, lin.weight, lin.bias):
            t.grad = None
        return grads

    for a, b in zip(run(True), run(False)):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_second_order_through_a_checkpoint():
    x = tl.tensor(rng.random(4), requires_grad=True)
    (g,) = tl.autograd.grad(checkpoint(lambda z: (z.sin() * z).sum(), x), [x], create_graph=True)
    (h,) = tl.autograd.grad(g.sum(), [x])
    xd = x.data
    np.testing.assert_allclose(g.data, np.cos(xd) * xd + np.sin(xd), rtol=1e-14)
    np.testing.assert_allclose(h.data, -np.sin(xd) * xd + 2 * np.cos(xd), rtol=1e-13)


def test_matches_torch_checkpoint():
    torch = pytest.importorskip("torch")
    import torch.utils.checkpoint as tck

    W1, W2 = rng.random((5, 4)), rng.random((2, 5))
    X = rng.random((3, 4))
    w1, w2 = tl.tensor(W1, requires_grad=True), tl.tensor(W2, requires_grad=True)
    out = checkpoint(lambda x: (x @ w1.T).relu() @ w2.T, tl.tensor(X))
    (out.exp()).sum().backward()
    t1, t2 = torch.tensor(W1, requires_grad=True), torch.tensor(W2, requires_grad=True)
    tout = tck.checkpoint(lambda x: (x @ t1.T).relu() @ t2.T, torch.tensor(X), use_reentrant=False)
    tout.exp().sum().backward()
    np.testing.assert_allclose(w1.grad, t1.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w2.grad, t2.grad.numpy(), rtol=1e-12)


def test_nondeterministic_segment_and_bad_arguments_raise():
    calls = []

    def changing(z):
        calls.append(1)
        return z[: len(calls) + 1] * 2

    x = tl.tensor(rng.random(5), requires_grad=True)
    out = checkpoint(changing, x)
    with pytest.raises(RuntimeError, match="checkpoint: recomputing the segment"):
        out.sum().backward()
    assert x.grad is None
    with pytest.raises(TypeError, match="checkpoint: function must be callable"):
        checkpoint(3, x)
    with pytest.raises(ValueError, match="segments must be an int >= 1"):
        checkpoint_sequential([lambda z: z], 0, x)


def test_under_no_grad_it_is_a_plain_call():
    x = tl.tensor(rng.random(3), requires_grad=True)
    with tl.no_grad():
        out = checkpoint(lambda z: z * 2, x)
    assert not out.requires_grad
    np.testing.assert_allclose(out.data, 2 * x.data)
