"""A training step leaves no reference cycles behind: everything a backward builds is freed
by reference counting when the step's last reference goes, never left for the garbage
collector (whose passes, with all they then free at once, cost a data-parallel step its
balance between ranks)."""

import gc

import numpy as np
import pytest

import tinygrad_lite as tl


def _mlp():
    return tl.nn.Sequential(tl.nn.Linear(20, 16), tl.nn.ReLU(), tl.nn.Linear(16, 3))


def _cnn():
    return tl.nn.Sequential(tl.nn.Conv2d(1, 4, 3), tl.nn.ReLU(), tl.nn.Flatten(), tl.nn.Linear(4 * 6 * 6, 3))


CASES = {
    "plain backward, SGD": (_mlp, lambda ps: tl.optim.SGD(ps, lr=0.1), {"per_sample": False}, False),
    "default backward, Adam": (_mlp, lambda ps: tl.optim.Adam(ps), {}, False),
    "default backward, grad_sample read": (_mlp, lambda ps: tl.optim.SGD(ps, lr=0.1, momentum=0.9), {}, True),
    "norms backward": (_mlp, lambda ps: tl.optim.SGD(ps, lr=0.1), {"per_sample": "norms"}, False),
    "DPSGD": (_mlp, lambda ps: tl.optim.DPSGD(ps, lr=0.1, noise_multiplier=1.0, max_grad_norm=1.0), {}, False),
    "CNN, grad_sample read": (_cnn, lambda ps: tl.optim.SGD(ps, lr=0.1), {}, True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_training_step_leaves_no_cycles(case):
    make, opt_of, kw, read = CASES[case]
    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    model = make()
    opt = opt_of(model.parameters())
    shape = (8, 20) if make is _mlp else (8, 1, 8, 8)
    x = tl.Tensor(rng.standard_normal(shape).astype(np.float32), batched=True)
    y = tl.Tensor(rng.integers(0, 3, 8), batched=True)

    def step():
        opt.zero_grad()
        tl.nn.functional.cross_entropy(model(x), y).backward(**kw)
        if read:
            [p.grad_sample for p in model.parameters()]
        opt.step()

    step()
    gc.collect()
    was = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        step()
        step()
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(was)
        gc.garbage.clear()
    assert left == []
