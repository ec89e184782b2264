"""``tl.nn.utils.prune`` against ``torch.nn.utils.prune`` in float64: the masks and pruned
weights of each method (structured ones along several dims and norms), iterative pruning
through a PruningContainer, ``global_unstructured`` over several modules, ``remove``,
``is_pruned``, gradients and optimizer steps of pruned models, state-dict keys and loading
torch's, per-sample gradients against each sample's own backward, the random methods'
counts and seeding, and the errors (which change nothing); then
``parametrizations.orthogonal`` (each map, with and without trivialization, square, tall,
wide and batched matrices): torch's weight, gradients and SGD steps, orthogonality to 1e-12,
assignment and errors."""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np
import pytest
from conftest import close as _close
from conftest import load_torch_state as _load

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F
from tinygrad_lite.nn.utils import prune

torch = pytest.importorskip("torch")
TP = pytest.importorskip("torch.nn.utils.prune")


def _pair(kind: str, seed: int = 0) -> tuple:
    """Our layer and torch's (float64) with the same tie-free weights."""
    if kind == "linear":
        m, tm = nn.Linear(6, 5), torch.nn.Linear(6, 5).double()
    else:
        m, tm = nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3).double()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    _load(m, tm)
    return m, tm


def _same(m: Any, tm: Any, name: str = "weight") -> None:
    """Same mask, original, pruned tensor and state dict (keys in order, values)."""
    assert np.array_equal(getattr(m, name + "_mask").data, getattr(tm, name + "_mask").numpy())
    _close(getattr(m, name + "_orig").data, getattr(tm, name + "_orig").detach().numpy(), name + "_orig", 1e-15)
    _close(getattr(m, name).data, getattr(tm, name).detach().numpy(), name, 1e-15)
    tsd = tm.state_dict()
    sd = m.state_dict()
    assert list(sd) == list(tsd)
    for k, v in sd.items():
        _close(v, tsd[k].numpy(), k, 1e-15)


# (name, our function, torch's, positional arguments after the module and tensor name)
METHODS = [
    ("l1_float", prune.l1_unstructured, TP.l1_unstructured, (0.35,)),
    ("l1_int", prune.l1_unstructured, TP.l1_unstructured, (7,)),
    ("l1_all", prune.l1_unstructured, TP.l1_unstructured, (1.0,)),
    ("l1_none", prune.l1_unstructured, TP.l1_unstructured, (0,)),
    ("ln2_dim0", prune.ln_structured, TP.ln_structured, (2, 2, 0)),
    ("ln1_dim1", prune.ln_structured, TP.ln_structured, (0.5, 1, 1)),
    ("lninf_dimlast", prune.ln_structured, TP.ln_structured, (1, float("inf"), -1)),
    ("lnneginf_dim0", prune.ln_structured, TP.ln_structured, (0.4, float("-inf"), 0)),
    ("ln3_dim1", prune.ln_structured, TP.ln_structured, (0.34, 3, 1)),
    ("ln_keep_none", prune.ln_structured, TP.ln_structured, (1.0, 2, 0)),
    ("identity", prune.identity, TP.identity, ()),
]


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("case", METHODS, ids=[c[0] for c in METHODS])
def test_each_method_gives_torchs_mask_and_weight(kind: str, case: tuple) -> None:
    _, fn, tfn, args = case
    m, tm = _pair(kind)
    assert fn(m, "weight", *args) is m
    tfn(tm, "weight", *args)
    _same(m, tm)
    assert isinstance(m.weight_orig, tl.Tensor) and m.weight_orig.requires_grad
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert repr(m) == repr(tm)


