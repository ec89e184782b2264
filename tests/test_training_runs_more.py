"""More whole training runs on scikit-learn's bundled data sets, as a PyTorch user writes them.

Each run is ONE function ``run(L, nn, F, optim, data)`` that receives either
``torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data`` or the same names
of tinygrad_lite, so the very same source trains on both libraries. ``twin(model)`` right
after building a model records torch's initial ``state_dict()`` and loads it into ours, so
both start from the same weights; batches come in a fixed order. Everything is float64;
every step's loss, each value a run reports and the final weights and buffers must agree to
1e-10 relative (of each tensor's largest entry).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")

RTOL = 1e-10
_STARTS: list[dict] = []


@pytest.fixture(autouse=True)
def _float64_torch() -> Any:
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


def twin(model: Any) -> Any:
    """Torch's run records ``model``'s initial state; ours loads the records in order."""
    if isinstance(model, torch.nn.Module):
        _STARTS.append({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    else:
        model.load_state_dict(_STARTS.pop(0))
    return model


def _numpy(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    if isinstance(v, tl.Tensor):
        return v.numpy()
    return np.asarray(v)


def _assert_same(got: Any, want: Any, what: str) -> None:
    """Nested dicts / lists of numbers, arrays, tensors and modules agree to RTOL of each
    tensor's largest entry (modules: their whole state_dict, names and order included)."""
    if isinstance(want, torch.nn.Module):
        assert isinstance(got, tl.nn.Module), what
        want, got = want.state_dict(), got.state_dict()
    if isinstance(want, dict):
        assert list(got) == list(want), what
        for k in want:
            _assert_same(got[k], want[k], f"{what}.{k}")
        return
    if isinstance(want, (list, tuple)):
        assert len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{what}[{i}]")
        return
    g, w = _numpy(got), _numpy(want)
    assert g.shape == w.shape, what
    if what.endswith(".step") and w.ndim == 0:  # torch keeps an optimizer's step count as a float tensor
        assert float(g) == float(w), what
    elif w.dtype.kind == "f":
        assert g.dtype == w.dtype, what
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        np.testing.assert_allclose(g, w, rtol=0, atol=RTOL * max(scale, 1e-300), err_msg=what)
    else:
        np.testing.assert_array_equal(g, w, err_msg=what)


def run_both(script: Callable) -> dict:
    """Run ``script`` on torch, then on ours; everything it returns must agree."""
    _STARTS.clear()
    torch.manual_seed(0)
    want = script(torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data)
    got = script(tl, tl.nn, tl.nn.functional, tl.optim, tl.utils.data)
    assert not _STARTS, "the runs built different numbers of models"
    _assert_same(got, want, script.__name__)
    losses = np.asarray(want["losses"], dtype=float)
    assert np.all(np.isfinite(losses)) and losses.size >= 4
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), "the run did not train"
    return want


def _std(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


def load(name: str, n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """A bundled data set: digits as pixels in [0, 1]; tabular sets standardised (the
    diabetes target too); breast_cancer's target as float."""
    d = getattr(datasets, f"load_{name}")()
    if name == "digits":
        return d.data[:n] / 16.0, d.target[:n]
    perm = np.random.default_rng(0).permutation(len(d.data))[:n]
    X, y = _std(d.data)[perm], d.target[perm]
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
    elif name == "breast_cancer":
        y = y.astype(np.float64)
    return X, y


# ======================================================================== the runs


def cnn_on_digits(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Conv2d with padding="same" and reflect padding, grouped conv, BatchNorm2d, MaxPool2d and
    AvgPool2d with ceil_mode, Hardswish, CrossEntropyLoss with class weights and label
    smoothing, SGD with momentum + StepLR; train, then eval under no_grad every epoch."""
    X, y = load("digits", 200)
    X = L.from_numpy(X.reshape(-1, 1, 8, 8))
    y = L.from_numpy(y)
    loader = data.DataLoader(data.TensorDataset(X[:160], y[:160]), batch_size=32, shuffle=False)
    model = twin(nn.Sequential(
        nn.Conv2d(1, 6, 3, padding="same", padding_mode="reflect", bias=False), nn.BatchNorm2d(6), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Conv2d(6, 8, 2, groups=2, bias=False),
        nn.BatchNorm2d(8, momentum=0.2), nn.Hardswish(), nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(),
        nn.Dropout(0.0), nn.Linear(32, 10)))
    criterion = nn.CrossEntropyLoss(weight=L.from_numpy(np.linspace(0.5, 2.0, 10)), label_smoothing=0.1)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses, val = [], []
    for _ in range(4):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        with L.no_grad():
            out = model(X[160:])
            val.append([criterion(out, y[160:]).item(), (out.argmax(dim=1) == y[160:]).sum().item()])
    return {"losses": losses, "val": val, "model": model, "lr": scheduler.get_last_lr()}


def mlp_on_wine(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """LayerNorm / GELU / SiLU / Mish, AdamW with two parameter groups (no weight decay on biases
    and norms), CosineAnnealingWarmRestarts stepped with fractional epochs."""
    X, y = load("wine", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(13, 32), nn.LayerNorm(32), nn.GELU(approximate="tanh"), nn.Linear(32, 16),
                               nn.SiLU(), nn.Linear(16, 16), nn.Mish(), nn.Linear(16, 3)))
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                            lr=0.01, betas=(0.85, 0.98))
    scheduler = optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=1e-4)
    losses, lrs = [], []
    iters = 5
    for epoch in range(5):
        for i in range(iters):
            xb, yb = X[i * 32:(i + 1) * 32], y[i * 32:(i + 1) * 32]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step(epoch + i / iters)
            losses.append(loss.item())
            lrs.append([g["lr"] for g in optimizer.param_groups])
    return {"losses": losses, "lrs": lrs, "model": model, "state": optimizer.state_dict()["state"]}


def one_cycle_on_iris(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Adam + OneCycleLR (three phases, cycling beta1), NLLLoss on LogSoftmax, Tanh MLP."""
    X, y = load("iris", 150)
    loader = data.DataLoader(data.TensorDataset(L.from_numpy(X), L.from_numpy(y)), batch_size=25)
    model = twin(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3), nn.LogSoftmax(dim=1)))
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, epochs=4, steps_per_epoch=len(loader),
                                              three_phase=True, base_momentum=0.8, max_momentum=0.95)
    losses, moms = [], []
    for _ in range(4):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            moms.append(optimizer.param_groups[0]["betas"][0])
    return {"losses": losses, "moms": moms, "model": model, "lr": scheduler.get_last_lr()}


