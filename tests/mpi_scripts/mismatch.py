"""Calls that disagree across ranks raise on every rank instead of hanging: ``mismatch.py OUT_DIR``.

Each rank records, per case, the type and message of the exception it saw (or None) in
``OUT_DIR/rank<K>.json``; a last, correct call shows that the ranks are still in step.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import make_data, make_model, write_json

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist

dist.init()
rank = dist.rank()
X, Y = make_data()


def model_with_grads(hidden: int = 16, reduction: str = "mean") -> tl.nn.Module:
    model = make_model(hidden=hidden)
    tl.nn.mse_loss(model(tl.Tensor(X[:10], batched=True)), tl.Tensor(Y[:10], batched=True),
                   reduction=reduction).backward()
    return model


def shapes() -> None:
    dist.all_reduce_gradients(model_with_grads(16 if rank == 0 else 17), n=10)


def count() -> None:
    params = model_with_grads().parameters()
    dist.all_reduce_gradients(params if rank == 0 else params[:-1], n=10)


def broadcast_shapes() -> None:
    dist.broadcast_parameters(make_model(hidden=16 if rank == 0 else 17))


def mean_and_sum() -> None:
    red = "mean" if rank == 0 else "sum"
    dist.all_reduce_gradients(model_with_grads(reduction=red), n=10, reduction=red)


def bad_n_on_rank_1() -> None:
    dist.all_reduce_gradients(model_with_grads(), n=10 if rank == 0 else -1)


def different_calls() -> None:
    if rank == 0:
        dist.broadcast_parameters(make_model())
    else:
        dist.all_reduce_gradients(model_with_grads(), n=10)


def frozen_on_rank_1() -> None:
    model = make_model()
    if rank == 1:
        model.parameters()[0].requires_grad_(False)
    tl.nn.mse_loss(model(tl.Tensor(X[:10], batched=True)), tl.Tensor(Y[:10], batched=True)).backward()
    dist.all_reduce_gradients(model)


def float32_on_rank_1() -> None:
    model = make_model()
    if rank == 1:
        model.float()
    tl.nn.mse_loss(model(tl.Tensor(X[:10], batched=True)), tl.Tensor(Y[:10], batched=True)).backward()
    dist.all_reduce_gradients(model)


def allreduce_shapes() -> None:
    dist.allreduce_sum(np.zeros(3 if rank == 0 else 4))


def roots() -> None:
    dist.broadcast_parameters(make_model(), root=rank)


record = {}
for case in (shapes, count, broadcast_shapes, mean_and_sum, bad_n_on_rank_1, different_calls,
             frozen_on_rank_1, float32_on_rank_1, allreduce_shapes, roots):
    try:
        case()
        record[case.__name__] = None
    except Exception as e:  # recorded for the test to check
        record[case.__name__] = [type(e).__name__, str(e)]
record["still_in_step"] = dist.allreduce_sum(np.array([rank + 1.0])).tolist()
write_json(sys.argv[1], f"rank{rank}.json", record)
