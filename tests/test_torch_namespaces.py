"""torch names a porting user reaches for: tl.optim.swa_utils (AveragedModel, SWALR, update_bn and
the averaging rules), tl.testing.assert_close / make_tensor, tl.Size, tl.autograd.gradcheck /
gradgradcheck / set_detect_anomaly / grad_mode, tl.compile and tl.set_printoptions.

Each is run against torch 2.13 where torch has it: the same training run averaged by both,
the same lr schedule, the same BatchNorm statistics, the same assert_close verdicts and
failure messages, the same reprs under the same print options.
"""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.optim import swa_utils

rng = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _default_printoptions() -> Any:
    tl.set_printoptions(profile="default")
    yield
    tl.set_printoptions(profile="default")


# ------------------------------------------------------------------ swa_utils -------
def _pair(torch: Any, bn: bool = False) -> tuple:
    """The same float64 MLP in torch and here (optionally with a BatchNorm)."""
    torch.manual_seed(3)
    layers = [torch.nn.Linear(4, 6)] + ([torch.nn.BatchNorm1d(6)] if bn else []) + [torch.nn.Tanh(),
                                                                                     torch.nn.Linear(6, 2)]
    tm = torch.nn.Sequential(*layers).double()
    ours = [tl.nn.Linear(4, 6)] + ([tl.nn.BatchNorm1d(6)] if bn else []) + [tl.nn.Tanh(), tl.nn.Linear(6, 2)]
    m = tl.nn.Sequential(*ours)
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return m, tm


def _train(torch: Any, m: Any, tm: Any, am: Any, tam: Any, steps: int = 20, check: Any = None) -> None:
    """SGD with momentum on both models, averaging after each step; ``check`` after each."""
    opt = tl.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.05, momentum=0.9)
    data = np.random.default_rng(1)
    for _ in range(steps):
        x, y = data.normal(size=(8, 4)), data.normal(size=(8, 2))
        opt.zero_grad()
        ((m(tl.tensor(x)) - tl.tensor(y)) ** 2).mean().backward()
        opt.step()
        topt.zero_grad()
        ((tm(torch.tensor(x)) - torch.tensor(y)) ** 2).mean().backward()
        topt.step()
        am.update_parameters(m)
        tam.update_parameters(tm)
        if check is not None:
            check()


def _same_state(am: Any, tam: Any) -> None:
    ours, theirs = am.state_dict(), tam.state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k].detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("rule", ["swa", "ema_avg_fn", "ema_multi_avg_fn", "custom_avg_fn"])
