"""Benchmark: one DP-SGD training step of an MLP.

MLP 784-256-128-10, float32, mean squared error, batch 256 (``--batches`` for others),
``max_grad_norm`` 1, ``noise_multiplier`` 1, the noisy clipped sum divided by B. A step is
forward, backward, clip, noise, update:

* tinygrad_lite: ``opt.zero_grad(); tl.nn.mse_loss(model(x), y).backward(); opt.step()``
  with ``x = tl.Tensor(X, batched=True)`` and ``tl.optim.DPSGD``: the clipped sum comes
  from the factors the backward keeps (``(c * dY)^T X`` per Linear weight);
* the numpy DP-SGD floor: the same step by hand, with preallocated buffers: forward, the
  per-sample deltas (the per-sample MSE terms' cotangents), squared norms factored as
  ``|delta_b|^2 (|a_b|^2 + 1)`` per layer (weight and bias), clip factors
  ``c_b = C / max(n_b, C)``, ONE matmul per layer on the rescaled deltas, Gaussian noise
  (Box-Muller on float uniforms) on the sum. It never computes the unclipped gradient,
  which tinygrad_lite's backward does (``p.grad``), so it is a strict floor;
* for reference, the numpy SGD step (``_mlp.NumpyMLP``) and tinygrad_lite's SGD step on a
  plain input;
* Opacus (when importable): ghost clipping (``GradSampleModuleFastGradientClipping`` with
  ``DPOptimizerFastGradientClipping``: two backward passes, no per-sample gradients).

Before timing, every DP contender's noise-free update is checked against the clipped mean
of the per-sample gradients computed in float64, and tinygrad_lite's noise against its
expected scale. The script also reports the peak memory of ``DPSGD.step()`` (tracemalloc)
next to the size of the per-sample gradients it never builds.

Usage::

    python bench/bench_dpsgd.py            # about half a minute
    python bench/bench_dpsgd.py --quick    # a few seconds
"""

from __future__ import annotations

import sys
import tracemalloc
import warnings
from typing import Any, Callable, Optional, Sequence

import _timing  # first: it may set BLAS thread variables before numpy loads
import numpy as np
from _mlp import NumpyMLP, init_params, make_batch, tl_mlp, tl_set_params, torch_mlp, torch_set_params
from _timing import Contender, Report, max_rel_err, time_group

import tinygrad_lite as tl

SIZES = [784, 256, 128, 10]
DTYPE = np.float32
CLIP, SIGMA, LR = 1.0, 1.0, 1e-3
TARGETS = {"floor": 1.25, "ghost": 0.6}  # tinygrad_lite DPSGD step / that contender's step


class NumpyDP(NumpyMLP):
    """DP-SGD by hand on ``NumpyMLP``'s buffers (see the module docstring)."""

    def __init__(self, sizes: Sequence[int], params: Sequence[np.ndarray], batch: int, dtype: Any,
                 seed: int = 0) -> None:
        super().__init__(sizes, params, batch, dtype)
        self.rng = np.random.default_rng(seed)
        h = (self.gflat.size + 1) // 2
        self.u, self.r, self.t = np.empty(h), np.empty(h, dtype), np.empty(h, dtype)
        self.z = np.empty(2 * h, dtype)
        self.sq = np.empty(batch)

    def noise(self, std: float) -> np.ndarray:
        """N(0, std^2) draws for every parameter: Box-Muller, radius from float64 uniforms."""
        u, r, t, z, h = self.u, self.r, self.t, self.z, self.u.size
        self.rng.random(out=u)
        np.subtract(1.0, u, out=u)
        np.copyto(r, u, casting="unsafe")
        np.log(r, out=r)
        np.multiply(r, -2.0 * std * std, out=r)
        np.sqrt(r, out=r)
        self.rng.random(dtype=t.dtype, out=t)
        np.multiply(t, 2.0 * np.pi, out=t)
        np.cos(t, out=z[:h])
        np.sin(t, out=z[h:])
        np.multiply(z[:h], r, out=z[:h])
        np.multiply(z[h:], r, out=z[h:])
        return z[:self.gflat.size]

    def dp_step(self, x: np.ndarray, y: np.ndarray, lr: float, clip: float, sigma: float) -> None:
        self.forward(x)
        B, n_out = self.h[-1].shape
        d = self.delta[-1]
        np.subtract(self.h[-1], y, out=d)
        np.multiply(d, 2.0 / n_out, out=d)  # each sample's own term: the mean of its squared errors
        for k in range(self.n_layers - 1, 0, -1):
            np.matmul(self.delta[k], self.W[k], out=self.delta[k - 1])
            np.multiply(self.delta[k - 1], self.mask[k - 1], out=self.delta[k - 1])
        sq = self.sq
        sq.fill(0.0)
        for k in range(self.n_layers):
            a = x if k == 0 else self.h[k - 1]
            sq += np.einsum("bo,bo->b", self.delta[k], self.delta[k]) * (np.einsum("bi,bi->b", a, a) + 1.0)
        c = (clip / np.maximum(np.sqrt(sq), clip)).astype(self.delta[0].dtype)
        for k in range(self.n_layers):
            a = x if k == 0 else self.h[k - 1]
            dk = self.delta[k]
            np.multiply(dk, c[:, None], out=dk)
            np.matmul(dk.T, a, out=self.gW[k])
            np.sum(dk, axis=0, out=self.gb[k])
        if sigma > 0:
            np.add(self.gflat, self.noise(sigma * clip), out=self.gflat)
        self.sgd(lr / B)


