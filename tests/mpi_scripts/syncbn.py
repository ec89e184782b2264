"""SyncBatchNorm over ranks: ``syncbn.py OUT_DIR CASE[,CASE...]``.

A model with BatchNorm2d and BatchNorm1d layers (converted to SyncBatchNorm) trains a few SGD
steps; at every step each rank takes its ``np.array_split`` shard of the same global batch,
runs forward and backward over it (an empty shard too) and calls
``dist.all_reduce_gradients``. Each rank writes to ``OUT_DIR/rank<K>.npz``, as
``<case>__<what>``: its output rows, its input gradient times its share ``n_k / N`` (mean
cost) or 1 (sum cost), the reduced gradients and buffers after the first step, and the
parameters and buffers after the last. ``run(case, 0, 1, sync=False)`` is the single-process
reference with plain BatchNorm. Cases ``<split>-<reduction>``: split ``even``, ``uneven``,
``lopsided`` or ``empty``; reduction ``mean`` or ``sum``.
"""

from __future__ import annotations

import sys

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

STEPS = 3
N = {"even": 12, "uneven": 11, "lopsided": 11, "empty": 9}


def sections(split: str, world: int) -> object:
    """``np.array_split``'s second argument: the number of shards, or where to cut."""
    if split == "lopsided":
        return {1: 1, 2: [10], 3: [1, 9]}[world]  # 10 + 1; 1 + 8 + 2
    if split == "empty":
        return {1: 1, 2: [9], 3: [5, 5]}[world]  # 9 + 0; 5 + 0 + 4
    return world


def make_model() -> tl.nn.Module:
    return tl.nn.Sequential(
        tl.nn.Conv2d(2, 3, 3, rng=0), tl.nn.BatchNorm2d(3), tl.nn.Tanh(), tl.nn.Flatten(),
        tl.nn.Linear(12, 6, rng=1), tl.nn.Unflatten(1, (3, 2)), tl.nn.BatchNorm1d(3, momentum=None), tl.nn.Tanh(),
        tl.nn.Flatten(), tl.nn.Linear(6, 4, rng=2), tl.nn.BatchNorm1d(4), tl.nn.Linear(4, 2, rng=3))


def batch(step: int, n: int) -> tuple:
    rng = np.random.default_rng(100 + step)
    return rng.normal(1.5, 2.0, size=(n, 2, 4, 4)), rng.normal(size=(n, 2))


def norm_layers(model: tl.nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, (tl.nn.BatchNorm1d, tl.nn.BatchNorm2d, tl.nn.SyncBatchNorm))]


def buffers(model: tl.nn.Module) -> dict:
    return {f"buf{i}_{name}": np.array(getattr(m, name).data) for i, m in enumerate(norm_layers(model))
            for name in ("running_mean", "running_var", "num_batches_tracked")}


def run(case: str, rank: int, world: int, sync: bool = True) -> dict:
    split, reduction = case.split("-")
    model = make_model()
    if sync:
        model = tl.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        for m in norm_layers(model):
            assert type(m) is tl.nn.SyncBatchNorm
            m.reduction = reduction
    opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out: dict = {}
    for step in range(STEPS):
        X, Y = batch(step, N[split])
        rows = np.array_split(np.arange(len(X)), sections(split, world))[rank]
        share = len(rows) / len(X) if reduction == "mean" else 1.0
        xb = tl.Tensor(X[rows], requires_grad=True)
        opt.zero_grad()
        y = model(xb)
        tl.nn.mse_loss(y, tl.Tensor(Y[rows]), reduction=reduction).backward()
        if world > 1:
            dist.all_reduce_gradients(model, n=len(rows), reduction=reduction)
        if step == 0:
            out["out"], out["xgrad"] = np.array(y.data), xb.grad * share
            out.update({f"grad{i}": np.array(p.grad) for i, p in enumerate(model.parameters())})
            out.update({f"first_{k}": v for k, v in buffers(model).items()})
        opt.step()
    out.update({f"param{i}": np.array(p.data) for i, p in enumerate(model.parameters())})
    out.update(buffers(model))
    model.eval()  # evaluation: the running statistics, no exchange
    out["eval"] = np.array(model(tl.Tensor(batch(0, 5)[0])).data)
    return out


def second_order_refused() -> bool:
    """A create_graph backward through the synchronised op is refused on every rank."""
    layer = tl.nn.SyncBatchNorm(2)
    x = tl.Tensor(np.random.default_rng(dist.rank()).normal(size=(3, 2)), requires_grad=True)
    try:
        tl.autograd.grad((layer(x) ** 3).sum(), x, create_graph=True)
    except NotImplementedError as e:
        return "sync_batch_norm" in str(e)
    return False


def main(out_dir: str, cases: list) -> None:
    dist.init()
    rank, world = dist.rank(), dist.world_size()
    results = {}
    for case in cases:
        results.update({f"{case}__{k}": v for k, v in run(case, rank, world).items()})
    results["refused"] = np.array(second_order_refused())
    np.savez(f"{out_dir}/rank{rank}.npz", **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","))
