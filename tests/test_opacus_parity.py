"""Parity with Opacus and dp-accounting, layer by layer and step by step, as an Opacus user
would check it.

* ``p.grad_sample`` of every tl.nn layer with parameters against Opacus's
  ``GradSampleModule`` on the same float64 weights, for a mean and a sum cost and batches of
  one and of several samples. Opacus with ``loss_reduction="mean"`` multiplies what the
  backward of the mean gives by B, so its ``grad_sample[b]`` is the gradient of sample b's
  own term, which is exactly our contract (``grad == grad_sample.mean(0)``); with
  ``"sum"`` both are the gradient of the summed term. One deliberate difference: an
  Embedding's ``padding_idx`` row, which Opacus fills although its batch gradient is 0.
* ``tl.optim.DPSGD`` against Opacus's ``DPOptimizer`` over several noise-free steps (kept
  factors of Embedding, Conv, LSTM and Linear layers; batches of varying size divided by the
  expected batch size; micro-batches accumulated before one step), and its noise against
  Opacus's by statistics.
* ``tl.privacy`` epsilons at the edges of the grid against exact Gaussian-mechanism maths,
  Opacus's RDP and PRV accountants, and the inverse (the noise multiplier for a budget).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim, privacy

torch = pytest.importorskip("torch")
opacus = pytest.importorskip("opacus")
pytestmark = pytest.mark.filterwarnings("ignore")

from opacus.layers import DPGRU, DPLSTM, DPRNN, DPMultiheadAttention  # noqa: E402
from opacus.layers.dp_rnn import DPGRUCell, DPLSTMCell, DPRNNCell  # noqa: E402

tnn = torch.nn


def _close(a: Any, b: Any, what: str, tol: float = 1e-10) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
    assert err < tol, (what, err)


def _load(m: nn.Module, tm: Any, rename: Callable[[str], str] = lambda k: k) -> None:
    m.load_state_dict({rename(k): v.detach().numpy().copy() for k, v in tm.state_dict().items()})


# ----------------------------------------------------------------------------- per-sample gradients


class _Cells(nn.Module):
    """A cell run over the time axis of (B, T, F); the last hidden state."""

    def __init__(self, cell: Any) -> None:
        self.cell = cell

    def forward(self, x: Any) -> tl.Tensor:
        state = None
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
        return state[0] if isinstance(state, tuple) else state


class _TorchCells(tnn.Module):
    def __init__(self, cell: Any) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: Any) -> Any:
        state = None
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
        return state[0] if isinstance(state, tuple) else state


class _First(nn.Module):
    """The first output of a layer returning a tuple (recurrent layers, attention)."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def forward(self, *xs: Any) -> tl.Tensor:
        return self.layer(*xs)[0]


def _cell_name(k: str) -> str:
    """Opacus's cells keep ``ih`` / ``hh`` Linear layers; torch's names are ``weight_ih`` ..."""
    for part in ("ih", "hh"):
        for kind in ("weight", "bias"):
            k = k.replace(f"cell.{part}.{kind}", f"cell.{kind}_{part}")
    return k


def _layer(k: str) -> str:
    return "layer." + k


def _qkv(theirs: dict) -> dict:
    """Opacus's attention keeps q, k and v projections apart; ours stacks them as torch does."""
    out = dict(theirs)
    for kind in ("weight", "bias"):
        parts = [out.pop(f"{c}linear.{kind}", None) for c in "qkv"]
        if parts[0] is not None:
            out[f"in_proj_{kind}"] = np.concatenate(parts, axis=1)
    return {_layer(k): v for k, v in out.items()}


def _randn(*shape: int) -> Callable:
    return lambda B, rng: rng.standard_normal((B, *shape))


