"""Whole training scripts written the PyTorch way, run unchanged on torch and on tinygrad_lite.

Each script is ONE function ``run(torch_like, nn, F, optim, data)`` that receives either
``torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data`` or the same names of
tinygrad_lite, so the very same source runs on both libraries. Data come from numpy with a
fixed seed, random noise is a fixed tensor, and dropout is in eval mode; the only thing a
script does that a torch user would not is ``twin_init(model)`` right after building a model:
on torch it records the initial ``state_dict()``, on tinygrad_lite it loads that record (as
numpy arrays), so both runs start from the same weights. Everything runs in float64, and the
per-step losses, the values a script reports and the final weights and buffers must agree to
1e-9 relative (of each tensor's largest entry).

The second half holds one focused regression test for each gap the scripts found.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

RTOL = 1e-9
_STARTS: list[dict] = []


@pytest.fixture(autouse=True)
def _float64_torch() -> Any:
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


def twin_init(model: Any) -> Any:
    """The torch run records ``model``'s initial state; the tinygrad_lite run, making its
    models in the same order, loads each record into its twin (torch tensors to numpy)."""
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
    if w.dtype.kind == "f":
        assert g.dtype == w.dtype, what
        scale = float(np.max(np.abs(w))) if w.size else 0.0
        np.testing.assert_allclose(g, w, rtol=0, atol=RTOL * max(scale, 1e-300), err_msg=what)
    else:
        np.testing.assert_array_equal(g, w, err_msg=what)


def run_both(script: Callable) -> dict:
    """Run ``script`` on torch, then on tinygrad_lite, and check that everything it returns
    agrees; returns torch's results."""
    _STARTS.clear()
    want = script(torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data)
    got = script(tl, tl.nn, tl.nn.functional, tl.optim, tl.utils.data)
    assert not _STARTS, "the runs built different numbers of models"
    _assert_same(got, want, script.__name__)
    losses = np.asarray(want["losses"], dtype=float)
    assert np.all(np.isfinite(losses)) and losses.size >= 4
    assert not np.allclose(losses, losses[0]), "the run did not train"
    return want


# ======================================================================== the scripts


def mlp_classifier(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """An MLP on three Gaussian blobs: TensorDataset / DataLoader, CrossEntropyLoss,
    train / eval, accuracy under no_grad, SGD with Nesterov momentum."""
    torch_like.manual_seed(0)
    torch_like.cuda.manual_seed_all(0)
    torch_like.backends.cudnn.deterministic = True
    torch_like.backends.cudnn.benchmark = False
    device = torch_like.device("cuda" if torch_like.cuda.is_available() else "cpu")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 5)) * 2
    labels = rng.integers(0, 3, size=120)
    X = torch_like.from_numpy(centres[labels] + rng.normal(size=(120, 5)))
    y = torch_like.from_numpy(labels)
    train_ds = data.TensorDataset(X[:96], y[:96])
    val_ds = data.TensorDataset(X[96:], y[96:])
    train_loader = data.DataLoader(train_ds, batch_size=16, shuffle=False)
    val_loader = data.DataLoader(val_ds, batch_size=10)

    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Dropout(0.0), nn.Linear(32, 16), nn.Tanh(),
                          nn.Linear(16, 3))
    twin_init(model)
    model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)

    losses, accs, val_losses, log = [], [], [], []
    for _epoch in range(3):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device, non_blocking=True)
            optimizer.zero_grad()
            out = model(xb)
            loss = criterion(out, yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            running += loss.item() * xb.size(0)
        log.append(f"epoch {_epoch}: last loss {loss:.6f}")
        model.eval()
        correct, total, vloss = 0.0, 0, 0.0
        with torch_like.no_grad():
            for xb, yb in val_loader:
                out = model(xb)
                vloss += criterion(out, yb).item() * len(yb)
                correct += out.argmax(1).eq(yb).float().sum().item()
                total += yb.size(0)
                accs.append(out.argmax(1).eq(yb).float().mean().item())
        val_losses.append([running / len(train_loader.dataset), vloss / total, correct / total])
    return {"losses": losses, "accs": accs, "val": val_losses, "log": log, "model": model}


class _Cnn:
    """Built per library: ``_Cnn.make(nn)`` returns a torch-style subclass of ``nn.Module``."""

    @staticmethod
    def make(nn: Any) -> Any:
        class SmallCNN(nn.Module):
            def __init__(self, num_classes: int = 4) -> None:
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(1, 6, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(6),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2),
                    nn.Conv2d(6, 8, 3, stride=1, padding=1, bias=False),
                    nn.BatchNorm2d(8),
                    nn.ReLU(inplace=True),
                    nn.AdaptiveAvgPool2d((2, 2)),
                )
                self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(p=0.3), nn.Linear(8 * 2 * 2, num_classes))

            def forward(self, x: Any) -> Any:
                return self.classifier(self.features(x))

        return SmallCNN()


