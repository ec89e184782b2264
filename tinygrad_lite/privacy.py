r"""Privacy accounting for DP-SGD: how much privacy a training run spends.

This module holds the privacy accountant (:class:`Accountant`), the search for
the noise multiplier that meets a budget (:func:`get_noise_multiplier`) and the
one-call set-up of a private training loop (:func:`make_private`). The
mathematics is Google's ``dp-accounting`` (``import dp_accounting``), an
optional dependency (``pip install "tinygrad_lite[privacy]"``): this module imports
without it; what needs it raises ``ImportError`` naming the extra.

What epsilon and delta mean
---------------------------
A randomised training algorithm M is (epsilon, delta)-differentially private
when, for any two data sets D and D' that differ by adding or removing ONE
sample, and any set S of possible outcomes (trained weights),

    P[M(D) in S]  <=  exp(epsilon) * P[M(D') in S]  +  delta.

Small epsilon: no sample moves the outcome's distribution much; delta (the chance the
guarantee fails) well below 1/N.

What is composed
----------------
One DP-SGD step is the Poisson-subsampled Gaussian mechanism: every sample
enters the batch independently with probability ``q = sample_rate``, each
sample's gradient is clipped to norm C (so adding or removing one sample
moves the clipped sum by at most C), and Gaussian noise N(0, (sigma C)^2) is
added to the sum, ``sigma = noise_multiplier``. A run is T such steps, each
seeing the outputs of the ones before: their adaptive composition. In
``dp_accounting`` terms the run is ``SelfComposedDpEvent(PoissonSampledDpEvent(
q, GaussianDpEvent(sigma)), T)``, and the accountant turns that into epsilon
for a given delta in one of two ways:

* ``kind="rdp"``: Renyi differential privacy (Mironov 2017; Mironov, Talwar
  and Zhang 2019). The Renyi divergence of order alpha > 1,
  ``D_alpha(P || Q) = log E_Q[(P/Q)^alpha] / (alpha - 1)``, of the step's two
  output distributions is bounded by rho(alpha); RDP composes by ADDING the
  rho(alpha) of the steps, and a total rho converts to

      epsilon = min over alpha of  rho(alpha) + log((alpha - 1) / alpha)
                                   - (log(delta) + log(alpha)) / (alpha - 1)

  (the conversion of Balle et al. 2020 / Canonne, Kamath and Steinke 2020,
  which ``dp_accounting`` applies). The orders alpha are :data:`RDP_ORDERS`,
  Opacus's default list; epsilons are ``dp_accounting``'s, which skips orders it cannot evaluate
  (small sigma, large q; huge sigma): there above Opacus's, never below. An upper bound, fast.
* ``kind="pld"``: privacy loss distributions (Koskela et al. 2020; Doroshenko
  et al. 2022). The distribution of the privacy loss ``log(P(o) / Q(o))`` is
  discretised on a grid of spacing :data:`PLD_VALUE_DISCRETIZATION_INTERVAL` and composed by
  convolution; delta(epsilon) is read off it exactly up to the discretisation, which rounds
  pessimistically. Tighter than RDP (often 10-20% smaller epsilon), and slower: 0.1 s to a few
  seconds per evaluation for sigma >= 0.3; the grid grows as 1/sigma^2 (sigma ~0.06: 10 s or more).

Either way epsilon is an upper bound: never an underestimate of the privacy lost.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, Optional, Union

import numpy as np

__all__ = ["MAX_NOISE_MULTIPLIER", "PLD_MAX_GRID_POINTS", "PLD_VALUE_DISCRETIZATION_INTERVAL", "RDP_ORDERS",
           "Accountant", "get_noise_multiplier", "make_private"]

RDP_ORDERS: tuple = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))
"""The Renyi orders alpha of the RDP accountant: 1.1, 1.2, ..., 10.9 and 12, 13, ..., 63, Opacus's
default list (``dp_accounting``'s own default differs: it adds 11 and 128...1024)."""

PLD_VALUE_DISCRETIZATION_INTERVAL: float = 1e-4
"""Grid spacing of the PLD accountant's privacy-loss values (``dp_accounting``'s default): epsilon
at most ~2e-4 relative too high against a ten times finer grid (sigma 1-5, up to 10^4 steps)."""

MAX_NOISE_MULTIPLIER: float = 1e6  # get_noise_multiplier gives up (ValueError) beyond it

PLD_MAX_GRID_POINTS: float = 1e7
"""PLD refuses (``ValueError``) a sigma whose loss grid exceeds this (~2.5 GB): sigma < 0.032 at 1e-4."""

_KINDS = ("rdp", "pld")
_INSTALL_HINT = 'pip install "tinygrad_lite[privacy]"'
History = list  # of (noise_multiplier: float, sample_rate: float, num_steps: int)

def _dp_accounting() -> Any:
    """Imports ``dp_accounting`` (every time: a lookup in ``sys.modules`` once it is loaded)."""
    try:
        import dp_accounting
        from dp_accounting import pld, rdp  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "privacy accounting needs Google's dp-accounting package, an optional dependency of "
            f"tinygrad_lite: {_INSTALL_HINT}"
        ) from exc
    return dp_accounting


