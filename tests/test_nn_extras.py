"""Pieces of torch.nn that ported code uses: ``F.grid_sample`` / ``F.affine_grid``, the
parametrizations (``weight_norm``, ``spectral_norm``, ``parametrize``) and the older norm
hooks, compared with torch in float64 (outputs, input and parameter gradients, state-dict
keys, repr), with finite differences, and with each sample's own gradient (and Opacus's)
for the per-sample gradients."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest
from conftest import close as _close
from conftest import load_torch_state as _load

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def per_sample_check(model: nn.Module, xs: list, cost: Callable) -> dict:
    """grad_sample from one batched backward equals each sample's own gradient."""
    B = len(xs[0])
    rows: dict = {n: [] for n, _ in model.named_parameters()}
    for b in range(B):
        model.zero_grad()
        cost(model(*[tl.Tensor(x[b:b + 1]) for x in xs]), slice(b, b + 1)).backward()
        for n, p in model.named_parameters():
            rows[n].append(p.grad.copy())
    model.zero_grad()
    cost(model(*[tl.Tensor(x, batched=True) for x in xs]), slice(None)).backward()
    got = {}
    for n, p in model.named_parameters():
        _close(p.grad_sample, np.stack(rows[n]), f"grad_sample of {n}")
        got[n] = p.grad_sample.copy()
    return got


# ------------------------------------------------------------------ grid_sample ------------
GRID_CASES = [(nd, mode, pad, ac) for nd in (2, 3) for mode in ("bilinear", "nearest", "bicubic")
              for pad in ("zeros", "border", "reflection") for ac in (True, False) if nd == 2 or mode != "bicubic"]


@pytest.mark.parametrize("nd,mode,pad,ac", GRID_CASES, ids=["-".join(map(str, c)) for c in GRID_CASES])
def test_grid_sample_matches_torch_values_and_both_gradients(nd: int, mode: str, pad: str, ac: bool) -> None:
    rng = np.random.default_rng(nd * 7 + len(pad))
    xs, gs = ((2, 3, 4, 5), (2, 3, 6, 2)) if nd == 2 else ((2, 2, 3, 4, 5), (2, 2, 3, 4, 3))
    X, G = rng.standard_normal(xs), rng.uniform(-1.8, 1.8, gs)  # points inside, outside and far outside
    W = rng.standard_normal((xs[0], xs[1]) + gs[1:-1])
    x, g = tl.Tensor(X, requires_grad=True), tl.Tensor(G, requires_grad=True)
    out = F.grid_sample(x, g, mode=mode, padding_mode=pad, align_corners=ac)
    (out * W).sum().backward()
    tx, tg = torch.tensor(X, requires_grad=True), torch.tensor(G, requires_grad=True)
    tout = TF.grid_sample(tx, tg, mode=mode, padding_mode=pad, align_corners=ac)
    (tout * torch.tensor(W)).sum().backward()
    _close(out.data, tout.detach().numpy(), "output", 1e-12)
    _close(x.grad, tx.grad.numpy(), "input grad", 1e-12)
    _close(g.grad, tg.grad.numpy(), "grid grad", 1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("pad", ["zeros", "border", "reflection"])
def test_grid_sample_gradients_match_finite_differences(pad: str, mode: str) -> None:
    rng = np.random.default_rng(3)
    x = tl.Tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    g = tl.Tensor(rng.uniform(-1.4, 1.4, (1, 2, 3, 2)), requires_grad=True)
    w = rng.standard_normal((1, 2, 2, 3))
    assert tl.gradcheck(lambda a, b: (F.grid_sample(a, b, mode=mode, padding_mode=pad, align_corners=False)
                                      * w).sum(), [x, g])


def test_grid_sample_bicubic_reproduces_the_image_at_pixel_centres_and_refuses_volumes() -> None:
    img = np.random.default_rng(4).standard_normal((1, 1, 4, 5))
    ys, xs = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 5), indexing="ij")
    grid = np.stack([xs, ys], axis=-1)[None]  # every pixel centre (align_corners=True)
    out = F.grid_sample(tl.Tensor(img), tl.Tensor(grid), mode="bicubic", align_corners=True).data
    np.testing.assert_allclose(out, img, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match=r"grid_sample: mode 'bicubic' needs a 4-D input, got shape \(1, 1, 2, 2, 2\)"):
        F.grid_sample(tl.Tensor(np.ones((1, 1, 2, 2, 2))), tl.Tensor(np.zeros((1, 1, 1, 1, 3))), mode="bicubic",
                      align_corners=False)


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("ac", [True, False])
def test_affine_grid_matches_torch_with_theta_gradient(nd: int, ac: bool) -> None:
    rng = np.random.default_rng(nd)
    size = (2, 3, 4, 5) if nd == 2 else (2, 3, 2, 4, 5)
    th = rng.standard_normal((2, nd, nd + 1))
    t = tl.Tensor(th, requires_grad=True)
    grid = F.affine_grid(t, size, align_corners=ac)
    W = rng.standard_normal(grid.shape)
    (grid * W).sum().backward()
    tt = torch.tensor(th, requires_grad=True)
    tgrid = TF.affine_grid(tt, size, align_corners=ac)
    (tgrid * torch.tensor(W)).sum().backward()
    _close(grid.data, tgrid.detach().numpy(), "grid", 1e-13)
    _close(t.grad, tt.grad.numpy(), "theta grad", 1e-12)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        one = F.affine_grid(tl.Tensor(th[:1]), (1, 1) + (1,) * nd, align_corners=ac).data  # one pixel: centre 0
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        _close(one, TF.affine_grid(tt[:1].detach(), [1, 1] + [1] * nd, align_corners=ac).numpy(), "1 pixel")
    assert len(ours) == len(theirs)


class STN(nn.Module):
    """A spatial transformer: a Linear predicts theta, the image is resampled, a conv reads it."""

    def __init__(self) -> None:
        self.loc = nn.Linear(2 * 5 * 6, 6, rng=0)
        self.conv = nn.Conv2d(2, 3, 3, rng=1)
        self.head = nn.Linear(3, 2, rng=2)

    def forward(self, x: Any) -> tl.Tensor:
        theta = (self.loc(x.flatten(1)) * 0.3).reshape(-1, 2, 3) + np.array([[1.0, 0, 0], [0, 1, 0]])
        h = F.grid_sample(x, F.affine_grid(theta, (x.shape[0], 2, 4, 5), align_corners=False),
                          padding_mode="border", align_corners=False)
        return self.head(self.conv(h).tanh().mean(axis=(2, 3)))