def test_frobenius_structured_pruning_of_a_matrix_as_torch() -> None:
    m, tm = _pair("linear", 6)
    prune.ln_structured(m, "weight", 0.6, "fro", 0), TP.ln_structured(tm, "weight", 0.6, "fro", 0)
    _same(m, tm)
    prune.ln_structured(m, "weight", 2, "fro", 1), TP.ln_structured(tm, "weight", 2, "fro", 1)
    _same(m, tm)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_custom_mask_and_importance_scores_as_torch(kind: str) -> None:
    m, tm = _pair(kind)
    rng = np.random.default_rng(5)
    mask = (rng.random(m.weight.shape) > 0.4).astype(np.float64)
    prune.custom_from_mask(m, "weight", mask=tl.Tensor(mask))
    TP.custom_from_mask(tm, "weight", mask=torch.tensor(mask))
    _same(m, tm)
    scores = rng.standard_normal(m.bias.shape)
    prune.l1_unstructured(m, "bias", 2, importance_scores=tl.Tensor(scores))
    TP.l1_unstructured(tm, "bias", 2, importance_scores=torch.tensor(scores))
    _same(m, tm, "bias")
    m2, tm2 = _pair(kind, 1)
    s = rng.standard_normal(m2.weight.shape)
    prune.ln_structured(m2, "weight", 0.5, 1, 0, importance_scores=s)
    TP.ln_structured(tm2, "weight", 0.5, 1, 0, importance_scores=torch.tensor(s))
    _same(m2, tm2)


# steps of iterative pruning on one tensor: (function name, arguments after module and name)
STEPS = [("l1_unstructured", (0.3,)), ("ln_structured", (1, 2, 0)), ("l1_unstructured", (4,)),
         ("ln_structured", (0.5, 1, 1)), ("custom_from_mask", None), ("l1_unstructured", (0.5,)),
         ("identity", ())]


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_iterative_pruning_composes_masks_as_torch(kind: str) -> None:
    m, tm = _pair(kind, 3)
    rng = np.random.default_rng(7)
    for i, (name, args) in enumerate(STEPS):
        if args is None:
            mask = (rng.random(m.weight.shape) > 0.2).astype(np.float64)
            getattr(prune, name)(m, "weight", mask)
            getattr(TP, name)(tm, "weight", torch.tensor(mask))
        else:
            getattr(prune, name)(m, "weight", *args)
            getattr(TP, name)(tm, "weight", *args)
        _same(m, tm)
        hooks = [h for h in tm._forward_pre_hooks.values()]
        ours = [fn for fn, *_ in m.__dict__["_module_hooks"].pre.values()]
        assert len(ours) == len(hooks) == 1
        if i:
            assert isinstance(ours[0], prune.PruningContainer) and len(ours[0]) == i + 1
            assert [type(p).__name__ for p in ours[0]] == [type(p).__name__ for p in hooks[0]]
    # the fraction applies to what is left: 50% of the surviving entries go
    before = int(m.weight_mask.data.sum())
    prune.l1_unstructured(m, "weight", 0.5)
    assert int(m.weight_mask.data.sum()) == before - round(0.5 * before)


def test_a_later_method_sees_the_pruned_weight_and_the_fraction_of_what_survives() -> None:
    m = nn.Linear(10, 8)
    m.weight.data = np.arange(1.0, 81.0).reshape(8, 10)
    prune.ln_structured(m, "weight", 0.25, 2, 0)  # rows 0, 1 (the smallest norms) go
    assert np.array_equal(m.weight_mask.data.sum(axis=1), [0, 0] + [10] * 6)
    prune.ln_structured(m, "weight", 0.5, 2, 0)  # half of the 6 surviving rows: rows 2, 3, 4
    assert np.array_equal(m.weight_mask.data.sum(axis=1), [0] * 5 + [10] * 3)
    prune.l1_unstructured(m, "weight", 0.1)  # 3 of the 30 surviving entries: 51, 52, 53
    assert np.array_equal(np.flatnonzero(m.weight_mask.data.reshape(-1) == 0)[-3:], [50, 51, 52])
    assert int(m.weight_mask.data.sum()) == 27


