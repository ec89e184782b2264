"""Loops of stores into one buffer inside a graph (``out[:, t] = h``, the README's RNN loop).

A store's former node keeps only the region it overwrote when nothing else reads its values
(``formers.hollow_values``), so memory grows with the number of stores, not with its square;
a backward that needs such a former node's values (an op built before the store read the
buffer) rebuilds them from the later values and the kept regions. Gradients are checked
against torch where torch runs the program, else against central differences."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl

B, T, H = 3, 6, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, 2))
W = RNG.normal(size=(2, H))
U = RNG.normal(size=(H, H)) * 0.5


def _program(L: Any, arrays: tuple, variant: str, grad: bool = True) -> tuple:
    """The loss of an RNN-like loop storing each step's state into ``out``, and its inputs."""
    if L is tl:
        x, w, u = (tl.tensor(a, requires_grad=grad) for a in arrays)
        zeros = tl.zeros
    else:
        x, w, u = (L.tensor(a, requires_grad=grad) for a in arrays)
        zeros = L.zeros
    h = zeros(B, H, dtype=L.float64)
    out = zeros(B, T, H, dtype=L.float64)
    if "graph" in variant:  # the buffer is a value of the graph before the first store
        out = out + w[0, 0] * 0.1
    before = out * out if "saved" in variant else None  # (an op built before the stores: torch refuses)
    scaled = out * 3 if "scaled" in variant else None  # (one that saved nothing: torch runs it)
    for t in range(T):
        h = (x[:, t] @ w + h @ u).tanh()
        if "prev" in variant and t:
            out[:, t] = out[:, t - 1] * 0.5 + h  # (reads the buffer: its former node keeps all values)
        else:
            out[:, t] = h
        if "relu" in variant and t == 2:
            out.relu_()  # (its former node keeps all values: relu's backward reads them)
        if "view" in variant and t == 3:
            out[0].mul_(2)  # (a write through a view)
        if "nograd" in variant and t == 1:
            with L.no_grad():
                out[:, 4] = 7.0  # (a store outside the graph, overwritten by the graph's later)
    loss = (out ** 2).sum()
    if before is not None:
        loss = loss + (before * out).sum() + before.sum()
    if scaled is not None:
        loss = loss + (scaled * scaled).sum()
    return loss, (x, w, u)


def _tl_grads(variant: str) -> tuple:
    loss, inputs = _program(tl, (X, W, U), variant)
    loss.backward()
    return float(loss.item()), [np.array(p.grad) for p in inputs]


def _central_differences(variant: str) -> list:
    grads = []
    for k, a in enumerate((X, W, U)):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            arrays = [X.copy(), W.copy(), U.copy()]
            arrays[k][i] += 1e-6
            with tl.no_grad():
                hi = _program(tl, tuple(arrays), variant, grad=False)[0].item()
            arrays[k][i] -= 2e-6
            with tl.no_grad():
                lo = _program(tl, tuple(arrays), variant, grad=False)[0].item()
            g[i] = (hi - lo) / 2e-6
        grads.append(g)
    return grads


@pytest.mark.parametrize("variant", ["plain", "graph", "prev", "graph-view", "graph-scaled", "scaled-prev-view"])
def test_a_loop_of_stores_has_torchs_values_and_gradients(variant: str) -> None:
    torch = pytest.importorskip("torch")
    value, grads = _tl_grads(variant)
    loss, inputs = _program(torch, (X, W, U), variant)
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    for mine, p in zip(grads, inputs):
        np.testing.assert_allclose(mine, p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", ["plain", "prev", "graph-relu", "graph-saved", "graph-saved-relu",
                                     "graph-saved-prev", "graph-saved-view", "graph-saved-nograd"])
