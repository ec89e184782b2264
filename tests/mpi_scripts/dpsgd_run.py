"""DPSGD across ranks: ``dpsgd_run.py OUT_DIR CASE[,CASE...]``.

Each rank trains ``_common.make_model()`` (float64) with DPSGD, which does the reduction
over the ranks itself, and writes its final weights to ``OUT_DIR/rank<K>.npz`` as
``<case>__<i>``. ``run(case, rank, world)`` is also called by the tests as a world of one
for the single-process reference. Cases:

* ``uneven``: fixed global batches split unevenly over the ranks (mean cost);
* ``sum``: the same with a sum cost;
* ``empty``: rank 1 holds no samples and runs its backward over an empty batch;
* ``nobackward``: rank 1 holds no samples and runs no backward at all;
* ``poisson``: a Poisson-sampled, sharded loader with ``expected_batch_size`` (shards, and
  some whole global batches, are empty: noise-only steps);
* ``seedmismatch`` / ``generator``: each rank seeds differently / passes a Generator: every
  rank must raise ``ValueError``;
* ``private``: ``tl.privacy.make_private`` (its loader yields each rank's shard of the
  Poisson batches); ``private_noseed``: the same without a seed: every rank raises ``ValueError``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
from _common import make_data, make_model

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

STEPS, GLOBAL = 4, 30
SPLITS = {1: [1.0], 2: [0.75, 0.25], 3: [0.5, 0.3, 0.2]}


def shard(idx: np.ndarray, case: str, rank: int, world: int) -> np.ndarray:
    """This rank's part of a global batch of indices."""
    if world == 1:
        return idx
    if case in ("empty", "nobackward"):
        return idx if rank == 0 else idx[:0]
    cuts = np.round(np.cumsum(SPLITS[world])[:-1] * len(idx)).astype(int)
    return np.split(idx, cuts)[rank]


def run(case: str, rank: int, world: int) -> list[np.ndarray]:
    """The final weights after DPSGD steps over this rank's shards of the same global batches."""
    X, Y = make_data()
    model = make_model(seed=0)
    if case.startswith("private"):
        opt, loader = tl.privacy.make_private(model, X, Y, batch_size=6, epochs=1, target_epsilon=5.0,
                                              target_delta=1e-5, max_grad_norm=0.3, lr=0.2,
                                              seed=None if case == "private_noseed" else 7)
        for k, (xb, yb) in enumerate(loader):
            if k == STEPS:
                break
            opt.zero_grad()
            tl.nn.mse_loss(model(xb), yb).backward()
            opt.step()
        return [p.data.copy() for p in model.parameters()]
    seed = {"seedmismatch": 7 + rank, "generator": np.random.default_rng(7)}.get(case, 7)
    opt = tl.optim.DPSGD(model.parameters(), lr=0.2, max_grad_norm=0.3, noise_multiplier=0.8, rng=seed,
                         expected_batch_size=2 if case == "poisson" else None)
    reduction = "sum" if case == "sum" else "mean"
    if case == "poisson":
        loader = tl.data.DataLoader(X, Y, batch_size=2, sampling="poisson", seed=3,
                                    shard=(rank, world) if world > 1 else None)
        batches = [(xb.data, yb.data) for xb, yb in loader]
    else:
        order = np.random.default_rng(11).permutation(len(X))
        batches = []
        for k in range(STEPS):
            idx = shard(order[k * GLOBAL:(k + 1) * GLOBAL], case, rank, world)
            batches.append((X[idx], Y[idx]))
    for xb, yb in batches:
        opt.zero_grad()
        if len(xb) or case != "nobackward":
            pred = model(tl.Tensor(xb, batched=True))
            tl.nn.mse_loss(pred, tl.Tensor(yb, batched=True), reduction=reduction).backward()
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def launch(n: int, *args: Any, root: Path, timeout: float = 90.0) -> Optional[subprocess.CompletedProcess]:
    """Run this script as an n-rank job with the project's launcher, in its own process group,
    with ``root`` first on the path, one BLAS thread and no launcher variables inherited;
    None (the group killed) if it does not finish within ``timeout`` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "OMPI_", "PMIX_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "tinygrad_lite.distributed", "-n", str(n), __file__, *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(root), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


if __name__ == "__main__":
    out_dir, cases = sys.argv[1], sys.argv[2].split(",")
    dist.init()
    results = {}
    for case in cases:
        for i, w in enumerate(run(case, dist.rank(), dist.world_size())):
            results[f"{case}__{i}"] = w
    np.savez(os.path.join(out_dir, f"rank{dist.rank()}.npz"), **results)
