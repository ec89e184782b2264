"""How many samples a rank's gradient holds and how its cost reduced them: read from what
each parameter's last backward recorded (``p.last_batch``), checked before any rank sends
anything (``all_reduce_gradients``). Costs that sample counts cannot weigh exactly (a weighted
mean, a sum plus a term every rank adds) are refused with the fix named."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..tensor import Tensor

_REDUCTIONS = {"mean": 1, "sum": 2}
# the code of a rank whose one sample's cost reads as a sum: of one sample, sum / len(x) (a mean)
# and a sum look alike; ranks with more samples, or reduction=, say which (all_reduce_gradients)
ONE_SUM = 3
# the code of a mean written as a sum divided by the batch size (``l.sum() / len(x)``): of one
# sample such a cost reads as a sum, so the reduction found here may stand for a later batch in
# which every rank holds one sample (all_reduce_gradients); a mean op's may not
MEAN_BY_SUM = 4

# costs no sample count weighs exactly (``p.last_batch``'s reduction), and the fix for each
_REFUSED = {
    "weighted": "the cost is a weighted mean (cross_entropy / nll_loss with class weights or ignored labels and "
                "reduction='mean'), which divides by the total weight of each rank's own labels, so weighing the "
                "ranks by their sample counts would not give the one-process gradient. Sum the cost "
                "(reduction='sum') and divide it by the total weight over all ranks (dist.allreduce_sum of each "
                "rank's weight total), or pass n= (this rank's weight total, when it is a whole number)",
    "shared": "the cost is a sum over the samples plus a term that does not depend on them (such as a penalty on "
              "the weights); every rank adds that term, so the summed gradient would count it world_size times. "
              "Add it on one rank only (if dist.rank() == 0) or divide it by dist.world_size(), and pass "
              "reduction='sum' (the gradients are then summed as they are); or use the optimizer's weight_decay",
}


def _batch_info(p: Tensor) -> Optional[tuple[int, Optional[str]]]:
    """``(n, reduction)`` of ``p``'s last backward (``p.last_batch``), or None when not recorded."""
    info = getattr(p, "last_batch", None)
    if info is None:
        return None
    n, reduction = info
    return int(n), reduction


def _local_batch(params: list[Tensor], n: Optional[int], reduction: Optional[str],
                 hint: Optional[Callable[[], Optional[str]]] = None) -> tuple[int, int]:
    """This rank's sample count and reduction code (0 when nothing says, for an empty shard).
    A backward through a graph that mixes samples (BatchNorm in training mode) records its
    batch size but not its cost's reduction: ``reduction`` or ``hint()`` (the ``SyncBatchNorm``
    layers' keyword) says it."""
    if reduction is not None and reduction not in _REDUCTIONS:
        raise ValueError(
            f"dist.all_reduce_gradients: reduction must be 'mean', 'sum' or None, got {reduction!r}"
        )
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0):
        raise ValueError(f"dist.all_reduce_gradients: n must be an int >= 0 (this rank's samples), got {n!r}")
    # whether each parameter has a gradient, read without multiplying out one the backward kept
    # as factors (in a world of 1 nothing else reads it, and the optimizer steps from the factors)
    with_grad = [i for i, p in enumerate(params) if p._grad is not None or p._lazy]
    records = {i: _batch_info(params[i]) for i in with_grad}
    if n is None and reduction != "sum" and any(r is not None and r[1] == "accumulated" for r in records.values()):
        raise ValueError(
            "dist.all_reduce_gradients: the gradients add up several backward calls (accumulation over "
            "micro-batches) of costs that are means; how each rank's samples weigh in each of them is lost, so "
            "the result would not be the one-process gradient. Write each micro-batch's cost as a sum "
            "(reduction='sum'; divide by the global batch size where the mean is wanted: the sums add up "
            "exactly) and pass reduction='sum' here, or pass n= to weigh this rank's gradient yourself. (A .grad "
            "zeroed in place, p.grad[...] = 0, still counts the earlier backward: clear gradients with zero_grad().)")
    for kind, asked in (("weighted", n is None), ("shared", reduction is None)):
        if asked and any(r is not None and r[0] and r[1] == kind for r in records.values()):
            raise ValueError("dist.all_reduce_gradients: " + _REFUSED[kind])
    scaled = any(r is not None and r[1] == "scaled" for r in records.values())
    records = {i: (r[0], None) if r is not None and r[1] == "scaled" else r for i, r in records.items()}
    known = {r for r in records.values() if r is not None and r[1] is not None}
    if len(known) > 1:
        raise ValueError(
            "dist.all_reduce_gradients: the parameters' last backward calls disagree on the batch "
            f"(size, reduction) {sorted(known, key=str)}; pass n= (this rank's number of samples)"
        )
    recorded = next(iter(known)) if known else None
    if n is None:
        if not with_grad or all(r == (0, None) for r in records.values()):  # no backward since zero_grad()
            return 0, _REDUCTIONS[reduction] if reduction else 0  # (an empty shard)
        missing = [i for i, r in records.items() if r is None or r[1] is None]
        sizes = {r[0] for r in records.values() if r is not None}
        if missing and all(records[i] is not None for i in missing):  # (sizes without a reduction: a mixing graph)
            named = reduction or (hint() if hint is not None else None)  # (asked only here: it walks the modules)
            if len(sizes) == 1 and named:
                return sizes.pop(), _REDUCTIONS[named]
            raise ValueError(
                f"dist.all_reduce_gradients: the last backward saw {sorted(sizes)} samples " + (
                    "through a cost that weighs each sample's term by neither 1/B (a mean) nor 1 (a sum), "
                    "such as (loss / 2).backward(); pass reduction='mean' or 'sum' (which the cost is, times a "
                    "constant; a mean weighted by per-sample weights, (w * l).sum() / w.sum(), is neither: divide "
                    "the weighted sum by the weights' total over all ranks, dist.allreduce_sum, and pass "
                    "reduction='sum')" if scaled else
                    "through a graph that mixes them (BatchNorm in training mode, or a "
                    "reshape folding the sample axis into others), which hides the cost's reduction; pass "
                    "reduction='mean' or 'sum' (or use SyncBatchNorm, whose reduction= names it; a mean weighted by "
                    "class weights or ignored labels is neither: sum it and divide by the total over all ranks)"))
        if missing:
            raise ValueError(
                "dist.all_reduce_gradients: cannot tell how many samples the last backward saw (parameter "
                f"{missing[0]} records no batched cost); pass n= (this rank's number of samples) and, for a "
                "sum cost, reduction='sum'"
            )
        n, found = recorded
        if reduction is None and found == "sum" and int(n) == 1:
            return 1, ONE_SUM
        if reduction is None and found == "mean" and all(
                getattr(params[i].last_batch, "kind", None) == "sum" for i in with_grad):
            return int(n), MEAN_BY_SUM
        return int(n), _REDUCTIONS[reduction or found]
    if reduction is None:
        reduction = recorded[1] if recorded is not None and recorded[1] in _REDUCTIONS else "mean"  # (weighted too)
    return int(n), _REDUCTIONS[reduction]