def huber_on_diabetes(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Regression: HuberLoss, SGD with Nesterov momentum and weight decay, gradient accumulation
    over 2 micro-batches, clip_grad_value_, ReduceLROnPlateau on a held-out loss."""
    X, y = load("diabetes", 240)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(10, 24), nn.ELU(), nn.Linear(24, 1)))
    criterion = nn.HuberLoss(delta=0.5)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0, threshold=1e-2)
    losses, val = [], []
    for _ in range(6):
        model.train()
        optimizer.zero_grad(set_to_none=False)
        for i in range(12):
            out = model(X[i * 16:(i + 1) * 16]).squeeze(1)
            loss = criterion(out, y[i * 16:(i + 1) * 16]) / 2
            loss.backward()
            losses.append(loss.item())
            if i % 2 == 1:
                nn.utils.clip_grad_value_(model.parameters(), clip_value=0.2)
                optimizer.step()
                optimizer.zero_grad(set_to_none=False)
        model.eval()
        with L.no_grad():
            v = criterion(model(X[192:]).view(-1), y[192:]).item()
        scheduler.step(v)
        val.append([v, optimizer.param_groups[0]["lr"]])
    return {"losses": losses, "val": val, "model": model}


def bce_on_breast_cancer(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """BCEWithLogitsLoss with pos_weight, BatchNorm1d, the first layer frozen for an epoch and
    then handed to the optimizer with add_param_group, clip_grad_norm_ with the inf norm."""
    X, y = load("breast_cancer", 240)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(30, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1)))
    criterion = nn.BCEWithLogitsLoss(pos_weight=L.tensor([0.6]))
    for p in model[0].parameters():
        p.requires_grad_(False)
    optimizer = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    losses, acc, norms = [], [], []
    for epoch in range(4):
        if epoch == 1:
            for p in model[0].parameters():
                p.requires_grad_(True)
            optimizer.add_param_group({"params": list(model[0].parameters()), "lr": 0.003})
        model.train()
        for i in range(0, 200, 40):
            optimizer.zero_grad()
            loss = criterion(model(X[i:i + 40]), y[i:i + 40].unsqueeze(1))
            loss.backward()
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=float("inf"))))
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with L.no_grad():
            pred = (model(X[200:]).squeeze(-1) > 0).float()
            acc.append((pred == y[200:]).float().mean().item())
    return {"losses": losses, "acc": acc, "norms": norms, "model": model}


def cells_over_rows(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A GRUCell then an LSTMCell stepped by hand over a digit's 8 rows, RMSprop, clipping."""
    X, y = load("digits", 160)
    X, y = L.from_numpy(X.reshape(-1, 8, 8)), L.from_numpy(y)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRUCell(8, 12)
            self.lstm = nn.LSTMCell(12, 10, bias=False)
            self.head = nn.Linear(10, 10)

        def forward(self, x: Any) -> Any:
            h = L.zeros(x.shape[0], 12)
            hc = None
            for t in range(x.shape[1]):
                h = self.gru(x[:, t], h)
                hc = self.lstm(h, hc)
            return self.head(hc[0])

    model = twin(Model())
    optimizer = optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
    losses, norms = [], []
    for _ in range(3):
        for i in range(0, 160, 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
            loss.backward()
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "norms": norms, "model": model}


def embedding_bags(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Each digit as a bag of its lit pixels (token: position, weight: intensity): an
    EmbeddingBag with offsets and per_sample_weights ("sum"), a second one in "mean" mode over
    fixed-size bags of row intensities, then a Linear head; Adagrad."""
    X, y = load("digits", 160)
    levels = (X * 16).astype(np.int64)
    model = twin(nn.ModuleDict({"pix": nn.EmbeddingBag(64, 12, mode="sum"),
                                "row": nn.EmbeddingBag(17 * 8, 12, mode="mean"),
                                "head": nn.Linear(24, 10)}))
    optimizer = optim.Adagrad(model.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        for i in range(0, 160, 32):
            lv = levels[i:i + 32]
            toks = [np.flatnonzero(r) for r in lv]
            flat = L.from_numpy(np.concatenate(toks))
            offsets = L.from_numpy(np.cumsum([0] + [len(t) for t in toks[:-1]]))
            weights = L.from_numpy(np.concatenate([r[t] / 16.0 for r, t in zip(lv, toks)]))
            rows = L.from_numpy(lv.reshape(-1, 8, 8).max(axis=2) + 17 * np.arange(8))
            h = L.cat([model["pix"](flat, offsets, per_sample_weights=weights), model["row"](rows)], dim=1)
            optimizer.zero_grad()
            loss = F.cross_entropy(model["head"](F.relu(h)), L.from_numpy(y[i:i + 32]))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def resume(stop_at: int | None) -> Callable:
    """A run that, at step ``stop_at``, saves model, optimizer and scheduler, builds fresh ones
    and loads them back (None: never stops)."""
    def resumed_run(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
        import io
        X, y = load("digits", 192)
        X, y = L.from_numpy(X), L.from_numpy(y)
        perm = np.random.default_rng(5).permutation(192)

        def build() -> tuple:
            model = nn.Sequential(nn.Linear(64, 24, bias=False), nn.BatchNorm1d(24), nn.GELU(), nn.Dropout(0.0),
                                  nn.Linear(24, 10))
            opt = optim.AdamW(model.parameters(), lr=0.01, amsgrad=True, weight_decay=0.02)
            sched = optim.lr_scheduler.SequentialLR(opt, [optim.lr_scheduler.LinearLR(opt, 0.2, total_iters=4),
                                                          optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)],
                                                    milestones=[4])
            return model, opt, sched

        model, optimizer, scheduler = build()
        twin(model)
        losses, step = [], 0
        for _ in range(3):
            model.train()
            for i in range(0, 192, 32):
                idx = L.from_numpy(perm[i:i + 32])
                optimizer.zero_grad()
                loss = F.cross_entropy(model(X[idx]), y[idx], label_smoothing=0.05)
                loss.backward()
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                step += 1
                if step == stop_at:
                    buf = io.BytesIO()
                    L.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict()}, buf)
                    buf.seek(0)
                    ckpt = L.load(buf)
                    model, optimizer, scheduler = build()
                    model.load_state_dict(ckpt["model"])
                    optimizer.load_state_dict(ckpt["optimizer"])
                    scheduler.load_state_dict(ckpt["scheduler"])
                    model.train()
        model.eval()
        with L.no_grad():
            out = model(X)
        return {"losses": losses, "model": model, "out": out, "lr": scheduler.get_last_lr(),
                "state": optimizer.state_dict()["state"]}
    resumed_run.__name__ = f"resumed_at_{stop_at}"
    return resumed_run


def ema_and_swa(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """An EMA copy (AveragedModel with get_ema_multi_avg_fn, buffers averaged too) and an SWA
    copy updated from epoch 2 with SWALR, update_bn over a loader, both evaluated."""
    from_utils = optim.swa_utils
    X, y = load("digits", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=40)
    model = twin(nn.Sequential(nn.Linear(64, 20, bias=False), nn.BatchNorm1d(20), nn.Tanh(), nn.Linear(20, 10)))
    ema = from_utils.AveragedModel(model, multi_avg_fn=from_utils.get_ema_multi_avg_fn(0.8), use_buffers=True)
    swa = from_utils.AveragedModel(model)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_sched = from_utils.SWALR(optimizer, swa_lr=0.02, anneal_epochs=2, anneal_strategy="cos")
    losses, lrs = [], []
    for epoch in range(4):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            ema.update_parameters(model)
            losses.append(loss.item())
        if epoch >= 1:
            swa.update_parameters(model)
            swa_sched.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    from_utils.update_bn(((xb,) for xb, _ in loader), swa)
    ema.eval()
    swa.eval()
    with L.no_grad():
        outs = [ema(X), swa(X)]
    return {"losses": losses, "lrs": lrs, "ema": ema.module, "swa": swa.module, "outs": outs,
            "n": [int(ema.n_averaged), int(swa.n_averaged)]}


def distillation(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A teacher trained first, then a student on CE + KL(teacher || student) at temperature
    2, the teacher in eval mode under no_grad."""
    X, y = load("digits", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    teacher = twin(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)))
    student = twin(nn.Sequential(nn.Linear(64, 8), nn.Softplus(beta=2.0), nn.Linear(8, 10)))
    opt = optim.Adam(teacher.parameters(), lr=0.01)
    losses = []
    for i in range(0, 160, 20):
        opt.zero_grad()
        loss = F.cross_entropy(teacher(X[i:i + 20]), y[i:i + 20])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    teacher.eval()
    opt = optim.NAdam(student.parameters(), lr=0.01)
    kl = nn.KLDivLoss(reduction="batchmean")
    T = 2.0
    for _ in range(2):
        for i in range(0, 160, 20):
            xb = X[i:i + 20]
            with L.no_grad():
                soft = F.softmax(teacher(xb) / T, dim=-1)
            out = student(xb)
            loss = 0.5 * F.cross_entropy(out, y[i:i + 20]) + 0.5 * T * T * kl(F.log_softmax(out / T, dim=-1), soft)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return {"losses": losses, "teacher": teacher, "student": student}


def lbfgs_on_iris(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Full-batch L-BFGS with the strong Wolfe line search and a closure."""
    X, y = load("iris", 150)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)))
    optimizer = optim.LBFGS(model.parameters(), lr=1, max_iter=5, history_size=4, line_search_fn="strong_wolfe")
    losses = []

    def closure() -> Any:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y) + 1e-3 * sum((p ** 2).sum() for p in model.parameters())
        loss.backward()
        return loss

    for _ in range(5):
        losses.append(optimizer.step(closure).item())
    return {"losses": losses, "model": model}


def conv1d_rows(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Conv1d over rows with circular padding and dilation, InstanceNorm1d(affine), PReLU,
    AdaptiveMaxPool1d, full batch Rprop."""
    X, y = load("digits", 120)
    X, y = L.from_numpy(X.reshape(-1, 8, 8)), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Conv1d(8, 6, 3, padding=2, dilation=2, padding_mode="circular",
                                         bias=False),
                               nn.InstanceNorm1d(6, affine=True), nn.PReLU(6), nn.AdaptiveMaxPool1d(3),
                               nn.Flatten(), nn.Linear(18, 10)))
    optimizer = optim.Rprop(model.parameters(), lr=0.01)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "model": model}


