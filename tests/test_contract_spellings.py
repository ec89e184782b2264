"""The contract's spellings of the loss functions and SGD work beside torch's: mse_loss(pred,
target), cross_entropy(logits, labels, reduction) with those keywords or a positional
reduction, and SGD(params, lr, momentum, nesterov) with a bool fourth argument."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(0)
Z, Y, T = RNG.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0]), RNG.normal(size=(5, 3))


def test_mse_loss_takes_pred_as_the_contract_names_it() -> None:
    ref = tl.nn.mse_loss(tl.Tensor(Z), tl.Tensor(T), reduction="sum").item()
    assert tl.nn.mse_loss(pred=tl.Tensor(Z), target=tl.Tensor(T), reduction="sum").item() == ref
    with pytest.raises(TypeError, match="mse_loss: give exactly one of input / pred"):
        tl.nn.mse_loss(tl.Tensor(Z), tl.Tensor(T), pred=tl.Tensor(Z))
    with pytest.raises(TypeError, match="mse_loss: missing the argument 'target'"):
        tl.nn.mse_loss(tl.Tensor(Z))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_takes_logits_labels_and_a_positional_reduction(reduction: str) -> None:
    ref = tl.nn.cross_entropy(tl.Tensor(Z), Y, reduction=reduction).numpy()
    np.testing.assert_array_equal(tl.nn.cross_entropy(logits=tl.Tensor(Z), labels=Y, reduction=reduction).numpy(), ref)
    np.testing.assert_array_equal(tl.nn.cross_entropy(tl.Tensor(Z), Y, reduction).numpy(), ref)


def test_cross_entropy_still_takes_torch_class_weights_third() -> None:
    w = np.array([1.0, 2.0, 0.5])
    torch = pytest.importorskip("torch")
    ours = tl.nn.cross_entropy(tl.Tensor(Z), Y, tl.Tensor(w)).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(Y), torch.tensor(w)).item()
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_sgd_with_a_bool_fourth_argument_is_nesterov_as_the_contract_orders_them() -> None:
    p = tl.Tensor(np.ones(2), requires_grad=True)
    group = tl.optim.SGD([p], 0.1, 0.9, True).param_groups[0]
    assert group["nesterov"] is True and group["dampening"] == 0.0
    group = tl.optim.SGD([p], 0.1, 0.9, 0.25).param_groups[0]  # (torch's order: dampening)
    assert group["nesterov"] is False and group["dampening"] == 0.25
    group = tl.optim.SGD([p], 0.1, 0.9, nesterov=True).param_groups[0]
    assert group["nesterov"] is True and group["dampening"] == 0.0
