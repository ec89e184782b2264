"""The redesigned core: lazy per-sample factors, one walker, one place per op, no shared
mutable state between threads."""

from __future__ import annotations

import ast
import pathlib
import threading
import tracemalloc

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, ops, persample

PKG = pathlib.Path(tl.__file__).parent


def _mlp(seed: int, dtype: type = np.float64) -> nn.Sequential:
    return nn.Sequential(nn.Linear(5, 7, rng=seed, dtype=dtype), nn.Tanh(), nn.Linear(7, 3, rng=seed + 1, dtype=dtype))


def _eager_rows(model: nn.Module, X: np.ndarray, Y: np.ndarray, reduction: str = "mean") -> list:
    """Each sample's gradient, one backward per sample (the definition)."""
    out = []
    for b in range(len(X)):
        model.zero_grad()
        term = nn.mse_loss(model(Tensor(X[b:b + 1])), Y[b:b + 1], reduction=reduction)
        term.backward()
        out.append([p.grad.copy() for p in model.parameters()])
    model.zero_grad()
    return [np.stack([row[k] for row in out]) for k in range(len(out[0]))]


def test_default_backward_keeps_factors_and_builds_grad_sample_on_read() -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    model = _mlp(1)
    rows = _eager_rows(model, X, Y)
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    W = model[0].weight
    assert W._gs is None and isinstance(W._ps, persample.SampleGrads)
    assert all(type(r) is persample.OuterRows for r in W._ps.segments[0].parts)
    norms = W.grad_sample_norm  # from the factors
    assert W._gs is None
    for p, want in zip(model.parameters(), rows):
        np.testing.assert_allclose(p.grad_sample, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p.grad_sample_norm, np.linalg.norm(want.reshape(6, -1), axis=1), rtol=1e-12)
    np.testing.assert_allclose(norms, np.linalg.norm(rows[0].reshape(6, -1), axis=1), rtol=1e-12)
    assert W.grad_sample is W.grad_sample  # kept after the first read


def test_default_backward_costs_no_per_sample_arrays() -> None:
    rng = np.random.default_rng(1)
    B = 64
    model = nn.Sequential(nn.Linear(300, 200, rng=0), nn.ReLU(), nn.Linear(200, 10, rng=1))
    X, Y = rng.normal(size=(B, 300)), rng.normal(size=(B, 10))
    peaks = {}
    for mode in (False, True):
        model.zero_grad()
        loss = nn.mse_loss(model(Tensor(X, batched=True)), Y)
        tracemalloc.start()
        loss.backward(per_sample=mode)
        peaks[mode] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[True] <= 1.5 * peaks[False]
    assert peaks[True] < 0.05 * B * 300 * 200 * 8


def test_zero_grad_and_other_modes_leave_nothing_stale() -> None:
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    model = _mlp(3)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    for clear in (model.zero_grad, opt.zero_grad, lambda: [p.zero_grad() for p in model.parameters()]):
        nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
        _ = [p.grad_sample_norm for p in model.parameters()]
        clear()
        for p in model.parameters():
            assert p.grad is None and p.grad_sample is None and p.grad_sample_norm is None and p._ps is None
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample=False)
    assert all(p.grad_sample is None and p.grad_sample_norm is None for p in model.parameters())
    model.zero_grad()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample="norms")
    assert all(p.grad_sample is None and p.grad_sample_norm.shape == (4,) for p in model.parameters())
    model.zero_grad()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward(per_sample="norms")  # another batch: appended
    for p in model.parameters():
        assert p.grad_sample.shape[0] == 8
        np.testing.assert_allclose(p.grad_sample_norm, np.linalg.norm(p.grad_sample.reshape(8, -1), axis=1))


def test_parameter_used_through_a_transpose_and_a_direct_term() -> None:
    """``x @ W.T`` (factors pushed through the transpose) plus a weight-decay term that
    reaches W outside the per-sample terms (shared equally by the samples)."""
    rng = np.random.default_rng(4)
    X, Y, W0 = rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), rng.normal(size=(2, 3))
    W = Tensor(W0, requires_grad=True)
    (nn.mse_loss(Tensor(X, batched=True) @ W.T, Y) + 0.1 * (W ** 2).sum()).backward()
    assert type(W._ps.segments[0].parts[0]) is persample.OuterRows
    want = []
    for b in range(5):
        Wb = Tensor(W0, requires_grad=True)
        (nn.mse_loss(Tensor(X[b:b + 1]) @ Wb.T, Y[b:b + 1]) + 0.1 * (Wb ** 2).sum()).backward()
        want.append(Wb.grad)
    np.testing.assert_allclose(W.grad_sample, np.stack(want), rtol=1e-12)
    np.testing.assert_allclose(W.grad, np.mean(want, axis=0), rtol=1e-12)


def test_grad_sample_is_not_built_for_clipped_sums_and_norms() -> None:
    """per_sample_norms and the weighted sum read the factors of Linear weights."""
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    model = _mlp(6)
    nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
    n = tl.per_sample_norms(model.parameters())
    W = model[0].weight
    w = rng.uniform(size=8)
    ws = W._ps.weighted_sum(w)
    assert W._gs is None
    dense = W.grad_sample
    np.testing.assert_allclose(ws, np.tensordot(w, dense, axes=1), rtol=1e-12)
    full = np.sqrt(sum((p.grad_sample.reshape(8, -1) ** 2).sum(1) for p in model.parameters()))
    np.testing.assert_allclose(n, full, rtol=1e-12)