def unpool_autoencoder(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """MaxPool2d(return_indices) / MaxUnpool2d, bilinear Upsample, MSELoss, Adam + ExponentialLR."""
    X, _ = load("digits", 128)
    X = L.from_numpy(X.reshape(-1, 1, 8, 8))

    class AE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Conv2d(1, 4, 3, padding=1)
            self.pool = nn.MaxPool2d(2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2)
            self.mid = nn.Conv2d(4, 4, 3, stride=2, padding=1)
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.dec = nn.Conv2d(8, 1, 3, padding=1)

        def forward(self, x: Any) -> Any:
            h = F.leaky_relu(self.enc(x), 0.1)
            p, idx = self.pool(h)
            a = self.unpool(p, idx, output_size=h.size())
            b = F.interpolate(self.up(L.tanh(self.mid(h))), size=(8, 8), mode="nearest")
            return L.sigmoid(self.dec(L.cat([a, b], dim=1)))

    model = twin(AE())
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
    criterion = nn.MSELoss()
    losses = []
    for _ in range(3):
        for i in range(0, 128, 32):
            optimizer.zero_grad()
            loss = criterion(model(X[i:i + 32]), X[i:i + 32])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return {"losses": losses, "model": model}


def pixel_segmentation(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Per-pixel classes (dark / mid / bright) of each digit from its blurred image: a fully
    convolutional net, CrossEntropyLoss over (N, C, H, W) logits with class weights, label
    smoothing and an ignored border, replicate padding, GroupNorm, Dropout2d in eval mode."""
    X, _ = load("digits", 96)
    img = X.reshape(-1, 1, 8, 8)
    target = np.digitize(img[:, 0], [0.3, 0.7]).astype(np.int64)
    target[:, 0, :] = -1
    model = twin(nn.Sequential(nn.Conv2d(1, 6, 3, padding=1, padding_mode="replicate"), nn.GroupNorm(3, 6),
                               nn.ReLU(), nn.Dropout2d(0.3), nn.Conv2d(6, 3, 1)))
    model.eval()
    criterion = nn.CrossEntropyLoss(weight=L.tensor([0.5, 2.0, 1.0]), ignore_index=-1, label_smoothing=0.1)
    noisy = L.from_numpy(np.clip(img + 0.2 * np.roll(img, 1, axis=3), 0, 1))
    target = L.from_numpy(target)
    optimizer = optim.SGD(model.parameters(), lr=0.2, momentum=0.8, dampening=0.1)
    losses = []
    for _ in range(3):
        for i in range(0, 96, 24):
            optimizer.zero_grad()
            loss = criterion(model(noisy[i:i + 24]), target[i:i + 24])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def gaussian_nll_on_diabetes(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A mean and a variance head (Softplus) trained with GaussianNLLLoss, PoissonNLLLoss on a
    count made from the target, and a MarginRankingLoss on pairs; Adamax + PolynomialLR."""
    X, y = load("diabetes", 200)
    counts = L.from_numpy(np.round(np.exp(0.5 * y)))
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(10, 16), nn.SELU(), nn.Linear(16, 3)))
    gnll = nn.GaussianNLLLoss(eps=1e-4)
    pnll = nn.PoissonNLLLoss(log_input=True, full=True)
    rank = nn.MarginRankingLoss(margin=0.1)
    optimizer = optim.Adamax(model.parameters(), lr=0.02, weight_decay=1e-3)
    scheduler = optim.lr_scheduler.PolynomialLR(optimizer, total_iters=8, power=1.5)
    losses = []
    for _ in range(3):
        for i in range(0, 200, 40):
            out = model(X[i:i + 40])
            mu, var = out[:, 0], F.softplus(out[:, 1]) + 1e-3
            sign = L.sign(y[i:i + 40] - y[i:i + 40].flip(0))
            loss = (gnll(mu, y[i:i + 40], var) + 0.3 * pnll(out[:, 2], counts[i:i + 40])
                    + rank(mu, mu.flip(0), sign))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model, "lr": scheduler.get_last_lr()}