# --------------------------------------------------------------------------- argument checks


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _check_noise(noise_multiplier: Any) -> float:
    sigma = _real("noise_multiplier", noise_multiplier)
    if not (0.0 <= sigma < math.inf):  # also rejects NaN
        raise ValueError(f"noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}")
    return sigma


def _check_rate(sample_rate: Any) -> float:
    q = _real("sample_rate", sample_rate)
    if not 0.0 < q <= 1.0:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    return q


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_delta(delta: Any, name: str = "delta") -> float:
    d = _real(name, delta)
    if not 0.0 < d < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {delta!r}")
    return d


def _check_positive(name: str, value: Any) -> float:
    v = _real(name, value)
    if not 0.0 < v < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def _check_kind(kind: Any) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'rdp' or 'pld', got {kind!r}")
    return kind


def _check_history(history: Any) -> History:
    """A validated, merged copy of a history: a list of ``(sigma, q, num_steps)`` entries."""
    form = "(noise_multiplier, sample_rate, num_steps)"
    if not isinstance(history, (list, tuple)):
        raise ValueError(f"history must be a list of {form}, got {history!r}")
    out: History = []
    for i, entry in enumerate(history):
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            raise ValueError(f"history[{i}] must be {form}, got {entry!r}")
        try:
            item = (_check_noise(entry[0]), _check_rate(entry[1]), _check_count("num_steps", entry[2]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history[{i}]: {exc}") from None
        _merge(out, *item)
    return out


def _merge(history: History, sigma: float, q: float, num_steps: int) -> None:
    """Appends ``(sigma, q, num_steps)``, merged into the last entry when sigma and q are equal."""
    if history and history[-1][0] == sigma and history[-1][1] == q:
        history[-1] = (sigma, q, history[-1][2] + num_steps)
    else:
        history.append((sigma, q, num_steps))


# --------------------------------------------------------------------------- composition


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silences dp_accounting's notes that it leaves out an RDP order whose series did not converge
    (which can only raise epsilon: still safe); they would flood the noise search."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_pld_grid(history: History, interval: float) -> None:
    r"""``ValueError`` before ``dp_accounting`` builds a PLD too large for memory: the loss
    ``(x - 1/2) / sigma^2`` spans ~``1/(2 sigma^2) + 16/sigma`` (+-8 std of x), over ``interval``."""
    for sigma, _, _ in history:
        span = 0.5 / sigma ** 2 + 16.0 / sigma if sigma > 0 else 0.0
        if span / interval > PLD_MAX_GRID_POINTS:
            raise ValueError(
                f"the PLD accountant cannot compose noise_multiplier={sigma!r} at value_discretization_interval="
                f"{interval:g}: its privacy-loss grid would hold about {span / interval:.2g} points (the limit is "
                f"{PLD_MAX_GRID_POINTS:.0e}); use kind='rdp', or a value_discretization_interval of at least "
                f"{span / PLD_MAX_GRID_POINTS:.2g}")


def _compose(kind: str, history: History, interval: float) -> Any:
    """A ``dp_accounting`` accountant with every entry of ``history`` composed into it."""
    dpa = _dp_accounting()
    if kind == "rdp":
        acc = dpa.rdp.RdpAccountant(orders=list(RDP_ORDERS))
    else:
        _check_pld_grid(history, interval)
        acc = dpa.pld.PLDAccountant(value_discretization_interval=interval)
    with _quiet():
        for sigma, q, n in history:
            acc.compose(dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), n))
    return acc


