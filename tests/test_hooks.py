"""Hooks as torch has them: Tensor.register_hook, and a Module's forward pre-hooks, forward
hooks, full backward hooks and full backward pre-hooks; each returns a handle whose
``remove()`` detaches it. Compared with torch 2.13 where torch is installed."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import hooks

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((4, 2))


class TwoInputs:
    """The same two-input module in both libraries: out = tanh(x @ W.T) * y + y."""

    @staticmethod
    def make(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(3, 2)

            def forward(self, x, y, scale=1.0):
                return self.lin(x).tanh() * y * scale + y

        return M()


def _pair(build):
    ours, theirs = build(tl), build(torch).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _np(t):
    if t is None or isinstance(t, np.ndarray):
        return t
    return np.array(t.detach().numpy())


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))


@pytest.fixture(autouse=True)
def _registries_end_empty():
    yield
    import gc

    gc.collect()
    assert not hooks.MODULES and not hooks.TENSORS  # removed or collected: the fast paths are back


def test_tensor_hooks_see_and_replace_gradients_as_torch() -> None:
    ours, theirs = _pair(_mlp)
    seen: dict = {"o": [], "t": []}
    results = []
    for lib, model, key in ((tl, ours, "o"), (torch, theirs, "t")):
        x = (tl.tensor(X, requires_grad=True) if lib is tl else torch.tensor(X, requires_grad=True))
        h = model[0](x)
        handle = h.register_hook(lambda g, key=key: seen[key].append(_np(g)))  # observe a non-leaf
        x.register_hook(lambda g: g * 3.0)  # replace a leaf's gradient
        model[0].weight.register_hook(lambda g: g + 1.0)
        (model[2](model[1](h)) ** 2).mean().backward()
        handle.remove()
        results.append((_np(x.grad), _np(model[0].weight.grad)))
    np.testing.assert_allclose(seen["o"][0], seen["t"][0], rtol=1e-12)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_tensor_hook_errors_and_removal() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that does not"):
        tl.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="register_hook: hook must be callable"):
        x.register_hook(3)
    handle = x.register_hook(lambda g: tl.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match=r"register_hook: the hook returned a gradient of shape \(3,\), expected "
                                           r"\(2,\)"):
        (x * 2).sum().backward()
    assert x.grad is None  # nothing written
    handle.remove()
    with x.register_hook(lambda g: g * 0.0):
        (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    (x * 2).sum().backward()  # removed on leaving the with-block
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_forward_hooks_replace_arguments_and_outputs_as_torch() -> None:
    ours, theirs = _pair(TwoInputs.make)
    outs = []
    for lib, m in ((tl, ours), (torch, theirs)):
        calls: list = []
        h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2.0, args[1]))
        h2 = m.register_forward_pre_hook(lambda mod, args, calls=calls: calls.append("first"), prepend=True)
        h3 = m.register_forward_hook(lambda mod, args, out: out + 1.0)
        h4 = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3.0}), with_kwargs=True)
        h5 = m.register_forward_hook(
            lambda mod, args, kwargs, out, calls=calls: calls.append(kwargs["scale"]) or out * 2.0, with_kwargs=True)
        t = tl.tensor if lib is tl else torch.tensor
        outs.append(_np(m(t(X), t(np.ones((4, 2))))))
        assert calls == ["first", 3.0]
        for h in (h1, h2, h3, h4, h5):
            h.remove()
        outs.append(_np(m(t(X), t(np.ones((4, 2))))))  # no hooks any more
    np.testing.assert_allclose(outs[0], outs[2], rtol=1e-12)
    np.testing.assert_allclose(outs[1], outs[3], rtol=1e-12)


def test_an_always_call_forward_hook_runs_when_the_forward_raises() -> None:
    m = tl.nn.Linear(3, 2, rng=0)
    calls: list = []
    with m.register_forward_hook(lambda mod, args, out: calls.append(out), always_call=True):
        with pytest.raises(ValueError, match="Linear"):
            m(tl.tensor(np.ones((2, 4))))
    assert calls == [None]


def test_full_backward_hooks_see_and_replace_gradients_as_torch() -> None:
    ours, theirs = _pair(TwoInputs.make)
    got = []
    for lib, m in ((tl, ours), (torch, theirs)):
        log: list = []
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0.5,))
        m.register_full_backward_hook(
            lambda mod, gi, go, log=log: log.append(([_np(g) for g in gi], [_np(g) for g in go])))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2.0, None))
        make = tl.tensor if lib is tl else torch.tensor
        x, y = make(X, requires_grad=True), make(Y, requires_grad=True)
        ((m(x, y) ** 2).sum() + y.sum()).backward()
        got.append((log, _np(x.grad), _np(y.grad), _np(m.lin.weight.grad)))
    (log_o, *grads_o), (log_t, *grads_t) = got
    for (gi_o, go_o), (gi_t, go_t) in zip(log_o, log_t, strict=True):
        for a, b in zip(gi_o + go_o, gi_t + go_t, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(grads_o, grads_t):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # torch's note on this very case
def test_a_backward_hook_of_a_layer_fed_with_data_gets_none_for_its_input() -> None:
    ours, theirs = _pair(_mlp)
    logs = []
    for lib, m in ((tl, ours), (torch, theirs)):
        log: list = []
        m[0].register_full_backward_hook(lambda mod, gi, go, log=log: log.append((gi, _np(go[0]))))
        (m((tl.tensor if lib is tl else torch.tensor)(X)) ** 2).mean().backward()
        logs.append(log)
    assert [gi for gi, _ in logs[0]] == [(None,)] == [gi for gi, _ in logs[1]]
    np.testing.assert_allclose(logs[0][0][1], logs[1][0][1], rtol=1e-12)


def test_hooks_that_only_look_leave_per_sample_gradients_exact() -> None:
    def run(with_hooks: bool):
        model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 1, rng=1))
        acts: list = []
        handles = []
        if with_hooks:
            handles += [model[1].register_forward_hook(lambda m, a, o: acts.append(o.data.copy())),
                        model[2].register_full_backward_hook(lambda m, gi, go: acts.append(go[0].data.copy()))]
        (model(tl.Tensor(X, batched=True)) ** 2).mean().backward()
        for h in handles:
            h.remove()
        return [p.grad_sample for p in model.parameters()], acts

    plain, _ = run(False)
    hooked, acts = run(True)
    assert len(acts) == 2 and acts[0].shape == (4, 4) and acts[1].shape == (4, 1)
    for a, b in zip(plain, hooked):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_no_backward_record_under_no_grad_and_hooks_go_with_their_module() -> None:
    m = tl.nn.Linear(3, 2, rng=0)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    m.register_forward_hook(lambda mod, args, out: None)
    with tl.no_grad():
        out = m(tl.tensor(X))
    assert out.op != "module_hook" and not hooks.TENSORS
    out = m(tl.tensor(X, requires_grad=True))
    assert out.op == "module_hook"
    del m, out  # the registry entries go with the module and the graph


@pytest.mark.parametrize("method", ["register_forward_pre_hook", "register_forward_hook",
                                    "register_full_backward_hook", "register_full_backward_pre_hook"])
def test_a_hook_that_is_not_callable_is_refused_naming_the_method(method) -> None:
    m = tl.nn.Linear(2, 2, rng=0)
    with pytest.raises(TypeError, match=f"{method}: hook must be callable"):
        getattr(m, method)("not a function")


def test_a_tensor_whose_hook_refers_to_it_is_freed_as_torchs() -> None:
    import gc
    import weakref

    w = tl.Tensor(np.ones(3), requires_grad=True)
    y = w * 2.0
    seen = []
    y.register_hook(lambda g, y=y: seen.append(float(y.data.sum())))  # the hook holds y itself
    y.sum().backward()
    assert seen == [6.0]
    ref = weakref.ref(y)
    del y
    gc.collect()
    assert ref() is None
    assert not tl.graph.TENSOR_HOOKS  # the registry forgot it: the sweep's fast path again