def test_averaged_model_matches_torch(torch: Any, rule: str) -> None:
    m, tm = _pair(torch)
    su = torch.optim.swa_utils
    kw = {"swa": ({}, {}),
          "ema_avg_fn": ({"avg_fn": swa_utils.get_ema_avg_fn(0.9)}, {"avg_fn": su.get_ema_avg_fn(0.9)}),
          "ema_multi_avg_fn": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.8)},
                               {"multi_avg_fn": su.get_ema_multi_avg_fn(0.8)}),
          "custom_avg_fn": ({"avg_fn": lambda a, c, n: 0.5 * a + 0.5 * c + 0.01 * n.item()},
                            {"avg_fn": lambda a, c, n: 0.5 * a + 0.5 * c + 0.01 * n.item()})}[rule]
    am, tam = swa_utils.AveragedModel(m, **kw[0]), su.AveragedModel(tm, **kw[1])
    assert am.module is not m and am.module[0].weight is not m[0].weight
    _train(torch, m, tm, am, tam, check=lambda: _same_state(am, tam))
    assert int(am.n_averaged.item()) == 20 and am.n_averaged.dtype == np.int64
    x = rng.normal(size=(5, 4))
    np.testing.assert_allclose(am(tl.tensor(x)).data, tam(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    # the model itself moved on: the average differs from it
    assert not np.allclose(am.module[0].weight.data, m[0].weight.data)


@pytest.mark.parametrize("multi", [False, True])
def test_swa_is_the_mean_of_the_snapshots(multi: bool) -> None:
    m = tl.nn.Linear(3, 2)
    am = swa_utils.AveragedModel(m, multi_avg_fn=swa_utils.get_swa_multi_avg_fn() if multi else None)
    snaps = []
    g = np.random.default_rng(5)
    for _ in range(12):
        with tl.no_grad():
            m.weight.copy_(g.normal(size=(2, 3)))
            m.bias.copy_(g.normal(size=2))
        snaps.append((m.weight.data.copy(), m.bias.data.copy()))
        am.update_parameters(m)
    np.testing.assert_allclose(am.module.weight.data, np.mean([s[0] for s in snaps], 0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(am.module.bias.data, np.mean([s[1] for s in snaps], 0), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_buffers_match_torch(torch: Any, use_buffers: bool) -> None:
    m, tm = _pair(torch, bn=True)
    am = swa_utils.AveragedModel(m, use_buffers=use_buffers)
    tam = torch.optim.swa_utils.AveragedModel(tm, use_buffers=use_buffers)
    _train(torch, m, tm, am, tam, steps=10)
    _same_state(am, tam)
    if not use_buffers:  # the buffers are the model's own, copied at each update
        np.testing.assert_array_equal(am.module[1].running_mean.data, m[1].running_mean.data)


def test_averaged_model_checks_and_changes_nothing(torch: Any) -> None:
    m = tl.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(m, avg_fn=swa_utils.get_swa_avg_fn(), multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="model must be a Module"):
        swa_utils.AveragedModel(np.zeros(3))
    am = swa_utils.AveragedModel(m)
    am.update_parameters(m)
    before = {k: v.copy() for k, v in am.state_dict().items()}
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        am.update_parameters(tl.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="the model has 1 parameters"):
        am.update_parameters(tl.nn.Linear(3, 2, bias=False))
    for k, v in am.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    for fn in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"decay must be a number in \[0, 1\], got 1.5"):
            fn(1.5)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
def test_swalr_lrs_match_torch(torch: Any, strategy: str, anneal_epochs: int) -> None:
    lrs, swa_lrs = (0.1, 0.03), [0.02, 0.05]
    ps = [tl.tensor(np.ones(2), requires_grad=True), tl.tensor(np.ones(3), requires_grad=True)]
    tps = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    opt = tl.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=0.1)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)], lr=0.1)
    pre, tpre = tl.optim.StepLR(opt, 2, 0.5), torch.optim.lr_scheduler.StepLR(topt, 2, 0.5)
    for _ in range(3):  # an ordinary schedule first, then SWA from where it left the lr
        opt.step(), pre.step(), topt.step(), tpre.step()
    s = swa_utils.SWALR(opt, swa_lrs, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    ts = torch.optim.swa_utils.SWALR(topt, swa_lrs, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    seen = []
    for step in range(12):
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-14, abs=0), step
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-14)
        assert [g["swa_lr"] for g in opt.param_groups] == swa_lrs
        seen.append(s.get_last_lr())
        opt.step(), s.step(), topt.step(), ts.step()
    assert seen[-1] == pytest.approx(swa_lrs)  # annealed all the way
    # a saved schedule resumes where it was
    state = s.state_dict()
    s2 = swa_utils.SWALR(tl.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=0.1), 0.3)
    s2.load_state_dict(state)
    assert s2._anneal_strategy == strategy and s2.anneal_epochs == anneal_epochs
    assert s2._step_count == s._step_count and s2.last_epoch == s.last_epoch


def test_swalr_checks_and_changes_nothing() -> None:
    opt = tl.optim.SGD([tl.tensor(np.ones(2), requires_grad=True)], lr=0.1)
    for kw, err, text in (({"anneal_strategy": "exp"}, ValueError, "anneal_strategy must be one of"),
                          ({"anneal_epochs": -1}, ValueError, "anneal_epochs must be an int >= 0, got -1"),
                          ({"anneal_epochs": 2.5}, ValueError, "anneal_epochs must be an int >= 0, got 2.5"),
                          ({"swa_lr": [0.1, 0.2]}, ValueError, "swa_lr must be one number or a list of 1")):
        with pytest.raises(err, match=text):
            swa_utils.SWALR(opt, **{"swa_lr": 0.05, **kw})
        assert opt.param_groups[0]["lr"] == 0.1 and "swa_lr" not in opt.param_groups[0]
        assert "initial_lr" not in opt.param_groups[0]


