"""In-place writes through views of results that numpy builds as views of private arrays
(repeat/tile, a reshape that copies, pooling, logsumexp, unfold, pixel_shuffle): such a
result is a new tensor, as torch's, so writing through a view of it is recorded and the
gradient follows the write."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
W0 = RNG.standard_normal((2, 3, 4)) + 0.1


def _run(lib, make, write):
    F = lib.nn.functional
    w = lib.tensor(W0.copy(), requires_grad=True)
    h = make(w, F)
    write(h)
    loss = (h * h).sum() + h.sum()
    loss.backward()
    hv = h.detach().numpy() if lib is torch else h.data
    gv = w.grad.numpy() if lib is torch else w.grad
    return hv, gv


CASES = {
    "repeat": (lambda w, F: w.repeat(1, 2, 1), lambda h: h[0, 1].mul_(3)),
    "tile": (lambda w, F: w.tile((2, 1, 1)), lambda h: h[3].add_(h[0].detach())),
    "reshape of a transpose": (lambda w, F: w.transpose(1, 2).reshape(-1), lambda h: h[2:5].mul_(-2)),
    "max_pool1d": (lambda w, F: F.max_pool1d(w, 2), lambda h: h[1, 0].mul_(5)),
    "max_pool2d": (lambda w, F: F.max_pool2d(w[None], 2), lambda h: h[0, 0, 0].mul_(5)),
    "unfold": (lambda w, F: F.unfold(w[None], (2, 2)), lambda h: h[0, 1].mul_(-1)),
    "pixel_shuffle": (lambda w, F: F.pixel_shuffle(w.reshape(1, 4, 3, 2), 2), lambda h: h[0, 0, 1].mul_(4)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_write_through_a_view_of_a_new_result_matches_torch(name: str) -> None:
    make, write = CASES[name]
    want_h, want_g = _run(torch, make, write)
    got_h, got_g = _run(tl, make, write)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-12, atol=1e-12)


def test_a_write_into_logsumexps_output_keeps_the_values_its_backward_reads() -> None:
    # torch refuses this backward (logsumexp's reads its output); here the former output is
    # kept, so the gradient is the exact one: softmax rows, the written row's doubled
    w = tl.tensor(W0.copy(), requires_grad=True)
    h = w.logsumexp(2)
    h[1].mul_(2)
    h.sum().backward()
    t = torch.tensor(W0)
    np.testing.assert_allclose(h.data, t.logsumexp(2).numpy() * np.array([[1.0], [2.0]]), rtol=1e-14)
    want = torch.softmax(t, 2).numpy() * np.array([1.0, 2.0])[:, None, None]
    np.testing.assert_allclose(w.grad, want, rtol=1e-12)


def test_repeat_of_a_leaf_then_a_write_gives_torchs_gradient() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w.repeat(2)
    h[0].mul_(3)
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.data, [3.0, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(w.grad, [20.0, 8.0])


def test_a_reshape_that_is_a_view_still_writes_through_to_its_base() -> None:
    w = tl.tensor(W0.copy(), requires_grad=True)
    h = w * 1.0
    v = h.reshape(6, 4)
    assert np.shares_memory(v.data, h.data)
    v[0].mul_(2.0)
    assert h.data[0, 0, 0] == 2.0 * W0[0, 0, 0]
    h.sum().backward()
    want = np.ones_like(W0)
    want[0, 0] = 2.0
    np.testing.assert_array_equal(w.grad, want)


def test_a_reshape_that_copies_owns_its_memory_and_leaves_its_input_alone() -> None:
    w = tl.tensor(W0.copy(), requires_grad=True)
    h = w * 1.0
    r = h.transpose(1, 2).reshape(-1)
    assert r.data.base is None and not np.shares_memory(r.data, h.data)
    r[0].mul_(10.0)
    np.testing.assert_array_equal(h.data, W0)
