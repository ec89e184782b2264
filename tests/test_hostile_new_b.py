"""Hostile input to the newer public API, part B: ``tl.autograd.Function``, checkpointing,
``forward_ad``, packed sequences, pruning, ``parametrizations.orthogonal``, ``swa_utils``,
optimizer hooks and ``from_pretrained``. Each case is the input that used to give a wrong
answer, a silent loss of gradient, or an obscure failure: it must now give torch's values
or a refusal of torch's exception type that names the function and the offending value,
and leaves weights, statistics, hooks and attributes as they were."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.autograd import forward_ad as fwAD
from tinygrad_lite.nn.utils import parametrizations, prune, rnn
from tinygrad_lite.optim import swa_utils
from tinygrad_lite.utils.checkpoint import checkpoint, checkpoint_sequential

X0 = np.array([0.5, -1.0, 2.0])


def _x() -> tl.Tensor:
    return tl.tensor(X0.copy(), requires_grad=True)


def _state(obj: Any) -> dict:
    return {k: np.array(v.data if hasattr(v, "data") else v) for k, v in obj.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ checkpoint
def test_checkpoint_determinism_check_none_backward_gives_the_gradient() -> None:
    """``determinism_check="none"`` skips the shape check; its backward used to always raise."""
    x = _x()
    checkpoint(lambda a: (a * a).sin(), x, determinism_check="none").sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(X0 ** 2) * 2 * X0, rtol=1e-12)


@pytest.mark.parametrize("kind", ["tuple", "list", "dict"])
def test_checkpoint_nested_outputs_carry_their_gradient(kind: str) -> None:
    """Tensors inside nested containers are outputs of the segment: their gradient reaches
    the input (it was silently lost: they hung on a detached copy), as torch's
    non-reentrant checkpoint."""
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as tcheckpoint

    def fn(a: Any) -> Any:
        inner = [a * 3, 7] if kind == "list" else {"b": a.exp(), "n": 7} if kind == "dict" else (a * 3, (a.exp(),))
        return (a * 2, inner)

    def pick(out: Any) -> Any:
        return out[1][0] if kind == "list" else out[1]["b"] if kind == "dict" else out[1][1][0]

    x, tx = _x(), torch.tensor(X0, requires_grad=True)
    out, tout = checkpoint(fn, x), tcheckpoint(fn, tx, use_reentrant=False)
    (pick(out) * out[0]).sum().backward()
    (pick(tout) * tout[0]).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    assert type(out[1]) is type(tout[1])


@pytest.mark.parametrize("functions, needle", [("abc", "got str"), (None, "got NoneType"),
                                               ([3, 4], r"functions\[0\] is a int")])
def test_checkpoint_sequential_refuses_what_is_not_a_list_of_callables(functions: Any, needle: str) -> None:
    with pytest.raises(TypeError, match=f"checkpoint_sequential: .*{needle}"):
        checkpoint_sequential(functions, 1, _x())


@pytest.mark.parametrize("kw", [{"use_reentrant": "yes"}, {"preserve_rng_state": "no"}, {"debug": 1}])
def test_checkpoint_flags_must_be_bools(kw: dict) -> None:
    name = next(iter(kw))
    with pytest.raises(TypeError, match=f"checkpoint: {name} must be a bool"):
        checkpoint(lambda a: a * 2, _x(), **kw)


# ------------------------------------------------------------------ autograd.Function
def _doubling(backward: Callable) -> type:
    class Doubling(tl.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any) -> Any:
            return a * 2

    Doubling.backward = staticmethod(backward)  # type: ignore[method-assign]
    return Doubling


@pytest.mark.parametrize("bad", ["abc", {}, np.ones(3, complex)], ids=["str", "dict", "complex"])
def test_function_bad_gradient_under_create_graph_names_the_function(bad: Any) -> None:
    """A backward returning a string, dict or complex array: the create_graph backward
    refuses it naming the Function (it raised numpy's conversion error, or dropped the
    imaginary part of a complex gradient silently), as the plain backward does."""
    Fn = _doubling(lambda ctx, g: bad)
    x = _x()
    with pytest.raises(TypeError, match="Doubling.backward returned a gradient of dtype"):
        tl.autograd.grad(Fn.apply(x).sum(), x, create_graph=True)
    assert x.grad is None


def test_function_mark_non_differentiable_refuses_non_tensors() -> None:
    """torch raises RuntimeError; it was ignored here."""
    torch = pytest.importorskip("torch")

    def forward(ctx: Any, a: Any) -> Any:
        ctx.mark_non_differentiable("mask", 3)
        return a * 2

    def make(base: type) -> type:
        return type("Marks", (base,), {"forward": staticmethod(forward), "backward": staticmethod(lambda c, g: g)})

    with pytest.raises(RuntimeError):
        make(torch.autograd.Function).apply(torch.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="Marks.mark_non_differentiable: argument 0 is a str"):
        make(tl.autograd.Function).apply(_x())


# ------------------------------------------------------------------ forward_ad
@pytest.mark.parametrize("tangent", [None, "abc", {"a": 1}])
def test_make_dual_refuses_a_non_numeric_tangent_by_type(tangent: Any) -> None:
    """It said the tangent's shape () differed from the primal's, a misleading message."""
    with fwAD.dual_level():
        with pytest.raises(TypeError, match=f"forward_ad.make_dual: the tangent must be .* got "
                                            f"{type(tangent).__name__}"):
            fwAD.make_dual(tl.tensor(X0), tangent)


@pytest.mark.parametrize("level", [True, "1", 1.0])
def test_exit_dual_level_refuses_a_level_that_is_not_an_int(level: Any) -> None:
    """``level=True`` closed level 1 (True == 1); a string was shown unquoted. Nothing closes."""
    with fwAD.dual_level():
        with fwAD.dual_level():
            depth = len(fwAD._levels.stack)
            with pytest.raises(RuntimeError, match=re.escape(f"exit_dual_level: level {level!r} is not the innermost")):
                fwAD.exit_dual_level(level=level)
            assert len(fwAD._levels.stack) == depth


# ------------------------------------------------------------------ packed sequences
@pytest.mark.parametrize("value", ["a", None, [1.0]])
def test_pad_sequence_padding_value_must_be_a_number(value: Any) -> None:
    """None padded with NaN silently; a string failed inside numpy. torch raises TypeError."""
    with pytest.raises(TypeError, match=re.escape(f"pad_sequence: padding_value must be a real number, got {value!r}")):
        rnn.pad_sequence([tl.ones(2), tl.ones(1)], padding_value=value)


def test_pad_sequence_batch_first_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="pad_sequence: batch_first must be a bool, got 'a'"):
        rnn.pad_sequence([tl.ones(2), tl.ones(1)], batch_first="a")


@pytest.mark.parametrize("fn", [rnn.pad_sequence, rnn.pack_sequence], ids=["pad", "pack"])
def test_sequence_lists_with_bad_entries_name_the_function(fn: Callable) -> None:
    who = fn.__name__
    with pytest.raises(TypeError, match=f"{who}: sequences must be a list of tensors, got str"):
        fn("abc")
    with pytest.raises(TypeError, match=f"{who}: sequence 1 is a NoneType"):
        fn([tl.ones(2), None])
    with pytest.raises(TypeError, match=f"{who}: sequence 0 is a dict"):
        fn([{"a": 1}])


def test_pad_sequence_0d_entry_is_named() -> None:
    with pytest.raises(ValueError, match=r"pad_sequence: sequence 1 is 0-d"):
        rnn.pad_sequence([tl.ones(2), tl.tensor(1.0)])


@pytest.mark.parametrize("data", ["abc", None, {"a": 1}])
def test_packed_sequence_data_must_be_numbers(data: Any) -> None:
    with pytest.raises(TypeError, match=f"PackedSequence: data must be a Tensor of numbers, got "
                                        f"{type(data).__name__}"):
        rnn.PackedSequence(data, tl.tensor(np.array([1])))


# ------------------------------------------------------------------ pruning
def test_global_unstructured_of_no_parameters_names_the_function() -> None:
    """It failed in numpy's concatenate ('need at least one array')."""
    with pytest.raises(ValueError, match="global_unstructured: parameters is empty"):
        prune.global_unstructured([], prune.L1Unstructured, amount=0.5)