def clipped_mean_reference(params: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray) -> list:
    """The noise-free DP-SGD update direction ``sum_b c_b g_b / B`` in float64, from each
    sample's deltas and layer inputs (``g_b = delta_b (x) a_b`` for a weight, ``delta_b`` for
    a bias: exact, and without a (B, out, in) array)."""
    W = [p.astype(np.float64) for p in params[0::2]]
    b = [p.astype(np.float64) for p in params[1::2]]
    a = [X.astype(np.float64)]
    for k in range(len(W)):
        z = a[-1] @ W[k].T + b[k]
        a.append(np.maximum(z, 0.0) if k < len(W) - 1 else z)
    B, n_out = a[-1].shape
    deltas = [2.0 * (a[-1] - Y.astype(np.float64)) / n_out]  # each sample's own term: mean of its errors
    for k in range(len(W) - 1, 0, -1):
        deltas.insert(0, (deltas[0] @ W[k]) * (a[k] > 0))
    sq = sum((d * d).sum(axis=1) * ((x * x).sum(axis=1) + 1.0) for d, x in zip(deltas, a))
    c = CLIP / np.maximum(np.sqrt(sq), CLIP)
    out = []
    for d, x in zip(deltas, a):
        out += [(c[:, None] * d).T @ x / B, (c[:, None] * d).sum(axis=0) / B]
    return out


def check_update(report: Report, what: str, before: list, after: list, ref: list, lr: float) -> None:
    upd = [(np.asarray(b, np.float64) - np.asarray(a, np.float64)) / lr for b, a in zip(before, after)]
    err = max(max_rel_err(u, r) for u, r in zip(upd, ref))
    report.check(what, err < 1e-3, f"update max relative error {err:.1e}")


def bench_batch(report: Report, settings: _timing.Settings, torch: Any, B: int) -> tuple:
    """Check and time one batch size; returns (group, memory figures)."""
    params = init_params(SIZES, DTYPE, 600)
    X, Y = make_batch(SIZES, B, DTYPE, 600)
    ref = clipped_mean_reference(params, X, Y)
    contenders = []

    sgd_floor = NumpyMLP(SIZES, params, B, DTYPE)
    contenders.append(Contender("numpy SGD step", lambda: sgd_floor.train_step(X, Y, LR),
                                reset=lambda: sgd_floor.set_params(params), role="sgd-floor"))
    probe = NumpyDP(SIZES, params, B, DTYPE)
    probe.dp_step(X, Y, 1.0, CLIP, 0.0)
    check_update(report, f"B={B}: numpy DP floor == clipped mean", params, probe.params(), ref, 1.0)
    dp_floor = NumpyDP(SIZES, params, B, DTYPE, seed=1)
    contenders.append(Contender("numpy DP-SGD step (floor)", lambda: dp_floor.dp_step(X, Y, LR, CLIP, SIGMA),
                                reset=lambda: dp_floor.set_params(params), role="floor"))

    model = tl_mlp(tl, SIZES, params, DTYPE)
    xp, yp = tl.Tensor(X), tl.Tensor(Y)
    sgd = tl.optim.SGD(model.parameters(), lr=LR)

    def tl_sgd() -> None:
        sgd.zero_grad()
        tl.nn.mse_loss(model(xp), yp).backward()
        sgd.step()

    contenders.append(Contender("tinygrad_lite SGD step (plain input)", tl_sgd,
                                reset=lambda: tl_set_params(model, params), role="tl-sgd"))

    xb, yb = tl.Tensor(X, batched=True), tl.Tensor(Y, batched=True)

    def tl_dp(m: Any, opt: Any) -> Callable[[], None]:
        def step() -> None:
            opt.zero_grad()
            tl.nn.mse_loss(m(xb), yb).backward()
            opt.step()
        return step

    probe_m = tl_mlp(tl, SIZES, params, DTYPE)
    tl_dp(probe_m, tl.optim.DPSGD(probe_m.parameters(), lr=1.0, max_grad_norm=CLIP, noise_multiplier=0.0))()
    check_update(report, f"B={B}: tinygrad_lite DPSGD == clipped mean", params,
                 [p.data for p in probe_m.parameters()], ref, 1.0)
    noisy = tl_mlp(tl, SIZES, params, DTYPE)
    tl_dp(noisy, tl.optim.DPSGD(noisy.parameters(), lr=1.0, max_grad_norm=CLIP, noise_multiplier=SIGMA,
                                rng=2))()
    resid = np.concatenate([((p.astype(np.float64) - q.data) - r).ravel()
                            for p, q, r in zip(params, noisy.parameters(), ref)]) * B / (SIGMA * CLIP)
    report.check(f"B={B}: tinygrad_lite DPSGD noise scale", abs(resid.std() - 1) < 0.02,
                 f"std of (update - clipped mean) * B / (sigma C) = {resid.std():.3f}")
    dp_model = tl_mlp(tl, SIZES, params, DTYPE)
    dp_opt = tl.optim.DPSGD(dp_model.parameters(), lr=LR, max_grad_norm=CLIP, noise_multiplier=SIGMA, rng=3)
    contenders.append(Contender("tinygrad_lite DPSGD step (batched)", tl_dp(dp_model, dp_opt),
                                reset=lambda: tl_set_params(dp_model, params), role="tl"))
    contenders.append(opacus_ghost(report, torch, params, X, Y, ref))

    group = time_group(f"DP-SGD step, MLP 784-256-128-10 f32, B={B}", contenders, settings)
    dp_opt.zero_grad()
    tl.nn.mse_loss(dp_model(xb), yb).backward()
    tracemalloc.start()
    try:
        dp_opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_params = sum(p.size for p in params)
    return group, {"step_peak_bytes": peak, "per_sample_grad_bytes": B * n_params * np.dtype(DTYPE).itemsize}


