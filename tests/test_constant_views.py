"""A view taken of a tensor while it required no grad (``v = out[1]``), changed in place
with a value that requires grad, writes through to that tensor, which joins the graph, as
torch's, whatever made the tensor: a factory, ``tl.Tensor(array)``, ``from_numpy``,
``clone()``, ``detach()``, an op on constants or a result computed under ``no_grad()``. The
views torch refuses to change (of a leaf that requires grad, or taken under ``no_grad()`` of
a value that requires grad) are refused by ``+=`` as by the in-place methods, changing
nothing. Values and gradients are compared with torch in float64."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

START = np.arange(12.0).reshape(4, 3) / 7.0


def _no_grad_result(lib: Any) -> Any:
    w = lib.tensor(np.ones((4, 3)), requires_grad=True)
    with lib.no_grad():
        return w * lib.tensor(START)


MAKERS: dict[str, Callable[[Any], Any]] = {
    "tensor": lambda lib: lib.tensor(START),
    "Tensor(array)": lambda lib: lib.Tensor(START) if lib is tl else torch.tensor(START),
    "from_numpy": lambda lib: lib.from_numpy(START.copy()),
    "as_tensor": lambda lib: lib.as_tensor(START.copy()),
    "zeros": lambda lib: lib.zeros(4, 3, dtype=lib.float64),
    "full": lambda lib: lib.full((4, 3), 0.25, dtype=lib.float64),
    "clone": lambda lib: lib.tensor(START).clone(),
    "op on constants": lambda lib: lib.tensor(START) * 2.0,
    "stack": lambda lib: lib.stack([lib.tensor(r) for r in START]),
    "detach of a leaf": lambda lib: lib.tensor(START, requires_grad=True).detach(),
    "no_grad result": _no_grad_result,
}

VIEWS: dict[str, Callable[[Any], Any]] = {
    "row": lambda t: t[1],
    "rows": lambda t: t[1:3],
    "column": lambda t: t[:, 1],
    "strided": lambda t: t[::2],
    "view": lambda t: t.view(6, 2),
    "T": lambda t: t.T,
    "narrow": lambda t: t.narrow(0, 1, 2),
    "select": lambda t: t.select(1, 2),
    "unsqueeze": lambda t: t.unsqueeze(0),
    "diagonal": lambda t: t.diagonal(),
    "view of a view": lambda t: t[1:][0],
    "view of a transpose": lambda t: t.T[1],
}

WRITES: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda v, w: v.__iadd__(w * 3.0),
    "-=": lambda v, w: v.__isub__(w),
    "*=": lambda v, w: v.__imul__(w),
    "/=": lambda v, w: v.__itruediv__(w + 1.0),
    "add_": lambda v, w: v.add_(w, alpha=2.0),
    "mul_": lambda v, w: v.mul_(w),
    "copy_": lambda v, w: v.copy_(w * 3.0),
    "addcmul_": lambda v, w: v.addcmul_(w, w),
}


def _run(lib: Any, make: Callable, view: Callable, write: Callable) -> tuple:
    out = make(lib)
    v = view(out)
    shape = tuple(v.shape)
    w = lib.tensor(np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape), requires_grad=True)
    write(v, w)
    assert out.requires_grad  # it joined the graph
    ((out * out).sum() + (v * 2.0).sum()).backward()
    values = out.detach().numpy() if lib is torch else out.data
    grad = w.grad.numpy() if lib is torch else w.grad
    return np.array(values), np.array(grad)


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("maker", list(MAKERS))
def test_a_view_of_a_constant_writes_through_as_torch(maker: str, write: str) -> None:
    for name, view in VIEWS.items():
        ours = _run(tl, MAKERS[maker], view, WRITES[write])
        theirs = _run(torch, MAKERS[maker], view, WRITES[write])
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"view {name}")


def test_a_second_write_through_another_view_taken_while_constant() -> None:
    """Two views taken before the buffer joined the graph: the second write goes through
    the buffer that the first made a value of the graph. (torch refuses the second write;
    its result is compared with torch's for the view taken after the first write.)"""
    got = []
    for lib in (tl, torch):
        out = lib.tensor(START)
        a = out[0]
        b = out[:, 2] if lib is tl else None
        w = lib.tensor(np.array([0.3, -1.2, 0.7]), requires_grad=True)
        a += w
        if b is None:
            b = out[:, 2]
        b *= w.sum()
        (out ** 2).sum().backward()
        got.append((np.array(out.detach().numpy() if lib is torch else out.data),
                    np.array(w.grad.numpy() if lib is torch else w.grad)))
    for x, y in zip(*got):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_the_writes_reach_every_alias_of_the_buffer() -> None:
    out = tl.Tensor(START)
    alias, other_view = out, out[2]
    w = tl.tensor(np.ones(3), requires_grad=True)
    v = out[2]
    v += w
    assert alias is out and alias.requires_grad
    np.testing.assert_array_equal(other_view.data, START[2] + 1.0)
    np.testing.assert_array_equal(out.data[2], START[2] + 1.0)


@pytest.mark.parametrize("case", ["view of a leaf", "view taken under no_grad"])
@pytest.mark.parametrize("write", ["+=", "add_", "copy_"])
def test_a_view_torch_refuses_to_change_is_refused_changing_nothing(case: str, write: str) -> None:
    for lib in (torch, tl):
        leaf = lib.tensor(START, requires_grad=True)
        owner = leaf if case == "view of a leaf" else leaf * 2.0
        before = np.array(owner.detach().numpy() if lib is torch else owner.data)
        if case == "view of a leaf":
            v = owner[1]
        else:
            with lib.no_grad():
                v = owner[1]
        w = lib.tensor(np.ones(3), requires_grad=True)
        what = ("a view of a leaf|created in no_grad mode" if lib is torch
                else "shares the memory of a tensor|a view, taken under no_grad\\(\\)")
        with pytest.raises(RuntimeError, match=what):
            WRITES[write](v, w)
        after = owner.detach().numpy() if lib is torch else owner.data
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("maker", ["tensor", "zeros", "clone", "op on constants", "no_grad result"])
@pytest.mark.parametrize("write", ["+=", "-=", "*=", "/="])
def test_an_augmented_assignment_on_a_constant_changes_it_in_place_as_torch(maker: str, write: str) -> None:
    """``b += f(w)`` on a constant that is no view: ``b`` itself joins the graph (every
    alias sees the new values, as torch's), and the gradient is torch's."""
    got = []
    for lib in (tl, torch):
        bufs = [MAKERS[maker](lib) for _ in range(2)]
        aliases = list(bufs)
        w = lib.tensor(np.linspace(0.5, 1.5, 12).reshape(4, 3), requires_grad=True)
        for b in aliases:
            WRITES[write](b, w)
        assert all(b.requires_grad for b in bufs)
        sum((b * b).sum() for b in bufs).backward()
        got.append([np.array(b.detach().numpy() if lib is torch else b.data) for b in bufs]
                   + [np.array(w.grad.numpy() if lib is torch else w.grad)])
    for x, y in zip(*got):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_an_augmented_assignment_that_does_not_fit_the_dtype_changes_nothing() -> None:
    i = tl.zeros(3, dtype=tl.int64)
    w = tl.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"\+=: a result of dtype float64 cannot be stored.*int64"):
        i += w
    np.testing.assert_array_equal(i.data, np.zeros(3, dtype=np.int64))
    assert not i.requires_grad