# name -> (our module, the torch module, input makers, rename of our state keys, rename of
# Opacus's grad_sample keys, sequence-first on the torch side)
def _case(name: str) -> tuple:
    torch.manual_seed(0)
    cases: dict = {
        "Linear": lambda: (nn.Linear(5, 3), tnn.Linear(5, 3), [_randn(5)]),
        "Linear-3d-nobias": lambda: (nn.Linear(5, 3, bias=False), tnn.Linear(5, 3, bias=False), [_randn(2, 5)]),
        "Conv1d": lambda: (nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False),
                           tnn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False),
                           [_randn(4, 11)]),
        "Conv1d-same": lambda: (nn.Conv1d(3, 4, 4, padding="same"), tnn.Conv1d(3, 4, 4, padding="same"),
                                [_randn(3, 7)]),
        "Conv2d": lambda: (nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                           tnn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
                           [_randn(4, 7, 6)]),
        "Conv2d-same": lambda: (nn.Conv2d(3, 4, 3, padding="same", dilation=2),
                                tnn.Conv2d(3, 4, 3, padding="same", dilation=2), [_randn(3, 5, 5)]),
        "Conv3d": lambda: (nn.Conv3d(4, 6, (2, 3, 2), stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1),
                                     groups=2),
                           tnn.Conv3d(4, 6, (2, 3, 2), stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1),
                                      groups=2),
                           [_randn(4, 4, 5, 3)]),
        "Conv3d-same-nobias": lambda: (nn.Conv3d(3, 4, 3, padding="same", bias=False),
                                       tnn.Conv3d(3, 4, 3, padding="same", bias=False), [_randn(3, 3, 4, 3)]),
        "ConvTranspose1d": lambda: (
            nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
            tnn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
            [_randn(4, 5)]),
        "ConvTranspose2d": lambda: (
            nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2, bias=False),
            tnn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), groups=2, bias=False),
            [_randn(4, 4, 5)]),
        "Embedding": lambda: (nn.Embedding(7, 3), tnn.Embedding(7, 3),
                              [lambda B, rng: rng.integers(0, 7, (B, 5))]),
        "LayerNorm": lambda: (nn.LayerNorm((3, 4)), tnn.LayerNorm((3, 4)), [_randn(2, 3, 4)]),
        "GroupNorm": lambda: (nn.GroupNorm(2, 4), tnn.GroupNorm(2, 4), [_randn(4, 3, 3)]),
        "PReLU": lambda: (nn.PReLU(), tnn.PReLU(), [_randn(3, 5)]),
        "PReLU-channels": lambda: (nn.PReLU(3), tnn.PReLU(3), [_randn(3, 5)]),
        "RNN": lambda: (_First(nn.RNN(3, 4, num_layers=2, batch_first=True, bidirectional=True)),
                        DPRNN(3, 4, num_layers=2, batch_first=True, bidirectional=True),
                        [_randn(5, 3)]),
        "RNN-relu-nobias": lambda: (_First(nn.RNN(3, 4, nonlinearity="relu", bias=False, batch_first=True)),
                                    DPRNN(3, 4, nonlinearity="relu", bias=False, batch_first=True),
                                    [_randn(5, 3)]),
        "LSTM": lambda: (_First(nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)),
                         DPLSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True),
                         [_randn(5, 3)]),
        "GRU": lambda: (_First(nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)),
                        DPGRU(3, 4, num_layers=2, batch_first=True, bidirectional=True),
                        [_randn(5, 3)]),
        "RNNCell": lambda: (_Cells(nn.RNNCell(3, 4)), _TorchCells(DPRNNCell(3, 4, True, "tanh")), [_randn(4, 3)]),
        "LSTMCell": lambda: (_Cells(nn.LSTMCell(3, 4)), _TorchCells(DPLSTMCell(3, 4, True)), [_randn(4, 3)]),
        "GRUCell": lambda: (_Cells(nn.GRUCell(3, 4)), _TorchCells(DPGRUCell(3, 4, True)), [_randn(4, 3)]),
        # Opacus's DPMultiheadAttention is used sequence-first: with batch_first=True its output
        # is not torch's, and its projections see the sample axis second
        "MultiheadAttention": lambda: (_First(nn.MultiheadAttention(6, 2)), DPMultiheadAttention(6, 2),
                                       [_randn(3, 6), _randn(4, 6), _randn(4, 6)]),
        "MultiheadAttention-nobias": lambda: (_First(nn.MultiheadAttention(6, 2, bias=False)),
                                              DPMultiheadAttention(6, 2, bias=False),
                                              [_randn(3, 6), _randn(4, 6), _randn(4, 6)]),
    }
    m, tm, makers = cases[name]()
    tm = tm.double()
    if name.endswith("Cell"):
        _load(m, tm, _cell_name)
        return m, tm, makers, lambda d: {_cell_name(k): v for k, v in d.items()}, False
    if isinstance(m, _First):
        _load(m, tm, _layer)
        if name.startswith("MultiheadAttention"):
            return m, tm, makers, _qkv, True
        return m, tm, makers, lambda d: {_layer(k): v for k, v in d.items()}, False
    _load(m, tm)
    return m, tm, makers, lambda d: d, False


