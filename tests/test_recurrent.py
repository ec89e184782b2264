"""Recurrent layers: RNN, LSTM, GRU and their cells against torch (outputs, final states and
every gradient, in float64), torch's names and shapes so weights load by name, per-sample
gradients from ``output`` equal to running each sample alone, the mixing error for losses
built from ``h_n`` / ``c_n``, the errors for a batched input with ``batch_first=False`` and
for wrong shapes, dropout between layers, and a few Adam steps matching torch."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pytest
from conftest import close as _close
from conftest import load_torch_state as _load

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F


def _pair(torch: Any, cls: str, *args: Any, **kw: Any) -> tuple:
    """A torch layer in float64 and this project's layer of the same shape, loaded from it."""
    tm = getattr(torch.nn, cls)(*args, **kw).double()
    m = getattr(nn, cls)(*args, **kw)
    assert list(m.state_dict()) == list(tm.state_dict())
    _load(m, tm)
    return m, tm


# (class, constructor keywords, input shape, whether to give initial states)
CASES = [
    ("RNN", {}, (5, 2, 3), False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, (5, 2, 3), True),
    ("RNN", {"bidirectional": True, "batch_first": True}, (2, 5, 3), False),
    ("RNN", {"bidirectional": True, "num_layers": 2}, (4, 3), True),
    ("LSTM", {}, (5, 2, 3), False),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, (5, 2, 3), True),
    ("LSTM", {"batch_first": True, "num_layers": 2}, (2, 5, 3), True),
    ("LSTM", {"bias": False, "bidirectional": True}, (4, 3), False),
    ("LSTM", {"num_layers": 2}, (4, 3), True),
    ("GRU", {}, (5, 2, 3), True),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}, (2, 5, 3), True),
    ("GRU", {"bias": False}, (2, 5, 3), False),
    ("GRU", {"bidirectional": True}, (4, 3), True),
]


@pytest.mark.parametrize("cls,kw,shape,given", CASES)
def test_outputs_states_and_every_gradient_match_torch(torch: Any, cls: str, kw: dict, shape: tuple,
                                                        given: bool) -> None:
    m, tm = _pair(torch, cls, 3, 4, **kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1)
    N = None if len(shape) == 2 else shape[0 if kw.get("batch_first") else 1]
    sshape = (D * L, 4) if N is None else (D * L, N, 4)
    states = [rng.standard_normal(sshape) for _ in range(2 if cls == "LSTM" else 1)] if given else []
    xs, ss = tl.Tensor(x, requires_grad=True), [tl.Tensor(s, requires_grad=True) for s in states]
    txs, tss = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True) for s in states]
    if cls == "LSTM":
        out, (h, c) = m(xs, tuple(ss) if given else None)
        tout, (th, tc) = tm(txs, tuple(tss) if given else None)
        ends, tends = [h, c], [th, tc]
    else:
        out, h = m(xs, ss[0] if given else None)
        tout, th = tm(txs, tss[0] if given else None)
        ends, tends = [h], [th]
    _close(out.data, tout.detach().numpy(), "output")
    assert out.shape == tuple(tout.shape) and out.shape[-1] == D * 4
    for e, te in zip(ends, tends):
        assert e.shape == tuple(te.shape) == sshape
        _close(e.data, te.detach().numpy(), "h_n / c_n")
    wo = rng.standard_normal(out.shape)
    we = [rng.standard_normal(sshape) for _ in ends]
    loss = (out * wo).sum() + sum(((e * e) * w).sum() for e, w in zip(ends, we))
    tloss = (tout * torch.tensor(wo)).sum() + sum(((e * e) * torch.tensor(w)).sum() for e, w in zip(tends, we))
    loss.backward()
    tloss.backward()
    _close(loss.item(), tloss.item(), "loss")
    _close_grads(m, tm, xs, txs, ss, tss)


