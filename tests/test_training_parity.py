"""Whole training runs on real data sets, replayed step for step in torch.

The data are scikit-learn's bundled sets (digits 8x8, iris, wine, breast cancer, diabetes)
and the text in examples/data. Each model is built twice with the same code (``N`` is
``torch.nn`` or ``tl.nn``), torch's initial weights are copied into ours by name, and both
train for several epochs on the same shuffled mini-batches (our DataLoader's order). The
losses of every step and the final weights and buffers must agree: in float64 to 1e-10
relative, in float32 to what float32 rounding allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, optim
from tinygrad_lite.data import DataLoader

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

TEXT = Path(__file__).resolve().parents[1] / "examples" / "data" / "tiny_text.txt"
F64, F32 = np.float64, np.float32
# float64: 1e-10 relative; float32: a few hundred float32 roundings, relative to each tensor's scale
LOSS_RTOL = {F64: 1e-10, F32: 2e-5}
WEIGHT_RTOL = {F64: 1e-10, F32: 5e-5}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- data


def _standardise(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def digits(n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """The first n 8x8 digit images, pixels scaled to [0, 1], shape (n, 64); labels 0..9."""
    d = datasets.load_digits()
    return d.data[:n] / 16.0, d.target[:n]


def images() -> tuple[np.ndarray, np.ndarray]:
    X, y = digits()
    return X.reshape(-1, 1, 8, 8), y


def rows() -> tuple[np.ndarray, np.ndarray]:
    """Each digit as a sequence of its 8 rows (8 features each)."""
    X, y = digits()
    return X.reshape(-1, 8, 8), y


def tabular(name: str, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    d = getattr(datasets, f"load_{name}")()
    X, y = _standardise(d.data)[:n], d.target[:n]
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
    elif name == "breast_cancer":
        y = y.astype(np.float64)
    return X, y


def text_windows(T: int = 12) -> tuple[np.ndarray, np.ndarray, int]:
    """Next-character prediction on examples/data/tiny_text.txt: inputs (n, T) of character ids
    (0 is padding), targets the following characters; every fifth window ends in 3 padded
    positions whose targets are ignore_index -100."""
    text = TEXT.read_text()
    chars = sorted(set(text))
    ids = np.array([chars.index(c) + 1 for c in text])
    n = (len(ids) - 1) // T
    X = ids[: n * T].reshape(n, T).copy()
    Y = ids[1: n * T + 1].reshape(n, T).copy()
    X[::5, -3:] = 0
    Y[::5, -3:] = -100
    return X, Y, len(chars) + 1


# ----------------------------------------------------------------------------- the twin runs


def pair(build: Callable[[Any], Any], dtype: Any, seed: int = 0) -> tuple[Any, Any]:
    """(ours, torch's): the same architecture from ``build(N)``, ours loaded with torch's
    initial weights and buffers by name, both in ``dtype``."""
    torch.manual_seed(seed)
    tm = build(torch.nn).to(torch.float64 if dtype == F64 else torch.float32)
    m = build(nn)
    m = m.double() if dtype == F64 else m.float()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    return m, tm


def assert_same_weights(m: Any, tm: Any, dtype: Any, start: Optional[dict] = None) -> None:
    """Every parameter and buffer agrees with torch's to WEIGHT_RTOL of the tensor's largest
    entry; parameters keep ``dtype``; with ``start``, the run moved the weights."""
    ts = tm.state_dict()
    ours = m.state_dict()
    assert list(ours) == list(ts)
    for k, v in ours.items():
        t = ts[k].detach().numpy()
        if t.dtype.kind == "f":
            assert v.dtype == dtype, k
        scale = max(float(np.max(np.abs(t))), 1e-300) if t.size else 1.0
        np.testing.assert_allclose(v, t, rtol=0, atol=WEIGHT_RTOL[dtype] * scale, err_msg=k)
    if start is not None:
        moved = max(float(np.max(np.abs(ours[k] - start[k]))) for k, _ in m.named_parameters())
        assert moved > 1e-3, "the run did not train"


def twin_run(m: Any, tm: Any, opt: Any, topt: Any, X: np.ndarray, y: np.ndarray, dtype: Any, *,
             loss: Callable, epochs: int = 3, batch_size: int = 32, sched: Any = None, tsched: Any = None,
             sched_on: str = "epoch", clip: Optional[float] = None) -> tuple[np.ndarray, list]:
    """Train both models on the same mini-batches; ``loss(F, output, target)`` with F the
    functional module of either library. A scheduler steps per "batch", per "epoch", or on
    the whole-set loss ("plateau"). Returns our losses and the first group's lr of every epoch."""
    X = X.astype(dtype) if X.dtype.kind == "f" else X
    y = y.astype(dtype) if y.dtype.kind == "f" else y
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=True, seed=1)
    tF = torch.nn.functional
    losses, tlosses, lrs = [], [], []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        m.train()
        tm.train()
        for xb, yb in loader:
            opt.zero_grad()
            out = loss(nn.functional, m(xb), yb)
            out.backward()
            topt.zero_grad()
            tout = loss(tF, tm(torch.from_numpy(xb.data)), torch.from_numpy(yb.data))
            tout.backward()
            if clip is not None:
                norm = nn.utils.clip_grad_norm_(m.parameters(), clip)
                tnorm = torch.nn.utils.clip_grad_norm_(tm.parameters(), clip)
                assert norm == pytest.approx(tnorm.item(), rel=LOSS_RTOL[dtype])
            opt.step()
            topt.step()
            assert out.dtype == dtype
            losses.append(out.item())
            tlosses.append(tout.item())
            if sched_on == "batch" and sched is not None:
                sched.step()
                tsched.step()
        if sched_on == "epoch" and sched is not None:
            sched.step()
            tsched.step()
        if sched_on == "plateau":
            m.eval()
            tm.eval()
            with tl.no_grad():
                full = loss(nn.functional, m(Tensor(X)), y).item()
            with torch.no_grad():
                tfull = loss(tF, tm(torch.from_numpy(X)), torch.from_numpy(y)).item()
            assert full == pytest.approx(tfull, rel=LOSS_RTOL[dtype])
            sched.step(full)
            tsched.step(tfull)
        if sched is not None:
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
            assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups],
                                                                         rel=1e-12, abs=1e-15)
    losses, tlosses = np.array(losses), np.array(tlosses)
    np.testing.assert_allclose(losses, tlosses, rtol=LOSS_RTOL[dtype], atol=0)
    return losses, lrs + [opt.param_groups[0]["lr"]]