def test_update_bn_matches_torch(torch: Any) -> None:
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5, momentum=0.3), torch.nn.ReLU(),
                             torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4)).double()
    m = tl.nn.Sequential(tl.nn.Linear(3, 5), tl.nn.BatchNorm1d(5, momentum=0.3), tl.nn.ReLU(),
                         tl.nn.Linear(5, 4), tl.nn.BatchNorm1d(4))
    for k, v in tm.state_dict().items():  # stale statistics, to be replaced
        if "running" in k:
            v.copy_(torch.tensor(rng.uniform(0.5, 2.0, size=v.shape)))
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    m.eval(), tm.eval()
    g = np.random.default_rng(2)
    batches = [g.normal(size=(n, 3)) for n in (7, 4, 9)]
    loader = [(tl.tensor(b), tl.tensor(np.zeros(len(b)))) for b in batches]
    tloader = [(torch.tensor(b), torch.zeros(len(b))) for b in batches]
    swa_utils.update_bn(loader, m)
    torch.optim.swa_utils.update_bn(tloader, tm)
    ours, theirs = m.state_dict(), tm.state_dict()
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    assert int(ours["1.num_batches_tracked"]) == 3
    assert m[1].momentum == 0.3 and m[4].momentum == 0.1 and not m.training
    # plain Tensor batches give the same; the running mean is the mean of the batch means
    m2 = copy.deepcopy(m)
    swa_utils.update_bn([tl.tensor(b) for b in batches], m2)
    np.testing.assert_allclose(m2[1].running_mean.data, m[1].running_mean.data, rtol=1e-14)
    h = [np.maximum(0, b @ m[0].weight.data.T + m[0].bias.data) for b in batches]
    np.testing.assert_allclose(m2[1].running_mean.data, np.mean([(b @ m[0].weight.data.T + m[0].bias.data).mean(0)
                                                                 for b in batches], 0), rtol=1e-12)
    assert len(h) == 3


def test_update_bn_without_batchnorm_changes_nothing() -> None:
    m = tl.nn.Sequential(tl.nn.Linear(2, 2))
    m.eval()
    calls = []
    swa_utils.update_bn(iter([calls.append(1)]), m)  # (a model without BatchNorm does not read the loader)
    assert not m.training
    with pytest.raises(TypeError, match="update_bn: model must be a Module"):
        swa_utils.update_bn([], "model")


def test_swa_utils_names() -> None:
    assert tl.optim.swa_utils is swa_utils
    for name in swa_utils.__all__:
        assert callable(getattr(tl.optim.swa_utils, name))


# ------------------------------------------------------------------ testing ---------
def _verdict(fn: Any, *args: Any, **kw: Any) -> tuple:
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001  (the verdict is the kind and text of any error)
        return type(e).__name__, str(e)
    return ("ok", "")


