"""DP-SGD: differentially private SGD from per-sample gradients, clipped from the factors
the default backward keeps (no ``(B, *p.shape)`` array for Linear/matmul weights, no
second backward), with noise-only steps on empty batches, an optional privacy accountant
and a reduction across data-parallel ranks.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any, Callable, Optional

import numpy as np

from .. import persample
from ..ops.base import bump
from .optimizer import Optimizer, check_number

__all__ = ["DPSGD"]


class DPSGD(Optimizer):
    """Differentially private SGD.

    With ``C = max_grad_norm``, ``sigma = noise_multiplier`` and ``S_b`` each sample's
    gradient of its own loss (all parameters together)::

        n_b   = |S_b|                                     whole-gradient norm of sample b
        c_b   = C / max(n_b, C)  =  min(1, C / n_b)       clip factor (exact, never 0/0)
        G     = sum_b c_b S_b + N(0, (sigma C)^2 I)        noise added to the SUM, one draw per element
        p    <- p - lr * G / D                            D = expected_batch_size, else the actual B

    ``sum_b c_b S_b`` comes from what the backward kept: for a weight with factors
    ``S_b = sum_t L_bt (x) R_bt`` it is ``(c L)^T R``, one matmul. A cost written with a
    constant factor on its per-sample terms (``.sum() / B``) is treated as the mean it is
    (the clip applies to each sample's loss gradient); a cost whose terms are weighted
    unevenly raises ``ValueError`` at ``step()``.

    Args:
        rng: a ``numpy.random.Generator``, an int seed, or None (fresh entropy); with a
            data-parallel world above 1 it must be an int seed, the same on every rank.
        expected_batch_size: divide by this instead of the actual B (the rule that keeps
            Poisson sampling private); required for noise-only steps on empty batches.
        accountant: a ``tl.privacy.Accountant``; every step is recorded there (needs
            ``sample_rate``).
        sample_rate: the probability with which each sample enters a batch.

    Attributes: ``last_clipped_fraction`` (samples whose norm exceeded C in the last
    step), ``last_batch_size``. ``state_dict()`` also holds the generator's state.
    """

    def __init__(self, params: Any, lr: float, max_grad_norm: float, noise_multiplier: float,
                 rng: Any = None, expected_batch_size: Optional[int] = None, accountant: Any = None,
                 sample_rate: Optional[float] = None) -> None:
        defaults = {"lr": lr, "max_grad_norm": max_grad_norm, "noise_multiplier": noise_multiplier}
        if expected_batch_size is not None and (isinstance(expected_batch_size, bool) or not isinstance(
                expected_batch_size, numbers.Integral) or expected_batch_size < 1):
            raise ValueError(f"invalid expected_batch_size: {expected_batch_size!r} (must be a positive int)")
        if sample_rate is not None:
            sample_rate = check_number("sample_rate", sample_rate, 0.0, 1.0, low_open=True)
        if accountant is not None:
            if sample_rate is None:
                raise ValueError("DPSGD: an accountant needs sample_rate (the probability that a sample is in a "
                                 "batch) to account each step")
            if not callable(getattr(accountant, "step", None)):
                raise TypeError(f"accountant must have a step(noise_multiplier, sample_rate) method, got "
                                f"{type(accountant).__name__}")
        if rng is not None and not isinstance(rng, (np.random.Generator, numbers.Integral)):
            raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
        super().__init__(params, defaults)
        self.seed = int(rng) if isinstance(rng, numbers.Integral) else None
        self.rng = np.random.default_rng(rng)
        self.expected_batch_size = None if expected_batch_size is None else int(expected_batch_size)
        self.accountant = accountant
        self.sample_rate = sample_rate
        self.last_clipped_fraction: Optional[float] = None
        self.last_batch_size: Optional[int] = None

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("noise_multiplier", group["noise_multiplier"])
        check_number("max_grad_norm", group["max_grad_norm"], 0.0, low_open=True, high_open=True)

    def _collect(self) -> tuple:
        """Each parameter with its per-sample source, every check before any change."""
        todo = []
        settings = set()
        for group in self.param_groups:
            self._check_group(group)
            settings.add((float(group["max_grad_norm"]), float(group["noise_multiplier"])))
            for p in group["params"]:
                if p._ps is not None:
                    p._ps.check(persample.label(p))
                    todo.append((group, p, p._ps))
                elif p._gs is not None:
                    if p._gs.shape[1:] != p.data.shape:
                        raise RuntimeError(f"grad_sample of shape {p._gs.shape} does not fit its parameter of "
                                           f"shape {p.data.shape}")
                    todo.append((group, p, p._gs))
                elif p.grad is not None:
                    raise RuntimeError(
                        f"DPSGD needs per-sample gradients, but a parameter of shape {p.data.shape} has .grad and "
                        "no per-sample gradients. Create the input with tl.Tensor(x, batched=True) (or use "
                        "tl.data.DataLoader, which yields batched tensors) and call backward() without "
                        "per_sample=False / 'norms'")
                else:
                    todo.append((group, p, None))
        if len(settings) > 1:
            raise ValueError("all parameter groups of DPSGD must share max_grad_norm and noise_multiplier, "
                             "because each sample's gradient is clipped as a whole")
        return todo, settings.pop()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One DP-SGD step (see the class docstring for the update)."""
        loss = closure() if closure is not None else None
        todo, (max_norm, sigma) = self._collect()
        sources = [src for _, _, src in todo if src is not None]
        Bs = [src.B if isinstance(src, persample.SampleGrads) else src.shape[0] for src in sources]
        for b in Bs:
            if b != Bs[0]:
                raise RuntimeError(f"per-sample gradients disagree on the batch size: {Bs[0]} and {b} samples")
        B = Bs[0] if Bs else 0
        units = None
        for src in sources:
            if isinstance(src, persample.SampleGrads):
                units = src.units()
                break
        # squared whole-gradient norms of each sample's loss gradient, all parameters together
        sq = np.zeros(B)
        for _, p, src in todo:
            if src is not None:
                sq += persample.sq_norms_of(p)
        norms = np.sqrt(sq) * (units if units is not None else 1.0)
        clip = max_norm / np.maximum(norms, max_norm) if B else np.zeros(0)
        coef = clip * (units if units is not None else 1.0)
        sums = []
        for _, p, src in todo:
            if src is None:
                sums.append(np.zeros(p.data.shape, np.float64))
            elif isinstance(src, persample.SampleGrads):
                sums.append(np.asarray(src.weighted_sum(coef), dtype=np.float64))
            else:
                sums.append(np.tensordot(coef, src.astype(np.float64, copy=False), axes=(0, 0)))
        count = B
        world = _world()
        if world > 1:  # sum the clipped sums and the counts over ranks, in one buffer
            if self.seed is None:
                raise ValueError("DPSGD across ranks needs rng to be an int seed, the same on every rank (the noise "
                                 "is drawn once, identically everywhere)")
            from .. import distributed as dist
            flat = np.concatenate([s.reshape(-1) for s in sums] + [np.array([float(B)])])
            tot = dist.allreduce_sum(flat)
            count = int(round(tot[-1]))
            k = 0
            for i, s in enumerate(sums):
                sums[i] = tot[k:k + s.size].reshape(s.shape)
                k += s.size
        denom = self.expected_batch_size if self.expected_batch_size is not None else count
        if not denom:
            raise ValueError("DPSGD: an empty batch (B = 0) needs expected_batch_size to take a noise-only step")
        if not sources and self.expected_batch_size is None:
            return loss
        self.last_batch_size = int(count)
        self.last_clipped_fraction = float(np.mean(norms > max_norm)) if B else 0.0
        std = sigma * max_norm
        noise_only = not sources
        for (group, p, src), total in zip(todo, sums):
            if src is None and not noise_only:
                continue  # a parameter the cost does not reach gets no update (and no noise)
            if std > 0:
                total = total + std * self.rng.standard_normal(p.data.shape)
            upd = (float(group["lr"]) / denom) * total
            np.subtract(p.data, upd.astype(p.data.dtype, copy=False), out=p.data)
            p._v = bump()
        if self.accountant is not None:
            self.accountant.step(sigma, self.sample_rate)
        return loss

    def state_dict(self) -> dict:
        """As :meth:`Optimizer.state_dict`, plus ``"rng_state"``: the noise generator's state."""
        state = super().state_dict()
        state["rng_state"] = copy.deepcopy(self.rng.bit_generator.state)
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """As :meth:`Optimizer.load_state_dict`; also restores the noise generator if saved."""
        rng = self.rng
        if isinstance(state_dict, dict) and "rng_state" in state_dict:
            rng_state = state_dict["rng_state"]
            name = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
            if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
                raise ValueError(f"state_dict['rng_state'] is not a numpy bit generator state: {rng_state!r}")
            bit_generator = getattr(np.random, name)()
            try:
                bit_generator.state = copy.deepcopy(rng_state)
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"state_dict['rng_state'] is invalid: {exc}") from None
            rng = np.random.Generator(bit_generator)
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "rng_state"}
                                if isinstance(state_dict, dict) else state_dict)
        self.rng = rng


def _world() -> int:
    """The data-parallel world size (1 unless ``tl.distributed`` was initialised)."""
    import sys
    dist = sys.modules.get("tinygrad_lite.distributed")
    if dist is None or not dist.is_initialized():
        return 1
    return int(dist.world_size())