def test_spatial_transformer_per_sample_gradients_match_each_sample_and_opacus() -> None:
    opacus = pytest.importorskip("opacus")
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((4, 2, 5, 6)), np.array([0, 1, 1, 0])
    m = STN()
    got = per_sample_check(m, [X], lambda out, s: F.cross_entropy(out, y[s]))
    tn = torch.nn

    class TorchSTN(tn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.loc, self.conv, self.head = tn.Linear(60, 6), tn.Conv2d(2, 3, 3), tn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            theta = (self.loc(x.flatten(1)) * 0.3).reshape(-1, 2, 3) + torch.tensor([[1.0, 0, 0], [0, 1, 0]],
                                                                                    dtype=x.dtype)
            h = TF.grid_sample(x, TF.affine_grid(theta, [x.shape[0], 2, 4, 5], align_corners=False),
                               padding_mode="border", align_corners=False)
            return self.head(torch.tanh(self.conv(h)).mean(dim=(2, 3)))

    tm = TorchSTN().double()
    tm.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gsm = opacus.GradSampleModule(tm)
        TF.cross_entropy(gsm(torch.tensor(X)), torch.tensor(y)).backward()
    for k, p in gsm.named_parameters():
        _close(got[k.removeprefix("_module.")], p.grad_sample.numpy(), k, 1e-9)


def test_grid_sample_and_affine_grid_refuse_bad_input_naming_the_shapes() -> None:
    x, g = tl.Tensor(np.zeros((2, 1, 3, 3))), tl.Tensor(np.zeros((2, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"grid_sample: .*input of shape \(2, 1, 3, 3\).*got shape \(1, 4, 4, 2\)"):
        F.grid_sample(x, tl.Tensor(np.zeros((1, 4, 4, 2))), align_corners=False)
    with pytest.raises(ValueError, match=r"grid_sample: .*got shape \(2, 4, 4, 3\)"):
        F.grid_sample(x, tl.Tensor(np.zeros((2, 4, 4, 3))), align_corners=False)
    with pytest.raises(ValueError, match="grid_sample: mode"):
        F.grid_sample(x, g, mode="bicubic2", align_corners=False)
    with pytest.raises(ValueError, match="grid_sample: padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(ValueError, match=r"affine_grid: expected theta of shape \(2, 2, 3\).*got shape \(2, 3, 4\)"):
        F.affine_grid(tl.Tensor(np.zeros((2, 3, 4))), (2, 1, 3, 3), align_corners=False)
    with pytest.warns(UserWarning, match="align_corners"):
        F.grid_sample(x, g)


# ------------------------------------------------------------------ parametrizations -------
def _layers() -> list:
    return [(lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), (5, 4)),
            (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), (5, 2, 5, 5)),
            (lambda: nn.ConvTranspose2d(2, 3, 3), lambda: torch.nn.ConvTranspose2d(2, 3, 3), (5, 2, 4, 4))]


def _apply(kind: str, m: Any, tm: Any) -> None:
    P, TP = nn.utils.parametrizations, torch.nn.utils.parametrizations
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "weight_norm":
            P.weight_norm(m), TP.weight_norm(tm)
        elif kind == "weight_norm_dim1":
            P.weight_norm(m, dim=1), TP.weight_norm(tm, dim=1)
        elif kind == "weight_norm_none":
            P.weight_norm(m, dim=None), TP.weight_norm(tm, dim=None)
        elif kind == "spectral_norm":
            P.spectral_norm(m, n_power_iterations=2), TP.spectral_norm(tm, n_power_iterations=2)
        elif kind == "old_weight_norm":
            nn.utils.weight_norm(m), torch.nn.utils.weight_norm(tm)
        else:
            nn.utils.spectral_norm(m), torch.nn.utils.spectral_norm(tm)


KINDS = ["weight_norm", "weight_norm_dim1", "weight_norm_none", "spectral_norm", "old_weight_norm",
         "old_spectral_norm"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", [0, 1, 2], ids=["Linear", "Conv2d", "ConvTranspose2d"])
def test_norm_reparametrizations_match_torch(kind: str, layer: int) -> None:
    make, tmake, xs = _layers()[layer]
    m, tm = make(), tmake().double()
    _load(m, tm)
    _apply(kind, m, tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(m) == repr(tm)
    _load(m, tm)  # the originals (and the power-iteration vectors) as torch's
    rng = np.random.default_rng(layer)
    X = rng.standard_normal(xs)
    for step in range(2):  # two calls: the spectral norm's vectors move in training mode; gradients add
        out, tout = m(tl.Tensor(X)), tm(torch.tensor(X))
        W = rng.standard_normal(out.shape)
        (out * W).sum().backward()
        (tout * torch.tensor(W)).sum().backward()
        _close(out.data, tout.detach().numpy(), f"output {step}", 1e-12)
    tp = dict(tm.named_parameters())
    assert [n for n, _ in m.named_parameters()] == list(tp)
    for n, p in m.named_parameters():
        _close(p.grad, tp[n].grad.numpy(), n, 1e-12)
    tsd = tm.state_dict()
    for k, v in m.state_dict().items():
        _close(v, tsd[k].numpy(), k, 1e-12)
    m.eval(), tm.eval()
    _close(m(tl.Tensor(X)).data, tm(torch.tensor(X)).detach().numpy(), "eval output", 1e-12)


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm", "old_weight_norm", "old_spectral_norm"])
def test_removing_the_reparametrization_leaves_torchs_weight(kind: str) -> None:
    m, tm = nn.Conv2d(2, 3, 3), torch.nn.Conv2d(2, 3, 3).double()
    _load(m, tm)
    _apply(kind, m, tm)
    _load(m, tm)
    X = np.random.default_rng(0).standard_normal((2, 2, 4, 4))
    m(tl.Tensor(X)), tm(torch.tensor(X))
    if kind.startswith("old"):
        getattr(nn.utils, "remove_" + kind[4:])(m)
        getattr(torch.nn.utils, "remove_" + kind[4:])(tm)
    else:
        nn.utils.parametrize.remove_parametrizations(m, "weight")
        torch.nn.utils.parametrize.remove_parametrizations(tm, "weight")
    assert type(m) is nn.Conv2d and repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    _close(m.weight.data, tm.weight.detach().numpy(), "weight", 1e-12)
    assert m.weight.requires_grad
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    with pytest.raises(ValueError, match="weight"):
        nn.utils.parametrize.remove_parametrizations(m, "weight")


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm", "old_weight_norm"])
def test_per_sample_gradients_reach_the_originals(kind: str) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.conv = nn.Conv1d(2, 3, 3, rng=0)
            self.fc = nn.Linear(3, 2, rng=1)

        def forward(self, x: Any) -> tl.Tensor:
            return self.fc(self.conv(x).relu().mean(axis=2))

    m = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for layer in (m.conv, m.fc):
            _apply(kind, layer, torch.nn.Linear(1, 1))
    m.eval()  # (the spectral norm's power step would move its vectors between the calls)
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((4, 2, 6)), np.array([0, 1, 1, 0])
    got = per_sample_check(m, [X], lambda out, s: F.cross_entropy(out, y[s]))
    assert any("original" in n or n.endswith("_g") for n in got)


def test_register_parametrization_with_a_custom_module_as_torch() -> None:
    class Symmetric(nn.Module):
        def forward(self, X: Any) -> tl.Tensor:
            return X.triu() + X.triu(1).T

        def right_inverse(self, A: Any) -> Any:
            return A.triu()

    class TSymmetric(torch.nn.Module):
        def forward(self, X: Any) -> Any:
            return X.triu() + X.triu(1).transpose(0, 1)

        def right_inverse(self, A: Any) -> Any:
            return A.triu()

    class Scale(nn.Module):
        def forward(self, X: Any) -> tl.Tensor:
            return X * 2.0

        def right_inverse(self, X: Any) -> Any:
            return X / 2.0

    class TScale(torch.nn.Module):
        def forward(self, X: Any) -> Any:
            return X * 2.0

        def right_inverse(self, X: Any) -> Any:
            return X / 2.0

    PZ, TPZ = nn.utils.parametrize, torch.nn.utils.parametrize
    m, tm = nn.Linear(3, 3), torch.nn.Linear(3, 3).double()
    _load(m, tm)
    PZ.register_parametrization(m, "weight", Symmetric())
    TPZ.register_parametrization(tm, "weight", TSymmetric())
    PZ.register_parametrization(m, "weight", Scale())
    TPZ.register_parametrization(tm, "weight", TScale())
    assert PZ.is_parametrized(m) and PZ.is_parametrized(m, "weight") and not PZ.is_parametrized(m, "bias")
    assert PZ.type_before_parametrizations(m) is nn.Linear
    assert list(m.state_dict()) == list(tm.state_dict()) and repr(m) \
        == repr(tm).replace("TSymmetric", "Symmetric").replace("TScale", "Scale")
    _close(m.weight.data, tm.weight.detach().numpy(), "weight")
    _close(m.weight.data, m.weight.data.T, "symmetric")
    new = np.arange(9.0).reshape(3, 3)
    m.weight = new  # through right_inverse: the original becomes new / 2
    with torch.no_grad():
        tm.weight = torch.tensor(new)
    _close(m.parametrizations.weight.original.data, tm.parametrizations.weight.original.detach().numpy(), "assigned")
    X = np.random.default_rng(1).standard_normal((2, 3))
    with PZ.cached():
        out = m(tl.Tensor(X)) + m(tl.Tensor(X))
        assert m.weight is m.weight
    with TPZ.cached():
        tout = tm(torch.tensor(X)) + tm(torch.tensor(X))
    out.sum().backward(), tout.sum().backward()
    _close(m.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad.numpy(), "grad")
    assert m.weight is not m.weight  # outside cached(): recomputed on each access
    with pytest.raises(ValueError, match="register_parametrization: .*no parameter or buffer named 'nope'"):
        PZ.register_parametrization(m, "nope", Scale())
    PZ.register_parametrization(m, "bias", nn.Tanh())
    before = m.parametrizations.bias.original.data.copy()
    with pytest.raises(RuntimeError, match="Tanh does not implement right_inverse"):
        m.bias = np.zeros(3)
    assert np.array_equal(m.parametrizations.bias.original.data, before)


# ------------------------------------------------------------------ init and utils ---------
@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 2, 3, 3), 2), ((3, 5, 2, 3, 4), 1), ((6, 1, 3, 3), 3),
                                          ((2, 5, 3, 3), 1)])