def test_global_unstructured_over_several_modules_as_torch() -> None:
    (a, ta), (c, tc), (b, tb) = _pair("linear", 0), _pair("conv", 1), _pair("linear", 2)
    prune.l1_unstructured(b, "weight", 0.2)  # an already pruned one joins with its mask
    TP.l1_unstructured(tb, "weight", 0.2)
    rng = np.random.default_rng(3)
    s = rng.standard_normal(c.weight.shape)
    prune.global_unstructured([(a, "weight"), (c, "weight"), (b, "weight"), (a, "bias")], prune.L1Unstructured,
                              importance_scores={(c, "weight"): tl.Tensor(s)}, amount=0.4)
    TP.global_unstructured([(ta, "weight"), (tc, "weight"), (tb, "weight"), (ta, "bias")], TP.L1Unstructured,
                           importance_scores={(tc, "weight"): torch.tensor(s)}, amount=0.4)
    for m, tm in ((a, ta), (c, tc), (b, tb)):
        _same(m, tm)
    _same(a, ta, "bias")
    assert isinstance(a.__dict__["_module_hooks"].pre, dict)
    # again, an int amount: over the entries still unpruned, across the modules
    prune.global_unstructured(((m, "weight") for m in (a, c, b)), prune.L1Unstructured, amount=25)
    TP.global_unstructured([(m, "weight") for m in (ta, tc, tb)], TP.L1Unstructured, amount=25)
    for m, tm in ((a, ta), (c, tc), (b, tb)):
        _same(m, tm)
    pruned = sum(int((m.weight_mask.data == 0).sum()) for m in (a, c, b))
    assert pruned == sum(int((tm.weight_mask == 0).sum()) for tm in (ta, tc, tb))


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_remove_makes_the_pruning_permanent_as_torch(kind: str) -> None:
    m, tm = _pair(kind, 4)
    orig = m.weight
    prune.l1_unstructured(m, "weight", 0.3), TP.l1_unstructured(tm, "weight", 0.3)
    prune.ln_structured(m, "weight", 1, 2, 0), TP.ln_structured(tm, "weight", 1, 2, 0)
    prune.random_unstructured(m, "bias", 2), TP.random_unstructured(tm, "bias", 2)
    assert prune.is_pruned(m) and m.weight_orig is orig
    assert prune.remove(m, "weight") is m
    TP.remove(tm, "weight")
    assert m.weight is orig and m.weight.requires_grad and m.weight._op is None
    _close(m.weight.data, tm.weight.detach().numpy(), "weight", 1e-15)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert not hasattr(m, "weight_orig") and not hasattr(m, "weight_mask")
    assert prune.is_pruned(m)  # the bias still is
    prune.remove(m, "bias"), TP.remove(tm, "bias")
    assert not prune.is_pruned(m)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(m.state_dict()) == list(tm.state_dict())
    assert m.__dict__["_module_hooks"].pre == {}
    with pytest.raises(ValueError, match="remove: parameter 'weight' of .* has to be pruned"):
        prune.remove(m, "weight")
    with pytest.raises(ValueError):
        TP.remove(tm, "bias_nope")


def test_a_user_written_method_joins_the_container_as_torchs() -> None:
    def every_other(base: type) -> type:
        class EveryOther(base):  # type: ignore[misc,valid-type]
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t: Any, default_mask: Any) -> Any:
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        return EveryOther

    m, tm = _pair("conv", 14)
    prune.l1_unstructured(m, "weight", 0.2), TP.l1_unstructured(tm, "weight", 0.2)
    every_other(prune.BasePruningMethod).apply(m, "weight")
    every_other(TP.BasePruningMethod).apply(tm, "weight")
    _same(m, tm)
    with pytest.raises(TypeError, match="abstract"):
        prune.BasePruningMethod()  # type: ignore[abstract]
    with pytest.raises(KeyError, match="already has an attribute 'bias_orig'"):
        m.register_buffer("bias_orig", np.zeros(4))
        prune.l1_unstructured(m, "bias", 1)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]


def test_is_pruned_looks_at_every_submodule() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
    assert not prune.is_pruned(model)
    model[1].register_forward_pre_hook(lambda mod, args: None)
    assert not prune.is_pruned(model)
    prune.identity(model[2][0], "bias")
    assert prune.is_pruned(model) and not prune.is_pruned(model[0])
    assert np.array_equal(model[2][0].bias_mask.data, np.ones(2))