def test_a_loop_of_stores_has_the_gradient_of_central_differences(variant: str) -> None:
    """``saved``: an op built before the stores read the buffer and saved its values (torch
    refuses); its backward reads the values it saw, rebuilt from the regions the stores kept."""
    _, grads = _tl_grads(variant)
    for mine, want in zip(grads, _central_differences(variant)):
        np.testing.assert_allclose(mine, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("pre_at", [0, 1, 2, 3])
@pytest.mark.parametrize("outside", [False, True])
def test_an_op_built_between_stores_reads_the_values_of_its_time(pre_at: int, outside: bool) -> None:
    """``pre = out * out`` built before store ``pre_at`` of a buffer that starts as a constant
    (every store's former node is hollow), with or without a store outside the graph after
    the second store."""
    w0 = np.array([0.3, -1.2, 0.7])

    def program(wv: Any) -> Any:
        out = tl.zeros(4, 3) if isinstance(wv, tl.Tensor) else np.zeros((4, 3))
        pre = None
        for t in range(4):
            if t == pre_at:
                pre = out * out
            out[t] = wv * (t + 1.0)
            if outside and t == 1:
                if isinstance(out, tl.Tensor):
                    with tl.no_grad():
                        out[3] = 7.0
                else:
                    out[3] = 7.0
        return (pre * 2).sum() + (out ** 2).sum() + (pre * out).sum()

    w = tl.tensor(w0, requires_grad=True)
    program(w).backward()
    fd = np.array([(program(w0 + e * 1e-6) - program(w0 - e * 1e-6)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(w.grad, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("change", ["mul_", "fill_", "store", "view_mul_", "view_store", "column_fill_", "rows"])
def test_a_change_outside_the_graph_between_stores_keeps_what_an_earlier_op_read(change: str) -> None:
    """An op built before the stores that saved the buffer's values (``out * out``) reads
    them as they were also when an in-place change outside the graph came between the
    stores: its gradient equals that of the same op on a ``clone()`` taken when it was built
    (whose copy holds those values)."""

    def grad(cloned: bool) -> np.ndarray:
        w = tl.tensor(np.array([0.3, -1.2, 0.7]), requires_grad=True)
        out = tl.zeros(4, 3)
        out[0] = w
        c = out.clone() if cloned else out
        pre = c * c
        out[1] = w * 2
        with tl.no_grad():
            if change == "mul_":
                out.mul_(2.0)
            elif change == "fill_":
                out.fill_(0.5)
            elif change == "view_mul_":
                out[0].mul_(2.0)
            elif change == "view_store":
                out[0][1] = 9.0
            elif change == "column_fill_":
                out[:, 2].fill_(0.5)
            elif change == "rows":
                out[[0, 1]] = 3.0
            else:
                out[0] = 4.0
        out[2] = w * 3
        ((pre * 2).sum() + (out ** 2).sum() + (pre * out).sum()).backward()
        return w.grad

    np.testing.assert_allclose(grad(False), grad(True), rtol=1e-12, atol=1e-14)


def _retained(steps: int) -> tuple:
    """Bytes held after the forward and after the backward of the README's RNN loop."""
    gc.collect()
    tracemalloc.start()
    try:
        cell = tl.nn.RNNCell(3, 4)
        x = tl.Tensor(np.random.default_rng(0).normal(size=(8, steps, 3)), batched=True)
        h, out = tl.zeros(8, 4), tl.zeros(8, steps, 4)
        start = tracemalloc.get_traced_memory()[0]
        for t in range(steps):
            h = cell(x[:, t], h)
            out[:, t] = h
        forward = tracemalloc.get_traced_memory()[0] - start
        out.pow(2).mean().backward()
        backward = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    return forward, backward


def test_a_loop_of_stores_holds_memory_in_proportion_to_its_steps() -> None:
    """Four times the steps hold at most about four times the memory (a copy of the buffer
    per store, and a gradient of the buffer's size on each former node, would hold 16 times)."""
    f100, b100 = _retained(100)
    f400, b400 = _retained(400)
    assert f400 < 6 * f100, (f100, f400)
    assert b400 < 6 * b100, (b100, b400)


def test_the_readme_loop_gives_each_sample_its_own_gradient() -> None:
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(5, 7, 3))
    cell = tl.nn.RNNCell(3, 4)

    def loss_of(x: Any) -> Any:
        h, out = tl.zeros(x.shape[0], 4), tl.zeros(x.shape[0], 7, 4)
        for t in range(7):
            h = cell(x[:, t], h)
            out[:, t] = h
        return out.pow(2).sum()

    loss_of(tl.Tensor(xs, batched=True)).backward()
    got = cell.weight_ih.grad_sample.copy()
    want = []
    for b in range(5):
        cell.zero_grad()
        loss_of(tl.Tensor(xs[b:b + 1], batched=True)).backward(per_sample=False)
        want.append(cell.weight_ih.grad.copy())
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-10, atol=1e-12)


def test_a_drawn_store_loop_shows_the_former_values() -> None:
    """The viz walk gives a store's former node its values back (no NaN stand-ins), equal to
    the buffer as it was before that store."""
    w = tl.tensor(np.array([0.5, -2.0]), requires_grad=True)
    out = tl.zeros(3, 2)
    for t in range(3):
        out[t] = w * (t + 1.0)
    loss = (out ** 2).sum()
    from tinygrad_lite.viz.common import walk

    nodes = walk(loss)
    buffers = [n for n in nodes if n.shape == (3, 2)]
    assert all(np.isfinite(n.data).all() for n in nodes)
    seen = {tuple(np.asarray(n.data).ravel().round(12)) for n in buffers}
    for t in range(4):  # the buffer before each store, and after the last
        state = np.zeros((3, 2))
        for s in range(t):
            state[s] = w.data * (s + 1.0)
        assert tuple(state.ravel().round(12)) in seen
    source = tl.viz.draw_graph(loss, legend=False).source
    assert "nan" not in source.lower()


@pytest.mark.parametrize("kind", ["iadd", "isub", "two_rows", "column"])
def test_augmented_stores_into_a_constant_buffer_have_torchs_gradients(kind: str) -> None:
    """``out[t] += h`` on a buffer made without gradients: the first ``+=`` reads a view of
    the constant buffer that the store then changes; add's gradient reads no values, so it
    stays right (this used to be refused at backward), as torch's."""
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(0).normal(size=(3,))

    def run(L: Any) -> tuple:
        w = L.tensor(w0, requires_grad=True)
        out = L.zeros(5, 3, dtype=L.float64)
        for t in range(5):
            h = (w * (t + 1)).tanh()
            if kind == "iadd":
                out[t] += h
            elif kind == "isub":
                out[t % 3] -= h * 2
            elif kind == "two_rows":
                out[t % 2] += h
                out[(t + 1) % 5] += w
            else:
                out[:, t % 3] += h.sum()
        loss = (out ** 2).sum() + out.sum()
        loss.backward()
        return float(loss.item()), np.array(w.grad.numpy() if L is torch else w.grad)

    (mine, g), (ref, tg) = run(tl), run(torch)
    assert mine == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-13)


def test_add_after_an_outside_change_of_its_leaf_operand_backpropagates_as_torch() -> None:
    """``y = a + b``, then ``a`` changed under ``no_grad()``: add's gradient reads no values,
    so backward runs (as torch's); a product's, which reads them, is refused, as torch's."""
    a = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = tl.tensor(np.array([3.0, -1.0]), requires_grad=True)
    y, z = a + b, a - b
    with tl.no_grad():
        a.mul_(2.0)
    (y * 3 + z).sum().backward()
    np.testing.assert_array_equal(a.grad, [4.0, 4.0])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])
    p = a * b
    with tl.no_grad():
        a.mul_(2.0)
    with pytest.raises(RuntimeError, match="op 'mul' was changed in place"):
        p.sum().backward()


