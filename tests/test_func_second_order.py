"""Second-order transforms against torch 2.13 (float64): ``tl.func.hessian`` / ``jacfwd`` /
``jvp`` and ``tl.autograd.functional.hessian`` / ``jvp`` / ``vhp`` / ``hvp``, nested with
``vmap`` and ``grad``; the bad-input errors."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import func as tf

torch = pytest.importorskip("torch")
TF = torch.func
TAF = torch.autograd.functional
AF = tl.autograd.functional

rng = np.random.default_rng(7)
A = rng.standard_normal(3)
B = rng.standard_normal((2, 3))
VA = rng.standard_normal(3)
VB = rng.standard_normal((2, 3))


def T(a):
    return tl.tensor(a)


def TT(a):
    return torch.tensor(a)


def same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t)
        return
    assert isinstance(ours, tl.Tensor)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def f2(lib):
    return lambda x, y: lib.tanh(x * y).sum() * x.sum() + (y ** 3).sum() * lib.sin(x).sum()


def g2(lib):
    return lambda x, y: (lib.tanh(x) * y, (x * y).sum(1))


def f1(lib):
    return lambda x: (lib.exp(x) * lib.sin(x)).sum() + (x ** 4).sum() / 3


@pytest.mark.parametrize("tuple_in", [False, True])
def test_autograd_functional_hessian(tuple_in):
    if tuple_in:
        same(AF.hessian(f2(tl), (T(A), T(B))), TAF.hessian(f2(torch), (TT(A), TT(B))))
    else:
        same(AF.hessian(f1(tl), T(A)), TAF.hessian(f1(torch), TT(A)))


@pytest.mark.parametrize("name", ["vhp", "hvp"])
def test_autograd_functional_vhp_hvp(name):
    ours = getattr(AF, name)(f2(tl), (T(A), T(B)), (T(VA), T(VB)))
    theirs = getattr(TAF, name)(f2(torch), (TT(A), TT(B)), (TT(VA), TT(VB)))
    same(ours, theirs)
    ours = getattr(AF, name)(f1(tl), T(A), T(VA))
    same(ours, getattr(TAF, name)(f1(torch), TT(A), TT(VA)))


def test_hvp_of_an_mlp_loss():
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 4, dtype=torch.float64)
    W, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    x = rng.standard_normal((5, 3))
    y = rng.integers(0, 4, 5)

    def ours(w):
        return tl.nn.functional.cross_entropy(tl.tanh(T(x) @ w.T + T(b)), tl.tensor(y))

    def theirs(w):
        return torch.nn.functional.cross_entropy(torch.tanh(TT(x) @ w.T + TT(b)), torch.tensor(y))

    v = rng.standard_normal(W.shape)
    same(AF.hvp(ours, T(W), T(v)), TAF.hvp(theirs, TT(W), TT(v)))


@pytest.mark.parametrize("tuple_in", [False, True])
def test_autograd_functional_jvp(tuple_in):
    if tuple_in:
        same(AF.jvp(g2(tl), (T(B), T(2 * B)), (T(VB), T(3 * VB))),
             TAF.jvp(g2(torch), (TT(B), TT(2 * B)), (TT(VB), TT(3 * VB))))
    else:
        same(AF.jvp(lambda x: tl.exp(x) * x, T(A), T(VA)), TAF.jvp(lambda x: torch.exp(x) * x, TT(A), TT(VA)))


def test_create_graph_results_stay_differentiable():
    x = T(A).requires_grad_()
    out, hv = AF.hvp(f1(tl), x, T(VA), create_graph=True)
    assert hv.requires_grad and out.requires_grad
    tx = TT(A).requires_grad_()
    _, thv = TAF.hvp(f1(torch), tx, TT(VA), create_graph=True)
    (g,) = tl.autograd.grad(hv.sum(), x)
    (tg,) = torch.autograd.grad(thv.sum(), tx)
    same(g, tg)
    assert not AF.hvp(f1(tl), x, T(VA))[1].requires_grad


def test_func_hessian_and_jacfwd():
    same(tf.hessian(f2(tl))(T(A), T(B)), TF.hessian(f2(torch))(TT(A), TT(B)))
    same(tf.hessian(f2(tl), argnums=(0, 1))(T(A), T(B)), TF.hessian(f2(torch), argnums=(0, 1))(TT(A), TT(B)))
    same(tf.jacfwd(g2(tl), argnums=1)(T(B), T(2 * B)), TF.jacfwd(g2(torch), argnums=1)(TT(B), TT(2 * B)))


def test_func_jvp_pytrees_and_aux():
    ours = tf.jvp(g2(tl), (T(B), T(2 * B)), (T(VB), T(3 * VB)))
    theirs = TF.jvp(g2(torch), (TT(B), TT(2 * B)), (TT(VB), TT(3 * VB)))
    same(ours, theirs)
    ours = tf.jvp(lambda d: ({"s": tl.sin(d["a"]) * d["b"]}, d["a"] * 2), ({"a": T(A), "b": T(VA)},),
                  ({"a": T(VA), "b": T(A)},), has_aux=True)
    theirs = TF.jvp(lambda d: ({"s": torch.sin(d["a"]) * d["b"]}, d["a"] * 2), ({"a": TT(A), "b": TT(VA)},),
                    ({"a": TT(VA), "b": TT(A)},), has_aux=True)
    same(ours[0]["s"], theirs[0]["s"])
    same(ours[1]["s"], theirs[1]["s"])
    same(ours[2], theirs[2])


def test_nested_transforms():
    h = lambda lib: (lambda x: (lib.sin(x) ** 2).sum())  # noqa: E731
    ours = tf.vmap(lambda x, v: tf.jvp(tf.grad(h(tl)), (x,), (v,))[1])(T(B), T(VB))
    theirs = TF.vmap(lambda x, v: TF.jvp(TF.grad(h(torch)), (x,), (v,))[1])(TT(B), TT(VB))
    same(ours, theirs)
    same(tf.grad(tf.grad(lambda x: tl.tanh(x) * x))(T(np.array(0.7))),
         TF.grad(TF.grad(lambda x: torch.tanh(x) * x))(TT(np.array(0.7))))
    same(tf.grad(lambda x: tf.jvp(lambda y: (y ** 3).sum(), (x,), (T(VA),))[1])(T(A)),
         TF.grad(lambda x: TF.jvp(lambda y: (y ** 3).sum(), (x,), (TT(VA),))[1])(TT(A)))
    same(tf.vmap(tf.hessian(f1(tl)))(T(B)), TF.vmap(TF.hessian(f1(torch)))(TT(B)))


def test_grad_through_live_parameters():
    lin = tl.nn.Linear(3, 2)
    tlin = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.data))
        tlin.bias.copy_(torch.tensor(lin.bias.data))
    ours = tf.grad(lambda x: tl.tanh(lin(x)).sum())(T(A))
    theirs = TF.grad(lambda x: torch.tanh(tlin(x)).sum())(TT(A))
    same(ours, theirs)
    assert lin.weight.grad is None
    # the input gradient is a function of the weights: a penalty on it reaches them
    pen = (ours ** 2).sum()
    pen.backward()
    (theirs ** 2).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, tlin.weight.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_errors_name_the_function():
    with pytest.raises(RuntimeError, match="hessian.*single element"):
        AF.hessian(lambda x: x * 2, T(A))
    with pytest.raises(RuntimeError, match="vhp.*single Tensor"):
        AF.vhp(lambda x: (x.sum(), x.sum()), T(A), T(VA))
    with pytest.raises(RuntimeError, match="jvp.*invalid size"):
        AF.jvp(lambda x: x * 2, T(A), T(VB))
    with pytest.raises(RuntimeError, match="jvp.*v can only be None"):
        AF.jvp(lambda x: x * 2, T(A))
    with pytest.raises(RuntimeError, match="hvp.*input 1.*strict mode"):
        AF.hvp(lambda x, y: (x ** 2).sum(), (T(A), T(B)), (T(VA), T(VB)), strict=True)
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        tf.jvp(lambda x: x, T(A), (T(A),))
    with pytest.raises(RuntimeError, match="same python structure"):
        tf.jvp(lambda x, y: x, (T(A), T(A)), (T(A),))
    with pytest.raises(RuntimeError, match="same shape"):
        tf.jvp(lambda x: x, (T(A),), (T(B),))
    with pytest.raises(ValueError, match="hessian.*strategy"):
        AF.hessian(f1(tl), T(A), outer_jacobian_strategy="sideways")


def test_an_op_without_differentiable_backward_is_named():
    x = T(A)
    with pytest.raises(NotImplementedError, match="scatter_reduce"):
        AF.hessian(lambda x: tl.zeros(3, dtype=tl.float64).scatter_reduce(
            0, tl.tensor([0, 1, 2]), x * x, "prod", include_self=False).sum(), x)
    assert x.grad is None