def mlp(sizes: tuple, act: str = "Tanh") -> Callable[[Any], Any]:
    def build(N: Any) -> Any:
        layers: list = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(N.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(getattr(N, act)())
        return N.Sequential(*layers)
    return build


def ce(F: Any, out: Any, target: Any) -> Any:
    return F.cross_entropy(out, target)


DTYPES = [pytest.param(F64, id="f64"), pytest.param(F32, id="f32")]

# ----------------------------------------------------------------------------- optimizers

OPTIMIZERS: dict[str, Callable[[Any, Any], Any]] = {
    "sgd": lambda o, ps: o.SGD(ps, lr=0.1),
    "sgd-momentum": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9),
    "sgd-nesterov-wd": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd-dampening-wd": lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9, dampening=0.5, weight_decay=1e-3),
    "adam": lambda o, ps: o.Adam(ps, lr=1e-2),
    "adam-amsgrad-wd": lambda o, ps: o.Adam(ps, lr=1e-2, betas=(0.8, 0.99), amsgrad=True, weight_decay=1e-2),
    "adamw": lambda o, ps: o.AdamW(ps, lr=1e-2),
    "adamw-amsgrad": lambda o, ps: o.AdamW(ps, lr=1e-2, amsgrad=True, weight_decay=0.1, eps=1e-6),
    "rmsprop": lambda o, ps: o.RMSprop(ps, lr=1e-3),
    "rmsprop-centered-momentum": lambda o, ps: o.RMSprop(ps, lr=1e-3, alpha=0.9, centered=True, momentum=0.9,
                                                         weight_decay=1e-3),
    "adagrad": lambda o, ps: o.Adagrad(ps, lr=0.05, lr_decay=1e-3, weight_decay=1e-3,
                                       initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_trains_an_mlp_on_digits_as_torch(name: str, dtype: Any) -> None:
    X, y = digits()
    m, tm = pair(mlp((64, 32, 10)), dtype)
    start = m.state_dict()
    make = OPTIMIZERS[name]
    losses, _ = twin_run(m, tm, make(optim, m.parameters()), make(torch.optim, tm.parameters()), X, y, dtype,
                         loss=ce, epochs=4)
    assert losses[-4:].mean() < losses[:4].mean()
    assert_same_weights(m, tm, dtype, start)


# ----------------------------------------------------------------------------- schedulers

E, NB = 6, 8  # epochs and batches per epoch (240 samples, batches of 30)
SCHEDULERS: dict[str, tuple[str, Callable[[Any, Any], Any], str]] = {
    "step": ("sgd", lambda s, o: s.StepLR(o, 2, 0.5), "epoch"),
    "multistep": ("sgd", lambda s, o: s.MultiStepLR(o, [1, 3], 0.3), "epoch"),
    "exponential": ("adam", lambda s, o: s.ExponentialLR(o, 0.8), "epoch"),
    "cosine": ("sgd", lambda s, o: s.CosineAnnealingLR(o, T_max=4, eta_min=1e-3), "epoch"),
    "cosine-per-batch": ("adam", lambda s, o: s.CosineAnnealingLR(o, T_max=E * NB), "batch"),
    "warm-restarts": ("sgd", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-4), "batch"),
    "cyclic-triangular2": ("sgd", lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="triangular2"), "batch"),
    "cyclic-exp-range": ("sgd", lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=6,
                                                        mode="exp_range", gamma=0.99), "batch"),
    "one-cycle-sgd": ("sgd", lambda s, o: s.OneCycleLR(o, max_lr=0.2, total_steps=E * NB), "batch"),
    "one-cycle-adam": ("adam", lambda s, o: s.OneCycleLR(o, max_lr=0.05, epochs=E, steps_per_epoch=NB,
                                                         anneal_strategy="linear", three_phase=True), "batch"),
    "one-cycle-adamw": ("adamw", lambda s, o: s.OneCycleLR(o, max_lr=0.05, total_steps=E * NB, pct_start=0.25),
                        "batch"),
    "plateau": ("sgd", lambda s, o: s.ReduceLROnPlateau(o, factor=0.5, patience=0, threshold=0.3), "plateau"),
    "plateau-abs-cooldown": ("adam", lambda s, o: s.ReduceLROnPlateau(o, factor=0.3, patience=1, threshold=0.5,
                                                                      threshold_mode="abs", cooldown=1,
                                                                      min_lr=1e-3), "plateau"),
    "linear": ("sgd", lambda s, o: s.LinearLR(o, start_factor=0.2, total_iters=10), "batch"),
    "constant": ("adam", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=3), "epoch"),
    "polynomial": ("sgd", lambda s, o: s.PolynomialLR(o, total_iters=30, power=2.0), "batch"),
    "lambda": ("sgd", lambda s, o: s.LambdaLR(o, lambda e: 0.9 ** e), "epoch"),
    "multiplicative": ("adam", lambda s, o: s.MultiplicativeLR(o, lambda e: 0.95), "batch"),
    "sequential": ("sgd", lambda s, o: s.SequentialLR(o, [s.LinearLR(o, 0.1, total_iters=8),
                                                          s.CosineAnnealingLR(o, T_max=40)], milestones=[8]),
                   "batch"),
    "chained": ("sgd", lambda s, o: s.ChainedScheduler([s.ConstantLR(o, 0.5, total_iters=10),
                                                        s.ExponentialLR(o, 0.97)]), "batch"),
}
_SCHED_OPTS = {"sgd": lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9), "adam": lambda o, ps: o.Adam(ps, lr=0.01),
               "adamw": lambda o, ps: o.AdamW(ps, lr=0.01)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_scheduler_in_a_training_loop_as_torch(name: str, dtype: Any) -> None:
    opt_name, make_sched, on = SCHEDULERS[name]
    X, y = digits()
    m, tm = pair(mlp((64, 32, 10)), dtype)
    opt, topt = _SCHED_OPTS[opt_name](optim, m.parameters()), _SCHED_OPTS[opt_name](torch.optim, tm.parameters())
    sched, tsched = make_sched(optim.lr_scheduler, opt), make_sched(torch.optim.lr_scheduler, topt)
    _, lrs = twin_run(m, tm, opt, topt, X, y, dtype, loss=ce, epochs=E, batch_size=30, sched=sched,
                      tsched=tsched, sched_on=on)
    assert len(set(lrs)) > 1, "the schedule never changed the learning rate"
    assert_same_weights(m, tm, dtype)


