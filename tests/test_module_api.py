"""torch.nn.Module's everyday methods on tl.nn.Module: apply, requires_grad_, add_module /
register_module / register_parameter, get_submodule / get_parameter / get_buffer,
named_modules(memo, prefix, remove_duplicate) and the dtype moves (to, float, double, type,
cpu), with optimizers and per-sample gradients carrying on after a move.

Where torch is importable it is the oracle; those comparisons skip cleanly without it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn

try:
    import torch
except ImportError:  # the oracle comparisons skip; the direct checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2, rng=1))


def _torch_model(model: nn.Module) -> Any:
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    t.double().load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return t


def _snapshot(model: nn.Module) -> dict:
    return {k: (t, t.data.copy()) for k, t in model._state_tensors().items()}


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    now = model._state_tensors()
    assert list(now) == list(before)
    for k, (t, arr) in before.items():
        assert now[k] is t, k
        assert t.data.dtype == arr.dtype, k
        np.testing.assert_array_equal(t.data, arr, err_msg=k)


def _raises(fn: Callable[..., Any], *args: Any) -> type:
    """The type of the exception ``fn(*args)`` raises."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    raise AssertionError("no exception")


# ----------------------------------------------------------------------------- apply, requires_grad_


class Block(nn.Module):
    def __init__(self, shared: nn.Module) -> None:
        self.a = shared
        self.inner = nn.Sequential(shared, nn.ReLU())

    def forward(self, x: Any) -> Any:
        return self.inner(self.a(x))


@needs_torch
def test_apply_visits_children_first_then_self_as_torch() -> None:
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(Block(shared), nn.Tanh())
    order: list = []
    assert model.apply(lambda m: order.append(type(m).__name__)) is model

    class TBlock(torch.nn.Module):
        def __init__(self, shared: Any) -> None:
            super().__init__()
            self.a = shared
            self.inner = torch.nn.Sequential(shared, torch.nn.ReLU())

    tshared = torch.nn.Linear(2, 2)
    tmodel = torch.nn.Sequential(TBlock(tshared), torch.nn.Tanh())
    torder: list = []
    tmodel.apply(lambda m: torder.append(type(m).__name__))
    names = {"TBlock": "Block"}
    assert order == [names.get(n, n) for n in torder]
    assert order == ["Linear", "Linear", "ReLU", "Sequential", "Block", "Tanh", "Sequential"]


def test_apply_initialises_weights_and_refuses_a_non_callable() -> None:
    model = _model()

    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            m.weight.data = np.full(m.weight.shape, 0.5)

    model.apply(init)
    assert np.all(model[0].weight.data == 0.5) and np.all(model[3].weight.data == 0.5)
    before = _snapshot(model)
    with pytest.raises(TypeError, match="apply: fn must be callable, got int 3"):
        model.apply(3)
    _assert_unchanged(model, before)


def test_requires_grad_freezes_and_unfreezes_every_parameter() -> None:
    model = _model()
    keys = list(model.state_dict())
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight",
                                                        "3.bias"]
    assert list(model.state_dict()) == keys
    assert not model.get_buffer("1.running_mean").requires_grad
    x = Tensor(_rng(1).standard_normal((5, 3)))
    w = model[3].weight
    model.requires_grad_(True)
    model.eval()
    (model(x) ** 2).mean().backward()
    assert w.grad is not None and w.grad.shape == (2, 4)
    with pytest.raises(TypeError, match="requires_grad_: requires_grad must be a bool, got 1"):
        model.requires_grad_(1)
    assert all(p.requires_grad for p in model.parameters())


# ----------------------------------------------------------------------------- registering


class Net(nn.Module):
    def __init__(self) -> None:
        self.fc = nn.Linear(2, 3, rng=0)
        self.bias = None
        self.scale = 2.0
        self.register_buffer("count", np.zeros(1))

    def forward(self, x: Any) -> Any:
        out = self.fc(x) * self.scale
        return out + self.bias if self.bias is not None else out