CASES = ["Linear", "Linear-3d-nobias", "Conv1d", "Conv1d-same", "Conv2d", "Conv2d-same", "Conv3d",
         "Conv3d-same-nobias", "ConvTranspose1d",
         "ConvTranspose2d", "Embedding", "LayerNorm", "GroupNorm", "PReLU", "PReLU-channels", "RNN",
         "RNN-relu-nobias", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
         "MultiheadAttention-nobias"]


def _opacus_grad_sample(tm: Any, xs: list, target: np.ndarray, reduction: str, seq_first: bool) -> dict:
    """Opacus's per-sample gradients of ``mse_loss(tm(*xs), target, reduction)``."""
    gsm = opacus.GradSampleModule(tm, batch_first=not seq_first, loss_reduction=reduction)
    try:
        ts = [torch.from_numpy(x) for x in xs]
        if seq_first:
            out = gsm(*[t.transpose(0, 1) for t in ts])[0].transpose(0, 1)
        else:
            out = gsm(*ts)
        out = out[0] if isinstance(out, tuple) else out
        torch.nn.functional.mse_loss(out, torch.from_numpy(target), reduction=reduction).backward()
        return {k.removeprefix("_module."): p.grad_sample.numpy().copy() for k, p in gsm.named_parameters()}
    finally:
        gsm._close()


@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("name", CASES)
def test_grad_sample_equals_opacus(name: str, B: int) -> None:
    m, tm, makers, rename, seq_first = _case(name)
    rng = np.random.default_rng(B)
    xs = [make(B, rng) for make in makers]
    out_shape = m(*[tl.Tensor(x, batched=True) for x in xs]).shape
    target = rng.standard_normal(out_shape)
    for reduction in ("mean", "sum"):
        m.zero_grad()
        tm.zero_grad()
        nn.mse_loss(m(*[tl.Tensor(x, batched=True) for x in xs]), tl.Tensor(target, batched=True),
                    reduction=reduction).backward()
        theirs = rename(_opacus_grad_sample(tm, xs, target, reduction, seq_first))
        ours = dict(m.named_parameters())
        assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
        for k, p in ours.items():
            _close(p.grad_sample, theirs[k], f"{name} {reduction} {k}")
            norms = np.sqrt((theirs[k].reshape(B, -1) ** 2).sum(axis=1))
            _close(p.grad_sample_norm, norms, f"{name} {reduction} norm of {k}")
            # Opacus's "mean" convention: grad_sample[b] is sample b's own gradient, so the batch
            # gradient is their mean; our contract says the same
            _close(p.grad, theirs[k].mean(axis=0) if reduction == "mean" else theirs[k].sum(axis=0),
                   f"{name} {reduction} grad of {k}")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_embedding_padding_row_follows_torch_not_opacus(reduction: str) -> None:
    # Opacus scatters the output cotangent into the padding_idx row too, so its grad_sample
    # disagrees with torch's own (zero) gradient of that row; ours is torch's. Every other row
    # agrees with Opacus.
    torch.manual_seed(0)
    tm = tnn.Embedding(7, 3, padding_idx=2).double()
    m = nn.Embedding(7, 3, padding_idx=2)
    _load(m, tm)
    idx = np.array([[2, 2, 1, 2, 5], [0, 2, 3, 3, 6], [2, 4, 4, 1, 0]])
    target = np.random.default_rng(0).standard_normal((3, 5, 3))
    nn.mse_loss(m(tl.Tensor(idx, batched=True)), tl.Tensor(target, batched=True), reduction=reduction).backward()
    theirs = _opacus_grad_sample(tm, [idx], target, reduction, False)["weight"]
    ours = m.weight.grad_sample
    _close(np.delete(ours, 2, axis=1), np.delete(theirs, 2, axis=1), "rows other than padding_idx")
    assert np.all(ours[:, 2] == 0) and np.any(theirs[:, 2] != 0)
    # torch's own per-sample gradients (one backward per sample) have the zero row
    for b in range(3):
        tm.zero_grad()
        out = tm(torch.from_numpy(idx[b:b + 1]))
        torch.nn.functional.mse_loss(out, torch.from_numpy(target[b:b + 1]), reduction=reduction).backward()
        _close(ours[b], tm.weight.grad.numpy(), f"sample {b}")


