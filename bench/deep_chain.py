"""Deep chain: a million recorded scalar ops, one backward, and the memory coming back.

For ``tl.Value`` and for a 0-d ``tl.Tensor`` this script builds

    y = x;  N times:  y = y * 1.0001 + 0.0001        (2N graph nodes)

runs ``y.backward()`` (no recursion anywhere, so no ``RecursionError``), checks
``x.grad == 1.0001 ** N``, and prints the time of each phase and the process's resident
memory before building, after building, after backward, at its peak (``ru_maxrss``) and
after the graph is freed. Freeing is shown
directly: a weak reference to the first node built from ``x`` must die once ``del y`` drops
the last reference to the chain.

By default each engine runs in its own child process so that its peak memory is its own;
``--in-process`` runs them here (the peak then only shows rises above earlier peaks).

Usage::

    python bench/deep_chain.py               # N = 1,000,000; under a minute, about 1.5 GB
    python bench/deep_chain.py --n 200000
    python bench/deep_chain.py --quick       # N = 100,000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import weakref
from typing import Any, Optional, Sequence

import tinygrad_lite as tl

A, B = 1.0001, 0.0001
ENGINES = ("value", "tensor")
LABELS = {"value": "tl.Value", "tensor": "tl.Tensor 0-d"}


def current_rss() -> Optional[int]:
    """Resident set size of this process in bytes (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss() -> Optional[int]:
    """The process's peak resident set size so far, in bytes (None without ``resource``)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def make_leaf(engine: str) -> Any:
    return tl.Value(1.0) if engine == "value" else tl.Tensor(1.0, requires_grad=True)


def run_chain(engine: str, n: int) -> dict:
    """Build, differentiate and free one chain of ``n`` steps; returns times, memory and checks."""
    gc.collect()
    rss0, peak0 = current_rss(), peak_rss()
    out: dict = {"engine": engine, "n": n, "ok": False}
    x = make_leaf(engine)
    t0 = time.perf_counter()
    first = x * A  # the leaf's child: it must die with the chain
    y = first + B
    child = weakref.ref(first)
    del first
    for _ in range(n - 1):
        y = y * A + B
    t1 = time.perf_counter()
    out["forward_s"] = t1 - t0
    out["rss_built"] = current_rss()
    try:
        y.backward()
    except RecursionError as e:
        out["error"] = f"RecursionError: {e}"
        return out
    t2 = time.perf_counter()
    out["backward_s"] = t2 - t1
    out["rss_after_backward"] = current_rss()
    expect = A ** n
    out["grad_rel_err"] = abs(float(x.grad) - expect) / expect
    del y  # the last reference to the chain: it is freed here, node by node
    t3 = time.perf_counter()
    out["free_s"] = t3 - t2
    out["child_freed"] = child() is None
    gc.collect()
    out["child_freed_after_gc"] = child() is None
    out["rss_freed"] = current_rss()
    peak1 = peak_rss()
    out["rss_start"] = rss0
    out["peak_rss"] = peak1 if peak0 is not None and peak1 is not None and peak1 > peak0 else None
    out["ok"] = out["grad_rel_err"] < 1e-6 and out["child_freed"]
    return out


def run_in_child(engine: str, n: int) -> dict:
    """``run_chain`` in a fresh Python process (its peak memory is then its own)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", engine, "--n", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        return {"engine": engine, "n": n, "ok": False,
                "error": f"child exited with {proc.returncode}: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_mb(n: Optional[float]) -> str:
    return "-" if n is None else f"{n / 1e6:.0f} MB"


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the deep chain for each engine; returns ``{"n": N, "engines": {name: figures}}``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None,
                        help="chain length (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="N = 100,000 unless --n is given")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: value,tensor")
    parser.add_argument("--in-process", action="store_true", help="run the engines in this process")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = args.n if args.n is not None else (100_000 if args.quick else 1_000_000)
    if n < 1:
        parser.error("--n must be at least 1")
    if args.child:
        print(json.dumps(run_chain(args.child, n)))
        return {}

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    where = "in this process" if args.in_process else "each in a child process"
    print(f"== deep chain: y = y * {A} + {B}, N = {n:,} ({2 * n:,} nodes), then backward; {where} ==")
    results = {}
    for engine in engines:
        print(f"  running {LABELS[engine]} ...", flush=True)
        results[engine] = run_chain(engine, n) if args.in_process else run_in_child(engine, n)

    header = (f"  {'engine':14s} {'forward':>8s} {'backward':>8s} {'free':>7s} {'grad err':>9s}"
              f" {'RSS before':>10s} {'built':>8s} {'after bwd':>9s} {'peak':>8s} {'freed':>8s}"
              "  first node freed")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for engine, r in results.items():
        if "error" in r:
            print(f"  {LABELS[engine]:14s} FAILED: {r['error']}")
            continue
        freed = "yes" if r["child_freed"] else ("after gc.collect()" if r["child_freed_after_gc"] else "NO")
        print(f"  {LABELS[engine]:14s} {r['forward_s']:7.2f}s {r['backward_s']:7.2f}s {r['free_s']:6.2f}s"
              f" {r['grad_rel_err']:9.1e} {fmt_mb(r['rss_start']):>10s} {fmt_mb(r['rss_built']):>8s}"
              f" {fmt_mb(r['rss_after_backward']):>9s} {fmt_mb(r['peak_rss']):>8s}"
              f" {fmt_mb(r['rss_freed']):>8s}  {freed}")
    print("  memory columns: resident size of the whole process; peak = its high-water mark (ru_maxrss),"
          " '-' if the chain did not raise it")
    bad = [LABELS[e] for e, r in results.items() if not r.get("ok")]
    verdict = "all chains differentiated, checked and freed" if not bad else f"FAILED: {', '.join(bad)}"
    print("  result: " + verdict)
    return {"n": n, "engines": results}


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(0 if not result or all(r.get("ok") for r in result["engines"].values()) else 1)