def test_warm_restarts_stepped_with_fractional_epochs_as_torch() -> None:
    """The documented per-batch use: ``scheduler.step(epoch + i / iters)``."""
    X, y = rows()

    def build(N: Any) -> Any:
        return N.Sequential(N.Flatten(), N.Linear(64, 16), N.GELU(), N.Linear(16, 10))

    m, tm = pair(build, F64)
    opt, topt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(tm.parameters(), lr=0.1,
                                                                                  momentum=0.9)
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=2, eta_min=1e-3)
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=1, T_mult=2, eta_min=1e-3)
    loader = DataLoader(X, y, batch_size=40, seed=3)
    for epoch in range(3):
        for i, (xb, yb) in enumerate(loader):
            for model, o, s, F, x, t in ((m, opt, sched, nn.functional, xb, yb),
                                         (tm, topt, tsched, torch.nn.functional, torch.from_numpy(xb.data),
                                          torch.from_numpy(yb.data))):
                o.zero_grad()
                F.cross_entropy(model(x), t).backward()
                o.step()
                s.step(epoch + (i + 1) / len(loader))
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13)
    assert_same_weights(m, tm, F64)


# ----------------------------------------------------------------------------- losses


def _const(F: Any, a: np.ndarray, like: Any) -> Any:
    """A constant (class weights, soft targets) in either library, in ``like``'s dtype."""
    if F is torch.nn.functional:
        return torch.tensor(a, dtype=like.dtype)
    return a.astype(like.dtype)