def opacus_ghost(report: Report, torch: Any, params: list, X: np.ndarray, Y: np.ndarray, ref: list) -> Contender:
    """Opacus ghost clipping, checked (noise 0, lr 1) then set up for timing; or a skipped row."""
    name = "Opacus ghost clipping"
    if torch is None:
        return Contender(name, None, role="ghost", note="skipped (no torch)")
    try:
        from opacus.grad_sample import GradSampleModuleFastGradientClipping
        from opacus.optimizers import DPOptimizerFastGradientClipping
        from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping
    except Exception as e:  # noqa: BLE001 -- a missing or broken install skips the row
        return Contender(name, None, role="ghost", note=f"skipped ({type(e).__name__})")

    class PerSampleMSE:
        """MSE whose reduction='none' gives one term per sample (Opacus needs that)."""

        reduction = "mean"

        def __call__(self, pred: Any, target: Any) -> Any:
            per = ((pred - target) ** 2).mean(dim=1)
            return per if self.reduction == "none" else per.mean() if self.reduction == "mean" else per.sum()

    tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
    warnings.filterwarnings("ignore", message="Full backward hook is firing")  # no input requires grad

    def build(lr: float, sigma: float) -> tuple:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gsm = GradSampleModuleFastGradientClipping(torch_mlp(torch, SIZES, params, DTYPE), max_grad_norm=CLIP,
                                                       use_ghost_clipping=True)
            opt = DPOptimizerFastGradientClipping(torch.optim.SGD(gsm.parameters(), lr=lr), noise_multiplier=sigma,
                                                  max_grad_norm=CLIP, expected_batch_size=len(X))
            crit = DPLossFastGradientClipping(gsm, opt, PerSampleMSE(), loss_reduction="mean")

        def step() -> None:
            opt.zero_grad()
            crit(gsm(tx), ty).backward()
            opt.step()
        return gsm, step

    gsm, step = build(1.0, 0.0)
    step()
    check_update(report, f"B={len(X)}: Opacus ghost clipping == clipped mean", params,
                 [p.detach().numpy() for p in gsm.parameters()], ref, 1.0)
    gsm, step = build(LR, SIGMA)
    return Contender(name, step, reset=lambda: torch_set_params(torch, gsm, params), role="ghost")


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the DP-SGD step benchmark; returns the numbers (see ``_timing.Report.as_dict``)."""
    args, settings, torch, torch_why = _timing.start(__doc__, argv, 12.0, 1.5, _timing.batches_option("256"))
    report = Report("DP-SGD step")
    memory = _timing.time_batches(report, settings, torch, torch_why, args.batches, bench_batch, "step")
    print("\nmemory of one tinygrad_lite DPSGD.step() (numpy allocations seen by tracemalloc)")
    for B, m in memory.items():
        print(f"  B={B}: peak {m['step_peak_bytes'] / 2**20:.1f} MiB; the per-sample gradients it never builds "
              f"would take {m['per_sample_grad_bytes'] / 2**20:.1f} MiB")
    for key, group in report.groups.items():
        for role, limit in TARGETS.items():
            report.target(f"tinygrad_lite DPSGD step / {role} step, {key}", group.ratio("tl", role), limit)
    report.print_targets()
    report.extra["memory"] = {f"B={B}": m for B, m in memory.items()}
    return report.as_dict()


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