def _cases(torch: Any) -> list:
    """(ours actual, ours expected, torch actual, torch expected, keywords)."""
    T, t = tl.tensor, torch.tensor
    f32, f64 = np.float32, np.float64
    a32 = np.array([1.0, 2.0, 3.0], f32)
    b32 = np.array([1.0, 2.5, 3.0], f32)
    m = np.arange(6.0).reshape(2, 3)
    m2 = m.copy()
    m2[1, 2] += 0.1
    out = [
        (T(a32), T(b32), t(a32), t(b32), {}),
        (T(a32), T(a32 * (1 + 1e-7)), t(a32), t(a32 * (1 + 1e-7)), {}),
        (T(m), T(m2), t(m), t(m2), {}),
        (m, m2, m, m2, {}),
        (m, m2, m, m2, {"rtol": 0.05, "atol": 0.0}),
        (T(np.array([1, 2])), T(np.array([1, 3])), t([1, 2]), t([1, 3]), {}),
        (T(np.array([0.0])), T(np.array([1e-6])), t([0.0], dtype=torch.float64), t([1e-6], dtype=torch.float64), {}),
        (T(np.array([np.nan, 1.0], f32)), T(np.array([np.nan, 1.0], f32)), t([np.nan, 1.0]), t([np.nan, 1.0]), {}),
        (T(np.array([np.nan, 1.0], f32)), T(np.array([np.nan, 1.0], f32)), t([np.nan, 1.0]), t([np.nan, 1.0]),
         {"equal_nan": True}),
        (T(np.array([1.0, np.inf], f32)), T(np.array([1.0, np.inf], f32)), t([1.0, np.inf]), t([1.0, np.inf]), {}),
        (T(a32), T(a32.astype(f64)), t(a32), t(a32.astype(f64)), {}),
        (T(a32), T(a32.astype(f64)), t(a32), t(a32.astype(f64)), {"check_dtype": False}),
        (T(np.array([1.0])), T(np.array([1.0, 2.0])), t([1.0]), t([1.0, 2.0]), {}),
        (T(np.array(1.0, f32)), T(np.array(2.0, f32)), t(1.0), t(2.0), {}),
        (T(np.array([True])), T(np.array([False])), t([True]), t([False]), {}),
        (1.0, 1.5, 1.0, 1.5, {}), (1, 2, 1, 2, {}), (1, 1.0, 1, 1.0, {}), (1.0, 1.0 + 1e-8, 1.0, 1.0 + 1e-8, {}),
        (True, False, True, False, {}),
        ([1.0, T(a32)], [1.0, T(b32)], [1.0, t(a32)], [1.0, t(b32)], {}),
        ({"a": [T(a32)]}, {"a": [T(b32)]}, {"a": [t(a32)]}, {"a": [t(b32)]}, {}),
        ({"a": 1}, {"b": 1}, {"a": 1}, {"b": 1}, {}),
        ([1, 2], [1, 2, 3], [1, 2], [1, 2, 3], {}),
        ((1.0, 2.0), [1.0, 2.0], (1.0, 2.0), [1.0, 2.0], {}),
        (T(a32), T(b32), t(a32), t(b32), {"msg": "custom text"}),
        (T(a32), T(b32), t(a32), t(b32), {"msg": lambda s: "wrapped: " + s}),
        (T(a32), T(b32), t(a32), t(b32), {"rtol": 1e-3}),
    ]
    # random values near float32's and float64's default tolerances, inside and outside
    for dt in (f32, f64):
        x = rng.normal(size=50).astype(dt)
        for k in (0.3, 3.0):
            rt, at = (1.3e-6, 1e-5) if dt is f32 else (1e-7, 1e-7)
            y = (x + k * (at + rt * np.abs(x)) * rng.choice([-1, 1], 50)).astype(dt)
            out.append((T(x), T(y), t(x), t(y), {}))
    return out


def test_assert_close_matches_torch(torch: Any) -> None:
    verdicts = {"ok": 0, "AssertionError": 0}
    for i, (a, b, ta, tb, kw) in enumerate(_cases(torch)):
        ours = _verdict(tl.testing.assert_close, a, b, **kw)
        theirs = _verdict(torch.testing.assert_close, ta, tb, **kw)
        want = theirs[1].replace("torch.Size", "tl.Size").replace("torch.float", "float")
        assert ours[0] == theirs[0], (i, ours, theirs)
        if ours[0] == "ValueError":
            assert "atol" in ours[1]
        else:
            assert ours[1] == want, (i, ours[1], want)
        verdicts[ours[0]] = verdicts.get(ours[0], 0) + 1
    assert verdicts["ok"] >= 8 and verdicts["AssertionError"] >= 15  # both kinds exercised


def test_assert_close_inputs_of_other_kinds() -> None:
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="no comparison for inputs of type"):
        tl.testing.assert_close(tl.tensor(x), x)  # (torch does not mix tensors and arrays either)
    with pytest.raises(TypeError, match="at item \\[1\\]"):
        tl.testing.assert_close([1.0, "a"], [1.0, "a"])
    with pytest.raises(TypeError, match="check_dtype must be a bool"):
        tl.testing.assert_close(1.0, 1.0, check_dtype="yes")
    with pytest.raises(ValueError, match="rtol must be a number >= 0"):
        tl.testing.assert_close(1.0, 1.0, rtol=-1.0, atol=0.0)
    tl.testing.assert_close(tl.Size([2, 3]), (2, 3))
    tl.testing.assert_close(tl.tensor(x, requires_grad=True), tl.tensor(x))


