"""A tuple inside an index (``x[:, (1, 1)]``, ``x[((0, 0, 2),)]``) is a sequence of positions,
as a list is, in torch: the same values, shapes and gradients (repeated positions add)."""

from __future__ import annotations

import random

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

X = np.random.default_rng(3).standard_normal((3, 4, 5))

FIXED = [
    ((0, 0, 2),),
    (slice(None), (1, 1)),
    (0, None, (1, 2)),
    (2, Ellipsis, (2, 3, 1)),
    (2, (3, 2), [0]),
    ([2, 0, 2], (1, 1, 0), -1),
    ((1, 2), slice(None), (4, 4)),
    (Ellipsis, (0, 0)),
]


def _check(idx_t: tuple, idx_l: tuple) -> None:
    xt = torch.tensor(X, requires_grad=True)
    yt = xt[idx_t]
    R = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    (yt * torch.tensor(R)).sum().backward()
    xl = tl.tensor(X.copy(), requires_grad=True)
    yl = xl[idx_l]
    assert tuple(yl.shape) == tuple(yt.shape), idx_l
    np.testing.assert_array_equal(yl.data, yt.detach().numpy())
    (yl * tl.tensor(R)).sum().backward()
    np.testing.assert_allclose(xl.grad, xt.grad.numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("idx", FIXED, ids=[repr(i) for i in FIXED])
def test_fixed_indices_with_a_tuple_match_torch(idx: tuple) -> None:
    _check(idx, idx)


def test_random_indices_with_tuples_match_torch() -> None:
    rnd = random.Random(11)
    done = 0
    for _ in range(600):
        items, d = [], 0
        for _ in range(rnd.randint(1, 3)):
            n = X.shape[d]
            r = rnd.random()
            if r < 0.35:
                items.append(tuple(rnd.randrange(n) for _ in range(rnd.choice([2, 3]))))
            elif r < 0.5:
                items.append([rnd.randrange(n) for _ in range(rnd.choice([2, 3]))])
            elif r < 0.7:
                items.append(rnd.randrange(-n, n))
            elif r < 0.85:
                items.append(slice(rnd.randrange(n), None))
            else:
                items.append(None)
                continue
            d += 1
        if not any(type(i) is tuple for i in items):
            continue
        idx = tuple(items)
        try:
            torch.tensor(X)[idx]
        except (IndexError, RuntimeError):
            continue
        _check(idx, idx)
        done += 1
    assert done > 100


def test_a_write_at_a_tuple_of_positions_matches_torch() -> None:
    out = {}
    for lib in (torch, tl):
        w = lib.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        h = w * 1
        h[0, (1, 3)] = lib.tensor([10.0, 20.0], dtype=lib.float64)
        v = lib.tensor([1.0, 2.0], requires_grad=True, dtype=lib.float64)
        h[(2, 2), (0, 1)] = v
        (h * h).sum().backward()
        out[lib] = [np.asarray(a.detach().numpy() if lib is torch else a) for a in (h.data, w.grad, v.grad)]
    for a, b in zip(out[tl], out[torch]):
        np.testing.assert_array_equal(a, b)