W10 = np.linspace(0.5, 2.0, 10)
W3 = np.array([1.0, 2.0, 0.5])
LOSSES: dict[str, tuple[str, tuple, Callable]] = {
    "ce-label-smoothing": ("digits", (64, 16, 10), lambda F, o, t: F.cross_entropy(o, t, label_smoothing=0.1)),
    "ce-weight": ("digits", (64, 16, 10), lambda F, o, t: F.cross_entropy(o, t, weight=_const(F, W10, o))),
    "ce-weight-label-smoothing": ("digits", (64, 16, 10), lambda F, o, t: F.cross_entropy(
        o, t, weight=_const(F, W10, o), label_smoothing=0.2)),
    "ce-sum": ("wine", (13, 16, 3), lambda F, o, t: F.cross_entropy(o, t, reduction="sum") / 10),
    "ce-probabilities": ("iris", (4, 16, 3), lambda F, o, t: F.cross_entropy(
        o, _const(F, np.eye(3)[np.asarray(t)] * 0.8 + 0.2 / 3, o))),
    "nll-weight": ("wine", (13, 16, 3), lambda F, o, t: F.nll_loss(F.log_softmax(o, dim=1), t,
                                                                   weight=_const(F, W3, o))),
    "bce-with-logits": ("breast_cancer", (30, 16, 1),
                        lambda F, o, t: F.binary_cross_entropy_with_logits(o[:, 0], t)),
    "bce-with-logits-pos-weight": ("breast_cancer", (30, 16, 1), lambda F, o, t: F.binary_cross_entropy_with_logits(
        o[:, 0], t, pos_weight=_const(F, np.array(0.7), o))),
    "bce-of-sigmoid": ("breast_cancer", (30, 16, 1),
                       lambda F, o, t: F.binary_cross_entropy(F.sigmoid(o[:, 0]), t)),
    "huber": ("diabetes", (10, 16, 1), lambda F, o, t: F.huber_loss(o[:, 0], t, delta=0.5)),
    "smooth-l1": ("diabetes", (10, 16, 1), lambda F, o, t: F.smooth_l1_loss(o[:, 0], t, beta=0.3)),
    "l1": ("diabetes", (10, 16, 1), lambda F, o, t: F.l1_loss(o[:, 0], t)),
    "mse": ("diabetes", (10, 16, 1), lambda F, o, t: F.mse_loss(o[:, 0], t)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_trains_as_torch(name: str, dtype: Any) -> None:
    data, sizes, loss = LOSSES[name]
    X, y = digits() if data == "digits" else tabular(data)
    m, tm = pair(mlp(sizes, act="ReLU"), dtype, seed=1)
    start = m.state_dict()
    if name == "l1" and dtype == F32:
        # L1's gradient is a sum of signs: a hidden unit's can be zero up to rounding, which Adam
        # divides by its own square root and turns into a full step of either sign, so float32
        # runs on two BLAS libraries part ways; SGD with momentum keeps rounding at its scale
        opt, topt = optim.SGD(m.parameters(), lr=0.05, momentum=0.9), torch.optim.SGD(tm.parameters(), lr=0.05,
                                                                                         momentum=0.9)
    else:
        opt, topt = optim.Adam(m.parameters(), lr=0.01), torch.optim.Adam(tm.parameters(), lr=0.01)
    twin_run(m, tm, opt, topt, X, y, dtype, loss=loss, epochs=4)
    assert_same_weights(m, tm, dtype, start)


# ----------------------------------------------------------------------------- models


def cnn(N: Any) -> Any:
    """Conv-BN-ReLU-pool twice on the 8x8 digits (no conv bias before a BatchNorm: its
    gradient is zero up to rounding, so Adam would amplify rounding noise in both
    libraries), then Dropout(0) and a Linear head."""
    return N.Sequential(N.Conv2d(1, 4, 3, padding=1, bias=False), N.BatchNorm2d(4), N.ReLU(), N.MaxPool2d(2),
                        N.Conv2d(4, 6, 3, padding=1, bias=False), N.BatchNorm2d(6, momentum=0.3), N.ReLU(),
                        N.MaxPool2d(2), N.Flatten(), N.Dropout(0.0), N.Linear(24, 10))


def cnn_norms(N: Any) -> Any:
    return N.Sequential(N.Conv2d(1, 4, 3), N.GroupNorm(2, 4), N.GELU(), N.AvgPool2d(2), N.Flatten(),
                        N.Linear(36, 16, bias=False), N.BatchNorm1d(16), N.SiLU(), N.Linear(16, 10))


def cnn_bn(**kw: Any) -> Callable[[Any], Any]:
    def build(N: Any) -> Any:
        return N.Sequential(N.Conv2d(1, 4, 3, bias=False), N.BatchNorm2d(4, **kw), N.ReLU(),
                            N.AdaptiveAvgPool2d(2), N.Flatten(), N.Linear(16, 10))
    return build


def conv1d_rows(N: Any) -> Any:
    return N.Sequential(N.Conv1d(8, 6, 3, padding=1), N.LayerNorm([6, 8]), N.ELU(), N.MaxPool1d(2), N.Flatten(),
                        N.Linear(24, 10))


def autoencoder(N: Any) -> Any:
    return N.Sequential(N.Conv2d(1, 4, 3, stride=2, padding=1), N.Tanh(),
                        N.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1), N.Sigmoid(),
                        N.Conv2d(4, 1, 1))


def recurrent(kind: str, **kw: Any) -> Callable[[Any], Any]:
    """A recurrent layer over the 8 rows of a digit; the head reads the last output."""
    def build(N: Any) -> Any:
        class Model(N.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = getattr(N, kind)(8, 12, batch_first=True, **kw)
                self.head = N.Linear(24 if kw.get("bidirectional") else 12, 10)

            def forward(self, x: Any) -> Any:
                out, _ = self.rnn(x)
                return self.head(out[:, -1])
        return Model()
    return build


def transformer(mask: Optional[str] = None, **kw: Any) -> Callable[[Any], Any]:
    """Rows of a digit as tokens: Linear embedding, a 2-layer TransformerEncoder (final
    LayerNorm), the last token's output to a Linear head. ``mask``: "padding" (rows whose
    first pixel is 0, except the last row, are padding) or "causal"."""
    def build(N: Any) -> Any:
        is_torch = N is torch.nn

        class Model(N.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = N.Linear(8, 16)
                layer = N.TransformerEncoderLayer(16, 4, dim_feedforward=24, dropout=0.0, batch_first=True, **kw)
                self.enc = N.TransformerEncoder(layer, 2, norm=N.LayerNorm(16), enable_nested_tensor=False)
                self.head = N.Linear(16, 10)

            def forward(self, x: Any) -> Any:
                pad = causal = None
                if mask == "padding":
                    pad = np.array(x.detach().numpy() if is_torch else x.data)[:, :, 0] == 0
                    pad[:, -1] = False
                    pad = torch.from_numpy(pad) if is_torch else pad
                if mask == "causal":
                    causal = np.triu(np.full((8, 8), -np.inf), 1)
                    causal = torch.from_numpy(causal).to(x.dtype) if is_torch else causal
                h = self.enc(self.emb(x), mask=causal, src_key_padding_mask=pad, is_causal=mask == "causal")
                return self.head(h[:, -1])
        return Model()
    return build


def char_model(kind: str, V: int) -> Callable[[Any], Any]:
    """Next-character model: Embedding (padding_idx 0) tied to the output Linear, a recurrent
    layer, logits laid out (N, V, T) as torch's cross_entropy takes them."""
    def build(N: Any) -> Any:
        class Model(N.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = N.Embedding(V, 16, padding_idx=0)
                self.rnn = getattr(N, kind)(16, 16, batch_first=True)
                self.out = N.Linear(16, V)
                self.out.weight = self.emb.weight

            def forward(self, x: Any) -> Any:
                h, _ = self.rnn(self.emb(x))
                return self.out(h).swapaxes(1, 2)
        return Model()
    return build


def _mse(F: Any, out: Any, target: Any) -> Any:
    return F.mse_loss(out, target)


def _text_ce(F: Any, out: Any, target: Any) -> Any:
    return F.cross_entropy(out, target, ignore_index=-100, label_smoothing=0.05)


MODELS: dict[str, tuple] = {  # name: (build, data, optimizer, loss, clip)
    "cnn-batchnorm-sgd-nesterov": (cnn, "images", lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
                                   ce, None),
    "cnn-batchnorm-adamw-clip": (cnn, "images", lambda o, ps: o.AdamW(ps, lr=0.01), ce, 0.5),
    "cnn-groupnorm-batchnorm1d-rmsprop": (cnn_norms, "images", lambda o, ps: o.RMSprop(ps, lr=0.003, centered=True),
                                          ce, None),
    "batchnorm-cumulative": (cnn_bn(momentum=None), "images", lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9), ce,
                             None),
    "batchnorm-not-affine": (cnn_bn(affine=False, eps=1e-3), "images",
                             lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9), ce, None),
    "batchnorm-no-running-stats": (cnn_bn(track_running_stats=False), "images",
                                   lambda o, ps: o.Adam(ps, lr=0.01), ce, None),
    "conv1d-layernorm": (conv1d_rows, "rows", lambda o, ps: o.Adam(ps, lr=0.01), ce, None),
    "conv-transpose-autoencoder": (autoencoder, "autoencode", lambda o, ps: o.RMSprop(ps, lr=0.01), _mse, None),
    "lstm-adam-clip": (recurrent("LSTM"), "rows", lambda o, ps: o.Adam(ps, lr=0.01), ce, 1.0),
    "lstm-2-layers-bidirectional": (recurrent("LSTM", num_layers=2, bidirectional=True), "rows",
                                    lambda o, ps: o.Adam(ps, lr=0.01), ce, None),
    "gru-sgd-clip": (recurrent("GRU"), "rows", lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9), ce, 1.0),
    "rnn-relu-2-layers-adagrad": (recurrent("RNN", nonlinearity="relu", num_layers=2), "rows",
                                  lambda o, ps: o.Adagrad(ps, lr=0.05), ce, 1.0),
    "transformer": (transformer(), "rows", lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9), ce, 1.0),
    "transformer-padding-mask": (transformer("padding"), "rows", lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9),
                                 ce, None),
    "transformer-causal-prenorm-gelu": (transformer("causal", norm_first=True, activation="gelu"), "rows",
                                        lambda o, ps: o.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), ce, 1.0),
    "text-gru-tied-embedding": ("GRU", "text", lambda o, ps: o.Adam(ps, lr=0.01), _text_ce, 1.0),
    "text-lstm-tied-embedding": ("LSTM", "text", lambda o, ps: o.Adam(ps, lr=0.01), _text_ce, 1.0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_trains_as_torch(name: str, dtype: Any) -> None:
    build, data, make_opt, loss, clip = MODELS[name]
    if data == "text":
        X, y, V = text_windows()
        build = char_model(build, V)
    elif data == "autoencode":
        X, _ = images()
        y = X
    else:
        X, y = images() if data == "images" else rows()
    m, tm = pair(build, dtype, seed=2)
    start = m.state_dict()
    twin_run(m, tm, make_opt(optim, m.parameters()), make_opt(torch.optim, tm.parameters()), X, y, dtype,
             loss=loss, epochs=3, clip=clip)
    assert_same_weights(m, tm, dtype, start)
    m.eval()
    tm.eval()
    Xe = X.astype(dtype) if X.dtype.kind == "f" else X
    with tl.no_grad():
        out = m(Tensor(Xe)).data
    with torch.no_grad():
        tout = tm(torch.from_numpy(Xe)).numpy()
    np.testing.assert_allclose(out, tout, rtol=0, atol=WEIGHT_RTOL[dtype] * np.abs(tout).max())


# ----------------------------------------------------------------------------- a fine-tuning loop


def _no_decay_groups(o: Any, named: list) -> Any:
    """AdamW with weight decay on the conv and linear weights only (BatchNorm and biases
    excluded, with their own lr), as torch users set it up."""
    decay = [p for n, p in named if n in ("0.weight", "6.weight")]
    rest = [p for n, p in named if n not in ("0.weight", "6.weight")]
    return o.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0, "lr": 0.02}],
                   lr=0.01, amsgrad=True)