# ----------------------------------------------------------------------------- DPSGD vs DPOptimizer


class _Net(nn.Module):
    """Embedding -> Conv1d -> GroupNorm -> LSTM -> Linear on the last step: every kind of kept
    per-sample factor (Embedding rows, Conv rows, Linear rows) and a dense recurrent one."""

    def __init__(self) -> None:
        self.emb = nn.Embedding(9, 4)
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.rnn = nn.LSTM(4, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, idx: Any) -> tl.Tensor:
        h = self.gn(self.conv(self.emb(idx).transpose(0, 2, 1))).tanh().transpose(0, 2, 1)
        return self.head(self.rnn(h)[0][:, -1])


class _TorchNet(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = tnn.Embedding(9, 4)
        self.conv = tnn.Conv1d(4, 4, 3, padding=1)
        self.gn = tnn.GroupNorm(2, 4)
        self.rnn = DPLSTM(4, 5, batch_first=True)
        self.head = tnn.Linear(5, 3)

    def forward(self, idx: Any) -> Any:
        h = torch.tanh(self.gn(self.conv(self.emb(idx).transpose(1, 2)))).transpose(1, 2)
        return self.head(self.rnn(h)[0][:, -1])


def _nets(seed: int = 0) -> tuple:
    torch.manual_seed(seed)
    tm = _TorchNet().double()
    m = _Net()
    state = {}
    for name, child in tm.named_children():  # DPLSTM names its weights as torch's LSTM at top level
        state.update({f"{name}.{k}": v.detach().numpy().copy() for k, v in child.state_dict().items()})
    m.load_state_dict(state)
    theirs = {f"{name}.{k}": p for name, child in tm.named_children() for k, p in child.named_parameters()}
    assert set(theirs) == {k for k, _ in m.named_parameters()}
    return m, tm, theirs


def _batches(sizes: list, seed: int = 3) -> list:
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 9, (b, 6)), rng.integers(0, 3, b)) for b in sizes]


def _dp_optimizer(tm: Any, lr: float, C: float, sigma: float, E: Any, reduction: str, seed: int = 0) -> tuple:
    from opacus.optimizers import DPOptimizer
    gsm = opacus.GradSampleModule(tm, loss_reduction=reduction)
    opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=lr), noise_multiplier=sigma, max_grad_norm=C,
                      expected_batch_size=E, loss_reduction=reduction,
                      generator=torch.Generator().manual_seed(seed))
    return gsm, opt


SIZES = [5, 1, 3, 6, 2]  # varying batch sizes, as Poisson sampling draws them


