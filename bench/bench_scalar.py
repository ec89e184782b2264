"""Benchmark: the cost of recording small ops, the scalar engine, and a deep chain.

(a) Per-op overhead. ``a + b`` on (16,) float64 vectors with ``a.requires_grad``, and
    ``X @ W`` for (32,16) @ (16,16) float64 with ``W.requires_grad``: tinygrad_lite records
    a graph node, numpy's bare op is the floor, PyTorch (if installed) records its autograd
    node. Each timed call performs the op 8 times; times are per op.
(b) Scalar engine. ``MLP(2, [16, 16, 1])`` on 32 points, sum of squared errors, forward and
    backward: ``tl.Value`` against micrograd (if installed) with the same weights (built by
    ``micrograd.nn.MLP`` and copied into ``tl.Value``). Times are also given per graph node.
(c) Deep chain. ``y = y * 1.0001 + 0.0001`` repeated N = 100,000 times from a leaf, then
    ``y.backward()``, for ``tl.Value``, a 0-d ``tl.Tensor`` and a 0-d torch tensor; forward,
    backward and freeing are timed separately (interleaved repetitions, medians).

Usage::

    python bench/bench_scalar.py            # about a minute
    python bench/bench_scalar.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from dataclasses import replace
from typing import Any, Callable, Optional, Sequence

import _timing  # first: it may set BLAS thread variables before numpy loads
import numpy as np
from _timing import Contender, Report, fmt_ratio, fmt_time, print_group, single_thread, time_group

import tinygrad_lite as tl

OPS_PER_CALL = 8
CHAIN_A, CHAIN_B = 1.0001, 0.0001


# ---------------------------------------------------------------------------- (a) per-op overhead


def bench_per_op(report: Report, settings: _timing.Settings, torch: Any) -> None:
    """Time one small recorded op in numpy, tinygrad_lite and torch."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    ta, tb = tl.Tensor(a, requires_grad=True), tl.Tensor(b)

    def np_add() -> tuple:
        return (a + b, a + b, a + b, a + b, a + b, a + b, a + b, a + b)

    def tl_add() -> tuple:
        return (ta + tb, ta + tb, ta + tb, ta + tb, ta + tb, ta + tb, ta + tb, ta + tb)

    adds = [Contender("numpy a + b", np_add, role="floor", units=OPS_PER_CALL)]
    if torch is not None:
        pa = torch.from_numpy(a.copy()).requires_grad_(True)
        pb = torch.from_numpy(b.copy())

        def torch_add() -> tuple:
            return (pa + pb, pa + pb, pa + pb, pa + pb, pa + pb, pa + pb, pa + pb, pa + pb)

        adds.append(Contender("torch a + b (a.requires_grad)", torch_add, role="torch", units=OPS_PER_CALL))
    else:
        adds.append(Contender("torch a + b (a.requires_grad)", None, role="torch", note="skipped"))
    adds.append(Contender("tinygrad_lite a + b (a.requires_grad)", tl_add, role="tl", units=OPS_PER_CALL))
    report.add("add", time_group("per-op overhead: a + b, (16,) float64", adds, settings, "numpy"))

    X, W = rng.standard_normal((32, 16)), rng.standard_normal((16, 16))
    tX, tW = tl.Tensor(X), tl.Tensor(W, requires_grad=True)

    def np_mm() -> tuple:
        return (X @ W, X @ W, X @ W, X @ W, X @ W, X @ W, X @ W, X @ W)

    def tl_mm() -> tuple:
        return (tX @ tW, tX @ tW, tX @ tW, tX @ tW, tX @ tW, tX @ tW, tX @ tW, tX @ tW)

    mms = [Contender("numpy X @ W", np_mm, role="floor", units=OPS_PER_CALL)]
    if torch is not None:
        pX = torch.from_numpy(X.copy())
        pW = torch.from_numpy(W.copy()).requires_grad_(True)

        def torch_mm() -> tuple:
            return (pX @ pW, pX @ pW, pX @ pW, pX @ pW, pX @ pW, pX @ pW, pX @ pW, pX @ pW)

        mms.append(Contender("torch X @ W (W.requires_grad)", torch_mm, role="torch", units=OPS_PER_CALL))
    else:
        mms.append(Contender("torch X @ W (W.requires_grad)", None, role="torch", note="skipped"))
    mms.append(Contender("tinygrad_lite X @ W (W.requires_grad)", tl_mm, role="tl", units=OPS_PER_CALL))
    title = "per-op overhead: X @ W, (32,16) @ (16,16) float64"
    report.add("matmul", time_group(title, mms, settings, "numpy"))


# ---------------------------------------------------------------------------- (b) scalar engine


def _import_micrograd() -> tuple[Any, str]:
    try:
        import micrograd.nn as mg_nn
    except Exception as e:  # noqa: BLE001 -- a missing or broken package only skips its rows
        return None, f"not importable ({type(e).__name__}: {e})"
    return mg_nn, ""