def test_make_tensor() -> None:
    tl.manual_seed(0)
    a = tl.testing.make_tensor(3, 4, dtype=tl.float32, low=-1, high=1, requires_grad=True)
    assert a.shape == (3, 4) and a.dtype == np.float32 and a.requires_grad
    assert float(a.data.min()) >= -1 and float(a.data.max()) < 1
    b = tl.testing.make_tensor((200,), dtype=tl.int64, exclude_zero=True)
    assert b.dtype == np.int64 and b.data.min() >= -9 and b.data.max() <= 9 and not (b.data == 0).any()
    c = tl.testing.make_tensor(5, 6, dtype=tl.float64, noncontiguous=True)
    assert c.shape == (5, 6) and not c.data.flags.c_contiguous
    tl.manual_seed(0)
    np.testing.assert_array_equal(tl.testing.make_tensor(3, 4, dtype=tl.float32, low=-1, high=1).data, a.data)
    with pytest.raises(ValueError, match="low must be less than high"):
        tl.testing.make_tensor(2, dtype=tl.float64, low=1, high=1)
    with pytest.raises(ValueError, match="requires_grad=True needs a floating-point dtype"):
        tl.testing.make_tensor(2, dtype=tl.int64, requires_grad=True)


# ------------------------------------------------------------------ Size ------------
def test_size_as_torch(torch: Any) -> None:
    s, ts = tl.Size([2, 3, 4]), torch.Size([2, 3, 4])
    assert repr(s) == "tl.Size([2, 3, 4])" == str(s) and repr(ts) == "torch.Size([2, 3, 4])"
    assert s == (2, 3, 4) == ts and isinstance(s, tuple) and hash(s) == hash((2, 3, 4))
    assert s.numel() == ts.numel() == 24 and tl.Size([]).numel() == torch.Size([]).numel() == 1
    assert tl.Size([0, 5]).numel() == 0
    for ours, theirs in ((s[1:], ts[1:]), (s + (5,), ts + (5,)), ((1,) + s, (1,) + ts), (s * 2, ts * 2)):
        assert type(ours) is tl.Size and type(theirs) is torch.Size and tuple(ours) == tuple(theirs)
    assert type(s[0]) is int and s[-1] == 4
    assert tl.Size([np.int64(2), tl.tensor(3)]) == (2, 3)
    assert pickle.loads(pickle.dumps(s)) == s and type(pickle.loads(pickle.dumps(s))) is tl.Size
    with pytest.raises(TypeError, match=r"item 1 is 'float'"):
        tl.Size([2, 2.5])
    with pytest.raises(TypeError, match="iterable of ints"):
        tl.Size(3)


def test_tensor_size_is_size_and_shape_stays_a_tuple(torch: Any) -> None:
    x = tl.tensor(np.zeros((2, 5)))
    assert type(x.size()) is tl.Size and x.size() == torch.zeros(2, 5).size() and x.size(1) == 5
    assert type(x.shape) is tuple and x.shape == x.size()
    assert x.size().numel() == x.numel() == 10


# ------------------------------------------------------------------ autograd --------
class _WrongSquare(tl.autograd.Function):
    """x**2 with the derivative 3x (wrong)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x


class _FlatSquare(tl.autograd.Function):
    """x**2 whose derivative 2x is right but held as a constant (its own derivative is lost)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * tl.tensor(2 * x.data)


class _RowOneWrong(tl.autograd.Function):
    """x * 1 whose derivative is right for every output element but the second."""

    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        return g * tl.tensor([1.0, 1.5, 1.0])