@pytest.mark.parametrize("C, tol", [(1e6, 1e-10), (0.9, 1e-5)], ids=["no-clipping", "clipping"])
@pytest.mark.parametrize("divisor", ["expected", "actual"])
def test_noise_free_steps_equal_opacus(C: float, tol: float, divisor: str) -> None:
    # Opacus clips with C / (|g_b| + 1e-6), ours with C / |g_b|: a relative difference of at most
    # 1e-6 / C in each clipped sample's factor (1.1e-6 at C = 0.9), none without clipping.
    # Opacus divides the sum by expected_batch_size (a mean cost needs one); ours by it when
    # given, else by the batch's own B, which Opacus does when told B as its expected size.
    m, tm, theirs = _nets()
    lr, E = 0.5, 4
    w0 = {k: p.data.copy() for k, p in m.named_parameters()}
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0,
                      expected_batch_size=E if divisor == "expected" else None)
    gsm, topt = _dp_optimizer(tm, lr, C, 0.0, E, "mean")
    clipped = []
    for idx, y in _batches(SIZES):
        opt.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(idx, batched=True)), y).backward()
        opt.step()
        clipped.append(opt.last_clipped_fraction)
        topt.zero_grad()
        if divisor == "actual":
            topt.expected_batch_size = len(y)
        torch.nn.functional.cross_entropy(gsm(torch.from_numpy(idx)), torch.from_numpy(y)).backward()
        topt.step()
    gsm._close()
    assert max(clipped) == 0 if C > 1 else 0 < np.mean(clipped) and min(clipped) < 1
    for k, p in m.named_parameters():
        upd, their_upd = p.data - w0[k], theirs[k].detach().numpy() - w0[k]
        _close(upd / np.abs(their_upd).max(), their_upd / np.abs(their_upd).max(), k, tol)


def test_sum_cost_step_is_opacus_sum_step_divided_by_the_batch_size() -> None:
    # a deliberate difference: Opacus with loss_reduction="sum" does not divide the noisy sum at
    # all; DPSGD takes the same step for a sum and a mean cost (the sum over samples divided by D)
    m, tm, theirs = _nets()
    lr, C, E = 0.5, 0.9, 4
    w0 = {k: p.data.copy() for k, p in m.named_parameters()}
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=E)
    gsm, topt = _dp_optimizer(tm, lr / E, C, 0.0, E, "sum")
    for idx, y in _batches([5, 3]):
        opt.zero_grad()
        nn.functional.cross_entropy(m(tl.Tensor(idx, batched=True)), y, reduction="sum").backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(gsm(torch.from_numpy(idx)), torch.from_numpy(y), reduction="sum").backward()
        topt.step()
    gsm._close()
    for k, p in m.named_parameters():
        upd, their_upd = p.data - w0[k], theirs[k].detach().numpy() - w0[k]
        _close(upd / np.abs(their_upd).max(), their_upd / np.abs(their_upd).max(), k, 1e-5)


def test_micro_batches_before_one_step_equal_opacus_accumulation() -> None:
    # Opacus keeps each micro-batch's grad_sample and divides by expected_batch_size times the
    # number of micro-batches; ours appends the rows and divides by expected_batch_size, the
    # logical batch's size
    m, tm, theirs = _nets()
    lr, C, E = 0.5, 0.9, 3
    w0 = {k: p.data.copy() for k, p in m.named_parameters()}
    opt = optim.DPSGD(m.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=0.0, expected_batch_size=2 * E)
    gsm, topt = _dp_optimizer(tm, lr, C, 0.0, E, "mean")
    for idx, y in _batches([4, 2]):
        nn.functional.cross_entropy(m(tl.Tensor(idx, batched=True)), y).backward()
        torch.nn.functional.cross_entropy(gsm(torch.from_numpy(idx)), torch.from_numpy(y)).backward()
    assert m.emb.weight.grad_sample.shape[0] == 6
    opt.step()
    topt.step()
    gsm._close()
    for k, p in m.named_parameters():
        upd, their_upd = p.data - w0[k], theirs[k].detach().numpy() - w0[k]
        _close(upd / np.abs(their_upd).max(), their_upd / np.abs(their_upd).max(), k, 1e-5)


