"""Gradients kept as factors by the default backward are those of the backward, even when a
value they are made of changes in place before they are read (tinygrad_lite.keptinputs)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")
from torch.func import functional_call, grad, vmap  # noqa: E402


def _torch_grads(tm: "torch.nn.Module", loss_fn, X: np.ndarray, Y: np.ndarray) -> tuple:
    """torch's batch gradient and per-sample gradients (vmap over single-sample costs)."""
    params = {k: v.detach().requires_grad_() for k, v in tm.named_parameters()}
    x, y = torch.tensor(X), torch.tensor(Y)
    batch = torch.autograd.grad(loss_fn(functional_call(tm, params, (x,)), y), list(params.values()))
    params = {k: v.detach() for k, v in params.items()}

    def one(p, xb, yb):
        return loss_fn(functional_call(tm, p, (xb[None],)), yb[None])

    per = vmap(grad(one), in_dims=(None, 0, 0))(params, x, y)
    return dict(zip(params, (g.numpy() for g in batch))), {k: v.numpy() for k, v in per.items()}


@pytest.mark.parametrize("write", ["isub", "copy_", "view fill_"])
def test_input_changed_in_place_after_backward(write: str) -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.Tanh(), tl.nn.Linear(4, 2, rng=1))
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    tm.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    grads, per = _torch_grads(tm, torch.nn.functional.mse_loss, X, Y)

    x = tl.Tensor(X.copy(), batched=True, requires_grad=True)
    tl.nn.mse_loss(model(x), Y).backward()
    with tl.no_grad():  # a saliency ("dreaming") step, or the next batch into the same tensor
        if write == "isub":
            x -= 10.0 * x.grad
        elif write == "copy_":
            x.copy_(rng.normal(size=X.shape))
        else:
            x[0:4].fill_(3.0)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name], rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(p.grad_sample, per[name], rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(p.grad_sample_norm, np.linalg.norm(per[name].reshape(8, -1), axis=1),
                                   rtol=1e-10, err_msg=name)


class _WeightNorm(tl.nn.Module):
    """y = x W^T with W = g * v / |v| (rows), the parameters meeting the batch through ops."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.v = tl.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
        self.g = tl.Tensor(rng.uniform(0.5, 2.0, size=(2, 1)), requires_grad=True)

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x @ (self.g * self.v / (self.v * self.v).sum(1, keepdims=True).sqrt()).T


class _TorchWeightNorm(torch.nn.Module):
    def __init__(self, v: np.ndarray, g: np.ndarray) -> None:
        super().__init__()
        self.v, self.g = torch.nn.Parameter(torch.tensor(v)), torch.nn.Parameter(torch.tensor(g))

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        return x @ (self.g * self.v / (self.v * self.v).sum(1, keepdim=True).sqrt()).T


@pytest.mark.parametrize("read", ["grad_sample", "grad_sample_norm"])
def test_parameter_side_ops_read_after_an_optimizer_step(read: str) -> None:
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    model = _WeightNorm(rng)
    tm = _TorchWeightNorm(model.v.data.copy(), model.g.data.copy()).double()
    _, per = _torch_grads(tm, torch.nn.functional.mse_loss, X, Y)

    opt = tl.optim.SGD(model.parameters(), lr=0.5)
    tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), Y).backward()
    opt.step()  # changes v and g in place before the per-sample gradients are read
    for name, p in model.named_parameters():
        want = per[name] if read == "grad_sample" else np.linalg.norm(per[name].reshape(6, -1), axis=1)
        np.testing.assert_allclose(getattr(p, read), want, rtol=1e-10, atol=1e-12, err_msg=name)