@pytest.mark.parametrize("fn", [lambda m: prune.remove(m, "weight"), prune.is_pruned], ids=["remove", "is_pruned"])
def test_prune_helpers_refuse_a_non_module(fn: Callable) -> None:
    with pytest.raises(TypeError, match=r"(remove|is_pruned): module must be a Module, got str"):
        fn("model")


# ------------------------------------------------------------------ orthogonal
def test_orthogonal_name_and_module_are_checked() -> None:
    m = nn.Linear(3, 3)
    before = sorted(vars(m))
    with pytest.raises(TypeError, match="orthogonal: name must be a string, got None"):
        parametrizations.orthogonal(m, None)
    with pytest.raises(TypeError, match="orthogonal: module must be a Module, got str"):
        parametrizations.orthogonal("m")
    assert sorted(vars(m)) == before


# ------------------------------------------------------------------ swa_utils
def _failing_second_call(fn: Callable) -> Callable:
    calls = [0]

    def avg(*args: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            raise ValueError("averaging failed")
        return fn(*args)
    return avg


@pytest.mark.parametrize("kind", ["avg_fn", "multi_avg_fn"])
def test_averaged_model_update_that_raises_changes_nothing(kind: str) -> None:
    """An averaging rule that raises after writing part of the average (avg_fn: on the second
    parameter; multi_avg_fn: after averaging in place): the averaged copy and
    ``n_averaged`` are restored (the first parameters stayed averaged)."""
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    if kind == "avg_fn":
        am = swa_utils.AveragedModel(model, avg_fn=_failing_second_call(lambda a, c, n: (a + c) / 2))
    else:
        swa = swa_utils.get_swa_multi_avg_fn()

        def multi(avgs: Any, currents: Any, n: Any) -> None:
            swa(avgs, currents, n)
            raise ValueError("averaging failed")
        am = swa_utils.AveragedModel(model, multi_avg_fn=multi)
    am.update_parameters(model)
    for p in model.parameters():
        p.data[...] += 1.0
    before = _state(am)
    with pytest.raises(ValueError, match="averaging failed"):
        am.update_parameters(model)
    assert _same(before, _state(am))


@pytest.mark.parametrize("ret, exc, needle", [("x", TypeError, "avg_fn returned a str for parameter 0"),
                                              (np.ones(9), ValueError, r"avg_fn returned shape \(9,\)")])
def test_averaged_model_checks_what_avg_fn_returns(ret: Any, exc: type, needle: str) -> None:
    model = nn.Linear(3, 2)
    am = swa_utils.AveragedModel(model, avg_fn=lambda a, c, n: ret)
    am.update_parameters(model)
    before = _state(am)
    with pytest.raises(exc, match=f"AveragedModel.update_parameters: {needle}"):
        am.update_parameters(model)
    assert _same(before, _state(am))


@pytest.mark.parametrize("n", ["x", None, [1, 2]])
def test_swa_avg_fn_num_averaged_must_be_a_number(n: Any) -> None:
    with pytest.raises(TypeError, match="get_swa_avg_fn: num_averaged must be a number"):
        swa_utils.get_swa_avg_fn()(tl.ones(2), tl.ones(2), n)
    with pytest.raises(TypeError, match="get_swa_multi_avg_fn: num_averaged must be a number"):
        swa_utils.get_swa_multi_avg_fn()([tl.ones(2)], [tl.ones(2)], n)


def test_update_bn_that_fails_mid_pass_leaves_the_statistics() -> None:
    """The statistics were reset and one batch averaged in before the bad batch raised."""
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    model(tl.tensor(np.random.default_rng(0).normal(size=(5, 3))))
    before = _state(model)
    with pytest.raises(Exception, match="Linear"):
        swa_utils.update_bn([tl.ones(4, 3), tl.ones(4, 5)], model)
    assert _same(before, _state(model))
    assert model[1].momentum == 0.1 and model.training


def test_update_bn_loader_must_be_iterable() -> None:
    with pytest.raises(TypeError, match="update_bn: loader must be an iterable of batches, got NoneType"):
        swa_utils.update_bn(None, nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)))