def _close_grads(m: Any, tm: Any, xs: Any, txs: Any, ss: list, tss: list) -> None:
    """Every parameter's, the input's and the given states' gradients equal torch's."""
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        _close(p.grad, tparams[name].grad.numpy(), f"grad of {name}")
    _close(xs.grad, txs.grad.numpy(), "grad of the input")
    for s, ts in zip(ss, tss):
        _close(s.grad, ts.grad.numpy(), "grad of an initial state")


@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
                                    ("GRUCell", {}), ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched,given", [(True, False), (True, True), (False, True), (False, False)])
def test_cells_match_torch(torch: Any, cls: str, kw: dict, batched: bool, given: bool) -> None:
    m, tm = _pair(torch, cls, 3, 4, **kw)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3) if batched else (3,))
    sshape = (2, 4) if batched else (4,)
    states = [rng.standard_normal(sshape) for _ in range(2 if cls == "LSTMCell" else 1)] if given else []
    xs, ss = tl.Tensor(x, requires_grad=True), [tl.Tensor(s, requires_grad=True) for s in states]
    txs, tss = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True) for s in states]
    hx = (tuple(ss) if cls == "LSTMCell" else ss[0]) if given else None
    thx = (tuple(tss) if cls == "LSTMCell" else tss[0]) if given else None
    outs, touts = m(xs, hx), tm(txs, thx)
    outs, touts = (outs, touts) if cls == "LSTMCell" else ((outs,), (touts,))
    loss, tloss = 0.0, 0.0
    for o, to in zip(outs, touts):
        assert o.shape == tuple(to.shape) == sshape
        _close(o.data, to.detach().numpy(), "cell output")
        w = rng.standard_normal(sshape)
        loss, tloss = loss + (o * o * w).sum(), tloss + (to * to * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    _close_grads(m, tm, xs, txs, ss, tss)


def test_torch_weights_load_by_name_with_torch_shapes_and_init_range(torch: Any) -> None:
    tm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True).double()
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True, rng=0)
    mine, theirs = m.state_dict(), tm.state_dict()
    assert list(mine) == list(theirs)
    assert list(mine)[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]
    for k in theirs:
        assert mine[k].shape == tuple(theirs[k].shape), k
        assert np.all(np.abs(mine[k]) <= 1 / np.sqrt(5)) and np.std(mine[k]) > 0.1, k
    assert mine["weight_ih_l1"].shape == (20, 10) and mine["weight_hh_l1_reverse"].shape == (20, 5)
    assert nn.GRU(3, 5).weight_ih_l0.shape == (15, 3) and nn.RNN(3, 5).weight_hh_l0.shape == (5, 5)
    _load(m, tm)
    x = np.random.default_rng(2).standard_normal((6, 2, 3))
    _close(m(x)[0].data, tm(torch.tensor(x))[0].detach().numpy())


# ------------------------------------------------------------------ per-sample ---------------
class Classifier(nn.Module):
    """A recurrent layer read at its last step, then a Linear head."""

    def __init__(self, cls: str, **kw: Any) -> None:
        self.rnn = getattr(nn, cls)(3, 4, batch_first=True, rng=0, **kw)
        D = 2 if kw.get("bidirectional") else 1
        self.head = nn.Linear(D * 4, 3, rng=1)

    def forward(self, x: Any, hx: Any = None) -> tl.Tensor:
        out, _ = self.rnn(x, hx)
        return self.head(out[:, -1])


def _xent(out: tl.Tensor, b: Optional[int]) -> tl.Tensor:
    y = np.arange(out.shape[0]) % 3 if b is None else np.array([b % 3])
    return F.cross_entropy(out, y)


_Y = np.random.default_rng(3).standard_normal((5, 3))


def _mse(out: tl.Tensor, b: Optional[int]) -> tl.Tensor:
    return F.mse_loss(out, _Y[: out.shape[0]] if b is None else _Y[b:b + 1])