def _epsilon(acc: Any, delta: float) -> float:
    eps = float(acc.get_epsilon(delta))
    return math.inf if math.isnan(eps) else eps


class Accountant:
    r"""Tracks the privacy spent by DP-SGD steps and reports it as epsilon for a delta.

    Each :meth:`step` records ``num_steps`` steps of the Poisson-subsampled
    Gaussian mechanism with noise multiplier sigma and sample rate q (see the
    module docstring); :meth:`get_epsilon` composes everything recorded with
    ``dp_accounting`` and converts it to the epsilon of an (epsilon,
    delta)-DP guarantee for the whole run.

    Args:
        kind: ``"rdp"`` (Renyi DP over :data:`RDP_ORDERS`) or ``"pld"``
            (privacy loss distributions).
        value_discretization_interval: for ``"pld"`` only, the grid spacing of
            the privacy-loss values (default
            :data:`PLD_VALUE_DISCRETIZATION_INTERVAL`); smaller is tighter and
            slower. Giving it with ``"rdp"`` is a ``ValueError``.

    Attributes:
        kind: ``"rdp"`` or ``"pld"``.
        history: a list of ``(noise_multiplier, sample_rate, num_steps)``;
            consecutive steps with equal noise multiplier and sample rate are
            merged into one entry (``num_steps`` adds up), as in Opacus. It
            may be read, or replaced by assignment (validated when epsilon is
            next computed).

    ``step`` only appends to the history (cheap enough for every training
    step); the composition runs in ``get_epsilon`` and is cached until the
    history changes. Raises ``ImportError`` naming the ``privacy`` extra when
    ``dp_accounting`` is not installed.
    """

    def __init__(self, kind: str = "rdp", *, value_discretization_interval: Optional[float] = None) -> None:
        kind = _check_kind(kind)
        if value_discretization_interval is None:
            interval = PLD_VALUE_DISCRETIZATION_INTERVAL
        elif kind == "rdp":
            raise ValueError("value_discretization_interval applies to kind='pld' only")
        else:
            interval = _check_positive("value_discretization_interval", value_discretization_interval)
        _dp_accounting()
        self.kind = kind
        self._interval = interval
        self.history: History = []
        self._cache_key: Optional[tuple] = None
        self._composed: Any = None
        self._eps: dict = {}

    @property
    def value_discretization_interval(self) -> Optional[float]:
        """The PLD grid spacing, or None for an RDP accountant."""
        return self._interval if self.kind == "pld" else None

    def step(self, noise_multiplier: float, sample_rate: float, num_steps: int = 1) -> None:
        """Records ``num_steps`` DP-SGD steps with noise multiplier sigma and sample rate q.

        Raises ``ValueError`` (and records nothing) unless ``noise_multiplier``
        is finite and >= 0, ``0 < sample_rate <= 1`` and ``num_steps`` is a
        positive int. A noise multiplier of 0 is allowed: it is a non-private
        step, and epsilon is infinite from then on.
        """
        sigma, q, count = _check_noise(noise_multiplier), _check_rate(sample_rate), _check_count("num_steps", num_steps)
        if type(self.history) is not list:  # a history assigned as a tuple: a (checked, merged) list of it
            self.history = _check_history(self.history)
        _merge(self.history, sigma, q, count)

    def get_epsilon(self, delta: float) -> float:
        """Epsilon of the (epsilon, delta)-DP guarantee for all the steps recorded so far.

        0.0 before any step; ``math.inf`` once a step had ``noise_multiplier``
        0. ``delta`` must be in (0, 1) (``ValueError`` otherwise; also, for PLD, past
        :data:`PLD_MAX_GRID_POINTS`).
        """
        delta = _check_delta(delta)
        if not isinstance(self.history, (list, tuple)):
            _check_history(self.history)  # raises, naming the problem
        key = tuple(tuple(e) if isinstance(e, (list, tuple)) else e for e in self.history)
        if key != self._cache_key:
            history = _check_history(self.history)
            composed = _compose(self.kind, history, self._interval) if history else None
            self._cache_key, self._composed, self._eps = key, composed, {}
        if self._composed is None:
            return 0.0
        if delta not in self._eps:
            self._eps[delta] = _epsilon(self._composed, delta)
        return self._eps[delta]

    def state_dict(self) -> dict:
        """A plain dict of the accountant's state, storable with ``tl.save``.

        ``{"kind": ..., "history": [[sigma, q, num_steps], ...]}``, plus
        ``"value_discretization_interval"`` for a PLD accountant.
        """
        history = [[float(s), float(q), int(n)] for s, q, n in self.history]
        state: dict = {"kind": self.kind, "history": history}
        if self.kind == "pld":
            state["value_discretization_interval"] = self._interval
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restores a :meth:`state_dict`; all or nothing.

        Raises ``TypeError`` if it is not a dict, ``KeyError`` for a missing
        or unexpected key, and ``ValueError`` for a state of the other kind or
        a malformed history entry; the accountant is then unchanged.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Accountant.load_state_dict expects a dict, got {type(state_dict).__name__}")
        if "kind" in state_dict and state_dict["kind"] != self.kind:
            raise ValueError(f"Accountant.load_state_dict: the state is of a {state_dict['kind']!r} accountant, "
                             f"this one is {self.kind!r}")
        expected = {"kind", "history"} | ({"value_discretization_interval"} if self.kind == "pld" else set())
        missing, extra = expected - set(state_dict), set(state_dict) - expected
        if missing or extra:
            raise KeyError(
                f"Accountant.load_state_dict: missing keys {sorted(missing)}, unexpected keys "
                f"{sorted(extra)} (a {self.kind!r} accountant's state has {sorted(expected)})"
            )
        history = _check_history(state_dict["history"])
        interval = self._interval
        if self.kind == "pld":
            key = "value_discretization_interval"
            interval = _check_positive(key, state_dict[key])
        self.history, self._interval = history, interval
        self._cache_key, self._composed, self._eps = None, None, {}

    def __repr__(self) -> str:
        steps = sum(n for _, _, n in self.history)
        return f"Accountant(kind={self.kind!r}, steps={steps}, history entries={len(self.history)})"