@pytest.mark.parametrize("norm_type", [2.0, float("inf"), 1.0])
def test_a_fine_tuning_loop_with_every_switch_as_torch(norm_type: float) -> None:
    """Gradient accumulation over two micro-batches, parameter groups, the first conv frozen
    for epoch 0 (its grad stays None, so it is skipped and its Adam step count lags), BatchNorm
    and Dropout(0.5) in eval mode for epoch 2, clipping with every norm type, and
    ReduceLROnPlateau in "max" mode on the accuracy with per-group min_lr."""
    X, y = images()

    def build(N: Any) -> Any:
        return N.Sequential(N.Conv2d(1, 4, 3, bias=False), N.BatchNorm2d(4), N.ReLU(), N.MaxPool2d(2, 1),
                            N.Flatten(), N.Dropout(0.5), N.Linear(100, 10))

    m, tm = pair(build, F64, seed=3)
    opt, topt = _no_decay_groups(optim, list(m.named_parameters())), _no_decay_groups(torch.optim,
                                                                                      list(tm.named_parameters()))
    kw = dict(mode="max", factor=0.5, patience=0, threshold=0.5, min_lr=[0.004, 0.001])
    sched, tsched = optim.ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    loader = DataLoader(X, y, batch_size=20, seed=4)
    for epoch in range(4):
        for model in (m, tm):
            model[0].weight.requires_grad_(epoch != 0)
            model.train() if epoch != 2 else model.eval()
            model[5].p = 0.5 if epoch == 2 else 0.0
        for i, (xb, yb) in enumerate(loader):
            if i % 2 == 0:
                opt.zero_grad()
                topt.zero_grad()
            loss = nn.functional.cross_entropy(m(xb), yb) / 2
            loss.backward()
            tloss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(xb.data)), torch.from_numpy(yb.data)) / 2
            tloss.backward()
            assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
            if i % 2 == 1:
                norm = nn.utils.clip_grad_norm_(m.parameters(), 0.3, norm_type=norm_type)
                assert norm == pytest.approx(torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.3,
                                                                            norm_type=norm_type).item(), rel=1e-12)
                opt.step()
                topt.step()
        m.eval()
        tm.eval()
        with tl.no_grad():
            acc = float(np.mean(m(Tensor(X)).data.argmax(axis=1) == y))
        with torch.no_grad():
            assert acc == float(np.mean(tm(torch.from_numpy(X)).argmax(dim=1).numpy() == y))
        sched.step(acc)
        tsched.step(acc)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]
    assert [g["lr"] for g in opt.param_groups] == [0.004, 0.0025]  # the schedule acted, min_lr held
    steps = [opt.state[p]["step"] for p in m.parameters()]
    assert steps == [int(topt.state[p]["step"].item()) for p in tm.parameters()] and steps[0] < steps[1]
    assert_same_weights(m, tm, F64)


