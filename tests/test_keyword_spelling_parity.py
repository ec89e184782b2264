"""torch's keyword spellings of Tensor methods, functions and module constructors, against torch.

Each case is called in both libraries with every argument passed by torch's keyword name;
values must agree, and so must the gradients of every float input (float64 throughout).
"""

import warnings

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(1234)
_FLOATS = {
    "x": _RNG.standard_normal((2, 3, 4)),
    "y": _RNG.standard_normal((2, 3, 4)),
    "pos": _RNG.uniform(0.5, 2.0, (2, 3, 4)),
    "w": _RNG.uniform(0.1, 1.0, (2, 3, 4)),
    "m": _RNG.standard_normal((3, 4)),
    "b2": _RNG.standard_normal((4, 5)),
    "v": _RNG.standard_normal(4),
    "bt": _RNG.standard_normal((2, 4, 3)),
}
_OTHERS = {
    "mask": _FLOATS["x"] > 0,
    "i1": np.array([0, 2, 1]),
}


def _inputs(lib: str) -> dict:
    """Fresh leaves (floats require grad) of the same data, for ``lib`` ("torch" or "tl")."""
    if lib == "torch":
        out = {k: torch.tensor(v, requires_grad=True) for k, v in _FLOATS.items()}
        out.update({k: torch.tensor(v) for k, v in _OTHERS.items()})
    else:
        out = {k: tl.tensor(v, requires_grad=True) for k, v in _FLOATS.items()}
        out.update({k: tl.tensor(v) for k, v in _OTHERS.items()})
    return out


def _outputs(r: object) -> list:
    return [t for part in r for t in _outputs(part)] if isinstance(r, (tuple, list)) else [r]


def _np(t: object) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.numpy() if isinstance(t, tl.Tensor) else t)


def _check(call: object) -> None:
    """``call(M, F, t)`` with (torch, torch's functional) and (tl, tl's functional): the same
    values, and the same gradients of a weighted sum of the float outputs."""
    results, grads = [], []
    for lib, M in (("torch", torch), ("tl", tl)):
        t = _inputs(lib)
        outs = _outputs(call(M, M.nn.functional, t))
        results.append([_np(o) for o in outs])
        loss = None
        for k, o in enumerate(outs):
            if o.dtype in (torch.float64, np.float64) and o.requires_grad:
                wt = np.cos(np.arange(o.numel()) + k).reshape(tuple(o.shape))
                term = (o * (torch.tensor(wt) if lib == "torch" else tl.tensor(wt))).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
        grads.append({k: (None if t[k].grad is None else _np(t[k].grad)) for k in _FLOATS})
    (want, got), (gwant, ggot) = results, grads
    assert len(want) == len(got)
    for a, b in zip(want, got):
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    for k in _FLOATS:
        if gwant[k] is None:
            assert ggot[k] is None or not np.any(ggot[k]), k
        else:
            assert ggot[k] is not None, k
            np.testing.assert_allclose(ggot[k], gwant[k], rtol=1e-12, atol=1e-12)