def margins_on_wine(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """MultiMarginLoss (p=2, class weights), MultiLabelSoftMarginLoss on one-hot targets and a
    TripletMarginLoss on embeddings; Bilinear layer, ASGD."""
    X, y = load("wine", 144)
    X, y = L.from_numpy(X), L.from_numpy(y)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(13, 8)
            self.b = nn.Linear(13, 6)
            self.bil = nn.Bilinear(8, 6, 5)
            self.head = nn.Linear(5, 3)

        def forward(self, x: Any) -> tuple:
            e = self.bil(L.tanh(self.a(x)), L.tanh(self.b(x)))
            return e, self.head(e)

    model = twin(Net())
    mm = nn.MultiMarginLoss(p=2, margin=0.5, weight=L.tensor([1.0, 0.5, 2.0]))
    ml = nn.MultiLabelSoftMarginLoss()
    tri = nn.TripletMarginLoss(margin=0.5, p=2, swap=True)
    optimizer = optim.ASGD(model.parameters(), lr=0.05, t0=5, lambd=1e-3)
    losses = []
    for _ in range(3):
        for i in range(0, 144, 36):
            xb, yb = X[i:i + 36], y[i:i + 36]
            e, out = model(xb)
            order = L.from_numpy(np.argsort(yb.numpy(), kind="stable"))
            es = e[order]
            loss = mm(out, yb) + ml(out, F.one_hot(yb, 3).to(out.dtype)) + tri(es[:-2], es[1:-1], es[2:].flip(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model, "state": optimizer.state_dict()["state"]}


def packed_gru(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Variable-length sequences (a digit's rows up to its last lit row), padded and packed
    unsorted, a bidirectional 2-layer GRU with an initial state, LSTM with proj_size."""
    X, y = load("digits", 120)
    rows = X.reshape(-1, 8, 8)
    lengths = np.array([max(1, 8 - int(np.argmax(r[::-1].sum(axis=1) > 0.5))) for r in rows])
    lengths[::3] = np.maximum(1, lengths[::3] - 3)
    rnn = nn.utils.rnn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(8, 10, num_layers=2, bidirectional=True, batch_first=True)
            self.lstm = nn.LSTM(20, 8, proj_size=4, batch_first=True)
            self.h0 = nn.Parameter(L.zeros(4, 1, 10) + 0.1)
            self.head = nn.Linear(4, 10)

        def forward(self, x: Any, n: Any) -> Any:
            packed = rnn.pack_padded_sequence(x, n, batch_first=True, enforce_sorted=False)
            out, _ = self.gru(packed, self.h0.expand(4, x.shape[0], 10).contiguous())
            _, (h, _) = self.lstm(out)
            return self.head(h[-1])

    model = twin(Net())
    optimizer = optim.Adam(model.parameters(), lr=0.02, amsgrad=True)
    losses = []
    for _ in range(2):
        for i in range(0, 120, 30):
            xb, n = L.from_numpy(rows[i:i + 30]), L.from_numpy(lengths[i:i + 30])
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb, n), L.from_numpy(y[i:i + 30]))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def weight_norm_mlp(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """weight_norm parametrizations (g and v trained) in an MLP on iris, CyclicLR
    ("triangular2", cycling the momentum too), zero_grad keeping zeros."""
    X, y = load("iris", 150)
    X, y = L.from_numpy(X), L.from_numpy(y)
    P = nn.utils.parametrizations
    model = nn.Sequential(P.weight_norm(nn.Linear(4, 12)), nn.Softsign(), P.weight_norm(nn.Linear(12, 3), dim=None))
    twin(model)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    scheduler = optim.lr_scheduler.CyclicLR(optimizer, base_lr=0.02, max_lr=0.2, step_size_up=3, mode="triangular2")
    losses = []
    for _ in range(3):
        for i in range(0, 150, 30):
            optimizer.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(X[i:i + 30]), y[i:i + 30])
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model, "w": model[0].weight, "lr": scheduler.get_last_lr()}


def spatial_transformer(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """affine_grid + grid_sample (bilinear, border padding), unfold patches, PixelShuffle."""
    X, y = load("digits", 96)
    X, y = L.from_numpy(X.reshape(-1, 1, 8, 8)), L.from_numpy(y)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.loc = nn.Linear(64, 6)
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.shuffle = nn.PixelShuffle(2)
            self.head = nn.Linear(36, 10)

        def forward(self, x: Any) -> Any:
            theta = self.loc(x.flatten(1)).view(-1, 2, 3) * 0.1 + L.tensor([[1.0, 0, 0], [0, 1.0, 0]])
            grid = F.affine_grid(theta, list(x.size()), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
            x = self.shuffle(L.relu(self.conv(x)))
            patches = F.unfold(F.avg_pool2d(x, 4), kernel_size=2)
            return self.head(patches.flatten(1))

    model = twin(Net())
    optimizer = optim.RAdam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(2):
        for i in range(0, 96, 24):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i:i + 24]), y[i:i + 24])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def reduction_none_masked(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Per-sample losses (reduction="none") weighted by a mask and a per-sample weight,
    BCELoss with element weights, plateau in "max" mode on accuracy with cooldown."""
    X, y = load("breast_cancer", 200)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(30, 12), nn.Hardtanh(-2, 2), nn.Linear(12, 1), nn.Sigmoid()))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0, cooldown=1,
                                                     threshold=0.5)
    w = L.from_numpy(np.linspace(0.5, 1.5, 200))
    losses, lrs = [], []
    for _ in range(5):
        for i in range(0, 160, 40):
            p = model(X[i:i + 40]).squeeze(1)
            per = F.binary_cross_entropy(p, y[i:i + 40], reduction="none") * w[i:i + 40]
            mask = (y[i:i + 40] > 0.5) | (p.detach() > 0.3)
            loss = (per * mask).sum() / mask.sum().clamp(min=1)
            bce = nn.BCELoss(weight=w[i:i + 40])(p, y[i:i + 40])
            optimizer.zero_grad()
            (loss + 0.1 * bce).backward()
            optimizer.step()
            losses.append(loss.item())
        with L.no_grad():
            acc = ((model(X[160:]).squeeze(1) > 0.5).float() == y[160:]).float().mean()
        scheduler.step(acc)
        lrs.append(optimizer.param_groups[0]["lr"])
    return {"losses": losses, "model": model, "lrs": lrs}


def sparse_embeddings(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Pixel-level tokens through an Embedding trained by SparseAdam (sparse gradients in torch;
    ours are dense, and SparseAdam updates the rows they touch), and one with max_norm trained
    by Adam: two optimizers on one model."""
    X, y = load("digits", 128)
    tok = L.from_numpy((X * 16).astype(np.int64)[:, ::2] + 17 * (np.arange(32) % 4))
    y = L.from_numpy(y)
    model = twin(nn.ModuleDict({"sp": nn.Embedding(68, 6, sparse=L is torch), "mx": nn.Embedding(68, 6, max_norm=1.0),
                                "head": nn.Linear(12, 10)}))
    sparse = optim.SparseAdam(list(model["sp"].parameters()), lr=0.02)
    dense = optim.Adam(list(model["mx"].parameters()) + list(model["head"].parameters()), lr=0.02)
    losses = []
    for _ in range(3):
        for i in range(0, 128, 32):
            h = L.cat([model["sp"](tok[i:i + 32]).mean(1), model["mx"](tok[i:i + 32]).mean(1)], dim=1)
            loss = F.cross_entropy(model["head"](h), y[i:i + 32])
            sparse.zero_grad()
            dense.zero_grad()
            loss.backward()
            sparse.step()
            dense.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def attention_options(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Rows of a digit attend to a summary of its columns: MultiheadAttention with kdim/vdim,
    add_bias_kv and add_zero_attn, a key padding mask; then a TransformerDecoderLayer."""
    X, y = load("digits", 96)
    rows = X.reshape(-1, 8, 8)
    cols = np.concatenate([rows.transpose(0, 2, 1), rows.mean(axis=2, keepdims=True).repeat(8, 2)], axis=2)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q = nn.Linear(8, 12)
            self.att = nn.MultiheadAttention(12, 3, kdim=16, vdim=16, add_bias_kv=True, add_zero_attn=True,
                                             batch_first=True)
            self.dec = nn.TransformerDecoderLayer(12, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
            self.head = nn.Linear(12, 10)

        def forward(self, r: Any, c: Any, pad: Any) -> Any:
            q = self.q(r)
            a, w = self.att(q, c, c, key_padding_mask=pad)
            h = self.dec(a, q, tgt_is_causal=False)
            return self.head(h.mean(1)), w

    model = twin(Net())
    optimizer = optim.AdamW(model.parameters(), lr=0.01)
    losses, ws = [], []
    for _ in range(2):
        for i in range(0, 96, 24):
            pad = L.from_numpy(rows[i:i + 24].sum(axis=1) == 0)
            out, w = model(L.from_numpy(rows[i:i + 24]), L.from_numpy(cols[i:i + 24]), pad)
            loss = F.cross_entropy(out, L.from_numpy(y[i:i + 24]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            ws.append(w.detach())
    return {"losses": losses, "model": model, "w": ws[-1]}


def ctc_on_rows(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """CTC: a GRU reads a digit's 8 rows and must emit the digit's label (1 + class) once."""
    X, y = load("digits", 96)
    rows = L.from_numpy(X.reshape(-1, 8, 8))
    model = twin(nn.ModuleDict({"rnn": nn.GRU(8, 16), "out": nn.Linear(16, 11)}))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(3):
        for i in range(0, 96, 24):
            h, _ = model["rnn"](rows[i:i + 24].transpose(0, 1))
            logp = F.log_softmax(model["out"](h), dim=2)
            targets = L.from_numpy(np.stack([y[i:i + 24] + 1, (y[i:i + 24] + 3) % 10 + 1], 1))
            loss = ctc(logp, targets, L.full((24,), 8, dtype=L.long), L.from_numpy(1 + (y[i:i + 24] % 2)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def prototypes_on_iris(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A prototype network: class prototypes as parameters, logits = -cdist to them; a
    cosine classifier head on F.normalize; a symmetric matrix by register_parametrization."""
    X, y = load("iris", 150)
    X, y = L.from_numpy(X), L.from_numpy(y)

    class Symmetric(nn.Module):
        def forward(self, w: Any) -> Any:
            return w.triu() + w.triu(1).t()

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Linear(4, 6)
            self.mix = nn.Linear(6, 6, bias=False)
            self.protos = nn.Parameter(L.linspace(-1, 1, 18).reshape(3, 6))
            self.cos = nn.Linear(6, 3, bias=False)

        def forward(self, x: Any) -> Any:
            e = self.mix(L.tanh(self.enc(x)))
            d = -L.cdist(e, self.protos) ** 2
            c = F.normalize(e, dim=1) @ F.normalize(self.cos.weight, dim=1).t()
            return d + 5.0 * c

    model = Net()
    nn.utils.parametrize.register_parametrization(model.mix, "weight", Symmetric())
    twin(model)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(3):
        for i in range(0, 150, 30):
            loss = F.cross_entropy(model(X[i:i + 30]), y[i:i + 30])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model, "mix": model.mix.weight}


def scheduler_resumes(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Schedulers rebuilt mid-run from their state_dict (and an optimizer from its own):
    ReduceLROnPlateau, CosineAnnealingWarmRestarts and OneCycleLR, each on its own group."""
    X, y = load("wine", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(13, 12), nn.CELU(0.5), nn.Linear(12, 3)))
    S = optim.lr_scheduler

    def build() -> tuple:
        o1 = optim.SGD(model[0].parameters(), lr=0.1, momentum=0.9)
        o2 = optim.Adam(model[2].parameters(), lr=0.01)
        return o1, o2, [S.ReduceLROnPlateau(o1, factor=0.5, patience=0, threshold=0.02),
                        S.OneCycleLR(o2, max_lr=0.05, total_steps=40, cycle_momentum=True)]

    o1, o2, (plateau, cycle) = build()
    warm = S.CosineAnnealingWarmRestarts(o1, T_0=3, T_mult=2)
    losses, lrs = [], []
    for epoch in range(8):
        for i in range(0, 160, 32):
            loss = F.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
            o1.zero_grad()
            o2.zero_grad()
            loss.backward()
            o1.step()
            o2.step()
            cycle.step()
            losses.append(loss.item())
        warm.step()
        with L.no_grad():
            plateau.step(F.cross_entropy(model(X), y).item())
        if epoch == 3:
            states = [o1.state_dict(), o2.state_dict(), plateau.state_dict(), cycle.state_dict(), warm.state_dict()]
            o1, o2, (plateau, cycle) = build()
            warm = S.CosineAnnealingWarmRestarts(o1, T_0=3, T_mult=2)
            for obj, st in zip((o1, o2, plateau, cycle, warm), states):
                obj.load_state_dict(st)
        lrs.append([o1.param_groups[0]["lr"], o2.param_groups[0]["lr"], o2.param_groups[0]["betas"][0]])
    return {"losses": losses, "model": model, "lrs": lrs}


def hand_written_loop(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """The tutorial loop without an optimizer: deterministic nn.init through model.apply,
    a manual L2 penalty, in-place updates under no_grad (``p -= lr * p.grad``, ``p.grad = None``),
    a tensor hook clamping one gradient, a user-written Lion optimizer on a second model."""
    X, y = load("digits", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)))

    def init(m: Any) -> None:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.bias, 0.01)

    model.apply(init)
    model[2].weight.register_hook(lambda g: g.clamp(-0.05, 0.05))

    class Lion(optim.Optimizer):
        def __init__(self, params: Any, lr: float = 1e-4, betas: tuple = (0.9, 0.99), weight_decay: float = 0.0):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @L.no_grad()
        def step(self, closure: Any = None) -> Any:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = L.zeros_like(p)
                    exp_avg = state["exp_avg"]
                    b1, b2 = group["betas"]
                    update = exp_avg * b1 + p.grad * (1 - b1)
                    p.add_(L.sign(update), alpha=-group["lr"])
                    exp_avg.mul_(b2).add_(p.grad, alpha=1 - b2)
            return None

    second = twin(nn.Sequential(nn.Linear(64, 10)))
    lion = Lion(second.parameters(), lr=1e-3, weight_decay=0.1)
    losses, lr = [], 0.2
    for _ in range(3):
        for i in range(0, 160, 32):
            loss = F.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
            l2 = sum((p ** 2).sum() for p in model.parameters())
            (loss + 1e-4 * l2).backward()
            with L.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
                    p.grad = None
            lion.zero_grad()
            F.cross_entropy(second(X[i:i + 32]), y[i:i + 32]).backward()
            lion.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model, "second": second, "state": lion.state_dict()}


def gradient_penalty(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A critic trained with a gradient penalty on its inputs (autograd.grad with
    create_graph=True, then backward through the gradient), with LayerNorm and Softplus."""
    X, _ = load("breast_cancer", 120)
    real = L.from_numpy(X[:60])
    fake = L.from_numpy(X[60:] * 0.5 + 0.3)
    critic = twin(nn.Sequential(nn.Linear(30, 16), nn.LayerNorm(16), nn.Softplus(), nn.Linear(16, 8), nn.SiLU(),
                                nn.Linear(8, 1)))
    optimizer = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    alpha = L.from_numpy(np.linspace(0, 1, 20)[:, None])
    losses = []
    for _ in range(3):
        for i in range(0, 60, 20):
            r, f = real[i:i + 20], fake[i:i + 20]
            mix = (alpha * r + (1 - alpha) * f).requires_grad_(True)
            (g,) = L.autograd.grad(critic(mix).sum(), mix, create_graph=True)
            gp = ((g.norm(2, dim=1) - 1) ** 2).mean()
            loss = critic(f).mean() - critic(r).mean() + 10 * gp
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "critic": critic}


def gradient_reversal(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Domain-adversarial training: a custom autograd.Function reverses and scales the gradient
    into a domain head (is the sample from the first or second half of the set?); a full
    backward hook on the classifier scales its input gradient."""
    X, y = load("wine", 160)
    X, y = L.from_numpy(X), L.from_numpy(y)
    dom = L.from_numpy((np.arange(160) >= 80).astype(np.float64))

    class Reverse(L.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, lam: float) -> Any:
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            return grad.neg() * ctx.lam, None

    model = twin(nn.ModuleDict({"feat": nn.Sequential(nn.Linear(13, 12), nn.ReLU()), "cls": nn.Linear(12, 3),
                                "dom": nn.Linear(12, 1)}))
    model["cls"].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0.5,))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(3):
        for i in range(0, 160, 20):
            idx = L.from_numpy(np.arange(i // 20, 160, 8))
            h = model["feat"](X[idx])
            loss = F.cross_entropy(model["cls"](h), y[idx]) + F.binary_cross_entropy_with_logits(
                model["dom"](Reverse.apply(h, 0.3)).squeeze(1), dom[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def maml_on_iris(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Second-order MAML: tasks are pairs of iris classes; one inner SGD step through
    torch.func.functional_call with create_graph=True, the outer Adam step through it."""
    X, y = load("iris", 150)
    model = twin(nn.Sequential(nn.Linear(4, 10), nn.Tanh(), nn.Linear(10, 2)))
    meta = optim.Adam(model.parameters(), lr=0.01)
    func = L.func
    losses = []
    for it in range(6):
        a, b = [(0, 1), (1, 2), (0, 2)][it % 3]
        sel = np.flatnonzero((y == a) | (y == b))
        xs, ys = L.from_numpy(X[sel]), L.from_numpy((y[sel] == b).astype(np.int64))
        support, query = slice(0, None, 2), slice(1, None, 2)
        params = dict(model.named_parameters())
        inner = F.cross_entropy(func.functional_call(model, params, (xs[support],)), ys[support])
        grads = L.autograd.grad(inner, list(params.values()), create_graph=True)
        fast = {k: v - 0.4 * g for (k, v), g in zip(params.items(), grads)}
        outer = F.cross_entropy(func.functional_call(model, fast, (xs[query],)), ys[query])
        meta.zero_grad()
        outer.backward()
        meta.step()
        losses.append(outer.item())
    return {"losses": losses, "model": model}


def layer_zoo_cnn(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Rarer layers in one digits CNN: ReflectionPad2d, ConvTranspose2d with groups and
    dilation, RMSNorm, LocalResponseNorm, LPPool2d, AdaptiveMaxPool2d, ZeroPad2d, GLU,
    Hardsigmoid, LogSigmoid, Softshrink, bicubic interpolate; Adadelta."""
    X, y = load("digits", 96)
    X, y = L.from_numpy(X.reshape(-1, 1, 8, 8)), L.from_numpy(y)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pad = nn.ReflectionPad2d((1, 0, 1, 0))
            self.c1 = nn.Conv2d(1, 4, 2)
            self.ct = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, dilation=2, groups=2)
            self.rms = nn.RMSNorm(4)
            self.lrn = nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=1.0)
            self.lp = nn.LPPool2d(2, 3, stride=2)
            self.amp = nn.AdaptiveMaxPool2d((3, 2))
            self.zp = nn.ZeroPad2d((0, 1, 0, 0))
            self.glu = nn.GLU(dim=1)
            self.head = nn.Linear(2 * 9 + 16, 10)

        def forward(self, x: Any) -> Any:
            h = F.hardsigmoid(self.c1(self.pad(x)))
            h = self.ct(h)
            h = self.rms(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            h = self.lp(self.lrn(h) + 0.1)
            a = self.glu(self.zp(self.amp(h)))
            b = F.interpolate(x, scale_factor=0.5, mode="bicubic", align_corners=True)
            return self.head(L.cat([F.logsigmoid(a).flatten(1), F.softshrink(b, 0.1).flatten(1)], dim=1))

    model = twin(Net())
    optimizer = optim.Adadelta(model.parameters(), lr=1.0, rho=0.8)
    losses = []
    for _ in range(3):
        for i in range(0, 96, 24):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i:i + 24]), y[i:i + 24])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def loss_zoo_on_iris(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Rarer losses together: CosineEmbeddingLoss, HingeEmbeddingLoss, SoftMarginLoss,
    MultiLabelMarginLoss, TripletMarginWithDistanceLoss (cosine distance), KLDivLoss with
    log_target, SmoothL1Loss(beta=0); SGD with Nesterov momentum."""
    X, y = load("iris", 150)
    X, y = L.from_numpy(X), L.from_numpy(y)
    model = twin(nn.Sequential(nn.Linear(4, 12), nn.Tanhshrink(), nn.Linear(12, 6)))
    cos = nn.CosineEmbeddingLoss(margin=0.2)
    hinge = nn.HingeEmbeddingLoss(margin=1.5)
    soft = nn.SoftMarginLoss()
    mlm = nn.MultiLabelMarginLoss()
    trip = nn.TripletMarginWithDistanceLoss(distance_function=lambda a, b: 1 - F.cosine_similarity(a, b), margin=0.3)
    kl = nn.KLDivLoss(reduction="batchmean", log_target=True)
    sl1 = nn.SmoothL1Loss(beta=0.0)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    losses = []
    for _ in range(3):
        for i in range(0, 150, 30):
            xb, yb = X[i:i + 30], y[i:i + 30]
            out = model(xb)
            same = L.where(yb == yb.roll(1), 1, -1)
            multi = L.stack([yb, (yb + 1) % 3, L.full_like(yb, -1)], dim=1)
            order = L.from_numpy(np.argsort(yb.numpy(), kind="stable"))
            e = out[order]
            loss = (cos(out[:, :3], out.roll(1, 0)[:, :3], same) + hinge(out[:, 3], same.to(out.dtype))
                    + soft(out[:, 4], same.to(out.dtype)) + mlm(out[:, :3], multi)
                    + trip(e[:-2], e[1:-1], e[2:].flip(0))
                    + kl(F.log_softmax(out[:, :3], 1), F.log_softmax(F.one_hot(yb, 3).to(out.dtype) * 2, 1))
                    + sl1(out[:, 5], yb.to(out.dtype)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


def transfer_learning(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Pretrain on digits 0-4, keep the best state by validation loss (copy.deepcopy, early
    stopping), save it to a file; a new model with a different head loads it with
    strict=False, its backbone frozen (requires_grad_(False), BatchNorm kept in eval mode),
    then fine-tunes on digits 5-9 through filter(requires_grad) and unfreezes for an epoch."""
    import copy
    import os
    import tempfile
    X, y = load("digits", 400)
    lo, hi = np.flatnonzero(y < 5), np.flatnonzero(y >= 5)
    X, y = L.from_numpy(X.reshape(-1, 1, 8, 8)), L.from_numpy(y)

    class Net(nn.Module):
        def __init__(self, classes: int) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(2), nn.Flatten())
            self.head = nn.Linear(16, classes)

        def forward(self, x: Any) -> Any:
            return self.head(self.features(x))

    model = twin(Net(5))
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    tr, va = L.from_numpy(lo[:160]), L.from_numpy(lo[160:])
    best, best_loss, bad, losses, val = None, float("inf"), 0, [], []
    for _ in range(8):
        model.train()
        for i in range(0, 160, 40):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[tr[i:i + 40]]), y[tr[i:i + 40]])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with L.no_grad():
            v = F.cross_entropy(model(X[va]), y[va]).item()
        val.append(v)
        if v < best_loss - 1e-3:
            best, best_loss, bad = copy.deepcopy(model.state_dict()), v, 0
        else:
            bad += 1
            if bad == 2:
                break
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "best.pt")
        L.save(best, path)
        state = L.load(path, map_location="cpu", weights_only=True)
    fine = Net(5)
    fine.head = nn.Linear(16, 5)
    fine = twin(fine)
    result = fine.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")}, strict=False)
    fine.features.requires_grad_(False)
    opt = optim.SGD(filter(lambda p: p.requires_grad, fine.parameters()), lr=0.1, momentum=0.9)
    ft = L.from_numpy(hi[:150])
    for epoch in range(3):
        fine.train()
        if epoch < 2:
            fine.features.eval()
        if epoch == 2:
            fine.features.requires_grad_(True)
            opt.add_param_group({"params": list(fine.features.parameters()), "lr": 0.01})
        for i in range(0, 150, 30):
            opt.zero_grad()
            loss = F.cross_entropy(fine(X[ft[i:i + 30]]), y[ft[i:i + 30]] - 5)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return {"losses": losses, "val": val, "model": model, "fine": fine, "missing": sorted(result.missing_keys),
            "unexpected": sorted(result.unexpected_keys)}


def sequence_norms(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Digits as 8-channel sequences: BatchNorm1d on (N, C, L), InstanceNorm1d and
    InstanceNorm2d tracking running statistics, MaxPool1d with padding and ceil_mode,
    AvgPool1d without the padding in the count, ConvTranspose1d with output_padding,
    linear Upsample, AdaptiveAvgPool1d to a size that does not divide; eval under no_grad."""
    X, y = load("digits", 160)
    seq, img = L.from_numpy(X.reshape(-1, 8, 8)), L.from_numpy(X.reshape(-1, 1, 8, 8))
    y = L.from_numpy(y)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv1d(8, 6, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm1d(6, momentum=0.3)
            self.inorm = nn.InstanceNorm1d(6, affine=True, track_running_stats=True)
            self.mp = nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True)
            self.ap = nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False)
            self.ct = nn.ConvTranspose1d(6, 4, 3, stride=2, padding=1, output_padding=1)
            self.up = nn.Upsample(scale_factor=1.5, mode="linear", align_corners=False)
            self.ada = nn.AdaptiveAvgPool1d(5)
            self.c2 = nn.Conv2d(1, 3, 3, bias=False)
            self.in2 = nn.InstanceNorm2d(3, momentum=0.2, track_running_stats=True)
            self.head = nn.Linear(4 * 5 + 3 * 4, 10)

        def forward(self, s: Any, i: Any) -> Any:
            h = F.relu(self.inorm(F.leaky_relu(self.bn(self.c(s)), 0.2)))
            h = self.ada(self.up(self.ct(self.ap(self.mp(h)))))
            g = F.adaptive_max_pool2d(F.elu(self.in2(self.c2(i))), 2)
            return self.head(L.cat([h.flatten(1), g.flatten(1)], dim=1))

    model = twin(Net())
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    losses, val = [], []
    for _ in range(3):
        model.train()
        for i in range(0, 128, 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(seq[i:i + 32], img[i:i + 32]), y[i:i + 32])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with L.no_grad():
            val.append(F.cross_entropy(model(seq[128:], img[128:]), y[128:]).item())
    return {"losses": losses, "val": val, "model": model}


def multilabel_pipeline(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Multi-label digits (even? above 4? prime?) through a Dataset subclass returning dicts,
    Subset + ConcatDataset, a BatchSampler over a SequentialSampler with drop_last, a custom
    collate_fn; BCEWithLogitsLoss with a per-class pos_weight and weight; Adam + StepLR by
    iteration via LambdaLR per group."""
    X, y = load("digits", 300)
    labels = np.stack([y % 2 == 0, y > 4, np.isin(y, [2, 3, 5, 7])], 1).astype(np.float64)

    class Digits(data.Dataset):
        def __init__(self, idx: np.ndarray) -> None:
            self.idx = idx

        def __len__(self) -> int:
            return len(self.idx)

        def __getitem__(self, i: int) -> dict:
            j = self.idx[i]
            return {"x": X[j], "y": labels[j], "id": int(j)}

    ds = data.ConcatDataset([data.Subset(Digits(np.arange(300)), list(range(0, 120))),
                             Digits(np.arange(200, 290))])
    sampler = data.BatchSampler(data.SequentialSampler(ds), batch_size=32, drop_last=True)

    def collate(batch: list) -> tuple:
        out = data.default_collate(batch)
        return out["x"], out["y"], out["id"]

    loader = data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    model = twin(nn.Sequential(nn.Linear(64, 24), nn.LeakyReLU(0.05), nn.Linear(24, 3)))
    criterion = nn.BCEWithLogitsLoss(weight=L.tensor([1.0, 0.5, 2.0]), pos_weight=L.tensor([0.8, 1.5, 2.5]))
    optimizer = optim.Adam([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.03}],
                           lr=0.01)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, [lambda it: 0.97 ** it, lambda it: 1 / (1 + 0.1 * it)])
    losses, ids = [], []
    for _ in range(4):
        for xb, yb, idb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            ids.append(idb)
    with L.no_grad():
        probs = L.sigmoid(model(L.from_numpy(X[290:])))
    return {"losses": losses, "ids": ids, "model": model, "probs": probs, "lr": scheduler.get_last_lr()}


def mobile_block(L: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A MobileNetV3-style block on the digits: a 1x1 conv whose bias starts at zero (so its
    output is exactly 0 on the blank pixels, where PReLU's gradient is its slope), PReLU per
    channel, a depthwise conv, squeeze-and-excitation gated by Hardsigmoid, Hardswish; SGD."""
    X, y = load("digits", 160)
    X, y = L.from_numpy(X.reshape(-1, 1, 8, 8)), L.from_numpy(y)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.expand = nn.Conv2d(1, 4, 1)
            self.act = nn.PReLU(4)
            self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
            self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 4),
                                    nn.Hardsigmoid())
            self.head = nn.Sequential(nn.Hardswish(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 10))

        def forward(self, x: Any) -> Any:
            h = self.dw(self.act(self.expand(x)))
            return self.head(h * self.se(h)[:, :, None, None])

    model = Block()
    nn.init.zeros_(model.expand.bias)
    model = twin(model)
    optimizer = optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
    losses = []
    for _ in range(3):
        for i in range(0, 160, 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i:i + 32]), y[i:i + 32])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return {"losses": losses, "model": model}


SCRIPTS = [cnn_on_digits, mlp_on_wine, one_cycle_on_iris, huber_on_diabetes, bce_on_breast_cancer, cells_over_rows,
           embedding_bags, resume(None), resume(7), ema_and_swa, distillation, lbfgs_on_iris, conv1d_rows,
           unpool_autoencoder, pixel_segmentation, gaussian_nll_on_diabetes, margins_on_wine, packed_gru,
           weight_norm_mlp, spatial_transformer, reduction_none_masked, sparse_embeddings, attention_options,
           ctc_on_rows, prototypes_on_iris, scheduler_resumes, hand_written_loop, gradient_penalty,
           gradient_reversal, maml_on_iris, layer_zoo_cnn, loss_zoo_on_iris, transfer_learning,
           sequence_norms, multilabel_pipeline, mobile_block]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.__name__)
def test_run_trains_as_on_torch(script: Callable) -> None:
    run_both(script)


def test_a_resumed_run_ends_where_the_uninterrupted_torch_run_does() -> None:
    _STARTS.clear()
    torch.manual_seed(0)
    want = resume(None)(torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data)
    got = resume(7)(tl, tl.nn, tl.nn.functional, tl.optim, tl.utils.data)
    _assert_same(got, want, "resumed")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_prelu_and_hardsigmoid_gradients_at_their_kinks_as_torch(dtype: Any) -> None:
    """PReLU's gradient at 0 is its slope; Hardsigmoid's slope inside (-3, 3) is torch's
    float32 1/6 in every dtype, while its value stays (x + 3) / 6."""
    x0 = np.array([[-3.0, -1.0, 0.0, 0.0, 0.5, 2.9, 3.0, 4.0]], dtype=dtype)
    w0 = np.array([0.25], dtype=dtype)
    g0 = np.cos(np.arange(8.0)).astype(dtype)[None]
    for name in ("prelu", "hardsigmoid"):
        tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
        x, w = tl.tensor(x0, requires_grad=True), tl.tensor(w0, requires_grad=True)
        if name == "prelu":
            tout, out = torch.nn.functional.prelu(tx, tw), tl.nn.functional.prelu(x, w)
        else:
            tout, out = torch.nn.functional.hardsigmoid(tx), tl.nn.functional.hardsigmoid(x)
        (tout * torch.from_numpy(g0)).sum().backward()
        (out * g0).sum().backward()
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.numpy(), tout.detach().numpy(), err_msg=name)
        np.testing.assert_array_equal(x.grad, tx.grad.numpy(), err_msg=name)
        if name == "prelu":
            np.testing.assert_array_equal(w.grad, tw.grad.numpy())