# --------------------------------------------------------------------------- noise calibration


def get_noise_multiplier(
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: Optional[int] = None,
    epochs: Optional[float] = None,
    kind: str = "rdp",
    epsilon_tolerance: float = 0.01,
) -> float:
    r"""The smallest noise multiplier sigma that keeps a run within (target_epsilon, target_delta).

    The run is ``steps`` DP-SGD steps at sample rate q (or, given ``epochs``,
    ``round(epochs / q)`` steps: one epoch is 1/q steps in expectation).
    epsilon(sigma) decreases as sigma grows, so the search is Opacus's rule:
    starting from sigma_low = 0 and sigma_high = 10, double sigma_high until
    epsilon(sigma_high) <= target_epsilon; then bisect [sigma_low,
    sigma_high], keeping sigma_high on the side whose epsilon is within the
    target, until ``target_epsilon - epsilon_tolerance <= epsilon(sigma_high)
    <= target_epsilon`` (or sigma_low and sigma_high agree to 12 digits: epsilon
    may jump over that window, as RDP's drops to 0 once the RDP is below delta^2),
    and return sigma_high. The result therefore meets the budget. (Opacus turns epochs into ``int(epochs / q)`` steps;
    here they are rounded: 0.7 epochs at q = 0.1 are 7 steps, although
    ``0.7 / 0.1 == 6.999999999999999``.)

    Args:
        target_epsilon: the budget's epsilon, a finite number > 0.
        target_delta: the budget's delta, in (0, 1).
        sample_rate: q in (0, 1], the probability of each sample to be in a batch.
        steps: the number of steps (exactly one of ``steps``/``epochs``).
        epochs: the number of epochs, a number > 0.
        kind: ``"rdp"`` or ``"pld"``, the accountant used (see :class:`Accountant`).
        epsilon_tolerance: how far below the target the result's epsilon may be, > 0.

    Raises:
        ValueError: on any bad argument (named in the message), or when even
            sigma = :data:`MAX_NOISE_MULTIPLIER` exceeds the budget.
        ImportError: when ``dp_accounting`` is not installed.
    """
    target_epsilon = _check_positive("target_epsilon", target_epsilon)
    delta = _check_delta(target_delta, "target_delta")
    q = _check_rate(sample_rate)
    kind = _check_kind(kind)
    tolerance = _check_positive("epsilon_tolerance", epsilon_tolerance)
    if (steps is None) == (epochs is None):
        raise ValueError("get_noise_multiplier needs exactly one of steps and epochs")
    if steps is not None:
        n = _check_count("steps", steps)
    else:
        n_epochs = _check_positive("epochs", epochs)
        n = round(n_epochs / q)
        if n < 1:
            raise ValueError(f"epochs={epochs!r} at sample_rate={sample_rate!r} is less than one step")
    _dp_accounting()

    def eps(sigma: float) -> float:
        try:
            return _epsilon(_compose(kind, [(sigma, q, n)], PLD_VALUE_DISCRETIZATION_INTERVAL), delta)
        except ValueError:  # (PLD: a sigma below its grid's limit, tried on the way down: above any target)
            return math.inf

    sigma_low, sigma_high, eps_high = 0.0, 10.0, math.inf
    while eps_high > target_epsilon:
        sigma_high *= 2.0
        eps_high = eps(sigma_high)
        if sigma_high > MAX_NOISE_MULTIPLIER:
            raise ValueError(
                f"target_epsilon={target_epsilon!r} cannot be reached at target_delta={target_delta!r} "
                f"over {n} steps at sample_rate={sample_rate!r}: even noise_multiplier {sigma_high:g} spends "
                f"epsilon {eps_high:g}"
            )
    while target_epsilon - eps_high > tolerance and sigma_high - sigma_low > 1e-12 * sigma_high:
        sigma = (sigma_low + sigma_high) / 2.0
        e = eps(sigma)
        if e <= target_epsilon:
            sigma_high, eps_high = sigma, e
        else:
            sigma_low = sigma
    return sigma_high