def _models(seed: int) -> tuple:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.conv = nn.Conv2d(2, 3, 3)
            self.fc = nn.Linear(12, 2)

        def forward(self, x: Any) -> tl.Tensor:
            return self.fc(self.conv(x).tanh().reshape(x.shape[0], -1))

    class TNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, 3)
            self.fc = torch.nn.Linear(12, 2)

        def forward(self, x: Any) -> Any:
            return self.fc(self.conv(x).tanh().reshape(x.shape[0], -1))

    m, tm = Net(), TNet().double()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
    _load(m, tm)
    for mod, tmod in ((m, tm),):
        for prune_, lib in ((prune, mod), (TP, tmod)):
            prune_.ln_structured(lib.conv, "weight", 1, 2, 0)
            prune_.l1_unstructured(lib.conv, "weight", 0.3)
            prune_.l1_unstructured(lib.fc, "weight", 0.5)
            prune_.l1_unstructured(lib.fc, "bias", 1)
    return m, tm


def test_gradients_and_sgd_steps_of_a_pruned_model_are_torchs() -> None:
    m, tm = _models(0)
    assert list(m.state_dict()) == list(tm.state_dict())
    opt = tl.optim.SGD(m.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for step in range(3):
        X, y = rng.standard_normal((4, 2, 4, 4)), rng.integers(0, 2, 4)
        opt.zero_grad(), tm.zero_grad()
        loss = F.cross_entropy(m(tl.Tensor(X)), y)
        tloss = torch.nn.functional.cross_entropy(tm(torch.tensor(X)), torch.tensor(y))
        loss.backward(), tloss.backward()
        _close(loss.data, tloss.item(), f"loss {step}", 1e-12)
        tp = dict(tm.named_parameters())
        assert [n for n, _ in m.named_parameters()] == list(tp)
        for n, p in m.named_parameters():
            _close(p.grad, tp[n].grad.numpy(), f"{n}.grad {step}", 1e-12)
            mask = m.get_buffer(n.replace("_orig", "_mask")) if n.endswith("_orig") else None
            if mask is not None:
                assert np.all(p.grad[mask.data == 0] == 0)
        opt.step()
        with torch.no_grad():  # (torch's SGD step, written out: its first call is slow to set up)
            for p in tm.parameters():
                p -= 0.1 * p.grad
    tsd = tm.state_dict()
    for k, v in m.state_dict().items():
        _close(v, tsd[k].numpy(), k, 1e-12)
    _close(m.fc.weight.data, tm.fc.weight.detach().numpy(), "recomputed weight", 1e-12)


def test_a_pruned_torch_models_state_dict_loads() -> None:
    m, tm = _models(2)
    _, tm2 = _models(3)  # other values, other masks
    m.load_state_dict({k: v.numpy() for k, v in tm2.state_dict().items()})
    X = np.random.default_rng(4).standard_normal((3, 2, 4, 4))
    _close(m(tl.Tensor(X)).data, tm2(torch.tensor(X)).detach().numpy(), "output with torch's loaded state", 1e-12)
    assert np.array_equal(m.conv.weight_mask.data, tm2.conv.weight_mask.numpy())
    plain = nn.Linear(12, 2)
    missing, extra = plain.load_state_dict({k[3:]: v.numpy() for k, v in tm2.state_dict().items()
                                            if k.startswith("fc.")}, strict=False)
    assert sorted(missing) == ["bias", "weight"] and sorted(extra) == ["bias_mask", "bias_orig", "weight_mask",
                                                                        "weight_orig"]


def test_per_sample_gradients_of_the_originals_equal_each_samples_own() -> None:
    m, _ = _models(5)
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((5, 2, 4, 4)), rng.integers(0, 2, 5)
    rows: dict = {n: [] for n, _ in m.named_parameters()}
    for b in range(5):
        m.zero_grad()
        F.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
        for n, p in m.named_parameters():
            rows[n].append(p.grad.copy())
    m.zero_grad()
    F.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
    for n, p in m.named_parameters():
        _close(p.grad_sample, np.stack(rows[n]), f"grad_sample of {n}", 1e-12)
    mask = m.conv.weight_mask.data
    assert np.all(m.conv.weight_orig.grad_sample[:, mask == 0] == 0)
    assert np.any(m.conv.weight_orig.grad_sample[:, mask == 1] != 0)


def test_prune_of_a_bare_tensor_is_differentiable_as_torch() -> None:
    rng = np.random.default_rng(8)
    t = rng.standard_normal((4, 5))
    x = tl.Tensor(t, requires_grad=True)
    tx = torch.tensor(t, requires_grad=True)
    for meth, tmeth in ((prune.L1Unstructured(0.4), TP.L1Unstructured(0.4)),
                        (prune.LnStructured(2, 1, dim=1), TP.LnStructured(2, 1, dim=1))):
        default = (rng.random(t.shape) > 0.3).astype(np.float64)
        s = rng.standard_normal(t.shape)
        out = meth.prune(x, default_mask=tl.Tensor(default), importance_scores=s)
        tout = tmeth.prune(tx, default_mask=torch.tensor(default), importance_scores=torch.tensor(s))
        _close(out.data, tout.detach().numpy(), type(meth).__name__, 1e-15)
        w = rng.standard_normal(t.shape)
        (out * tl.Tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        _close(x.grad, tx.grad.numpy(), "grad", 1e-15)
    assert np.array_equal(prune.Identity().prune(x).data, t)


def test_random_methods_prune_the_right_counts_and_follow_the_seed() -> None:
    def masks(seed: int) -> tuple:
        tl.manual_seed(seed)
        a, c = nn.Linear(10, 6), nn.Conv2d(4, 8, 3)
        prune.random_unstructured(a, "weight", 0.5)
        prune.random_unstructured(a, "weight", 0.5)  # half of the 30 left
        prune.random_structured(c, "weight", 3, 0)
        prune.random_structured(c, "weight", 0.5, 1)  # 2 of the 4 input channels
        return a.weight_mask.data.copy(), c.weight_mask.data.copy()

    a1, c1 = masks(0)
    a2, c2 = masks(0)
    a3, c3 = masks(1)
    assert np.array_equal(a1, a2) and np.array_equal(c1, c2)
    assert not (np.array_equal(a1, a3) and np.array_equal(c1, c3))
    assert int(a1.sum()) == 60 - 30 - 15
    kept_out = c1.reshape(8, -1).any(axis=1)
    kept_in = c1.transpose(1, 0, 2, 3).reshape(4, -1).any(axis=1)
    assert kept_out.sum() == 5 and kept_in.sum() == 2
    assert np.array_equal(c1, np.einsum("o,i->oi", kept_out, kept_in)[:, :, None, None] * np.ones((1, 1, 3, 3)))
    # every entry is pruned about as often as any other (uniform choice)
    tl.manual_seed(3)
    hits = np.zeros(20)
    for _ in range(400):
        hits += prune.RandomUnstructured(5).compute_mask(np.zeros(20), np.ones(20)).data == 0
    assert hits.sum() == 2000 and hits.min() > 60 and hits.max() < 140


def _state(m: Any) -> tuple:
    hooks = m.__dict__.get("_module_hooks")
    pre = [(fn, len(fn) if isinstance(fn, prune.PruningContainer) else None) for fn, *_ in hooks.pre.values()] \
        if hooks is not None else []
    return list(m.state_dict()), [v.copy() for v in m.state_dict().values()], pre


@pytest.mark.parametrize("call,tcall,err,match", [
    (lambda m: prune.l1_unstructured(m, "weight", -1), lambda m: TP.l1_unstructured(m, "weight", -1), ValueError,
     "L1Unstructured: amount=-1 should either be a float in the range"),
    (lambda m: prune.l1_unstructured(m, "weight", 1.5), lambda m: TP.l1_unstructured(m, "weight", 1.5), ValueError,
     "amount=1.5"),
    (lambda m: prune.random_unstructured(m, "weight", "a"), lambda m: TP.random_unstructured(m, "weight", "a"),
     TypeError, "RandomUnstructured: invalid type for amount: 'a'"),
    (lambda m: prune.l1_unstructured(m, "weight", 31), lambda m: TP.l1_unstructured(m, "weight", 31), ValueError,
     "amount=31 should be smaller than the number of parameters to prune=(30|27)"),
    (lambda m: prune.ln_structured(m, "bias", 1, 2, 0), lambda m: TP.ln_structured(m, "bias", 1, 2, 0), ValueError,
     "structured pruning can only be applied to multidimensional tensors.*\\(5,\\)"),
    (lambda m: prune.ln_structured(m, "weight", 1, 2, 2), lambda m: TP.ln_structured(m, "weight", 1, 2, 2),
     IndexError, "invalid index 2 for a tensor of shape \\(5, 6\\)"),
    (lambda m: prune.random_structured(m, "weight", 6, 0), lambda m: TP.random_structured(m, "weight", 6, 0),
     ValueError, "amount=6 should be smaller"),
    (lambda m: prune.l1_unstructured(m, "weight", 0.5, importance_scores=np.ones(3)),
     lambda m: TP.l1_unstructured(m, "weight", 0.5, importance_scores=torch.ones(3)), (ValueError, AssertionError),
     "importance_scores should have the shape \\(5, 6\\)"),
    (lambda m: prune.custom_from_mask(m, "weight", np.ones((6, 5))),
     lambda m: TP.custom_from_mask(m, "weight", torch.ones(6, 5)), (ValueError, AssertionError),
     "CustomFromMask: the mask of shape \\(6, 5\\)"),
    (lambda m: prune.l1_unstructured(m, "nope", 0.5), lambda m: TP.l1_unstructured(m, "nope", 0.5),
     (ValueError, AttributeError), "no parameter named 'nope'"),
])
def test_bad_input_raises_torchs_error_and_changes_nothing(call: Callable, tcall: Callable, err: Any,
                                                           match: str) -> None:
    for first in (False, True):  # on a fresh tensor, then on one pruned before (the container path)
        m, tm = _pair("linear", 9)
        if first:
            prune.l1_unstructured(m, "weight", 2), TP.l1_unstructured(tm, "weight", 2)
            prune.l1_unstructured(m, "weight", 1), TP.l1_unstructured(tm, "weight", 1)
        before = _state(m)
        with pytest.raises(err, match=match):
            call(m)
        with pytest.raises(err if isinstance(err, tuple) else (err,)):
            tcall(tm)
        after = _state(m)
        assert after[0] == before[0] and after[2] == before[2]
        assert all(np.array_equal(a, b) for a, b in zip(after[1], before[1]))


def test_global_unstructured_refuses_bad_input_as_torch() -> None:
    a, ta = _pair("linear")
    before = _state(a)
    with pytest.raises(TypeError, match="global_unstructured: parameters is not an iterable"):
        prune.global_unstructured(a, prune.L1Unstructured, amount=0.2)
    with pytest.raises(TypeError):
        TP.global_unstructured(ta, TP.L1Unstructured, amount=0.2)
    with pytest.raises(TypeError, match="only 'unstructured' pruning methods.*LnStructured"):
        prune.global_unstructured([(a, "weight")], prune.LnStructured, amount=0.2, n=2, dim=0)
    with pytest.raises(TypeError, match="Only \"unstructured\""):
        TP.global_unstructured([(ta, "weight")], TP.LnStructured, amount=0.2, n=2, dim=0)
    with pytest.raises(TypeError, match="importance_scores must be a dict"):
        prune.global_unstructured([(a, "weight")], prune.L1Unstructured, importance_scores=[1], amount=0.2)
    with pytest.raises(TypeError, match="must be a \\(module, name\\) pair"):
        prune.global_unstructured([a], prune.L1Unstructured, amount=0.2)
    with pytest.raises(ValueError, match="amount=1000 should be smaller than the number of parameters to prune=35"):
        prune.global_unstructured([(a, "weight"), (a, "bias")], prune.L1Unstructured, amount=1000)
    with pytest.raises(ValueError):
        TP.global_unstructured([(ta, "weight"), (ta, "bias")], TP.L1Unstructured, amount=1000)
    after = _state(a)
    assert after[0] == before[0] and after[2] == before[2] == []
    assert not prune.is_pruned(a)


def test_a_deep_copy_of_a_pruned_module_recomputes_its_own_weight() -> None:
    m, tm = _pair("linear", 10)
    prune.l1_unstructured(m, "weight", 0.5)
    prune.l1_unstructured(m, "weight", 0.5)
    c = copy.deepcopy(m)
    with tl.no_grad():
        c.weight_orig.data = c.weight_orig.data * 2.0
    X = np.random.default_rng(0).standard_normal((2, 6))
    c(tl.Tensor(X))
    _close(c.weight.data, 2.0 * m.weight_orig.data * m.weight_mask.data, "copy's weight", 1e-15)
    m(tl.Tensor(X))
    _close(m.weight.data, m.weight_orig.data * m.weight_mask.data, "original's weight", 1e-15)
    assert isinstance(c.__dict__["_module_hooks"].pre[next(iter(c.__dict__["_module_hooks"].pre))][0],
                      prune.PruningContainer)
    prune.remove(c, "weight")
    assert prune.is_pruned(m) and not prune.is_pruned(c)


# ------------------------------------------------------------------ parametrizations.orthogonal ----------
ORTH = [(shape, mp, triv) for shape in ((4, 4), (5, 3), (3, 5)) for mp in ("matrix_exp", "cayley", "householder")
        for triv in (True, False)]


def _orth_error(w: np.ndarray) -> float:
    """max |Q^T Q - I| with Q the matrix taken tall (its transpose when wide), batched too."""
    q = w if w.shape[-2] >= w.shape[-1] else w.swapaxes(-2, -1)
    return float(np.abs(q.swapaxes(-2, -1) @ q - np.eye(q.shape[-1])).max())


@pytest.mark.parametrize("shape,mp,triv", ORTH, ids=[f"{s[0]}x{s[1]}-{m}-{t}" for s, m, t in ORTH])
def test_orthogonal_is_torchs_and_stays_orthogonal_under_sgd(shape: tuple, mp: str, triv: bool) -> None:
    orthogonal, torth = nn.utils.parametrizations.orthogonal, torch.nn.utils.parametrizations.orthogonal
    rng = np.random.default_rng(11)
    m, tm = nn.Linear(shape[1], shape[0]), torch.nn.Linear(shape[1], shape[0]).double()
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(rng.standard_normal(shape) * 0.7))
    _load(m, tm)
    assert orthogonal(m, orthogonal_map=mp, use_trivialization=triv) is m
    torth(tm, orthogonal_map=mp, use_trivialization=triv)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(m) == repr(tm)
    _close(m.weight.data, tm.weight.detach().numpy(), "weight", 1e-12)
    assert _orth_error(m.weight.data) < 1e-12
    tsd = tm.state_dict()
    k = min(shape)
    for key, v in m.state_dict().items():  # (a wide or tall base is completed with random columns: its first k)
        tv = tsd[key].numpy()
        _close(v[:, :k] if key.endswith("base") else v, tv[:, :k] if key.endswith("base") else tv, key, 1e-12)
    _load(m, tm)  # torch's completion of the base, so the steps below can match
    start = m.parametrizations.weight.original.data.copy()
    opt = tl.optim.SGD(m.parameters(), lr=0.2)
    X = rng.standard_normal((4, shape[1]))
    T = rng.standard_normal((4, shape[0]))
    for step in range(3):
        opt.zero_grad(), tm.zero_grad()
        ((m(tl.Tensor(X)) - tl.Tensor(T)) ** 2).sum().backward()
        ((tm(torch.tensor(X)) - torch.tensor(T)) ** 2).sum().backward()
        tp = dict(tm.named_parameters())
        for n, p in m.named_parameters():
            _close(p.grad, tp[n].grad.numpy(), f"{n}.grad {step}", 1e-11)
        opt.step()
        with torch.no_grad():
            for p in tm.parameters():
                p -= 0.2 * p.grad
        _close(m.weight.data, tm.weight.detach().numpy(), f"weight after step {step}", 1e-11)
        assert _orth_error(m.weight.data) < 1e-12
    assert np.abs(m.parametrizations.weight.original.data - start).max() > 1e-3  # (the steps moved the original)


@pytest.mark.parametrize("mp", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(2, 4, 4), (2, 5, 3), (2, 3, 5)])
def test_orthogonal_on_a_batch_of_matrices_and_assignment_as_torch(mp: str, shape: tuple) -> None:
    class Holder(nn.Module):
        def __init__(self, w: np.ndarray) -> None:
            self.weight = tl.Tensor(w, requires_grad=True)

    class THolder(torch.nn.Module):
        def __init__(self, w: np.ndarray) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(w))

    rng = np.random.default_rng(12)
    w = rng.standard_normal(shape)
    m, tm = Holder(w.copy()), THolder(w.copy())
    nn.utils.parametrizations.orthogonal(m, orthogonal_map=mp)
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=mp)
    _close(m.weight.data, tm.weight.detach().numpy(), "weight", 1e-12)
    assert _orth_error(m.weight.data) < 1e-12
    tall = shape if shape[1] >= shape[2] else (shape[0], shape[2], shape[1])
    Q = np.linalg.qr(rng.standard_normal(tall))[0]
    Q = Q if shape[1] >= shape[2] else Q.swapaxes(-2, -1)
    m.weight = Q
    with torch.no_grad():
        tm.weight = torch.tensor(Q)
    _close(m.weight.data, Q, "assigned", 1e-12)
    _close(m.weight.data, tm.weight.detach().numpy(), "assigned as torch", 1e-12)
    before = m.parametrizations.weight.original.data.copy()
    with pytest.raises(ValueError, match=r"orthogonal: expected a matrix or batch of matrices of shape"):
        m.weight = np.ones((3, 3))
    assert np.array_equal(m.parametrizations.weight.original.data, before)