def _check_per_sample(model: nn.Module, x: np.ndarray, cost: Callable, hx_all: Any = None,
                      hx_one: Callable = lambda b: None) -> None:
    ref: dict = {name: [] for name, _ in model.named_parameters()}
    for b in range(len(x)):
        model.zero_grad()
        cost(model(tl.Tensor(x[b:b + 1]), hx_one(b)), b).backward()
        for name, p in model.named_parameters():
            ref[name].append(p.grad.copy())
    model.zero_grad()
    cost(model(tl.Tensor(x, batched=True), hx_all), None).backward()
    for name, p in model.named_parameters():
        want = np.stack(ref[name])
        _close(p.grad_sample, want, f"grad_sample of {name}")
        _close(p.grad, want.mean(axis=0), f"grad of {name}")
        _close(p.grad_sample_norm, np.sqrt((want.reshape(len(x), -1) ** 2).sum(axis=1)), f"norms of {name}")


@pytest.mark.parametrize("cls,kw,cost", [
    ("RNN", {}, _xent),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, _mse),
    ("LSTM", {}, _mse),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, _xent),
    ("GRU", {}, _xent),
    ("GRU", {"num_layers": 2, "bidirectional": True}, _mse),
])
def test_grad_sample_from_output_equals_each_sample_alone(cls: str, kw: dict, cost: Callable) -> None:
    x = np.random.default_rng(4).standard_normal((5, 6, 3))
    _check_per_sample(Classifier(cls, **kw), x, cost)


