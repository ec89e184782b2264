"""Benchmark: data-parallel training step, one process against two MPI ranks.

A step on the global batch of B samples (MLP 784-256-128-10, float32, mean squared error,
SGD, one BLAS thread per process), where each of the W ranks holds ``B / W`` rows:

* tinygrad_lite: ``opt.zero_grad(); tl.nn.mse_loss(model(xb), yb).backward();
  dist.all_reduce_gradients(model, n=len(xb)); opt.step()`` with ``xb`` a batched Tensor
  (as the DataLoader yields it);
* the floor: the hand-written numpy MLP of ``_mlp.NumpyMLP`` and, across ranks, ONE
  ``MPI.Allreduce`` (mpi4py, in place, float32) of its flat gradient buffer scaled by
  ``n_k / B``: the least a numpy framework could do for data parallelism;
* the float64 floor: the same numpy MLP exchanging its gradients as ``all_reduce_gradients``
  must (one float64 buffer: the float32 gradients cast up times ``n_k / B``, one
  ``Allreduce``, cast back): the least any implementation of that exchange costs, so the
  bound the float64 buffer puts on the 2-rank ratio.

Both run as one process (``mpiexec -n 1``) and as two ranks (``mpiexec -n 2``) at B = 256
and B = 2048; the table gives each median step time and the ratios ``2 ranks / 1 process``
(below 1: the second rank pays off) and ``tinygrad_lite / floor``. The ranks step in
lockstep: a sample is a barrier then K steps, its time the slowest rank's; contenders
alternate from sample to sample. On a machine with fewer than two free cores the two-rank
figures mostly measure the contention.

Usage::

    python bench/bench_distributed.py            # about a minute
    python bench/bench_distributed.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

HERE = Path(__file__).resolve().parent
SIZES = [784, 256, 128, 10]
LR = 1e-3
DTYPE = "float32"


# ---------------------------------------------------------------------------- one rank


def _worker(args: argparse.Namespace) -> None:
    """Runs under mpiexec: times both contenders at every batch size; rank 0 writes the JSON."""
    import _timing  # first: it may set BLAS thread variables before numpy loads
    import numpy as np
    from _mlp import NumpyMLP, init_params, make_batch, tl_mlp

    import tinygrad_lite as tl
    from tinygrad_lite import distributed as dist

    dist.init()
    rank, world = dist.rank(), dist.world_size()
    comm = None
    if world > 1:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    dtype = np.dtype(DTYPE)
    results: dict[str, Any] = {"world_size": world, "batches": {}}
    with _timing.single_thread() as threads_note:
        results["threads"] = threads_note
        for batch in args.batches:
            params = init_params(SIZES, dtype, seed=0)
            x, y = make_batch(SIZES, batch, dtype, seed=0)
            rows = np.array_split(np.arange(batch), world)[rank]
            xk, yk = x[rows], y[rows]
            n_k = len(rows)

            floor = NumpyMLP(SIZES, params, n_k, dtype)

            def floor_step(floor: Any = floor, xk: Any = xk, yk: Any = yk, n_k: int = n_k,
                           batch: int = batch) -> None:
                floor.forward(xk)
                floor.backward(xk, yk)
                if comm is not None:
                    np.multiply(floor.gflat, n_k / batch, out=floor.gflat)
                    comm.Allreduce(MPI.IN_PLACE, floor.gflat, op=MPI.SUM)
                floor.sgd(LR)

            floor64 = NumpyMLP(SIZES, params, n_k, dtype)
            wide = np.empty(floor64.gflat.size + 1, np.float64)  # [n_k, the gradients]

            def floor64_step(floor: Any = floor64, xk: Any = xk, yk: Any = yk, n_k: int = n_k,
                             batch: int = batch, wide: Any = wide) -> None:
                floor.forward(xk)
                floor.backward(xk, yk)
                if comm is not None:
                    wide[0] = n_k
                    np.multiply(floor.gflat, np.float64(n_k / batch), out=wide[1:])
                    comm.Allreduce(MPI.IN_PLACE, wide, op=MPI.SUM)
                    np.copyto(floor.gflat, wide[1:], casting="same_kind")
                floor.sgd(LR)

            model = tl_mlp(tl, SIZES, params, dtype)
            opt = tl.optim.SGD(model.parameters(), lr=LR)

            # the rank's batch as the DataLoader yields it, made once as the floor's arrays are
            xb, yb = tl.Tensor(xk, batched=True), tl.Tensor(yk, batched=True)

            def tl_step(model: Any = model, opt: Any = opt, xb: Any = xb, yb: Any = yb,
                        n_k: int = n_k) -> None:
                opt.zero_grad()
                tl.nn.mse_loss(model(xb), yb).backward()
                dist.all_reduce_gradients(model, n=n_k)
                opt.step()

            # one step of each from the same weights must change the weights alike (tl and the
            # float64 floor, each against the floor)
            floor_step()
            floor64_step()
            tl_step()
            err = max(float(np.abs((a - p0) - (q - p0)).max() / max(np.abs(q - p0).max(), 1e-30))
                      for got in ([p.data for p in model.parameters()], floor64.params())
                      for a, q, p0 in zip(got, floor.params(), params))
            results.setdefault("max_rel_err", {})[str(batch)] = err
            results["batches"][str(batch)] = _time_lockstep(
                {"floor": floor_step, "floor f64": floor64_step, "tinygrad_lite": tl_step}, comm, args.rounds,
                args.sample_ms / 1000)
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump(results, f)


def _time_lockstep(fns: dict[str, Any], comm: Any, rounds: int, sample_s: float) -> dict[str, dict]:
    """Median seconds per step of each function; every sample is the slowest rank's."""

    def slowest(dt: float) -> float:
        return comm.allreduce(dt, op=_max_op()) if comm is not None else dt

    def sample(fn: Any, k: int) -> float:
        if comm is not None:
            comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        return slowest(time.perf_counter() - t0) / k

    calls = {}
    for name, fn in fns.items():  # warm up; K steps per sample from rank 0's estimate
        for _ in range(2):
            fn()
        est = min(sample(fn, 1) for _ in range(3))
        k = max(1, int(sample_s / max(est, 1e-9)))
        calls[name] = comm.bcast(k, root=0) if comm is not None else k
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            samples[name].append(sample(fns[name], calls[name]))
    return {name: {"median_s": statistics.median(s), "min_s": min(s), "rounds": len(s),
                   "steps_per_sample": calls[name]} for name, s in samples.items()}


