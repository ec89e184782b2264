"""Optimizer state a custom optimizer keeps, learning rates a scheduler produces, and
Adagrad's starting accumulator: each as torch has it."""

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


class Precond(tl.optim.Optimizer):
    """A custom optimizer written as the contract says: step() only, buffers in self.state[p]."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                g = p.grad.reshape(-1)
                if not st:
                    st["precond"] = np.eye(g.size)
                    st["norms"] = []
                    st["meta"] = {"seen": 0, "tag": "x"}
                st["precond"] += np.outer(g, g)
                st["norms"].append(float(np.linalg.norm(g)))
                st["meta"]["seen"] += 1
                p.data -= group["lr"] * np.linalg.solve(st["precond"], g).reshape(p.data.shape)


def _run(opt, w, grads):
    for g in grads:
        w.grad = g.copy()
        opt.step()


def test_a_custom_optimizer_resumes_from_its_own_state_dict(tmp_path):
    grads = [np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0]), np.array([0.3, -0.2, 1.0])]
    w = tl.tensor(np.ones(3), requires_grad=True)
    opt = Precond([w])
    _run(opt, w, grads)  # the uninterrupted run
    w2 = tl.tensor(np.ones(3), requires_grad=True)
    opt2 = Precond([w2])
    _run(opt2, w2, grads[:2])
    tl.save({"w": w2.data, "opt": opt2.state_dict()}, tmp_path / "ck.npz")
    ck = tl.load(tmp_path / "ck.npz")
    w3 = tl.tensor(ck["w"], requires_grad=True)
    opt3 = Precond([w3])
    opt3.load_state_dict(ck["opt"])
    assert opt3.state[w3]["precond"].shape == (3, 3)
    assert opt3.state[w3]["meta"] == {"seen": 2, "tag": "x"}
    _run(opt3, w3, grads[2:])
    np.testing.assert_array_equal(w3.data, w.data)
    assert opt3.state[w3]["norms"] == opt.state[w]["norms"]


def test_a_custom_buffer_with_an_object_array_is_refused_and_nothing_changes():
    w = tl.tensor(np.ones(3), requires_grad=True)
    opt = Precond([w])
    w.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    bad = {"state": {0: dict(sd["state"][0], norms=[np.array([object()], dtype=object)])},
           "param_groups": sd["param_groups"]}
    before = opt.state[w]["precond"].copy()
    with pytest.raises(ValueError, match="'norms'.*non-numeric dtype object"):
        opt.load_state_dict(bad)
    np.testing.assert_array_equal(opt.state[w]["precond"], before)


def test_a_subclass_of_adam_loads_the_buffer_it_adds_and_adam_still_refuses_unknown_ones():
    class TrackedAdam(tl.optim.Adam):
        def step(self, closure=None):
            super().step(closure)
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["trace"] = self.state[p].get("trace", 0.0) + float(np.abs(p.grad).sum())

    w = tl.tensor(np.ones(2), requires_grad=True)
    opt = TrackedAdam([w], lr=0.1)
    w.grad = np.array([1.0, -2.0])
    opt.step()
    w2 = tl.tensor(w.data.copy(), requires_grad=True)
    opt2 = TrackedAdam([w2], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[w2]["trace"] == 3.0
    plain = tl.optim.Adam([tl.tensor(w.data.copy(), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="unknown buffer 'trace'"):
        plain.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("total_iters", [5, 7, 11, 40])
def test_linear_lr_decaying_to_zero_trains_to_the_end_as_torch(total_iters):
    p = tl.tensor(np.ones(2), requires_grad=True)
    opt = tl.optim.Adam([p], lr=0.1)
    sched = tl.optim.lr_scheduler.LinearLR(opt, end_factor=0.0, total_iters=total_iters)
    tp = torch.ones(2, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.1)
    tsched = torch.optim.lr_scheduler.LinearLR(topt, end_factor=0.0, total_iters=total_iters)
    for _ in range(total_iters + 5):
        tp.grad = torch.ones(2, dtype=torch.float64)
        topt.step()
        tsched.step()
        p.grad = np.ones(2)
        opt.step()  # (raised once rounding took the lr just below 0)
        sched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=1e-15)
        assert sched.get_last_lr()[0] >= 0.0
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


def test_a_scheduler_that_returns_tensors_or_arrays_sets_numbers():
    class Warmup(tl.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            k = min(1.0, (self.last_epoch + 1) / 5)
            return [tl.tensor(b * k) if self.last_epoch % 2 else np.asarray(b * k) for b in self.base_lrs]

    p = tl.tensor(np.ones(2), requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.1)
    sched = Warmup(opt)
    for epoch in range(6):
        lr = opt.param_groups[0]["lr"]
        assert type(lr) is float and lr == pytest.approx(0.1 * min(1.0, (epoch + 1) / 5))
        p.grad = np.ones(2)
        opt.step()
        sched.step()
    assert all(type(v) is float for v in sched.get_last_lr())


def test_a_negative_lr_beyond_rounding_is_still_refused():
    p = tl.tensor(np.ones(2), requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.1)
    sched = tl.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0 - e)  # goes below 0 at epoch 2
    sched.step()
    with pytest.raises(ValueError, match="invalid lr"):
        sched.step()
        p.grad = np.ones(2)
        opt.step()


def test_adagrad_starts_every_accumulator_at_the_constructors_value_as_torch():
    torch_params = [torch.ones(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    topt = torch.optim.Adagrad([{"params": [torch_params[0]]},
                                {"params": [torch_params[1]], "initial_accumulator_value": 1.0}],
                               lr=0.1, initial_accumulator_value=0.5)
    ps = [tl.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    opt = tl.optim.Adagrad([{"params": [ps[0]]}, {"params": [ps[1]], "initial_accumulator_value": 1.0}],
                           lr=0.1, initial_accumulator_value=0.5)
    for g in ([1.0, -2.0], [0.5, 0.25], [3.0, 1.0]):
        for tp in torch_params:
            tp.grad = torch.tensor(g, dtype=torch.float64)
        for p in ps:
            p.grad = np.array(g)
        topt.step()
        opt.step()
    for p, tp in zip(ps, torch_params):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-14)
        np.testing.assert_allclose(opt.state[p]["sum"], topt.state[tp]["sum"].numpy(), rtol=1e-14)