def test_dirac_is_torchs(shape: tuple, groups: int) -> None:
    w = tl.Tensor(np.ones(shape), requires_grad=True)
    tw = torch.ones(shape, dtype=torch.float64)
    nn.init.dirac_(w, groups)
    torch.nn.init.dirac_(tw, groups)
    assert np.array_equal(w.data, tw.numpy())
    conv = nn.Conv2d(3, 3, 3, padding=1)
    nn.init.dirac_(conv.weight), nn.init.zeros_(conv.bias)
    X = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    _close(conv(tl.Tensor(X)).data, X, "a dirac conv is the identity")


def test_dirac_and_sparse_refuse_bad_shapes_and_change_nothing() -> None:
    w = tl.Tensor(np.ones((3, 2)))
    for call, msg in ((lambda: nn.init.dirac_(w), r"dirac_: .*3, 4, or 5 dimensions.*\(3, 2\)"),
                      (lambda: nn.init.dirac_(tl.Tensor(np.ones((3, 2, 3))), groups=2), "dirac_: dim 0"),
                      (lambda: nn.init.sparse_(tl.Tensor(np.ones((3, 2, 2))), 0.5), r"sparse_: .*\(3, 2, 2\)"),
                      (lambda: nn.init.sparse_(w, 1.5), "sparse_: sparsity")):
        with pytest.raises(ValueError, match=msg):
            call()
    assert np.all(w.data == 1)


def test_sparse_zeroes_the_same_count_in_every_column_and_is_seeded() -> None:
    w = tl.Tensor(np.empty((50, 40)))
    nn.init.sparse_(w, 0.3, std=0.5, generator=3)
    zeros = (w.data == 0).sum(axis=0)
    assert np.all(zeros == int(np.ceil(0.3 * 50)))
    nonzero = w.data[w.data != 0]
    assert abs(nonzero.std() - 0.5) < 0.05 and abs(nonzero.mean()) < 0.05
    again = tl.Tensor(np.empty((50, 40)))
    assert np.array_equal(nn.init.sparse_(again, 0.3, std=0.5, generator=3).data, w.data)


