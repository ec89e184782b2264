"""Benchmark: per-sample and batch gradients of an MLP in one pass.

MLP 784-256-128-10, float32, mean squared error, at batch 32 and 128. Each contender
produces the batch gradient AND every sample's own gradient (the gradient of that sample's
term, the mean of its squared errors):

* tinygrad_lite: ``x = tl.Tensor(X, batched=True)``, then ``model.zero_grad();
  tl.nn.mse_loss(model(x), y).backward()`` fills ``p.grad`` and ``p.grad_sample``;
* the numpy floor: hand-written forward/backward with preallocated per-sample buffers, the
  per-sample weight gradient being ``einsum('bo,bi->boi', delta, activation)``;
* PyTorch (if installed): ``torch.func.vmap(torch.func.grad(per-sample loss))`` over
  ``functional_call``, the batch gradient being the mean of the per-sample ones.

A last row times ``backward(per_sample="norms")``: the batch gradient and each sample's
gradient norm, without storing the per-sample gradients (for reference; the floor computes
more). All contenders are checked against the floor first. The script also reports the peak memory
of one tinygrad_lite per-sample backward (numpy allocations, as ``tracemalloc`` sees them)
next to the size of the per-sample gradients themselves (B x number of parameters x 4 bytes).

Usage::

    python bench/bench_persample.py            # about a minute
    python bench/bench_persample.py --quick    # a few seconds
"""

from __future__ import annotations

import sys
import tracemalloc
from typing import Any, Optional, Sequence

import _timing  # first: it may set BLAS thread variables before numpy loads
import numpy as np
from _mlp import NumpyMLP, init_params, make_batch, tl_mlp, torch_mlp
from _timing import Contender, Report, max_rel_err, time_group

import tinygrad_lite as tl

SIZES = [784, 256, 128, 10]
DTYPE = np.float32
TOL = 1e-4  # relative to the largest entry; float32 sums of a few hundred terms
TARGETS = {32: 1.15, 128: 1.15}  # tinygrad_lite / numpy floor


def _check(report: Report, what: str, ps: Sequence[np.ndarray], batch: Sequence[np.ndarray],
           ref_ps: Sequence[np.ndarray], ref_batch: Sequence[np.ndarray]) -> None:
    err_ps = max(max_rel_err(a, r) for a, r in zip(ps, ref_ps))
    err_b = max(max_rel_err(a, r) for a, r in zip(batch, ref_batch))
    report.check(what, err_ps <= TOL and err_b <= TOL,
                 f"per-sample {err_ps:.1e}, batch {err_b:.1e} (max relative error)")


def tl_backward_memory(model: Any, x: Any, y: Any, per_sample: Any = True) -> dict:
    """Bytes allocated by one per-sample backward, above what was live when it began.

    Returns ``peak_bytes`` (the high-water mark during backward) and ``kept_bytes`` (what
    is still held after it: the gradients).
    """
    model.zero_grad()
    loss = tl.nn.mse_loss(model(x), y)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        loss.backward(per_sample=per_sample)
        end, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"peak_bytes": peak - start, "kept_bytes": end - start}


