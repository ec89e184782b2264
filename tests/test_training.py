"""End-to-end training runs: Module + DataLoader + optimizers + losses + checkpoints.

Each run is small (a few hundred samples, a small MLP) so the whole file takes seconds.
Where torch is importable, the same steps are replayed there and the weights compared.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, nn, optim
from tinygrad_lite.data import DataLoader

# ----------------------------------------------------------------------------- data and models


def regression_data(n: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = sin(2 x0) + 0.5 x1 x2 + N(0, 0.05^2), x uniform on [-1, 1]^3; y of shape (n, 1).

    Var(y) is about 0.6, while the noise alone has variance 0.0025: a fitted model can get
    its mean squared error far below a tenth of Var(y), a constant predictor cannot.
    """
    r = np.random.default_rng(seed)
    X = r.uniform(-1.0, 1.0, size=(n, 3))
    y = np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.05 * r.standard_normal(n)
    return X, y[:, None]


def blobs(n_per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters in the plane, integer labels 0, 1, 2."""
    r = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [-3.0, -2.0], [3.0, -2.0]])
    X = np.concatenate([c + 0.6 * r.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return X, y


def mlp(seed: int, sizes: tuple = (3, 32, 32, 1)) -> nn.Sequential:
    r = np.random.default_rng(seed)
    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, rng=r))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def full_mse(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with tl.no_grad():
        return float(nn.mse_loss(model(Tensor(X)), Tensor(y)).item())


def run_epochs(model: nn.Module, opt: optim.Optimizer, loader: DataLoader, epochs: int,
               loss_fn: Callable[[Tensor, Tensor], Tensor] = nn.mse_loss,
               sched: Any = None) -> None:
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        if sched is not None:
            sched.step()


# ----------------------------------------------------------------------------- learning


@pytest.mark.parametrize("make_opt", [
    pytest.param(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), id="sgd-momentum"),
    pytest.param(lambda ps: optim.SGD(ps, lr=0.1), id="sgd"),
    pytest.param(lambda ps: optim.Adam(ps, lr=0.01), id="adam"),
])
def test_minibatch_regression_learns(make_opt: Callable) -> None:
    X, y = regression_data()
    model = mlp(seed=1)
    opt = make_opt(model.parameters())
    loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=2)
    assert len(loader) == 10
    initial = full_mse(model, X, y)
    run_epochs(model, opt, loader, epochs=30)
    final = full_mse(model, X, y)
    assert final < 0.1 * initial
    assert final < 0.1 * float(y.var())  # explains over 90% of the variance


def test_dpsgd_regression_still_learns() -> None:
    X, y = regression_data()
    model = mlp(seed=1)
    opt = optim.DPSGD(model.parameters(), lr=0.5, max_grad_norm=1.0, noise_multiplier=0.5, rng=3)
    loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=2)
    initial = full_mse(model, X, y)
    seen_sizes = set()
    for _ in range(30):
        for xb, yb in loader:
            opt.zero_grad()
            nn.mse_loss(model(xb), yb).backward()
            for p in model.parameters():
                assert p.grad_sample is not None and p.grad_sample.shape == (len(xb.data),) + p.shape
            opt.step()
            seen_sizes.add(opt.last_batch_size)
    assert seen_sizes == {32}
    final = full_mse(model, X, y)
    assert final < 0.15 * initial
    assert final < 0.1 * float(y.var())  # noisy and clipped, yet explains over 90% of the variance


def test_classification_with_cross_entropy_and_adam() -> None:
    X, y = blobs()
    model = mlp(seed=4, sizes=(2, 16, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=5)

    def accuracy() -> float:
        with tl.no_grad():
            return float(np.mean(model(Tensor(X)).data.argmax(axis=1) == y))

    def full_ce() -> float:
        with tl.no_grad():
            return float(nn.cross_entropy(model(Tensor(X)), y).item())

    initial = full_ce()
    run_epochs(model, opt, loader, epochs=20, loss_fn=nn.cross_entropy)
    assert accuracy() >= 0.98
    assert full_ce() < 0.1 * initial


# ----------------------------------------------------------------------------- parity with torch


def _torch_copy(torch: Any, model: nn.Sequential) -> Any:
    mods = []
    for m in model:
        if isinstance(m, nn.Linear):
            mods.append(torch.nn.Linear(m.in_features, m.out_features))
        elif isinstance(m, nn.Tanh):
            mods.append(torch.nn.Tanh())
        else:
            raise AssertionError(f"no torch counterpart for {m!r}")
    tm = torch.nn.Sequential(*mods).double()
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    return tm


_PARITY = {
    "sgd-momentum": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
                     lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-2),
                        lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True,
                                                          weight_decay=1e-2)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01),
             lambda torch, ps: torch.optim.Adam(ps, lr=0.01)),
    "adam-wd": (lambda ps: optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), weight_decay=1e-2),
                lambda torch, ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), weight_decay=1e-2)),
}


@pytest.mark.parametrize("name", list(_PARITY))
def test_training_matches_torch(torch: Any, name: str) -> None:
    make_tl, make_torch = _PARITY[name]
    X, y = regression_data(n=80, seed=7)
    model = mlp(seed=8, sizes=(3, 16, 8, 1))
    tm = _torch_copy(torch, model)
    opt, topt = make_tl(model.parameters()), make_torch(torch, tm.parameters())
    loader = DataLoader(X, y, batch_size=16, shuffle=True, seed=9)
    steps = 0
    while steps < 20:
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            topt.zero_grad()
            tloss = torch.nn.functional.mse_loss(tm(torch.from_numpy(xb.data)), torch.from_numpy(yb.data))
            tloss.backward()
            topt.step()
            assert loss.item() == pytest.approx(tloss.item(), rel=1e-10, abs=1e-12)
            steps += 1
    assert steps == 20
    tparams = dict(tm.named_parameters())
    moved = 0.0
    start = mlp(seed=8, sizes=(3, 16, 8, 1)).state_dict()
    for name_, p in model.named_parameters():
        np.testing.assert_allclose(p.data, tparams[name_].detach().numpy(), rtol=1e-10, atol=1e-10,
                                   err_msg=name_)
        moved = max(moved, float(np.abs(p.data - start[name_]).max()))
    assert moved > 1e-2  # the runs really trained


# ----------------------------------------------------------------------------- checkpoints


_CKPT_OPTS = {
    "sgd-momentum": lambda ps, seed: optim.SGD(ps, lr=0.05, momentum=0.9),
    "adam": lambda ps, seed: optim.Adam(ps, lr=0.01),
    "dpsgd": lambda ps, seed: optim.DPSGD(ps, lr=0.3, max_grad_norm=1.0, noise_multiplier=0.5, rng=seed),
}


@pytest.mark.parametrize("name", list(_CKPT_OPTS))
def test_checkpoint_round_trip_mid_training(tmp_path: Any, name: str) -> None:
    make = _CKPT_OPTS[name]
    X, y = regression_data(n=96, seed=10)
    sizes = (3, 8, 1)

    def setup(model_seed: int, other_seed: int) -> tuple:
        model = mlp(seed=model_seed, sizes=sizes)
        opt = make(model.parameters(), other_seed)
        sched = optim.StepLR(opt, step_size=2, gamma=0.5)
        loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=other_seed)
        return model, opt, sched, loader

    # uninterrupted: 4 epochs
    model, opt, sched, loader = setup(11, 12)
    run_epochs(model, opt, loader, 4, sched=sched)
    expected = model.state_dict()

    # 2 epochs, save, restore into fresh objects (other seeds), 2 more epochs
    model, opt, sched, loader = setup(11, 12)
    run_epochs(model, opt, loader, 2, sched=sched)
    path = tmp_path / "ckpt.npz"
    tl.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(),
             "loader_rng": loader.rng.bit_generator.state, "epoch": 2}, path)
    del model, opt, sched, loader

    model, opt, sched, loader = setup(21, 22)
    assert not np.allclose(model.state_dict()["0.weight"], expected["0.weight"])
    ckpt = tl.load(path)
    assert ckpt["epoch"] == 2
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    sched.load_state_dict(ckpt["sched"])
    loader.rng.bit_generator.state = ckpt["loader_rng"]
    assert opt.param_groups[0]["lr"] == pytest.approx(opt.defaults["lr"] * 0.5)
    run_epochs(model, opt, loader, 4 - ckpt["epoch"], sched=sched)

    got = model.state_dict()
    assert list(got) == list(expected)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)


# ----------------------------------------------------------------------------- learning-rate schedule


def test_step_lr_in_a_training_loop_follows_the_schedule() -> None:
    X, y = regression_data(n=64, seed=13)
    model = mlp(seed=14, sizes=(3, 4, 1))
    head = list(model.parameters())[:2]
    rest = list(model.parameters())[2:]
    opt = optim.SGD([{"params": head, "lr": 0.1}, {"params": rest}], lr=0.04, momentum=0.5)
    sched = optim.StepLR(opt, step_size=3, gamma=0.5)
    loader = DataLoader(X, y, batch_size=16, seed=15)
    seen = []
    for epoch in range(10):
        seen.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == pytest.approx(seen[-1])
        run_epochs(model, opt, loader, 1)
        sched.step()
        assert sched.last_epoch == epoch + 1
    for epoch, lrs in enumerate(seen):
        factor = 0.5 ** (epoch // 3)
        assert lrs == pytest.approx([0.1 * factor, 0.04 * factor], rel=1e-15)


def test_step_lr_matches_torch(torch: Any) -> None:
    X, y = regression_data(n=64, seed=16)
    model = mlp(seed=17, sizes=(3, 6, 1))
    tm = _torch_copy(torch, model)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    topt = torch.optim.SGD(tm.parameters(), lr=0.2, momentum=0.9)
    sched = optim.StepLR(opt, step_size=2, gamma=0.3)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.3)
    loader = DataLoader(X, y, batch_size=32, seed=18)
    for _ in range(7):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-15)
        for xb, yb in loader:
            opt.zero_grad()
            nn.mse_loss(model(xb), yb).backward()
            opt.step()
            topt.zero_grad()
            torch.nn.functional.mse_loss(tm(torch.from_numpy(xb.data)), torch.from_numpy(yb.data)).backward()
            topt.step()
        sched.step()
        tsched.step()
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)
    tparams = dict(tm.named_parameters())
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.data, tparams[k].detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=k)