def _train(seed: int, X: np.ndarray, Y: np.ndarray, steps: int, validate: bool) -> list:
    model = _mlp(seed)
    opt = tl.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        nn.mse_loss(model(Tensor(X, batched=True)), Y).backward()
        _ = model[0].weight.grad_sample_norm
        opt.step()
        if validate:
            with tl.no_grad():
                v = model(Tensor(X))
                assert not v.requires_grad
    return [p.data.copy() for p in model.parameters()]


def test_two_threads_train_two_models_exactly_as_alone() -> None:
    rng = np.random.default_rng(7)
    X1, Y1 = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
    X2, Y2 = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
    alone = [_train(10, X1, Y1, 60, False), _train(20, X2, Y2, 60, True)]
    got: dict = {}
    errors: list = []

    def run(k: int, seed: int, X: np.ndarray, Y: np.ndarray, validate: bool) -> None:
        try:
            got[k] = _train(seed, X, Y, 60, validate)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(0, 10, X1, Y1, False)),
               threading.Thread(target=run, args=(1, 20, X2, Y2, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in (0, 1):
        for a, b in zip(got[k], alone[k]):
            np.testing.assert_array_equal(a, b)


def test_no_grad_is_per_thread_and_overlapping_blocks_restore() -> None:
    seen = []
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with tl.no_grad():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    x = Tensor([1.0], requires_grad=True)
    seen.append((x * 2).requires_grad)
    release.set()
    t.join()
    assert seen == [True]
    ng = tl.no_grad()
    with ng:  # one block object entered twice (nested) restores both levels
        with ng:
            assert not tl.is_grad_enabled()
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()

    @tl.no_grad
    def bare() -> bool:
        return tl.is_grad_enabled()

    @tl.no_grad()
    def called() -> bool:
        return tl.is_grad_enabled()

    assert bare() is False and called() is False and tl.is_grad_enabled()


def test_every_op_is_one_class_with_its_rules() -> None:
    for op in ops.ALL:
        assert op.name and op.rule, op
        assert callable(op.vjp) and callable(op)
    value_names = {o.name for o in (tl.value.ADD, tl.value.MUL, tl.value.POW, tl.value.TANH, tl.value.EXP)}
    assert value_names <= {o.name for o in ops.ALL}


def test_one_topological_sort_in_the_package() -> None:
    """Only graph.py orders a graph; every other module asks it."""
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("toposort", "_topo", "topological_sort"):
                assert path.name == "graph.py", f"{path} defines {node.name}"


def test_no_file_of_the_package_is_much_over_500_lines() -> None:
    for path in PKG.rglob("*.py"):
        n = len(path.read_text().splitlines())
        assert n <= 520, f"{path.relative_to(PKG)} has {n} lines"


def test_every_module_says_what_it_keeps() -> None:
    for path in PKG.rglob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc) > 40, f"{path.relative_to(PKG)} has no module docstring"


def test_lr_schedulers_live_at_torchs_path() -> None:
    from tinygrad_lite.optim import lr_scheduler
    assert lr_scheduler.StepLR is tl.optim.StepLR
    assert tl.optim.DPSGD.__module__.endswith("dpsgd")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_sample_has_the_parameter_dtype(dtype: type) -> None:
    rng = np.random.default_rng(8)
    model = _mlp(9, dtype)
    X = rng.normal(size=(3, 5)).astype(dtype)
    nn.mse_loss(model(Tensor(X, batched=True)), np.zeros((3, 3), dtype)).backward()
    for p in model.parameters():
        assert p.grad_sample.dtype == dtype and p.grad_sample_norm.dtype == dtype


def test_weight_gradients_of_kept_factors_are_multiplied_out_on_read() -> None:
    """The default backward leaves a Linear weight's gradient G^T X unmultiplied (DP-SGD
    clips from the factors and never needs it); reading .grad gives the same numbers as
    the ordinary pass, and accumulation over two backwards still adds."""
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    a, b = _mlp(12), _mlp(12)
    for _ in range(2):
        nn.mse_loss(a(Tensor(X, batched=True)), Y).backward()
        nn.mse_loss(b(Tensor(X, batched=True)), Y).backward(per_sample=False)
    assert a[0].weight._lazy  # not multiplied out yet
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-13, atol=1e-15)
    assert a[0].weight._lazy is None and isinstance(a[0].weight.grad, np.ndarray)


def test_a_released_gradient_is_reused_only_when_nobody_holds_it() -> None:
    rng = np.random.default_rng(13)
    X, Y = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    model = _mlp(14)
    W = model[0].weight
    nn.mse_loss(model(Tensor(X)), Y).backward()
    kept = W.grad            # the user keeps the array: it must not be overwritten
    first = kept.copy()
    model.zero_grad()
    nn.mse_loss(model(Tensor(2 * X)), Y).backward()
    np.testing.assert_array_equal(kept, first)
    assert W.grad is not kept
    second = W.grad.copy()
    addr = W.grad.__array_interface__["data"][0]
    model.zero_grad()        # nobody holds it now: the next gradient may reuse its memory
    nn.mse_loss(model(Tensor(2 * X)), Y).backward()
    np.testing.assert_array_equal(W.grad, second)
    assert W.grad.__array_interface__["data"][0] == addr


def test_grad_read_after_a_dpsgd_step_is_the_unclipped_batch_gradient() -> None:
    rng = np.random.default_rng(15)
    X, Y = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    a, b = _mlp(16), _mlp(16)
    opt = tl.optim.DPSGD(a.parameters(), lr=0.1, max_grad_norm=0.5, noise_multiplier=0.0, rng=0)
    nn.mse_loss(a(Tensor(X, batched=True)), Y).backward()
    nn.mse_loss(b(Tensor(X, batched=True)), Y).backward(per_sample=False)
    opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15)