@needs_torch
def test_add_module_and_register_parameter_name_things_as_torch() -> None:
    net = Net()
    net.add_module("head", nn.Linear(3, 1, rng=1))
    net.register_module("act", nn.Tanh())
    net.register_parameter("bias", Tensor(np.ones(3), requires_grad=True))
    net.register_parameter("gain", None)
    frozen = Tensor(np.ones(1))
    net.register_parameter("frozen", frozen)

    class TNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(2, 3)
            self.register_parameter("bias", None)
            self.scale = 2.0
            self.register_buffer("count", torch.zeros(1))

    tnet = TNet()
    tnet.add_module("head", torch.nn.Linear(3, 1))
    tnet.register_module("act", torch.nn.Tanh())
    tnet.register_parameter("bias", torch.nn.Parameter(torch.ones(3)))
    tnet.register_parameter("gain", None)
    tnet.register_parameter("frozen", torch.nn.Parameter(torch.ones(1), requires_grad=False))
    assert sorted(net.state_dict()) == sorted(tnet.state_dict())
    assert sorted(n for n, _ in net.named_parameters()) == sorted(n for n, _ in tnet.named_parameters())
    assert net.get_parameter("frozen") is frozen and not frozen.requires_grad
    assert net.gain is None and net.head is net.get_submodule("head")
    # the errors torch raises, for the same reasons
    bad = [("add_module", "a.b", nn.ReLU()), ("add_module", "", nn.ReLU()), ("add_module", 3, nn.ReLU()),
           ("add_module", "scale", nn.ReLU()), ("add_module", "forward", nn.ReLU()), ("add_module", "k", 3),
           ("add_module", "count", nn.ReLU()), ("register_parameter", "a.b", None),
           ("register_parameter", "", None), ("register_parameter", 3, None), ("register_parameter", "scale", None),
           ("register_parameter", "fc", None), ("register_parameter", "count", None)]
    before = _snapshot(net)
    for method, name, value in bad:
        tvalue = torch.nn.ReLU() if isinstance(value, nn.Module) else value
        want = _raises(getattr(tnet, method), name, tvalue)
        got = _raises(getattr(net, method), name, value)
        assert got is want, (method, name, got, want)
        with pytest.raises(want, match=method):
            getattr(net, method)(name, value)
    _assert_unchanged(net, before)
    assert net.scale == 2.0 and isinstance(net.fc, nn.Linear)


def test_register_parameter_refuses_what_cannot_be_a_parameter() -> None:
    net = Net()
    leaf = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="register_parameter: 'w' is the result of op 'mul'"):
        net.register_parameter("w", leaf * 2)
    with pytest.raises(TypeError, match="register_parameter: 'w' has dtype int64"):
        net.register_parameter("w", Tensor(np.arange(3)))
    with pytest.raises(TypeError, match="register_parameter: 'w' must be a Tensor or None, got ndarray"):
        net.register_parameter("w", np.ones(3))
    with pytest.raises(ValueError, match="register_parameter: 'w' is batched"):
        net.register_parameter("w", Tensor(np.ones(3), batched=True))
    assert not hasattr(net, "w")
    assert [n for n, _ in net.named_parameters()] == ["fc.weight", "fc.bias"]


