"""Edge cases of the torch-shaped module API, containers, initialisers, optimizer state and
learning-rate schedulers: what a model holds is what it saves, bad arguments change
nothing, and torch (where importable) agrees on names, shapes and values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


# ------------------------------------------------------------------ containers -------------
class _Heads(nn.ModuleDict):
    """A ModuleDict subclass with a module and a parameter of its own besides its entries."""

    def __init__(self) -> None:
        super().__init__({"a": nn.Linear(2, 3, rng=0)})
        self.register_parameter("scale", nn.Parameter(np.ones(3)))


def test_keyed_container_names_everything_parameters_finds() -> None:
    d = _Heads()
    d.add_module("b", nn.Linear(3, 1, rng=1))
    pl = nn.ParameterList([np.zeros(2)])
    pl.register_parameter("w", nn.Parameter(np.zeros(1)))
    pl.lin = nn.Linear(1, 1, rng=2)
    for m in (d, pl):
        named = [p for _, p in m.named_parameters()]
        assert [id(p) for p in named] == [id(p) for p in m.parameters()]
        assert list(m.state_dict()) == [n for n, _ in m.named_parameters()]
    assert list(d.state_dict()) == ["scale", "a.weight", "a.bias", "b.weight", "b.bias"]
    assert list(pl.state_dict()) == ["0", "w", "lin.weight", "lin.bias"]
    assert list(d.keys()) == ["a", "b"]


def test_module_dict_attribute_and_add_module_are_entries() -> None:
    d = nn.ModuleDict({"a": nn.ReLU()})
    d.b = nn.Tanh()
    d.add_module("c", nn.Identity())
    assert list(d.keys()) == ["a", "b", "c"] and d["b"] is d.b
    del d.b
    assert list(d.keys()) == ["a", "c"]
    with pytest.raises(TypeError, match="add_module"):
        d.add_module("x", None)
    assert list(d.keys()) == ["a", "c"]


@pytest.mark.parametrize("key", ["training", "forward", "update", "keys"])
def test_module_dict_key_that_hides_an_attribute_is_refused(key: str) -> None:
    d = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(KeyError, match=key):
        d[key] = nn.Tanh()
    with pytest.raises(KeyError, match=key):
        d.update({"b": nn.Tanh(), key: nn.Tanh()})
    assert list(d.keys()) == ["a"]
    pd = nn.ParameterDict()
    with pytest.raises(KeyError, match=key):
        pd[key] = np.zeros(1)
    assert len(pd) == 0


@needs_torch
def test_container_names_match_torch() -> None:
    class TH(torch.nn.ModuleDict):
        def __init__(self) -> None:
            super().__init__({"a": torch.nn.Linear(2, 3)})
            self.register_parameter("scale", torch.nn.Parameter(torch.ones(3)))

    t = TH()
    t.extra = torch.nn.Linear(3, 1)
    m = _Heads()
    m.extra = nn.Linear(3, 1)
    assert list(m.state_dict()) == list(t.state_dict())
    assert list(m.keys()) == list(t.keys())


def test_parameter_of_non_numeric_data_names_it() -> None:
    with pytest.raises(TypeError, match="Linear"):
        nn.Parameter(nn.Linear(1, 1))
    pl = nn.ParameterList([np.zeros(1)])
    with pytest.raises(TypeError, match="str"):
        pl.append("x")
    assert len(pl) == 1


def test_parameter_dict_get_setdefault_copy() -> None:
    pd = nn.ParameterDict({"a": np.zeros(2)})
    assert pd.get("b") is None and pd.get("a") is pd["a"]
    b = pd.setdefault("b", np.ones(3))
    assert b is pd["b"] and b.requires_grad and pd.setdefault("b", np.zeros(1)) is b
    c = pd.copy()
    assert list(c.keys()) == ["a", "b"] and c["a"] is pd["a"]
    c["z"] = np.zeros(1)
    assert "z" not in pd


@pytest.mark.parametrize("sizes,shape", [((0, 2), (3, 0)), ((2, 0, 3), (3, 0)), ((-1, 0), (4, 0))])
def test_unflatten_zero_sizes(sizes: tuple, shape: tuple) -> None:
    if sizes == (-1, 0):
        with pytest.raises(ValueError, match="Unflatten"):
            nn.Unflatten(1, sizes)(tl.Tensor(np.zeros(shape)))
        return
    out = nn.Unflatten(1, sizes)(tl.Tensor(np.zeros(shape)))
    assert out.shape == (3,) + sizes
    if torch is not None:
        assert tuple(torch.nn.Unflatten(1, sizes)(torch.zeros(shape)).shape) == out.shape


# ------------------------------------------------------------------ nn.init ----------------
@pytest.mark.parametrize("call", [
    lambda t: nn.init.uniform_(t, float("nan"), 1.0),
    lambda t: nn.init.uniform_(t, 0.0, float("inf")),
    lambda t: nn.init.normal_(t, 0.0, float("nan")),
    lambda t: nn.init.normal_(t, float("inf"), 1.0),
    lambda t: nn.init.constant_(t, float("nan")),
    lambda t: nn.init.xavier_uniform_(t, gain=float("nan")),
    lambda t: nn.init.kaiming_normal_(t, a=float("nan")),
    lambda t: nn.init.trunc_normal_(t, std=float("inf")),
    lambda t: nn.init.trunc_normal_(t, a=float("nan")),
])
def test_init_refuses_non_finite_arguments_and_changes_nothing(call) -> None:
    t = tl.Tensor(np.full((3, 4), 7.0), requires_grad=True)
    with pytest.raises(ValueError, match=r"_: .*nan|_: .*inf|negative_slope"):
        call(t)
    assert np.all(t.data == 7.0)


def test_init_failure_leaves_the_default_generator_alone() -> None:
    tl.manual_seed(0)
    with pytest.raises(TypeError, match="orthogonal_: gain"):
        nn.init.orthogonal_(tl.Tensor(np.zeros((3, 3)), requires_grad=True), gain="x")
    a = nn.init.normal_(tl.Tensor(np.zeros(4), requires_grad=True)).data.copy()
    tl.manual_seed(0)
    b = nn.init.normal_(tl.Tensor(np.zeros(4), requires_grad=True)).data
    np.testing.assert_array_equal(a, b)


def test_init_constant_takes_a_one_element_tensor_and_infinite_trunc_bounds() -> None:
    t = tl.Tensor(np.zeros(3, np.float32), requires_grad=True)
    nn.init.constant_(t, tl.tensor(2.5))
    np.testing.assert_array_equal(t.data, np.full(3, 2.5, np.float32))
    nn.init.trunc_normal_(t, a=-float("inf"), b=0.0, generator=0)
    assert np.all(t.data <= 0.0) and t.dtype == np.float32


def test_calculate_gain_names_a_bad_nonlinearity() -> None:
    with pytest.raises(ValueError, match="calculate_gain"):
        nn.init.calculate_gain(["relu"])


# ------------------------------------------------------------------ schedulers -------------
_RESUMABLE = {
    "StepLR": lambda M, o, e: M.StepLR(o, 3, 0.5, last_epoch=e),
    "MultiStepLR": lambda M, o, e: M.MultiStepLR(o, [1, 3, 3, 6], 0.5, last_epoch=e),
    "ExponentialLR": lambda M, o, e: M.ExponentialLR(o, 0.9, last_epoch=e),
    "CosineAnnealingLR": lambda M, o, e: M.CosineAnnealingLR(o, 4, 0.01, last_epoch=e),
    "LambdaLR": lambda M, o, e: M.LambdaLR(o, lambda k: 1 / (k + 1), last_epoch=e),
    "LinearLR": lambda M, o, e: M.LinearLR(o, 0.25, 1.0, 4, last_epoch=e),
    "ConstantLR": lambda M, o, e: M.ConstantLR(o, 0.5, 3, last_epoch=e),
}


def _lrs_after_resume(lib: str, make, e: int) -> list:
    if lib == "torch":
        o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        M = torch.optim.lr_scheduler
    else:
        o = tl.optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
        M = tl.optim.lr_scheduler
    o.param_groups[0]["initial_lr"] = 0.2
    s = make(M, o, e)
    out = [s.get_last_lr()[0]]
    for _ in range(9):
        s.step()
        out.append(s.get_last_lr()[0])
    return out + [s.last_epoch]


@pytest.mark.parametrize("name", sorted(_RESUMABLE))
@pytest.mark.parametrize("e", [-1, 0, 2, 3, 5])
def test_schedulers_take_last_epoch_as_torch(name: str, e: int) -> None:
    got = _lrs_after_resume("tl", _RESUMABLE[name], e)
    assert got[-1] == e + 10
    if torch is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = _lrs_after_resume("torch", _RESUMABLE[name], e)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_resuming_a_scheduler_without_initial_lr_is_refused() -> None:
    o = tl.optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        tl.optim.lr_scheduler.StepLR(o, 3, last_epoch=4)
    assert o.param_groups[0]["lr"] == 0.1 and "initial_lr" not in o.param_groups[0]


def test_init_through_a_view_marks_the_viewed_parameter_changed() -> None:
    w = tl.Tensor(np.ones((3, 2)), requires_grad=True)
    y = (w * w).sum()
    nn.init.zeros_(w[0])  # torch's idiom for a padding row: the parameter itself changes
    np.testing.assert_array_equal(w.data, [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()  # the graph saw the old values; no gradient at values w no longer holds
    assert w.grad is None
    z = (w * w).sum()
    z.backward()
    np.testing.assert_array_equal(w.grad, 2 * w.data)


# ------------------------------------------------------------------ optimizer state --------
@pytest.mark.parametrize("name,kw", [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
])
def test_a_0d_parameter_steps_as_a_one_element_one(name: str, kw: dict) -> None:
    """A scalar parameter (a learnable temperature) keeps its momentum across steps."""
    runs = []
    for shape in [(), (1,)]:
        p = tl.Tensor(np.full(shape, 1.5), requires_grad=True)
        opt = getattr(tl.optim, name)([p], **kw)
        for _ in range(5):
            opt.zero_grad()
            (p * p * p).sum().backward()
            opt.step()
        assert all(type(v) is np.ndarray for v in opt.state[p].values() if not isinstance(v, int))
        runs.append(float(p.data.reshape(())))
    assert runs[0] == runs[1]
    if torch is not None:
        tp = torch.nn.Parameter(torch.tensor(1.5, dtype=torch.float64))
        topt = getattr(torch.optim, name)([tp], **kw)
        for _ in range(5):
            topt.zero_grad()
            (tp * tp * tp).backward()
            topt.step()
        assert runs[0] == pytest.approx(tp.item(), rel=1e-12)


def test_a_0d_parameters_state_follows_model_float_and_loading() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            self.lin = nn.Linear(3, 2, rng=0)
            self.temp = nn.Parameter(np.array(1.5))

        def forward(self, x: tl.Tensor) -> tl.Tensor:
            return self.lin(x) * self.temp

    x, y = np.ones((4, 3)), np.zeros((4, 2))
    m = M()
    opt = tl.optim.Adam(m.parameters(), lr=0.01)
    for dt in (np.float64, np.float32):
        if dt is np.float32:
            m.float()
        opt.zero_grad()
        nn.functional.mse_loss(m(tl.Tensor(x.astype(dt))), tl.Tensor(y.astype(dt))).backward()
        opt.step()
    assert m.temp.dtype == np.float32
    assert {v.dtype for v in opt.state[m.temp].values() if isinstance(v, np.ndarray)} == {np.dtype(np.float32)}
    saved = opt.state_dict()
    saved["state"][2] = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v)
                         for k, v in saved["state"][2].items()}
    opt.load_state_dict(saved)
    assert {v.dtype for v in opt.state[m.temp].values() if isinstance(v, np.ndarray)} == {np.dtype(np.float32)}


# ------------------------------------------------------------------ module dtype moves -----
@needs_torch
def test_module_moves_take_torch_dtypes_as_tensor_to_does() -> None:
    m = nn.Sequential(nn.Linear(2, 2, rng=0), nn.BatchNorm1d(2))
    assert m.to(torch.float32)[0].weight.dtype == np.float32
    assert m.to(torch.device("cpu"), torch.float64)[0].weight.dtype == np.float64
    assert m.to(dtype=torch.float32)[0].bias.dtype == np.float32
    assert m.type("torch.DoubleTensor")[0].weight.dtype == np.float64
    assert tl.zeros(2).to(torch.float32).dtype == m.to(torch.float32)[0].weight.dtype
    with pytest.raises(TypeError, match="to: .*floating-point dtype, got int64"):
        m.to(torch.int64)
    assert m[0].weight.dtype == np.float32


def test_named_modules_honours_a_memo_without_removing_duplicates() -> None:
    shared = nn.Linear(1, 1, rng=0)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    memo = {shared}
    assert [n for n, _ in seq.named_modules(memo=memo, remove_duplicate=False)] == ["", "1"]
    assert memo == {shared}  # not filled when duplicates are kept
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert list(seq.named_modules(memo={seq}, remove_duplicate=False)) == []
    if torch is not None:
        t_shared = torch.nn.Linear(1, 1)
        t_seq = torch.nn.Sequential(t_shared, torch.nn.ReLU(), t_shared)
        assert [n for n, _ in t_seq.named_modules(memo={t_shared}, remove_duplicate=False)] == ["", "1"]


@pytest.mark.parametrize("metric", [np.array([1.0, 2.0]), np.zeros((0,)), "tensor"])
def test_plateau_names_a_metric_that_is_not_one_number(metric) -> None:
    if isinstance(metric, str):
        metric = tl.tensor([1.0, 2.0])
    opt = tl.optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    sched = tl.optim.lr_scheduler.ReduceLROnPlateau(opt)
    sched.step(0.5)
    before = sched.state_dict()
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: metrics must be one number.*shape"):
        sched.step(metric)
    assert sched.state_dict() == before
    sched.step(np.array([[0.25]]))
    assert sched.best == 0.25


@pytest.mark.parametrize("make", [
    lambda M, o: M.OneCycleLR(o, 1.0, total_steps=2, pct_start=0.5),  # a phase without steps
    lambda M, o: M.LambdaLR(o, lambda e: float("nan")),
    lambda M, o: M.CyclicLR(o, 0.01, 0.1, scale_fn=lambda x: 1 / 0),
    lambda M, o: M.LambdaLR(o, [None]),
])
def test_a_scheduler_that_fails_to_start_leaves_the_groups_alone(make) -> None:
    opt = tl.optim.SGD([tl.Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.5)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises((ValueError, TypeError, ZeroDivisionError)):
        make(tl.optim.lr_scheduler, opt)
    assert opt.param_groups == before
    tl.optim.lr_scheduler.StepLR(opt, 2)  # and a good one starts from the untouched groups
    assert opt.param_groups[0]["initial_lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.5


def test_parameters_and_buffers_take_recurse_and_remove_duplicate() -> None:
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(shared, nn.BatchNorm1d(2), shared)
    model.register_parameter("scale", nn.Parameter(np.ones(1)))
    assert [n for n, _ in model.named_parameters(recurse=False)] == ["scale"]
    assert model.parameters(recurse=False) == [model.scale]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == [
        "scale", "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert [n for n, _ in model[1].named_buffers(recurse=False, prefix="bn")] == [
        "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert model.buffers(recurse=False) == []
    with pytest.raises(TypeError, match="named_parameters: recurse"):
        list(model.named_parameters(recurse=1))
    # the usual pattern: initialise each module's own parameters from apply()
    seen: list = []
    model.apply(lambda m: seen.extend(m.parameters(recurse=False)))
    assert len(seen) == len({id(p) for p in seen}) == len(model.parameters())
    if torch is not None:
        t_shared = torch.nn.Linear(2, 2)
        t = torch.nn.Sequential(t_shared, torch.nn.BatchNorm1d(2), t_shared)
        t.register_parameter("scale", torch.nn.Parameter(torch.ones(1)))
        assert [n for n, _ in t.named_parameters(remove_duplicate=False)] == [
            n for n, _ in model.named_parameters(remove_duplicate=False)]
        assert [n for n, _ in t.named_parameters(recurse=False)] == ["scale"]


@pytest.mark.parametrize("write", [
    lambda x: x[0:2].fill_(10.0),
    lambda x: x.detach().zero_(),
    lambda x: x.detach()[1:].copy_(np.ones(2)),
    lambda x: x.T.add_(1.0),
])
def test_a_write_through_a_view_or_a_detach_makes_an_older_graph_refuse_backward(write: Any) -> None:
    """As torch's shared version counter: the graph read x's old values, so its gradient would
    be computed at the wrong point; a graph built after the write is fine."""
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    with tl.no_grad():
        write(x)
    with pytest.raises(RuntimeError, match="changed in place \\(through a view, or a detach\\(\\)\\)"):
        y.backward()
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_a_write_elsewhere_leaves_a_graph_alone() -> None:
    buf = np.arange(6.0)
    w = tl.from_numpy(buf[:3]).requires_grad_()
    y = (w * 2.0).sum()
    other = tl.from_numpy(buf[3:])  # the same buffer, other elements
    other.zero_()
    tl.tensor([1.0, 2.0]).fill_(3.0)  # an unrelated tensor
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("make_opt", [
    lambda ps: tl.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: tl.optim.Adam(ps, lr=0.1),
    lambda ps: tl.optim.DPSGD(ps, lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0),
])
@pytest.mark.parametrize("view", [lambda w: w.detach(), lambda w: w[1:].detach(), lambda w: w.T.detach()])
def test_an_optimizer_step_makes_graphs_that_read_a_detached_parameter_refuse_backward(make_opt, view) -> None:
    """As torch, whose detach() shares the parameter's version counter: the old graph read the
    weights before the step, so the gradient it would give is for another point."""
    lin = tl.nn.Linear(3, 2, rng=0)
    opt = make_opt(lin.parameters())
    x = tl.Tensor(np.ones(view(lin.weight).shape), requires_grad=True)
    stale = (x * view(lin.weight)).sum()  # its gradient for x is the detached weights
    (lin(tl.Tensor(np.ones((4, 3)), batched=True)) ** 2).mean().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="changed in place"):
        stale.backward()
    assert x.grad is None
    fresh = (x * view(lin.weight)).sum()  # built after the step: fine
    fresh.backward()
    np.testing.assert_array_equal(x.grad, view(lin.weight).data)


def test_a_detached_copy_or_an_unrelated_detach_leaves_old_graphs_alone() -> None:
    lin = tl.nn.Linear(3, 2, rng=0)
    opt = tl.optim.SGD(lin.parameters(), lr=0.1)
    x = tl.Tensor(np.ones((4, 3)), requires_grad=True)
    copy = tl.tensor(lin.weight.detach().numpy().copy())
    batch = tl.Tensor(np.arange(24.0).reshape(8, 3)[2:6])
    y = (x * batch.detach()).sum() + (copy * 1.0).sum() * x.sum()
    (lin(x) ** 2).sum().backward()
    opt.step()
    x.grad = None
    y.backward()
    np.testing.assert_allclose(x.grad, batch.data + copy.data.sum(), rtol=1e-14)


def test_parameters_to_vector_and_back_as_torch() -> None:
    torch_ = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    theirs = torch_.nn.Sequential(torch_.nn.Linear(3, 4), torch_.nn.Tanh(), torch_.nn.Linear(4, 2)).double()
    theirs.load_state_dict({k: torch_.tensor(v) for k, v in ours.state_dict().items()})
    v = nn.utils.parameters_to_vector(ours.parameters())
    tv = torch_.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(v.numpy(), tv.detach().numpy())
    (v ** 3).sum().backward()
    (tv ** 3).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-14)
    new = np.arange(v.shape[0], dtype=float)
    nn.utils.vector_to_parameters(tl.tensor(new), ours.parameters())
    torch_.nn.utils.vector_to_parameters(torch_.tensor(new), theirs.parameters())
    for k, val in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k], val.numpy())


def test_vector_to_parameters_refuses_a_wrong_vector_and_changes_nothing() -> None:
    model = nn.Linear(3, 2, rng=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"vector_to_parameters: vec of shape \(7,\) does not hold the 8 values"):
        nn.utils.vector_to_parameters(tl.tensor(np.ones(7)), model.parameters())
    with pytest.raises(TypeError, match="vector_to_parameters: expected vec to be a Tensor"):
        nn.utils.vector_to_parameters(np.ones(8), model.parameters())
    with pytest.raises(TypeError, match="parameters_to_vector: parameters must be Tensors"):
        nn.utils.parameters_to_vector([np.ones(2)])
    for k, v in before.items():
        np.testing.assert_array_equal(model.state_dict()[k], v)


def test_requires_grad_false_on_a_result_is_refused_as_in_torch() -> None:
    """torch refuses to clear the flag of a non-leaf (it would silently cut the gradient there)."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="requires_grad_: only a leaf's flag can change"):
        y.requires_grad_(False)
    assert y.requires_grad
    (y * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])  # the whole gradient, through y as well
    y.requires_grad_(True)  # (allowed: it already requires grad)
    x.requires_grad_(False)  # a leaf's flag may change
    assert not x.requires_grad