def bench_batch(report: Report, settings: _timing.Settings, torch: Any, B: int) -> tuple:
    """Check and time one batch size; returns (group, memory figures)."""
    key = f"B={B}"
    params = init_params(SIZES, DTYPE, 100 + B)
    X, Y = make_batch(SIZES, B, DTYPE, 100 + B)
    n_params = sum(p.size for p in params)

    floor = NumpyMLP(SIZES, params, B, DTYPE, per_sample=True)
    floor.gradients(X, Y)
    ref_ps = [a.copy() for pair in zip(floor.gW_sample, floor.gb_sample) for a in pair]
    ref_batch = [g.copy() for g in floor.grads()]
    contenders = [Contender("numpy floor (einsum, preallocated)", lambda: floor.gradients(X, Y),
                            role="floor")]

    # PyTorch: vmap(grad(...)) over samples
    if torch is not None:
        import torch.nn.functional as F
        from torch.func import functional_call, grad, vmap

        tmodel = torch_mlp(torch, SIZES, params, DTYPE)
        tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
        tx, ty = torch.from_numpy(X), torch.from_numpy(Y)

        def sample_loss(p: dict, xb: Any, yb: Any) -> Any:
            return F.mse_loss(functional_call(tmodel, p, (xb.unsqueeze(0),)), yb.unsqueeze(0))

        per_sample_grad = vmap(grad(sample_loss), in_dims=(None, 0, 0))

        def torch_grads() -> tuple:
            gs = per_sample_grad(tparams, tx, ty)
            return gs, {k: g.mean(0) for k, g in gs.items()}

        gs, gb = torch_grads()
        _check(report, f"{key}: torch.func per-sample and batch grads == numpy floor",
               [g.numpy() for g in gs.values()], [g.numpy() for g in gb.values()], ref_ps, ref_batch)
        contenders.append(Contender("torch.func vmap(grad)", torch_grads, role="torch"))
    else:
        contenders.append(Contender("torch.func vmap(grad)", None, role="torch", note="skipped"))

    # tinygrad_lite: one backward fills grad and grad_sample
    model = tl_mlp(tl, SIZES, params, DTYPE)
    x = tl.Tensor(X, batched=True)
    y = tl.Tensor(Y)

    def tl_grads() -> None:
        model.zero_grad()
        tl.nn.mse_loss(model(x), y).backward()

    tl_grads()
    ps = model.parameters()
    _check(report, f"{key}: tinygrad_lite grad_sample and grad == numpy floor",
           [p.grad_sample for p in ps], [p.grad for p in ps], ref_ps, ref_batch)
    contenders.append(Contender("tinygrad_lite (batched=True)", tl_grads, role="tl"))

    # tinygrad_lite, norms only: grad and each sample's gradient norm, no grad_sample stored
    def tl_norms() -> None:
        model.zero_grad()
        tl.nn.mse_loss(model(x), y).backward(per_sample="norms")

    tl_norms()
    ref_norms = np.sqrt(sum((r.reshape(B, -1).astype(np.float64) ** 2).sum(axis=1) for r in ref_ps))
    err = max_rel_err(tl.per_sample_norms(model.parameters()), ref_norms)
    report.check(f"{key}: tinygrad_lite per-sample norms == numpy floor", err <= TOL,
                 f"{err:.1e} (max relative error)")
    contenders.append(Contender("tinygrad_lite norms only", tl_norms, role="tl-norms",
                                note="grad + per-sample norms"))

    group = time_group(f"per-sample + batch gradients, MLP 784-256-128-10 f32, {key}", contenders, settings)
    fresh = tl_mlp(tl, SIZES, params, DTYPE)
    mem = {"n_params": n_params, "per_sample_grad_bytes": B * n_params * np.dtype(DTYPE).itemsize,
           "first": tl_backward_memory(fresh, x, y),  # a new model: gradient arrays are allocated
           "repeat": tl_backward_memory(fresh, x, y),  # after zero_grad(): the model may reuse them
           "norms": tl_backward_memory(tl_mlp(tl, SIZES, params, DTYPE), x, y, "norms")}
    return group, mem


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the per-sample gradient benchmark; returns the numbers (see ``_timing.Report.as_dict``)."""
    args, settings, torch, torch_why = _timing.start(__doc__, argv, 14.0, 1.0, _timing.batches_option("32,128"))
    report = Report("per-sample + batch gradients")
    memory = _timing.time_batches(report, settings, torch, torch_why, args.batches, bench_batch, "backward")
    print("\nmemory of one tinygrad_lite per-sample backward (numpy allocations seen by tracemalloc)")
    for B, m in memory.items():
        size = m["per_sample_grad_bytes"]
        print(f"  B={B}: the per-sample gradients themselves (B x {m['n_params']} params x "
              f"{np.dtype(DTYPE).itemsize} bytes) take {fmt_bytes(size)}")
        for which, label in (("first", "first backward of a new model"),
                             ("repeat", "next backward after zero_grad()"),
                             ("norms", "backward(per_sample='norms')")):
            peak, kept = m[which]["peak_bytes"], m[which]["kept_bytes"]
            print(f"    {label:32s} peak {fmt_bytes(peak):>10s} ({peak / size:.2f}x that), "
                  f"held afterwards {fmt_bytes(kept):>10s}")
    for B, limit in TARGETS.items():
        if f"B={B}" in report.groups:
            report.target(f"tinygrad_lite / numpy floor, B={B}", report.groups[f"B={B}"].ratio("tl", "floor"),
                          limit)
    report.print_targets()
    report.extra["memory"] = {f"B={B}": m for B, m in memory.items()}
    return report.as_dict()


def fmt_bytes(n: float) -> str:
    """Bytes in MiB (or KiB below one MiB)."""
    return f"{n / 2**20:.1f} MiB" if abs(n) >= 2**20 else f"{n / 2**10:.1f} KiB"


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
