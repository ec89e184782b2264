"""Masks and indices: values computed without a gradient (comparisons, predicates, argmax,
the bitwise operators) still carry the batch state of what they were computed from.

A mask made from a batch statistic (``h > h.mean(0)``) makes sample b's output depend on
the other samples, so its per-sample gradients are undefined: reading them raises and names
the op, while ``.grad`` is still the batch gradient. A mask made row by row (``h > 0``)
keeps per-sample gradients exact: equal to running each sample alone.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(7)
X = RNG.standard_normal((6, 3))


def _grads(f, batched: bool = True, per_sample=True):
    """(weight.grad, the Linear layer) after a mean cost over f(Linear(X))."""
    lin = tl.nn.Linear(3, 4, rng=0)
    x = tl.Tensor(X, batched=batched)
    h = lin(x)
    ((f(h)) ** 2).mean().backward(per_sample=per_sample)
    return lin.weight.grad, lin


def _alone(f) -> np.ndarray:
    """Each sample's weight gradient when it runs alone (a batch of one)."""
    rows = []
    for b in range(X.shape[0]):
        lin = tl.nn.Linear(3, 4, rng=0)
        h = lin(tl.Tensor(X[b:b + 1]))
        ((f(h)) ** 2).mean().backward()
        rows.append(lin.weight.grad)
    return np.stack(rows)


ROW_BY_ROW = {
    "greater than zero": lambda h: h * (h > 0),
    "detached mask": lambda h: h * (h.detach() > 0),
    "isfinite": lambda h: h * h.isfinite(),
    "where": lambda h: tl.where(h > 0.1, h, 2 * h),
    "masked_fill": lambda h: h.masked_fill(h < 0, 0.0),
    "and of two masks": lambda h: h * ((h > -0.5) & (h < 0.5)),
    "not": lambda h: h * ~(h > 0),
    "any over features": lambda h: h * h.gt(0).any(1, keepdim=True),
    "argmax over features": lambda h: h.gather(1, h.argmax(1, keepdim=True)),
}


@pytest.mark.parametrize("name", sorted(ROW_BY_ROW))
def test_a_mask_made_row_by_row_keeps_exact_per_sample_gradients(name) -> None:
    f = ROW_BY_ROW[name]
    grad, lin = _grads(f)
    np.testing.assert_allclose(lin.weight.grad_sample, _alone(f), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, lin.weight.grad_sample.mean(0), rtol=1e-12, atol=1e-14)


FROM_STATISTICS = {
    "greater than the batch mean": (lambda h: h * (h > h.mean(0)), "greater"),
    "lt method against the batch mean": (lambda h: h * h.lt(h.mean(0)), "less"),
    "where by a batch-mean condition": (lambda h: tl.where(h > h.mean(0), h, 0 * h), "greater"),
    "masked_fill by a batch-mean mask": (lambda h: h.masked_fill(h < h.mean(0), 0.0), "less"),
    "index from a batch statistic": (lambda h: h[:, h.mean(0).argmax()], "argmax"),
    "and with a batch-mean mask": (lambda h: h * ((h > 0) & (h > h.mean(0))), "greater"),
    "any over the sample axis": (lambda h: h * h.gt(0).any(0), "any"),
    "argmax over the sample axis": (lambda h: h * h.argmax(0), "argmax"),
    "where by an or over the sample axis": (lambda h: tl.where((h > 0.5).any(0), h, 0.5 * h), "any"),
}


@pytest.mark.parametrize("name", sorted(FROM_STATISTICS))
def test_a_mask_from_a_batch_statistic_makes_reading_per_sample_gradients_raise(name) -> None:
    f, op = FROM_STATISTICS[name]
    grad, lin = _grads(f)
    plain, _ = _grads(f, per_sample=False)
    np.testing.assert_array_equal(grad, plain)  # backward itself is not affected
    with pytest.raises(RuntimeError, match=f"op '{op}'"):
        _ = lin.weight.grad_sample
    with pytest.raises(RuntimeError, match=f"op '{op}'"):
        _ = lin.bias.grad_sample_norm
    # the reason is real: running one sample alone gives another gradient than its row would
    # under the batch's mask
    assert not np.allclose(_alone(f).mean(0), grad)