def _copy_mlp(mg_model: Any) -> tuple[list, list]:
    """The weights of a micrograd MLP as ``tl.Value``s: (layers, parameters).

    ``layers`` holds, per layer, ``(weights, bias, relu?)`` for each neuron.
    """
    layers, params = [], []
    for layer in mg_model.layers:
        neurons = []
        for n in layer.neurons:
            w = [tl.Value(wi.data) for wi in n.w]
            bias = tl.Value(n.b.data)
            neurons.append((w, bias, n.nonlin))
            params += w + [bias]
        layers.append(neurons)
    return layers, params


def _scalar_forward(layers: list, x: Sequence[float]) -> Any:
    """The same ops, in the same order, as micrograd's ``MLP.__call__``."""
    for neurons in layers:
        out = []
        for w, bias, relu in neurons:
            act = sum((wi * xi for wi, xi in zip(w, x)), bias)
            out.append(act.relu() if relu else act)
        x = out
    return x[0]


def _count_nodes(root: Any, parents: Callable[[Any], Any]) -> int:
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(parents(v))
    return len(seen)


def bench_value_mlp(report: Report, settings: _timing.Settings) -> None:
    """tl.Value against micrograd on the same scalar MLP."""
    mg_nn, why = _import_micrograd()
    if mg_nn is None:
        print(f"  micrograd: {why}; the scalar-engine comparison is skipped")
        return
    rnd = random.Random(0)
    points = [(rnd.uniform(-2, 2), rnd.uniform(-2, 2)) for _ in range(32)]
    labels = [1.0 if px * py > 0 else -1.0 for px, py in points]
    saved = random.getstate()
    random.seed(1)  # micrograd draws its initial weights from the global random module
    mg_model = mg_nn.MLP(2, [16, 16, 1])
    random.setstate(saved)

    def mg_step() -> Any:
        mg_model.zero_grad()
        loss = sum((mg_model(list(p)) - t) ** 2 for p, t in zip(points, labels))
        loss.backward()
        return loss

    layers, params = _copy_mlp(mg_model)

    def tl_step() -> Any:
        for p in params:
            p.grad = 0.0
        loss = sum((_scalar_forward(layers, p) - t) ** 2 for p, t in zip(points, labels))
        loss.backward()
        return loss

    mg_loss, tl_loss = mg_step(), tl_step()
    mg_grads = [p.grad for p in mg_model.parameters()]
    err = max(abs(tl_loss.data - mg_loss.data) / abs(mg_loss.data),
              _timing.max_rel_err([p.grad for p in params], mg_grads))
    report.check("tl.Value MLP loss and gradients == micrograd's", err < 1e-9,
                 f"max relative error {err:.1e}")
    n_mg = _count_nodes(mg_loss, lambda v: v._prev)
    n_tl = _count_nodes(tl_loss, lambda v: v._parents)
    del mg_loss, tl_loss
    title = "scalar engine: MLP(2,[16,16,1]) on 32 points, SSE, forward + backward"
    variants = [("value_mlp", settings, "")]
    if settings.gc_mode != "untimed":
        # micrograd's graph is held together by reference cycles, so freeing it is the cyclic
        # collector's job, and that is a large share of its time; show the comparison without it too
        untimed = replace(settings, gc_mode="untimed", budget_s=settings.budget_s / 2)
        variants.append(("value_mlp_untimed_gc", untimed, " [collections untimed]"))
    for key, s, suffix in variants:
        group = time_group(title + suffix,
                           [Contender("micrograd", mg_step, role="floor", note=f"{n_mg} nodes"),
                            Contender("tinygrad_lite tl.Value", tl_step, role="tl", note=f"{n_tl} nodes")],
                           s, "micrograd")
        report.add(key, group)
    report.extra["value_mlp_nodes"] = {"micrograd": n_mg, "tinygrad_lite": n_tl}


# ---------------------------------------------------------------------------- (c) deep chain


def _chain_once(make_leaf: Callable[[], Any], read_grad: Callable[[Any], float], n: int) -> dict:
    """Build the chain, run backward, free it; times of each phase and the gradient's error."""
    gc.collect()
    x = make_leaf()
    y = x
    t0 = time.perf_counter()
    for _ in range(n):
        y = y * CHAIN_A + CHAIN_B
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    g = read_grad(x)
    del x, y
    gc.collect()
    t3 = time.perf_counter()
    expect = CHAIN_A ** n
    return {"forward_s": t1 - t0, "backward_s": t2 - t1, "free_s": t3 - t2, "fwd_bwd_s": t2 - t0,
            "grad_rel_err": abs(g - expect) / expect}


