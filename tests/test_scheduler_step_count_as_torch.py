"""Schedulers count their steps in ``_step_count`` as torch's (a custom schedule such as a
transformer warm-up reads it in ``get_lr()``), and a state dict saved by torch loads (its
entries about torch's own bookkeeping are ignored)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")


def _param(lib):
    return torch.nn.Parameter(torch.ones(2)) if lib is torch else tl.tensor(np.ones(2), requires_grad=True)


def _noam_lrs(lib, steps: int) -> list:
    class Noam(lib.optim.lr_scheduler.LRScheduler):
        def get_lr(self):
            s = max(1, self._step_count)
            return [base * min(s ** -0.5, s * 4 ** -1.5) for base in self.base_lrs]

    opt = lib.optim.SGD([_param(lib)], lr=1.0)
    sched = Noam(opt)
    out = [(sched._step_count, sched.get_last_lr()[0])]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((sched._step_count, sched.get_last_lr()[0]))
    return out


def test_a_warm_up_reading_step_count_matches_torch() -> None:
    got, want = _noam_lrs(tl, 8), _noam_lrs(torch, 8)
    assert [c for c, _ in got] == [c for c, _ in want] == list(range(1, 10))
    np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-15)


def test_step_counts_in_a_sequence_match_torch() -> None:
    counts = {}
    for lib in (torch, tl):
        opt = lib.optim.SGD([_param(lib)], lr=1.0)
        a = lib.optim.lr_scheduler.StepLR(opt, 2)
        b = lib.optim.lr_scheduler.ExponentialLR(opt, 0.9)
        s = lib.optim.lr_scheduler.SequentialLR(opt, [a, b], milestones=[2])
        seen = []
        for _ in range(5):
            opt.step()
            s.step()
            seen.append((a._step_count, b._step_count))
        counts[lib] = seen
    assert counts[tl] == counts[torch]


def test_a_state_dict_saved_by_torch_loads_and_continues() -> None:
    topt = torch.optim.SGD([_param(torch)], lr=1.0)
    ts = torch.optim.lr_scheduler.StepLR(topt, 2, gamma=0.5)
    for _ in range(3):
        topt.step()
        ts.step()
    opt = tl.optim.SGD([_param(tl)], lr=1.0)
    s = tl.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    s.load_state_dict(ts.state_dict())
    assert (s.last_epoch, s._step_count) == (ts.last_epoch, ts._step_count)
    opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"]
    for _ in range(4):
        topt.step()
        ts.step()
        opt.step()
        s.step()
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-15)
    with pytest.raises(ValueError, match="_step_count"):
        s.load_state_dict({**s.state_dict(), "_step_count": -1})
