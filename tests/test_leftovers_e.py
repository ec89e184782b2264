"""Leftovers noted at earlier stops and gaps found porting torch code, each with the input that
showed it: a norm overflowing inside ``cosine_similarity`` (nan where torch gives 0), Python's
``y[i] op= v`` inside a graph, ``tl.dist``, in-place changes through a view of a value computed in
the graph (written through, as torch), and ``x[i, j]`` as a 0-d view."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl


def _fd_grad(f: object, x0: np.ndarray) -> np.ndarray:
    """Central differences of the scalar ``f(tensor)`` at ``x0``, computed outside any graph."""
    want = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        hi, lo = x0.copy(), x0.copy()
        hi[i] += 1e-6
        lo[i] -= 1e-6
        with tl.no_grad():
            want[i] = (f(tl.tensor(hi)).item() - f(tl.tensor(lo)).item()) / 2e-6
    return want


def _assert_per_sample_grads(lin: object, loss: object, X: np.ndarray, Y: np.ndarray) -> None:
    """``lin.weight.grad_sample`` of ``loss`` over the batch equals each sample's own gradient."""
    loss(tl.Tensor(X, batched=True), tl.Tensor(Y, batched=True)).backward()
    got = lin.weight.grad_sample
    for b in range(len(X)):
        lin.zero_grad()
        loss(tl.Tensor(X[b:b + 1]), tl.Tensor(Y[b:b + 1])).backward()
        np.testing.assert_allclose(got[b], lin.weight.grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("scale", [1e200, 1e155])
def test_cosine_similarity_of_overflowing_norms_is_torchs_zero_not_nan(scale: float) -> None:
    # ||x||^2 overflows to inf: the clamp of the norm used to compute inf - inf = nan
    x = tl.tensor(np.array([[1.0, 2.0], [3.0, -1.0]]) * scale, requires_grad=True)
    y = tl.tensor(np.array([[1.0, 2.0], [0.5, 0.5]]))
    out = tl.nn.functional.cosine_similarity(x, y, dim=1)
    np.testing.assert_array_equal(out.data, [0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 2)))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x.data, requires_grad=True)
    want = torch.nn.functional.cosine_similarity(tx, torch.tensor(y.data), dim=1)
    want.sum().backward()
    np.testing.assert_array_equal(out.data, want.detach().numpy())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_cosine_similarity_clamp_is_unchanged_below_eps() -> None:
    # the clamp's shift max(eps - n, 0) equals max(n, eps) - n: tiny norms still divide by eps
    x = tl.tensor([[1e-12, 0.0], [3.0, 4.0]], requires_grad=True)
    y = tl.tensor([[1.0, 1.0], [3.0, 4.0]])
    out = tl.nn.functional.cosine_similarity(x, y, dim=1)
    np.testing.assert_allclose(out.data, [1e-12 / 1e-8 / np.sqrt(2.0), 1.0], rtol=1e-15)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.cosine_similarity(torch.tensor(x.data), torch.tensor(y.data), dim=1)
    np.testing.assert_allclose(out.data, want.numpy(), rtol=1e-15)


# ---------------------------------------------------------------- y[idx] op= v inside a graph
# Python runs ``y[idx] *= v`` as ``tmp = y[idx]; tmp = tmp * v; y[idx] = tmp``: the getitem
# read y before the write, so it must read y's former values (it used to make backward refuse)
def _aug_col(y: object) -> None:
    y[:, 0] *= 3


def _aug_row(y: object) -> None:
    y[0] += y[1]


def _aug_chain(y: object) -> None:
    y[0] = y[0] * 2
    y[1] -= y[0]
    y[:, 2] /= 3


def _aug_from_sum(y: object) -> None:
    y[1] /= y[0].sum()


def _aug_cols(y: object) -> None:
    y[:, 0] = y[:, 1] ** 2
    y[:, 1] += y[:, 0]


