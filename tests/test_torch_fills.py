"""addcmul, addcdiv, addr, renorm (and their in-place twins), fill_diagonal_ and the random
fills cauchy_, log_normal_, geometric_, against torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(21)
A, B, C = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(4,))
WEIGHTS: dict = {}

CASES: dict = {
    "addcmul": lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
    "addcdiv": lambda lib, a, b, c: a.addcdiv(b, c * c + 1.0, value=-2),
    "addr": lambda lib, a, b, c: lib.addr(a, b[:, 0], c, beta=0.3, alpha=2),
    "addr_beta0": lambda lib, a, b, c: (a * float("inf")).addr(b[:, 0], c, beta=0),
    "renorm_dim0": lambda lib, a, b, c: lib.renorm(a * 3, 2, 0, 2.5),
    "renorm_p1_dim1": lambda lib, a, b, c: a.renorm(1, 1, 1.0),
    "renorm_3d": lambda lib, a, b, c: (a[:, :, None] * c).renorm(3, -1, 0.7),
    "addcmul_": lambda lib, a, b, c: (a * 1.0).addcmul_(b, c, value=3),
    "addcdiv_": lambda lib, a, b, c: (a * 1.0).addcdiv_(b, c.exp()),
    "renorm_": lambda lib, a, b, c: (a * 2.0).renorm_(2, 1, 1.5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name: str) -> None:
    res = []
    for lib in (tl, torch):
        a, b, c = (lib.tensor(v, requires_grad=True) for v in (A, B, C))
        out = CASES[name](lib, a, b, c)
        w = WEIGHTS.setdefault(name, RNG.normal(size=tuple(out.shape)))  # one weighting for both libraries
        (out * lib.tensor(w)).sum().backward()
        res.append([None if t is None else np.array(t.data if lib is tl else t.detach().numpy())
                    for t in (out, a.grad, b.grad, c.grad)])
    for ours, theirs in zip(*res):
        if theirs is None:
            assert ours is None or not np.any(ours)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)



def test_renorm_gradient_matches_finite_differences() -> None:
    x = tl.tensor(A * 2, requires_grad=True)
    assert tl.gradcheck(lambda t: (t.renorm(2, 0, 1.3) * tl.tensor(B)).sum(), (x,))


@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), True), ((7, 3), False), ((3, 6), True),
                                        ((2, 2, 2), False)])
def test_fill_diagonal_matches_torch(shape: tuple, wrap: bool) -> None:
    x, xt = tl.zeros(*shape), torch.zeros(*shape, dtype=torch.float64)
    assert x.fill_diagonal_(2.5, wrap) is x
    xt.fill_diagonal_(2.5, wrap)
    np.testing.assert_array_equal(x.data, xt.numpy())


def test_fill_diagonal_inside_a_graph_cuts_the_diagonal_gradient_and_refuses_bad_input() -> None:
    a, at = tl.tensor(A[:, :3], requires_grad=True), torch.tensor(A[:, :3], requires_grad=True)
    for t in (a, at):
        y = t * 2.0
        y.fill_diagonal_(-1.0)
        (y * y).sum().backward()
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-14)
    z = tl.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"fill_diagonal_: .*\(2, 3, 4\)"):
        z.fill_diagonal_(1.0)
    with pytest.raises(TypeError, match="fill_diagonal_: fill_value"):
        tl.zeros(2, 2).fill_diagonal_("x")
    assert not z.data.any()


def test_addr_refuses_bad_shapes_naming_them() -> None:
    with pytest.raises(ValueError, match=r"addr: vec1 and vec2 must be 1-D.*\(3, 4\)"):
        tl.tensor(A).addr(tl.tensor(A), tl.tensor(C))
    with pytest.raises(ValueError, match=r"addr: input of shape \(3, 4\) .*\(4, 4\)"):
        tl.tensor(A).addr(tl.tensor(C), tl.tensor(C))
    with pytest.raises(ValueError, match="renorm: needs p > 0"):
        tl.tensor(A).renorm(0, 0, 1.0)


@pytest.mark.parametrize("fill,args,check", [
    ("cauchy_", (1.0, 2.0), lambda v: abs(np.median(v) - 1.0) < 0.1 and abs(np.subtract(*np.percentile(v, [75, 25]))
                                                                            - 4.0) < 0.4),
    ("log_normal_", (0.5, 0.25), lambda v: abs(np.mean(np.log(v)) - 0.5) < 0.02 and abs(np.std(np.log(v)) - 0.25)
     < 0.02),
    ("geometric_", (0.25,), lambda v: v.min() >= 1 and np.all(v == np.round(v)) and abs(v.mean() - 4.0) < 0.15),
])
def test_random_fills_draw_their_law_reproducibly(fill: str, args: tuple, check: Any) -> None:
    x = tl.zeros(20000)
    assert getattr(x, fill)(*args, generator=np.random.default_rng(0)) is x
    assert check(x.data)
    y = tl.zeros(20000)
    getattr(y, fill)(*args, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(x.data, y.data)
    w = tl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"{fill}.*no_grad"):
        getattr(w, fill)(*args)
    assert not w.data.any()


def test_random_fills_refuse_bad_parameters_and_integer_tensors() -> None:
    with pytest.raises(ValueError, match="cauchy_: sigma"):
        tl.zeros(3).cauchy_(0.0, -1.0)
    with pytest.raises(ValueError, match="geometric_: p"):
        tl.zeros(3).geometric_(1.5)
    with pytest.raises(TypeError, match="log_normal_: needs a floating-point"):
        tl.tensor(np.zeros(3, np.int64)).log_normal_()
    i = tl.tensor(np.zeros(5, np.int64))
    i.geometric_(0.5, generator=np.random.default_rng(1))
    assert i.data.dtype == np.int64 and i.data.min() >= 1