def test_orthogonal_without_trivialization_refuses_assignment_and_picks_torchs_default_map() -> None:
    orthogonal = nn.utils.parametrizations.orthogonal
    sq, tall = orthogonal(nn.Linear(3, 3), "weight"), orthogonal(nn.Linear(2, 4))
    assert sq.parametrizations.weight[0].orthogonal_map.name == "matrix_exp"
    assert tall.parametrizations.weight[0].orthogonal_map.name == "householder"
    m = orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    assert "base" not in m.parametrizations.weight[0].__dict__
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = np.eye(3)
    lin = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="orthogonal: expected a matrix or batch of matrices, got a tensor of 1"):
        orthogonal(lin, "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp"'):
        orthogonal(lin, orthogonal_map="qr")
    with pytest.raises(ValueError, match="has no parameter or buffer named 'nope'"):
        orthogonal(lin, "nope")
    with pytest.raises(ValueError):
        torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(3, 3), orthogonal_map="qr")
    assert type(lin) is nn.Linear and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]


def test_orthogonal_weight_stays_orthogonal_under_adam() -> None:
    m = nn.utils.parametrizations.orthogonal(nn.Linear(6, 4), orthogonal_map="cayley")
    opt = tl.optim.Adam(m.parameters(), lr=0.05)
    rng = np.random.default_rng(13)
    X, T = rng.standard_normal((8, 6)), rng.standard_normal((8, 4))
    first = m.weight.data.copy()
    for _ in range(5):
        opt.zero_grad()
        ((m(tl.Tensor(X)) - tl.Tensor(T)) ** 2).mean().backward()
        opt.step()
        assert _orth_error(m.weight.data) < 1e-12
    assert np.abs(m.weight.data - first).max() > 1e-2
