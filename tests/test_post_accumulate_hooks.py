"""``Tensor.register_post_accumulate_grad_hook`` and ``Tensor.backward(inputs=...)``, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _models(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    arrays = [rng.standard_normal(s) for s in shapes]
    mine = tl.nn.Sequential(tl.nn.Linear(3, 5, dtype=tl.float64), tl.nn.Tanh(), tl.nn.Linear(5, 2, dtype=tl.float64))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 5, dtype=torch.float64), torch.nn.Tanh(),
                              torch.nn.Linear(5, 2, dtype=torch.float64))
    with torch.no_grad():
        for p, q, a in zip(mine.parameters(), ref.parameters(), arrays):
            p.data[...] = a
            q.copy_(torch.tensor(a))
    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((4, 2))
    return mine, ref, x, y


def test_hooks_see_each_leafs_accumulated_gradient_as_torch() -> None:
    mine, ref, x, y = _models()
    seen_mine: dict = {}
    seen_ref: dict = {}
    for (name, p), (_, q) in zip(mine.named_parameters(), ref.named_parameters()):
        p.grad = np.ones(p.shape)  # an earlier gradient: the hook sees the sum
        q.grad = torch.ones(q.shape, dtype=torch.float64)
        p.register_post_accumulate_grad_hook(lambda t, name=name: seen_mine.setdefault(name, []).append(t.grad.copy()))
        q.register_post_accumulate_grad_hook(
            lambda t, name=name: seen_ref.setdefault(name, []).append(t.grad.detach().numpy().copy()))
    for _ in range(2):
        tl.nn.functional.mse_loss(mine(tl.Tensor(x)), tl.Tensor(y)).backward()
        torch.nn.functional.mse_loss(ref(torch.tensor(x)), torch.tensor(y)).backward()
    assert set(seen_mine) == set(seen_ref) == {n for n, _ in mine.named_parameters()}
    for name, grads in seen_ref.items():
        assert len(seen_mine[name]) == len(grads) == 2
        for a, b in zip(seen_mine[name], grads):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_an_optimizer_step_inside_the_hook_trains_as_the_usual_loop() -> None:
    mine, ref, x, y = _models(1)
    plain, _, _, _ = _models(1)
    opts = {p: tl.optim.SGD([p], lr=0.1, momentum=0.9) for p in mine.parameters()}
    ref_opts = {q: torch.optim.SGD([q], lr=0.1, momentum=0.9) for q in ref.parameters()}

    def step(p: tl.Tensor) -> None:
        opts[p].step()
        opts[p].zero_grad()

    def ref_step(q: "torch.Tensor") -> None:
        ref_opts[q].step()
        ref_opts[q].zero_grad()

    for p, q in zip(mine.parameters(), ref.parameters()):
        p.register_post_accumulate_grad_hook(step)
        q.register_post_accumulate_grad_hook(ref_step)
    plain_opt = tl.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        tl.nn.functional.mse_loss(mine(tl.Tensor(x)), tl.Tensor(y)).backward()
        torch.nn.functional.mse_loss(ref(torch.tensor(x)), torch.tensor(y)).backward()
        plain_opt.zero_grad()
        tl.nn.functional.mse_loss(plain(tl.Tensor(x)), tl.Tensor(y)).backward()
        plain_opt.step()
    for p, q, r in zip(mine.parameters(), ref.parameters(), plain.parameters()):
        assert p.grad is None
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(p.data, r.data)


def test_which_backward_calls_run_the_hook() -> None:
    calls: list = []
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    w = tl.tensor([3.0, 4.0], requires_grad=True)
    handle = x.register_post_accumulate_grad_hook(lambda t: calls.append(("x", t.grad.copy())))
    w.register_post_accumulate_grad_hook(lambda t: calls.append(("w", t.grad.copy())))
    tl.autograd.grad((x * w).sum(), [x, w])  # no .grad written: no hook, as torch
    assert calls == []
    (x * w).sum().backward(inputs=[x])  # only the inputs' .grad: only their hooks
    assert [c[0] for c in calls] == ["x"]
    np.testing.assert_array_equal(calls[0][1], [3.0, 4.0])
    assert w.grad is None
    calls.clear()
    (x * x).sum().backward(create_graph=True)
    assert [c[0] for c in calls] == ["x"]
    np.testing.assert_array_equal(calls[0][1], [3.0 + 2.0, 4.0 + 4.0])
    calls.clear()
    handle.remove()
    (x * w).sum().backward()
    assert [c[0] for c in calls] == ["w"]


def test_the_hook_sees_the_per_sample_gradients() -> None:
    rng = np.random.default_rng(3)
    lin = tl.nn.Linear(3, 2, dtype=tl.float64)
    got: list = []
    lin.weight.register_post_accumulate_grad_hook(lambda t: got.append((t.grad.copy(), t.grad_sample.copy())))
    x = rng.standard_normal((6, 3))
    tl.nn.functional.mse_loss(lin(tl.Tensor(x, batched=True)), tl.Tensor(np.zeros((6, 2)), batched=True)).backward()
    assert len(got) == 1
    grad, rows = got[0]
    assert rows.shape == (6, 2, 3)
    np.testing.assert_allclose(rows.mean(axis=0), grad, rtol=1e-12, atol=1e-15)


def test_refusals_match_torch() -> None:
    x = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        x.register_post_accumulate_grad_hook(3)
    tx = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (tx * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_a_removed_or_collected_tensor_leaves_no_entry() -> None:
    import gc

    from tinygrad_lite import graph
    gc.collect()  # tensors of earlier tests
    before = len(graph.POST_HOOKS)
    x = tl.tensor([1.0], requires_grad=True)
    with x.register_post_accumulate_grad_hook(lambda t: None):
        assert len(graph.POST_HOOKS) == before + 1
    assert len(graph.POST_HOOKS) == before
    y = tl.tensor([1.0], requires_grad=True)
    y.register_post_accumulate_grad_hook(lambda t: t)  # a hook referring to its tensor does not keep it
    assert len(graph.POST_HOOKS) == before + 1
    del y
    gc.collect()
    assert len(graph.POST_HOOKS) == before


@pytest.mark.parametrize("single", [True, False])
def test_backward_inputs_accumulates_only_those_as_torch(single: bool) -> None:
    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal(3) for _ in range(3))
    ta, tb = tl.Tensor(a, requires_grad=True), tl.Tensor(b, requires_grad=True)
    ra, rb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    for _ in range(2):
        out = (ta * tb).sin()
        rout = (ra * rb).sin()
        out.backward(tl.Tensor(c), inputs=ta if single else [ta])
        rout.backward(torch.tensor(c), inputs=ra if single else [ra])
    np.testing.assert_allclose(ta.grad, ra.grad.numpy(), rtol=1e-12)
    assert tb.grad is None and rb.grad is None
    with pytest.raises(ValueError, match="inputs="):
        (ta * tb).sum().backward(inputs=[ta], per_sample=False)
