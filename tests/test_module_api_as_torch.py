"""Module API details checked against torch: named children of a Sequential replaced, added
and deleted by attribute, append after a slice, train() through a child's own override,
next(model.parameters()), a non-Module refused at a child's name, Parameter of a computed value."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _both(build):  # type: ignore[no-untyped-def]
    return build(tl), build(torch)


def test_a_named_child_replaced_by_attribute_runs_in_the_forward() -> None:
    for lib in (tl, torch):
        s = lib.nn.Sequential(OrderedDict([("fc", lib.nn.Linear(2, 3)), ("act", lib.nn.ReLU())]))
        s.fc = lib.nn.Linear(2, 5)
        x = tl.Tensor(np.ones((1, 2))) if lib is tl else torch.ones(1, 2)
        assert tuple(s(x).shape) == (1, 5)
        assert [k for k, _ in s.named_children()] == ["fc", "act"]
        assert list(s.state_dict()) == ["fc.weight", "fc.bias"] and len(list(s.parameters())) == 2
        del s.act
        assert [k for k, _ in s.named_children()] == ["fc"] and len(s) == 1


def test_a_module_set_on_a_plain_sequential_or_module_list_joins_it() -> None:
    ours, theirs = _both(lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU()))
    ours.extra, theirs.extra = tl.nn.Identity(), torch.nn.Identity()
    assert len(ours) == len(theirs) == 3
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()]
    ml, tml = _both(lambda lib: lib.nn.ModuleList([lib.nn.Linear(1, 1)]))
    ml.extra, tml.extra = tl.nn.ReLU(), torch.nn.ReLU()
    assert len(ml) == len(tml) == 2


def test_append_after_a_slice_names_as_torch() -> None:
    ours, theirs = _both(lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 3),
                                                        lib.nn.Linear(3, 4))[1:])
    ours.append(tl.nn.Linear(4, 5))
    theirs.append(torch.nn.Linear(4, 5))
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()] == ["1", "2"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 4


def test_train_calls_each_childs_own_train() -> None:
    results = []
    for lib in (tl, torch):
        nn = lib.nn

        class Backbone(nn.Module):  # the usual "keep BatchNorm frozen" override
            def __init__(self, nn=nn) -> None:  # type: ignore[no-untyped-def]
                super().__init__()
                self.bn = nn.BatchNorm1d(2)

            def train(self, mode: bool = True):  # type: ignore[no-untyped-def]
                super().train(mode)
                self.bn.eval()
                return self

            def forward(self, x):  # type: ignore[no-untyped-def]
                return self.bn(x)

        m = nn.Sequential(Backbone(), nn.Linear(2, 1))
        m.train()
        x = np.arange(8.0).reshape(4, 2)
        m(tl.Tensor(x) if lib is tl else torch.tensor(x, dtype=torch.float32))
        results.append((m[0].bn.training, m[1].training, np.asarray(m[0].bn.running_mean).tolist()))
    assert results[0] == results[1] == (False, True, [0.0, 0.0])


def test_a_module_held_inside_itself_trains_once() -> None:
    m = tl.nn.Sequential(tl.nn.Linear(1, 1))
    m.again = [m]
    assert m.eval() is m and not m.training and not m[0].training


def test_next_of_parameters_and_buffers() -> None:
    m = tl.nn.Sequential(tl.nn.Linear(2, 3), tl.nn.BatchNorm1d(3))
    assert next(m.parameters()).shape == (3, 2)
    assert next(m.buffers()).shape == (3,)
    it = m.parameters()
    assert [next(it).shape for _ in range(3)] == [(3, 2), (3,), (3,)]
    assert len(m.parameters()) == 4 and m.parameters()[0] is next(m.parameters())


def test_a_non_module_at_a_childs_name_is_refused() -> None:
    m = tl.nn.Module()
    m.l = tl.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="child module 'l'"):
        m.l = 3
    s = tl.nn.Sequential(OrderedDict([("fc", tl.nn.Linear(2, 3))]))
    with pytest.raises(TypeError, match="child module 'fc'"):
        s.fc = 3
    assert isinstance(m.l, tl.nn.Linear) and isinstance(s.fc, tl.nn.Linear)


def test_parameter_of_a_computed_value_is_a_detached_leaf() -> None:
    p = tl.nn.Parameter(tl.randn(3, requires_grad=True) * 0.5)
    assert p.is_leaf and p.requires_grad and isinstance(p, tl.nn.Parameter)
    q = torch.nn.Parameter(torch.randn(3, requires_grad=True) * 0.5)
    assert q.is_leaf and q.requires_grad


def test_a_module_list_is_not_a_sequential() -> None:
    ml, s = tl.nn.ModuleList([tl.nn.Linear(1, 1)]), tl.nn.Sequential(tl.nn.Linear(1, 1))
    assert not isinstance(ml, tl.nn.Sequential) and not isinstance(s, tl.nn.ModuleList)
    assert isinstance(s, tl.nn.Sequential) and isinstance(ml, tl.nn.ModuleList)
    assert len(s.extend(ml)) == 2 and len(ml + [tl.nn.ReLU()]) == 2


def test_set_submodule_as_torch() -> None:
    names = []
    for lib in (tl, torch):
        nn = lib.nn
        m = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), nn.Linear(2, 1))
        m.set_submodule("0.1", nn.Tanh())
        m.set_submodule("1", nn.Linear(2, 3))
        with pytest.raises(AttributeError):
            m.set_submodule("0.5", nn.Tanh(), strict=True)
        with pytest.raises(AttributeError):
            m.set_submodule("1.weight", nn.Tanh())
        names.append([type(x).__name__ for x in m.modules()])
        assert m[1].out_features == 3
    assert names[0] == names[1]


def test_parameter_dict_popitem_fromkeys_reversed_and_union() -> None:
    got = []
    for lib in (tl, torch):
        one = (lambda: tl.Tensor(np.ones(2))) if lib is tl else (lambda: torch.ones(2))
        d = lib.nn.ParameterDict({"a": one(), "b": one()})
        e = lib.nn.ParameterDict({"c": one()})
        row = [list(reversed(d)), list(d | e), list(e | d), d.popitem()[0], list(d),
               list(d.fromkeys(["x", "y"], one()))]
        d |= e
        got.append(row + [list(d)])
    assert got[0] == got[1]
    with pytest.raises(KeyError):
        tl.nn.ParameterDict().popitem()


def test_a_parameter_or_module_set_at_a_buffers_name_takes_it_over() -> None:
    got = []
    for lib in (tl, torch):
        m = lib.nn.Module()
        m.register_buffer("b", torch.zeros(2) if lib is torch else np.zeros(2))
        m.b = lib.nn.Parameter(lib.ones(2))
        m.register_buffer("c", torch.zeros(2) if lib is torch else np.zeros(2))
        m.c = lib.nn.Linear(1, 1)
        got.append(([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()], list(m.state_dict())))
    assert got[0] == got[1] == (["b", "c.weight", "c.bias"], [], ["b", "c.weight", "c.bias"])


def test_an_always_call_forward_hook_runs_when_a_pre_hook_raises() -> None:
    for lib in (tl, torch):
        m, calls = lib.nn.Linear(1, 1), []

        def pre(mod, args):  # type: ignore[no-untyped-def]
            raise ValueError("boom")

        m.register_forward_pre_hook(pre)
        m.register_forward_hook(lambda mod, a, o, calls=calls: calls.append(o), always_call=True)
        m.register_forward_hook(lambda mod, a, o, calls=calls: calls.append("plain"))
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1, 1))
        assert calls == [None]


def test_a_scheduler_takes_a_whole_float_step_size() -> None:
    m = tl.nn.Linear(1, 1)
    opt = tl.optim.SGD(m.parameters(), lr=1.0)
    sched = tl.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.1)
    opt.step()
    sched.step()
    assert sched.step_size == 1 and opt.param_groups[0]["lr"] == pytest.approx(0.1)
    with pytest.raises(TypeError, match="step_size"):
        tl.optim.lr_scheduler.StepLR(opt, 1.5)
