"""How quickly the graph explorer's page becomes interactive, for a 20-layer MLP.

The graph: ``tl.nn.Sequential`` of 20 ``Linear(16, 16)`` + ``ReLU`` blocks, a batch of 4
(batched input), a mean squared error cost and one ``backward()``: about 100 values and
80 ops. The script times building the explorer in Python (traced backward, Graphviz layout
or the layered fallback), writes the page, then loads it in headless Chromium (Debian's
``chromium``, driven by the ``playwright`` package) with every non-file request blocked.

"Interactive" is ``window.__explorerReady``: the page sets it to ``performance.now()`` (ms
since navigation started) once every handler is wired. Target: <= 2 s (median of the loads).

    python bench/bench_explore.py [--layers 20] [--width 16] [--batch 4] [--loads 3]
                                  [--layout auto|dot|layered] [--out PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite.explore import explore

TARGET_MS = 2000.0


def build_graph(layers: int, width: int, batch: int, seed: int = 0) -> tuple:
    """(model, cost) of the MLP after one backward."""
    blocks = []
    for i in range(layers):
        blocks += [tl.nn.Linear(width, width, rng=seed + i), tl.nn.ReLU()]
    model = tl.nn.Sequential(*blocks)
    rng = np.random.default_rng(seed)
    x = tl.Tensor(rng.standard_normal((batch, width)), batched=True, name="x")
    t = tl.Tensor(rng.standard_normal((batch, width)), batched=True, name="t")
    cost = tl.nn.mse_loss(model(x), t)
    cost.name = "cost"
    cost.backward()
    return model, cost


def load_times(path: Path, loads: int) -> list:
    """Milliseconds until ``window.__explorerReady`` for ``loads`` fresh page loads."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    out = []
    blocked: list = []

    def guard(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            for _ in range(loads):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.route("**/*", guard)
                page.goto(path.resolve().as_uri())
                page.wait_for_function("window.__explorerReady !== undefined", timeout=30000)
                out.append(float(page.evaluate("window.__explorerReady")))
                if blocked:
                    raise RuntimeError(f"the page tried to fetch {blocked}")
                page.close()
        finally:
            browser.close()
    return out


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; returns the figures (ms) and the verdict."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--layout", default="auto", choices=("auto", "dot", "layered"))
    ap.add_argument("--out", default=None, help="where to write the page (default: a temporary folder)")
    args = ap.parse_args(argv)

    model, cost = build_graph(args.layers, args.width, args.batch)
    t0 = time.perf_counter()
    ex = explore(cost, model, layout=args.layout)
    build_ms = 1e3 * (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.out) if args.out else Path(tmp) / "explore_bench.html"
        ex.save(path)
        size_kb = path.stat().st_size / 1024
        try:
            times = load_times(path, args.loads)
        except ImportError:
            times = []
    n_values, n_steps = len(ex.payload["nodes"]), len(ex.payload["steps"])
    print(f"graph: {args.layers} x (Linear({args.width}, {args.width}) + ReLU), batch {args.batch}: "
          f"{n_values} values, {n_steps} backward steps; layout {ex.layout}")
    print(f"explore() in Python: {build_ms:.0f} ms; page {size_kb:.0f} KiB")
    result = {"build_ms": build_ms, "size_kb": size_kb, "ready_ms": times, "layout": ex.layout,
              "values": n_values, "steps": n_steps, "verdict": "n/a"}
    if not times:
        print("page load: skipped (the playwright package is not installed)")
        return result
    med = statistics.median(times)
    result["median_ready_ms"] = med
    result["verdict"] = "PASS" if med <= TARGET_MS else "MISS"
    print(f"time until interactive (window.__explorerReady), {len(times)} loads: "
          + ", ".join(f"{t:.0f}" for t in times) + f" ms; median {med:.0f} ms")
    print(f"{result['verdict']}: page interactive in {med:.0f} ms (target <= {TARGET_MS:.0f} ms)")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