def test_the_mixing_error_names_the_module_that_built_the_mask() -> None:
    class Centre(tl.nn.Module):
        def forward(self, h):
            return h * (h > h.mean(0))

    model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), Centre())
    (model(tl.Tensor(X, batched=True)) ** 2).mean().backward()
    with pytest.raises(RuntimeError, match=r"op 'greater'.*module '1'"):
        _ = model[0].weight.grad_sample


def test_masks_of_unbatched_values_carry_nothing() -> None:
    w = tl.Tensor(X, requires_grad=True)
    m = w > w.mean(0)
    assert not m.batched and not m.requires_grad
    (w * m).sum().backward()
    np.testing.assert_array_equal(w.grad, (X > X.mean(0)).astype(float))


# ----------------------------------------------------------------------------- bitwise


BITWISE = [
    ("a & b", lambda a, b: a & b), ("a | b", lambda a, b: a | b), ("a ^ b", lambda a, b: a ^ b),
    ("~a", lambda a, b: ~a), ("a & True", lambda a, b: a & True), ("1 | b", lambda a, b: 1 | b),
    ("a ^ 1", lambda a, b: a ^ 1), ("a.bitwise_and(b)", lambda a, b: a.bitwise_and(b)),
    ("a.bitwise_or(b)", lambda a, b: a.bitwise_or(b)), ("a.bitwise_xor(b)", lambda a, b: a.bitwise_xor(b)),
    ("a.bitwise_not()", lambda a, b: a.bitwise_not()),
]


@pytest.mark.parametrize("kind", ["bool", "int"])
@pytest.mark.parametrize("name", [n for n, _ in BITWISE])
def test_bitwise_operators_match_torch(name, kind) -> None:
    torch = pytest.importorskip("torch")
    f = dict(BITWISE)[name]
    if kind == "bool":
        a, b = RNG.random((3, 4)) > 0.5, RNG.random((4,)) > 0.5
    else:
        a, b = RNG.integers(-9, 9, (3, 4)), RNG.integers(-9, 9, (4,))
    ours = f(tl.tensor(a), tl.tensor(b))
    theirs = f(torch.tensor(a), torch.tensor(b))
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("expr", [
    lambda f, m: f & m, lambda f, m: m | f, lambda f, m: ~f, lambda f, m: m ^ f, lambda f, m: f.bitwise_and(m),
])
def test_bitwise_operators_refuse_floats_and_name_themselves(expr) -> None:
    with pytest.raises(TypeError, match="bitwise_(and|or|xor|not): only bool and integer tensors"):
        expr(tl.tensor([1.0, 2.0]), tl.tensor([True, False]))


def test_bitwise_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"bitwise_and: shapes \(2,\) and \(3,\)"):
        tl.tensor([True, False]) & tl.tensor([True, False, True])
    with pytest.raises(TypeError):
        tl.tensor([True, False]) & 1.5


def test_the_mixing_error_says_where_the_op_ran_inside_a_module_or_outside_any() -> None:
    class Centre(tl.nn.Module):
        def __init__(self) -> None:
            self.lin = tl.nn.Linear(3, 2, rng=0)

        def forward(self, x: tl.Tensor) -> tl.Tensor:
            h = self.lin(x)
            return h - h.mean(0)

    x = tl.Tensor(X, batched=True)
    model = Centre()
    (model(x) ** 2).mean().backward()
    with pytest.raises(RuntimeError, match=r"op 'sub' .* in module 'Centre'"):
        _ = model.lin.weight.grad_sample
    lin = tl.nn.Linear(3, 2, rng=0)
    h = lin(x)
    ((h - h.mean(0)) ** 2).mean().backward()
    with pytest.raises(RuntimeError, match=r"op 'sub' .* outside any module \(the batch statistic comes from "
                                           r"op 'mean' over the sample axis outside any module\)"):
        _ = lin.weight.grad_sample
