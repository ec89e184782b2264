"""Second derivatives: the Hessian, Newton's method, Hessian-vector products and a gradient penalty.

A gradient taken with ``create_graph=True`` is itself a Tensor in the graph, so it can be
differentiated again. This script shows four uses, each checked with numbers:

1. **What a Hessian is.** For logistic regression with mean cost
   ``L(w) = (1/n) sum_i [log(1 + exp(z_i)) - y_i z_i]``, ``z = X w``, the gradient is
   ``g = X^T (p - y) / n`` with ``p = sigmoid(z)``, and the matrix of second derivatives is

       H = d^2 L / dw dw^T = X^T diag(p (1 - p)) X / n.

   ``tl.autograd.functional.hessian`` gives it without that formula; central differences of
   the gradient, ``(g(w + h e_j) - g(w - h e_j)) / 2h``, give its columns approximately.
2. **Newton's method.** Near the minimum ``L(w + d) ~ L(w) + g^T d + d^T H d / 2``; the step
   that minimises this model is ``d = -H^{-1} g`` (``tl.linalg.solve(H, g)``). Newton's
   method converges quadratically (the number of correct digits doubles per step), gradient
   descent with step ``1/L_max`` (``L_max`` the largest curvature) only linearly.
3. **Hessian-vector products.** For a network with P parameters the full Hessian costs P
   backward passes of the gradient, but ``H v`` is the gradient of ``g . v``: one backward
   for ``g`` (kept in the graph), one more for ``g . v``. It equals the full ``H`` times ``v``.
4. **A gradient penalty** (as in WGAN-GP): ``R = mean_b (||dD(x_b)/dx_b|| - 1)^2`` depends
   on the parameters through a gradient, so ``dR/dtheta`` is a second derivative;
   ``R.backward()`` after ``create_graph=True`` gives it, checked by central differences.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

import tinygrad_lite as tl  # noqa: E402

F = tl.nn.functional


# ----------------------------------------------------------------------------- 1. the Hessian
def make_logistic(n: int, rng: np.random.Generator) -> tuple:
    """``(X, y)``: n rows of two Gaussian features plus a column of ones (the bias), and 0/1
    labels drawn with probability sigmoid(X w_true), so the classes overlap (a finite minimum)."""
    X = np.column_stack([rng.standard_normal((n, 2)) * [1.0, 3.0], np.ones(n)])
    w_true = np.array([1.5, -0.5, 0.3])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w_true))).astype(float)
    return X, y


def logistic_loss(X: np.ndarray, y: np.ndarray) -> Callable[[tl.Tensor], tl.Tensor]:
    """``w -> L(w)``, the mean binary cross-entropy of the logits ``X w``."""
    Xt, yt = tl.Tensor(X), tl.Tensor(y)
    return lambda w: F.binary_cross_entropy_with_logits(Xt @ w, yt)


def gradient(loss: Callable, w: np.ndarray) -> np.ndarray:
    """dL/dw at ``w`` (one backward)."""
    wt = tl.Tensor(w, requires_grad=True)
    return tl.autograd.grad(loss(wt), wt)[0].data.copy()


def analytic_hessian(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X^T diag(p (1 - p)) X / n with p = sigmoid(X w)."""
    p = 1 / (1 + np.exp(-X @ w))
    return X.T @ (X * (p * (1 - p))[:, None]) / len(X)