@pytest.mark.parametrize("write", [_aug_col, _aug_row, _aug_chain, _aug_from_sum, _aug_cols])
@pytest.mark.parametrize("transposed", [False, True])
def test_augmented_assignment_to_an_index_of_a_graph_value(write: object, transposed: bool) -> None:
    x0 = np.random.default_rng(3).standard_normal((3, 3))

    def f(x: object) -> object:
        y = (x.T if transposed else x) * 2  # (transposed: y's memory is in Fortran order)
        write(y)
        return (y * y).sum()

    x = tl.tensor(x0.copy(), requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad, _fd_grad(f, x0), rtol=1e-7, atol=1e-7)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x0.copy(), requires_grad=True)
    if write is _aug_cols:  # torch refuses: its pow saved y[:, 1], which the next line writes
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            f(tx).backward()
        return
    out = f(tx)
    out.backward()
    np.testing.assert_allclose(f(x).item(), out.item(), rtol=1e-13)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_augmented_assignment_keeps_per_sample_gradients_exact() -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    lin = tl.nn.Linear(4, 2)

    def loss(x: object, y: object) -> object:
        h = lin(x)
        h[:, 0] *= 3
        h[:, 1] += h[:, 0]
        return tl.nn.mse_loss(h, y)

    _assert_per_sample_grads(lin, loss, X, Y)


# ---------------------------------------------------------------- tl.dist (it was missing)
@pytest.mark.parametrize("p", [2, 1, 3.5, 0.5, float("inf")])
def test_dist_is_the_norm_of_the_broadcast_difference(p: float) -> None:
    a0 = np.array([[1.0, 2.0], [3.0, 4.5]])
    b0 = np.array([1.5, -0.25])
    a = tl.tensor(a0, requires_grad=True)
    out = tl.dist(a, tl.tensor(b0), p)
    np.testing.assert_allclose(out.item(), np.linalg.norm((a0 - b0).ravel(), ord=p), rtol=1e-14)
    assert a.dist(tl.tensor(b0), p).item() == out.item()
    out.backward()
    want = np.zeros_like(a0)
    for i in np.ndindex(a0.shape):
        hi, lo = a0.copy(), a0.copy()
        hi[i] += 1e-6
        lo[i] -= 1e-6
        want[i] = (np.linalg.norm((hi - b0).ravel(), ord=p) - np.linalg.norm((lo - b0).ravel(), ord=p)) / 2e-6
    np.testing.assert_allclose(a.grad, want, rtol=1e-6, atol=1e-8)
    torch = pytest.importorskip("torch")
    ta = torch.tensor(a0, requires_grad=True)
    tout = torch.dist(ta, torch.tensor(b0), p)
    tout.backward()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-14)
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12)


def test_dist_refuses_a_p_that_is_not_a_number() -> None:
    with pytest.raises(TypeError, match="dist: p must be a number, got 'fro'"):
        tl.dist(tl.tensor([1.0]), tl.tensor([2.0]), "fro")


# ---------------------------------------------------------------- in-place through a view
def _v_mul(y: object) -> None:
    y[0].mul_(2)


def _v_chained_setitem(y: object) -> None:
    y[:, 1:][0] = y[1, :2] * y[0, 0]


def _v_diagonal(y: object) -> None:
    y.diagonal().mul_(3)


def _v_transposed_reads_other_column(y: object) -> None:
    v = y.T  # a view kept in a variable, read again after the write
    v[1].add_(v[0] ** 2)


def _v_reshaped_clamp(y: object) -> None:
    y.reshape(9)[1:7:2].clamp_(min=0.1)


def _v_two_writes(y: object) -> None:
    y[:, 0].zero_()
    y[2].sub_(y[0, 1] * 2)


@pytest.mark.parametrize("write", [_v_mul, _v_chained_setitem, _v_diagonal, _v_transposed_reads_other_column,
                                   _v_reshaped_clamp, _v_two_writes])
def test_in_place_change_of_a_view_inside_a_graph(write: object) -> None:
    x0 = np.random.default_rng(5).standard_normal((3, 3))

    def f(x: object) -> object:
        y = x.exp() * 1
        write(y)
        return (y * y.sum()).sum()

    x = tl.tensor(x0.copy(), requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad, _fd_grad(f, x0), rtol=1e-6, atol=1e-7)
    with tl.no_grad():  # the values: the same code on plain data
        np.testing.assert_allclose(f(tl.tensor(x0)).item(), f(x).item(), rtol=1e-14)


def test_view_write_values_and_gradients_equal_torch() -> None:
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(6).standard_normal((4, 3))

    def f(L: object, x: object) -> object:
        y = x * 3
        y[1:, 1:][0].mul_(2.5)
        y.T[2].zero_()
        y[0].add_(x[1] * x[2])
        return y

    x, tx = tl.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, ty = f(tl, x), f(torch, tx)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_view_write_of_batched_rows_keeps_per_sample_gradients_and_across_rows_mixes() -> None:
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    lin = tl.nn.Linear(4, 3)

    def loss(x: object, y: object, across: bool = False) -> object:
        h = lin(x)
        h[:, :2].mul_(2)  # row b of the view is row b of h: per sample
        if across:
            h[0].add_(1.0)  # only sample 0's row: writes across the sample axis
        return tl.nn.mse_loss(h, y)

    _assert_per_sample_grads(lin, loss, X, Y)
    lin.zero_grad()
    loss(tl.Tensor(X, batched=True), tl.Tensor(Y, batched=True), across=True).backward()
    assert lin.weight.grad is not None
    with pytest.raises(RuntimeError, match="op 'region.* along the sample axis"):
        lin.weight.grad_sample  # noqa: B018