@needs_torch
def test_add_module_on_a_sequential_appends_a_layer_that_runs() -> None:
    seq = nn.Sequential(nn.Linear(3, 4, rng=0))
    seq.add_module("act", nn.Tanh())
    seq.add_module("out", nn.Linear(4, 2, rng=1))
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 4))
    tseq.add_module("act", torch.nn.Tanh())
    tseq.add_module("out", torch.nn.Linear(4, 2))
    assert list(seq.state_dict()) == list(tseq.state_dict()) == ["0.weight", "0.bias", "out.weight", "out.bias"]
    tseq.double().load_state_dict({k: torch.from_numpy(v) for k, v in seq.state_dict().items()})
    x = _rng(3).standard_normal((5, 3))
    np.testing.assert_allclose(seq(Tensor(x)).data, tseq(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    assert [n for n, _ in seq.named_children()] == ["0", "act", "out"] and seq.out is seq[2]
    seq.add_module("act", nn.ReLU())  # the same name: replaced in place, as torch
    assert isinstance(seq[1], nn.ReLU) and len(seq) == 3
    with pytest.raises(TypeError, match="Sequential.add_module: 'x' must be a Module, got NoneType"):
        seq.add_module("x", None)
    assert len(seq) == 3


# ----------------------------------------------------------------------------- look-ups


class Holder(nn.Module):
    """Children in a list attribute: their names are ``layers.0``, ``layers.1``."""

    def __init__(self) -> None:
        self.layers = [nn.Linear(2, 2, rng=0), nn.BatchNorm1d(2)]


def test_get_submodule_parameter_and_buffer_follow_the_dotted_names() -> None:
    model = nn.Sequential(_model(), Holder())
    assert model.get_submodule("") is model
    assert model.get_submodule("0.3") is model[0][3]
    assert model.get_submodule("1.layers.1") is model[1].layers[1]
    assert model.get_parameter("1.layers.0.weight") is model[1].layers[0].weight
    assert model.get_buffer("1.layers.1.running_var") is model[1].layers[1].running_var
    names = dict(model.named_parameters())
    assert all(model.get_parameter(n) is p for n, p in names.items())
    assert all(model.get_buffer(n) is b for n, b in model.named_buffers())
    assert all(model.get_submodule(n) is m for n, m in model.named_modules())


@needs_torch
@pytest.mark.parametrize("method,target,piece", [
    ("get_submodule", "0.9", "'9'"), ("get_submodule", "0.0.weight", "'weight'"), ("get_submodule", "x.y", "'x'"),
    ("get_submodule", "0.1.running_mean", "'running_mean'"), ("get_parameter", "0.0.foo", "'foo'"),
    ("get_parameter", "0.1.running_mean", "'running_mean'"), ("get_parameter", "0.0", "'0'"),
    ("get_parameter", "5.weight", "'5'"), ("get_parameter", "0.0.in_features", "'in_features'"),
    ("get_buffer", "0.1.weight", "'weight'"), ("get_buffer", "0.1.nope", "'nope'"),
    ("get_buffer", "0.0.weight.x", "'weight'")])
def test_lookup_errors_are_torchs_attribute_errors_naming_the_piece(method: str, target: str, piece: str) -> None:
    model = nn.Sequential(_model())
    tmodel = torch.nn.Sequential(_torch_model(model[0]))
    assert _raises(lambda: getattr(tmodel, method)(target)) is AttributeError
    with pytest.raises(AttributeError, match=f"{method}: .*{piece}.*looking up '{target}'"):
        getattr(model, method)(target)


def test_lookups_refuse_a_target_that_is_not_a_string() -> None:
    with pytest.raises(TypeError, match="get_submodule: target must be a dotted string"):
        _model().get_submodule(3)


@needs_torch
def test_named_modules_memo_prefix_and_duplicates_as_torch() -> None:
    shared = nn.Linear(1, 1, rng=0)
    model = nn.Sequential(shared, nn.Sequential(shared, nn.ReLU()))
    tshared = torch.nn.Linear(1, 1)
    tmodel = torch.nn.Sequential(tshared, torch.nn.Sequential(tshared, torch.nn.ReLU()))
    for kwargs in ({}, {"prefix": "p"}, {"remove_duplicate": False}, {"prefix": "m", "remove_duplicate": False}):
        assert [n for n, _ in model.named_modules(**kwargs)] == [n for n, _ in tmodel.named_modules(**kwargs)]
    memo = {shared}
    assert [n for n, _ in model.named_modules(memo)] == [n for n, _ in tmodel.named_modules({tshared})]
    assert model in memo and model[1] in memo
    dup = [m for _, m in model.named_modules(remove_duplicate=False)]
    assert sum(m is shared for m in dup) == 2
    with pytest.raises(TypeError, match="named_modules: memo must be a set of modules or None, got str"):
        list(model.named_modules("p"))


def test_zero_grad_accepts_set_to_none() -> None:
    model = _model().eval()
    (model(Tensor(_rng(1).standard_normal((4, 3)))) ** 2).mean().backward()
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------------------- dtype moves


def _dtypes(sd: dict) -> dict:
    return {k: np.dtype(str(v.dtype).replace("torch.", "")) if torch is not None and isinstance(v, torch.Tensor)
            else v.dtype for k, v in sd.items()}


@needs_torch
@pytest.mark.parametrize("move", ["float", "double", "to32", "to64", "type32"])
def test_dtype_moves_change_floating_state_like_torch(move: str) -> None:
    model = _model()
    tmodel = _torch_model(model)
    if move.endswith("64"):
        model.float()
        tmodel.float()
    x = _rng(1).standard_normal((5, 3))
    (model(Tensor(x.astype(model[0].weight.dtype))) ** 2).mean().backward()
    (tmodel(torch.from_numpy(x).to(tmodel[0].weight.dtype)) ** 2).mean().backward()
    params = model.parameters()
    grads = [p.grad.copy() for p in params]
    ran_in = model[0].weight.dtype  # the forward's dtype: the running statistics agree with torch's to its rounding
    before = model.state_dict()
    ours = {"float": lambda m: m.float(), "double": lambda m: m.double(), "to32": lambda m: m.to(np.float32),
            "to64": lambda m: m.to(dtype=np.float64), "type32": lambda m: m.type(np.float32)}[move]
    theirs = {"float": lambda m: m.float(), "double": lambda m: m.double(), "to32": lambda m: m.to(torch.float32),
              "to64": lambda m: m.to(dtype=torch.float64), "type32": lambda m: m.type(torch.float32)}[move]
    assert ours(model) is model
    theirs(tmodel)
    sd, tsd = model.state_dict(), tmodel.state_dict()
    assert list(sd) == list(tsd)
    assert _dtypes(sd) == _dtypes(tsd)
    for k in sd:
        np.testing.assert_array_equal(sd[k], before[k].astype(sd[k].dtype), err_msg=k)  # the move is a cast
        # (a BatchNorm's running mean comes from BLAS sums, whose rounding differs between the libraries)
        rtol = 1e-5 if ran_in == np.float32 else 1e-14
        np.testing.assert_allclose(sd[k], tsd[k].numpy(), rtol=rtol, atol=0, err_msg=k)
    assert all(a is b for a, b in zip(params, model.parameters()))  # the same parameter objects
    for (k, p), (_, tp), g in zip(model.named_parameters(), tmodel.named_parameters(), grads):
        assert p.grad.dtype == p.dtype == np.dtype(str(tp.grad.dtype).replace("torch.", "")), k  # cast, as torch
        np.testing.assert_array_equal(p.grad, g.astype(p.dtype), err_msg=k)


def test_to_accepts_the_cpu_a_dtype_a_tensor_or_nothing() -> None:
    model = _model()
    w = model[0].weight
    assert model.cpu() is model and model.to("cpu") is model and model.to() is model
    assert w.dtype == np.float64
    assert model.to("cpu", np.float32) is model and w.dtype == np.float32
    assert model.to(Tensor(np.zeros(2))) is model and w.dtype == np.float64
    assert model.to(np.zeros(1, np.float32)) is model and w.dtype == np.float32
    assert model.to(device="cpu:0", dtype="float64", non_blocking=True) is model and w.dtype == np.float64
    assert model.to(np.float32, False) is model and w.dtype == np.float32
    assert model.get_buffer("1.num_batches_tracked").dtype == np.int64
    assert model.double() is model and model[0].weight is w and w.dtype == np.float64


@needs_torch
@pytest.mark.parametrize("args,kwargs,error,match", [
    (("cuda",), {}, RuntimeError, "to: device 'cuda' is not available"),
    (("foo",), {}, RuntimeError, "to: device 'foo' is not available"),
    (("cpu", np.int32), {}, TypeError, "to: .*floating-point dtype, got int32"),
    ((np.int64,), {}, TypeError, "to: .*floating-point dtype, got int64"),
    ((), {"dtype": np.bool_}, TypeError, "to: .*floating-point dtype, got bool"),
    ((Tensor(np.arange(3)),), {}, TypeError, "to: .*floating-point dtype, got int64"),
    ((np.float32,), {"memory_format": None}, TypeError, "to: unexpected keyword argument"),
    ((np.float32,), {"dtype": np.float32}, TypeError, "to: dtype given twice"),
    (("cpu", np.float32), {"non_blocking": 1}, TypeError, "to: non_blocking must be a bool, got 1"),
    ((np.float32, True, True), {}, TypeError, "to: too many arguments")])
def test_to_refuses_bad_arguments_and_changes_nothing(args: tuple, kwargs: dict, error: type, match: str) -> None:
    model = _model()
    before = _snapshot(model)
    with pytest.raises(error, match=match):
        model.to(*args, **kwargs)
    _assert_unchanged(model, before)


@needs_torch
def test_to_refuses_an_integer_dtype_as_torch() -> None:
    model = _model()
    before = _snapshot(model)
    assert _raises(lambda: _torch_model(model).to(torch.int32)) is TypeError
    with pytest.raises(TypeError, match="to: .*floating-point dtype, got int32"):
        model.to(np.int32)
    with pytest.raises(TypeError, match="type: .*floating-point dtype, got int32"):
        model.type(np.int32)
    with pytest.raises(TypeError, match="type: expected a dtype"):
        model.type("torch.NoSuchTensor")
    with pytest.raises(TypeError, match="type: .*floating-point dtype, got int64"):
        model.type("torch.LongTensor")  # (torch's string spelling of a tensor type, as Tensor.type takes)
    _assert_unchanged(model, before)


def test_a_graph_built_before_a_move_refuses_backward() -> None:
    model = _model().eval()
    loss = (model(Tensor(_rng(1).standard_normal((4, 3)))) ** 2).mean()
    model.float()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_move_to_the_same_dtype_keeps_graphs_valid() -> None:
    model = _model().eval()
    loss = (model(Tensor(_rng(1).standard_normal((4, 3)))) ** 2).mean()
    model.double()
    model.to("cpu")
    loss.backward()
    assert model[0].weight.grad.shape == (4, 3)


# ----------------------------------------------------------------------------- optimizers, per-sample


@needs_torch
@pytest.mark.parametrize("opt_name", ["Adam", "SGD"])
def test_an_optimizer_built_before_float_keeps_training_the_model(opt_name: str) -> None:
    """Adam (and SGD with momentum) stepped in float64, then ``model.float()``, then more
    steps: the same weights as torch, whose buffers are cast by a state-dict round trip
    (torch's own step refuses float64 moments for float32 parameters)."""
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    kw = {"lr": 0.05} if opt_name == "Adam" else {"lr": 0.1, "momentum": 0.9}
    opt = getattr(tl.optim, opt_name)(model.parameters(), **kw)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **kw)
    rng = _rng(4)
    for step in range(4):
        x = rng.standard_normal((6, 3))
        if step == 2:
            model.float()
            tmodel.float()
            topt.load_state_dict(topt.state_dict())  # casts torch's buffers to the parameters' dtype
        dt = model[0].weight.dtype
        opt.zero_grad()
        topt.zero_grad()
        (model(Tensor(x.astype(dt))) ** 2).mean().backward()
        (tmodel(torch.from_numpy(x).to(tmodel[0].weight.dtype)) ** 2).mean().backward()
        opt.step()
        topt.step()
        tol = 1e-12 if dt == np.float64 else 1e-5
        for (k, p), tp in zip(model.named_parameters(), tmodel.parameters()):
            assert p.dtype == dt
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=tol, atol=tol, err_msg=f"{k} step {step}")
    for state in opt.state.values():
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))