def test_given_initial_states_keep_per_sample_gradients() -> None:
    """A batched h_0 is (B, D*num_layers, H) (sample axis first); an unbatched one has torch's
    layout (D*num_layers, N, H) and gives sample b its column b."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 4, 3))
    h0, c0 = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    model = Classifier("LSTM", num_layers=2)

    def one(b: int) -> tuple:
        return h0[:, b:b + 1], c0[:, b:b + 1]

    _check_per_sample(model, x, _xent, (tl.Tensor(h0), tl.Tensor(c0)), one)
    batched = (tl.Tensor(h0.transpose(1, 0, 2), batched=True), tl.Tensor(c0.transpose(1, 0, 2), batched=True))
    _check_per_sample(model, x, _xent, batched, one)
    gru = Classifier("GRU", bidirectional=True)
    g0 = rng.standard_normal((2, 5, 4))
    _check_per_sample(gru, x, _mse, tl.Tensor(g0), lambda b: g0[:, b:b + 1])


def test_cells_keep_per_sample_gradients_over_a_loop() -> None:
    class Loop(nn.Module):
        def __init__(self) -> None:
            self.cell1, self.cell2 = nn.LSTMCell(3, 4, rng=0), nn.GRUCell(4, 4, rng=1)
            self.cell3 = nn.RNNCell(4, 3, nonlinearity="relu", rng=2)

        def forward(self, x: Any, hx: Any = None) -> tl.Tensor:
            state, g = None, None
            for t in range(x.shape[1]):
                state = self.cell1(x[:, t], state)
                g = self.cell2(state[0], g)
            return self.cell3(g)

    x = np.random.default_rng(6).standard_normal((4, 5, 3))
    _check_per_sample(Loop(), x, _xent)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_a_loss_from_h_n_raises_the_mixing_error_and_keeps_grad(cls: str) -> None:
    x = np.random.default_rng(7).standard_normal((4, 5, 3))
    m = getattr(nn, cls)(3, 4, num_layers=2, batch_first=True, rng=0)

    def loss(inp: tl.Tensor, which: int) -> tl.Tensor:
        _, ends = m(inp)
        e = ends[which] if cls == "LSTM" else ends
        return (e[-1] ** 2).sum(axis=1).mean()

    for which in ((0, 1) if cls == "LSTM" else (0,)):
        m.zero_grad()
        loss(tl.Tensor(x), which).backward()
        want = {name: p.grad.copy() for name, p in m.named_parameters()}
        m.zero_grad()
        loss(tl.Tensor(x, batched=True), which).backward()
        for name, p in m.named_parameters():
            _close(p.grad, want[name], f"grad of {name}")
        for attr in ("grad_sample", "grad_sample_norm"):
            with pytest.raises(RuntimeError, match=rf"'{cls}\(3, 4\)' returns h_n/c_n .*sample axis second.*"
                                                   r"output\[:, -1\] with batch_first=True"):
                getattr(m.weight_hh_l0, attr)


def test_the_mixing_error_names_the_layer_inside_a_model() -> None:
    model = Classifier("LSTM")
    xs = np.random.default_rng(7).standard_normal((4, 5, 3))

    def cost(x: tl.Tensor) -> tl.Tensor:
        out, (h_n, _) = model.rnn(x)
        return F.cross_entropy(model.head(out[:, -1] + h_n[0]), np.arange(4) % 3)

    cost(tl.Tensor(xs)).backward()
    want = model.head.weight.grad.copy()
    model.zero_grad()
    x = tl.Tensor(xs, batched=True)
    cost(x).backward()
    _close(model.head.weight.grad, want, "grad")
    with pytest.raises(RuntimeError, match=r"'LSTM\(3, 4\)' returns h_n/c_n"):
        _ = model.head.weight.grad_sample
    model.zero_grad()

    class FromHn(Classifier):
        def forward(self, x: Any, hx: Any = None) -> tl.Tensor:
            _, h = self.rnn(x)
            return self.head(h[-1])

    w = nn.Sequential(nn.Identity(), nn.Sequential(FromHn("GRU")))
    F.cross_entropy(w(x), np.arange(4) % 3).backward()
    with pytest.raises(RuntimeError, match=r"'GRU\(3, 4\)' \(module '1.0.rnn'\) returns h_n/c_n"):
        _ = w[1][0].rnn.bias_hh_l0.grad_sample


def test_the_output_of_a_mixing_graph_keeps_its_first_reason() -> None:
    x = tl.Tensor(np.random.default_rng(8).standard_normal((4, 5, 3)), batched=True)
    m = nn.GRU(3, 4, batch_first=True, rng=0)
    out, h_n = m(x - x.mean(axis=0))
    ((out[:, -1] ** 2).sum(axis=1).mean() + (h_n ** 2).sum()).backward()
    with pytest.raises(RuntimeError, match="sub"):
        _ = m.weight_ih_l0.grad_sample


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_batched_input_needs_batch_first(cls: str) -> None:
    m = getattr(nn, cls)(3, 4)
    x = tl.Tensor(np.zeros((2, 5, 3)), batched=True)
    with pytest.raises(ValueError, match=rf"{cls}\(3, 4\): a batched input .*\(B, T, 3\) with batch_first=True; "
                                         r"got shape \(2, 5, 3\) with batch_first=False"):
        m(x)
    with pytest.raises(ValueError, match=r"batched input .*batch_first=True"):
        getattr(nn, cls)(3, 4, batch_first=True)(tl.Tensor(np.zeros((5, 3)), batched=True))


@pytest.mark.parametrize("call,err,match", [
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 7))), ValueError, r"LSTM\(3, 4\): input must have 3 features .*\(5, 2, 7\)"),
    (lambda: nn.GRU(3, 4)(np.zeros((5, 3, 2, 3))), ValueError, r"GRU\(3, 4\): input must be .*\(5, 3, 2, 3\)"),
    (lambda: nn.RNN(3, 4)(np.zeros((0, 2, 3))), ValueError, r"RNN\(3, 4\): the sequence length must be at least 1"),
    (lambda: nn.RNN(3, 4, num_layers=2)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), ValueError,
     r"RNN\(3, 4\): h_0 must have shape \(2, 2, 4\) .*got \(1, 2, 4\)"),
    (lambda: nn.GRU(3, 4, bidirectional=True)(np.zeros((5, 3)), np.zeros((1, 4))), ValueError,
     r"GRU\(3, 4\): h_0 must have shape \(2, 4\) .*got \(1, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 3, 4)))), ValueError,
     r"LSTM\(3, 4\): c_0 must have shape \(1, 2, 4\) .*got \(1, 3, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), TypeError,
     r"LSTM\(3, 4\): hx must be a tuple \(h_0, c_0\)"),
    (lambda: nn.LSTM(3, 4, batch_first=True)(tl.Tensor(np.zeros((2, 5, 3)), batched=True),
                                             (tl.Tensor(np.zeros((1, 2, 4)), batched=True),) * 2), ValueError,
     r"LSTM\(3, 4\): h_0 must have shape \(2, 1, 4\) \(batched: \(B, D\*num_layers, H\)\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), None)), ValueError,
     r"LSTM\(3, 4\): give both of \(h_0, c_0\), or neither"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 3)), [np.zeros((2, 4))]), TypeError,
     r"LSTMCell\(3, 4\): hx must be a tuple \(h, c\)"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 5))), ValueError, r"LSTMCell\(3, 4\): input must have shape \(N, 3\)"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 3)), np.zeros((3, 4))), ValueError,
     r"GRUCell\(3, 4\): hx must have shape \(2, 4\) .*got \(3, 4\)"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, r"RNN: nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, r"LSTM: proj_size \(4\) must be smaller than hidden_size"),
    (lambda: nn.GRU(3, 0), ValueError, r"GRU: hidden_size must be >= 1"),
    (lambda: nn.RNN(3, 4, dropout=1.5), ValueError, r"RNN: dropout must be a probability"),
])
def test_clear_errors_name_the_layer_and_the_shapes(call: Callable, err: type, match: str) -> None:
    with pytest.raises(err, match=match):
        call()


def test_dropout_between_layers_in_training_mode_only(torch: Any) -> None:
    m, tm = _pair(torch, "GRU", 3, 4, num_layers=3, dropout=0.5)
    x = np.random.default_rng(9).standard_normal((6, 2, 3))
    tm.eval()
    m.eval()
    _close(m(x)[0].data, tm(torch.tensor(x))[0].detach().numpy(), "eval mode: no dropout")
    m.train()
    tl.manual_seed(11)
    a = m(x)[0].data
    tl.manual_seed(11)
    b = m(x)[0].data
    assert np.array_equal(a, b)  # the library's generator governs the masks
    assert not np.allclose(a, tm(torch.tensor(x))[0].detach().numpy())
    one = nn.GRU(3, 4, dropout=0.5)  # a single layer has no layer after it to drop into
    _load(one, torch.nn.GRU(3, 4).double())
    _close(one(x)[0].data, one.eval()(x)[0].data, "one layer: dropout does nothing")


def test_a_few_adam_steps_match_torch(torch: Any) -> None:
    tm = torch.nn.ModuleDict({"rnn": torch.nn.LSTM(3, 5, num_layers=2, batch_first=True),
                              "head": torch.nn.Linear(5, 2)}).double()
    m = Classifier("LSTM", num_layers=2)
    m.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True, rng=0)
    m.head = nn.Linear(5, 2, rng=1)
    _load(m, tm)
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((8, 6, 3)), rng.standard_normal((8, 2))
    opt = tl.optim.Adam(m.parameters(), lr=0.01)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = F.mse_loss(m(tl.Tensor(x, batched=True)), y)
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.mse_loss(tm["head"](tm["rnn"](torch.tensor(x))[0][:, -1]), torch.tensor(y))
        tloss.backward()
        topt.step()
        _close(loss.item(), tloss.item(), "loss")
        losses.append(loss.item())
        for name, p in m.named_parameters():
            _close(p.data, tm.state_dict()[name].numpy(), f"{name} after a step")
        assert m.rnn.weight_ih_l1.grad_sample.shape == (8, 20, 5)
    assert losses[-1] < losses[0]


def test_repr_and_torch_spellings() -> None:
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    assert repr(m) == "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == "RNNCell(2, 3, nonlinearity='relu')"
    m.flatten_parameters()  # a no-op kept for torch code
    assert len(m.parameters()) == 16
    out, (h, c) = m(np.ones((2, 5, 3)))
    assert out.shape == (2, 5, 8) and h.shape == c.shape == (4, 2, 4)