def small_cnn(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Conv2d, BatchNorm2d in training mode, MaxPool2d, AdaptiveAvgPool2d, Flatten, Dropout put
    in eval mode by hand; evaluation with the running statistics."""
    rng = np.random.default_rng(1)
    images = torch_like.tensor(rng.normal(size=(32, 1, 8, 8)))
    targets = torch_like.tensor(rng.integers(0, 4, size=32), dtype=torch_like.long)
    loader = data.DataLoader(data.TensorDataset(images, targets), batch_size=8)
    model = _Cnn.make(nn)
    twin_init(model)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _epoch in range(2):
        model.train()
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        for inputs, labels in loader:
            optimizer.zero_grad(set_to_none=True)
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch_like.no_grad():
        logits = model(images)
        _, predicted = torch_like.max(logits, 1)
        acc = (predicted == targets).sum().item() / targets.size(0)
        probs = F.softmax(logits, dim=1)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"losses": losses, "acc": acc, "probs": probs, "n": n_params, "model": model}


def char_lm(kind: str) -> Callable:
    def char_language_model(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
        """A char-level recurrent language model: Embedding, LSTM / GRU with the hidden state
        carried (detached) across steps, view(-1, V), clip_grad_norm_."""
        text = "the quick brown fox jumps over the lazy dog and the cat naps " * 3
        vocab = sorted(set(text))
        stoi = {c: i for i, c in enumerate(vocab)}
        V = len(vocab)
        ids = torch_like.tensor([stoi[c] for c in text], dtype=torch_like.long)
        B, T = 4, 10
        n = (len(ids) - 1) // (B * T) * (B * T)
        inputs = ids[:n].view(B, -1)
        targets = ids[1:n + 1].view(B, -1)

        class CharRNN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(V, 12)
                rnn = nn.LSTM if kind == "LSTM" else nn.GRU
                self.rnn = rnn(12, 16, num_layers=2, batch_first=True)
                self.head = nn.Linear(16, V)

            def forward(self, x: Any, hidden: Any = None) -> Any:
                out, hidden = self.rnn(self.embed(x), hidden)
                return self.head(out), hidden

        model = twin_init(CharRNN())
        optimizer = optim.RMSprop(model.parameters(), lr=5e-3)
        losses, norms = [], []
        hidden = None
        for step in range(inputs.size(1) // T):
            x = inputs[:, step * T:(step + 1) * T]
            y = targets[:, step * T:(step + 1) * T]
            if hidden is not None:
                hidden = tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()
            logits, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.view(-1, V), y.contiguous().view(-1))
            model.zero_grad()
            loss.backward()
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, foreach=None)))
            optimizer.step()
            losses.append(loss.item())
        with torch_like.no_grad():
            model.eval()
            seed = torch_like.tensor([[stoi["t"]]])
            h, generated = None, []
            for _ in range(8):
                out, h = model(seed, h)
                seed = out[:, -1].argmax(dim=-1, keepdim=True)
                generated.append(seed.item())
        return {"losses": losses, "norms": norms, "generated": generated, "model": model}

    char_language_model.__name__ = f"char_{kind.lower()}"
    return char_language_model


def vae(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A VAE on binary vectors: reparameterisation with a fixed noise tensor, the KL term by
    hand (exp, pow, sum), binary cross-entropy on the decoder's sigmoid."""
    rng = np.random.default_rng(2)
    x_all = torch_like.tensor((rng.random(size=(40, 12)) > 0.5).astype(np.float64))
    noise = torch_like.tensor(rng.standard_normal(size=(4, 10, 3)))

    class VAE(nn.Module):
        def __init__(self, d: int = 12, h: int = 8, z: int = 3) -> None:
            super().__init__()
            self.fc1 = nn.Linear(d, h)
            self.fc_mu = nn.Linear(h, z)
            self.fc_logvar = nn.Linear(h, z)
            self.fc3 = nn.Linear(z, h)
            self.fc4 = nn.Linear(h, d)

        def encode(self, x: Any) -> Any:
            h = F.relu(self.fc1(x))
            return self.fc_mu(h), self.fc_logvar(h)

        def reparameterize(self, mu: Any, logvar: Any, eps: Any) -> Any:
            std = torch_like.exp(0.5 * logvar)
            return mu + eps * std

        def decode(self, z: Any) -> Any:
            return torch_like.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x: Any, eps: Any) -> Any:
            mu, logvar = self.encode(x.view(-1, 12))
            return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    def loss_function(recon_x: Any, x: Any, mu: Any, logvar: Any) -> Any:
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 12), reduction="sum")
        kld = -0.5 * torch_like.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    model = twin_init(VAE())
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _epoch in range(2):
        model.train()
        for i, batch in enumerate(data.DataLoader(list(x_all), batch_size=10)):
            optimizer.zero_grad()
            recon, mu, logvar = model(batch, noise[i])
            loss = loss_function(recon, batch, mu, logvar)
            loss.backward()
            optimizer.step()
            losses.append(loss.item() / len(batch))
    with torch_like.no_grad():
        sample = model.decode(torch_like.zeros(2, 3))
    return {"losses": losses, "sample": sample, "model": model}