def test_orthogonal_with_gain() -> None:
    for shape in ((3, 5), (5, 3), (4, 2, 3)):
        w = nn.init.orthogonal_(tl.Tensor(np.empty(shape)), gain=2.5, generator=1).data.reshape(shape[0], -1)
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        _close(small, 2.5 ** 2 * np.eye(min(w.shape)), str(shape), 1e-12)


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse", "eye", "dirac"])
def test_deprecated_init_names_warn_as_torch_and_call_the_new_one(name: str) -> None:
    args = {"constant": (0.5,), "sparse": (0.2,)}.get(name, ())
    shape = {"eye": (3, 4), "dirac": (3, 3, 3), "sparse": (5, 4)}.get(name, (3, 4))
    with pytest.warns(FutureWarning) as ours:
        nn.init.__dict__[name](tl.Tensor(np.zeros(shape)), *args)
    with pytest.warns(FutureWarning) as theirs:
        getattr(torch.nn.init, name)(torch.zeros(shape), *args)
    assert str(ours[0].message) == str(theirs[0].message)
    seeded = {} if name in ("constant", "eye", "dirac") else {"generator": 4}
    with pytest.warns(FutureWarning):
        a = getattr(nn.init, name)(tl.Tensor(np.zeros(shape)), *args, **seeded)
    b = getattr(nn.init, name + "_")(tl.Tensor(np.zeros(shape)), *args, **seeded)
    assert np.array_equal(a.data, b.data)


def _bn_pair(tbn: Any, bn: nn.Module) -> None:
    with torch.no_grad():
        tbn.running_mean.normal_(), tbn.running_var.uniform_(0.5, 2.0), tbn.weight.normal_(), tbn.bias.normal_()
    _load(bn, tbn)
    tbn.eval(), bn.eval()


@pytest.mark.parametrize("kind", ["conv", "conv_nobias", "transpose", "linear", "linear_bn1"])
def test_fusing_batchnorm_gives_torchs_layer(kind: str) -> None:
    torch.manual_seed(0)
    if kind.startswith("conv") or kind == "transpose":
        T = torch.nn.ConvTranspose2d if kind == "transpose" else torch.nn.Conv2d
        L = nn.ConvTranspose2d if kind == "transpose" else nn.Conv2d
        tl_layer, t_layer = L(2, 3, 3, bias=kind != "conv_nobias"), T(2, 3, 3, bias=kind != "conv_nobias").double()
        bn, tbn, xs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3).double(), (2, 2, 5, 5)
    else:
        n = 1 if kind == "linear_bn1" else 3
        tl_layer, t_layer = nn.Linear(4, 3), torch.nn.Linear(4, 3).double()
        bn, tbn, xs = nn.BatchNorm1d(n), torch.nn.BatchNorm1d(n).double(), (5, 4)
    _load(tl_layer, t_layer)
    _bn_pair(tbn, bn)
    tl_layer.eval(), t_layer.eval()
    if kind.startswith("linear"):
        fused, tfused = nn.utils.fuse_linear_bn_eval(tl_layer, bn), torch.nn.utils.fuse_linear_bn_eval(t_layer, tbn)
    else:
        t = kind == "transpose"
        fused, tfused = nn.utils.fuse_conv_bn_eval(tl_layer, bn, t), torch.nn.utils.fuse_conv_bn_eval(t_layer, tbn, t)
    X = np.random.default_rng(1).standard_normal(xs)
    _close(fused(tl.Tensor(X)).data, tfused(torch.tensor(X)).detach().numpy(), "fused output", 1e-12)
    if kind != "linear_bn1":
        _close(fused(tl.Tensor(X)).data, bn(tl_layer(tl.Tensor(X))).data, "bn(layer(x))", 1e-12)
    assert fused.bias.requires_grad == tfused.bias.requires_grad and fused is not tl_layer
    for n_, p in tfused.named_parameters():
        _close(getattr(fused, n_).data, p.detach().numpy(), n_, 1e-12)
    tl_layer.train()
    with pytest.raises(AssertionError, match="eval"):
        (nn.utils.fuse_linear_bn_eval if kind.startswith("linear") else nn.utils.fuse_conv_bn_eval)(tl_layer, bn)


@pytest.mark.parametrize("q", [2.0, 1.0, 3.0, float("inf"), 0.0])
def test_total_norm_and_clipping_with_it_as_torch(q: float) -> None:
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5), np.zeros((2, 2))]
    total = nn.utils.get_total_norm([tl.Tensor(g) for g in grads], q)
    ttotal = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], q)
    _close(total.data, ttotal.numpy(), "total", 1e-13)
    ps, tps = [], []
    for g in grads:
        p, tp = tl.Tensor(np.zeros_like(g), requires_grad=True), torch.zeros(g.shape, dtype=torch.float64,
                                                                            requires_grad=True)
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        ps.append(p), tps.append(tp)
    nn.utils.clip_grads_with_norm_(ps, 0.7, total)
    torch.nn.utils.clip_grads_with_norm_(tps, 0.7, ttotal)
    for p, tp in zip(ps, tps):
        _close(p.grad, tp.grad.numpy(), "clipped", 1e-13)
    if q:  # (the 0-"norm" of an infinite entry counts it: finite)
        with pytest.raises(RuntimeError, match="get_total_norm: .*non-finite"):
            nn.utils.get_total_norm([tl.Tensor(np.array([np.inf]))], q, error_if_nonfinite=True)


def test_skip_init_builds_the_layer_and_refuses_what_torch_refuses() -> None:
    m = nn.utils.skip_init(nn.Linear, 3, 2, dtype=np.float32)
    assert type(m) is nn.Linear and m.weight.shape == (2, 3) and m.weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="skip_init: .*'device'"):
        nn.utils.skip_init(nn.ReLU)
    with pytest.raises(RuntimeError, match="skip_init: Expected a Module"):
        nn.utils.skip_init(int)


@pytest.mark.filterwarnings("ignore:.*functional_call. is deprecated")
def test_functional_call_as_torch_with_gradients_to_the_given_tensors() -> None:
    m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    _load(m, tm)
    rng = np.random.default_rng(3)
    W, X = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    w, tw = tl.Tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    out = nn.utils.stateless.functional_call(m, {"0.weight": w}, (tl.Tensor(X),))
    tout = torch.nn.utils.stateless.functional_call(tm, {"0.weight": tw}, (torch.tensor(X),))
    _close(out.data, tout.detach().numpy(), "output", 1e-12)
    out.sum().backward(), tout.sum().backward()
    _close(w.grad, tw.grad.numpy(), "given weight's grad", 1e-12)
    assert m[0].weight.grad is None and isinstance(m[0].weight, tl.Tensor) and m[0].weight is not w
    _close(m(tl.Tensor(X)).data, tm(torch.tensor(X)).detach().numpy(), "restored", 1e-12)
    with pytest.raises(KeyError, match="functional_call: .*'0.wieght'"):
        nn.utils.stateless.functional_call(m, {"0.wieght": w}, (tl.Tensor(X),))


