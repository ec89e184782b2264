"""3-d convolutions and pools, and fold / unfold: values and every gradient against torch in
float64 over strides, padding modes, dilation, groups, ceil_mode and odd sizes; finite
differences; per-sample gradients equal to each sample run alone; torch's printed form,
parameter names and state dicts; clear errors naming the op and the shapes."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


def _close(a: Any, b: Any, what: str = "") -> None:
    np.testing.assert_allclose(a, b.detach().numpy() if hasattr(b, "detach") else b, rtol=RTOL, atol=ATOL,
                               err_msg=what)


def _pair(tcls: Any, cls: Any, *args: Any, **kw: Any) -> tuple:
    """A torch layer (float64) and ours with torch's state loaded by name."""
    torch.manual_seed(0)
    tm = tcls(*args, **kw).double()
    m = cls(*args, **kw)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _compare_layer(m: Any, tm: Any, x: np.ndarray, seed: int = 1) -> None:
    """Output, input gradient and every parameter gradient of ``sum(out * w)``."""
    X, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = m(X), tm(tx)
    assert out.shape == tuple(tout.shape)
    _close(out.data, tout, "output")
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * tl.Tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    _close(X.grad, tx.grad, "input gradient")
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        _close(p.grad, tp[name].grad, name)


# (in, out, kernel, kwargs, input spatial shape)
CONV_CASES = [
    ("plain", 2, 3, 3, {}, (5, 6, 7)),
    ("stride_pad", 3, 4, (2, 3, 1), {"stride": (2, 1, 3), "padding": (1, 2, 0)}, (5, 7, 8)),
    ("dilation_groups", 4, 6, (3, 2, 2), {"dilation": (2, 1, 3), "groups": 2, "padding": 1}, (7, 5, 9)),
    ("depthwise_nobias", 3, 6, 2, {"groups": 3, "bias": False, "stride": 2}, (5, 5, 4)),
    ("same_even_kernel", 2, 3, (2, 3, 4), {"padding": "same", "dilation": (1, 2, 1)}, (4, 5, 6)),
    ("valid", 2, 2, (1, 2, 3), {"padding": "valid"}, (3, 4, 5)),
    ("reflect", 2, 4, 3, {"padding": (1, 2, 1), "padding_mode": "reflect", "groups": 2}, (4, 5, 4)),
    ("replicate_same", 3, 3, (3, 1, 2), {"padding": "same", "padding_mode": "replicate"}, (3, 4, 5)),
    ("circular_stride", 2, 2, 2, {"padding": 1, "padding_mode": "circular", "stride": (1, 2, 3)}, (3, 5, 7)),
    ("kernel_1", 5, 2, 1, {}, (1, 3, 2)),
]


@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "unbatched"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv3d_matches_torch(case: tuple, batch: tuple) -> None:
    _, cin, cout, k, kw, S = case
    m, tm = _pair(torch.nn.Conv3d, tl.nn.Conv3d, cin, cout, k, **kw)
    _compare_layer(m, tm, np.random.default_rng(0).standard_normal(batch + (cin,) + S))