def autoencoder_resume(sched_name: str) -> Callable:
    def autoencoder(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
        """An autoencoder trained with Adam + weight decay and an lr scheduler; halfway it saves
        model, optimizer and scheduler, then a fresh model/optimizer/scheduler load them and
        finish the run."""
        rng = np.random.default_rng(3)
        X = torch_like.from_numpy(rng.normal(size=(48, 10)))
        loader = data.DataLoader(data.TensorDataset(X), batch_size=12, shuffle=False)

        def make() -> Any:
            encoder = nn.Sequential(nn.Linear(10, 6), nn.GELU(), nn.Linear(6, 3))
            decoder = nn.Sequential(nn.Linear(3, 6), nn.GELU(), nn.Linear(6, 10))
            return nn.Sequential(encoder, decoder)

        def make_opt(model: Any) -> tuple:
            opt = optim.Adam(model.parameters(), lr=2e-2, weight_decay=1e-3)
            if sched_name == "StepLR":
                sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
            else:
                sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=1e-4)
            return opt, sched

        model = twin_init(make())
        optimizer, scheduler = make_opt(model)
        criterion = nn.MSELoss()
        losses, lrs = [], []
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "checkpoint.pt")
            for epoch in range(6):
                if epoch == 3:
                    torch_like.save({"epoch": epoch, "model_state_dict": model.state_dict(),
                                     "optimizer_state_dict": optimizer.state_dict(),
                                     "scheduler": scheduler.state_dict()}, path)
                    model = make()
                    optimizer, scheduler = make_opt(model)
                    checkpoint = torch_like.load(path, map_location="cpu", weights_only=True)
                    model.load_state_dict(checkpoint["model_state_dict"])
                    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
                    scheduler.load_state_dict(checkpoint["scheduler"])
                    assert checkpoint["epoch"] == 3
                model.train()
                for (xb,) in loader:
                    optimizer.zero_grad()
                    loss = criterion(model(xb), xb)
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                scheduler.step()
                lrs.append(scheduler.get_last_lr()[0])
                lrs.append(optimizer.param_groups[0]["lr"])
        return {"losses": losses, "lrs": lrs, "model": model}

    autoencoder.__name__ = f"autoencoder_{sched_name}"
    return autoencoder


def transformer_classifier(use_layer: bool) -> Callable:
    def transformer(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
        """A sequence classifier over padded token batches: Embedding + learned positions,
        a transformer encoder block with a key padding mask, masked mean pooling."""
        rng = np.random.default_rng(4)
        N, T, V, D = 24, 7, 11, 8
        lengths = rng.integers(3, T + 1, size=N)
        tokens = rng.integers(1, V, size=(N, T))
        tokens[np.arange(T)[None, :] >= lengths[:, None]] = 0
        labels = (tokens[:, 0] % 2).astype(np.int64)
        seqs = torch_like.tensor(tokens)
        ys = torch_like.tensor(labels)

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.attn = nn.MultiheadAttention(D, num_heads=2, batch_first=True)
                self.ln1 = nn.LayerNorm(D)
                self.ff = nn.Sequential(nn.Linear(D, 16), nn.ReLU(), nn.Linear(16, D))
                self.ln2 = nn.LayerNorm(D)

            def forward(self, x: Any, key_padding_mask: Any) -> Any:
                a, _ = self.attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False)
                x = self.ln1(x + a)
                return self.ln2(x + self.ff(x))

        class Classifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(V, D, padding_idx=0)
                self.pos = nn.Parameter(torch_like.zeros(1, T, D))
                if use_layer:
                    self.encoder = nn.TransformerEncoderLayer(D, nhead=2, dim_feedforward=16, dropout=0.0,
                                                              batch_first=True)
                else:
                    self.encoder = Block()
                self.out = nn.Linear(D, 2)

            def forward(self, src: Any) -> Any:
                pad = src == 0
                x = self.embed(src) + self.pos[:, :src.size(1)]
                if use_layer:
                    x = self.encoder(x, src_key_padding_mask=pad)
                else:
                    x = self.encoder(x, pad)
                x = x.masked_fill(pad.unsqueeze(-1), 0.0)
                pooled = x.sum(dim=1) / (~pad).sum(dim=1, keepdim=True).float()
                return self.out(pooled)

        class NoamLR(optim.lr_scheduler.LRScheduler):
            """The transformer's warm-up: lr * min(step^-0.5, step * warmup^-1.5) * warmup^0.5."""

            def __init__(self, optimizer: Any, warmup: int, last_epoch: int = -1) -> None:
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self) -> list:
                step = max(1, self.last_epoch + 1)
                scale = self.warmup ** 0.5 * min(step ** -0.5, step * self.warmup ** -1.5)
                return [base_lr * scale for base_lr in self.base_lrs]

        model = twin_init(Classifier())
        optimizer = optim.AdamW(model.parameters(), lr=2e-2)
        scheduler = NoamLR(optimizer, warmup=3)
        losses = []
        loader = data.DataLoader(data.TensorDataset(seqs, ys), batch_size=8, shuffle=False)
        for _epoch in range(2):
            for batch_x, batch_y in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(batch_x), batch_y)
                loss.backward()
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
        model.eval()
        with torch_like.no_grad():
            logits = model(seqs)
        return {"losses": losses, "logits": logits, "lr": scheduler.get_last_lr(), "model": model}

    transformer.__name__ = "transformer_layer" if use_layer else "attention_block"
    return transformer


