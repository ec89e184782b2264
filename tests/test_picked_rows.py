"""An unbatched tensor read at per-sample positions: ``table[idx]`` and ``table.gather(0, idx)``
with a batched integer index (a hand-written embedding, a per-sample lookup). Row b of the
result is the table at sample b's positions, so the table's per-sample gradient is sample
b's cotangent added back at those positions. Checked against each sample run alone; an
index whose sample axis does not lead the result makes reading per-sample gradients raise,
while ``.grad`` stays the batch gradient."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(11)
TABLE = RNG.standard_normal((7, 3))

CASES: dict = {
    "getitem rows": (lambda W, i: W[i], np.array([1, 2, 2, 5, 0])),
    "getitem rows, per-sample sequences": (lambda W, i: W[i], np.array([[1, 2, 2], [6, 6, 0], [0, 1, 2],
                                                                       [3, 3, 3], [5, 4, 1]])),
    "getitem rows then a slice": (lambda W, i: W[i, 1:], np.array([4, 4, 1, 0, 6])),
    "getitem entries by two per-sample indices": (lambda W, i: W[i[:, 0], i[:, 1]],
                                                  np.array([[1, 2], [2, 2], [2, 0], [5, 1], [0, 0]])),
    "gather": (lambda W, i: W.gather(0, i), np.array([[1, 1, 1], [2, 0, 1], [6, 6, 6], [0, 5, 3], [2, 2, 2]])),
}


def _cost(out: Any) -> Any:
    return (out.tanh() * out).sum(axis=tuple(range(1, out.ndim)))


def _alone(f: Callable, idx: np.ndarray) -> np.ndarray:
    rows = []
    for b in range(len(idx)):
        W = tl.Tensor(TABLE.copy(), requires_grad=True)
        _cost(f(W, idx[b:b + 1])).sum().backward()
        rows.append(W.grad)
    return np.array(rows)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_per_sample_gradients_of_a_table_read_at_per_sample_positions(case: str, reduction: str) -> None:
    f, idx = CASES[case]
    W = tl.Tensor(TABLE.copy(), requires_grad=True)
    out = f(W, tl.Tensor(idx, batched=True))
    assert out.batched
    c = _cost(out)
    (c.mean() if reduction == "mean" else c.sum()).backward()
    alone = _alone(f, idx)
    np.testing.assert_allclose(W.grad_sample, alone, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(W.grad, alone.mean(0) if reduction == "mean" else alone.sum(0), rtol=1e-12)
    np.testing.assert_allclose(W.grad_sample_norm, np.linalg.norm(alone.reshape(len(idx), -1), axis=1),
                               rtol=1e-12)


def test_dpsgd_trains_a_hand_written_embedding_as_with_materialised_rows() -> None:
    f, idx = CASES["getitem rows, per-sample sequences"]
    steps = []
    for materialise in (False, True):
        W = tl.Tensor(TABLE.copy(), requires_grad=True)
        opt = tl.optim.DPSGD([W], lr=0.5, max_grad_norm=0.3, noise_multiplier=0.7, rng=3)
        opt.zero_grad()
        _cost(f(W, tl.Tensor(idx, batched=True))).mean().backward()
        if materialise:
            rows = W.grad_sample
            norms = np.linalg.norm(rows.reshape(len(idx), -1), axis=1)
            assert norms.max() > 0.3  # some samples are clipped
        opt.step()
        steps.append(W.data.copy())
    np.testing.assert_allclose(steps[0], steps[1], rtol=1e-12)
    assert np.abs(steps[0] - TABLE).max() > 1e-3


@pytest.mark.parametrize("how", ["the index on a later axis", "a per-sample index after a constant one"])
def test_a_per_sample_index_off_the_first_axis_is_refused_on_read(how: str) -> None:
    W = tl.Tensor(TABLE.copy(), requires_grad=True)
    i = tl.Tensor(np.array([0, 2, 1, 1, 0]), batched=True)
    out = W[:, i] if how == "the index on a later axis" else W[np.array([1, 1, 0, 2, 0]), i]
    (out ** 2).sum().backward()
    np.testing.assert_allclose(W.grad, _plain_grad(how), rtol=1e-12)
    with pytest.raises(RuntimeError, match="op 'getitem' reads an unbatched tensor at a per-sample index"):
        _ = W.grad_sample


def _plain_grad(how: str) -> np.ndarray:
    W = tl.Tensor(TABLE.copy(), requires_grad=True)
    i = np.array([0, 2, 1, 1, 0])
    out = W[:, i] if how == "the index on a later axis" else W[np.array([1, 1, 0, 2, 0]), i]
    (out ** 2).sum().backward()
    return W.grad