# ------------------------------------------------------------------ functions and layers ---
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 1, 0])
def test_gumbel_softmax_is_torchs_formula_on_the_same_noise(hard: bool, dim: int) -> None:
    rng = np.random.default_rng(1)
    L, W = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    x = tl.Tensor(L, requires_grad=True)
    tl.manual_seed(7)
    y = F.gumbel_softmax(x, tau=0.7, hard=hard, dim=dim)
    (y * W).sum().backward()
    tl.manual_seed(7)  # the same draw from the project's generator: g = -log(E), E ~ Exp(1)
    from tinygrad_lite.random import as_generator
    g = -np.log(as_generator(None).exponential(1.0, L.shape))
    tx = torch.tensor(L, requires_grad=True)
    soft = ((tx + torch.tensor(g)) / 0.7).softmax(dim)
    ty = soft
    if hard:
        onehot = torch.zeros_like(soft).scatter_(dim, soft.argmax(dim, keepdim=True), 1.0)
        ty = onehot - soft.detach() + soft
    (ty * torch.tensor(W)).sum().backward()
    _close(y.data, ty.detach().numpy(), "sample", 1e-13)
    _close(x.grad, tx.grad.numpy(), "grad", 1e-12)
    if hard:
        assert set(np.unique(y.data)) == {0.0, 1.0} and np.all(y.data.sum(axis=dim) == 1)


def test_gumbel_softmax_statistics_and_per_sample_gradients() -> None:
    logits = np.log(np.array([0.1, 0.2, 0.7]))
    draws = F.gumbel_softmax(tl.Tensor(np.tile(logits, (20000, 1))), hard=True, rng=3).data
    np.testing.assert_allclose(draws.mean(axis=0), [0.1, 0.2, 0.7], atol=0.015)
    lin = nn.Linear(4, 3, rng=0)
    X = np.random.default_rng(2).standard_normal((5, 4))
    F.gumbel_softmax(lin(tl.Tensor(X, batched=True)), tau=0.5, rng=5)[:, 0].sum().backward()
    got = lin.weight.grad_sample.copy()
    g = -np.log(np.random.default_rng(5).exponential(1.0, (5, 3)))  # row b: sample b's noise
    for b in range(5):
        lin.zero_grad()
        ((lin(tl.Tensor(X[b:b + 1])) + g[b]) / 0.5).softmax(-1)[:, 0].sum().backward()
        _close(got[b], lin.weight.grad, f"sample {b}")


@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, float("inf"), 0.0])
def test_pdist_matches_torch_with_a_zero_distance(p: float) -> None:
    X = np.random.default_rng(4).standard_normal((5, 3))
    X[3] = X[1]  # a zero distance: torch's gradient there is 0
    x, tx = tl.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    d, td = F.pdist(x, p), torch.pdist(tx, p)
    W = np.random.default_rng(5).standard_normal(d.shape)
    (d * W).sum().backward(), (td * torch.tensor(W)).sum().backward()
    _close(d.data, td.detach().numpy(), "distances", 1e-13)
    _close(x.grad, tx.grad.numpy(), "grad", 1e-12)


def test_pdist_mixes_samples_and_refuses_bad_input() -> None:
    lin = nn.Linear(3, 3, rng=0)
    F.pdist(lin(tl.Tensor(np.random.default_rng(0).standard_normal((4, 3)), batched=True))).sum().backward()
    with pytest.raises(RuntimeError, match="per-sample gradients"):
        _ = lin.weight.grad_sample
    with pytest.raises(RuntimeError, match=r"pdist: .*2D.*\(2, 3, 4\)"):
        F.pdist(tl.Tensor(np.zeros((2, 3, 4))))
    with pytest.raises(TypeError, match="gumbel_softmax: tau"):
        F.gumbel_softmax(tl.Tensor(np.zeros((2, 3))), tau="1")
    with pytest.raises(ValueError, match="gumbel_softmax: tau"):
        F.gumbel_softmax(tl.Tensor(np.zeros((2, 3))), tau=0.0)
    with pytest.raises(IndexError, match=r"gumbel_softmax: dim 2 .*\(2, 3\)"):
        F.gumbel_softmax(tl.Tensor(np.zeros((2, 3))), dim=2)
    with pytest.raises(RuntimeError, match="pdist: .*non-negative"):
        F.pdist(tl.Tensor(np.zeros((2, 3))), -1.0)


@pytest.mark.parametrize("name,args,shape", [
    ("max_pool1d_with_indices", (3, 2, 1), (2, 3, 9)), ("max_pool2d_with_indices", (3, 2, 1), (2, 2, 7, 6)),
    ("max_pool3d_with_indices", (2,), (1, 2, 4, 5, 4)), ("adaptive_max_pool1d_with_indices", (4,), (2, 3, 9)),
    ("adaptive_max_pool2d_with_indices", ((3, 2),), (2, 2, 7, 6)),
    ("adaptive_max_pool3d_with_indices", ((2, 3, 2),), (1, 2, 4, 5, 4))])
def test_pooling_with_indices_names_return_torchs_pair(name: str, args: tuple, shape: tuple) -> None:
    X = np.random.default_rng(6).standard_normal(shape)
    x, tx = tl.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (out, idx), (tout, tidx) = getattr(F, name)(x, *args), getattr(TF, name)(tx, *args)
    assert np.array_equal(np.asarray(idx.data if isinstance(idx, tl.Tensor) else idx), tidx.numpy())
    out.sum().backward(), tout.sum().backward()
    _close(out.data, tout.detach().numpy(), "output")
    _close(x.grad, tx.grad.numpy(), "grad")


def test_dropout3d_drops_whole_volumes_and_keeps_per_sample_gradients() -> None:
    X = np.random.default_rng(0).standard_normal((6, 4, 2, 3, 2))
    y = F.dropout3d(tl.Tensor(X), 0.5, rng=1).data
    keep = np.random.default_rng(1).random((6, 4, 1, 1, 1)) >= 0.5
    _close(y, X * keep * 2.0, "masked")
    m = nn.Dropout3d(0.3)
    assert repr(m) == repr(torch.nn.Dropout3d(0.3))
    _close(m.eval()(tl.Tensor(X)).data, X, "eval is the identity")
    assert F.dropout3d(tl.Tensor(X[0]), 0.5, rng=1).shape == X[0].shape  # unbatched (C, D, H, W)
    with pytest.raises(ValueError, match=r"dropout3d: .*\(2, 3, 4\)"):
        F.dropout3d(tl.Tensor(np.zeros((2, 3, 4))))
    conv = nn.Conv3d(4, 2, 1, rng=0)
    (F.dropout3d(conv(tl.Tensor(X, batched=True)), 0.4, rng=2) ** 2).mean(axis=(1, 2, 3, 4)).sum().backward()
    got = conv.weight.grad_sample.copy()
    mask = (np.random.default_rng(2).random((6, 2, 1, 1, 1)) >= 0.4) / 0.6
    for b in range(6):
        conv.zero_grad()
        ((conv(tl.Tensor(X[b:b + 1])) * mask[b]) ** 2).mean().backward()
        _close(got[b], conv.weight.grad, f"sample {b}")


