"""Optimizer hooks (torch's register_step_pre_hook ... register_load_state_dict_post_hook):
order, replacement of arguments and results, removal, global hooks, and the same calls in
torch."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook


def _setup(cls=tl.optim.SGD, **kw):
    m = tl.nn.Linear(3, 1, rng=0)
    opt = cls(m.parameters(), lr=0.1, **kw)
    m(tl.tensor(np.ones((2, 3)))).sum().backward()
    return m, opt


def _order(lib, make):
    log = []
    opt = make()
    handles = [
        lib.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre")),
        lib.register_optimizer_step_post_hook(lambda o, a, k: log.append("global post")),
        opt.register_step_pre_hook(lambda o, a, k: log.append("pre")),
        opt.register_step_post_hook(lambda o, a, k: log.append("post")),
    ]
    opt.step()
    for h in handles:
        h.remove()
    opt.step()
    return log


def test_step_hooks_run_in_torchs_order_once_and_go_on_remove():
    class Lib:
        register_optimizer_step_pre_hook = staticmethod(register_optimizer_step_pre_hook)
        register_optimizer_step_post_hook = staticmethod(register_optimizer_step_post_hook)

    got = _order(Lib, lambda: _setup()[1])
    assert got == ["global pre", "pre", "post", "global post"]
    torch = pytest.importorskip("torch")
    import torch.optim.optimizer as topt

    def make():
        lin = torch.nn.Linear(3, 1)
        o = torch.optim.SGD(lin.parameters(), lr=0.1)
        lin(torch.ones(2, 3)).sum().backward()
        return o

    assert _order(topt, make) == got


def test_a_subclass_step_runs_the_hooks_once():
    log = []
    _, opt = _setup(tl.optim.Adam)
    opt.register_step_pre_hook(lambda o, a, k: log.append(1))
    opt.step()
    assert log == [1]
    m = tl.nn.Linear(3, 1, rng=0)
    lbfgs = tl.optim.LBFGS(m.parameters(), lr=0.1, max_iter=3)
    lbfgs.register_step_post_hook(lambda o, a, k: log.append(2))
    x = tl.tensor(np.ones((2, 3)))

    def closure():
        lbfgs.zero_grad()
        loss = (m(x) ** 2).sum()
        loss.backward()
        return loss

    lbfgs.step(closure)
    assert log == [1, 2]


def test_pre_hook_may_replace_the_step_arguments():
    m, opt = _setup()
    calls = []

    def closure():
        calls.append("new closure")
        return 7.0

    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(a) or ((o, closure), {}))  # (torch's args: o first)
    opt.register_step_post_hook(lambda o, a, k: seen.append(a))
    assert opt.step() == 7.0 and calls == ["new closure"]
    assert seen == [(opt,), (opt, closure)]
    bad = _setup()[1]
    bad.register_step_pre_hook(lambda o, a, k: "not a pair")

    with pytest.raises(RuntimeError, match="step pre hook must return None or"):
        bad.step()



def test_hooks_change_nothing_when_none_is_registered():
    m1, o1 = _setup(tl.optim.Adam)
    m2, o2 = _setup(tl.optim.Adam)
    h = o2.register_step_pre_hook(lambda o, a, k: None)
    h.remove()
    for _ in range(3):
        o1.step()
        o2.step()
    np.testing.assert_array_equal(m1.weight.data, m2.weight.data)


def test_state_dict_hooks():
    m, opt = _setup(tl.optim.Adam)
    opt.step()
    log = []
    opt.register_state_dict_pre_hook(lambda o: log.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "note": "kept"})
    opt.register_state_dict_post_hook(lambda o, sd: log.append("first") or None, prepend=True)
    sd = opt.state_dict()
    assert sd["note"] == "kept" and log == ["pre", "first"]
    m2, opt2 = _setup(tl.optim.Adam)
    seen = []

    def strip(o, sd):
        seen.append(sd["note"])
        return {k: v for k, v in sd.items() if k != "note"}

    opt2.register_load_state_dict_pre_hook(strip)
    opt2.register_load_state_dict_post_hook(lambda o: seen.append("loaded"))
    opt2.load_state_dict(sd)
    assert seen == ["kept", "loaded"]
    np.testing.assert_array_equal(opt2.state[m2.weight]["exp_avg"], opt.state[m.weight]["exp_avg"])
    with pytest.raises(TypeError, match="must be callable"):
        opt2.register_step_pre_hook(3)


def test_handle_as_context_manager():
    log = []
    m, opt = _setup()
    with opt.register_step_post_hook(lambda o, a, k: log.append(1)):
        opt.step()
    opt.step()
    assert log == [1]


def test_step_hooks_see_the_arguments_torch_passes():
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (torch, tl):
        p = (torch.nn.Parameter(torch.ones(2)) if lib is torch else tl.tensor(np.ones(2), requires_grad=True))
        opt = lib.optim.SGD([p], lr=0.1)
        seen = []
        opt.register_step_pre_hook(lambda o, a, k, seen=seen: seen.append(("pre", len(a), a[0] is o, sorted(k))))
        opt.register_step_post_hook(lambda o, a, k, seen=seen: seen.append(("post", len(a), a[0] is o, sorted(k))))
        p.grad = torch.ones(2) if lib is torch else np.ones(2)
        opt.step()
        opt.step(closure=lambda: 1.0)
        got[lib] = seen
    assert got[tl] == got[torch]


@pytest.mark.parametrize("where", ["params", "state"])
def test_a_state_dict_with_fractional_or_bool_indices_is_refused_and_changes_nothing(where: str):
    ps = [tl.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    opt = tl.optim.Adam(ps, lr=0.1)
    for q in ps:
        q.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    if where == "params":
        bad = {**sd, "param_groups": [{**sd["param_groups"][0], "params": [0.5, 1.2]}]}
    else:
        bad = {**sd, "state": {0: sd["state"][0], True: sd["state"][1]}}
    fresh = tl.optim.Adam(ps, lr=0.3)
    with pytest.raises(ValueError):
        fresh.load_state_dict(bad)
    assert not fresh.state and fresh.param_groups[0]["lr"] == 0.3
    fresh.load_state_dict({**sd, "state": {str(k): v for k, v in sd["state"].items()}})  # (JSON's keys)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.state[ps[0]]["step"] == 1