def custom_modules(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """Custom Modules with a buffer, ModuleList, ModuleDict, ParameterList; parameter groups
    built from named_parameters (no decay on biases and norms, a smaller lr for the heads);
    gradient accumulation over micro-batches with zero_grad(set_to_none=True)."""
    rng = np.random.default_rng(5)
    X = torch_like.tensor(rng.normal(size=(32, 6)))
    Y = torch_like.tensor(rng.normal(size=(32, 2)))

    class Standardise(nn.Module):
        def __init__(self, mean: Any, std: Any) -> None:
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, x: Any) -> Any:
            return (x - self.mean) / self.std

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = Standardise(X.mean(0), X.std(0))
            self.layers = nn.ModuleList([nn.Linear(6, 8) for _ in range(3)])
            self.gates = nn.ParameterList([nn.Parameter(torch_like.ones(8) * 0.5) for _ in range(3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(8, 1), "b": nn.Linear(8, 1)})
            self.ln = nn.LayerNorm(8)
            self.register_buffer("calls", torch_like.zeros((), dtype=torch_like.long))

        def forward(self, x: Any) -> Any:
            self.calls += 1
            x = self.norm(x)
            h = 0
            for i, layer in enumerate(self.layers):
                h = h + self.gates[i] * torch_like.tanh(layer(x))
            h = self.ln(h)
            return torch_like.cat([self.heads[k](h) for k in sorted(self.heads.keys())], dim=1)

    model = twin_init(Net())
    decay, no_decay, heads = [], [], []
    for name, param in model.named_parameters():
        if name.startswith("heads."):
            heads.append(param)
        elif name.endswith("bias") or "ln" in name or "gates" in name:
            no_decay.append(param)
        else:
            decay.append(param)
    optimizer = optim.SGD([
        {"params": decay, "weight_decay": 1e-2},
        {"params": no_decay},
        {"params": heads, "lr": 0.02},
    ], lr=0.1, momentum=0.9)
    accum = 4
    losses, names = [], [n for n, _ in model.named_parameters()]
    optimizer.zero_grad(set_to_none=True)
    for i, (xb, yb) in enumerate(zip(X.chunk(16), Y.chunk(16))):
        loss = F.mse_loss(model(xb), yb) / accum
        loss.backward()
        losses.append(loss.item())
        if (i + 1) % accum == 0:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            assert all(p.grad is None for p in model.parameters())
    lrs = [g["lr"] for g in optimizer.param_groups]
    sizes = [len(g["params"]) for g in optimizer.param_groups]
    buffers = [name for name, _ in model.named_buffers()]
    return {"losses": losses, "names": names, "buffers": buffers, "lrs": lrs, "sizes": sizes,
            "calls": model.calls.item(), "model": model}


def hand_written_losses(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A focal loss and a label-smoothed cross-entropy written by hand with log_softmax,
    gather and masked_fill (an ignore label of -100); Adagrad."""
    rng = np.random.default_rng(6)
    X = torch_like.tensor(rng.normal(size=(30, 4)))
    y = torch_like.LongTensor(rng.integers(0, 5, size=30).tolist())
    y[::7] = -100

    def focal_loss(logits: Any, target: Any, gamma: float = 2.0, ignore_index: int = -100) -> Any:
        valid = target != ignore_index
        safe = target.masked_fill(~valid, 0)
        logp = F.log_softmax(logits, dim=-1).gather(1, safe.unsqueeze(1)).squeeze(1)
        p = logp.exp()
        loss = -((1 - p) ** gamma) * logp
        loss = loss.masked_fill(~valid, 0.0)
        return loss.sum() / valid.sum().clamp(min=1)

    def smoothed_ce(logits: Any, target: Any, eps: float = 0.1) -> Any:
        valid = target.ne(-100)
        logp = logits.log_softmax(dim=-1)
        nll = -logp.gather(dim=-1, index=target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        smooth = -logp.mean(dim=-1)
        loss = (1 - eps) * nll + eps * smooth
        return loss[valid].mean()

    model = twin_init(nn.Sequential(nn.Linear(4, 10), nn.SiLU(), nn.Linear(10, 5)))
    optimizer = optim.Adagrad(model.parameters(), lr=0.1)
    losses = []
    for _epoch in range(4):
        for xb, yb in zip(X.split(10), y.split(10)):
            optimizer.zero_grad()
            logits = model(xb)
            loss = focal_loss(logits, yb) + smoothed_ce(logits, yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch_like.no_grad():
        logits = model(X)
        builtin = F.cross_entropy(logits, y, label_smoothing=0.1, ignore_index=-100)
        mine = smoothed_ce(logits, y)
    return {"losses": losses, "builtin": builtin.item(), "mine": mine.item(), "model": model}


def tiny_gpt(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
    """A nanoGPT-style character model: causal self-attention written by hand (view, the
    torch-style transpose(1, 2), a registered tril buffer, masked_fill), tied embedding and
    head weights, AdamW with decay / no-decay groups by p.dim(), a LambdaLR warm-up, a loss
    scaler on the CPU with unscale_ before clip_grad_norm_(...).item(), the best weights kept
    with state_dict() + clone(), and an in-memory checkpoint through io.BytesIO."""
    text = "to be or not to be that is the question " * 4
    chars = sorted(set(text))
    V, T, C, H = len(chars), 8, 12, 3
    ids = torch_like.tensor([chars.index(c) for c in text], dtype=torch_like.long)

    class CausalSelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)
            self.register_buffer("bias", torch_like.tril(torch_like.ones(T, T)).view(1, 1, T, T))

        def forward(self, x: Any) -> Any:
            B, L, _ = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            q = q.view(B, L, H, C // H).transpose(1, 2)
            k = k.view(B, L, H, C // H).transpose(1, 2)
            v = v.view(B, L, H, C // H).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :L, :L] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, L, C))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(V, C)
            self.wpe = nn.Embedding(T, C)
            self.ln_1 = nn.LayerNorm(C)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C))
            self.ln_f = nn.LayerNorm(C)
            self.lm_head = nn.Linear(C, V, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: Any, targets: Any = None) -> Any:
            pos = torch_like.arange(0, idx.size(1), dtype=torch_like.long)
            x = self.wte(idx) + self.wpe(pos)
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            logits = self.lm_head(self.ln_f(x))
            loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

    model = twin_init(GPT())
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = optim.AdamW(groups, lr=3e-2, betas=(0.9, 0.95))
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda it: min(1.0, (it + 1) / 3))
    scaler = torch_like.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=3)
    starts = list(range(0, len(ids) - T - 1, 9))
    windows = data.TensorDataset(torch_like.stack([ids[r:r + T] for r in starts]),
                                 torch_like.stack([ids[r + 1:r + T + 1] for r in starts]))
    batches = [b for _ in range(3) for b in data.DataLoader(windows, batch_size=4, drop_last=True)][:8]
    losses, norms, scales, best, best_state = [], [], [], float("inf"), None
    for x, y in batches:
        with torch_like.autocast(device_type="cpu", enabled=False):
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        norms.append(nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        losses.append(loss.item())
        scales.append(scaler.get_scale())
        if loss.item() < best:
            best = loss.item()
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch_like.save({"model": best_state, "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()}, buffer)
    buffer.seek(0)
    restored = torch_like.load(buffer, weights_only=True)
    fresh = GPT()
    fresh.load_state_dict(restored["model"])
    fresh.eval()
    with torch_like.no_grad():
        logits, _ = fresh(ids[:T].unsqueeze(0))
    return {"losses": losses, "norms": norms, "scales": scales, "lr": scheduler.get_last_lr(),
            "scaler": restored["scaler"]["scale"], "logits": logits, "model": model, "best": fresh}


SCRIPTS = [mlp_classifier, small_cnn, char_lm("LSTM"), char_lm("GRU"), vae, autoencoder_resume("StepLR"),
           autoencoder_resume("CosineAnnealingLR"), transformer_classifier(True), transformer_classifier(False),
           custom_modules, hand_written_losses, tiny_gpt]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.__name__ for s in SCRIPTS])
def test_script_runs_as_on_torch(script: Callable) -> None:
    run_both(script)


def test_the_harness_notices_a_difference() -> None:
    def drifting(torch_like: Any, nn: Any, F: Any, optim: Any, data: Any) -> dict:
        model = twin_init(nn.Linear(2, 1))
        x = torch_like.ones(3, 2)
        extra = 1e-6 if torch_like is tl else 0.0
        losses = []
        opt = optim.SGD(model.parameters(), lr=0.1)
        for _ in range(4):
            opt.zero_grad()
            loss = (model(x) ** 2).mean() + extra
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return {"losses": losses, "model": model}

    with pytest.raises(AssertionError):
        run_both(drifting)


# ======================================================================== the gaps, one test each


def test_a_data_set_loader_keeps_the_order_unless_asked_as_torch() -> None:
    # gap: DataLoader(dataset) shuffled by default; torch's default is shuffle=False
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    ours = [b[1].numpy().tolist() for b in tl.data.DataLoader(tl.data.TensorDataset(tl.tensor(X), tl.tensor(y)),
                                                              batch_size=4)]
    want = [b[1].tolist() for b in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=4)]
    assert ours == want == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = [b[1].numpy().tolist() for b in tl.data.DataLoader(tl.data.TensorDataset(X, y), batch_size=10,
                                                                  shuffle=True, seed=0)]
    assert sorted(shuffled[0]) == list(range(10)) and shuffled[0] != list(range(10))
    arrays = next(iter(tl.data.DataLoader(X, y, batch_size=10, seed=0)))[1]
    assert arrays.numpy().tolist() != list(range(10))  # DataLoader(X, y) shuffles by default (the contract)


def test_a_list_of_samples_is_a_data_set_as_torch() -> None:
    # gap: DataLoader(list(zip(X, Y)), batch_size=4) read the list as an array X and failed
    X = np.arange(14.0).reshape(7, 2)
    Y = np.arange(7) % 3

    def batches(lib: Any, samples: list, *args: Any, **kw: Any) -> list:
        out = []
        for b in lib.utils.data.DataLoader(samples, *args, **kw):
            items = b.items() if isinstance(b, dict) else enumerate(b) if isinstance(b, list) else [(0, b)]
            out.append({k: (_numpy(v).tolist(), str(_numpy(v).dtype)) for k, v in items})
        return out

    for make in (lambda lib: list(zip(X, Y)), lambda lib: [(lib.tensor(x), lib.tensor(y)) for x, y in zip(X, Y)],
                 lambda lib: [{"x": x, "y": int(y)} for x, y in zip(X, Y)], lambda lib: [float(v) for v in Y],
                 lambda lib: tuple(lib.tensor(X))):
        for args, kw in (((), {"batch_size": 3}), ((3,), {}), ((3, False), {"drop_last": True})):
            assert batches(tl, make(tl), *args, **kw) == batches(torch, make(torch), *args, **kw)
    shuffled = batches(tl, list(zip(X, Y)), batch_size=7, shuffle=True, seed=0)
    assert shuffled[0][1][0] != Y.tolist() and sorted(shuffled[0][1][0]) == sorted(Y.tolist())
    with_y = next(iter(tl.data.DataLoader(X.tolist(), Y.tolist(), batch_size=7, shuffle=False)))
    assert with_y[1].numpy().tolist() == Y.tolist()  # with targets a list is still an array X
    with pytest.raises(TypeError, match="targets are required"):
        tl.data.DataLoader(X)  # an array without targets: refused, as before (the contract's DataLoader(X, y))


def test_load_takes_torch_loads_keywords(tmp_path: Any) -> None:
    # gap: tl.load(path, map_location="cpu", weights_only=True) was a TypeError
    path = str(tmp_path / "ckpt.npz")
    tl.save({"w": np.arange(3.0), "step": 2}, path)
    for kw in ({"map_location": "cpu"}, {"map_location": tl.device("cpu")}, {"map_location": torch.device("cpu")},
               {"map_location": {"cuda:0": "cpu"}}, {"map_location": lambda storage, loc: storage},
               {"weights_only": True}, {"weights_only": False, "mmap": False}):
        got = tl.load(path, **kw)
        np.testing.assert_array_equal(got["w"], np.arange(3.0))
        assert got["step"] == 2
    np.testing.assert_array_equal(tl.load(path, "cpu")["w"], np.arange(3.0))  # positional, as torch
    tpath = str(tmp_path / "t.pt")
    torch.save({"w": torch.arange(3.0)}, tpath)
    with pytest.raises(RuntimeError):
        torch.load(tpath, map_location="cuda")
    with pytest.raises(RuntimeError, match="load: map_location: device 'cuda' is not available"):
        tl.load(path, map_location="cuda")
    with pytest.raises(RuntimeError, match="'cuda:1'"):
        tl.load(path, map_location={"cpu": "cuda:1"})
    with pytest.raises(TypeError, match="load: weights_only must be a bool or None, got 'yes'"):
        tl.load(path, weights_only="yes")


def test_save_and_load_through_a_file_object_as_torch() -> None:
    # gap: tl.save(obj, io.BytesIO()) was a TypeError
    model = tl.nn.Linear(3, 2)
    buffer = io.BytesIO()
    buffer.write(b"header")
    assert tl.save({"model": model.state_dict(), "epoch": 4}, buffer) is buffer
    assert not buffer.closed
    buffer.seek(6)
    got = tl.load(buffer, map_location="cpu")
    assert not buffer.closed and got["epoch"] == 4
    np.testing.assert_array_equal(got["model"]["weight"], model.weight.numpy())
    with pytest.raises(tl.CheckpointError, match="checkpoint from BytesIO object: not an .npz"):
        tl.load(io.BytesIO(b"not a checkpoint"))
    with pytest.raises(TypeError, match=r"save\(\) needs a str or os.PathLike path \(or a binary file object\)"):
        tl.save({}, 3)


@pytest.mark.parametrize("dims", [(1, 2), (-2, -1), (0, 3), (2, 1)])
def test_transpose_of_two_dims_on_a_4d_tensor_swaps_them_as_torch(dims: tuple) -> None:
    # gap: x.transpose(1, 2) on 3 or more axes (multi-head attention's reshuffle) was refused
    a = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    w = np.random.default_rng(1).normal(size=np.swapaxes(a, *dims).shape)
    x, t = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x.transpose(*dims), t.transpose(*dims)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    (y * tl.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert x.transpose(0, 2, 1, 3).shape == (2, 4, 3, 5)  # numpy's permutation still works
    with pytest.raises(ValueError, match="transpose"):
        tl.tensor(np.ones((2, 3))).transpose(0, 1)  # still refused: numpy's identity, torch's swap


def test_clip_grad_norm_returns_a_float_with_item_as_torchs_tensor() -> None:
    # gap: `clip_grad_norm_(...).item()` raised AttributeError on the float
    a = np.arange(6.0).reshape(2, 3)
    m, tm = tl.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for mod, lib in ((m, tl), (tm, torch)):
        with lib.no_grad():
            mod.weight.copy_(lib.tensor(a))
            mod.bias.zero_()
        (mod(lib.ones(2, 3)) ** 2).sum().backward()
    got = tl.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    want = torch.nn.utils.clip_grad_norm_(tm.parameters(), 1.0)
    assert isinstance(got, float)
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    assert got.detach().cpu().tolist() == float(got) and got.numpy().shape == ()
    assert type(got.item()) is float and f"{got:.3f}" == f"{want.item():.3f}"
    np.testing.assert_allclose(m.weight.grad, tm.weight.grad.numpy(), rtol=1e-12)
    assert tl.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_state_dict_values_take_torchs_tensor_methods_and_stay_plain_copies(tmp_path: Any) -> None:
    # gap: `{k: v.clone() for k, v in model.state_dict().items()}` raised AttributeError
    model = tl.nn.Sequential(tl.nn.Linear(3, 2), tl.nn.BatchNorm1d(2))
    best = {k: v.clone() for k, v in model.state_dict().items()}
    before = {k: np.array(v) for k, v in best.items()}
    with tl.no_grad():
        model[0].weight.add_(1.0)  # the copies do not follow the model
    for k in best:
        np.testing.assert_array_equal(best[k], before[k])
    w = model.state_dict()["0.weight"]
    assert isinstance(w, np.ndarray) and w.detach() is w and w.cpu() is w and w.to("cpu") is w
    assert w.to(tl.float32).dtype == np.float32 and w.float().dtype == np.float32 and w.numel() == 6
    assert w.dim() == 2 and type(w.numpy()) is np.ndarray and w.size == 6
    assert type(w * 2) is np.ndarray and type(np.exp(w)) is np.ndarray  # computations give plain arrays
    c = w.clone()
    c[0, 0] = 99.0
    assert w[0, 0] != 99.0
    with pytest.raises(RuntimeError, match="StateArray.to: device 'cuda'"):
        w.to("cuda")
    model.load_state_dict({k: v.detach().cpu().clone() for k, v in best.items()})
    assert type(model[0].weight.data) is np.ndarray
    np.testing.assert_array_equal(model[0].weight.numpy(), before["0.weight"])
    tl.save(model.state_dict(), str(tmp_path / "m.npz"))
    assert type(tl.load(str(tmp_path / "m.npz"))["0.weight"]) is np.ndarray


def _scaled_run(lib: Any, unscale_first: bool = True, **kw: Any) -> tuple:
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10))
        lin.bias.zero_()
    opt = lib.optim.SGD(lin.parameters(), lr=0.01, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", **kw)
    scales, grads = [], []
    for i in range(7):
        opt.zero_grad()
        x = lib.ones(2, 3) * (1e300 if i == 2 else 1.0)  # step 2 overflows: skipped, scale backs off
        with lib.autocast("cpu", enabled=False):
            loss = ((lin(x) - 3.0) ** 2).mean()
        scaler.scale(loss).backward()
        if unscale_first:
            scaler.unscale_(opt)
        scaler.step(opt)  # unscales here when not done yet
        grads.append(_numpy(lin.weight.grad).copy())
        scaler.update()
        scales.append(scaler.get_scale())
    state = {k: float(v) for k, v in scaler.state_dict().items()}
    resumed = lib.amp.GradScaler("cpu")
    resumed.load_state_dict(scaler.state_dict())
    assert resumed.get_scale() == scaler.get_scale()
    return lin.weight.detach().numpy(), scales, grads, state


@pytest.mark.parametrize("unscale_first", [True, False])
def test_grad_scaler_scales_skips_and_grows_as_torch(unscale_first: bool) -> None:
    # gap: torch.amp.GradScaler / torch.autocast did not exist
    with np.errstate(over="ignore", invalid="ignore"):
        got = _scaled_run(tl, unscale_first, init_scale=2.0 ** 12, growth_interval=2)
        want = _scaled_run(torch, unscale_first, init_scale=2.0 ** 12, growth_interval=2)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1] == want[1] and got[1][1] == 2.0 ** 13 and got[1][2] == 2.0 ** 12  # grew, then backed off
    for g, w in zip(got[2], want[2]):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert got[3] == want[3]


def test_a_disabled_scaler_and_autocast_change_nothing_and_misuse_is_refused() -> None:
    lin = tl.nn.Linear(2, 1)
    opt = tl.optim.SGD(lin.parameters(), lr=0.1)
    for scaler in (tl.amp.GradScaler(enabled=False), tl.cuda.amp.GradScaler(enabled=False)):
        loss = lin(tl.ones(1, 2)).sum()
        assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    with pytest.warns(UserWarning, match="not available"):
        assert not tl.amp.GradScaler("cuda").is_enabled()  # as torch without CUDA: disabled
    with tl.cuda.amp.autocast(enabled=False), tl.autocast("cpu", enabled=False):
        pass
    with pytest.raises(RuntimeError, match=r"autocast\(device_type='cpu', enabled=True\): mixed precision"):
        with tl.autocast("cpu", dtype=tl.float16):
            pass
    scaler, tscaler = tl.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
    tlin = torch.nn.Linear(2, 1)
    topt = torch.optim.SGD(tlin.parameters(), lr=0.1)
    for s, o, m, lib in ((scaler, opt, lin, tl), (tscaler, topt, tlin, torch)):
        s.scale(m(lib.ones(1, 2)).sum()).backward()
        s.unscale_(o)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            s.unscale_(o)
    with pytest.raises(ValueError, match="GradScaler: init_scale must be a positive number"):
        tl.amp.GradScaler("cpu", init_scale=0.0)
    private = tl.optim.DPSGD(lin.parameters(), lr=0.1, max_grad_norm=1.0, noise_multiplier=0.0, rng=0)
    private.zero_grad()
    scaler = tl.amp.GradScaler("cpu")
    scaler.scale(lin(tl.tensor(np.ones((3, 2)), batched=True)).sum()).backward()
    before = lin.weight.grad.copy()
    with pytest.raises(ValueError, match="GradScaler.unscale_: DPSGD clips per-sample gradients"):
        scaler.step(private)
    np.testing.assert_array_equal(lin.weight.grad, before)  # nothing changed


def test_reproducibility_switches_are_accepted_and_kept_as_torch() -> None:
    # gap: tl.backends, use_deterministic_algorithms, set_float32_matmul_precision,
    # set_num_threads and tl.cuda.manual_seed_all were missing (the first lines of many scripts)
    cudnn = tl.backends.cudnn
    flags = (cudnn.deterministic, cudnn.benchmark)
    cudnn.deterministic, cudnn.benchmark = True, False
    assert tl.backends.cudnn.deterministic and not tl.backends.cudnn.benchmark
    cudnn.deterministic, cudnn.benchmark = flags
    assert not tl.backends.cudnn.is_available() and not tl.backends.mps.is_available()
    try:
        tl.use_deterministic_algorithms(True)
        assert tl.are_deterministic_algorithms_enabled()
    finally:
        tl.use_deterministic_algorithms(False)
    assert not tl.are_deterministic_algorithms_enabled()
    with pytest.raises(TypeError, match="use_deterministic_algorithms: mode must be a bool"):
        tl.use_deterministic_algorithms("yes")
    before = tl.get_float32_matmul_precision()
    tl.set_float32_matmul_precision("high")
    assert tl.get_float32_matmul_precision() == "high"
    tl.set_float32_matmul_precision(before)
    with pytest.warns(UserWarning):  # torch warns and ignores it; a bad value raises here
        torch.set_float32_matmul_precision("fastest")
    with pytest.raises(ValueError, match="set_float32_matmul_precision: precision must be one of"):
        tl.set_float32_matmul_precision("fastest")
    assert tl.get_float32_matmul_precision() == before
    tl.cuda.manual_seed_all(0)
    tl.cuda.manual_seed(0)
    tl.cuda.empty_cache()
    with pytest.raises(TypeError, match="cuda.manual_seed_all: seed must be an int"):
        tl.cuda.manual_seed_all("0")
    with pytest.raises(RuntimeError, match="cuda.synchronize: no CUDA device"):
        tl.cuda.synchronize()
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=None):  # BLAS's thread count is set back afterwards
        try:
            tl.set_num_threads(1)
            assert tl.get_num_threads() == 1
            assert all(lib["num_threads"] == 1 for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")
            with pytest.raises(RuntimeError, match="set_num_threads: number of threads must be positive"):
                tl.set_num_threads(0)
            assert tl.get_num_threads() == 1
        finally:
            tl.torchglobals._flags["threads"] = None


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"])
def test_legacy_tensor_constructors_as_torch(name: str) -> None:
    # gap: torch.FloatTensor(data) / torch.LongTensor(data) of older scripts were missing
    data = [[1.0, 0.0, 2.7], [-3.2, 5.0, 0.5]]
    got, want = getattr(tl, name)(data), getattr(torch, name)(data)
    assert got.dtype == want.numpy().dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    sized = getattr(tl, name)(2, 3)
    assert sized.shape == tuple(getattr(torch, name)(2, 3).shape) and not sized.numpy().any()
    assert getattr(tl, name)().shape == (0,) == tuple(getattr(torch, name)().shape)
    with pytest.raises(ValueError, match=f"{name}: sizes must be >= 0"):
        getattr(tl, name)(2, -1)


def test_clip_functions_take_torchs_foreach_keyword() -> None:
    # gap: clip_grad_norm_(..., foreach=...) was a TypeError
    m, tm = tl.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for mod, lib in ((m, tl), (tm, torch)):
        (mod(lib.ones(1, 2)) * 3).sum().backward()
    got = tl.nn.utils.clip_grad_norm_(m.parameters(), 0.5, foreach=True)
    want = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5, foreach=True)
    assert got == pytest.approx(want.item(), rel=1e-12)
    tl.nn.utils.clip_grad_value_(m.parameters(), 0.1, foreach=False)
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.1, foreach=False)
    np.testing.assert_allclose(m.weight.grad, tm.weight.grad.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="clip_grad_norm_: foreach must be None or a bool"):
        tl.nn.utils.clip_grad_norm_(m.parameters(), 0.5, foreach="yes")


def _warmup_lrs(lib: Any) -> list:
    class Warmup(lib.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer: Any, warmup: int, last_epoch: int = -1) -> None:
            self.warmup = warmup
            super().__init__(optimizer, last_epoch)

        def get_lr(self) -> list:
            return [base * min(1.0, (self.last_epoch + 1) / self.warmup) for base in self.base_lrs]

    class HalvingStep(lib.optim.lr_scheduler.StepLR):  # a subclass keeping the library's get_lr
        pass

    w = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([w], lr=0.4)
    sched = Warmup(opt, warmup=4)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    resumed = Warmup(opt, warmup=4, last_epoch=1)  # resuming: initial_lr is in the groups
    lrs.append(opt.param_groups[0]["lr"])
    opt2 = lib.optim.SGD([w], lr=0.4)
    step = HalvingStep(opt2, step_size=2, gamma=0.5)
    for _ in range(4):
        opt2.step()
        step.step()
        lrs.append(step.get_last_lr()[0])
    return lrs + [resumed.last_epoch]


def test_a_users_scheduler_sets_its_first_lr_on_creation_as_torch() -> None:
    # gap: a subclass of LRScheduler kept the optimizer's lr at creation, where torch's creation
    # step applies get_lr() (a warm-up started at the full lr for one step)
    got, want = _warmup_lrs(tl), _warmup_lrs(torch)
    assert got == pytest.approx(want, rel=1e-15)
    assert got[0] == pytest.approx(0.1)


def test_a_0d_tensor_formats_as_its_number_as_torch() -> None:
    # gap: f"{loss:.4f}" on a 0-d Tensor raised TypeError
    for value in (0.123456, 3, -2.5e-7):
        for spec in (".4f", ".3e", "", ">10.2f", "g"):
            if isinstance(value, int) and spec in (".4f", ".3e", ">10.2f", "g"):
                spec = "d" if spec != "g" else spec
            assert format(tl.tensor(value), spec) == format(torch.tensor(value), spec)
    loss = (tl.tensor([1.0, 2.0], requires_grad=True) ** 2).mean()
    assert f"{loss:.3f}" == "2.500"
    for lib in (tl, torch):
        with pytest.raises(TypeError):
            format(lib.tensor([1.0]), ".2f")  # not 0-d: refused, as torch
    assert format(tl.tensor([1.0, 2.0]), "") == str(tl.tensor([1.0, 2.0]))