@pytest.mark.parametrize("shape,k,kw", [((2, 3, 9, 11), 3, {"output_size": (4, 5)}),
                                        ((2, 3, 9, 11), (2, 3), {"output_size": (7, 6)}),
                                        ((3, 8, 8), 2, {"output_size": 4}),
                                        ((2, 2, 10, 12), 2, {"output_ratio": (0.5, 0.6)}),
                                        ((1, 2, 7, 7), 3, {"output_size": (1, 5)})])
def test_fractional_max_pool_matches_torch_given_the_samples(shape: tuple, k: Any, kw: dict) -> None:
    rng = np.random.default_rng(len(shape) + k if isinstance(k, int) else 0)
    X = rng.standard_normal(shape)
    U = rng.random((1 if len(shape) == 3 else shape[0], shape[-3], 2))
    x, tx = tl.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out, idx = F.fractional_max_pool2d(x, k, return_indices=True, _random_samples=U, **kw)
    tout, tidx = TF.fractional_max_pool2d(tx, k, return_indices=True, _random_samples=torch.tensor(U), **kw)
    W = rng.standard_normal(out.shape)
    (out * W).sum().backward(), (tout * torch.tensor(W)).sum().backward()
    assert np.array_equal(out.data, tout.detach().numpy()) and np.array_equal(idx.data, tidx.numpy())
    assert np.array_equal(x.grad, tx.grad.numpy())
    m, tm = nn.FractionalMaxPool2d(k, _random_samples=U, **kw), torch.nn.FractionalMaxPool2d(
        k, _random_samples=torch.tensor(U), **kw)
    assert repr(m) == repr(tm)
    _close(m(tl.Tensor(X)).data, tm(torch.tensor(X)).numpy(), "module")


def test_fractional_max_pool_draws_from_the_generator_and_keeps_per_sample_gradients() -> None:
    X = np.random.default_rng(0).standard_normal((3, 2, 8, 8))
    tl.manual_seed(3)
    a = F.fractional_max_pool2d(tl.Tensor(X), 2, output_size=5).data
    tl.manual_seed(3)
    assert np.array_equal(a, F.fractional_max_pool2d(tl.Tensor(X), 2, output_size=5).data)
    U = np.random.default_rng(1).random((3, 3, 2))

    class Net(nn.Module):
        def __init__(self) -> None:
            self.conv = nn.Conv2d(2, 3, 3, padding=1, rng=0)
            self.fc = nn.Linear(3 * 4 * 4, 2, rng=1)

        def forward(self, x: Any) -> tl.Tensor:
            samples = U if x.shape[0] == 3 else U[self.b:self.b + 1]
            h = F.fractional_max_pool2d(self.conv(x).tanh(), 2, output_size=4, _random_samples=samples)
            return self.fc(h.flatten(1))

    m = Net()
    y = np.array([0, 1, 1])
    rows = []
    for b in range(3):
        m.b = b
        m.zero_grad()
        F.cross_entropy(m(tl.Tensor(X[b:b + 1])), y[b:b + 1]).backward()
        rows.append(m.conv.weight.grad.copy())
    m.zero_grad()
    F.cross_entropy(m(tl.Tensor(X, batched=True)), y).backward()
    _close(m.conv.weight.grad_sample, np.stack(rows), "grad_sample")
    with pytest.raises(ValueError, match=r"fractional_max_pool2d: .*\(9, 9\).*\(3, 2, 8, 8\)"):
        F.fractional_max_pool2d(tl.Tensor(X), 2, output_size=9)
    with pytest.raises(ValueError, match="fractional_max_pool2d: _random_samples must have shape"):
        F.fractional_max_pool2d(tl.Tensor(X), 2, output_size=4, _random_samples=np.zeros((3, 2)))
    out, idx = F.fractional_max_pool2d_with_indices(tl.Tensor(X), 2, output_size=4, _random_samples=U[:, :2])
    tout, tidx = TF.fractional_max_pool2d_with_indices(torch.tensor(X), 2, output_size=4,
                                                       _random_samples=torch.tensor(U[:, :2]))
    assert isinstance(idx, tl.Tensor) and np.array_equal(idx.data, tidx.numpy())
    assert np.array_equal(out.data, tout.numpy())


LAZY = [("LazyLinear", (3,), (4, 5)), ("LazyConv1d", (4, 3), (2, 3, 7)),
        ("LazyConv2d", (4, 3, 1, 1, 1, 2), (2, 4, 6, 6)), ("LazyConv3d", (2, 2), (2, 3, 4, 4, 4)),
        ("LazyConvTranspose1d", (4, 3), (2, 3, 5)),
        ("LazyConvTranspose2d", (4, 3, 2), (2, 2, 4, 4)), ("LazyConvTranspose3d", (2, 2), (2, 3, 3, 3, 3)),
        ("LazyBatchNorm1d", (), (4, 3)), ("LazyBatchNorm2d", (), (4, 3, 2, 2)),
        ("LazyBatchNorm3d", (), (4, 3, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), (2, 3, 5)), ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
        ("LazyInstanceNorm3d", (), (2, 3, 3, 3, 3))]


@pytest.mark.filterwarnings("ignore:Lazy modules")
@pytest.mark.parametrize("name,args,shape", LAZY, ids=[c[0] + str(len(c[1])) for c in LAZY])
def test_lazy_layers_become_torchs_layer_and_train_with_an_optimizer_built_before(name: str, args: tuple,
                                                                                    shape: tuple) -> None:
    m, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args, dtype=torch.float64)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    assert m.has_uninitialized_params()
    opt, topt = tl.optim.Adam(m.parameters(), lr=0.1), torch.optim.Adam(tm.parameters(), lr=0.1)
    rng = np.random.default_rng(3)
    X = rng.standard_normal(shape)
    tm(torch.tensor(X)), m(tl.Tensor(X))
    assert type(m) is getattr(nn, name[4:]) and type(tm).__name__ == name[4:] and repr(m) == repr(tm)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for _ in range(3):
        opt.zero_grad(), topt.zero_grad()
        out, tout = m(tl.Tensor(X)), tm(torch.tensor(X))
        W = rng.standard_normal(out.shape)
        (out * W).sum().backward(), (tout * torch.tensor(W)).sum().backward()
        opt.step(), topt.step()
    tsd = tm.state_dict()
    for k, v in m.state_dict().items():
        _close(v, tsd[k].numpy(), k, 1e-12)


