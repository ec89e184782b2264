"""Timing harness shared by the benchmark scripts in this folder.

Method
------
* **One BLAS thread on every side.** ``single_thread()`` limits numpy's BLAS (through
  ``threadpoolctl`` when installed) and PyTorch's intra-op pool to one thread, and restores
  both afterwards. Without ``threadpoolctl`` this module sets ``OPENBLAS_NUM_THREADS`` and
  friends to 1 when it is imported, which only works if numpy has not been imported yet, so
  the scripts import this module first.
* **Interleaved rounds.** The contenders of one workload (say numpy floor, PyTorch,
  tinygrad_lite) are timed in rounds; each round times one *sample* of every contender,
  and the starting contender rotates from round to round. A slow drift of a shared machine
  then hits every contender alike instead of whichever happened to run during it.
* **Warm-up and calibration.** Each contender first runs untimed for a while; the median of
  its later warm-up calls estimates one call, from which the number of back-to-back calls
  in a sample is chosen so that a sample lasts a few milliseconds or more (long enough for
  ``time.perf_counter`` to be exact, short enough for many rounds).
* **Medians and IQR.** The figure quoted is the median over rounds of (sample time / calls
  in the sample); the inter-quartile range, as a percentage of the median, says how noisy it
  was. Ratios divide medians of the same run.
* **Garbage collection.** Setup objects are frozen (``gc.freeze``) so no collection scans
  them. In the default mode ``charge`` the automatic collector is off during a sample and a
  young-generation ``gc.collect(0)`` runs, *timed*, after about every 5 ms of calls: each
  contender pays for collecting its own cyclic garbage and for nothing else. ``auto`` leaves
  the automatic collector on; ``untimed`` never times a collection.
* **State reset.** A contender may give a ``reset`` callable (e.g. restore the initial
  weights of a training step); it runs untimed before every sample.
* **Noise report.** Every group prints process CPU time over wall time; with one thread a
  value well below 1 means other processes took the CPU during the measurement.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS")

try:
    import threadpoolctl
except ImportError:  # fall back to environment variables, read when numpy loads its BLAS
    threadpoolctl = None
    if "numpy" not in sys.modules:
        for _var in _THREAD_VARS:
            os.environ.setdefault(_var, "1")

perf_counter = time.perf_counter

GC_MODES = ("charge", "auto", "untimed")
GC_CHUNK_S = 0.005  # in "charge" mode: a timed young-generation collection after ~this much work


# ---------------------------------------------------------------------------- settings


@dataclass
class Settings:
    """How long and how finely to time (built from the command line by ``settings_from_args``)."""

    quick: bool = False
    budget_s: float = 10.0  # wall time of the timed rounds of one group of contenders
    target_rounds: int = 25  # rounds aimed for; sets the sample length within the budget
    min_rounds: int = 7
    max_rounds: int = 400
    min_sample_s: float = 0.004  # a sample never lasts less than this
    warmup_s: float = 0.2  # untimed warm-up per contender before calibration
    fixed_rounds: Optional[int] = None  # exactly this many rounds (ignores the budget)
    gc_mode: str = "charge"
    use_torch: bool = True


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The options every script shares: --quick, --rounds, --sample-ms, --budget, --gc, --no-torch."""
    parser.add_argument("--quick", action="store_true", help="a run of a few seconds instead of the full one")
    parser.add_argument("--rounds", type=int, default=None,
                        help="time exactly this many interleaved rounds per workload")
    parser.add_argument("--sample-ms", type=float, default=None,
                        help="shortest sample in milliseconds (default 4, 2 with --quick)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timed rounds per workload (overrides the default)")
    parser.add_argument("--gc", choices=GC_MODES, default="charge",
                        help="garbage collection during samples (default: charge; see bench/_timing.py)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows even if torch imports")