CASES = {
    # Tensor methods
    "transpose_dim0_dim1_3d": lambda M, F, t: t["x"].transpose(dim0=0, dim1=2),
    "transpose_dim0_dim1_2d_swaps": lambda M, F, t: t["m"].transpose(dim0=0, dim1=1),
    "transpose_positional_and_dim1": lambda M, F, t: t["x"].transpose(0, dim1=2),
    "transpose_negative_dims": lambda M, F, t: t["x"].transpose(dim0=-1, dim1=0),
    "reshape_shape": lambda M, F, t: t["x"].reshape(shape=(6, 4)),
    "view_size": lambda M, F, t: t["x"].view(size=(6, -1)),
    "view_positional_still": lambda M, F, t: t["x"].view(3, 8),
    "view_dtype_keyword": lambda M, F, t: t["x"].view(dtype=M.int64),
    "view_dtype_positional": lambda M, F, t: t["x"].view(M.int64),
    "view_dtype_narrower": lambda M, F, t: t["x"].view(M.float32),
    "expand_size": lambda M, F, t: t["x"].expand(size=(2, 2, 3, 4)),
    "repeat_repeats": lambda M, F, t: t["x"].repeat(repeats=(1, 2, 1)),
    "tile_dims": lambda M, F, t: t["x"].tile(dims=(1, 2)),
    "broadcast_to_size": lambda M, F, t: t["x"].broadcast_to(size=(2, 2, 3, 4)),
    "pow_exponent_number": lambda M, F, t: t["x"].pow(exponent=3),
    "pow_exponent_tensor": lambda M, F, t: t["pos"].pow(exponent=t["y"]),
    "pow_inplace_exponent": lambda M, F, t: (t["x"] * 1.0).pow_(exponent=2),
    "max_other": lambda M, F, t: t["x"].max(other=t["y"]),
    "min_other": lambda M, F, t: t["x"].min(other=t["y"]),
    "where_other": lambda M, F, t: t["x"].where(condition=t["mask"], other=t["y"]),
    "tensor_split_sections": lambda M, F, t: t["x"].tensor_split(sections=2, dim=2),
    "tensor_split_indices": lambda M, F, t: t["x"].tensor_split(indices=[1, 3], dim=2),
    "hsplit_indices": lambda M, F, t: t["x"].hsplit(indices=[1]),
    "vsplit_indices": lambda M, F, t: t["x"].vsplit(indices=[1]),
    "dsplit_indices": lambda M, F, t: t["x"].dsplit(indices=[1, 3]),
    "dsplit_sections": lambda M, F, t: t["x"].dsplit(sections=2),
    "swapdims_dim0_dim1": lambda M, F, t: t["x"].swapdims(dim0=0, dim1=2),
    "swapaxes_axis0_axis1": lambda M, F, t: t["x"].swapaxes(axis0=0, axis1=2),
    "transpose_inplace_dim0_dim1": lambda M, F, t: (t["x"] * 1.0).transpose_(dim0=0, dim1=2),
    "swapdims_inplace_dim0_dim1": lambda M, F, t: (t["x"] * 1.0).swapdims_(dim0=1, dim1=2),
    "dot_tensor": lambda M, F, t: t["v"].dot(tensor=t["v"] * 2.0),
    "new_zeros_size": lambda M, F, t: t["x"].new_zeros(size=(2, 5)),
    "new_ones_size": lambda M, F, t: t["x"].new_ones(size=[2, 5], dtype=M.float64),
    "new_empty_size_shape": lambda M, F, t: M.tensor(t["x"].new_empty(size=(2, 5)).shape),
    "sum_to_size_size": lambda M, F, t: t["x"].sum_to_size(size=(1, 3, 1)),
    # torch's function namespace
    "fn_mm_mat2": lambda M, F, t: M.mm(input=t["m"], mat2=t["b2"]),
    "fn_bmm_mat2": lambda M, F, t: M.bmm(input=t["x"], mat2=t["bt"]),
    "fn_mv_vec": lambda M, F, t: M.mv(input=t["m"], vec=t["v"]),
    "fn_dot_tensor": lambda M, F, t: M.dot(input=t["v"], tensor=t["v"] * 3.0),
    "fn_outer_vec2": lambda M, F, t: M.outer(input=t["v"], vec2=t["m"][0]),
    "fn_max_other": lambda M, F, t: M.max(input=t["x"], other=t["y"]),
    "fn_min_other": lambda M, F, t: M.min(input=t["x"], other=t["y"]),
    "fn_split_tensor": lambda M, F, t: M.split(tensor=t["x"], split_size_or_sections=[1, 3], dim=2),
    "fn_swapaxes_axis0_axis1": lambda M, F, t: M.swapaxes(input=t["x"], axis0=0, axis1=2),
    "fn_tensor_split_tensor_indices": lambda M, F, t: M.tensor_split(
        input=t["x"], tensor_indices_or_sections=M.tensor([1, 3]), dim=2),
    "fn_tile_dims": lambda M, F, t: M.tile(input=t["x"], dims=(2, 1)),
    "fn_broadcast_to_size": lambda M, F, t: M.broadcast_to(input=t["x"], size=(3, 2, 3, 4)),
    "fn_vsplit_indices": lambda M, F, t: M.vsplit(input=t["x"], indices=[1]),
    # torch.nn.functional
    "F_one_hot_input": lambda M, F, t: F.one_hot(input=t["i1"], num_classes=4),
    "F_one_hot_input_default_classes": lambda M, F, t: F.one_hot(input=t["i1"]),
    "F_mse_loss_weight_mean": lambda M, F, t: F.mse_loss(input=t["x"], target=t["y"], weight=t["w"]),
    "F_mse_loss_weight_sum": lambda M, F, t: F.mse_loss(input=t["x"], target=t["y"], reduction="sum",
                                                        weight=t["w"]),
    "F_mse_loss_weight_none": lambda M, F, t: F.mse_loss(input=t["x"], target=t["y"], reduction="none",
                                                         weight=t["w"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_keyword_spelling_matches_torch(name: str) -> None:
    _check(CASES[name])


def test_view_dtype_has_no_gradient_like_torch() -> None:
    x = tl.tensor(_FLOATS["x"], requires_grad=True)
    tx = torch.tensor(_FLOATS["x"], requires_grad=True)
    assert x.view(dtype=tl.float64).requires_grad is tx.view(dtype=torch.float64).requires_grad is False
    np.testing.assert_array_equal(x.view(dtype=tl.float64).numpy(), _FLOATS["x"])


@pytest.mark.parametrize("who, call", [
    ("pow", lambda M, t: t["x"].pow(2, exponent=3)),
    ("mm", lambda M, t: M.mm(t["m"], t["b2"], mat2=t["b2"])),
    ("tensor_split", lambda M, t: t["x"].tensor_split(2, sections=2)),
    ("swapaxes", lambda M, t: t["x"].transpose(0, dim0=1)),
    ("swapaxes", lambda M, t: t["x"].transpose(dim0=1)),
    ("one_hot", lambda M, t: M.nn.functional.one_hot(t["i1"], input=t["i1"])),
    ("split", lambda M, t: M.split(t["x"], 2, tensor=t["x"])),
])
def test_two_spellings_of_one_argument_are_refused(who: str, call: object) -> None:
    with pytest.raises(TypeError):
        call(torch, _inputs("torch"))
    with pytest.raises(TypeError, match=who):
        call(tl, _inputs("tl"))


def test_view_shape_and_dtype_together_is_refused() -> None:
    with pytest.raises(TypeError):
        torch.zeros(2, 4, dtype=torch.float64).view((4, 2), dtype=torch.int64)
    with pytest.raises(TypeError, match="view"):
        tl.zeros(2, 4).view((4, 2), dtype=tl.int64)


def test_view_dtype_of_an_indivisible_last_axis_is_refused() -> None:
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3, dtype=torch.float32).view(torch.float64)
    with pytest.raises(ValueError, match="view"):
        tl.zeros(2, 3, dtype=tl.float32).view(tl.float64)


def test_mse_loss_weight_of_another_shape_is_refused() -> None:
    t, lt = _inputs("torch"), _inputs("tl")
    with pytest.raises(ValueError):
        torch.nn.functional.mse_loss(t["x"], t["y"], weight=t["w"][0])
    with pytest.raises(ValueError, match="mse_loss.*weight"):
        tl.nn.functional.mse_loss(lt["x"], lt["y"], weight=lt["w"][0])


def test_hardtanh_deprecated_min_value_max_value() -> None:
    x = _FLOATS["x"]
    with pytest.warns(FutureWarning) as torch_said:
        want = torch.nn.Hardtanh(min_value=-0.5, max_value=0.25)(torch.tensor(x)).numpy()
    with pytest.warns(FutureWarning) as tl_said:
        mod = tl.nn.Hardtanh(min_value=-0.5, max_value=0.25)
    for said in (torch_said, tl_said):
        assert [("min_value" in str(w.message), "max_value" in str(w.message)) for w in said] == [(1, 0), (0, 1)]
    assert (mod.min_val, mod.max_val) == (-0.5, 0.25)
    np.testing.assert_allclose(mod(tl.tensor(x)).numpy(), want, rtol=1e-12, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(tl.nn.Hardtanh(-0.5, 0.25)(tl.tensor(x)).numpy(), want, rtol=1e-12, atol=0)


def test_module_dict_modules_keyword() -> None:
    want = torch.nn.ModuleDict(modules={"b": torch.nn.Linear(2, 3), "a": torch.nn.ReLU()})
    got = tl.nn.ModuleDict(modules={"b": tl.nn.Linear(2, 3), "a": tl.nn.ReLU()})
    assert list(got.keys()) == list(want.keys())
    assert [n for n, _ in got.named_parameters()] == [n for n, _ in want.named_parameters()]


def test_parameter_dict_parameters_keyword() -> None:
    want = torch.nn.ParameterDict(parameters={"b": torch.nn.Parameter(torch.ones(2)), "a": torch.zeros(1)})
    got = tl.nn.ParameterDict(parameters={"b": tl.nn.Parameter(tl.ones(2)), "a": tl.zeros(1)})
    assert list(got.keys()) == list(want.keys())
    assert [n for n, _ in got.named_parameters()] == [n for n, _ in want.named_parameters()]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_padding_mode_zeros(nd: int) -> None:
    name = f"ConvTranspose{nd}d"
    want = getattr(torch.nn, name)(2, 3, 3, stride=2, padding_mode="zeros", dtype=torch.float64)
    got = getattr(tl.nn, name)(2, 3, 3, stride=2, padding_mode="zeros")
    assert got.padding_mode == want.padding_mode == "zeros"
    got.weight.data[...] = want.weight.detach().numpy()
    got.bias.data[...] = want.bias.detach().numpy()
    x = _RNG.standard_normal((2, 2) + (4,) * nd)
    np.testing.assert_allclose(got(tl.tensor(x)).numpy(), want(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    assert repr(got) == repr(want).replace(", dtype=torch.float64", "")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_other_padding_modes_refused(nd: int, mode: str) -> None:
    name = f"ConvTranspose{nd}d"
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        getattr(torch.nn, name)(2, 3, 3, padding_mode=mode)
    with pytest.raises(ValueError, match=f'(?i){name}.*only "zeros" padding mode'):
        getattr(tl.nn, name)(2, 3, 3, padding_mode=mode)
