r"""DP-SGD: differentially private SGD from the per-sample gradients one backward keeps.

The rule (Abadi et al. 2016), with ``C = max_grad_norm``, ``sigma = noise_multiplier``,
``g_b`` sample b's gradient of its OWN loss over all parameters together and ``D`` the
divisor::

    n_b = |g_b|                                         whole-gradient norm of sample b
    c_b = C / max(n_b, C)  =  min(1, C / n_b)           clip factor (never 0/0)
    G   = sum_b c_b g_b  +  N(0, (sigma C)^2 I)         noise added to the SUM, once
    p  <- p - lr * G / D                                D = expected_batch_size, else the batch's B

Dividing by the EXPECTED batch size is what keeps Poisson sampling private: the divisor
must not depend on the data, and the actual size of a Poisson batch does (it even says
whether one given sample is in it). A Poisson batch may be empty; the step is then noise
only, ``p <- p - lr * N(0, (sigma C)^2 I) / D``, and still counts for the accountant.

Where the sum comes from. After the default ``backward()`` each parameter keeps its
per-sample gradients as factors (``p._ps``, see :mod:`tinygrad_lite.persample`); for a
Linear weight ``g_b = dy_b (x) x_b`` (output cotangent row times input row), so::

    |g_b|^2            = |dy_b|^2 |x_b|^2                  B numbers, no (B, m, n) array
    sum_b c_b g_b      = (c * dY)^T X                      ONE matmul, as for the batch gradient

and nothing of size ``B * |W|`` is ever formed, nor a second backward run.

The scale of the cost. The backward keeps sample b's gradient ``S_b`` of its term as the
cost writes it, and ``units()`` the factor ``u_b`` with ``g_b = u_b S_b``: ``u_b = 1`` for a
``.mean()`` or ``.sum()`` cost, with any factors as written (``0.5 * a.mean()`` is the mean
of ``0.5 a_b``, ``ce.mean() + 0.5 * aux.mean()`` the mean of ``ce_b + 0.5 aux_b``, so a cost
gives the same step however its constant factors are placed, as Opacus reads them); a
mean written ``.sum() / B`` has ``u_b = B``: it is the mean it is, the step of ``.mean()``
(and with ``expected_batch_size`` E, ``.sum() / E`` has ``u_b = E`` whatever B was drawn).
A cost whose per-sample terms are not defined (a class-weighted mean) raises the per-sample
``RuntimeError`` naming the op; one that weighs every term by zero raises ``ValueError``.

Across data-parallel ranks (``tl.distributed`` with a world above 1) ``step()`` does the
reduction itself: rank k clips its own ``n_k`` samples, and ONE ``allreduce_sum`` adds
``sum_{b in k} c_b g_b`` and ``n_k`` over the ranks (so the divisor is ``sum_k n_k``
unless ``expected_batch_size`` is set); the noise is drawn once per rank from the same
int seed, hence identically everywhere, and every rank takes bitwise the same step.
"""

from __future__ import annotations

import copy
import numbers
import zlib
from typing import Any, Callable, Optional

import numpy as np

from .. import persample
from ..ops.base import updated
from .optimizer import Optimizer, check_number

__all__ = ["DPSGD"]

_FIX = ('write the cost as a plain mean over the batch: loss.mean(), or reduction="mean" in the loss function '
        '(a plain .sum() works too)')


