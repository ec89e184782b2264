"""Benchmark: per-sample gradients and per-sample norms of a small CNN.

Conv2d(1,16,3,padding=1) - ReLU - Conv2d(16,32,3,padding=1) - ReLU - Flatten - Linear(2048,10)
on 8x8 single-channel images, mean cross-entropy, float32, at B=64 and B=256.

Workload "per-sample grads": the batch gradient AND every sample's own gradient, read as
``grad_sample`` (B, *p.shape) for all six parameters:

* the numpy floor: hand-written, channels-last im2col (one strided-window copy per layer into
  preallocated buffers), one GEMM per layer, the input gradient of the second convolution as
  a full correlation with the flipped kernel, per-sample weight gradients ``einsum('bpo,bpk->
  bok')`` of output cotangents and patches (done by matmul) and a column permutation to
  PyTorch's (c, kh, kw) order;
* Opacus ``GradSampleModule`` (when importable) and ``torch.func.vmap(grad)``;
* tinygrad_lite: ``tl.Tensor(x, batched=True)``, ``backward()``, read ``p.grad_sample``.

Workload "per-sample norms": the batch gradient and each sample's whole-gradient norm;
tinygrad_lite's ``backward(per_sample="norms")`` + ``tl.per_sample_norms``, next to its own
plain batch backward (the same model on an unbatched input).

Usage::

    python bench/bench_cnn.py            # about a minute
    python bench/bench_cnn.py --quick    # a few seconds
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Optional, Sequence

import _timing  # first: it may set BLAS thread variables before numpy loads
import numpy as np
from _timing import Contender, Report, max_rel_err, print_group, single_thread, time_group
from numpy.lib.stride_tricks import sliding_window_view

import tinygrad_lite as tl

DTYPE = np.float32
C0, C1, C2, K, HW, NCLS = 1, 16, 32, 3, 8, 10
TOL = 2e-4
TARGETS = {"x_floor": 1.2, "x_opacus": 1.0, "norms_over_batch": 1.5}


def init_params(seed: int) -> list:
    """PyTorch's default ranges: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
    rng = np.random.default_rng(seed)
    shapes = [((C1, C0, K, K), (C1,)), ((C2, C1, K, K), (C2,)), ((NCLS, C2 * HW * HW), (NCLS,))]
    out = []
    for ws, bs in shapes:
        a = 1.0 / np.sqrt(np.prod(ws[1:]))
        out += [rng.uniform(-a, a, ws).astype(DTYPE), rng.uniform(-a, a, bs).astype(DTYPE)]
    return out