def _max_op() -> Any:
    from mpi4py import MPI

    return MPI.MAX


# ---------------------------------------------------------------------------- the driver


def _run_world(n: int, args: argparse.Namespace, out: str) -> dict:
    cmd = [sys.executable, "-m", "tinygrad_lite.distributed", "-n", str(n), str(Path(__file__).resolve()),
           "--worker", "--out", out, "--rounds", str(args.rounds), "--sample-ms", str(args.sample_ms),
           "--batches", ",".join(map(str, args.batches))]
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    root = str(HERE.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the {n}-rank run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with open(out) as f:
        return json.load(f)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs the 1-process and 2-rank jobs and prints the table; returns the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: fewer, shorter samples")
    parser.add_argument("--rounds", type=int, default=None,
                        help="samples per contender (default 15, quick 3)")
    parser.add_argument("--sample-ms", type=float, default=None,
                        help="shortest sample in milliseconds (default 200, quick 30)")
    parser.add_argument("--batches", default="256,2048", help="global batch sizes, comma-separated")
    parser.add_argument("--ranks", type=int, default=2, help="ranks of the parallel run (default 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per job")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 15)
    args.sample_ms = args.sample_ms or (30.0 if args.quick else 200.0)
    args.batches = [int(b) for b in str(args.batches).split(",")]
    if args.worker:
        _worker(args)
        return {}

    try:
        import mpi4py  # noqa: F401
    except ImportError:
        print('bench_distributed: mpi4py is not installed: pip install "tinygrad_lite[distributed]"')
        return {"skipped": "mpi4py is not installed"}
    print(f"data-parallel training step, MLP {'-'.join(map(str, SIZES))} {DTYPE}, MSE + SGD; "
          f"one BLAS thread per rank; {os.cpu_count()} cpus, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {w: _run_world(w, args, os.path.join(tmp, f"w{w}.json")) for w in (1, args.ranks)}
    print(runs[1].get("threads", ""))
    for w, run in runs.items():
        for b, err in run["max_rel_err"].items():
            verdict = "ok" if err < 5e-3 else "MISMATCH"
            print(f"check, {w} rank(s), B={b}: one tinygrad_lite step and one float64-floor step change the "
                  f"weights as one floor step ({err:.1e} relative): {verdict}")
    W = args.ranks
    header = (f"{'global B':>8s}  {'contender':14s} {'1 process':>11s} {f'{W} ranks':>11s} "
              f"{f'{W}r / 1p':>8s} {'x floor 1p':>10s} {f'x floor {W}r':>10s}")
    print(header)
    print("-" * len(header))
    table: dict[str, dict] = {}
    for b in args.batches:
        one, many = runs[1]["batches"][str(b)], runs[W]["batches"][str(b)]
        rows = {}
        for name in ("floor", "floor f64", "tinygrad_lite"):
            t1, tw = one[name]["median_s"], many[name]["median_s"]
            rows[name] = {"one_process_s": t1, f"{W}_ranks_s": tw, "ratio_ranks_over_one": tw / t1,
                          "x_floor_one": t1 / one["floor"]["median_s"],
                          "x_floor_ranks": tw / many["floor"]["median_s"]}
            r = rows[name]
            print(f"{b:8d}  {name:14s} {t1 * 1e3:9.3f}ms {tw * 1e3:9.3f}ms {r['ratio_ranks_over_one']:8.2f} "
                  f"{r['x_floor_one']:10.2f} {r['x_floor_ranks']:10.2f}")
        table[str(b)] = rows
    print(f"\n{W}r / 1p: step time on {W} ranks over one process (the same global batch); below 1 the ranks "
          "pay off. x floor: over the numpy + mpi4py floor (float32 exchange); floor f64: the floor "
          "exchanging one float64 buffer as all_reduce_gradients does.")
    checks = {f"{w}:{b}": e for w, run in runs.items() for b, e in run["max_rel_err"].items()}
    return {"ranks": W, "batches": table, "max_rel_err": checks}


if __name__ == "__main__":
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    main()