def test_view_write_differentiates_twice() -> None:
    x0 = np.array([[0.5, -1.0], [2.0, 0.25]])
    x = tl.tensor(x0, requires_grad=True)
    y = x * x
    y[0].mul_(x[1, 0])  # y[0] = x0^2 * x[1,0]
    (g,) = tl.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = tl.autograd.grad(g.sum(), x)
    # y.sum() = x00^2 x10 + x01^2 x10 + x10^2 + x11^2
    want_g = np.array([[2 * x0[0, 0] * x0[1, 0], 2 * x0[0, 1] * x0[1, 0]],
                       [x0[0, 0] ** 2 + x0[0, 1] ** 2 + 2 * x0[1, 0], 2 * x0[1, 1]]])
    np.testing.assert_allclose(g.data, want_g, rtol=1e-14)
    want_gg = np.array([[2 * x0[1, 0] + 2 * x0[0, 0], 2 * x0[1, 0] + 2 * x0[0, 1]],
                        [2 * x0[0, 0] + 2 * x0[0, 1] + 2, 2.0]])
    np.testing.assert_allclose(gg, want_gg, rtol=1e-14)


# views of the written tensor that the caller holds: an argument, a kept variable, the view itself
def _k_argument(y: object) -> None:
    y[0].add_(y[1])


def _k_kept_argument(y: object) -> object:
    z = y[1]
    y[0].add_(z)
    return z


def _k_augmented_kept_view(y: object) -> None:
    v = y[0]
    v += y[1]


def _k_augmented_overlapping(y: object) -> None:
    v = y.reshape(6)[1:]
    v += y.reshape(6)[:-1]


def _k_view_plus_itself(y: object) -> None:
    v = y[0]
    v += v


def _k_store_other_row(y: object) -> None:
    y[0] = y[1]


def _k_kept_view_written_then_read(y: object) -> object:
    z = y[0]
    y[0] = z * 2
    return z


def _k_kept_view_read_after_another_write(y: object) -> object:
    z = y[0]
    y[0].mul_(3)
    return z


def _k_kept_transpose(y: object) -> object:
    z = y.T
    y[1].add_(z[:, 0])
    return z


def _k_kept_view_written_again(y: object) -> object:
    z = y[0]
    y[0].mul_(2)
    z.add_(1)
    return z


@pytest.mark.parametrize("write", [_k_argument, _k_kept_argument, _k_augmented_kept_view, _k_augmented_overlapping,
                                   _k_view_plus_itself, _k_store_other_row, _k_kept_view_written_then_read,
                                   _k_kept_view_read_after_another_write, _k_kept_transpose,
                                   _k_kept_view_written_again])
def test_a_view_the_caller_holds_sees_the_new_values_as_torch(write: object) -> None:
    # such views used to be refused at backward (y[0].add_(y[1])), or `v += w` with w a view of
    # the same tensor left that tensor unchanged, silently
    X = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])

    def f(t: object) -> object:
        y = t * 2 + 1
        z = write(y)
        return (y * y).sum() + (0 if z is None else (z ** 3).sum())

    x = tl.tensor(X, requires_grad=True)
    out = f(x)
    out.backward()
    np.testing.assert_allclose(x.grad, _fd_grad(f, X), rtol=1e-6, atol=1e-7)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(X, requires_grad=True)
    if write is _k_augmented_overlapping:  # (torch refuses a write from overlapping memory)
        with pytest.raises(RuntimeError, match="single memory location"):
            f(tx)
        return
    want = f(tx)
    want.backward()
    np.testing.assert_allclose(out.item(), want.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- x[i, j] is a 0-d view
def test_an_int_per_axis_gives_a_zero_dim_view_as_torch() -> None:
    # x[1, 1] used to be a copy, so x[1, 1].mul_(5) and `b = a[1]; b += 10` changed nothing
    a = tl.tensor([1.0, 2.0, 3.0])
    b = a[1]
    b += 10
    np.testing.assert_array_equal(a.data, [1.0, 12.0, 3.0])
    assert b.shape == () and b.item() == 12.0
    x = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 1
    y[1, 1].mul_(5)
    np.testing.assert_array_equal(y.data, [[0.0, 1.0, 2.0], [3.0, 20.0, 5.0]])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 2.0, 4.0], [6.0, 200.0, 10.0]])
    torch = pytest.importorskip("torch")
    tx = torch.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    ty = tx * 1
    ty[1, 1].mul_(5)
    (ty * ty).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