# ----------------------------------------------------------------------------- checkpoints mid-training

RESUME: dict[str, tuple] = {  # name: (optimizer, scheduler, "batch" or "plateau")
    "adam-one-cycle": (lambda o, ps: o.Adam(ps, lr=0.01), lambda s, o: s.OneCycleLR(o, 0.05, total_steps=32),
                       "batch"),
    "sgd-nesterov-warm-restarts": (lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                   lambda s, o: s.CosineAnnealingWarmRestarts(o, 3, 2), "batch"),
    "rmsprop-plateau": (lambda o, ps: o.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
                        lambda s, o: s.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=0.6), "plateau"),
    "adamw-amsgrad-sequential": (lambda o, ps: o.AdamW(ps, lr=0.01, amsgrad=True),
                                 lambda s, o: s.SequentialLR(o, [s.LinearLR(o, 0.1, total_iters=5),
                                                                 s.ExponentialLR(o, 0.95)], [5]), "batch"),
    "adagrad-chained": (lambda o, ps: o.Adagrad(ps, lr=0.05, lr_decay=0.01),
                        lambda s, o: s.ChainedScheduler([s.StepLR(o, 5, 0.5), s.MultiplicativeLR(o, lambda e: 0.99)]),
                        "batch"),
    "sgd-cyclic-momentum": (lambda o, ps: o.SGD(ps, lr=0.1, momentum=0.9),
                            lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3), "batch"),
}