class DPSGD(Optimizer):
    r"""Differentially private SGD (see the module docstring for the rule and the maths).

    Args:
        params: parameters or parameter groups (all groups share ``max_grad_norm`` and
            ``noise_multiplier``, because each sample's gradient is clipped as a whole).
        lr: learning rate, >= 0.
        max_grad_norm: the clipping norm C, a finite number > 0.
        noise_multiplier: sigma >= 0; the noise on the clipped sum has std ``sigma * C``.
        rng: a ``numpy.random.Generator``, an int seed, or None (fresh entropy). In a
            data-parallel world above 1 it must be an int seed, the same on every rank.
        expected_batch_size: divide by this (an int >= 1) instead of the actual batch
            size; needed for noise-only steps (an empty batch, or no gradients at all).
            Micro-batches accumulated before one step are one batch: E is the expected
            count over all of them (Opacus multiplies its E by the number accumulated).
        accountant: an object with ``step(noise_multiplier, sample_rate)`` (such as
            ``tl.privacy.Accountant``), told about every step; needs ``sample_rate``.
        sample_rate: the probability in (0, 1] with which each sample enters a batch.

    Noise: float64 parameters get ``rng.standard_normal(p.shape) * sigma C lr / D`` each,
    in parameter order; float32 parameters share one Box-Muller draw in float32 (radius
    from 53-bit uniforms, so the tails are not cut at float32 resolution), drawn after those.

    Attributes: ``expected_batch_size``, ``sample_rate``, ``accountant``, ``rng``;
    after a step ``last_batch_size`` (samples in it, over all ranks) and
    ``last_clipped_fraction`` (the share of them whose norm exceeded C).
    """

    def __init__(self, params: Any, lr: float, max_grad_norm: float, noise_multiplier: float,
                 rng: Any = None, expected_batch_size: Optional[int] = None, accountant: Any = None,
                 sample_rate: Optional[float] = None) -> None:
        if expected_batch_size is not None:
            if isinstance(expected_batch_size, (bool, np.bool_)) or not isinstance(expected_batch_size,
                                                                                  numbers.Integral):
                raise TypeError(f"invalid expected_batch_size: {expected_batch_size!r} (must be an int >= 1, got "
                                f"{type(expected_batch_size).__name__})")
            if expected_batch_size < 1:
                raise ValueError(f"invalid expected_batch_size: {expected_batch_size!r} (must be an int >= 1)")
        if sample_rate is not None:
            sample_rate = check_number("sample_rate", sample_rate, 0.0, 1.0, low_open=True)
        if accountant is not None:
            if not callable(getattr(accountant, "step", None)):
                raise TypeError(f"accountant must have a step(noise_multiplier, sample_rate) method, got "
                                f"{type(accountant).__name__}")
            if sample_rate is None:
                raise ValueError("DPSGD: an accountant needs sample_rate (the probability that a sample is in a "
                                 "batch) to account each step")
        if isinstance(rng, (bool, np.bool_)) or (rng is not None and not isinstance(
                rng, (np.random.Generator, numbers.Integral))):
            raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"invalid rng: {rng!r} (an int seed must be >= 0)")
        defaults = {"lr": lr, "max_grad_norm": max_grad_norm, "noise_multiplier": noise_multiplier}
        super().__init__(params, defaults)
        self.seed: Optional[int] = int(rng) if isinstance(rng, numbers.Integral) else None
        self.rng = np.random.default_rng(rng)
        self.expected_batch_size: Optional[int] = None if expected_batch_size is None else int(expected_batch_size)
        self.accountant = accountant
        self.sample_rate = sample_rate
        self.last_clipped_fraction: Optional[float] = None
        self.last_batch_size: Optional[int] = None
        self._scratch: dict = {}
        self._used: list = []  # dense grad_sample arrays the last step used

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        check_number("noise_multiplier", group["noise_multiplier"], high_open=True)
        check_number("max_grad_norm", group["max_grad_norm"], 0.0, low_open=True, high_open=True)

    # ------------------------------------------------------------------ gathering --------
    def _collect(self) -> tuple:
        """Each parameter with its per-sample source (kept factors, a dense ``grad_sample``
        or None), after every check that can fail; nothing is changed here."""
        todo = []
        settings = set()
        for group in self.param_groups:
            self._check_group(group)
            settings.add((float(group["max_grad_norm"]), float(group["noise_multiplier"])))
            for p in group["params"]:
                if p._ps is None and p._gs is None and not p.requires_grad:
                    continue  # a frozen parameter: no gradient, no noise
                if p._ps is not None and p._ps.stepped or p._ps is None and p._gs is not None and any(
                        p._gs is used for used in self._used):
                    raise ValueError("DPSGD.step: these per-sample gradients were already used by an earlier step "
                                     "(each sample may enter one noisy sum only); call zero_grad() after every "
                                     "step, before the next backward")
                if p._ps is not None:
                    p._ps.check(persample.label(p))
                    todo.append((group, p, p._ps))
                elif p._gs is not None:
                    if np.shape(p._gs)[1:] != p.data.shape:
                        raise RuntimeError(f"grad_sample of shape {np.shape(p._gs)} does not fit its parameter of "
                                           f"shape {p.data.shape}")
                    todo.append((group, p, np.asarray(p._gs)))
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

    def _units(self, src: Any) -> Optional[np.ndarray]:
        """``u_b`` turning the kept ``S_b`` into sample b's gradient of its own loss (None: 1)."""
        if not isinstance(src, persample.SampleGrads):
            return None
        try:
            u = src.units(self.expected_batch_size)
        except ValueError:
            raise ValueError(f"DPSGD cannot clip per-sample gradients of a cost that weighs its per-sample terms by "
                             f"zero, or by weights it cannot read (clipping bounds each sample's gradient of ITS OWN "
                             f"loss): {_FIX}") from None
        return None if u.size and np.all(u == 1.0) else u

    def _clip(self, todo: list, max_norm: float) -> tuple:
        """The clip coefficients: per source ``coef_b = c_b u_b`` over its own rows; B; the
        squared norms. Sources kept by backward line up by batch (``persample.layout``: a
        parameter a micro-batch's cost did not reach has zero gradients for its samples)."""
        sources = [src for _, _, src in todo if src is not None]
        records = [src for src in sources if isinstance(src, persample.SampleGrads)]
        B, at = persample.layout(records)
        where = {id(r): a for r, a in zip(records, at)}
        Bs = ([B] if records else []) + [src.shape[0] for src in sources if id(src) not in where]
        for b in Bs:
            if b != Bs[0]:
                raise RuntimeError(f"per-sample gradients disagree on the batch size: {Bs[0]} and {b} samples "
                                   "(a grad_sample set by hand must have one row per sample of the batch)")
        B = Bs[0] if Bs else 0
        units = [self._units(src) if src is not None else None for _, _, src in todo]
        sq = np.zeros(B)
        for (_, p, src), u in zip(todo, units):
            if src is None or B == 0:  # (an empty batch has no norms to add)
                continue
            s = persample.sq_norms_of(p) if id(src) in where else _dense_sq(src)
            sq += persample.spread(s if u is None else s * (u * u), where.get(id(src)), B)
        clip = max_norm / np.maximum(np.sqrt(sq), max_norm)
        coefs = []
        for (_, _, src), u in zip(todo, units):
            a = where.get(id(src)) if src is not None else None
            c = clip if a is None else clip[a]
            coefs.append(None if src is None else (c if u is None else c * u))
        return coefs, B, int(np.count_nonzero(sq > max_norm * max_norm)), bool(sources)

    # ------------------------------------------------------------------ the step ---------
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One DP-SGD step (the rule in the module docstring). Every check runs before any
        parameter changes; a failing step changes nothing (and is not accounted).

        The factor ``lr / D`` goes into the clip coefficients (so the matmul yields the
        scaled sum) whenever D is known before the sums, i.e. in one process or with
        ``expected_batch_size``; the noise is drawn with std ``sigma C lr / D``. The update
        is then ``p -= scaled sum + scaled noise``."""
        loss = closure() if closure is not None else None
        todo, (max_norm, sigma) = self._collect()
        coefs, B, n_clipped, any_source = self._clip(todo, max_norm)
        world = _world()
        early = self.expected_batch_size if self.expected_batch_size is not None else (B if world == 1 else 0)
        sums = []
        for (group, p, src), coef in zip(todo, coefs):
            dt = p.data.dtype
            if src is None:
                sums.append(None)
                continue
            if B == 0:  # an empty batch: a zero sum (noise only)
                sums.append(np.zeros(p.data.shape, dt))
                continue
            if early:
                coef = coef * (float(group["lr"]) / early)
            if isinstance(src, persample.SampleGrads):
                sums.append(src.weighted_sum(coef.astype(dt, copy=False)))
            else:
                sums.append(np.tensordot(coef.astype(dt), src.astype(dt, copy=False), axes=(0, 0)))
        reached = [s is not None for s in sums]
        count = B
        if world > 1:
            sums, reached, count, n_clipped = self._reduce(todo, sums, reached, B, n_clipped)
            any_source = count > 0 or any(reached)
        noise_only = count == 0
        denom = self.expected_batch_size if self.expected_batch_size is not None else count
        if noise_only and self.expected_batch_size is None:
            why = "an empty batch (B = 0)" if any_source else "no gradients (every grad is None)"
            raise ValueError(f"DPSGD: a step after {why} is a noise-only step and needs expected_batch_size "
                             "(the divisor of the noisy sum) to be set")
        # all checks passed: from here on the step happens
        self.last_batch_size = int(count)
        self.last_clipped_fraction = n_clipped / count if count else 0.0
        self._used = []
        for _, p, src in todo:  # the rows this step used: a second step over them is refused
            if isinstance(src, persample.SampleGrads):
                src.stepped = True
            elif src is not None:
                self._used.append(p._gs)
        # every trainable parameter takes noise, also one the backward did not reach (its clipped
        # sum is 0): whether a parameter is reached may depend on the data, and a parameter left
        # alone would show which samples were in the batch
        todo_upd = [(g, p, s) for (g, p, _), s in zip(todo, sums)]
        scales = [float(g["lr"]) / denom for g, _, _ in todo_upd]
        noise = self._noise([p for _, p, _ in todo_upd], [sigma * max_norm * k for k in scales])
        for (_, p, s), z, scale in zip(todo_upd, noise, scales):
            if s is not None and not early:  # the divisor was only known after the reduction
                np.multiply(s, scale, out=s, casting="unsafe")
            if z is None or s is None:  # no noise, or nothing to clip (a noise-only step)
                upd = s if z is None else z
                if upd is None:
                    continue
            else:  # z is a fresh (or scratch) array: accumulate in place
                upd = np.add(z, s, out=z, casting="unsafe")
            np.subtract(p.data, upd, out=p.data, casting="unsafe")
            p._v = updated(p._data)  # changed in place: graphs built before this step cannot backward
        if self.accountant is not None:
            self.accountant.step(sigma, self.sample_rate)
        return loss

    def _noise(self, params: list, stds: list) -> list:
        """``N(0, stds[i]^2)`` arrays of each parameter's shape (None where the std is 0):
        float64 parameters one ``standard_normal`` each, in order; float32 ones from one
        shared float32 Box-Muller draw after those."""
        out: list = [None] * len(params)
        f32 = []
        for i, (p, std) in enumerate(zip(params, stds)):
            if std == 0:
                continue
            if p.data.dtype == np.float32:
                f32.append(i)
            else:
                out[i] = self.rng.standard_normal(p.data.shape) * std
        if f32:
            n = sum(params[i].data.size for i in f32)
            common = stds[f32[0]]
            same = all(stds[i] == common for i in f32)
            flat = _box_muller32(self.rng, n, common if same else 1.0, self._scratch)
            k = 0
            for i in f32:
                size = params[i].data.size
                out[i] = flat[k:k + size].reshape(params[i].data.shape)
                if not same:
                    np.multiply(out[i], np.float32(stds[i]), out=out[i])
                k += size
        return out

    def _reduce(self, todo: list, sums: list, reached: list, B: int, n_clipped: int) -> tuple:
        """Sum the clipped sums, sample counts, clip counts and which parameters the cost
        reached over the ranks, in ONE ``allreduce_sum``; check that every rank has the same
        int seed (and generator state) on the way."""
        from .. import distributed as dist

        k = len(todo)
        sizes = [p.data.size for _, p, _ in todo]
        total = sum(sizes)
        buf = np.zeros(total + 7 + k)
        off = 0
        for s, size in zip(sums, sizes):
            if s is not None:
                buf[off:off + size] = s.reshape(-1)
            off += size
        h = zlib.crc32(repr(self.rng.bit_generator.state).encode())
        hi, lo = divmod(h, 1 << 16)
        buf[total:total + 7] = (B, n_clipped, self.seed is not None, hi, hi * hi, lo, lo * lo)
        buf[total + 7:] = reached
        tot = dist.allreduce_sum(buf)
        world = dist.world_size()
        seeded, shi, shi2, slo, slo2 = tot[total + 2:total + 7]
        if seeded != world or shi * shi != world * shi2 or slo * slo != world * slo2:
            raise ValueError("DPSGD across ranks needs rng to be an int seed, the same on every rank (the noise is "
                             "drawn once, identically everywhere); the ranks' generators differ")
        out, off = [], 0
        for (_, p, _), size in zip(todo, sizes):
            out.append(tot[off:off + size].reshape(p.data.shape).astype(p.data.dtype, copy=False))
            off += size
        reached_all = [bool(r > 0) for r in tot[total + 7:]]
        out = [s if r else None for s, r in zip(out, reached_all)]
        return out, reached_all, int(round(tot[total])), int(round(tot[total + 1]))

    # ------------------------------------------------------------------ state ------------
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


def _dense_sq(S: np.ndarray) -> np.ndarray:
    """``|S_b|^2`` of a dense (B, ...) array, in float64."""
    S2 = S.reshape(S.shape[0], int(np.prod(S.shape[1:]))).astype(np.float64, copy=False)
    return np.einsum("bk,bk->b", S2, S2)


def _box_muller32(rng: np.random.Generator, n: int, std: float, scratch: dict) -> np.ndarray:
    r"""``n`` independent ``N(0, std^2)`` draws in float32 (a view of a reused buffer).

    Box-Muller: for independent ``u, v ~ U[0, 1)``, ``r = sqrt(-2 ln(1 - u))`` and
    ``t = 2 pi v`` give two independent standard normals ``r cos t`` and ``r sin t``.
    ``1 - u`` comes from 53-bit uniforms (so the radius's tail reaches 8.5 sigma, where
    float32 uniforms would stop at 5.8) and is then rounded to float32, which keeps its
    relative precision at any size; the angle only needs float32 uniforms.
    """
    h = (n + 1) // 2
    bufs = scratch.get("bm")
    if bufs is None or bufs[0].size != h:
        bufs = scratch["bm"] = (np.empty(h), np.empty(h, np.float32), np.empty(h, np.float32),
                                np.empty(2 * h, np.float32))
    u, r, t, out = bufs
    rng.random(out=u)
    np.subtract(1.0, u, out=u)  # (0, 1]: the log is finite
    np.copyto(r, u, casting="unsafe")
    np.log(r, out=r)
    np.multiply(r, np.float32(-2.0), out=r)
    np.sqrt(r, out=r)
    np.multiply(r, np.float32(std), out=r)
    rng.random(dtype=np.float32, out=t)
    np.multiply(t, np.float32(2.0 * np.pi), out=t)
    np.cos(t, out=out[:h])
    np.sin(t, out=out[h:])
    np.multiply(out[:h], r, out=out[:h])
    np.multiply(out[h:], r, out=out[h:])
    return out[:n]


def _world() -> int:
    """The data-parallel world size (1 unless ``tl.distributed`` was initialised)."""
    import sys
    dist = sys.modules.get("tinygrad_lite.distributed")
    if dist is None or not dist.is_initialized():
        return 1
    return int(dist.world_size())


def data_parallel_shard(who: str, seed: Any) -> Optional[tuple[int, int]]:
    """``(rank, world_size)`` of a data-parallel world above 1 (``tl.distributed``), else None.
    There every rank must draw the same global batches and the same noise: ``seed`` must be an
    int (the same on every rank), else a ``ValueError`` naming ``who``."""
    world = _world()
    if world == 1:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{who}: in a data-parallel world of {world} processes seed must be an int, the same on "
                         f"every rank (each rank takes its shard of one global batch, and one noise), got {seed!r}")
    import sys
    return int(sys.modules["tinygrad_lite.distributed"].rank()), world