def test_noise_matches_opacus_in_distribution() -> None:
    # the noise of one step: update minus the noise-free update, in units of sigma C lr / E, over
    # 20 steps of a 1230-parameter model from both libraries: N(0, 1) each, and alike
    stats = pytest.importorskip("scipy.stats")
    lr, C, sigma, E, draws = 0.3, 0.8, 1.3, 5, 20
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 40)), rng.standard_normal((4, 30))
    torch.manual_seed(0)
    tlin = tnn.Linear(40, 30).double()
    state = {k: v.detach().numpy().copy() for k, v in tlin.state_dict().items()}

    def ours(s: float, seed: int) -> np.ndarray:
        lin = nn.Linear(40, 30)
        lin.load_state_dict(state)
        opt = optim.DPSGD(lin.parameters(), lr=lr, max_grad_norm=C, noise_multiplier=s, expected_batch_size=E,
                          rng=seed)
        nn.mse_loss(lin(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True)).backward()
        opt.step()
        return np.concatenate([lin.weight.data.ravel(), lin.bias.data.ravel()])

    def theirs(s: float, seed: int) -> np.ndarray:
        tlin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        gsm, opt = _dp_optimizer(tlin, lr, C, s, E, "mean", seed)
        torch.nn.functional.mse_loss(gsm(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        opt.step()
        gsm._close()
        return np.concatenate([tlin.weight.detach().numpy().ravel(), tlin.bias.detach().numpy().ravel()])

    unit = sigma * C * lr / E
    a = np.concatenate([ours(sigma, k) - ours(0.0, 0) for k in range(draws)]) / unit
    b = np.concatenate([theirs(sigma, k) - theirs(0.0, 0) for k in range(draws)]) / unit
    n = a.size
    for z in (a, b):
        assert abs(z.mean()) < 5 / math.sqrt(n)
        assert abs(z.std() - 1) < 5 / math.sqrt(2 * n)
    assert stats.ks_2samp(a, b).pvalue > 1e-4


# ----------------------------------------------------------------------------- accounting


def _eps(kind: str, sigma: float, q: float, n: int, delta: float) -> float:
    acc = privacy.Accountant(kind)
    acc.step(sigma, q, n)
    return acc.get_epsilon(delta)


def _gaussian_epsilon(sigma: float, steps: int, delta: float) -> float:
    r"""The exact epsilon of ``steps`` full-batch Gaussian steps: their composition is one
    Gaussian mechanism with ``mu = sqrt(steps) / sigma``, whose
    ``delta(eps) = Phi(mu/2 - eps/mu) - e^eps Phi(-mu/2 - eps/mu)`` (Balle and Wang 2018)."""
    stats = pytest.importorskip("scipy.stats")
    from scipy.optimize import brentq
    mu = math.sqrt(steps) / sigma

    def excess(e: float) -> float:
        return stats.norm.cdf(mu / 2 - e / mu) - math.exp(e + stats.norm.logcdf(-mu / 2 - e / mu)) - delta

    return 0.0 if excess(0.0) <= 0 else brentq(excess, 0.0, mu * mu / 2 + 40 * mu + 10, xtol=1e-13, rtol=1e-13)


def _rdp_gaussian_epsilon(sigma: float, steps: int, delta: float) -> float:
    r"""RDP of ``steps`` full-batch Gaussian steps, ``rho(alpha) = steps alpha / (2 sigma^2)``,
    converted over the accountant's orders as its docstring says, never below 0."""
    a = np.array(privacy.RDP_ORDERS)
    eps = steps * a / (2 * sigma ** 2) + np.log((a - 1) / a) - (math.log(delta) + np.log(a)) / (a - 1)
    return max(0.0, float(eps.min()))


FULL_BATCH = [(1.0, 1, 1e-5), (1.0, 100, 1e-5), (5.0, 1000, 1e-5), (100.0, 1, 1e-5), (0.5, 10, 1e-12),
              (2.0, 1, 0.3)]


@pytest.mark.parametrize("sigma, steps, delta", FULL_BATCH)
def test_full_batch_epsilons_against_exact_gaussian_maths(sigma: float, steps: int, delta: float) -> None:
    exact = _gaussian_epsilon(sigma, steps, delta)
    pld, rdp = _eps("pld", sigma, 1.0, steps, delta), _eps("rdp", sigma, 1.0, steps, delta)
    assert exact <= pld <= exact * (1 + 1e-4) + 1e-6  # PLD: tight, rounding up only
    assert rdp == pytest.approx(_rdp_gaussian_epsilon(sigma, steps, delta), rel=1e-12, abs=1e-12)
    assert rdp >= exact
    their = opacus.accountants.RDPAccountant()
    their.history = [(sigma, 1.0, steps)]
    assert rdp == pytest.approx(max(0.0, their.get_epsilon(delta)), rel=1e-12, abs=1e-12)


def test_a_tiny_sample_rate_can_spend_nothing() -> None:
    # at epsilon 0 the privacy profile of one subsampled Gaussian step is exactly
    # q * TV(N(0, s^2), N(1, s^2)) = q (2 Phi(1 / (2 s)) - 1): delta above it is (0, delta)-DP,
    # below it no epsilon of 0 can be claimed. Opacus's RDP accountant claims more than needed.
    stats = pytest.importorskip("scipy.stats")
    sigma, q = 1.0, 1e-6
    floor = q * (2 * stats.norm.cdf(1 / (2 * sigma)) - 1)
    their = opacus.accountants.RDPAccountant()
    their.history = [(sigma, q, 1)]
    for kind in ("rdp", "pld"):
        assert _eps(kind, sigma, q, 1, 30 * floor) == 0.0
        assert _eps(kind, sigma, q, 1, floor / 3) > 0.0
        assert _eps(kind, sigma, q, 1, 30 * floor) <= their.get_epsilon(30 * floor)


# edges: one step, a tiny q over many steps, a huge number of steps, a tiny delta
EDGES = [(1.0, 0.01, 1, 1e-5), (0.5, 1e-4, 100_000, 1e-5), (1.0, 1e-3, 1_000_000, 1e-6), (1.0, 0.01, 1000, 1e-12),
         (0.7, 1e-3, 1, 1e-8)]


@pytest.mark.parametrize("sigma, q, n, delta", EDGES)
def test_rdp_edges_agree_with_opacus(sigma: float, q: float, n: int, delta: float) -> None:
    their = opacus.accountants.RDPAccountant()
    their.history = [(sigma, q, n)]
    expected = their.get_epsilon(delta)
    ours = _eps("rdp", sigma, q, n, delta)
    assert ours >= expected * (1 - 1e-9)
    assert ours == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("sigma, q, n, delta", [(1.0, 0.01, 1, 1e-5), (0.5, 1e-4, 100_000, 1e-5),
                                                (1.0, 0.01, 1000, 1e-12), (4.0, 1.0, 1000, 1e-5)])
def test_pld_edges_near_opacus_prv(sigma: float, q: float, n: int, delta: float) -> None:
    # two numerical upper bounds: Opacus's PRV one is tight to its eps_error of 0.01
    their = opacus.accountants.PRVAccountant()
    their.history = [(sigma, q, n)]
    assert _eps("pld", sigma, q, n, delta) == pytest.approx(their.get_epsilon(delta), abs=0.012, rel=1e-3)


def test_a_large_delta_gives_zero_where_opacus_gives_a_negative_epsilon() -> None:
    their = opacus.accountants.RDPAccountant()
    their.history = [(1.0, 0.01, 1000)]
    assert their.get_epsilon(0.5) < 0
    assert _eps("rdp", 1.0, 0.01, 1000, 0.5) == 0.0 == _eps("pld", 1.0, 0.01, 1000, 0.5)


@pytest.mark.parametrize("eps, delta, q, steps", [(1.0, 1e-5, 1.0, 1), (0.3, 1e-5, 1.0, 10), (20.0, 1e-5, 1.0, 5),
                                                  (2.0, 1e-6, 1e-3, 100_000), (0.5, 1e-10, 0.01, 1)])
def test_noise_multiplier_for_a_budget_equals_opacus(eps: float, delta: float, q: float, steps: int) -> None:
    from opacus.accountants.utils import get_noise_multiplier
    expected = get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=q, steps=steps)
    ours = privacy.get_noise_multiplier(eps, delta, q, steps=steps)
    # where the epsilons agree to ~1e-9 the bisections take the same turns
    assert ours == pytest.approx(expected, rel=1e-9)
    assert eps - 0.01 <= _eps("rdp", ours, q, steps, delta) <= eps


@pytest.mark.parametrize("eps, q, steps", [(0.1, 1.0, 10), (0.05, 0.01, 1000)])
def test_a_budget_below_the_rdp_floor_ends_the_search(monkeypatch: pytest.MonkeyPatch, eps: float, q: float,
                                                      steps: int) -> None:
    # over orders up to 63, RDP's epsilon never falls below log(1/delta) / 62 - ... ~ 0.103 at
    # delta 1e-5, until the RDP drops under delta^2, where dp-accounting's KL bound makes it 0:
    # epsilon(sigma) jumps from 0.103 to 0 over the window [eps - 0.01, eps]. Opacus (no such
    # bound) gives up; the search here must end too, at the jump: the smallest sigma in budget
    from opacus.accountants.utils import get_noise_multiplier
    if q == 1.0:
        with pytest.raises(ValueError):
            get_noise_multiplier(target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps)
    calls = []
    compose = privacy._compose

    def counted(*args: Any) -> Any:
        calls.append(1)
        if len(calls) > 500:
            raise RuntimeError("the noise search does not end")
        return compose(*args)

    monkeypatch.setattr(privacy, "_compose", counted)
    sigma = privacy.get_noise_multiplier(eps, 1e-5, q, steps=steps)
    assert _eps("rdp", sigma, q, steps, 1e-5) <= eps < _eps("rdp", sigma * (1 - 1e-9), q, steps, 1e-5)


@pytest.mark.parametrize("eps, q, steps", [(1.0, 0.01, 1000), (4.0, 1.0, 3)])
def test_pld_noise_multiplier_near_opacus_prv(eps: float, q: float, steps: int) -> None:
    from opacus.accountants.utils import get_noise_multiplier
    expected = get_noise_multiplier(target_epsilon=eps, target_delta=1e-5, sample_rate=q, steps=steps,
                                    accountant="prv")
    ours = privacy.get_noise_multiplier(eps, 1e-5, q, steps=steps, kind="pld")
    assert ours == pytest.approx(expected, rel=0.01)
    assert eps - 0.01 <= _eps("pld", ours, q, steps, 1e-5) <= eps


def test_pld_refuses_a_grid_too_large_for_memory_naming_the_fix() -> None:
    # sigma = 1e-3 would need a privacy-loss grid of ~5e9 points at the default spacing
    # (dp_accounting asks for 38 GiB and fails with MemoryError); a coarser grid, or RDP,
    # answers at once
    acc = privacy.Accountant("pld")
    acc.step(1e-3, 0.01)
    with pytest.raises(ValueError, match=r"noise_multiplier=0\.001.*kind='rdp'.*value_discretization_interval"):
        acc.get_epsilon(1e-5)
    assert acc.history == [(1e-3, 0.01, 1)]
    coarse = privacy.Accountant("pld", value_discretization_interval=2.0)
    coarse.load_state_dict({**acc.state_dict(), "value_discretization_interval": 2.0})
    # subsampling spends at most what the full batch does (plus one grid cell of rounding)
    assert 0 < coarse.get_epsilon(1e-5) <= _gaussian_epsilon(1e-3, 1, 1e-5) + 2.0
