"""SGD without momentum updates a group's small parameters as one flat array
(``tl.optim.packed``): the same bits as parameter by parameter, and nobody can tell the
parameters moved."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.optim import packed


def _mlp(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    model = tl.nn.Sequential(tl.nn.Linear(3, 8, rng=rng), tl.nn.ReLU(), tl.nn.Linear(8, 8, rng=rng), tl.nn.Tanh(),
                             tl.nn.Linear(8, 2, rng=rng))
    if dtype != np.float64:
        model = model.to(dtype)
    return model


def _data(seed, dtype=np.float64):
    rng = np.random.default_rng(seed + 100)
    return rng.standard_normal((16, 3)).astype(dtype), rng.standard_normal((16, 2)).astype(dtype)


def _train(model, opt, steps, seed, dtype=np.float64):
    x, y = _data(seed, dtype)
    for _ in range(steps):
        opt.zero_grad()
        tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y)).backward()
        opt.step()


def _packed(p):
    return p.data.base is not None and p.data.base.ndim == 1


def _manual(model, steps, seed, lr, wd=0.0, maximize=False, dtype=np.float64):
    """The same training with p.data -= lr * g written out by hand, per parameter."""
    x, y = _data(seed, dtype)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = None
        tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y)).backward()
        with tl.no_grad():
            for p in model.parameters():
                g = p.grad
                if maximize:
                    g = -g
                if wd:
                    g = g + wd * p.data
                p.data = p.data - np.multiply(g, lr)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("wd,maximize", [(0.0, False), (0.01, False), (0.0, True)])
def test_same_bits_as_per_parameter(dtype, wd, maximize):
    a, b = _mlp(0, dtype), _mlp(0, dtype)
    opt = tl.optim.SGD(a.parameters(), lr=0.05, weight_decay=wd, maximize=maximize)
    _train(a, opt, 7, 0, dtype)
    assert all(_packed(p) for p in a.parameters())  # the flat road was taken
    assert opt._packs  # (one pack for the group)
    _manual(b, 7, 0, 0.05, wd, maximize, dtype)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.data.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_an_array_held_elsewhere_is_not_moved():
    model = _mlp(1)
    held = model[0].weight.data  # a user keeps the array: it must keep seeing the updates
    view = model[2].bias.detach()
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    before = held.copy()
    _train(model, opt, 2, 1)
    assert not _packed(model[0].weight) and model[0].weight.data is held
    assert np.shares_memory(view.data, model[2].bias.data)
    assert not np.array_equal(held, before)
    assert _packed(model[4].weight)  # the others were


def test_replaced_data_is_still_updated_and_packed_again():
    a, b = _mlp(2), _mlp(2)
    opt = tl.optim.SGD(a.parameters(), lr=0.1)
    _train(a, opt, 2, 2)
    new = a[0].bias.data + 1.0
    a[0].bias.data = new  # the pack is broken: that step runs per parameter, then packs again
    del new
    a.load_state_dict({k: v.copy() for k, v in a.state_dict().items()})
    _train(a, opt, 3, 2)
    assert all(_packed(p) for p in a.parameters())
    _manual(b, 2, 2, 0.1)
    b[0].bias.data = b[0].bias.data + 1.0
    _manual(b, 3, 2, 0.1)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_parameter_without_gradient_is_left_alone():
    model = _mlp(3)
    extra = tl.Tensor(np.ones(4), requires_grad=True)  # in the group, never used
    params = list(model.parameters())
    opt = tl.optim.SGD([params[0], extra] + params[1:], lr=0.1)
    ref = _mlp(3)
    for _ in range(3):
        _train(model, opt, 1, 3)
        _manual(ref, 1, 3, 0.1)
    np.testing.assert_array_equal(extra.data, np.ones(4))
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    # the gradient arrives later: it is stepped like the others
    opt.zero_grad()
    (extra * 2.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(extra.data, np.ones(4) - 0.1 * 2.0)


def test_reordered_group_gets_each_its_own_gradient():
    a, b = _mlp(4), _mlp(4)
    opt = tl.optim.SGD(a.parameters(), lr=0.1)
    _train(a, opt, 2, 4)
    opt.param_groups[0]["params"].reverse()  # same members, other order: the pack is not used as it was
    _train(a, opt, 2, 4)
    _manual(b, 4, 4, 0.1)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_subclass_with_its_own_rule_is_not_bypassed():
    class HalfStep(tl.optim.SGD):
        def update(self, p, g, state, group):
            p.data -= 0.5 * group["lr"] * g

    model, ref = _mlp(5), _mlp(5)
    _train(model, HalfStep(model.parameters(), lr=0.2), 3, 5)
    _manual(ref, 3, 5, 0.1)
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)
    assert packed.usable(tl.optim.SGD([tl.Tensor(np.ones(2), requires_grad=True)]))
    assert not packed.usable(HalfStep([tl.Tensor(np.ones(2), requires_grad=True)]))


def test_momentum_and_large_parameters_run_per_parameter():
    model = _mlp(6)
    opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train(model, opt, 2, 6)
    assert not any(_packed(p) for p in model.parameters())
    big = tl.nn.Linear(100, 50)  # 5000 weights: too large to move; its bias alone is not packed either
    opt = tl.optim.SGD(big.parameters(), lr=0.1)
    tl.nn.mse_loss(big(tl.Tensor(np.ones((2, 100)))), tl.Tensor(np.zeros((2, 50)))).backward()
    opt.step()
    assert not _packed(big.weight) and not _packed(big.bias)


def test_graph_from_before_the_step_refuses_backward():
    model = _mlp(7)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    _train(model, opt, 1, 7)  # packed now
    x, y = _data(7)
    loss = tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y))
    opt.zero_grad()
    tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y)).backward()
    opt.step()
    with pytest.raises(RuntimeError, match="in place"):
        loss.backward()


def test_state_and_checkpoint_unchanged_by_packing():
    model = _mlp(8)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    _train(model, opt, 2, 8)
    assert len(opt.state) == len(list(model.parameters()))  # one (empty) entry per stepped parameter
    sd = opt.state_dict()
    assert sd["state"] == {} and sd["param_groups"][0]["params"] == list(range(6))
    weights = {k: v.copy() for k, v in model.state_dict().items()}
    fresh = _mlp(9)
    fresh.load_state_dict(weights)
    for (k, v), (_, w) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(v, w, err_msg=k)


@pytest.mark.parametrize("every_member_has_a_gradient", [True, False])
def test_a_graph_that_read_a_detached_member_refuses_backward_after_the_step(every_member_has_a_gradient):
    model = _mlp(10)
    params = list(model.parameters())
    extra = tl.Tensor(np.ones(3), requires_grad=True)
    opt = tl.optim.SGD(params + [extra], lr=0.1)
    x, y = _data(10)
    (tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y)) + (extra * 1.0).sum()).backward()
    opt.step()  # the first step packs all seven
    assert all(_packed(p) for p in params + [extra])
    for i in range(len(params)):  # each member, not only the last one written
        opt.zero_grad()
        c = tl.Tensor(np.ones(params[i].shape), requires_grad=True)
        cost = (params[i].detach() * c).sum()  # its gradient for c reads the member through detach()
        loss = tl.nn.mse_loss(model(tl.Tensor(x)), tl.Tensor(y))
        if every_member_has_a_gradient:
            loss = loss + (extra * 1.0).sum()  # (else the step runs parameter by parameter)
        loss.backward()
        opt.step()
        with pytest.raises(RuntimeError, match="in place"):
            cost.backward()