@pytest.mark.parametrize("a, b, want", [(np.int64, np.float32, np.float32), (np.bool_, np.int32, np.int32),
                                        (np.bool_, np.float32, np.float32), (np.float32, np.float64, np.float64),
                                        (np.uint8, np.int8, np.int16), (np.int64, np.float16, np.float16)])
def test_cat_and_stack_promote_as_torch(a: type, b: type, want: type) -> None:
    """The higher category (bool < integer < float) keeps its dtype: an integer tensor joined to a
    float32 one gives float32 (numpy's promotion would widen to float64)."""
    x, y = tl.tensor(np.ones(2, a)), tl.tensor(np.zeros(2, b))
    for joined in (tl.cat([x, y]), tl.stack([x, y]), tl.cat([y, x])):
        assert joined.dtype == want
    w = tl.Tensor(np.ones(2, np.float32), requires_grad=True)
    (tl.cat([w, tl.tensor(np.array([3, 4]))]) * 2).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_built_in_layers_take_the_input_by_torchs_keyword() -> None:
    """torch's single-input layers name their argument ``input``: ``layer(input=x)`` works as ``layer(x)``."""
    x = tl.Tensor(np.random.default_rng(0).standard_normal((2, 4, 6, 6)))
    layers = [nn.Conv2d(4, 3, 3), nn.ReLU(), nn.BatchNorm2d(4), nn.MaxPool2d(2), nn.Dropout(0.0), nn.GELU(),
              nn.Softmax(1), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4), nn.Upsample(scale_factor=2),
              nn.AdaptiveAvgPool2d(1), nn.ConvTranspose2d(4, 2, 3), nn.PixelShuffle(2)]
    for layer in layers:
        np.testing.assert_array_equal(layer(input=x).data, layer(x).data)
    v = tl.Tensor(np.ones((3, 5)))
    for layer in (nn.Linear(5, 2), nn.LayerNorm(5), nn.Tanh(), nn.Sigmoid(), nn.SiLU(), nn.LogSoftmax(1)):
        np.testing.assert_array_equal(layer(input=v).data, layer(v).data)
    emb = nn.Embedding(4, 2)
    np.testing.assert_array_equal(emb(input=tl.Tensor(np.array([1, 3]))).data, emb.weight.data[[1, 3]])
