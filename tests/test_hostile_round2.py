"""Hostile and careless inputs that must change nothing, or fail early and clearly:

* an optimizer state lacking a buffer its group's settings keep is refused at load (the
  step used to start that buffer again from zeros: a resumed run silently diverged);
* a refused ``register_parametrization`` leaves the parameter as it was;
* ``train()`` / ``eval()`` on a model nested deeper than the recursion limit changes nothing;
* a stream of many archives is read in one pass (it reopened the rest once per archive).
"""

import copy
import io
import sys
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import _npzsafe
from tinygrad_lite.nn.utils import parametrize


def _trained_state(cls, **kw):
    tl.manual_seed(0)
    m = tl.nn.Linear(3, 2)
    opt = cls(m.parameters(), lr=0.1, **kw)
    x = tl.Tensor(np.random.default_rng(0).normal(size=(4, 3)))
    for k in range(3):
        opt.zero_grad()
        (m(x) * (k + 1)).sum().backward()
        opt.step()
    return opt, copy.deepcopy(opt.state_dict())


@pytest.mark.parametrize("cls,kw,buffer", [(tl.optim.RMSprop, {"momentum": 0.9}, "momentum_buffer"),
                                           (tl.optim.RMSprop, {"centered": True}, "grad_avg"),
                                           (tl.optim.Adam, {"amsgrad": True}, "max_exp_avg_sq"),
                                           (tl.optim.AdamW, {"amsgrad": True}, "max_exp_avg_sq")])
def test_a_state_without_a_buffer_its_settings_keep_is_refused(cls, kw, buffer):
    opt, sd = _trained_state(cls, **kw)
    before = copy.deepcopy(opt.state_dict())
    for st in sd["state"].values():
        del st[buffer]
    with pytest.raises(ValueError, match=f"lacks the buffer\\(s\\) \\['{buffer}'\\].*nothing was loaded"):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    for k, st in before["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(after["state"][k][name], v)
    opt2, sd2 = _trained_state(cls)  # without those settings the buffer is not needed
    opt2.load_state_dict(sd2)


def test_sgd_momentum_state_without_its_buffer_loads_as_torch_does():
    opt, sd = _trained_state(tl.optim.SGD, momentum=0.9)
    for st in sd["state"].values():
        st.pop("momentum_buffer", None)
    opt.load_state_dict(sd)  # (torch's SGD starts the buffer at the next step)


class _Transposing(tl.nn.Module):
    def forward(self, X):
        return X.T

    def right_inverse(self, X):
        return X * 0 + 42.0


def test_a_refused_parametrization_leaves_the_parameter_as_it_was():
    lin = tl.nn.Linear(2, 3)
    before, version = lin.weight.data.copy(), lin.weight._v
    with pytest.raises(ValueError, match="must keep the shape .*nothing was changed"):
        parametrize.register_parametrization(lin, "weight", _Transposing())
    assert not parametrize.is_parametrized(lin)
    np.testing.assert_array_equal(lin.weight.data, before)
    assert lin.weight._v == version and isinstance(lin.weight, tl.Tensor)


def test_train_and_eval_too_deep_for_the_recursion_limit_change_nothing():
    m = tl.nn.Dropout(0.5)
    for _ in range(sys.getrecursionlimit() + 50):
        m = tl.nn.Sequential(m)
    with pytest.raises(RecursionError, match="train: modules nested deeper .*nothing was changed"):
        m.eval()
    assert all(mod.training for mod in m.modules())
    small = tl.nn.Sequential(tl.nn.Linear(2, 2), tl.nn.Sequential(tl.nn.Dropout()))
    small.eval()
    assert not any(mod.training for mod in small.modules())
    small.train()
    assert all(mod.training for mod in small.modules())


def test_a_stream_of_many_archives_is_read_in_one_pass(monkeypatch):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("arr0.npy", b"")
    blob = b.getvalue() * 2000
    calls = []
    real = _npzsafe.first_offset
    monkeypatch.setattr(_npzsafe, "first_offset", lambda data: calls.append(len(data)) or real(data))
    with pytest.raises(tl.CheckpointError, match="no '__structure__' member"):
        tl.load(io.BytesIO(blob))
    assert len(calls) <= 2


def test_saves_into_one_stream_still_load_one_by_one_with_directory_bytes_inside():
    f = io.BytesIO()
    payload = np.frombuffer(b"PK\x05\x06" * 16, dtype=np.uint8).copy()  # the end-of-directory signature as data
    for k in range(3):
        tl.save({"k": k, "a": payload + k}, f)
    f.seek(0)
    for k in range(3):
        got = tl.load(f)
        assert got["k"] == k
        np.testing.assert_array_equal(got["a"], payload + k)


def _sched_state(make):
    m = tl.nn.Linear(2, 2)
    opt = tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    s = make(opt)
    opt.step()
    s.step(1.0) if isinstance(s, tl.optim.lr_scheduler.ReduceLROnPlateau) else s.step()
    return s, copy.deepcopy(s.state_dict())


S = tl.optim.lr_scheduler


@pytest.mark.parametrize("make,key,value,words", [
    (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=20), "use_beta1", True, "use_beta1=True cycles betas"),
    (lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1), "total_size", float("nan"), "total_size must be"),
    (lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1), "step_ratio", float("nan"), "step_ratio must be"),
    (lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1), "step_ratio", 1.5, "step_ratio must be in"),
    (lambda o: S.ReduceLROnPlateau(o), "eps", -1.0, "eps"),
    (lambda o: S.ReduceLROnPlateau(o), "threshold", float("nan"), "threshold"),
    (lambda o: S.ReduceLROnPlateau(o), "best", float("nan"), "best must be a number, got NaN"),
])
def test_a_scheduler_state_that_cannot_work_is_refused_at_load(make, key, value, words):
    s, sd = _sched_state(make)
    before = copy.deepcopy(s.state_dict())
    sd[key] = value
    with pytest.raises(ValueError, match=words):
        s.load_state_dict(sd)
    after = s.state_dict()
    assert after.keys() == before.keys()
    assert all(after[k] == before[k] or (after[k] != after[k] and before[k] != before[k]) for k in before
               if not callable(before[k]))


@pytest.mark.parametrize("make,words", [
    (lambda: tl.nn.Linear(2**70, 2), "Linear: in_features must be >= 1 \\(an int64\\)"),
    (lambda: tl.nn.Conv2d(2**70, 1, 3), "Conv2d: in_channels must be an int >= 1 \\(an int64\\)"),
    (lambda: tl.nn.Linear(2, 2**62), "Linear: the result is too large to allocate"),
    (lambda: tl.nn.Conv2d(2**40, 2**40, 3), "Conv2d: the result is too large to allocate"),
])
def test_absurd_layer_sizes_are_named(make, words):
    with pytest.raises((ValueError, MemoryError), match=words):
        make()