# ------------------------------------------------------------------ optimizer hooks
@pytest.mark.parametrize("method", ["register_step_pre_hook", "register_step_post_hook",
                                    "register_state_dict_pre_hook", "register_load_state_dict_post_hook"])
def test_hook_registration_names_the_method_and_adds_nothing(method: str) -> None:
    opt = tl.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    before = dict(vars(opt))
    with pytest.raises(TypeError, match=f"SGD.{method}: the hook must be callable, got str"):
        getattr(opt, method)("abc")
    assert vars(opt).keys() == before.keys()


def test_hook_prepend_must_be_a_bool() -> None:
    opt = tl.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(TypeError, match="SGD.register_state_dict_pre_hook: prepend must be a bool, got 'yes'"):
        opt.register_state_dict_pre_hook(lambda o: None, prepend="yes")
    assert not opt.__dict__.get("_state_dict_pre_hooks")


def test_step_pre_hook_returning_bad_args_changes_nothing() -> None:
    lin = nn.Linear(3, 2)
    opt = tl.optim.Adam(lin.parameters(), lr=0.1)
    lin(tl.ones(1, 3)).sum().backward()
    w = np.array(lin.weight.data)
    opt.register_step_pre_hook(lambda o, a, k: (5, {}))
    with pytest.raises(RuntimeError, match="Adam.step: a step pre hook returned args of type int"):
        opt.step()
    np.testing.assert_array_equal(lin.weight.data, w)
    assert not opt.state


# ------------------------------------------------------------------ from_pretrained
@pytest.mark.parametrize("cls", [nn.Embedding, nn.EmbeddingBag])
def test_from_pretrained_ragged_table_names_the_function(cls: type) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}.from_pretrained: embeddings must be a 2-D table"):
        cls.from_pretrained([[1.0, 2.0], [1.0]])