class _Run:
    """One framework's side of a run: model, optimizer, scheduler, and a batch stream that
    goes on across epochs (stepping a plateau scheduler on the whole-set loss between them)."""

    def __init__(self, lib: Any, m: Any, make_opt: Callable, make_sched: Callable, on: str,
                 X: np.ndarray, y: np.ndarray) -> None:
        self.lib, self.m, self.on, self.X, self.y = lib, m, on, X, y
        self.opt = make_opt(lib.optim, m.parameters())
        self.sched = make_sched(lib.optim.lr_scheduler, self.opt)
        self.losses: list = []
        self.lrs: list = []

    def loss(self, x: np.ndarray, t: np.ndarray) -> Any:
        if self.lib is torch:
            return torch.nn.functional.cross_entropy(self.m(torch.from_numpy(x)), torch.from_numpy(t))
        return nn.functional.cross_entropy(self.m(Tensor(x, batched=True)), t)

    def epoch_end(self) -> None:
        if self.on == "plateau":
            self.m.eval()
            with (torch.no_grad() if self.lib is torch else tl.no_grad()):
                full = self.loss(self.X, self.y).item()
            self.m.train()
            self.sched.step(full)

    def step(self, x: np.ndarray, t: np.ndarray) -> None:
        self.opt.zero_grad()
        out = self.loss(x, t)
        out.backward()
        self.opt.step()
        self.losses.append(out.item())
        self.lrs.append(self.opt.param_groups[0]["lr"])
        if self.on == "batch":
            self.sched.step()


def _batches(run: _Run, loader: DataLoader, n: int) -> None:
    """n more steps over the loader's batches, starting a new epoch when one ends."""
    it = getattr(loader, "_open", None) or iter(loader)
    while n:
        try:
            xb, yb = next(it)
        except StopIteration:
            run.epoch_end()
            it = iter(loader)
            continue
        run.step(xb.data, yb.data)
        n -= 1
    loader._open = it


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(RESUME))
def test_resuming_from_a_checkpoint_mid_epoch_gives_the_uninterrupted_run(tmp_path: Any, name: str,
                                                                          dtype: Any) -> None:
    """32 steps in one go (also in torch, compared) equal 13 steps, tl.save of model,
    optimizer, scheduler and loader, tl.load into fresh objects, and 19 more steps: the same
    losses and bitwise the same weights."""
    make_opt, make_sched, on = RESUME[name]
    X, y = images()
    X = X.astype(dtype)

    def build(N: Any) -> Any:
        return N.Sequential(N.Conv2d(1, 4, 3, padding=1, bias=False), N.BatchNorm2d(4), N.ReLU(), N.MaxPool2d(2),
                            N.Flatten(), N.Linear(64, 10))

    m, tm = pair(build, dtype, seed=5)
    initial = m.state_dict()
    whole, twhole = _Run(tl, m, make_opt, make_sched, on, X, y), _Run(torch, tm, make_opt, make_sched, on, X, y)
    loader = DataLoader(X, y, batch_size=30, seed=6)
    it = iter(loader)
    for _ in range(4):
        for xb, yb in it:
            whole.step(xb.data, yb.data)
            twhole.step(xb.data, yb.data)
        whole.epoch_end()
        twhole.epoch_end()
        it = iter(loader)
    np.testing.assert_allclose(whole.losses, twhole.losses, rtol=LOSS_RTOL[dtype])
    assert_same_weights(m, tm, dtype, initial)
    assert len(whole.losses) == 32 and len(set(whole.lrs)) > 1 and whole.lrs == twhole.lrs

    def fresh(seed: int) -> tuple[_Run, DataLoader]:
        model = build(nn).to(dtype)
        model.load_state_dict(initial)
        return _Run(tl, model, make_opt, make_sched, on, X, y), DataLoader(X, y, batch_size=30, seed=seed)

    first, loader = fresh(6)
    _batches(first, loader, 13)
    path = tmp_path / "mid.npz"
    tl.save({"model": first.m.state_dict(), "optim": first.opt.state_dict(), "sched": first.sched.state_dict(),
             "loader": loader.state_dict(), "losses": first.losses}, path)
    second, loader = fresh(99)
    second.m[0].weight.data[...] = 0.0
    ckpt = tl.load(path)
    second.m.load_state_dict(ckpt["model"])
    second.opt.load_state_dict(ckpt["optim"])
    second.sched.load_state_dict(ckpt["sched"])
    loader.load_state_dict(ckpt["loader"])
    second.losses = list(ckpt["losses"])
    _batches(second, loader, 32 - 13)
    second.epoch_end()
    assert second.losses == whole.losses
    got, want = second.m.state_dict(), m.state_dict()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert second.opt.param_groups[0]["lr"] == whole.opt.param_groups[0]["lr"]