class Floor:
    """The hand-written numpy CNN: forward, backward, per-sample gradients, all buffers preallocated."""

    def __init__(self, params: list, B: int) -> None:
        self.p = params
        self.B, P = B, HW * HW
        f = DTYPE
        self.xp = np.zeros((B, HW + 2, HW + 2, C0), f)   # zero borders stay zero
        self.h1p = np.zeros((B, HW + 2, HW + 2, C1), f)
        self.d2p = np.zeros((B, HW + 2, HW + 2, C2), f)
        self.cols1, self.cols2 = np.empty((B, P, K * K * C0), f), np.empty((B, P, K * K * C1), f)
        self.colsd = np.empty((B, P, K * K * C2), f)
        self.gs = [np.empty((B,) + a.shape, f) for a in params]
        self.g = [np.empty(a.shape, f) for a in params]
        self.raw2 = np.empty((B, C2, K * K * C1), f)

    @staticmethod
    def im2col(src: np.ndarray, dst: np.ndarray) -> None:
        """dst (B, P, K*K*C) <- 3x3 windows of the padded channels-last src, columns (ki, kj, c)."""
        win = sliding_window_view(src, (K, K), axis=(1, 2))  # (B, H, W, C, K, K)
        np.copyto(dst.reshape(src.shape[0], HW, HW, K, K, -1), win.transpose(0, 1, 2, 4, 5, 3))

    def grads(self, x: np.ndarray, y: np.ndarray) -> list:
        B, P = self.B, HW * HW
        W1, b1, W2, b2, W3, b3 = self.p
        W1m = W1.transpose(0, 2, 3, 1).reshape(C1, -1)
        W2m = W2.transpose(0, 2, 3, 1).reshape(C2, -1)
        self.xp[:, 1:-1, 1:-1, :] = x.transpose(0, 2, 3, 1)
        self.im2col(self.xp, self.cols1)
        h1 = np.maximum(self.cols1 @ W1m.T + b1, 0)                          # (B, P, C1)
        self.h1p[:, 1:-1, 1:-1, :] = h1.reshape(B, HW, HW, C1)
        self.im2col(self.h1p, self.cols2)
        h2 = np.maximum(self.cols2 @ W2m.T + b2, 0)                          # (B, P, C2)
        flat = h2.transpose(0, 2, 1).reshape(B, -1)                          # torch's (c, h, w) order
        z = flat @ W3.T + b3
        e = np.exp(z - z.max(axis=1, keepdims=True))
        d3 = e / e.sum(axis=1, keepdims=True)
        d3[np.arange(B), y] -= 1.0                                           # sample b's own dL/dz
        gs = self.gs
        np.einsum("bo,bi->boi", d3, flat, out=gs[4])
        gs[5][...] = d3
        d2 = (d3 @ W3).reshape(B, C2, P).transpose(0, 2, 1) * (h2 > 0)      # (B, P, C2)
        np.matmul(d2.transpose(0, 2, 1), self.cols2, out=self.raw2)          # per-sample GEMMs
        gs[2][...] = self.raw2.reshape(B, C2, K, K, C1).transpose(0, 1, 4, 2, 3)
        gs[3][...] = d2.sum(axis=1)
        self.d2p[:, 1:-1, 1:-1, :] = d2.reshape(B, HW, HW, C2)
        self.im2col(self.d2p, self.colsd)
        W2f = W2[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(-1, C1)    # flipped kernel, rows (ki, kj, o)
        d1 = (self.colsd @ W2f) * (h1 > 0)                                   # (B, P, C1)
        np.matmul(d1.transpose(0, 2, 1), self.cols1, out=gs[0].reshape(B, C1, -1))  # C0 = 1: same column order
        gs[1][...] = d1.sum(axis=1)
        for g, s in zip(self.g, gs):
            np.mean(s, axis=0, out=g)
        return gs


def tl_model(params: list) -> Any:
    nn = tl.nn
    m = nn.Sequential(nn.Conv2d(C0, C1, K, padding=1, dtype=DTYPE), nn.ReLU(),
                      nn.Conv2d(C1, C2, K, padding=1, dtype=DTYPE), nn.ReLU(), nn.Flatten(),
                      nn.Linear(C2 * HW * HW, NCLS, dtype=DTYPE))
    for p, a in zip(m.parameters(), params):
        p.data = a.copy()
    return m


def torch_model(torch: Any, params: list) -> Any:
    t = torch.nn
    m = t.Sequential(t.Conv2d(C0, C1, K, padding=1), t.ReLU(), t.Conv2d(C1, C2, K, padding=1), t.ReLU(),
                     t.Flatten(), t.Linear(C2 * HW * HW, NCLS))
    with torch.no_grad():
        for p, a in zip(m.parameters(), params):
            p.copy_(torch.from_numpy(a))
    return m


def bench_batch(report: Report, settings: _timing.Settings, torch: Any, B: int) -> tuple:
    params = init_params(700 + B)
    rng = np.random.default_rng(B)
    x = rng.standard_normal((B, C0, HW, HW)).astype(DTYPE)
    y = rng.integers(0, NCLS, B)
    floor = Floor(params, B)
    ref_gs = [a.copy() for a in floor.grads(x, y)]
    ref_g = [a.copy() for a in floor.g]
    ref_norms = np.sqrt(sum((a.reshape(B, -1).astype(np.float64) ** 2).sum(axis=1) for a in ref_gs))
    ps_rows = [Contender("numpy im2col + einsum (floor)", lambda: floor.grads(x, y), role="floor")]
    opacus_row = None
    if torch is not None:
        F = torch.nn.functional
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tm = torch_model(torch, params)
        pdict = {k: v.detach() for k, v in tm.named_parameters()}

        def one(p: dict, xi: Any, yi: Any) -> Any:
            return F.cross_entropy(torch.func.functional_call(tm, p, (xi[None],)), yi[None])

        vg = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))
        err = max(max_rel_err(vg(pdict, tx, ty)[k].numpy(), r) for k, r in zip(pdict, ref_gs))
        report.check(f"B={B}: torch.func per-sample grads == numpy floor", err <= TOL, f"{err:.1e}")
        ps_rows.append(Contender("torch.func vmap(grad)", lambda: vg(pdict, tx, ty), role="torch"))
        try:
            from opacus import GradSampleModule
        except Exception as e:  # noqa: BLE001 -- an optional contender
            print(f"  opacus: not importable ({type(e).__name__}); its row is skipped")
        else:
            warnings.filterwarnings("ignore", message="Full backward hook")  # fired by every Opacus backward here
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gsm = GradSampleModule(torch_model(torch, params))

            def opacus_ps() -> list:
                gsm.zero_grad(set_to_none=True)
                F.cross_entropy(gsm(tx), ty).backward()
                return [p.grad_sample for p in gsm.parameters()]

            err = max(max_rel_err(a.numpy(), r) for a, r in zip(opacus_ps(), ref_gs))
            report.check(f"B={B}: Opacus grad_sample == numpy floor", err <= TOL, f"{err:.1e}")
            opacus_row = Contender("Opacus GradSampleModule", opacus_ps, role="opacus")
            ps_rows.append(opacus_row)

    model = tl_model(params)
    plist = model.parameters()
    xb, xp = tl.Tensor(x, batched=True), tl.Tensor(x)

    def tl_ps() -> list:
        model.zero_grad()
        tl.nn.cross_entropy(model(xb), y).backward()
        return [p.grad_sample for p in plist]

    err = max(max(max_rel_err(a, r) for a, r in zip(tl_ps(), ref_gs)),
              max(max_rel_err(p.grad, r) for p, r in zip(plist, ref_g)))
    report.check(f"B={B}: tinygrad_lite grad_sample and grad == numpy floor", err <= TOL, f"{err:.1e}")
    ps_rows.append(Contender("tinygrad_lite grad_sample", tl_ps, role="tl"))

    def tl_norms() -> np.ndarray:
        model.zero_grad()
        tl.nn.cross_entropy(model(xb), y).backward(per_sample="norms")
        return tl.per_sample_norms(plist)

    def tl_batch() -> None:
        model.zero_grad()
        tl.nn.cross_entropy(model(xp), y).backward()

    err = max_rel_err(tl_norms(), ref_norms)
    report.check(f"B={B}: tinygrad_lite per-sample norms == numpy floor", err <= TOL, f"{err:.1e}")
    nm_rows = [Contender("tinygrad_lite fwd + bwd, plain input", tl_batch, role="floor"),
               Contender("tinygrad_lite backward(per_sample='norms')", tl_norms, role="tl")]
    g_ps = time_group(f"CNN per-sample grads, f32, B={B}", ps_rows, settings)
    g_nm = time_group(f"CNN per-sample norms vs batch backward, f32, B={B}", nm_rows, settings)
    g_nm.ref_label = "batch"
    return g_ps, g_nm, opacus_row is not None


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the CNN benchmark; returns the numbers (see ``_timing.Report.as_dict``)."""
    args, settings, torch, torch_why = _timing.start(__doc__, argv, 10.0, 1.0, _timing.batches_option("64,256"))
    report = Report("CNN per-sample gradients and norms")
    with single_thread(torch) as threads_note:
        report.header(settings, threads_note, torch, torch_why)
        for B in _timing.batch_sizes(args.batches):
            g_ps, g_nm, has_opacus = bench_batch(report, settings, torch, B)
            report.add(f"grads B={B}", g_ps)
            report.add(f"norms B={B}", g_nm)
            print_group(g_ps, unit="step")
            print_group(g_nm, unit="step")
            report.target(f"tinygrad_lite grad_sample / numpy floor, B={B}", g_ps.ratio("tl", "floor"),
                          TARGETS["x_floor"])
            report.target(f"tinygrad_lite grad_sample / Opacus, B={B}",
                          g_ps.ratio("tl", "opacus") if has_opacus else None, TARGETS["x_opacus"])
            report.target(f"tinygrad_lite norms / its batch backward, B={B}", g_nm.ratio("tl", "floor"),
                          TARGETS["norms_over_batch"])
    report.print_targets()
    return report.as_dict()


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
