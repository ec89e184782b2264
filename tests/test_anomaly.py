"""detect_anomaly: the first op that makes a NaN/Inf, forward or backward, named with its module
path and the user's file and line; nothing recorded outside the context; per thread; nesting."""

from __future__ import annotations

import re
import sys
import threading

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, Value, nn, viz
from tinygrad_lite.anomaly import detect_anomaly

HERE = __file__


def here() -> int:
    """The line number of the caller's line."""
    return sys._getframe(1).f_lineno


def place(msg: str) -> tuple:
    """(file, line) quoted by an anomaly message."""
    m = re.search(r"created at (.+):(\d+)\)", msg)
    assert m, msg
    return m.group(1), int(m.group(2))


class Log(nn.Module):
    def forward(self, x):
        self.line = here() + 1
        return (x - 1.0).log()


class Net(nn.Module):
    """layers.0 Linear, layers.1 ReLU, layers.2 Log: the log of relu(.) - 1 meets 0 for a 1."""

    def __init__(self):
        self.layers = [nn.Linear(2, 2, rng=0), nn.ReLU(), Log()]
        self.layers[0].weight.data = np.eye(2)
        self.layers[0].bias.data = np.zeros(2)

    def forward(self, x):
        for m in self.layers:
            x = m(x)
        return x


# ------------------------------------------------------------------------------ forward ----
def test_forward_log_of_zero_names_op_module_path_and_user_line():
    net = Net()
    x = Tensor([[3.0, 1.0], [2.0, 5.0]], batched=True)
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            net(x)
    msg = str(info.value)
    assert "forward of op 'log'" in msg and "in module 'layers.2'" in msg and "Inf" in msg
    assert place(msg) == (HERE, net.layers[2].line)
    e = info.value
    assert e.op == "log" and len(e.operands) == 1 and e.node._op.name == "log"
    np.testing.assert_array_equal(e.operands[0].data, [[2.0, 0.0], [1.0, 4.0]])
    # the picture of what led there: the failed log in red, its operand a parent
    src = viz.draw_graph(e, module=net).source
    assert "log: FAILED" in src and "FloatingPointError" in src and "color=red" in src


def test_forward_inside_library_code_quotes_the_users_line():
    model = nn.Linear(1, 1, rng=0)
    model.weight.data[...] = 1e308
    x = Tensor([[10.0]])
    with detect_anomaly(), np.errstate(over="ignore"):
        with pytest.raises(FloatingPointError) as info:
            line = here() + 1
            model(x)
    msg = str(info.value)
    assert "forward of op 'linear' in module 'Linear'" in msg      # the top module: named by its type
    assert place(msg) == (HERE, line)                 # not a line of nn.py or ops/


def test_forward_outside_any_module_and_only_the_first_op():
    a = Tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match="outside any module") as info:
            line = here() + 1
            a.log()
        assert place(str(info.value)) == (HERE, line)
    with np.errstate(divide="ignore"):
        bad = a.log()                                  # made outside: no check
    with detect_anomaly():
        y = bad * 2.0                                  # NaN/Inf in, NaN/Inf out: not the first op
        assert np.isinf(y.data[0])


def test_value_forward_log_of_zero_in_a_module():
    class Neuron(nn.Module):
        def __init__(self):
            self.w = Value(1.0, label="w")

        def forward(self, x):
            self.line = here() + 1
            return (self.w * x - 1.0).log()

    class Layer(nn.Module):
        def __init__(self):
            self.neurons = [Neuron(), Neuron()]

        def forward(self, x):
            return [n(x) for n in self.neurons]

    layer = Layer()
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            layer(Value(1.0))
    msg = str(info.value)
    assert "forward of op 'log' in module 'neurons.0'" in msg
    assert place(msg) == (HERE, layer.neurons[0].line)
    assert info.value.operands[0].data == 0.0


# ------------------------------------------------------------------------------ backward ---
def test_backward_sqrt_at_zero_names_the_op_and_writes_no_leaf():
    w = Tensor([0.0, 4.0], requires_grad=True, name="w")
    with detect_anomaly():
        line = here() + 1
        r = w.sqrt()
        loss = (r * 3.0).sum()                          # forward is finite: sqrt(0) = 0
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert "backward of op 'sqrt'" in msg and "Inf" in msg and "'w'" in msg
    assert "1/(2 sqrt(a))" in msg                       # the derivative rule that did it
    assert place(msg) == (HERE, line)
    assert info.value.node is r
    assert w.grad is None                               # the failed backward wrote no leaf
    src = viz.draw_graph(info.value).source             # the graph, the sqrt whose backward failed in red
    (failed,) = [line for line in src.splitlines() if "FAILED" in line]
    assert 'label="sqrt\\nFAILED (detect_anomaly)"' in failed and "color=red" in failed
    with np.errstate(divide="ignore"):
        loss.backward()                                 # outside: no check, inf as IEEE says
    assert np.isinf(w.grad[0])