def _per_sample_reference(model: nn.Module, x: np.ndarray, y: np.ndarray) -> list:
    """Each parameter's gradient of each sample's own loss, one sample at a time."""
    rows = []
    for b in range(len(x)):
        model.zero_grad()
        nn.mse_loss(model(Tensor(x[b:b + 1])), Tensor(y[b:b + 1])).backward()
        rows.append([p.grad.copy() for p in model.parameters()])
    model.zero_grad()
    return [np.stack([r[i] for r in rows]) for i in range(len(rows[0]))]


def test_grad_sample_takes_the_new_dtype_after_float() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.LayerNorm(4), nn.Linear(4, 2, rng=1))
    x, y = _rng(5).standard_normal((6, 3)), _rng(6).standard_normal((6, 2))
    # a backward in float64, then float(): what is kept follows the new dtype
    nn.mse_loss(model(Tensor(x, batched=True)), Tensor(y, batched=True)).backward()
    kept = [(p.grad.copy(), p.grad_sample.copy()) for p in model.parameters()]
    model.zero_grad()
    nn.mse_loss(model(Tensor(x, batched=True)), Tensor(y, batched=True)).backward()
    assert model.float() is model
    for p, (g, gs) in zip(model.parameters(), kept):
        assert p.grad.dtype == p.grad_sample.dtype == p.grad_sample_norm.dtype == np.float32
        np.testing.assert_array_equal(p.grad, g.astype(np.float32))
        np.testing.assert_array_equal(p.grad_sample, gs.astype(np.float32))
    # a new backward on a float32 batch: float32 per-sample gradients, each sample's own
    model.zero_grad()
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    nn.mse_loss(model(Tensor(x32, batched=True)), Tensor(y32, batched=True)).backward()
    got = [(p.grad, p.grad_sample, p.grad_sample_norm) for p in model.parameters()]
    want = _per_sample_reference(model, x32, y32)
    for (g, gs, norms), ref in zip(got, want):
        assert g.dtype == gs.dtype == norms.dtype == np.float32
        np.testing.assert_allclose(gs, ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, ref.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_dpsgd_built_before_float_steps_in_float32() -> None:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    opt = tl.optim.DPSGD(model.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=0.5, rng=0)
    x, y = _rng(7).standard_normal((8, 3)), _rng(8).standard_normal((8, 1))
    nn.mse_loss(model(Tensor(x, batched=True)), Tensor(y, batched=True)).backward()
    opt.step()
    opt.zero_grad()
    model.float()
    before = [p.data.copy() for p in model.parameters()]
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    nn.mse_loss(model(Tensor(x32, batched=True)), Tensor(y32, batched=True)).backward()
    opt.step()
    for p, b in zip(model.parameters(), before):
        assert p.data.dtype == np.float32 and not np.array_equal(p.data, b)