def test_add_of_a_computed_value_changed_outside_the_graph_is_still_refused() -> None:
    """A computed operand changed in place outside the graph may have changed the values its
    own backward reads (tanh's reads its output): refused, even though add reads none."""
    x = tl.tensor(np.array([0.5, -0.3]), requires_grad=True)
    p = x.tanh()
    y = p + 1.0 + p
    with tl.no_grad():
        p.mul_(2.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()


def test_a_store_costs_the_size_of_its_region_not_of_the_buffer() -> None:
    """A recorded store into a large buffer allocates about its region (the values it
    overwrites, kept for its former node), not a copy of the buffer."""
    w = tl.tensor(np.ones(16), requires_grad=True)
    out = tl.zeros(4096, 16)  # 512 KiB
    out[0] = w * 2.0  # (the first store makes the buffer a value of the graph)
    gc.collect()
    tracemalloc.start()
    try:
        for t in range(1, 9):
            out[t] = w * float(t)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < out.data.nbytes / 4, peak
    want = np.zeros((9, 16))
    want[0] = 2.0
    for t in range(1, 9):
        want[t] = float(t)
    np.testing.assert_array_equal(out.data[:9], want)
    assert not out.data[9:].any()


@pytest.mark.parametrize("make", ["zeros", "empty", "zeros_like", "tensor"])
def test_writes_through_views_of_a_constant_buffer_have_torchs_gradients(make: str) -> None:
    """A view taken of a buffer made without gradients (``v = out[1]``), changed in place by
    a value that requires grad, writes through to the buffer, which joins the graph, as
    torch's (``v += w`` used to make a new tensor and leave ``out`` as it was)."""
    torch = pytest.importorskip("torch")
    w0 = np.array([0.3, -1.2, 0.7])

    def run(L: Any) -> tuple:
        w = L.tensor(w0, requires_grad=True)
        if make == "tensor":
            out = L.tensor(np.zeros((4, 3)))
        elif make == "zeros_like":
            out = L.zeros_like(L.tensor(np.ones((4, 3))))
        else:
            out = getattr(L, make)(4, 3, dtype=L.float64)
            if make == "empty":
                out.zero_()
        v = out[1]
        v += w
        v *= 2
        out[2].copy_(w * 3)
        u = out[0]
        u.add_(w.tanh())
        out[3] += w * w
        loss = (out ** 2).sum() + (v * w).sum() + (u * u).sum()
        loss.backward()
        return float(loss.item()), np.array(out.detach().numpy()), np.array(w.grad.numpy() if L is torch else w.grad)

    (mine, values, g), (ref, tvalues, tg) = run(tl), run(torch)
    assert mine == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(values, tvalues, rtol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-13)


def _retained_iadd(steps: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        w = tl.tensor(np.random.default_rng(0).normal(size=(8, 4)), requires_grad=True)
        out = tl.zeros(steps, 8, 4)
        start = tracemalloc.get_traced_memory()[0]
        for t in range(steps):
            out[t] += (w * (t % 7 + 1)).tanh()
        (out ** 2).sum().backward()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


def test_a_loop_of_writes_through_views_holds_memory_in_proportion_to_its_steps() -> None:
    """``out[t] += h`` writes through the view ``out[t]``: its former node keeps only that
    region too, so four times the steps hold at most about four times the memory."""
    small, large = _retained_iadd(100), _retained_iadd(400)
    assert large < 6 * small, (small, large)


_WRITES = ["out[{r}] = w * 1.5 + {k}", "out[{r}] += (w * {k}).tanh()", "out[{r}].copy_(w * {k})",
           "out[{r}].mul_(1.5)", "out[{r}].add_(w)", "out[:, {c}] += w[0] * {k}", "pres.append(out * out)",
           "pres.append(out * 3)", "out.relu_()", "kv = out[{r}]; pres.append(kv * 1.0)",
           "v = out[{r}]; v += w; v *= 2"]


def _random_program(seed: int) -> str:
    rng = np.random.default_rng(seed)
    start = ["out = L.zeros(4, 3, dtype=L.float64)", "out = L.zeros(4, 3, dtype=L.float64) + w[0] * 0.1"]
    lines = [start[seed % 2], "pres = []"]
    for k in range(int(rng.integers(3, 9))):
        lines.append(_WRITES[int(rng.integers(len(_WRITES)))].format(r=int(rng.integers(4)), c=int(rng.integers(3)),
                                                                     k=k + 1))
    lines.append("loss = (out ** 2).sum() + sum(((p * p).sum() + p.sum() for p in pres), out.sum() * 0)")
    return "\n".join(lines)


def _run_program(L: Any, program: str, w0: np.ndarray, grad: bool = True) -> tuple:
    w = L.tensor(w0, requires_grad=grad)
    env = {"L": L, "w": w}
    exec(program, env)
    return w, env["loss"]


@pytest.mark.parametrize("seed", range(60))
def test_random_programs_of_stores_and_writes_through_views(seed: int) -> None:
    """Stores, writes through views (also of a constant buffer), reads before and after
    them: torch's values and gradients where torch runs the program, else central
    differences."""
    torch = pytest.importorskip("torch")
    program = _random_program(seed)
    w0 = np.array([0.3, -1.2, 0.7])
    try:
        tw, tloss = _run_program(torch, program, w0)
        tloss.backward()
        ref = (float(tloss.item()), tw.grad.numpy())
    except RuntimeError:
        ref = None
    w, loss = _run_program(tl, program, w0)
    loss.backward()
    if ref is not None:
        assert float(loss.item()) == pytest.approx(ref[0], rel=1e-10)
        np.testing.assert_allclose(w.grad, ref[1], rtol=1e-9, atol=1e-11)
        return

    def value(a: np.ndarray) -> float:
        with tl.no_grad():
            return float(_run_program(tl, program, a, grad=False)[1].item())

    fd = np.array([(value(w0 + e * 1e-6) - value(w0 - e * 1e-6)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(w.grad, fd, rtol=1e-5, atol=1e-6)