def _to_numpy(obj: Any) -> Any:
    """Every torch tensor in a nested state dict as a numpy array (0-d for a scalar)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy().copy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_numpy(v) for v in obj)
    return obj


def _to_torch(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, dict):
        return {k: (torch.tensor(float(v)) if k == "step" else _to_torch(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_torch(v) for v in obj]
    return obj


@pytest.mark.parametrize("name", ["sgd-nesterov-wd", "adam-amsgrad-wd", "adamw-amsgrad", "rmsprop-centered-momentum",
                                  "adagrad"])
def test_a_run_moves_between_the_libraries_mid_training(name: str) -> None:
    """Torch trains 8 steps; its model and optimizer state dicts (tensors as numpy arrays,
    the step counts as torch keeps them: float tensors) load into ours, which goes on for 8
    steps; our state dicts load back into torch for 8 more; the torch run that never moved
    ends with the same weights."""
    X, y = digits()
    make = OPTIMIZERS[name]
    m, tm = pair(mlp((64, 32, 10)), F64, seed=7)
    ref = mlp((64, 32, 10))(torch.nn).double()
    ref.load_state_dict(tm.state_dict())
    ropt, topt = make(torch.optim, ref.parameters()), make(torch.optim, tm.parameters())
    batches = [(xb.data, yb.data) for _ in range(3) for xb, yb in DataLoader(X, y, batch_size=30, seed=8)][:24]

    def torch_steps(model: Any, o: Any, part: list) -> None:
        for xb, yb in part:
            o.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
            o.step()

    torch_steps(ref, ropt, batches)
    torch_steps(tm, topt, batches[:8])
    m.load_state_dict(_to_numpy(tm.state_dict()))
    opt = make(optim, m.parameters())
    opt.load_state_dict(_to_numpy(topt.state_dict()))
    for xb, yb in batches[8:16]:
        opt.zero_grad()
        nn.functional.cross_entropy(m(Tensor(xb, batched=True)), yb).backward()
        opt.step()
    tm.load_state_dict(_to_torch(m.state_dict()))
    topt.load_state_dict(_to_torch(opt.state_dict()))
    torch_steps(tm, topt, batches[16:])
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(tm.state_dict()[k].numpy(), v.numpy(), rtol=0, atol=1e-10 * v.abs().max().item(),
                                   err_msg=k)


def test_an_adamw_state_loads_into_adam_and_the_reverse_as_torch() -> None:
    """torch keeps ``decoupled_weight_decay`` in each Adam/AdamW group: Adam takes a loaded
    group's flag (and decays as AdamW there), AdamW sets it in every group. Both continue as
    torch's after the same load."""
    for ours, theirs in ((optim.Adam, torch.optim.AdamW), (optim.AdamW, torch.optim.Adam)):
        tp = torch.ones(3, dtype=torch.float64, requires_grad=True)
        topt = theirs([tp], lr=0.1, weight_decay=0.1)
        (tp * tp).sum().backward()
        topt.step()
        saved = _to_numpy(topt.state_dict())
        tq = tp.detach().clone().requires_grad_(True)
        tnew = {optim.Adam: torch.optim.Adam, optim.AdamW: torch.optim.AdamW}[ours]([tq], lr=0.2)
        tnew.load_state_dict(topt.state_dict())
        p = Tensor(tp.detach().numpy().copy(), requires_grad=True)
        opt = ours([p], lr=0.2)
        opt.load_state_dict(saved)
        assert opt.param_groups[0]["decoupled_weight_decay"] == tnew.param_groups[0]["decoupled_weight_decay"]
        for _ in range(3):
            tnew.zero_grad()
            (tq * tq * tq).sum().backward()
            tnew.step()
            opt.zero_grad()
            (p * p * p).sum().backward()
            opt.step()
        np.testing.assert_allclose(p.data, tq.detach().numpy(), rtol=1e-13)


def test_torchs_two_dim_transpose_on_a_3d_output_swaps_as_torch() -> None:
    """torch's ``logits.transpose(1, 2)`` (to put classes on axis 1 for cross_entropy) is no
    permutation in numpy's meaning, so it is torch's swap of two dims, equal to ``swapaxes``."""
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(a).transpose(1, 2).data, torch.from_numpy(a).transpose(1, 2).numpy())
    np.testing.assert_array_equal(Tensor(a).swapaxes(1, 2).data, torch.from_numpy(a).transpose(1, 2).numpy())
    assert Tensor(a).transpose(0, 2, 1).shape == (2, 4, 3)


def test_adam_with_one_group_decoupled_matches_torch() -> None:
    def run(lib):
        if lib is torch:
            a = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
            b = torch.nn.Parameter(torch.tensor([3.0, -1.0], dtype=torch.float64))
        else:
            a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, -1.0], requires_grad=True)
        opt = lib.optim.Adam([{"params": [a], "decoupled_weight_decay": True}, {"params": [b]}], lr=0.1,
                             weight_decay=0.1)
        for i in range(5):
            for q in (a, b):
                q.grad = torch.full((2,), i + 1.0, dtype=torch.float64) if lib is torch else np.full(2, i + 1.0)
            opt.step()
        return [np.asarray(q.detach().numpy() if lib is torch else q.data) for q in (a, b)]

    import tinygrad_lite as tl
    for x, y in zip(run(tl), run(torch)):
        np.testing.assert_allclose(x, y, rtol=1e-14)
