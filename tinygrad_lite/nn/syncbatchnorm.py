r"""``SyncBatchNorm``: batch normalisation whose batch is the union of every rank's shard.

In a world of one process (no launcher, or ``dist.init()`` not called), or in evaluation
mode, the layer is BatchNorm exactly. In training mode in a world of more than one process
(``tinygrad_lite.distributed``) every rank k holds ``n_k`` rows of the global batch and the
statistics of channel c are those of all ``M = sum_k m_k`` values of that channel
(``m_k`` = the rank's values per channel, ``n_k`` times the positions per row):

* forward: each rank computes, in float64, its count ``m_k``, mean ``mu_k`` and
  ``M2_k = sum (x - mu_k)^2``; one ``dist.allreduce_sum`` of a table in which each rank fills
  its own row gives every rank all of them, and each combines them in rank order
  (``delta = mu_b - mu_a``, ``mu = mu_a + delta m_b / m``,
  ``M2 = M2_a + M2_b + delta^2 m_a m_b / m``), so no sum of squares cancels and every rank
  gets the same bits. ``var = M2 / M`` (biased) normalises; the running variance takes the
  unbiased ``M2 / (M - 1)``.
* backward: with ``gh = g * weight`` the input gradient of the global cost ``L`` is
  ``dL/dx = rstd (G - mean(G) - xhat mean(G xhat))``, the means over all ``M`` values.
  ``dist.all_reduce_gradients`` later forms ``sum_k s_k grad_k`` with the rank's share
  ``s_k = n_k / N`` for a mean cost (``N = sum_k n_k``) or ``1`` for a sum cost, so rank k's
  cotangent is ``G / s_k``; the backward all-reduces ``s_k sum gh`` and ``s_k sum gh xhat``
  (one call) and gives ``rstd (gh - (A + xhat B) / s_k)`` with ``A``, ``B`` those global sums
  over ``M``. Weight and bias gradients stay this rank's sums (``all_reduce_gradients``
  combines them). ``reduction`` (keyword, default ``"mean"``) says which cost the ranks use;
  with equal shards both give the same result.

Every rank must run the same forward and backward (a rank with an empty shard passes an
input of shape ``(0, C, ...)``), since both call the collective.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

from ..ops.base import no_tvjp
from ..ops.nnops import BatchNorm, _scaled_cotangent
from ..tensor import Tensor
from . import functional as F
from .instancenorm import _InstanceNorm
from .layers import _BatchNorm
from .module import Module

__all__ = ["SyncBatchNorm"]

_REDUCTIONS = ("mean", "sum")


def _dist() -> Any:
    """``tinygrad_lite.distributed``, imported when a synchronised layer first needs it (so
    importing the package does not import it)."""
    from .. import distributed

    return distributed


class _SyncBatchNormOp(BatchNorm):
    """y = (x - mu) rstd * w[c] + b[c] with the global batch's mu and rstd (given); the
    backward all-reduces the per-channel sums of gh and gh xhat (module docstring)."""

    name, rule = "sync_batch_norm", ("d xhat/dx = rstd (g - mean g - xhat mean(g xhat)), the means over every rank's "
                                     "values")

    def forward(self, x: np.ndarray, w: Any, b: Any, mean: Any = None, var: Any = None, share: float = 1.0,
                total: int = 0, eps: float = 1e-5, label: str = "SyncBatchNorm") -> tuple:
        y, ctx = super().forward(x, w, b, mean=mean, var=var, training=False, eps=eps, label=label)
        why = (f"'{label}' in training mode normalises with the mean and variance of the whole batch over all ranks, "
               "so each sample's output depends on the other samples (use GroupNorm or LayerNorm for per-sample "
               "gradients, or call .eval() to use the running statistics)")
        ctx.update(training=True, sample_axes=why, share=share, total=total)
        return y, ctx

    def vjp(self, node: Any, g: np.ndarray) -> tuple:
        ctx, x, n, gh = _scaled_cotangent(node, g)
        gx = None
        if x.requires_grad:
            axes, xhat, share = ctx["axes"], ctx["xhat"], ctx["share"]
            local = np.stack([gh.sum(axis=axes), (gh * xhat).sum(axis=axes)]).astype(np.float64)
            sums = _dist().allreduce_sum(local * share)  # every rank calls it, an empty shard with zeros
            if gh.size:
                scale = 1.0 / (ctx["total"] * share)
                shape = sums.shape[1:-1] + (1,) + ctx["chan"]  # (leading stack axes, 1, C, 1, ...)
                a = (sums[0] * scale).reshape(shape).astype(gh.dtype, copy=False)
                b = (sums[1] * scale).reshape(shape).astype(gh.dtype, copy=False)
                gx = ctx["rstd"] * (gh - a - xhat * b)
            else:
                gx = np.zeros_like(gh)
        red = (n,) + tuple(range(n + 2, g.ndim))
        return tuple([gx] + self.affine_grads(node, g, red))

    def tvjp(self, node: Any, g: Any) -> tuple:
        """Refused: a differentiable backward would need the exchange between ranks recorded."""
        raise no_tvjp(self)


SYNC_BATCHNORM = _SyncBatchNormOp()


def _global_stats(table: np.ndarray, C: int) -> tuple:
    """(rows, values per channel, mean, M2) of all ranks from the gathered table (one row per
    rank: rows, values per channel, mean (C), M2 (C)), combined in rank order."""
    rows = float(table[:, 0].sum())
    count, mean, m2 = 0.0, np.zeros(C), np.zeros(C)
    for r in range(table.shape[0]):
        c = float(table[r, 1])
        if c == 0.0:
            continue
        mu_r, m2_r = table[r, 2:2 + C], table[r, 2 + C:]
        if count == 0.0:
            count, mean, m2 = c, mu_r.copy(), m2_r.copy()
            continue
        tot = count + c
        delta = mu_r - mean
        mean = mean + delta * (c / tot)
        m2 = m2 + m2_r + delta * delta * (count * c / tot)
        count = tot
    return rows, count, mean, m2


def _check_reduction(v: Any, who: str) -> str:
    if not isinstance(v, str) or v not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean' or 'sum' (how each rank's cost reduces its own samples), "
                         f"got {v!r}")
    return v


def _check_group(v: Any, who: str) -> None:
    if v is not None:
        raise ValueError(f"{who}: process_group must be None (the statistics are synchronised over the whole world; "
                         f"process groups are not supported), got {type(v).__name__}")


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over ``(B, C, *S)`` inputs (any number of positions axes) whose training-mode
    statistics are those of the global batch over all ranks (module docstring): per channel
    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, mean and biased variance over every
    rank's ``(B, *S)`` values; running statistics updated from them (unbiased variance with
    the global count). In a world of one process or in evaluation mode it is BatchNorm.

    ``process_group`` must be None (the whole world). Keyword ``reduction``: ``"mean"``
    (default) when each rank's cost is a mean over its own samples, ``"sum"`` for a sum; the
    input gradient then matches what ``dist.all_reduce_gradients`` assumes.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, device: Any = None, dtype: Any = None,
                 *, bias: bool = True, reduction: str = "mean") -> None:
        who = type(self).__name__
        _check_group(process_group, who)
        _check_reduction(reduction, who)
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias, device=device)
        self.process_group = process_group
        self.reduction = reduction

    def _synchronised(self) -> bool:
        """Training mode in a world of more than one process."""
        d = sys.modules.get("tinygrad_lite.distributed")  # (never initialised when never imported)
        return self.training and d is not None and d.is_initialized() and d.world_size() > 1

    def forward(self, input: Any) -> Tensor:
        who = type(self).__name__
        xd = input.data if isinstance(input, Tensor) else np.asarray(input)
        if xd.ndim < 2 or xd.shape[1] != self.num_features:
            raise ValueError(f"{who}({self.num_features}): expected an input of shape (B, {self.num_features}, ...), "
                             f"got {xd.shape}")
        if not self._synchronised():
            use_batch = self.training or not self.track_running_stats
            return F.batch_norm(input, self.running_mean if self.track_running_stats else None,
                                self.running_var if self.track_running_stats else None, self.weight, self.bias,
                                use_batch, self.momentum, self.eps, who=who,
                                num_batches_tracked=self.num_batches_tracked if self.training else None)
        return self._sync_forward(F._t(input)._floating(who), who)

    def _sync_forward(self, x: Tensor, who: str) -> Tensor:
        """Training in a world above 1: the global statistics (one collective), the running
        statistics' update, then the normalisation."""
        F._check_eps(self.eps, who)
        share_kind = _check_reduction(self.reduction, who)
        xd = x.data
        C = self.num_features
        axes = (0,) + tuple(range(2, xd.ndim))
        row = np.zeros(2 + 2 * C)
        row[0], row[1] = xd.shape[0], xd.size // C
        if xd.size:
            x64 = xd.astype(np.float64, copy=False)
            mu = x64.mean(axis=axes)
            xc = x64 - mu.reshape((C,) + (1,) * (xd.ndim - 2))
            row[2:2 + C], row[2 + C:] = mu, (xc * xc).sum(axis=axes)
        dist = _dist()
        table = np.zeros((dist.world_size(), row.size))
        table[dist.rank()] = row
        rows, count, mean, m2 = _global_stats(dist.allreduce_sum(table), C)
        if count <= 1:
            raise ValueError(f"{who}: training mode needs more than one value per channel over all ranks, got "
                             f"{int(count)} (this rank's input has shape {xd.shape})")
        if self.track_running_stats:  # every check passed: now the updates
            nbt = self.num_batches_tracked
            done = nbt.data + 1
            m = 1.0 / float(done) if self.momentum is None else float(self.momentum)
            rm, rv = self.running_mean.data, self.running_var.data
            rm[...] = (1.0 - m) * rm + m * mean
            rv[...] = (1.0 - m) * rv + m * (m2 / (count - 1.0))
            nbt.data = done
        share = xd.shape[0] / rows if share_kind == "mean" else 1.0
        return SYNC_BATCHNORM(x, self.weight, self.bias, mean=mean, var=m2 / count, share=share, total=count,
                              eps=float(self.eps), label=who)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """Every BatchNorm1d/2d/3d in ``module``'s tree replaced by a SyncBatchNorm holding the
        same weight, bias and buffer Tensors (so the same values, ``requires_grad`` and
        optimizer references) and the same settings and training flag. Returns ``module``
        with its children replaced, or the new layer when ``module`` is itself a BatchNorm.
        A layer held under two names becomes one new layer under both."""
        who = f"{cls.__name__}.convert_sync_batchnorm"
        if not isinstance(module, Module):
            raise TypeError(f"{who}: module must be a Module, got {type(module).__name__}")
        _check_group(process_group, who)
        return _convert(cls, module, process_group, {})


def _convert(cls: type, module: Module, group: Any, memo: dict) -> Module:
    """``module`` or its SyncBatchNorm replacement, its children converted in place."""
    if id(module) in memo:
        return memo[id(module)]
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
        held = next((t for t in (module.weight, module.running_mean) if t is not None), None)
        out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats, group,
                  dtype=None if held is None else held.data.dtype, bias=module.bias is not None,
                  reduction=getattr(module, "reduction", "mean"))
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.training = module.training
    memo[id(module)] = out
    for attr, key, child in list(module._entries()):
        if not isinstance(child, Module):
            continue
        new = _convert(cls, child, group, memo)
        if new is child:
            continue
        if key is None:
            out.add_module(attr, new)
            continue
        holder = getattr(module, attr)
        if isinstance(holder, tuple):
            setattr(out, attr, holder[:key] + (new,) + holder[key + 1:])
        else:
            holder[key] = new
    return out
