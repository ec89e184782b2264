"""The one device: torch's device arguments and methods, answered for the CPU.

Code written for torch passes ``device=`` to factories and calls ``.to(device)``,
``.device``, ``.cuda()``, ``.half()``; here ``"cpu"`` (or ``tl.device("cpu")``, or a
``torch.device("cpu")``) is accepted everywhere, and any other device is a RuntimeError
naming the function, as torch built without that device.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

X = tl.tensor([[1.0, 2.0], [3.0, 4.0]])
FACTORIES = {
    "zeros": lambda d: tl.zeros(2, 3, device=d),
    "ones": lambda d: tl.ones((2,), device=d),
    "empty": lambda d: tl.empty(2, device=d),
    "full": lambda d: tl.full((2,), 1.5, device=d),
    "zeros_like": lambda d: tl.zeros_like(X, device=d),
    "ones_like": lambda d: tl.ones_like(X, device=d),
    "empty_like": lambda d: tl.empty_like(X, device=d),
    "full_like": lambda d: tl.full_like(X, 2.0, device=d),
    "randn": lambda d: tl.randn(2, device=d),
    "rand": lambda d: tl.rand(2, device=d),
    "randn_like": lambda d: tl.randn_like(X, device=d),
    "rand_like": lambda d: tl.rand_like(X, device=d),
    "arange": lambda d: tl.arange(3, device=d),
    "linspace": lambda d: tl.linspace(0, 1, 3, device=d),
    "eye": lambda d: tl.eye(2, device=d),
    "tensor": lambda d: tl.tensor([1.0], device=d),
    "as_tensor": lambda d: tl.as_tensor([1.0], device=d),
    "new_zeros": lambda d: X.new_zeros(2, device=d),
    "new_ones": lambda d: X.new_ones(2, device=d),
    "new_empty": lambda d: X.new_empty(2, device=d),
    "new_full": lambda d: X.new_full((2,), 3.0, device=d),
    "new_tensor": lambda d: X.new_tensor([1.0], device=d),
    "to": lambda d: X.to(d),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_factory_takes_the_cpu_and_refuses_other_devices(name) -> None:
    make = FACTORIES[name]
    for cpu in ("cpu", "cpu:0", tl.device("cpu"), None):
        out = make(cpu)
        assert isinstance(out, tl.Tensor) and out.device == "cpu" and out.device.type == "cpu"
    for other in ("cuda", "cuda:0", "mps", tl.device("cpu").type + ":1"):
        with pytest.raises(RuntimeError, match=f"{name}: device '{other}' is not available"):
            make(other)
    with pytest.raises(TypeError, match=f"{name}: (expected a device|dtype must be)"):  # to(3.5): a dtype?
        make(3.5)


def test_torch_devices_are_understood() -> None:
    torch = pytest.importorskip("torch")
    assert tl.zeros(2, device=torch.device("cpu")).shape == (2,)
    with pytest.raises(RuntimeError, match="device 'cuda:1' is not available"):
        tl.zeros(2, device=torch.device("cuda", 1))
    model = tl.nn.Linear(2, 2, rng=0)
    assert model.to(torch.device("cpu")) is model
    with pytest.raises(RuntimeError, match="to: device 'cuda' is not available"):
        model.to(torch.device("cuda"))


def test_the_usual_device_idiom_picks_the_cpu() -> None:
    device = tl.device("cuda" if tl.cuda.is_available() else "cpu")
    assert device == "cpu" and device.type == "cpu" and device.index is None and repr(device) == "device(type='cpu')"
    assert tl.cuda.device_count() == 0
    model = tl.nn.Linear(2, 1, rng=0).to(device)
    x = tl.randn(4, 2, device=device).to(device)
    assert model(x).device == device and not x.is_cuda
    with pytest.raises(RuntimeError, match="device: device 'cuda' is not available"):
        tl.device("cuda")


def test_cuda_is_refused_and_changes_nothing() -> None:
    model = tl.nn.Linear(2, 2, rng=0)
    before = model.state_dict()
    with pytest.raises(RuntimeError, match="cuda: device 'cuda' is not available"):
        model.cuda()
    with pytest.raises(RuntimeError, match="cuda: device 'cuda' is not available"):
        X.cuda()
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    assert model.cuda("cpu") is model and X.cuda("cpu") is X


def test_half_matches_torch_and_trains_in_float16() -> None:
    torch = pytest.importorskip("torch")
    ours = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 1, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    assert ours.half() is ours
    theirs.half()
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].dtype == np.float16
        np.testing.assert_array_equal(ours.state_dict()[k], v.numpy())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float16)
    t = tl.tensor(x)
    assert t.half().dtype == np.float16 and tl.tensor([1.0]).half().dtype == torch.tensor([1.0]).half().numpy().dtype
    opt = tl.optim.SGD(ours.parameters(), lr=0.1)
    loss = (ours(t) ** 2).mean()
    loss.backward()
    opt.step()
    assert loss.dtype == np.float16
    assert all(p.dtype == np.float16 and p.grad.dtype == np.float16 for p in ours.parameters())