def test_gradcheck_full_jacobian() -> None:
    x = tl.tensor(rng.normal(size=(3,)), requires_grad=True)
    w = tl.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    k = 2.0  # a non-Tensor input is passed through

    def f(x: Any, w: Any, k: float) -> tuple:
        return (w @ x.tanh()) * k, (x * x).sum()

    assert tl.autograd.gradcheck(f, (x, w, k))
    assert tl.autograd.gradcheck(lambda x: x.sin(), x)  # one Tensor as inputs, a vector output
    assert x.grad is None and w.grad is None  # the checks leave no gradient behind
    with pytest.raises(tl.autograd.GradcheckError, match=r"output 0, element \(0,\): input 0, index \(0,\): analytic"):
        tl.autograd.gradcheck(lambda x: _WrongSquare.apply(x), (x,))
    assert tl.autograd.gradcheck(lambda x: _WrongSquare.apply(x), (x,), raise_exception=False) is False
    with pytest.raises(tl.autograd.GradcheckError, match=r"output 0, element \(1,\): input 0, index \(1,\)"):
        tl.autograd.gradcheck(_RowOneWrong.apply, (x,))  # every row of the Jacobian is checked
    assert issubclass(tl.autograd.GradcheckError, AssertionError)
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        tl.autograd.gradcheck(lambda x: x * 2, (tl.tensor([1.0]),))
    with pytest.raises(NotImplementedError, match="check_forward_ad=True"):
        tl.autograd.gradcheck(lambda x: x * 2, (x,), check_forward_ad=True)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        tl.autograd.gradcheck(lambda x: x * 2, (x,), eps=0.0)


def test_gradcheck_agrees_with_torch(torch: Any) -> None:
    xv = rng.normal(size=(4,))

    class TWrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x

    tx = torch.tensor(xv, requires_grad=True)
    x = tl.tensor(xv, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: (x.exp() * x).cumsum(0), (tx,))
    assert tl.autograd.gradcheck(lambda x: (x.exp() * x).cumsum(0), (x,))
    assert torch.autograd.gradcheck(TWrong.apply, (tx,), raise_exception=False) is False
    assert tl.autograd.gradcheck(_WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradgradcheck() -> None:
    tl.manual_seed(1)
    x = tl.tensor(rng.normal(size=(3,)), requires_grad=True)
    y = tl.tensor(rng.normal(size=(3,)), requires_grad=True)
    assert tl.autograd.gradgradcheck(lambda x, y: (x.tanh() * y, (x * y).exp().sum()), (x, y))
    assert tl.autograd.gradgradcheck(lambda x: x.sin(), (x,), (tl.tensor(rng.normal(size=3), requires_grad=True),))
    assert tl.autograd.gradcheck(_FlatSquare.apply, (x,))  # first derivatives right ...
    with pytest.raises(tl.autograd.GradcheckError, match="autograd.gradgradcheck"):  # ... second ones not
        tl.autograd.gradgradcheck(_FlatSquare.apply, (x,))
    assert tl.autograd.gradgradcheck(_FlatSquare.apply, (x,), raise_exception=False) is False
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] must be a Tensor of shape \(3,\)"):
        tl.autograd.gradgradcheck(lambda x: x.sin(), (x,), (tl.tensor(np.ones(2), requires_grad=True),))


def test_anomaly_and_grad_mode_names() -> None:
    assert tl.autograd.detect_anomaly is tl.detect_anomaly
    assert {"gradcheck", "gradgradcheck", "set_detect_anomaly", "grad_mode"} <= set(tl.autograd.__all__)
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    x.log()  # no checks outside
    tl.autograd.set_detect_anomaly(True)  # a statement switches it on ...
    try:
        with pytest.raises(FloatingPointError):
            x.log()
    finally:
        tl.autograd.set_detect_anomaly(False)
    x.log()  # ... and off again
    with tl.autograd.set_detect_anomaly(True):
        with pytest.raises(FloatingPointError):
            x.log()
        with tl.autograd.set_detect_anomaly(False):
            x.log()
    x.log()

    @tl.autograd.set_detect_anomaly(True)  # a decorator: on while the function runs
    def logged(t: Any) -> Any:
        return t.log()

    x.log()
    with pytest.raises(FloatingPointError):
        logged(x)
    x.log()
    with pytest.raises(TypeError, match="set_detect_anomaly: mode must be a bool"):
        tl.autograd.set_detect_anomaly("yes")
    from tinygrad_lite.autograd.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled

    gm = tl.autograd.grad_mode
    assert (no_grad, enable_grad, set_grad_enabled, inference_mode) == (gm.no_grad, gm.enable_grad,
                                                                        gm.set_grad_enabled, gm.inference_mode)
    assert no_grad is tl.no_grad and set_grad_enabled is tl.set_grad_enabled
    with no_grad():
        assert not (x * 2).requires_grad
        with enable_grad():
            assert (x * 2).requires_grad