def test_lazy_layer_per_sample_gradients_and_errors() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            self.conv = nn.LazyConv1d(3, 3, rng=0)
            self.fc = nn.LazyLinear(2, rng=1)

        def forward(self, x: Any) -> tl.Tensor:
            return self.fc(self.conv(x).relu().mean(axis=2))

    m = Net()
    X, y = np.random.default_rng(4).standard_normal((4, 2, 6)), np.array([0, 1, 1, 0])
    m(tl.Tensor(X[:1]))
    assert [n for n, _ in m.named_parameters()] == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    per_sample_check(m, [X], lambda out, s: F.cross_entropy(out, y[s]))
    with pytest.raises(ValueError, match=r"LazyConv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got "
                                         r"shape \(2, 3\)"):
        nn.LazyConv2d(3, 3)(tl.Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="Conv2d: groups=2"):
        nn.LazyConv2d(3, 3, groups=2)


# ------------------------------------------------------------------ optimizers -------------
@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "weight_decay": 0.1, "d": 1.5},
                                {"eps": (1e-20, 1e-3), "beta2_decay": -0.5, "maximize": True}, {"lr": 0.3}],
                         ids=["defaults", "decay", "eps-maximize", "large-lr"])
def test_adafactor_matches_torch_over_25_steps(kw: dict) -> None:
    rng = np.random.default_rng(len(kw))
    shapes = [(4, 3), (5,), (2, 3, 4), ()]
    P = [rng.standard_normal(s) for s in shapes]
    ps = [tl.Tensor(p.copy(), requires_grad=True) for p in P]
    tps = [torch.tensor(p.copy(), requires_grad=True) for p in P]
    opt, topt = tl.optim.Adafactor(ps, **kw), torch.optim.Adafactor(tps, **kw)
    for _ in range(25):
        for p, tp in zip(ps, tps):
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step(), topt.step()
    for p, tp in zip(ps, tps):
        _close(p.data, tp.detach().numpy(), "parameter", 1e-12)
    sd, tsd = opt.state_dict(), topt.state_dict()
    for i, st in sd["state"].items():
        assert sorted(st) == sorted(tsd["state"][i])
        for k, v in st.items():
            _close(v, tsd["state"][i][k].numpy(), f"{i}.{k}", 1e-12)


def test_adafactor_loads_torchs_state_and_refuses_bad_settings() -> None:
    P = np.random.default_rng(0).standard_normal((3, 4))
    p, tp = tl.Tensor(P.copy(), requires_grad=True), torch.tensor(P.copy(), requires_grad=True)
    opt, topt = tl.optim.Adafactor([p]), torch.optim.Adafactor([tp])
    tp.grad = torch.ones(3, 4, dtype=torch.float64)
    topt.step()
    tsd = topt.state_dict()
    p.data = tp.detach().numpy().copy()
    opt.load_state_dict({"state": {0: {k: v.numpy() for k, v in tsd["state"][0].items()}},
                         "param_groups": tsd["param_groups"]})
    g = np.random.default_rng(1).standard_normal((3, 4))
    p.grad, tp.grad = g.copy(), torch.tensor(g)
    opt.step(), topt.step()
    _close(p.data, tp.detach().numpy(), "after loading", 1e-12)
    bad = {"state": {0: {"step": 1, "row_var": np.zeros((3, 4)), "col_var": np.zeros((1, 4))}},
           "param_groups": tsd["param_groups"]}
    before = dict(opt.state[p])
    with pytest.raises(ValueError, match=r"'row_var' of parameter 0 must be an array of shape \(3, 1\)"):
        opt.load_state_dict(bad)
    assert opt.state[p]["step"] == before["step"]
    for kw in ({"beta2_decay": 0.5}, {"d": 0.5}, {"eps": (-1.0, 1e-3)}, {"lr": -1.0}):
        with pytest.raises(ValueError):
            tl.optim.Adafactor([p], **kw)
        with pytest.raises(ValueError):
            torch.optim.Adafactor([tp], **kw)


def test_sparse_adam_on_an_embedding_matches_torchs_sparse_gradients() -> None:
    rng = np.random.default_rng(0)
    te = torch.nn.Embedding(10, 3, sparse=True).double()
    e = nn.Embedding(10, 3)
    _load(e, te)
    opt, topt = tl.optim.SparseAdam(e.parameters(), lr=0.05), torch.optim.SparseAdam(te.parameters(), lr=0.05)
    for _ in range(25):  # 12 lookups of 10 rows: some rows untouched, some repeated, each step
        idx, W = rng.integers(0, 10, (4, 3)), rng.standard_normal((4, 3, 3))
        opt.zero_grad(), topt.zero_grad()
        (e(tl.Tensor(idx)) * W).sum().backward()
        (te(torch.tensor(idx)) * torch.tensor(W)).sum().backward()
        opt.step(), topt.step()
    _close(e.weight.data, te.weight.detach().numpy(), "weights", 1e-12)
    st, tst = opt.state[e.weight], topt.state[te.weight]
    assert sorted(st) == sorted(tst) and st["step"] == int(tst["step"])
    _close(st["exp_avg_sq"], tst["exp_avg_sq"].numpy(), "exp_avg_sq", 1e-12)
    with pytest.raises(ValueError, match="lr"):
        tl.optim.SparseAdam(e.parameters(), lr=0.0)


# ------------------------------------------------------------------ deep copies keep hooks -
def test_a_deep_copy_of_a_module_keeps_its_hooks_as_torchs() -> None:
    import copy

    def run(lib: Any, make: Callable, tensor: Callable) -> list:
        seen: list = []  # (hook, id of the module it was called with); the hooks hold no module

        class Recorder:  # a callable object: deep-copied with the module
            def __call__(self, module: Any, args: Any, output: Any) -> Any:
                seen.append(("post", id(module)))
                return output * 2

        m = make()
        handle = m.register_forward_pre_hook(lambda module, args: seen.append(("pre", id(module))))
        m.register_forward_hook(Recorder())
        m.register_full_backward_hook(lambda module, gi, go: seen.append(("backward", id(module))))
        copy_m = copy.deepcopy(m)
        handle.remove()  # the original's handle: the copy keeps its own pre-hook
        out = copy_m(tensor(np.ones((1, 3))))
        out.sum().backward()
        return [(kind, who == id(copy_m)) for kind, who in seen] + [float(out.sum().item())]

    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2).double()
    m = nn.Linear(3, 2)
    _load(m, tm)
    ours = run(tl, lambda: m, lambda a: tl.Tensor(a, requires_grad=True))
    theirs = run(torch, lambda: tm, lambda a: torch.tensor(a, requires_grad=True))
    assert ours[:-1] == theirs[:-1] == [("pre", True), ("post", True), ("backward", True)]
    assert abs(ours[-1] - theirs[-1]) < 1e-12


