"""InstanceNorm1d/2d/3d against torch 2.13 (float64): forward, gradients, running
statistics, eval mode, unbatched input, state_dict keys; and per-sample gradients equal to
each sample run alone (each instance uses its own statistics)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

RNG = np.random.default_rng(5)
SHAPES = {"InstanceNorm1d": [(4, 3, 5), (3, 5)], "InstanceNorm2d": [(4, 3, 5, 6), (3, 4, 4)],
          "InstanceNorm3d": [(2, 3, 3, 4, 5)]}
CASES = [(cls, shape) for cls, shapes in SHAPES.items() for shape in shapes]


@pytest.mark.parametrize("cls,shape", CASES)
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("track", [False, True])
def test_instance_norm_matches_torch_through_training_and_eval(cls, shape, affine, track) -> None:
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3).double()
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1.0, 1.0)
    ours = getattr(tl.nn, cls)(3, affine=affine, track_running_stats=track, momentum=0.3)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    for _ in range(3):
        x, r = RNG.standard_normal(shape), RNG.standard_normal(shape)
        tx, ox = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
        out_t, out_o = theirs(tx), ours(ox)
        np.testing.assert_allclose(out_o.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        (out_t * torch.tensor(r)).sum().backward()
        (out_o * tl.tensor(r)).sum().backward()
        np.testing.assert_allclose(ox.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-12)
    if affine:
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-10)
    theirs.eval()
    ours.eval()
    x = RNG.standard_normal(shape) * 2.0 + 1.0
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("track", [False, True])
def test_instance_norm_per_sample_gradients_equal_each_sample_alone(track) -> None:
    x = RNG.standard_normal((5, 2, 6))

    def model():
        return tl.nn.Sequential(tl.nn.Conv1d(2, 3, 3, rng=0), tl.nn.InstanceNorm1d(3, affine=True,
                                                                                   track_running_stats=track),
                                tl.nn.Tanh(), tl.nn.Flatten(), tl.nn.Linear(12, 1, rng=1))

    m = model()
    (m(tl.Tensor(x, batched=True)) ** 2).mean().backward()
    for b in range(5):
        alone = model()
        (alone(tl.Tensor(x[b:b + 1])) ** 2).mean().backward()
        for p, q in zip(m.parameters(), alone.parameters()):
            np.testing.assert_allclose(p.grad_sample[b], q.grad, rtol=1e-10, atol=1e-13)


def test_instance_norm_input_errors_name_the_layer_and_shape() -> None:
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3\): expected an input of shape \(B, C, ..., ...\) or "
                                         r"\(C, ..., ...\), got \(4, 3\)"):
        tl.nn.InstanceNorm2d(3)(tl.tensor(np.ones((4, 3))))
    with pytest.raises(ValueError, match=r"InstanceNorm1d\(3\): the input has 4 channels"):
        tl.nn.InstanceNorm1d(3, affine=True)(tl.tensor(np.ones((2, 4, 5))))
    with pytest.warns(UserWarning, match="the input has 4 channels"):
        out = tl.nn.InstanceNorm1d(3)(tl.tensor(RNG.standard_normal((2, 4, 5))))
    np.testing.assert_allclose(out.numpy().mean(axis=2), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="momentum"):
        tl.nn.InstanceNorm1d(3, momentum=2.0)


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d", "InstanceNorm1d", "GroupNorm", "LayerNorm"])
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}, {"affine": True, "bias": False}])
def test_norm_layers_take_torchs_bias_keyword(cls, kwargs) -> None:
    """torch's norm layers take ``bias=`` (keyword): ``affine=True, bias=False`` keeps a weight
    and no bias; the parameter names, the repr and the output follow torch."""
    torch = pytest.importorskip("torch")
    args = (3, 3) if cls == "GroupNorm" else (5,) if cls == "LayerNorm" else (3,)
    if cls == "LayerNorm":
        kwargs = {{"affine": "elementwise_affine"}.get(k, k): v for k, v in kwargs.items()}
    theirs, ours = getattr(torch.nn, cls)(*args, **kwargs).double(), getattr(tl.nn, cls)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if "weight" in theirs.state_dict():
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((4, 3, 5, 2) if cls.endswith("2d") else (4, 3, 5))
    np.testing.assert_allclose(ours(tl.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)