def fd_hessian(loss: Callable, w: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Column j = (g(w + h e_j) - g(w - h e_j)) / 2h, from the library's gradients."""
    cols = []
    for j in range(len(w)):
        e = np.zeros_like(w)
        e[j] = h
        cols.append((gradient(loss, w + e) - gradient(loss, w - e)) / (2 * h))
    return np.column_stack(cols)


# ----------------------------------------------------------------------------- 2. Newton vs GD
def newton(loss: Callable, w0: np.ndarray, tols: list, max_iter: int = 50) -> dict:
    """Newton's method w <- w - H^{-1} g; the first iteration at which ||g|| < tol, per tol."""
    w, hit = tl.Tensor(w0.copy()), {}
    for k in range(max_iter + 1):
        wt = tl.Tensor(w.data, requires_grad=True)
        g = tl.autograd.grad(loss(wt), wt)[0]
        gnorm = float(np.linalg.norm(g.data))
        for tol in tols:
            if gnorm < tol and tol not in hit:
                hit[tol] = k
        if len(hit) == len(tols):
            break
        H = tl.autograd.functional.hessian(loss, wt.detach())
        w = w - tl.linalg.solve(H, g.detach())
    return {"iters": hit, "w": w.data}


def gradient_descent(loss: Callable, w0: np.ndarray, lr: float, tols: list, max_iter: int) -> dict:
    """Plain gradient descent w <- w - lr g; the first iteration at which ||g|| < tol, per tol
    (missing when it is not reached within ``max_iter``)."""
    w, hit = w0.copy(), {}
    for k in range(max_iter + 1):
        g = gradient(loss, w)
        gnorm = float(np.linalg.norm(g))
        for tol in tols:
            if gnorm < tol and tol not in hit:
                hit[tol] = k
        if len(hit) == len(tols):
            break
        w = w - lr * g
    return {"iters": hit, "w": w}


# ----------------------------------------------------------------------------- 3. H v of an MLP
def mlp(theta: tl.Tensor, shapes: list, x: tl.Tensor) -> tl.Tensor:
    """A tanh MLP whose weights and biases are slices of the flat vector ``theta``."""
    parts, at = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(theta[at:at + size].reshape(shape))
        at += size
    h = x
    for i in range(0, len(parts), 2):
        h = h @ parts[i].T + parts[i + 1]
        if i + 2 < len(parts):
            h = h.tanh()
    return h


def hvp_by_two_backwards(loss: Callable, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H v as the gradient of g . v: backward 1 keeps g in the graph, backward 2 differentiates g . v."""
    t = tl.Tensor(theta, requires_grad=True)
    (g,) = tl.autograd.grad(loss(t), t, create_graph=True)
    (hv,) = tl.autograd.grad((g * tl.Tensor(v)).sum(), t)
    return hv.data


# ----------------------------------------------------------------------------- 4. gradient penalty
def critic(x: tl.Tensor, W1: tl.Tensor, b1: tl.Tensor, w2: tl.Tensor) -> tl.Tensor:
    """D(x) = tanh(x W1^T + b1) w2, one score per row of x."""
    return (x @ W1.T + b1).tanh() @ w2


def penalty(x: np.ndarray, params: list, create_graph: bool) -> tl.Tensor:
    """R = mean_b (||dD(x_b)/dx_b|| - 1)^2. The rows of x do not interact, so the gradient of
    sum_b D(x_b) with respect to x has row b = dD(x_b)/dx_b."""
    xt = tl.Tensor(x, requires_grad=True)
    (dx,) = tl.autograd.grad(critic(xt, *params).sum(), xt, create_graph=create_graph)
    norms = ((dx * dx).sum(axis=1) + 1e-12).sqrt()
    return ((norms - 1.0) ** 2).mean()


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Run the four parts and print their numbers (``out`` is unused: nothing is drawn)."""
    rng = np.random.default_rng(0)
    np.set_printoptions(precision=6, suppress=True)

    # 1. the Hessian of logistic regression, three ways
    X, y = make_logistic(200, rng)
    loss = logistic_loss(X, y)
    w = np.array([0.2, -0.1, 0.05])
    H_lib = tl.autograd.functional.hessian(loss, tl.Tensor(w)).data
    H_exact = analytic_hessian(X, w)
    H_fd = fd_hessian(loss, w)
    hessian_diff = float(np.max(np.abs(H_lib - H_exact)))
    fd_diff = float(np.max(np.abs(H_fd - H_exact)))
    print(f"1. logistic regression, n = {len(X)}, 3 weights (two features and a bias), at w = {w}")
    print("   tl.autograd.functional.hessian(loss, w):")
    print("   " + str(H_lib).replace("\n", "\n   "))
    print(f"   max |H - X^T diag(p(1-p)) X / n|                      = {hessian_diff:.1e}")
    print(f"   max |central differences of the gradient - formula|   = {fd_diff:.1e}   (h = 1e-5)")
    print(f"   symmetric: max |H - H^T| = {float(np.max(np.abs(H_lib - H_lib.T))):.1e}; "
          f"eigenvalues {np.linalg.eigvalsh(H_exact)} (all > 0: L is convex)")

    # 2. Newton's method against gradient descent, from w = 0
    tols = [1e-2, 1e-4, 1e-6] if fast else [1e-2, 1e-4, 1e-6, 1e-8]
    max_gd = 3000 if fast else 20000
    lmax = float(np.linalg.eigvalsh(X.T @ X / (4 * len(X)))[-1])  # p(1-p) <= 1/4 bounds the curvature
    w0 = np.zeros(3)
    nt = newton(loss, w0, tols)
    gd = gradient_descent(loss, w0, 1 / lmax, tols, max_gd)
    print(f"\n2. from w = 0: iterations until ||grad|| < tol (gradient descent with step 1/{lmax:.3f}, "
          f"the largest possible curvature; at most {max_gd})")
    print("   tol      Newton   gradient descent")
    for tol in tols:
        print(f"   {tol:6.0e}   {nt['iters'].get(tol, '-'):>6}   {gd['iters'].get(tol, f'> {max_gd}'):>16}")
    print(f"   Newton's minimiser {nt['w']}, gradient descent's {gd['w']}")

    # 3. a Hessian-vector product of an MLP's loss against the full Hessian times v
    shapes = [(8, 3), (8,), (1, 8), (1,)]
    P = sum(int(np.prod(s)) for s in shapes)
    theta = rng.standard_normal(P) * 0.5
    xb, tb = tl.Tensor(rng.standard_normal((32, 3))), tl.Tensor(rng.standard_normal((32, 1)))

    def mlp_loss(t: tl.Tensor) -> tl.Tensor:
        return F.mse_loss(mlp(t, shapes, xb), tb)

    v = rng.standard_normal(P)
    t0 = time.perf_counter()
    gradient(mlp_loss, theta)
    t_grad = time.perf_counter() - t0
    t0 = time.perf_counter()
    hv_two = hvp_by_two_backwards(mlp_loss, theta, v)
    t_two = time.perf_counter() - t0
    t0 = time.perf_counter()
    hv_lib = tl.autograd.functional.hvp(mlp_loss, tl.Tensor(theta), tl.Tensor(v))[1].data
    t_hvp = time.perf_counter() - t0
    t0 = time.perf_counter()
    H_full = tl.autograd.functional.hessian(mlp_loss, tl.Tensor(theta)).data
    t_full = time.perf_counter() - t0
    hv_full = H_full @ v
    hvp_diff = float(max(np.max(np.abs(hv_two - hv_full)), np.max(np.abs(hv_lib - hv_full))))
    print(f"\n3. MLP 3-8-1 (tanh), P = {P} parameters, mean squared error over 32 points; v random")
    print(f"   max |grad(grad . v) - H v|, max |hvp - H v|   = {hvp_diff:.1e}   (|H v| up to "
          f"{float(np.max(np.abs(hv_full))):.2f})")
    print(f"   reverse sweeps: grad twice 2, hvp 3 (the double-backward trick), full H 1 + {P} (one per row)")
    print(f"   time: gradient {1e3 * t_grad:.1f} ms, grad twice {1e3 * t_two:.1f} ms, hvp {1e3 * t_hvp:.1f} ms, "
          f"full Hessian {1e3 * t_full:.1f} ms")

    # 4. a gradient penalty backpropagated to the parameters
    x = rng.standard_normal((16, 2))
    params_np = [rng.standard_normal((6, 2)), rng.standard_normal(6) * 0.5, rng.standard_normal(6)]
    params = [tl.Tensor(p, requires_grad=True) for p in params_np]
    R = penalty(x, params, create_graph=True)
    R.backward()
    h, fd, lib = 1e-6, [], []
    for k, p in enumerate(params):
        for idx in np.ndindex(p.shape):
            shifted = []
            for sign in (1, -1):
                moved = [q.copy() for q in params_np]
                moved[k][idx] += sign * h
                shifted.append(penalty(x, [tl.Tensor(q) for q in moved], create_graph=False).item())
            fd.append((shifted[0] - shifted[1]) / (2 * h))
            lib.append(float(p.grad[idx]))
    fd_a, lib_a = np.array(fd), np.array(lib)
    penalty_diff = float(np.max(np.abs(fd_a - lib_a)))
    print(f"\n4. gradient penalty R = mean (||dD/dx|| - 1)^2 of a 2-6-1 tanh critic on 16 points: R = {R.item():.6f}")
    print(f"   dR/dtheta from R.backward() vs central differences (h = 1e-6), {len(fd)} parameters:")
    print(f"   max difference {penalty_diff:.1e}   (largest |dR/dtheta| {float(np.max(np.abs(lib_a))):.3f})")
    return {"hessian_diff": hessian_diff, "fd_diff": fd_diff, "H": H_lib, "H_exact": H_exact,
            "tols": tols, "newton_iters": nt["iters"], "gd_iters": gd["iters"], "max_gd": max_gd,
            "newton_w": nt["w"], "gd_w": gd["w"], "grad_at_newton": gradient(loss, nt["w"]),
            "hvp_diff": hvp_diff, "hv_scale": float(np.max(np.abs(hv_full))), "P": P,
            "penalty": R.item(), "penalty_diff": penalty_diff,
            "penalty_grad_scale": float(np.max(np.abs(lib_a)))}


if __name__ == "__main__":
    main()