def settings_from_args(args: argparse.Namespace, budget_s: float, quick_budget_s: float) -> Settings:
    """Settings for a script whose full run spends ``budget_s`` (quick: ``quick_budget_s``) per workload."""
    if args.quick:
        s = Settings(quick=True, budget_s=quick_budget_s, target_rounds=9, min_rounds=3, max_rounds=60,
                     min_sample_s=0.002, warmup_s=0.05)
    else:
        s = Settings(budget_s=budget_s)
    if args.budget is not None:
        s.budget_s = args.budget
    if args.sample_ms is not None:
        s.min_sample_s = args.sample_ms / 1e3
        s.warmup_s = min(s.warmup_s, 10 * s.min_sample_s)
    if args.rounds is not None:
        s.fixed_rounds = max(1, args.rounds)
    s.gc_mode = args.gc
    s.use_torch = not args.no_torch
    return s


# ---------------------------------------------------------------------------- optional libraries


def start(doc: str, argv: Optional[Sequence[str]], budget_s: float, quick_budget_s: float,
          extra: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> tuple:
    """The start of every script's ``main``: parse the shared options (and the script's own,
    added by ``extra``), build the settings and import PyTorch if wanted.
    Returns ``(args, settings, torch, why torch is missing)``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_common_args(parser)
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    settings = settings_from_args(args, budget_s=budget_s, quick_budget_s=quick_budget_s)
    torch, torch_why = import_torch(settings)
    return args, settings, torch, torch_why


def batches_option(default: str) -> Callable[[argparse.ArgumentParser], None]:
    """The ``--batches`` option (comma-separated batch sizes) with its default."""
    def add(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--batches", default=default, help=f"comma-separated batch sizes (default {default})")
    return add


def batch_sizes(text: str) -> list:
    """``"32,128"`` -> ``[32, 128]``."""
    return [int(b) for b in text.split(",") if b.strip()]


def import_torch(settings: Optional[Settings] = None) -> tuple[Any, str]:
    """``(torch, "")`` if PyTorch imports (and is wanted), else ``(None, reason)``."""
    if settings is not None and not settings.use_torch:
        return None, "skipped (--no-torch)"
    try:
        import torch
    except Exception as e:  # noqa: BLE001 -- a broken install is a reason to skip, not to fail
        return None, f"not importable ({type(e).__name__}: {e})"
    return torch, ""


# ---------------------------------------------------------------------------- threads


@contextmanager
def single_thread(torch: Any = None) -> Iterator[str]:
    """Run the block with one BLAS thread for numpy and one intra-op thread for torch.

    Yields a one-line description of what was limited; restores the previous limits on exit.
    """
    notes = []
    limiter = None
    if threadpoolctl is not None:
        limiter = threadpoolctl.threadpool_limits(limits=1, user_api="blas")
        notes.append("numpy BLAS: 1 thread (threadpoolctl)")
    elif all(os.environ.get(v) == "1" for v in _THREAD_VARS[:1]):
        notes.append("numpy BLAS: 1 thread (OPENBLAS_NUM_THREADS=1)")
    else:
        notes.append("numpy BLAS: NOT limited (install threadpoolctl, or set OPENBLAS_NUM_THREADS=1)")
    old_torch = None
    if torch is not None:
        old_torch = torch.get_num_threads()
        torch.set_num_threads(1)
        notes.append("torch: 1 thread")
    try:
        yield "; ".join(notes)
    finally:
        if torch is not None and old_torch is not None:
            torch.set_num_threads(old_torch)
        if limiter is not None:
            limiter.restore_original_limits()


def environment_lines(torch: Any = None) -> list[str]:
    """A few lines describing the machine and libraries, printed at the top of every run."""
    import numpy as np

    lines = [f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
             f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    if threadpoolctl is not None:
        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                lines.append(f"BLAS {info.get('internal_api')} {info.get('version')}, kernel "
                             f"{info.get('architecture')}, {info.get('num_threads')} threads")
                break
    if torch is not None:
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            lines.append(f"note: {var}={os.environ[var]} forces OpenBLAS's tuning; for benchmark numbers run "
                         f"with `env -u {var} python ...`")
    return lines


# ---------------------------------------------------------------------------- contenders and timing


@dataclass
class Contender:
    """One implementation of one workload.

    ``fn`` runs one call (e.g. one training step); ``reset`` (optional) runs untimed before
    every sample; ``role`` is ``"floor"`` (the row other rows are divided by), ``"torch"``
    (the row for the ``/ torch`` column), ``"tl"`` (tinygrad_lite) or ``""``. ``units`` is
    the number of operations one call performs: times are reported per unit.
    """

    name: str
    fn: Optional[Callable[[], Any]]
    reset: Optional[Callable[[], Any]] = None
    role: str = ""
    units: int = 1
    note: str = ""
    inner: int = 0  # calls per sample (set by calibration)
    chunk: int = 0  # calls between two timed young-generation collections ("charge" mode)
    est_s: float = 0.0  # estimated time of one call
    samples: list = field(default_factory=list)  # per-unit time of each sample, seconds

    def stats(self) -> dict:
        """Median, quartiles and derived figures of the samples (empty dict if none)."""
        s = self.samples
        if not s:
            return {}
        if len(s) >= 2:
            q1, med, q3 = statistics.quantiles(s, n=4, method="inclusive")
            med = statistics.median(s)
        else:
            q1 = med = q3 = s[0]
        return {"median_s": med, "p25_s": q1, "p75_s": q3, "iqr_pct": 100.0 * (q3 - q1) / med if med else 0.0,
                "min_s": min(s), "rounds": len(s), "calls_per_sample": self.inner}


@dataclass
class Group:
    """The timed contenders of one workload and what the run looked like."""

    title: str
    contenders: list
    ref_label: str = "floor"  # what the "/ floor" column is called in the table
    rounds: int = 0
    wall_s: float = 0.0
    cpu_over_wall: float = float("nan")

    def find(self, role: str) -> Optional[Contender]:
        return next((c for c in self.contenders if c.role == role and c.samples), None)

    def median(self, name_or_role: str) -> Optional[float]:
        """Median per-unit time of the contender with this name (or, failing that, role)."""
        c = next((c for c in self.contenders if c.name == name_or_role and c.samples), None)
        c = c or self.find(name_or_role)
        return c.stats()["median_s"] if c else None

    def ratio(self, name_or_role: str, over: str) -> Optional[float]:
        """median(name_or_role) / median(over): e.g. ``ratio("tl", "floor")``."""
        a, b = self.median(name_or_role), self.median(over)
        return a / b if a is not None and b else None

    def as_dict(self) -> dict:
        floor, torch = self.find("floor"), self.find("torch")
        out: dict = {"rounds": self.rounds, "wall_s": self.wall_s, "cpu_over_wall": self.cpu_over_wall,
                     "contenders": {}}
        for c in self.contenders:
            row = {"role": c.role, "note": c.note, **c.stats()}
            if c.samples and floor is not None:
                row["x_floor"] = row["median_s"] / floor.stats()["median_s"]
            if c.samples and torch is not None:
                row["x_torch"] = row["median_s"] / torch.stats()["median_s"]
            out["contenders"][c.name] = row
        return out


def _warm_up(c: Contender, settings: Settings) -> float:
    """Run ``c.fn`` untimed for ``settings.warmup_s`` (at least 3 calls); return one call's time.

    Unless the gc mode is ``auto``, the automatic collector is off as during a sample and the
    young generation is collected (untimed) after every call, so that the estimate is not
    inflated by collections of an unrelated heap.
    """
    if c.reset:
        c.reset()
    times: list[float] = []
    collect = settings.gc_mode != "auto"
    start = perf_counter()
    while True:
        if collect:
            gc.disable()
        try:
            t0 = perf_counter()
            c.fn()
            t1 = perf_counter()
        finally:
            gc.enable()
        if collect:
            gc.collect(0)
        times.append(t1 - t0)
        spent = perf_counter() - start
        if len(times) >= 3 and spent >= settings.warmup_s:
            break
        if len(times) >= 2 and spent >= 5 * settings.warmup_s:  # a slow call: two are enough
            break
    return max(statistics.median(times[len(times) // 2:]), 1e-9)


def _time_sample(c: Contender, gc_mode: str) -> float:
    """One sample of ``c``: ``c.inner`` back-to-back calls; returns the time per unit."""
    fn, chunk = c.fn, c.chunk
    n_chunks = c.inner // chunk
    if c.inner > 1:
        fn()  # untimed: brings this contender's data back into the caches after the others ran
    if c.reset:
        c.reset()
    gc.collect()  # untimed: every sample starts without garbage
    if gc_mode != "auto":
        gc.disable()
    try:
        t0 = perf_counter()
        if gc_mode == "charge":
            for _ in range(n_chunks):
                for _ in range(chunk):
                    fn()
                gc.collect(0)
        else:
            for _ in range(n_chunks * chunk):
                fn()
        dt = perf_counter() - t0
    finally:
        gc.enable()
    return dt / (n_chunks * chunk * c.units)


def time_group(title: str, contenders: Sequence[Contender], settings: Settings,
               ref_label: str = "floor") -> Group:
    """Warm up, calibrate and time ``contenders`` in interleaved rounds; returns a ``Group``.

    Contenders whose ``fn`` is None are kept (their row says why) but not timed. A contender
    that raises is dropped from the rounds and its error is put in its note. ``ref_label``
    names the contender with role ``"floor"`` in the printed table.
    """
    group = Group(title, list(contenders), ref_label)
    live = [c for c in group.contenders if c.fn is not None]
    print(f"  timing: {title} ...", end="", flush=True)
    gc.collect()
    gc.freeze()  # from here on, collections never scan the setup's objects
    try:
        return _time_group(group, live, settings)
    finally:
        gc.unfreeze()


def _time_group(group: Group, live: list, settings: Settings) -> Group:
    """Warm-up, calibration and the interleaved rounds of ``time_group`` (heap already frozen)."""
    for c in list(live):
        try:
            c.est_s = _warm_up(c, settings)
        except Exception as e:  # noqa: BLE001 -- report it in the table, keep the others
            c.note, c.fn = f"error: {type(e).__name__}: {e}"[:100], None
            live.remove(c)
    if not live:
        print(" nothing to time")
        return group
    sample_s = max(settings.min_sample_s, settings.budget_s / (settings.target_rounds * len(live)))
    for c in live:
        c.inner = max(1, round(sample_s / c.est_s))
        if settings.gc_mode == "charge":
            c.chunk = min(c.inner, max(1, round(GC_CHUNK_S / c.est_s)))
        else:
            c.chunk = c.inner
        c.inner = c.chunk * max(1, round(c.inner / c.chunk))
    round_s = sum(max(c.inner * c.est_s, 1e-4) for c in live)
    if settings.fixed_rounds is not None:
        n_rounds = settings.fixed_rounds
    else:
        n_rounds = int(min(settings.max_rounds, max(settings.min_rounds, settings.budget_s / round_s)))

    wall0, cpu0 = perf_counter(), time.process_time()
    for r in range(n_rounds):
        k = r % len(live)
        for c in live[k:] + live[:k]:
            try:
                c.samples.append(_time_sample(c, settings.gc_mode))
            except Exception as e:  # noqa: BLE001
                c.note, c.fn = f"error: {type(e).__name__}: {e}"[:100], None
        live = [c for c in live if c.fn is not None]
        group.rounds = r + 1
        if not live:
            break
        # a safety net for a machine far slower than calibration predicted
        if settings.fixed_rounds is None and r + 1 >= settings.min_rounds \
                and perf_counter() - wall0 > 2 * settings.budget_s:
            break
    group.wall_s = perf_counter() - wall0
    group.cpu_over_wall = (time.process_time() - cpu0) / group.wall_s if group.wall_s > 0 else float("nan")
    busy = "  (other processes took CPU time: read with care)" if group.cpu_over_wall < 0.9 else ""
    print(f" {group.rounds} rounds, {group.wall_s:.1f} s, cpu/wall {group.cpu_over_wall:.2f}{busy}")
    return group


# ---------------------------------------------------------------------------- formatting


def fmt_time(s: Optional[float]) -> str:
    """A duration in the unit that reads best (ns, us, ms, s)."""
    if s is None or not math.isfinite(s):
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us" if s < 1e-5 else f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms" if s < 1e-2 else f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_ratio(x: Optional[float]) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def print_group(group: Group, unit: str = "call") -> None:
    """Print one workload's table: median, IQR, time / floor and time / torch per contender."""
    data = group.as_dict()["contenders"]
    name_w = max([28] + [len(c.name) for c in group.contenders])
    print(f"\n{group.title}   [{group.rounds} rounds, cpu/wall {group.cpu_over_wall:.2f}]")
    ref = "/ " + group.ref_label
    header = (f"  {'contender':{name_w}s} {'median/' + unit:>13s} {'IQR':>7s} {ref:>10s} {'/ torch':>8s}"
              "  note")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for c in group.contenders:
        row = data[c.name]
        if "median_s" in row:
            med, iqr = fmt_time(row["median_s"]), f"{row['iqr_pct']:.1f}%"
        else:
            med, iqr = "n/a", ""
        print(f"  {c.name:{name_w}s} {med:>13s} {iqr:>7s} {fmt_ratio(row.get('x_floor')):>10s}"
              f" {fmt_ratio(row.get('x_torch')):>8s}  {c.note}")


# ---------------------------------------------------------------------------- report


@dataclass
class Target:
    """A speed goal: ``value <= limit`` (value None means it could not be measured)."""

    description: str
    value: Optional[float]
    limit: float
    unit: str = "x"

    @property
    def verdict(self) -> str:
        if self.value is None or not math.isfinite(self.value):
            return "n/a"
        return "PASS" if self.value <= self.limit else "MISS"

    def line(self) -> str:
        if self.unit == "x":
            val, lim = fmt_ratio(self.value), f"{self.limit:.2f}x"
        else:
            val, lim = fmt_time(self.value), fmt_time(self.limit)
        return f"  {self.verdict:4s}  {self.description}: {val} (target <= {lim})"


class Report:
    """Collects groups, correctness checks, targets and extra numbers of one script run."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.groups: dict[str, Group] = {}
        self.checks: list[dict] = []
        self.targets: list[Target] = []
        self.extra: dict = {}

    def header(self, settings: Settings, threads_note: str, torch: Any = None, torch_why: str = "") -> None:
        mode = "quick" if settings.quick else "full"
        print(f"== {self.title}  ({mode} run, gc mode {settings.gc_mode}) ==")
        for line in environment_lines(torch):
            print("  " + line)
        print("  threads: " + threads_note)
        if torch is None:
            print(f"  torch: {torch_why}; its rows are skipped")

    def check(self, what: str, ok: bool, detail: str) -> bool:
        """Record (and print) a correctness check done before timing."""
        self.checks.append({"what": what, "ok": bool(ok), "detail": detail})
        print(f"  check {'ok    ' if ok else 'FAILED'} {what}: {detail}")
        return bool(ok)

    def add(self, key: str, group: Group) -> Group:
        self.groups[key] = group
        return group

    def target(self, description: str, value: Optional[float], limit: float, unit: str = "x") -> Target:
        t = Target(description, value, limit, unit)
        self.targets.append(t)
        return t

    def print_targets(self) -> None:
        print(f"\n== targets ({self.title}) ==")
        for t in self.targets:
            print(t.line())
        bad = [c for c in self.checks if not c["ok"]]
        if bad:
            print(f"  {len(bad)} correctness check(s) FAILED: " + "; ".join(c["what"] for c in bad))

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "groups": {k: g.as_dict() for k, g in self.groups.items()},
            "checks": list(self.checks),
            "targets": [{"description": t.description, "value": t.value, "limit": t.limit, "unit": t.unit,
                         "verdict": t.verdict} for t in self.targets],
            **self.extra,
        }


def max_rel_err(a: Any, b: Any) -> float:
    """max |a - b| / max |b| (0 when both are all zeros), in float64."""
    import numpy as np

    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    scale = float(np.max(np.abs(b64))) if b64.size else 0.0
    diff = float(np.max(np.abs(a64 - b64))) if b64.size else 0.0
    return diff / scale if scale > 0 else diff


def time_batches(report: Any, settings: Settings, torch: Any, torch_why: str, batches: str,
                 bench_batch: Callable[..., tuple], unit: str) -> dict:
    """Time every batch size of ``batches`` with one BLAS (and torch) thread:
    ``bench_batch(report, settings, torch, B)`` returns ``(group, memory)``; each group is
    added to ``report`` as ``B=<B>`` and printed. Returns ``{B: memory}``."""
    memory: dict = {}
    with single_thread(torch) as threads_note:
        report.header(settings, threads_note, torch, torch_why)
        for B in batch_sizes(batches):
            group, memory[B] = bench_batch(report, settings, torch, B)
            report.add(f"B={B}", group)
    for group in report.groups.values():
        print_group(group, unit=unit)
    return memory