# --------------------------------------------------------------------------- one-call set-up


def _seeds(seed: Any) -> tuple:
    """(loader seed, noise seed): independent streams, since one shared stream would make the noise
    a function of which samples were drawn. An int seeds the loader itself and the noise with an
    int derived by ``numpy.random.SeedSequence`` (an int: the same on every rank)."""
    if seed is None:
        return None, None
    if isinstance(seed, np.random.Generator):
        a, b = seed.integers(0, 2**63, size=2)
        return int(a), int(b)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise (TypeError if not isinstance(seed, Integral) or isinstance(seed, bool) else ValueError)(
            f"seed must be None, an int >= 0 or a numpy Generator, got {seed!r}")
    child = np.random.SeedSequence(int(seed), spawn_key=(1,))
    return int(seed), int(child.generate_state(1, dtype=np.uint64)[0])


def make_private(
    model: Any,
    X: Any,
    y: Any,
    *,
    batch_size: int,
    epochs: int,
    target_epsilon: float,
    target_delta: float,
    max_grad_norm: float,
    lr: float,
    kind: str = "rdp",
    seed: Union[None, int, np.random.Generator] = None,
) -> tuple:
    r"""A Poisson-sampled loader and a DPSGD optimizer that spend at most the given budget.

    Returns ``(optimizer, loader)``:

    * ``loader = tl.data.DataLoader(X, y, batch_size=batch_size, sampling="poisson", seed=...)``
      (``y=None``: ``X`` a Dataset): every batch takes each sample independently with
      probability ``q = batch_size / len(X)``, the sampling the accountant assumes;
      ``len(loader)`` batches per epoch;
    * ``optimizer = tl.optim.DPSGD(model.parameters(), lr, max_grad_norm,
      noise_multiplier=sigma, expected_batch_size=batch_size,
      accountant=Accountant(kind), sample_rate=q)``, with sigma =
      :func:`get_noise_multiplier` for ``epochs * len(loader)`` steps.

    Every ``optimizer.step()`` records itself in ``optimizer.accountant``, so
    after ``epochs`` epochs ``optimizer.accountant.get_epsilon(target_delta)
    <= target_epsilon``; training longer spends more. ``seed`` (None, an int
    or a Generator) seeds both the sampling and the noise, as two independent
    streams (the loader gets an int ``seed`` itself). In a data-parallel world above 1
    (``tl.distributed``) the loader yields this rank's shard and ``seed`` must be an int.

    Raises ValueError / TypeError on a bad argument (named; nothing is built), and ImportError
    without ``dp_accounting``.
    """
    from . import data, optim  # the classes are looked up when called

    _dp_accounting()
    kind = _check_kind(kind)
    if not callable(getattr(model, "parameters", None)):
        raise TypeError(f"model must have a parameters() method (a tl.nn.Module), got {type(model).__name__}")
    batch_size = _check_count("batch_size", batch_size)
    epochs = _check_count("epochs", epochs)
    _check_positive("target_epsilon", target_epsilon)
    _check_delta(target_delta, "target_delta")
    max_grad_norm = _check_positive("max_grad_norm", max_grad_norm)
    if not _real("lr", lr) >= 0.0 or not math.isfinite(lr):
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    n = len(X.data) if isinstance(getattr(X, "data", None), np.ndarray) else len(X)
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} exceeds the number of samples len(X)={n}")
    loader_seed, noise_seed = _seeds(seed)
    shard = optim.dpsgd.data_parallel_shard("make_private", seed)  # (this rank's part of each batch)
    q, per_epoch = batch_size / n, n // batch_size  # the Poisson loader's sample_rate and len()
    sigma = get_noise_multiplier(target_epsilon, target_delta, q, steps=epochs * per_epoch, kind=kind)
    loader = data.DataLoader(*((X,) if y is None else (X, y)), batch_size=batch_size, sampling="poisson",
                             seed=loader_seed, shard=shard)
    if loader.sample_rate != q or len(loader) != per_epoch:
        raise RuntimeError(f"the Poisson DataLoader has sample_rate {loader.sample_rate} and {len(loader)} "
                           f"batches per epoch; the accounting assumed {q} and {per_epoch}")
    optimizer = optim.DPSGD(
        model.parameters(), lr=lr, max_grad_norm=max_grad_norm, noise_multiplier=sigma, rng=noise_seed,
        expected_batch_size=batch_size, accountant=Accountant(kind), sample_rate=q,
    )
    return optimizer, loader
