"""create_graph=True through ops whose differentiable backward recomputes the forward (conv,
the norms, einsum with a repeated letter) when one input also reaches the op through another
input's history (a layer applied twice, a bias made from the weight) or is two of its inputs:
first and second derivatives equal torch's and the plain backward's (each path counted once)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as TF

torch = pytest.importorskip("torch")
PF = torch.nn.functional

rng = np.random.default_rng(0)
X1 = rng.normal(size=(2, 1, 7))
X2 = rng.normal(size=(1, 2, 5, 5))
XN = rng.normal(size=(3, 4))
W1 = rng.normal(size=(1, 1, 3)) * 0.5
W2 = rng.normal(size=(2, 2, 3, 3)) * 0.3
LN = rng.normal(size=4) + 1.0
GN = rng.normal(size=2) + 1.0
SQ = rng.normal(size=(3, 3))

CASES: dict[str, tuple[Callable[[Any, Any, Any], Any], np.ndarray]] = {
    "conv1d twice": (lambda M, F, w: F.conv1d(F.conv1d(M.tensor(X1), w, padding=1), w, padding=1), W1),
    "conv2d twice": (lambda M, F, w: F.conv2d(F.conv2d(M.tensor(X2), w, padding=1), w, stride=2), W2),
    "layer_norm twice": (lambda M, F, w: F.layer_norm(F.layer_norm(M.tensor(XN), (4,), w, None), (4,), w, None), LN),
    "layer_norm, bias from the weight": (lambda M, F, w: F.layer_norm(M.tensor(XN), (4,), w, 0.5 * w), LN),
    "group_norm twice": (lambda M, F, w: F.group_norm(F.group_norm(M.tensor(X2), 1, w, w), 2, w, None), GN),
    "einsum of x with x (a diagonal)": (lambda M, F, w: M.einsum("ii,ij->ij", w, w), SQ),
    "einsum with x's product": (lambda M, F, w: M.einsum("ii,ij->ij", w, w * w), SQ),
}


def _grads(M: Any, F: Any, f: Callable, w0: np.ndarray) -> tuple:
    w = M.tensor(w0, requires_grad=True)
    loss = (f(M, F, w) ** 2).sum() * 0.1
    plain = M.autograd.grad(loss, [w], retain_graph=True)[0]
    g = M.autograd.grad(loss, [w], create_graph=True)[0]
    gg = M.autograd.grad((g ** 2).sum() + (g * M.tensor(np.ones_like(w0))).sum(), [w])[0]
    return np.asarray(plain.tolist()), np.asarray(g.tolist()), np.asarray(gg.tolist())


@pytest.mark.parametrize("case", list(CASES))
def test_first_and_second_derivatives_count_each_path_once(case: str) -> None:
    f, w0 = CASES[case]
    tl_plain, tl_g, tl_gg = _grads(tl, TF, f, w0)
    t_plain, t_g, t_gg = _grads(torch, PF, f, w0)
    np.testing.assert_allclose(tl_plain, t_plain, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tl_g, tl_plain, rtol=1e-10, atol=1e-12)  # create_graph: the same values
    np.testing.assert_allclose(tl_gg, t_gg, rtol=1e-8, atol=1e-10)


def test_the_hessian_of_a_layer_applied_twice_is_torchs_and_symmetric() -> None:
    def f(M: Any, F: Any) -> Callable:
        return lambda w: (F.conv1d(F.conv1d(M.tensor(X1), w, padding=1), w, padding=1) ** 2).sum()

    h = np.asarray(tl.autograd.functional.hessian(f(tl, TF), tl.tensor(W1)).reshape(3, 3).tolist())
    want = torch.autograd.functional.hessian(f(torch, PF), torch.tensor(W1)).reshape(3, 3).numpy()
    np.testing.assert_allclose(h, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-12)