# ---------------------------------------------------------------- v += w on a view in a graph
def test_augmented_assignment_on_a_kept_view_writes_through_as_torch() -> None:
    # v = y[:, :2]; v += 1 used to rebind v to a new tensor and leave y as it was
    X = np.arange(6.0).reshape(2, 3) / 5

    def f(L: object, x: object) -> object:
        y = x * 1
        v = y[:, :2]
        v += 1
        v *= x[0, 2]  # (an operand that is not a view of y)
        b = y[1, 2]
        b /= 4
        return y

    x = tl.tensor(X, requires_grad=True)
    y = f(tl, x)
    want = X.copy()
    want[:, :2] = (want[:, :2] + 1) * X[0, 2]
    want[1, 2] /= 4
    np.testing.assert_allclose(y.data, want, rtol=1e-15)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad, _fd_grad(lambda t: (f(tl, t) ** 2).sum(), X), rtol=1e-6, atol=1e-7)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(X, requires_grad=True)
    ty = f(torch, tx)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_storing_a_view_into_its_own_place_changes_nothing() -> None:
    x = tl.tensor(np.arange(4.0), requires_grad=True)
    y = x * 2
    node = y._op
    y[1:3] = y[1:3]  # the store after `y[1:3] += 0`: the same elements of the same memory
    assert y._op is node
    np.testing.assert_array_equal(y.data, [0.0, 2.0, 4.0, 6.0])
    a = tl.tensor(np.arange(4.0))
    a[::2] = a[1::2]  # other elements of the same memory: a real store
    np.testing.assert_array_equal(a.data, [1.0, 1.0, 3.0, 3.0])


def test_view_write_differentiates_twice_on_a_tensor_in_fortran_order() -> None:
    # the cotangents of the second backward come in another memory order than the owner's
    x0 = np.array([[0.5, -1.0, 0.3], [2.0, 0.25, -0.7]])

    def grad_sum(a: np.ndarray, create: bool) -> tuple:
        x = tl.tensor(a, requires_grad=True)
        y = x.T * x.T  # (3, 2) in Fortran order
        assert y.data.flags.f_contiguous and not y.data.flags.c_contiguous
        y[0].mul_(x[1, 0])
        y.T[1].add_(x[0] * 3)
        (g,) = tl.autograd.grad((y * y).sum(), x, create_graph=create)
        return x, g

    x, g = grad_sum(x0, True)
    (gg,) = tl.autograd.grad((g * g).sum(), x)
    want = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        hi, lo = x0.copy(), x0.copy()
        hi[i] += 1e-6
        lo[i] -= 1e-6
        want[i] = ((grad_sum(hi, False)[1].data ** 2).sum() - (grad_sum(lo, False)[1].data ** 2).sum()) / 2e-6
    np.testing.assert_allclose(gg, want, rtol=1e-6, atol=1e-6)


def _p_rows(y: object) -> None:
    y[0].mul_(2)
    y[:, 1, 2:].add_(y[2, 0, :2] * 0 + 1.5)


def _p_kept_view_and_diagonal(y: object) -> None:
    v = y[1:3]
    v *= 3
    y.diagonal(0, 1, 2).zero_()


def _p_augmented(y: object) -> None:
    y[1] += y[2]
    y[:, 0] *= 2


@pytest.mark.parametrize("write", [_p_rows, _p_kept_view_and_diagonal, _p_augmented])
def test_writes_into_a_tensor_whose_memory_is_in_a_permuted_order(write: object) -> None:
    # x.permute(...) * 1 keeps the permuted memory order (neither C nor Fortran); such a
    # tensor used to make a write through its views raise after the graph had been changed
    x0 = np.random.default_rng(7).standard_normal((2, 3, 4))

    def f(x: object) -> object:
        y = x.permute(1, 0, 2) * 1
        assert not (y.data.flags.c_contiguous or y.data.flags.f_contiguous)
        write(y)
        return (y * y).sum()

    x = tl.tensor(x0.copy(), requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad, _fd_grad(f, x0), rtol=1e-6, atol=1e-7)
