"""What the MPI test scripts and tests/test_distributed.py share: data, model, training run.

Every function takes the world it runs in as arguments, so the test process calls the same
code as a world of 1 to get the single-process reference.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

N, D, H, K = 97, 5, 16, 3
GLOBAL_BATCH = 24  # 97 = 4 * 24 + 1: the last global batch has one sample, so some shards are empty


def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(123)
    return rng.normal(size=(N, D)), rng.normal(size=(N, K))


def make_model(seed: int = 0, hidden: int = H) -> Any:
    return tl.nn.Sequential(tl.nn.Linear(D, hidden, rng=seed), tl.nn.Tanh(),
                            tl.nn.Linear(hidden, K, rng=seed + 1))


def make_optimizer(kind: str, model: Any) -> Any:
    if kind == "sgd":
        return tl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    if kind == "adam":
        return tl.optim.Adam(model.parameters(), lr=0.01)
    raise ValueError(kind)


def split_sizes(case: str, world: int) -> list[int]:
    """How the N samples (in order) are split over the ranks for a gradient case."""
    if case.startswith("uneven"):
        return {1: [N], 2: [80, 17], 3: [60, 30, 7]}[world]
    if case.startswith("empty"):  # empty and emptyfwd
        return {1: [N], 2: [N, 0], 3: [50, 0, 47]}[world]
    return [len(a) for a in np.array_split(np.arange(N), world)]


def train(kind: str, rank: int, world: int, steps: int, stop_at: Optional[int] = None,
          ckpt: Optional[str] = None, resume: Optional[str] = None) -> list[np.ndarray]:
    """``steps`` optimizer steps over a sharded loader; the final weights.

    Ranks other than 0 start from other weights: ``broadcast_parameters`` must fix that.
    A random number drawn every step (same generator on every rank) scales the learning rate,
    so a resumed run must restore that generator too. With ``stop_at`` rank 0 saves a
    checkpoint to ``ckpt`` after that many steps and the run stops there; ``resume`` loads one.
    """
    X, Y = make_data()
    model = make_model(seed=10 * rank)
    dist.broadcast_parameters(model)
    opt = make_optimizer(kind, model)
    base_lr = opt.param_groups[0]["lr"]
    shard = (rank, world) if world > 1 else None
    loader = tl.data.DataLoader(X, Y, batch_size=GLOBAL_BATCH, seed=7, shard=shard)
    rng = np.random.default_rng(99)
    step = 0
    if resume is not None:
        state = tl.load(resume)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        loader.load_state_dict(state["loader"])
        rng.bit_generator.state = state["rng"]
        step = state["step"]
    while step < steps:
        for xb, yb in loader:
            opt.zero_grad()
            if xb.shape[0]:
                tl.nn.mse_loss(model(xb), yb).backward()
            dist.all_reduce_gradients(model, n=xb.shape[0])
            opt.param_groups[0]["lr"] = base_lr * (0.5 + rng.random())
            opt.step()
            step += 1
            if step == stop_at:
                if rank == 0:
                    state = {"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                             "loader": loader.state_dict(), "rng": rng.bit_generator.state}
                    tl.save(state, ckpt)
                return [p.data.copy() for p in model.parameters()]
            if step == steps:
                break
    return [p.data.copy() for p in model.parameters()]


def write_json(out_dir: str, name: str, obj: Any) -> None:
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(obj, f)