def test_a_deep_copy_of_a_weight_normed_module_computes_its_own_weight() -> None:
    """torch refuses to deep-copy such a module (its weight is a non-leaf); here the copy's
    pre-hook recomputes the copy's weight from the copy's g and v, as a torch module holding
    them would."""
    import copy

    m = nn.Linear(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nn.utils.weight_norm(m)
        tm = torch.nn.utils.weight_norm(torch.nn.Linear(3, 2).double())
    with pytest.raises(RuntimeError):
        copy.deepcopy(tm)
    c = copy.deepcopy(m)
    with tl.no_grad():
        c.weight_g.data *= 3.0
    X = np.random.default_rng(0).standard_normal((4, 3))
    tm.load_state_dict({k: torch.tensor(v) for k, v in c.state_dict().items()})
    _close(c(tl.Tensor(X)).data, tm(torch.tensor(X)).detach().numpy(), "copy", 1e-12)
    before = m(tl.Tensor(X)).data
    tm.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    _close(before, tm(torch.tensor(X)).detach().numpy(), "the original", 1e-12)
    nn.utils.remove_weight_norm(c)
    assert [n for n, _ in c.named_parameters()] == ["bias", "weight"]
    _close(m(tl.Tensor(X)).data, before, "the original keeps its hook", 1e-12)
    assert not isinstance(m.__dict__.get("weight"), type(None)) and m.weight._op is not None


def test_a_parametrized_buffer_stays_a_buffer_as_torchs() -> None:
    class Square(nn.Module):
        def forward(self, x: Any) -> tl.Tensor:
            return x * x

    class TSquare(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return x * x

    m, tm = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3).double()
    with torch.no_grad():
        tm.running_var.uniform_(1.0, 2.0)
    _load(m, tm)
    nn.utils.parametrize.register_parametrization(m, "running_var", Square())
    torch.nn.utils.parametrize.register_parametrization(tm, "running_var", TSquare())
    assert list(m.state_dict()) == list(tm.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    m.eval(), tm.eval()
    X = np.random.default_rng(0).standard_normal((4, 3))
    _close(m(tl.Tensor(X)).data, tm(torch.tensor(X)).detach().numpy(), "eval output", 1e-12)
    nn.utils.parametrize.remove_parametrizations(m, "running_var")
    torch.nn.utils.parametrize.remove_parametrizations(tm, "running_var")
    assert list(m.state_dict()) == list(tm.state_dict()) and "running_var" in dict(m.named_buffers())
    _close(m.running_var.data, tm.running_var.numpy(), "running_var", 1e-12)


def test_a_module_whose_hook_refers_to_it_is_freed_as_torchs() -> None:
    import gc
    import weakref

    from tinygrad_lite import hooks

    def build(lib: Any) -> Any:
        m = lib.nn.Linear(3, 2)
        m.register_forward_hook(lambda module, args, out: m.weight is not None and None)  # holds m
        return weakref.ref(m)

    gc.collect()  # (earlier tests' garbage first: its modules would leave the registry below)
    before = len(hooks.MODULES)
    ours, theirs = build(tl), build(torch)
    gc.collect()
    assert theirs() is None
    assert ours() is None and len(hooks.MODULES) == before


@pytest.mark.filterwarnings("ignore:Lazy modules")
def test_a_lazy_module_is_initialised_before_its_forward_pre_hooks_as_torchs() -> None:
    def seen(lib: Any, x: Any) -> list:
        m, names = lib.nn.LazyLinear(2), []
        m.register_forward_pre_hook(lambda module, args: names.append(type(module).__name__))
        m(x)
        return names

    assert seen(tl, tl.Tensor(np.ones((1, 3)))) == seen(torch, torch.ones(1, 3)) == ["Linear"]


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("pad", ["zeros", "border", "reflection"])
def test_grid_sample_and_affine_grid_keep_float32(mode: str, pad: str) -> None:
    x = tl.Tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32), requires_grad=True)
    th = tl.Tensor(np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]], np.float32), requires_grad=True)
    grid = F.affine_grid(th, (1, 2, 4, 4), align_corners=False)
    out = F.grid_sample(x, grid, mode=mode, padding_mode=pad, align_corners=False)
    out.sum().backward()
    assert grid.dtype == out.dtype == x.grad.dtype == th.grad.dtype == np.float32
    tgrid = TF.affine_grid(torch.tensor(th.data), [1, 2, 4, 4], align_corners=False)
    tout = TF.grid_sample(torch.tensor(x.data), tgrid, mode=mode, padding_mode=pad, align_corners=False)
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Lazy modules")
def test_loading_a_state_dict_initialises_lazy_layers_as_torchs_all_or_nothing() -> None:
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, groups=2), torch.nn.BatchNorm2d(4),
                             torch.nn.ConvTranspose2d(4, 3, 2), torch.nn.Flatten(), torch.nn.LazyLinear(5)).double()
    X = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    tm(torch.tensor(X))
    state = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    m = nn.Sequential(nn.LazyConv2d(4, 3, groups=2), nn.LazyBatchNorm2d(), nn.LazyConvTranspose2d(3, 2), nn.Flatten(),
                      nn.LazyLinear(5))
    placeholders = [p for p in m.parameters()]
    with pytest.raises(ValueError, match=r"'4.bias' has shape \(7,\)"):
        m.load_state_dict(dict(state, **{"4.bias": np.zeros(7)}))
    assert all(type(layer).__name__.startswith("Lazy") for layer in m if type(layer) is not nn.Flatten)
    m.load_state_dict(state)
    assert [type(layer).__name__ for layer in m] == [type(layer).__name__ for layer in tm] and repr(m) == repr(tm)
    assert [id(p) for p in m.parameters()] == [id(p) for p in placeholders]
    m.eval(), tm.eval()
    _close(m(tl.Tensor(X)).data, tm(torch.tensor(X)).detach().numpy(), "output", 1e-12)
