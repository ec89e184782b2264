"""Backward calls from several threads at once that share leaves (or a whole Value graph)
add every gradient, as torch's: no update of a leaf's .grad is lost, no sweep reads
another's scratch."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import tinygrad_lite as tl


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # (threads switch often: a lost update shows at once)
    yield
    sys.setswitchinterval(old)


def _run(n_threads: int, fn) -> None:
    errors: list = []

    def work() -> None:
        try:
            fn()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_tensor_leaves_shared_by_threads_get_every_gradient(fast_switching) -> None:
    w = tl.tensor(np.zeros(1000), requires_grad=True)
    v = tl.tensor(np.ones(3), requires_grad=True)

    def steps() -> None:
        for _ in range(150):
            ((w * 1.0).sum() + (v * v).sum()).backward()

    _run(6, steps)
    np.testing.assert_array_equal(w.grad, np.full(1000, 900.0))
    np.testing.assert_array_equal(v.grad, np.full(3, 1800.0))


def test_one_value_graph_differentiated_from_threads_adds_up(fast_switching) -> None:
    x = tl.Value(0.5)
    y = x
    for _ in range(100):
        y = (y * 1.001).tanh() + x * 0.01
    y.backward()
    one = x.grad
    x.grad = 0.0

    def steps() -> None:
        for _ in range(20):
            y.backward()

    _run(6, steps)
    assert x.grad == pytest.approx(120 * one, rel=1e-12)


def test_value_converts_to_python_numbers_as_a_one_element_tensor() -> None:
    for x in (0.0, -0.0, 2.5, -2.7, float("nan")):
        t = __import__("torch").tensor(x) if _has_torch() else None
        v = tl.Value(x)
        assert bool(v) == (x != 0) and (t is None or bool(v) == bool(t))
        assert float(v) == x or (x != x and float(v) != float(v))
        if x == x:
            assert int(v) == int(x)
    assert not tl.Value(0.0) and tl.Value(1e-300)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
