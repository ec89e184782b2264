"""Module and container behaviour side by side with torch.nn: the same model built in both
libraries must name, list, save, load, edit and print itself the same way."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
TN, LN = torch.nn, tl.nn


def _names(m) -> list:
    return [type(c).__name__ for c in m]


def _keys(m) -> list:
    return list(m.state_dict())


def _shared(nn):
    lin = nn.Linear(3, 3)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), lin, nn.BatchNorm1d(3), lin)


def _seq(nn):
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Tanh())


def _torch_np(m) -> dict:
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


# ----------------------------------------------------------------------- walks and names ---
def test_named_children_lists_a_shared_child_once_as_torch() -> None:
    t, m = _shared(TN), _shared(LN)
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()] == ["0", "1", "2", "3"]
    assert _names(m.children()) == _names(t.children())
    # the other walks still see the child under both names, as torch's
    assert [n for n, _ in m.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]
    assert _keys(m) == _keys(t)
    assert repr(m) == repr(t)


def test_state_dict_prefix_keep_vars_and_destination_as_torch() -> None:
    t, m = _shared(TN), _shared(LN)
    assert list(m.state_dict(prefix="model.")) == list(t.state_dict(prefix="model."))
    kept = m.state_dict(keep_vars=True)
    assert kept["0.weight"] is m[0].weight and t.state_dict(keep_vars=True)["0.weight"] is t[0].weight
    assert m.state_dict()["0.weight"] is not m[0].weight.data  # copies by default
    dest: dict = {}
    assert m.state_dict(destination=dest, prefix="p.") is dest and list(dest) == list(t.state_dict(prefix="p."))


def _with_buffers(nn, lib):
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.register_buffer("kept", lib.zeros(2))
            self.register_buffer("scratch", lib.ones(2), persistent=False)

        def forward(self, x):
            return self.lin(x)

    return M()


def test_a_non_persistent_buffer_is_a_buffer_but_not_saved_as_torch() -> None:
    t, m = _with_buffers(TN, torch), _with_buffers(LN, tl)
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()] == ["kept", "scratch"]
    assert _keys(m) == _keys(t)
    assert "scratch" not in _keys(m)
    r = m.load_state_dict({k: v for k, v in _torch_np(t).items()})  # strict: nothing missing
    assert r.missing_keys == [] and r.unexpected_keys == []
    m.register_buffer("scratch", np.ones(2))  # registered again, persistent: saved again
    t.register_buffer("scratch", torch.ones(2))
    assert _keys(m) == _keys(t)


def test_register_buffer_name_errors_and_identity_as_torch() -> None:
    for bad, error in (("a.b", KeyError), ("", KeyError), (3, TypeError), ("training", KeyError)):
        with pytest.raises(error):
            TN.Linear(1, 1).register_buffer(bad, torch.zeros(1))
        m = LN.Linear(1, 1)
        with pytest.raises(error):
            m.register_buffer(bad, tl.zeros(1))
        assert m.__dict__.get("_buffer_names", []) == []
    t = tl.zeros(2)
    m = LN.Module()
    m.register_buffer("b", t)
    assert m.b is t and m.get_buffer("b") is t


def test_deleting_a_buffer_unregisters_it_as_torch() -> None:
    out = []
    for nn, lib in ((TN, torch), (LN, tl)):
        bn = nn.BatchNorm1d(2)
        del bn.running_mean
        gone = ([n for n, _ in bn.named_buffers()], _keys(bn))
        bn.running_mean = lib.zeros(2)  # now a plain attribute, no longer a buffer
        out.append((gone, [n for n, _ in bn.named_buffers()], _keys(bn)))
    assert out[0] == out[1]


# ----------------------------------------------------------------------- loading -----------
def test_load_state_dict_lists_every_problem_at_once_and_changes_nothing() -> None:
    t, m = _seq(TN), _seq(LN)
    before = m.state_dict()
    bad = _torch_np(t)
    del bad["0.bias"]
    bad["extra"] = np.zeros(1)
    bad["2.weight"] = np.zeros((5, 5))
    bad["0.weight"] = bad["0.weight"] + 1.0
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict({k: torch.tensor(v) for k, v in bad.items()})
    with pytest.raises(KeyError) as le:
        m.load_state_dict(bad)
    for piece in ("0.bias", "extra", "2.weight"):
        assert piece in str(te.value) and piece in str(le.value)
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())
    two = _torch_np(t)
    two["0.weight"], two["2.weight"] = np.zeros((7, 7)), np.zeros((5, 5))
    with pytest.raises(ValueError) as le:
        m.load_state_dict(two, strict=False)
    assert "0.weight" in str(le.value) and "2.weight" in str(le.value)


def test_load_state_dict_result_prints_as_torch_when_everything_matched() -> None:
    t, m = _seq(TN), _seq(LN)
    assert repr(m.load_state_dict(_torch_np(t))) == repr(t.load_state_dict(t.state_dict()))
    r = m.load_state_dict({"0.weight": np.zeros((3, 2))}, strict=False)
    assert r.missing_keys == ["0.bias", "2.weight", "2.bias"] and r.unexpected_keys == []
    assert "0.bias" in repr(r)


def test_load_state_dict_assign_keeps_the_given_arrays_and_their_dtype() -> None:
    t, m = TN.Linear(2, 2), LN.Linear(2, 2)
    w, b = np.ones((2, 2), dtype=np.float32), np.zeros(2, dtype=np.float32)
    t.double()
    t.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)}, assign=True)
    m.load_state_dict({"weight": w, "bias": b}, assign=True)
    assert m.weight.data is w and m.weight.dtype == np.float32 and t.weight.dtype == torch.float32
    assert m.weight.requires_grad and t.weight.requires_grad
    m(tl.tensor(np.ones((3, 2), dtype=np.float32))).sum().backward()
    assert m.weight.grad.dtype == np.float32


# ----------------------------------------------------------------------- Sequential --------
def _same(op) -> None:
    """``op(nn)`` returns what to compare; an error must be of the same kind in both."""
    results = []
    for nn in (TN, LN):
        try:
            results.append(op(nn))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:
            results.append(("error", "TypeError" if isinstance(e, TypeError) else type(e).__name__))
    assert results[0] == results[1]


def _after(edit):
    def op(nn):
        s = _seq(nn)
        r = edit(nn, s)
        return _names(s), _keys(s), [n for n, _ in s.named_children()], r is s if r is not None else None
    return op


@pytest.mark.parametrize("edit", [
    lambda nn, s: s.insert(1, nn.Linear(3, 3)),
    lambda nn, s: s.insert(-1, nn.Identity()),
    lambda nn, s: s.insert(9, nn.Identity()),
    lambda nn, s: s.extend([nn.Linear(4, 1), nn.Sigmoid()]),
    lambda nn, s: type(s.pop(1)).__name__ and None,
    lambda nn, s: s.pop(-1) and None,
    lambda nn, s: s.__delitem__(1),
    lambda nn, s: s.__delitem__(slice(1, 3)),
    lambda nn, s: s.__setitem__(-1, nn.ReLU()),
    lambda nn, s: s.__iadd__(nn.Sequential(nn.Linear(4, 1))),
])
def test_sequential_edits_as_torch(edit) -> None:
    _same(_after(edit))


def test_sequential_concatenation_and_repetition_as_torch() -> None:
    _same(lambda nn: (_names(_seq(nn) + nn.Sequential(nn.Linear(4, 1))), _keys(_seq(nn) + _seq(nn))))
    _same(lambda nn: _seq(nn) + nn.ModuleList([nn.ReLU()]))

    def times(nn):
        s = nn.Sequential(nn.Linear(2, 2)) * 3
        return _names(s), _keys(s), s[0] is s[2], _names(2 * nn.Sequential(nn.ReLU()))
    _same(times)
    _same(lambda nn: nn.Sequential(nn.ReLU()) * 0)
    _same(lambda nn: nn.Sequential(nn.ReLU()) * 1.5)


def test_sequential_named_by_a_dict_is_renumbered_by_a_deletion_as_torch() -> None:
    def op(nn):
        s = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU()), ("out", nn.Linear(2, 1))]))
        del s[1]
        return _keys(s), hasattr(s, "fc")
    _same(op)


def test_sequential_forward_takes_input_by_keyword_as_torch() -> None:
    x = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(LN.Sequential(LN.Identity())(input=tl.tensor(x)).data,
                          TN.Sequential(TN.Identity())(input=torch.tensor(x)).numpy())


# ----------------------------------------------------------------------- ModuleList --------
def _ml(nn):
    return nn.ModuleList([nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2)])


def test_module_list_edits_as_torch() -> None:
    def grow(nn):
        m = _ml(nn)
        m += [nn.Tanh()]
        m += nn.ModuleList([nn.Linear(2, 2)])
        both = m + _ml(nn)
        return _names(m), _keys(m), type(both).__name__, _keys(both)
    _same(grow)

    def shrink(nn):
        m = _ml(nn)
        first = m.pop(0)
        del m[-1]
        return type(first).__name__, _keys(m), [n for n, _ in m.named_children()]
    _same(shrink)
    _same(lambda nn: (len(nn.ModuleList(None)), len(nn.ModuleList())))
    _same(lambda nn: _ml(nn) * 2)


def test_module_list_prints_repeated_children_once_as_torch() -> None:
    def text(nn):
        lin = nn.Linear(1, 1)
        return repr(nn.ModuleList([lin, lin, nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Tanh(), nn.ReLU()]))
    _same(text)
    _same(lambda nn: repr(nn.Sequential(nn.ModuleList([nn.ReLU(), nn.ReLU()]), nn.ModuleList())))


# ----------------------------------------------------------------------- keyed containers --
def _p(nn, values):
    return nn.Parameter(torch.tensor(values)) if nn is TN else nn.Parameter(np.array(values))


def test_dict_containers_update_from_their_own_kind_as_torch() -> None:
    def modules(nn):
        d = nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.ReLU()})
        d.update(nn.ModuleDict({"q": nn.Tanh()}))
        return list(d), _keys(d)
    _same(modules)

    def params(nn):
        d = nn.ParameterDict({"w": _p(nn, [1.0]), "b": _p(nn, [2.0])})  # a plain dict: sorted by key
        copy = nn.ParameterDict(d)
        copy.update(OrderedDict([("z", _p(nn, [3.0])), ("c", _p(nn, [4.0]))]))  # kept in order
        copy.update([("y", _p(nn, [5.0])), ("x", _p(nn, [6.0]))])
        return list(d), list(copy), _keys(copy), copy["w"] is d["w"]
    _same(params)


def test_parameter_list_in_place_add_and_printing_as_torch() -> None:
    def op(nn):
        pl = nn.ParameterList([_p(nn, [1.0, 2.0])])
        pl += [_p(nn, [[3.0], [4.0]])]
        return len(pl), _keys(pl)
    _same(op)
    for make in (lambda nn: nn.ParameterList([_p(nn, np.zeros((2, 3))), _p(nn, np.zeros(()))]),
                 lambda nn: nn.ParameterDict(OrderedDict([("a", _p(nn, np.zeros(2))), ("b", _p(nn, np.zeros(4)))]))):
        t, m = make(TN), make(LN)  # (the dtype is named each library's way)
        assert repr(m).replace("float64", "torch.float64") == repr(t).replace("torch.DoubleTensor", "torch.float64")


# ----------------------------------------------------------------------- layers' text ------
@pytest.mark.parametrize("name,args", [
    ("MaxPool2d", (2,)), ("MaxPool2d", (3, 1, 1)), ("AvgPool2d", (2,)), ("AvgPool2d", (3, 2, 1)),
    ("MaxPool1d", (2,)), ("MaxPool1d", (3, 1, 1, 2)), ("AvgPool1d", (2,)), ("AvgPool1d", (3, 1, 1)),
    ("MaxPool3d", (2,)), ("MaxPool3d", (3, 1, 1)), ("AvgPool3d", (2,)), ("AvgPool3d", (3, 2, 1)),
    ("MaxUnpool1d", (2,)), ("MaxUnpool1d", (3, 1, 1)), ("MaxUnpool2d", (2,)), ("MaxUnpool2d", ((2, 3), 1, (1, 0))),
    ("Dropout", ()), ("Dropout", (0.2,)), ("Dropout1d", ()), ("Dropout2d", (0.3,)),
    ("Softmax", (1,)), ("LogSoftmax", (-1,)),
])
def test_layers_print_and_keep_their_settings_as_torch(name: str, args: tuple) -> None:
    t, m = getattr(TN, name)(*args), getattr(LN, name)(*args)
    assert repr(m) == repr(t)
    if "Pool" in name and name != "AvgPool1d":  # (torch keeps AvgPool1d's sizes as 1-tuples)
        assert m.stride == t.stride
    if "Unpool" in name:  # kept as tuples
        assert (m.kernel_size, m.stride, m.padding) == (t.kernel_size, t.stride, t.padding)


def test_a_pool_with_the_default_stride_still_pools_as_torch() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 6))
    for name in ("MaxPool2d", "AvgPool2d"):
        got = getattr(LN, name)(2)(tl.tensor(x)).data
        assert np.allclose(got, getattr(TN, name)(2)(torch.tensor(x)).numpy())
    for name in ("MaxPool1d", "AvgPool1d"):
        got = getattr(LN, name)(2)(tl.tensor(x[:, :, 0])).data
        assert np.allclose(got, getattr(TN, name)(2)(torch.tensor(x[:, :, 0])).numpy())


@pytest.mark.parametrize("name", ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "MaxPool3d", "AvgPool3d"])
def test_pools_with_ceil_mode_print_it_as_torch(name: str) -> None:
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    assert repr(getattr(tl.nn, name)(**kw)) == repr(getattr(torch.nn, name)(**kw))


LOSSES = sorted(n for n in dir(tl.nn) if (n.endswith("Loss") or n in ("PairwiseDistance", "CosineSimilarity"))
                and hasattr(torch.nn, n) and n not in ("AdaptiveLogSoftmaxWithLoss", "LinearCrossEntropyLoss"))


@pytest.mark.parametrize("name", LOSSES)
def test_losses_and_distances_print_as_torch(name: str) -> None:
    assert repr(getattr(tl.nn, name)()) == repr(getattr(torch.nn, name)())


@pytest.mark.parametrize("kw", [{}, {"bias": True, "out_features": (2, 3), "label_smoothing": 0.1, "ignore_index": 3,
                                     "reduction": "sum"}])
def test_linear_cross_entropy_loss_prints_as_torch(kw: dict) -> None:
    assert repr(tl.nn.LinearCrossEntropyLoss(4, 3, **kw)) == repr(torch.nn.LinearCrossEntropyLoss(4, 3, **kw))