def bench_chain(report: Report, torch: Any, n: int, reps: int) -> dict:
    """Interleaved repetitions of the deep chain; returns median phase times per engine."""
    engines: dict[str, tuple] = {
        "tinygrad_lite tl.Value": (lambda: tl.Value(1.0), lambda v: v.grad),
        "tinygrad_lite tl.Tensor 0-d": (lambda: tl.Tensor(1.0, requires_grad=True), lambda t: float(t.grad)),
    }
    if torch is not None:
        engines["torch 0-d tensor"] = (lambda: torch.tensor(1.0, dtype=torch.float64, requires_grad=True),
                                       lambda t: float(t.grad))
    names = list(engines)
    runs: dict[str, list] = {k: [] for k in names}
    print(f"  timing: deep chain N={n:,}, {reps} interleaved repetition(s) ...", end="", flush=True)
    gc.collect()
    gc.freeze()
    try:
        for r in range(reps):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                runs[name].append(_chain_once(*engines[name], n))
    finally:
        gc.unfreeze()
    print(" done")
    out: dict = {}
    for name in names:
        out[name] = {key: statistics.median(run[key] for run in runs[name]) for key in runs[name][0]}
        out[name]["grad_rel_err"] = max(run["grad_rel_err"] for run in runs[name])
        report.check(f"chain N={n:,}: {name} gradient == 1.0001**N", out[name]["grad_rel_err"] < 1e-6,
                     f"relative error {out[name]['grad_rel_err']:.1e}")
    return out


def print_chain(chain: dict, n: int) -> None:
    torch_t = chain.get("torch 0-d tensor", {}).get("fwd_bwd_s")
    print(f"\ndeep chain: y = y * {CHAIN_A} + {CHAIN_B}, N = {n:,} (2N recorded ops), then y.backward()")
    header = (f"  {'engine':28s} {'forward':>9s} {'backward':>9s} {'fwd+bwd':>9s} {'free':>9s}"
              f" {'per op':>9s} {'/ torch':>8s}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, r in chain.items():
        ratio = r["fwd_bwd_s"] / torch_t if torch_t else None
        print(f"  {name:28s} {fmt_time(r['forward_s']):>9s} {fmt_time(r['backward_s']):>9s}"
              f" {fmt_time(r['fwd_bwd_s']):>9s} {fmt_time(r['free_s']):>9s}"
              f" {fmt_time(r['fwd_bwd_s'] / (2 * n)):>9s} {fmt_ratio(ratio):>8s}")


# ---------------------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the per-op, scalar-engine and deep-chain benchmarks; returns the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _timing.add_common_args(parser)
    parser.add_argument("--chain-n", type=int, default=100_000,
                        help="length of the deep chain (default 100000)")
    parser.add_argument("--chain-reps", type=int, default=None,
                        help="repetitions of the deep chain per engine (default 5, 1 with --quick)")
    args = parser.parse_args(argv)
    settings = _timing.settings_from_args(args, budget_s=7.0, quick_budget_s=0.5)
    reps = args.chain_reps if args.chain_reps is not None else (1 if args.quick else 5)
    torch, torch_why = _timing.import_torch(settings)
    report = Report("small ops, scalar engine, deep chain")
    with single_thread(torch) as threads_note:
        report.header(settings, threads_note, torch, torch_why)
        bench_per_op(report, settings, torch)
        bench_value_mlp(report, settings)
        chain = bench_chain(report, torch, args.chain_n, max(1, reps))
    print_group(report.groups["add"], unit="op")
    print_group(report.groups["matmul"], unit="op")
    for key in ("value_mlp", "value_mlp_untimed_gc"):
        if key in report.groups:
            g = report.groups[key]
            print_group(g, unit="step")
            nodes = report.extra["value_mlp_nodes"]
            per_node = {"micrograd": g.median("floor"), "tinygrad_lite": g.median("tl")}
            print("  per node (each engine's own graph): " + ", ".join(
                f"{k} {fmt_time(v / nodes[k] if v else None)}" for k, v in per_node.items()))
    print_chain(chain, args.chain_n)
    report.extra["chain"] = {"n": args.chain_n, "reps": reps, **chain}

    report.target("tinygrad_lite a + b, time per op", report.groups["add"].median("tl"), 1e-6, unit="s")
    if "value_mlp" in report.groups:
        ratio = report.groups["value_mlp"].ratio("tl", "floor")
        report.target("tl.Value / micrograd, MLP forward + backward", ratio, 0.5)
    torch_t = chain.get("torch 0-d tensor", {}).get("fwd_bwd_s")
    for name in ("tinygrad_lite tl.Value", "tinygrad_lite tl.Tensor 0-d"):
        ratio = chain[name]["fwd_bwd_s"] / torch_t if torch_t else None
        report.target(f"{name} / torch, deep chain forward + backward", ratio, 1 / 3)
    report.print_targets()
    return report.as_dict()


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
