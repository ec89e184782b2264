"""Benchmark: one full training step of a small MLP.

A step is ``forward -> mean squared error -> backward -> SGD update (lr=1e-3)``:

* tinygrad_lite: ``opt.zero_grad(); loss = tl.nn.mse_loss(model(x), y); loss.backward();
  opt.step()`` with ``tl.nn.Sequential``/``tl.nn.Linear``/``tl.nn.ReLU`` and ``tl.optim.SGD``;
* the numpy floor: the same step written by hand (``_mlp.NumpyMLP``);
* PyTorch eager: ``torch.nn.Sequential`` + ``F.mse_loss`` + ``torch.optim.SGD`` (if installed).

Workloads: MLP 784-256-128-10 in float32 at batch 1, 32 and 256, and MLP 2-16-16-1 in float64
at batch 32. Before timing, one step of each implementation from the same weights must give
the same loss, the same updated weights and the same weight change. Weights are restored
before every sample, so thousands of steps never drift.

Usage::

    python bench/bench_step.py            # about a minute
    python bench/bench_step.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, Sequence

import _timing  # first: it may set BLAS thread variables before numpy loads
import numpy as np
from _mlp import NumpyMLP, init_params, make_batch, tl_mlp, tl_set_params, torch_mlp, torch_set_params
from _timing import Contender, Report, max_rel_err, print_group, single_thread, time_group

import tinygrad_lite as tl

LR = 1e-3

# (key, layer sizes, batch, dtype, target for tinygrad_lite / numpy floor)
WORKLOADS = [
    ("784-256-128-10 f32 B=1", [784, 256, 128, 10], 1, np.float32, 1.5),
    ("784-256-128-10 f32 B=32", [784, 256, 128, 10], 32, np.float32, 1.15),
    ("784-256-128-10 f32 B=256", [784, 256, 128, 10], 256, np.float32, 1.05),
    ("2-16-16-1 f64 B=32", [2, 16, 16, 1], 32, np.float64, 2.5),
]


def _tolerances(dtype: Any) -> tuple[float, float]:
    """(tolerance on updated weights and loss, tolerance on the weight change) for a dtype."""
    return (1e-5, 5e-3) if np.dtype(dtype) == np.float32 else (1e-12, 1e-7)


def _compare_step(report: Report, label: str, key: str, before: Sequence[np.ndarray],
                  after: Sequence[np.ndarray], ref_after: Sequence[np.ndarray], loss: float,
                  ref_loss: float, dtype: Any) -> None:
    tol_w, tol_d = _tolerances(dtype)
    err_w = max(max_rel_err(a, r) for a, r in zip(after, ref_after))
    err_d = max(max_rel_err(a - b, r - b) for a, r, b in zip(after, ref_after, before))
    err_l = abs(loss - ref_loss) / max(abs(ref_loss), 1e-30)
    ok = err_w <= tol_w and err_d <= tol_d and err_l <= tol_w * 10
    report.check(f"{key}: {label} step == numpy floor step", ok,
                 f"weights {err_w:.1e}, weight change {err_d:.1e}, loss {err_l:.1e} (relative)")


def bench_workload(report: Report, settings: _timing.Settings, torch: Any, key: str, sizes: list,
                   batch: int, dtype: Any, seed: int) -> _timing.Group:
    """Check and time one workload; returns its group."""
    params = init_params(sizes, dtype, seed)
    x, y = make_batch(sizes, batch, dtype, seed)

    # the numpy floor, and one reference step from the initial weights
    floor = NumpyMLP(sizes, params, batch, dtype)
    ref = NumpyMLP(sizes, params, batch, dtype)
    ref_loss = ref.train_step(x, y, LR)
    ref_after = [p.copy() for p in ref.params()]
    contenders = [Contender("numpy floor (hand-written)", lambda: floor.train_step(x, y, LR),
                            reset=lambda: floor.set_params(params), role="floor")]

    # PyTorch eager
    if torch is not None:
        import torch.nn.functional as F

        tmodel = torch_mlp(torch, sizes, params, dtype)
        topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step() -> Any:
            topt.zero_grad()
            loss = F.mse_loss(tmodel(tx), ty)
            loss.backward()
            topt.step()
            return loss

        loss = float(torch_step().detach())
        _compare_step(report, "torch", key, params, [p.detach().numpy() for p in tmodel.parameters()],
                      ref_after, loss, ref_loss, dtype)
        contenders.append(Contender("torch eager (nn + optim.SGD)", torch_step,
                                    reset=lambda: torch_set_params(torch, tmodel, params), role="torch"))
    else:
        contenders.append(Contender("torch eager (nn + optim.SGD)", None, role="torch", note="skipped"))

    # tinygrad_lite
    model = tl_mlp(tl, sizes, params, dtype)
    opt = tl.optim.SGD(model.parameters(), lr=LR)
    lx, ly = tl.Tensor(x), tl.Tensor(y)

    def tl_step() -> Any:
        opt.zero_grad()
        loss = tl.nn.mse_loss(model(lx), ly)
        loss.backward()
        opt.step()
        return loss

    loss = float(tl_step().item())
    _compare_step(report, "tinygrad_lite", key, params, [p.data for p in model.parameters()], ref_after,
                  loss, ref_loss, dtype)
    contenders.append(Contender("tinygrad_lite", tl_step, reset=lambda: tl_set_params(model, params),
                                role="tl"))

    group = time_group(f"training step, MLP {key}", contenders, settings)
    # the floor's loss after many restored steps is still an ordinary number (no denormals)
    floor.set_params(params)
    final = floor.gradients(x, y)
    if not (np.isfinite(final) and final > 1e-20):
        print(f"  warning: the floor's loss became {final!r}; timings may be skewed")
    return group


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the training-step benchmark; returns the numbers (see ``_timing.Report.as_dict``)."""
    def only(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--only", default="", help="run only the workloads whose key contains this text")

    args, settings, torch, torch_why = _timing.start(__doc__, argv, 10.0, 0.6, only)
    report = Report("training step: forward + MSE + backward + SGD")
    with single_thread(torch) as threads_note:
        report.header(settings, threads_note, torch, torch_why)
        for seed, (key, sizes, batch, dtype, _) in enumerate(WORKLOADS):
            if args.only and args.only not in key:
                continue
            report.add(key, bench_workload(report, settings, torch, key, sizes, batch, dtype, seed))
    for group in report.groups.values():
        print_group(group, unit="step")
    for key, _, _, _, limit in WORKLOADS:
        if key in report.groups:
            ratio = report.groups[key].ratio("tl", "floor")
            report.target(f"tinygrad_lite / numpy floor, {key}", ratio, limit)
    report.print_targets()
    return report.as_dict()


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