@pytest.mark.parametrize("case", CONV_CASES[:4], ids=[c[0] for c in CONV_CASES[:4]])
def test_functional_conv3d_matches_torch(case: tuple) -> None:
    _, cin, cout, k, kw, S = case
    kw = {a: v for a, v in kw.items() if a != "bias"}
    G = kw.get("groups", 1)
    k = (k,) * 3 if isinstance(k, int) else k
    rng = np.random.default_rng(2)
    x, W, b = rng.standard_normal((2, cin) + S), rng.standard_normal((cout, cin // G) + k), rng.standard_normal(cout)
    args = [tl.Tensor(a, requires_grad=True) for a in (x, W, b)]
    targs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    out, tout = F.conv3d(*args, **kw), TF.conv3d(*targs, **kw)
    _close(out.data, tout)
    w = np.random.default_rng(3).standard_normal(out.shape)
    (out * tl.Tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for a, t in zip(args, targs):
        _close(a.grad, t.grad)


def test_conv3d_parameters_init_repr_and_state_dict_as_torch() -> None:
    m = tl.nn.Conv3d(4, 6, (3, 2, 1), groups=2, rng=0)
    tm = torch.nn.Conv3d(4, 6, (3, 2, 1), groups=2)
    assert m.weight.shape == tuple(tm.weight.shape) == (6, 2, 3, 2, 1) and m.bias.shape == (6,)
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]
    bound = 1.0 / np.sqrt(2 * 3 * 2 * 1)  # torch's default: uniform in +-1/sqrt(in/groups * prod(k))
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    big = tl.nn.Conv3d(8, 16, 3, rng=1)
    assert 0.9 / np.sqrt(8 * 27) < np.abs(big.weight.data).max() <= 1 / np.sqrt(8 * 27)
    assert tl.nn.Conv3d(2, 2, 2, rng=0, dtype=np.float32).weight.dtype == np.float32
    assert np.array_equal(tl.nn.Conv3d(2, 3, 2, rng=5).weight.data, tl.nn.Conv3d(2, 3, 2, rng=5).weight.data)
    for args, kw in [((2, 4, 3), {}), ((2, 4, (1, 2, 3)), {"stride": 2, "padding": (0, 1, 1), "bias": False}),
                     ((2, 4, 3), {"padding": "same", "groups": 2, "padding_mode": "reflect", "dilation": 2}),
                     ((3, 3, 2), {"padding": "valid"})]:
        assert repr(tl.nn.Conv3d(*args, **kw)) == repr(torch.nn.Conv3d(*args, **kw))
    for args, kw in [((2, 4, 3), {}), ((2, 4, (1, 2, 3)), {"stride": 2, "output_padding": 1, "groups": 2})]:
        assert repr(tl.nn.ConvTranspose3d(*args, **kw)) == repr(torch.nn.ConvTranspose3d(*args, **kw))


def test_a_torch_state_dict_loads_and_gives_torch_output() -> None:
    torch.manual_seed(3)
    tm = torch.nn.Sequential(torch.nn.Conv3d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool3d(2),
                             torch.nn.Conv3d(4, 3, 2, groups=1, bias=False), torch.nn.AdaptiveAvgPool3d(1),
                             torch.nn.Flatten()).double()
    m = tl.nn.Sequential(tl.nn.Conv3d(2, 4, 3, padding=1), tl.nn.ReLU(), tl.nn.MaxPool3d(2),
                         tl.nn.Conv3d(4, 3, 2, bias=False), tl.nn.AdaptiveAvgPool3d(1), tl.nn.Flatten())
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    _compare_layer(m, tm, np.random.default_rng(4).standard_normal((3, 2, 6, 7, 6)))


# (in, out, kernel, kwargs, input spatial shape)
TRANSPOSE_CASES = [
    ("plain", 2, 3, 2, {}, (3, 4, 2)),
    ("stride_pad_outpad", 4, 2, (3, 2, 2), {"stride": (2, 3, 1), "padding": (1, 0, 1), "output_padding": (1, 2, 0)},
     (3, 2, 4)),
    ("groups_dilation", 4, 6, (2, 3, 2), {"groups": 2, "dilation": (2, 1, 2), "stride": 2, "bias": False},
     (2, 3, 3)),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=[c[0] for c in TRANSPOSE_CASES])
def test_conv_transpose3d_matches_torch(case: tuple) -> None:
    _, cin, cout, k, kw, S = case
    m, tm = _pair(torch.nn.ConvTranspose3d, tl.nn.ConvTranspose3d, cin, cout, k, **kw)
    _compare_layer(m, tm, np.random.default_rng(5).standard_normal((2, cin) + S))
    x = np.random.default_rng(6).standard_normal((cin,) + S)  # unbatched, and the functional form
    bias = None if tm.bias is None else tm.bias
    want = TF.conv_transpose3d(torch.tensor(x)[None], tm.weight, bias, **{a: v for a, v in kw.items() if a != "bias"})
    got = F.conv_transpose3d(tl.Tensor(x), m.weight, m.bias, **{a: v for a, v in kw.items() if a != "bias"})
    _close(got.data, want[0])


class Net3d(tl.nn.Module):
    """Every 3-d layer with parameters, between pools, then a linear head."""

    def __init__(self) -> None:
        self.c1 = tl.nn.Conv3d(2, 4, 3, padding=1, padding_mode="replicate", rng=0)
        self.c2 = tl.nn.Conv3d(4, 4, (2, 3, 2), stride=(1, 2, 1), dilation=(2, 1, 1), groups=2, rng=1)
        self.up = tl.nn.ConvTranspose3d(4, 2, 2, stride=2, groups=2, rng=2)
        self.pool = tl.nn.MaxPool3d(2, stride=1, ceil_mode=True)
        self.avg = tl.nn.AvgPool3d(2, padding=1, count_include_pad=False)
        self.head = tl.nn.Linear(2 * 8, 3, rng=3)

    def forward(self, x: Any) -> tl.Tensor:
        h = self.pool(self.c1(x).tanh())
        h = self.up(self.c2(h).relu())
        h = F.adaptive_max_pool3d(self.avg(h), (2, 2, 2))
        return self.head(h.flatten(1))


def test_per_sample_gradients_equal_each_sample_alone() -> None:
    m = Net3d()
    X = np.random.default_rng(7).standard_normal((3, 2, 5, 6, 4))
    y = np.array([0, 2, 1])
    F.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
    got = {n: p.grad_sample.copy() for n, p in m.named_parameters()}
    norms = {n: p.grad_sample_norm.copy() for n, p in m.named_parameters()}
    total = tl.per_sample_norms(m.parameters())
    for b in range(3):
        m.zero_grad()
        F.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
        for n, p in m.named_parameters():
            _close(got[n][b], p.grad, n)
    for n, g in got.items():
        _close(norms[n], np.linalg.norm(g.reshape(3, -1), axis=1), f"norm of {n}")
    _close(total, np.sqrt(sum((g.reshape(3, -1) ** 2).sum(1) for g in got.values())), "total norm")


def test_per_sample_norms_without_building_grad_sample() -> None:
    m = tl.nn.Conv3d(3, 4, 2, groups=1, rng=0)
    X = np.random.default_rng(8).standard_normal((5, 3, 4, 3, 5))
    F.mse_loss(m(tl.Tensor(X, batched=True)), np.zeros((5, 4, 3, 2, 4))).backward(per_sample="norms")
    assert m.weight.grad_sample is None
    norms = m.weight.grad_sample_norm.copy()
    want = []
    for b in range(5):
        m.zero_grad()
        F.mse_loss(m(tl.Tensor(X[b:b + 1])), np.zeros((1, 4, 3, 2, 4))).backward()
        want.append(np.linalg.norm(m.weight.grad))
    _close(norms, np.array(want))


# (name, our function, torch's function, input shape, kwargs)
POOL_CASES = [
    ("max_plain", F.max_pool3d, TF.max_pool3d, (2, 3, 6, 7, 5), {"kernel_size": 2}),
    ("max_all", F.max_pool3d, TF.max_pool3d, (2, 2, 7, 6, 9),
     {"kernel_size": (3, 2, 3), "stride": (2, 1, 2), "padding": (1, 0, 1), "dilation": (1, 2, 2),
      "ceil_mode": True}),
    ("max_ceil_unbatched", F.max_pool3d, TF.max_pool3d, (3, 5, 5, 7),
     {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ("avg_plain", F.avg_pool3d, TF.avg_pool3d, (2, 3, 4, 6, 5), {"kernel_size": (2, 3, 1)}),
    ("avg_pad_ceil", F.avg_pool3d, TF.avg_pool3d, (2, 2, 5, 6, 7),
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("avg_no_pad_count", F.avg_pool3d, TF.avg_pool3d, (2, 2, 5, 6, 7),
     {"kernel_size": (3, 2, 3), "stride": (2, 2, 1), "padding": (1, 1, 0), "ceil_mode": True,
      "count_include_pad": False}),
    ("avg_divisor", F.avg_pool3d, TF.avg_pool3d, (2, 2, 5, 4, 5),
     {"kernel_size": 2, "stride": 1, "padding": 1, "divisor_override": 3}),
    ("adaptive_avg_even", F.adaptive_avg_pool3d, TF.adaptive_avg_pool3d, (2, 3, 4, 6, 8), {"output_size": 2}),
    ("adaptive_avg_uneven", F.adaptive_avg_pool3d, TF.adaptive_avg_pool3d, (2, 3, 5, 7, 6),
     {"output_size": (3, None, 4)}),
    ("adaptive_avg_grow", F.adaptive_avg_pool3d, TF.adaptive_avg_pool3d, (3, 2, 3, 4), {"output_size": (4, 3, 5)}),
    ("adaptive_max_even", F.adaptive_max_pool3d, TF.adaptive_max_pool3d, (2, 3, 4, 6, 8), {"output_size": (2, 3, 4)}),
    ("adaptive_max_uneven", F.adaptive_max_pool3d, TF.adaptive_max_pool3d, (2, 3, 5, 7, 6),
     {"output_size": (2, 3, 4)}),
]


def _distinct(shape: tuple, seed: int = 0) -> np.ndarray:
    """Distinct values (no ties between window maxima)."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0


@pytest.mark.parametrize("name,fn,tfn,shape,kw", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pools_match_torch(name: str, fn: Callable, tfn: Callable, shape: tuple, kw: dict) -> None:
    x = _distinct(shape)
    t, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = fn(t, **kw), tfn(tx, **kw)
    assert out.shape == tuple(tout.shape)
    _close(out.data, tout)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * tl.Tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    _close(t.grad, tx.grad)
    if "max" in name:  # torch's indices, and max_unpool3d back from them (with its gradient)
        (out, idx), (tout, tidx) = fn(tl.Tensor(x), **kw, return_indices=True), tfn(tx, **kw, return_indices=True)
        assert np.array_equal(idx.data, tidx.numpy())


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (3, 2, 2), "stride": (2, 1, 2), "padding": 1}],
                         ids=["plain", "overlap_pad"])
def test_max_unpool3d_matches_torch(kw: dict) -> None:
    x = _distinct((2, 3, 6, 5, 7))
    _, idx = F.max_pool3d(tl.Tensor(x), **kw, return_indices=True)
    tv, tidx = TF.max_pool3d(torch.tensor(x), **kw, return_indices=True)
    v = tl.Tensor(tv.numpy(), requires_grad=True)
    tvv = tv.clone().requires_grad_(True)
    out = tl.nn.MaxUnpool3d(**kw)(v, idx, output_size=x.shape[-3:])
    tout = torch.nn.MaxUnpool3d(**kw)(tvv, tidx, output_size=x.shape[-3:])
    _close(out.data, tout)
    w = np.random.default_rng(2).standard_normal(out.shape)
    (out * tl.Tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    _close(v.grad, tvv.grad)


@pytest.mark.parametrize("name,args", [
    ("MaxPool3d", (2,)), ("MaxPool3d", ((3, 2, 2), 1, 1, 2, False, True)), ("AvgPool3d", (2,)),
    ("AvgPool3d", (3, 2, 1, True, False, 2)), ("MaxUnpool3d", (2,)), ("MaxUnpool3d", ((2, 3, 2), 1, 1)),
    ("AdaptiveAvgPool3d", ((2, None, 3),)), ("AdaptiveMaxPool3d", (2,)), ("AdaptiveMaxPool3d", ((1, 2, 3), True)),
    ("Unfold", (2,)), ("Unfold", ((2, 3), 2, 1, (1, 2))), ("Fold", ((4, 5), 2)), ("Fold", (4, (2, 3), 1, 0, 2)),
])
def test_layers_print_as_torch(name: str, args: tuple) -> None:
    assert repr(getattr(tl.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_pool_layers_match_torch_layers() -> None:
    x = _distinct((2, 3, 7, 6, 5))
    for name, args, kw in [("MaxPool3d", (3, 2, 1), {"ceil_mode": True}), ("AvgPool3d", (2,), {}),
                           ("AvgPool3d", (3, 2, 1), {"count_include_pad": False, "ceil_mode": True}),
                           ("AdaptiveAvgPool3d", ((3, 2, 4),), {}), ("AdaptiveMaxPool3d", ((3, 4, 2),), {})]:
        _compare_layer(getattr(tl.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw), x)
    v, i = tl.nn.MaxPool3d(2, return_indices=True)(tl.Tensor(x))
    tv, ti = torch.nn.MaxPool3d(2, return_indices=True)(torch.tensor(x))
    _close(v.data, tv)
    assert np.array_equal(i.data, ti.numpy())


# (kernel_size, dilation, padding, stride, input shape)
FOLD_CASES = [
    ("plain", 2, 1, 0, 1, (2, 3, 4, 5)),
    ("stride_pad", (2, 3), 1, (1, 2), (2, 1), (2, 2, 5, 6)),
    ("dilation_overlap", 3, (2, 1), 1, 1, (1, 3, 7, 5)),
    ("odd_unbatched", (3, 2), (1, 2), 2, 3, (2, 5, 8)),
]


@pytest.mark.parametrize("case", FOLD_CASES, ids=[c[0] for c in FOLD_CASES])
def test_unfold_and_fold_match_torch(case: tuple) -> None:
    _, k, d, p, s, shape = case
    kw = {"kernel_size": k, "dilation": d, "padding": p, "stride": s}
    x = np.random.default_rng(0).standard_normal(shape)
    t, tx = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cols, tcols = tl.nn.Unfold(**kw)(t), torch.nn.Unfold(**kw)(tx)
    assert cols.shape == tuple(tcols.shape)
    _close(cols.data, tcols)
    c = np.random.default_rng(1).standard_normal(cols.shape)
    tc = torch.tensor(c, requires_grad=True)
    C = tl.Tensor(c, requires_grad=True)
    back, tback = tl.nn.Fold(shape[-2:], **kw)(C), torch.nn.Fold(shape[-2:], **kw)(tc)
    _close(back.data, tback)
    w1, w2 = (np.random.default_rng(i).standard_normal(a.shape) for i, a in ((2, cols), (3, back)))
    ((cols * tl.Tensor(w1)).sum() + (back * tl.Tensor(w2)).sum()).backward()
    ((tcols * torch.tensor(w1)).sum() + (tback * torch.tensor(w2)).sum()).backward()
    _close(t.grad, tx.grad, "unfold's gradient")
    _close(C.grad, tc.grad, "fold's gradient")
    np.testing.assert_allclose((cols.data * c).sum(), (x * back.data).sum(), rtol=1e-12)  # adjoint pair
    _close(F.fold(F.unfold(tl.Tensor(x), **kw), shape[-2:], **kw).data, TF.fold(TF.unfold(tx, **kw), shape[-2:],
                                                                                 **kw))


@pytest.mark.parametrize("fn,make", [
    (lambda a: F.conv3d(a[0], a[1], a[2], stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2),
     lambda r: [r.standard_normal((2, 4, 4, 5, 3)), r.standard_normal((4, 2, 2, 2, 3)), r.standard_normal(4)]),
    (lambda a: F.avg_pool3d(a[0], 3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda r: [r.standard_normal((2, 2, 5, 4, 6))]),
    (lambda a: F.fold(a[0], (5, 4), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
     lambda r: [r.standard_normal((2, 12, 10))]),
], ids=["conv3d", "avg_pool3d", "fold"])
def test_gradients_match_finite_differences(fn: Callable, make: Callable) -> None:
    args = [tl.Tensor(a, requires_grad=True) for a in make(np.random.default_rng(9))]
    w = np.random.default_rng(10).standard_normal(fn(args).shape)
    assert tl.gradcheck(lambda *a: (fn(a) * w).sum(), args)


def test_unfold_and_fold_pass_per_sample_gradients() -> None:
    """A linear layer on im2col columns (a convolution written out) gives each sample its own gradient."""
    lin = tl.nn.Linear(2 * 4, 3, rng=0)
    X = np.random.default_rng(11).standard_normal((4, 2, 4, 5))

    def loss(x: tl.Tensor) -> tl.Tensor:
        cols = F.unfold(x, 2, padding=1).swapaxes(1, 2)  # (B, L, C*K), L = 5 * 6
        y = lin(cols).swapaxes(1, 2)  # (B, 3, L)
        return (F.fold(y, (5, 6), 1) ** 2).sum()

    loss(tl.Tensor(X, batched=True)).backward()
    got = {n: p.grad_sample.copy() for n, p in lin.named_parameters()}
    for b in range(4):
        lin.zero_grad()
        loss(tl.Tensor(X[b:b + 1])).backward()
        for n, p in lin.named_parameters():
            _close(got[n][b], p.grad, n)


@pytest.mark.parametrize("call,words", [
    (lambda: F.conv3d(tl.Tensor(np.ones((2, 3, 4, 4))), np.ones((2, 3, 2, 2, 2))),
     r"conv3d: expected an input with 3 channels \(weight \(2, 3, 2, 2, 2\), groups=1\), got input of shape "
     r"\(2, 3, 4, 4\) with 2 channels"),
    (lambda: F.conv2d(tl.Tensor(np.ones((2, 3, 4))), np.ones((2, 3, 2, 2))),
     r"conv2d: .* got input of shape \(2, 3, 4\) with 2 channels"),
    (lambda: F.conv1d(tl.Tensor(np.ones((3, 2))), np.ones((1, 3, 3))),
     r"conv1d: kernel of size \(3,\) \(dilation \(1,\)\) is larger than the padded input \(2,\) \(input shape "
     r"\(3, 2\)\)"),
    (lambda: F.conv3d(tl.Tensor(np.ones((2, 3, 4, 4, 4))), np.ones((2, 3, 2, 2))),
     r"conv3d: weight must have 5 axes .* got \(2, 3, 2, 2\)"),
    (lambda: F.conv3d(tl.Tensor(np.ones((2, 3))), np.ones((2, 3, 2, 2, 2))),
     r"conv3d: expected an input of shape \(B, C, D, H, W\), got shape \(2, 3\)"),
    (lambda: tl.nn.Conv3d(3, 2, 3, rng=0)(tl.Tensor(np.ones((1, 3, 2, 5, 5)))),
     r"Conv3d\(3, 2, kernel_size=\(3, 3, 3\).*\): kernel of size \(3, 3, 3\) \(dilation \(1, 1, 1\)\) is larger than "
     r"the padded input \(2, 5, 5\) \(input shape \(1, 3, 2, 5, 5\)\)"),
    (lambda: tl.nn.Conv3d(3, 2, 3, stride=2, padding="same"), r"Conv3d: padding='same' needs stride 1"),
    (lambda: tl.nn.Conv3d(3, 2, (3, 3)), r"Conv3d: kernel_size must be an int >= 1 or a tuple of 3 such ints"),
    (lambda: F.max_pool3d(tl.Tensor(np.ones((2, 3, 4))), 2),
     r"max_pool3d: expected an input of shape \(B, C, D, H, W\) or \(C, D, H, W\), got \(2, 3, 4\)"),
    (lambda: F.avg_pool3d(tl.Tensor(np.ones((1, 1, 2, 4, 4))), 3),
     r"avg_pool3d: kernel of size \(3, 3, 3\) is larger than the padded input \(2, 4, 4\) \(input shape "
     r"\(1, 1, 2, 4, 4\)\)"),
    (lambda: tl.nn.MaxPool3d(2, padding=(0, 2, 0)), r"MaxPool3d: padding \(0, 2, 0\) must be at most half"),
    (lambda: F.adaptive_avg_pool3d(tl.Tensor(np.ones((1, 1, 2, 4, 4))), (2, 2)),
     r"adaptive_avg_pool3d: output_size must be an int or a tuple of 3"),
    (lambda: F.conv_transpose3d(tl.Tensor(np.ones((1, 3, 2, 2, 2))), np.ones((2, 1, 2, 2, 2))),
     r"conv_transpose3d: expected an input with 2 channels .* got input of shape \(1, 3, 2, 2, 2\)"),
    (lambda: F.unfold(tl.Tensor(np.ones((2, 3, 4, 4, 4))), 2),
     r"unfold: expected an input of shape \(B, C, H, W\), got shape \(2, 3, 4, 4, 4\)"),
    (lambda: F.unfold(tl.Tensor(np.ones((1, 2, 3, 4))), 5),
     r"unfold \(input shape \(1, 2, 3, 4\)\): kernel_size \(5, 5\) .* does not fit the spatial size \(3, 4\)"),
    (lambda: F.fold(tl.Tensor(np.ones((2, 12, 16))), (5, 5), 2, stride=2),
     r"fold: input of shape \(2, 12, 16\) has 16 columns; .* give 2 \* 2 = 4 window positions"),
    (lambda: F.fold(tl.Tensor(np.ones((2, 13, 16))), (5, 5), 2),
     r"fold: the input's axis 1 \(13, input shape \(2, 13, 16\)\) is not divisible by the kernel size \(2, 2\)"),
    (lambda: tl.nn.Fold((4, 4, 4), 2), r"Fold: output_size must be an int >= 1 or a tuple of 2"),
])
def test_bad_input_is_refused_naming_the_op_and_shapes(call: Callable, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        call()


def test_torch_refuses_what_we_refuse() -> None:
    for call in (lambda: TF.conv3d(torch.ones(2, 3, 4, 4), torch.ones(2, 3, 2, 2, 2)),
                 lambda: TF.max_pool3d(torch.ones(2, 3, 4), 2),
                 lambda: TF.avg_pool3d(torch.ones(1, 1, 2, 4, 4), 3),
                 lambda: TF.unfold(torch.ones(2, 3, 4, 4, 4), 2),
                 lambda: TF.fold(torch.ones(2, 12, 16), (5, 5), 2, stride=2),
                 lambda: TF.fold(torch.ones(2, 13, 16), (5, 5), 2)):
        with pytest.raises(RuntimeError):
            call()