def test_backward_in_a_submodule_and_with_a_trace_of_ones_own():
    class Root(nn.Module):
        def forward(self, x):
            return x.sqrt()

    net = nn.Sequential(nn.Linear(2, 2, rng=0), Root())
    net[0].weight.data = np.eye(2)
    net[0].bias.data = np.zeros(2)
    x = Tensor([[0.0, 1.0]], batched=True)
    seen = []
    with detect_anomaly():
        loss = net(x).sum()
        with pytest.raises(FloatingPointError, match=r"backward of op 'sqrt' in module '1'"):
            loss.backward(trace=lambda node, g, grads: seen.append(node._op and node._op.name))
    assert seen[:2] == ["sum", "sqrt"]                  # the caller's trace still ran, up to the failure
    assert net[0].weight.grad is None


def test_value_backward_pow_at_zero():
    a = Value(0.0, label="a")
    with detect_anomaly():
        line = here() + 1
        y = a ** 0.5 + 1.0
        with pytest.raises(FloatingPointError) as info:
            y.backward()
    msg = str(info.value)
    assert "backward of op 'pow'" in msg and "'a'" in msg and place(msg) == (HERE, line)
    assert a.grad == 0.0
    y.backward()                                        # outside: IEEE inf, no error
    assert a.grad == float("inf")


def test_finite_runs_are_untouched():
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 1, rng=1))
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)), batched=True)
    loss = nn.mse_loss(net(x), Tensor(np.zeros((5, 1)), batched=True))
    loss.backward()
    ref = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    with detect_anomaly():
        loss2 = nn.mse_loss(net(x), Tensor(np.zeros((5, 1)), batched=True))
        loss2.backward()
    for p, r in zip(net.parameters(), ref):
        np.testing.assert_array_equal(p.grad, r)
    assert net[0].weight.grad_sample.shape == (5, 4, 3)


# ------------------------------------------------------------------------------ recording --
def test_nothing_is_recorded_outside_the_context():
    net = Net()
    a = Tensor([1.0, 2.0], requires_grad=True)
    v = Value(2.0)
    y = (a * 2.0).sum()
    vy = v * 3.0
    out = net(Tensor([[3.0, 2.0]], batched=True))
    assert all(getattr(n, "_src", None) is None for n in (y, y._parents[0], vy, out))
    with detect_anomaly():
        y2 = (a * 2.0).sum()
        vy2 = v * 3.0
    assert y2._src[0] == "" and y2._src[1] == HERE and vy2._src[1] == HERE
    y3 = a * 2.0
    assert getattr(y3, "_src", None) is None            # recording stops on exit


def test_value_ops_remember_their_module_only_inside_one():
    class Twice(nn.Module):
        def forward(self, x):
            return x * 2.0

    m = Twice()
    v = Value(1.0)
    inside = m(v)
    outside = v * 2.0
    assert inside._mod is m
    assert getattr(outside, "_mod", None) is None and getattr(inside, "_src", None) is None


# ------------------------------------------------------------------------------ modes ------
def test_nesting_and_decorator_restore_the_mode():
    zero = Tensor([0.0], requires_grad=True)
    with detect_anomaly():
        with detect_anomaly(check_nan=False):
            with np.errstate(divide="ignore"):
                zero.log()                              # switched off inside
            with detect_anomaly():
                with pytest.raises(FloatingPointError):
                    zero.log()
            with np.errstate(divide="ignore"):
                zero.log()                              # back to off
        with pytest.raises(FloatingPointError):
            zero.log()                                  # back to on
    assert not tl.graph.state.anomaly

    @detect_anomaly()
    def f(t):
        return t.log()

    with pytest.raises(FloatingPointError):
        f(zero)
    assert not tl.graph.state.anomaly and f.__name__ == "f"
    with pytest.raises(TypeError, match="check_nan"):
        detect_anomaly(check_nan="yes")
    assert tl.detect_anomaly is detect_anomaly


def test_other_threads_are_unaffected():
    zero = Tensor([0.0], requires_grad=True)
    results: dict = {}
    inside = threading.Event()
    done = threading.Event()

    def other() -> None:
        inside.wait(5)
        with np.errstate(divide="ignore"):
            y = zero.log()                              # main thread is inside detect_anomaly
            vy = Value(0.0).log()
        results["other"] = (float(y.data[0]), getattr(y, "_src", None), vy.data, getattr(vy, "_src", None))
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with detect_anomaly():
        inside.set()
        done.wait(5)
        with pytest.raises(FloatingPointError):
            zero.log()
    t.join()
    assert results["other"] == (float("-inf"), None, float("-inf"), None)

    errors: list = []

    def anomalous() -> None:
        with detect_anomaly():
            try:
                zero.log()
            except FloatingPointError as e:
                errors.append(e)

    t = threading.Thread(target=anomalous)
    t.start()
    t.join()
    assert len(errors) == 1
    with np.errstate(divide="ignore"):
        assert np.isinf(zero.log().data[0])             # this thread never entered the mode