# ------------------------------------------------------------------ compile ---------
def test_compile_returns_the_model_unchanged() -> None:
    m = tl.nn.Linear(3, 2)
    assert tl.compile(m) is m and tl.compile(m, mode="max-autotune", fullgraph=True, dynamic=False) is m

    def f(x: Any) -> Any:
        return x * 2

    assert tl.compile(f) is f and tl.compile()(f) is f and tl.compile(backend="eager")(f) is f

    @tl.compile
    def g(x: Any) -> Any:
        return x + 1

    @tl.compile(mode="reduce-overhead")
    def h(x: Any) -> Any:
        return x - 1

    assert g(1) == 2 and h(1) == 0 and g.__name__ == "g"
    assert "eager" in tl.compile.__doc__
    with pytest.raises(RuntimeError, match="mode must be one of"):
        tl.compile(f, mode="fastest")
    with pytest.raises(RuntimeError, match="either mode or options"):
        tl.compile(f, mode="default", options={})
    with pytest.raises(TypeError, match="model must be a Module or a callable"):
        tl.compile(3)
    assert "compile" not in tl.__all__


# ------------------------------------------------------------------ printoptions ----
def _reprs(torch: Any) -> list:
    vals = [[1.5, 2.0], [1.0, 2.0], [1e-5, 1.0], [1e9, 1.0], [1.0, 2000.0], [np.nan, 1.5, np.inf, -np.inf],
            2.5, [[0, 1 / 7, 2 / 7], [4 / 7, 5 / 7, 1.0]], [], [0.0, 0.0], [-1.5, 2.25], [123.456, -0.001234],
            list(rng.normal(size=30) * 3)]
    out = [(repr(tl.tensor(np.array(v, np.float32))), repr(torch.tensor(v, dtype=torch.float32))) for v in vals]
    out += [(repr(tl.tensor(v)), repr(torch.tensor(v))) for v in ([1, 2], [True, False], [[True], [True]], 7)]
    out.append((repr(tl.tensor([1.25, 3.0], requires_grad=True)),
                repr(torch.tensor([1.25, 3.0], requires_grad=True))))
    return out


@pytest.mark.parametrize("options", [{}, {"precision": 2}, {"precision": 7}, {"sci_mode": True},
                                     {"sci_mode": False}, {"profile": "short"}, {"linewidth": 30},
                                     {"profile": "full", "precision": 3}])
def test_tensor_repr_follows_printoptions_as_torch(torch: Any, options: dict) -> None:
    np_before = np.get_printoptions()
    try:
        tl.set_printoptions(**options)
        torch.set_printoptions(**options)
        for ours, theirs in _reprs(torch):
            assert ours == theirs
        opts = torch._tensor_str.PRINT_OPTS
        assert tl.get_printoptions() == {k: getattr(opts, k) for k in ("precision", "threshold", "edgeitems",
                                                                       "linewidth", "sci_mode")}
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
    assert np.get_printoptions() == np_before  # numpy's own options untouched


def test_printoptions_summarise_and_ignore_numpy_globals() -> None:
    x = tl.tensor(np.arange(2000.0) / 3)
    assert "..." in repr(x) and repr(x).count(",") < 20
    tl.set_printoptions(threshold=5, edgeitems=1)
    s = repr(tl.tensor(np.arange(6.0) + 0.5))
    assert s == "tensor([0.5000, ..., 5.5000])"
    tl.set_printoptions(profile="full")
    assert "..." not in repr(x) and tl.get_printoptions()["threshold"] == math.inf
    tl.set_printoptions(profile="default")
    with np.printoptions(precision=1, floatmode="fixed", threshold=3):
        assert repr(tl.tensor([1.23456, 2.0, 3.0, 4.0])) == "tensor([1.2346, 2.0000, 3.0000, 4.0000])"
    for kw, err in (({"precision": -1}, ValueError), ({"precision": 2.5}, TypeError), ({"profile": "long"}, ValueError),
                    ({"sci_mode": "yes"}, TypeError), ({"linewidth": 0}, ValueError)):
        before = tl.get_printoptions()
        with pytest.raises(err, match="set_printoptions"):
            tl.set_printoptions(**kw)
        assert tl.get_printoptions() == before
