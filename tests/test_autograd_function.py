"""tl.autograd.Function: user-written forward/backward, checked against the same maths built
from tl ops, against torch.autograd.Function, and for torch's error cases."""

import numpy as np
import pytest

import tinygrad_lite as tl

rng = np.random.default_rng(0)


class Exp(tl.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Scale(tl.autograd.Function):
    """h * s with s a parameter broadcast over rows: the gradient of s is summed over rows."""

    @staticmethod
    def forward(ctx, h, s):
        ctx.save_for_backward(h, s)
        return h * s

    @staticmethod
    def backward(ctx, g):
        h, s = ctx.saved_tensors
        return g * s, (g * h).sum(0)


class SinCos(tl.autograd.Function):
    """Three outputs: two differentiable ones of different shapes, and a Python int."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (x * w).sin(), (x * w).cos().sum(1), 3

    @staticmethod
    def backward(ctx, ga, gb, gc):
        assert gc is None
        x, w = ctx.saved_tensors
        d = ga * (x * w).cos() - gb[:, None] * (x * w).sin()
        return d * w, (d * x).sum(0)


def test_single_output_gradient_and_grad_fn():
    x = tl.tensor(rng.random((3, 2)), requires_grad=True)
    y = Exp.apply(x)
    assert y.requires_grad and y.grad_fn.name() == "Exp"
    (y * 2).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data), rtol=1e-15)


def test_matches_torch_function_multi_output():
    torch = pytest.importorskip("torch")

    class TSinCos(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return (x * w).sin(), (x * w).cos().sum(1)

        @staticmethod
        def backward(ctx, ga, gb):
            x, w = ctx.saved_tensors
            d = ga * (x * w).cos() - gb[:, None] * (x * w).sin()
            return d * w, (d * x).sum(0)

    xd, wd = rng.random((4, 3)), rng.random(3)
    x, w = tl.tensor(xd, requires_grad=True), tl.tensor(wd, requires_grad=True)
    a, b, c = SinCos.apply(x, w)
    assert c == 3 and a.shape == (4, 3) and b.shape == (4,)
    (a.sum() * 0.5 + (b ** 2).sum()).backward()
    xt, wt = torch.tensor(xd, requires_grad=True), torch.tensor(wd, requires_grad=True)
    at, bt = TSinCos.apply(xt, wt)
    (at.sum() * 0.5 + (bt ** 2).sum()).backward()
    np.testing.assert_allclose(a.data, at.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12)


def test_mixed_dtype_outputs_keep_their_dtypes():
    class Two(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, (x * 3).to(tl.float32)

        @staticmethod
        def backward(ctx, ga, gb):
            assert gb.dtype == np.float32
            return ga * 2 + gb.to(tl.float64) * 3

    x = tl.tensor(rng.random(4), requires_grad=True)
    a, b = Two.apply(x)
    assert a.dtype == np.float64 and b.dtype == np.float32
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(x.grad, np.full(4, 5.0), rtol=1e-7)


def test_second_order_through_backward_written_with_tensor_ops():
    x = tl.tensor(rng.random(5), requires_grad=True)
    (g,) = tl.autograd.grad(Exp.apply(x).sum(), [x], create_graph=True)
    assert g.requires_grad
    (h,) = tl.autograd.grad((g ** 2).sum(), [x])
    np.testing.assert_allclose(h.data, 2 * np.exp(2 * x.data), rtol=1e-13)  # d/dx sum exp(x)^2


def test_once_differentiable_gives_values_under_create_graph_and_refuses_a_second_derivative():
    class Once(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        @tl.autograd.function.once_differentiable
        def backward(ctx, g):
            return g * 2

    x = tl.tensor(rng.random(3), requires_grad=True)
    Once.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 2.0)
    # as torch: the first-order gradient is computed (a constant: the seed needs no grad) ...
    (g,) = tl.autograd.grad(Once.apply(x).sum() + (x ** 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.data, 2.0 + 3 * x.data ** 2)
    (h,) = tl.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.data, 6 * x.data)
    # ... and a cotangent that requires grad makes its path raise when differentiated again
    v = tl.tensor(rng.random(3), requires_grad=True)
    (g,) = tl.autograd.grad(Once.apply(x), [x], v, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * v.data)
    with pytest.raises(RuntimeError, match="once_differentiable.*Once"):
        g.sum().backward()


def test_per_sample_gradients_through_function_with_a_parameter():
    lin = tl.nn.Linear(2, 3, rng=1)
    X = tl.Tensor(rng.random((6, 2)), batched=True)
    s = tl.tensor(rng.random(3), requires_grad=True)
    (Scale.apply(lin(X).tanh(), s) ** 2).sum(1).mean().backward()
    got = {"s": s.grad_sample.copy(), "w": lin.weight.grad_sample.copy(), "sn": s.grad_sample_norm.copy(),
           "g": s.grad.copy()}
    lin.zero_grad()
    s2 = tl.tensor(s.data.copy(), requires_grad=True)
    ((lin(X).tanh() * s2) ** 2).sum(1).mean().backward()
    np.testing.assert_allclose(got["s"], s2.grad_sample, rtol=1e-12)
    np.testing.assert_allclose(got["w"], lin.weight.grad_sample, rtol=1e-12)
    np.testing.assert_allclose(got["sn"], s2.grad_sample_norm, rtol=1e-12)
    np.testing.assert_allclose(got["g"], s2.grad, rtol=1e-12)
    # the batch mean of the per-sample gradients is the gradient
    np.testing.assert_allclose(got["s"].mean(0), got["g"], rtol=1e-12)


def test_per_sample_gradients_through_a_parameter_side_function():
    class Sq(tl.autograd.Function):
        @staticmethod
        def forward(ctx, w):
            ctx.save_for_backward(w)
            return w * w

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return 2 * g * w

    X = tl.Tensor(rng.random((5, 2)), batched=True)
    W = tl.tensor(rng.random((3, 2)), requires_grad=True)
    W2 = tl.tensor(W.data.copy(), requires_grad=True)
    (X @ Sq.apply(W).T).tanh().sum(1).mean().backward()
    (X @ (W2 * W2).T).tanh().sum(1).mean().backward()
    np.testing.assert_allclose(W.grad_sample, W2.grad_sample, rtol=1e-12)
    W.zero_grad()
    W2.zero_grad()
    (X @ Sq.apply(W).T).tanh().sum(1).sum().backward(per_sample="norms")
    (X @ (W2 * W2).T).tanh().sum(1).sum().backward(per_sample="norms")
    np.testing.assert_allclose(W.grad_sample_norm, W2.grad_sample_norm, rtol=1e-12)


def test_untracked_or_reducing_function_makes_per_sample_reads_raise_but_fills_grad():
    class Untracked(tl.autograd.Function):
        @staticmethod
        def forward(ctx, h):
            return tl.tensor(np.tanh(h.data))

        @staticmethod
        def backward(ctx, g):
            return g

    class MeanSq(tl.autograd.Function):
        @staticmethod
        def forward(ctx, h):
            ctx.save_for_backward(h)
            return (h ** 2).mean()

        @staticmethod
        def backward(ctx, g):
            (h,) = ctx.saved_tensors
            return g * 2 * h / h.numel()

    X = tl.Tensor(rng.random((4, 2)), batched=True)
    lin = tl.nn.Linear(2, 2, rng=0)
    Untracked.apply(lin(X)).sum(1).mean().backward()
    assert lin.weight.grad is not None
    with pytest.raises(RuntimeError, match="Untracked"):
        _ = lin.weight.grad_sample
    lin.zero_grad()
    MeanSq.apply(lin(X)).backward()
    np.testing.assert_allclose(lin.weight.grad, (2 * (lin(X).data) / 8).T @ X.data, rtol=1e-12)
    with pytest.raises(RuntimeError, match="MeanSq.*reduces over the sample axis"):
        _ = lin.weight.grad_sample


def test_new_style_setup_context_kwargs_and_needs_input_grad():
    seen = {}

    class Mul(tl.autograd.Function):
        @staticmethod
        def forward(x, y, alpha=2.0):
            return x * y * alpha

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, alpha = inputs
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha

        @staticmethod
        def backward(ctx, g):
            seen["needs"] = ctx.needs_input_grad
            x, y = ctx.saved_tensors
            return g * y * ctx.alpha, None, None

    x = tl.tensor(rng.random(3), requires_grad=True)
    y = tl.tensor(rng.random(3))
    Mul.apply(x, y, alpha=3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 3.0 * y.data, rtol=1e-15)
    assert seen["needs"] == (True, False, False)


def test_non_differentiable_outputs_and_materialize_grads():
    got = {}

    class ArgmaxAndValue(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            idx = tl.tensor(np.argmax(x.data, 1))
            v = x.max(1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            ctx.idx = idx
            return v, idx

        @staticmethod
        def backward(ctx, gv, gidx):
            got["gidx"] = gidx
            (x,) = ctx.saved_tensors
            out = np.zeros(x.shape)
            out[np.arange(x.shape[0]), ctx.idx.data] = gv.data
            return tl.tensor(out), None

    x = tl.tensor(rng.random((3, 4)), requires_grad=True)
    v, idx = ArgmaxAndValue.apply(x, True)
    assert v.requires_grad and not idx.requires_grad
    v.sum().backward()
    assert got["gidx"] is not None and not np.any(got["gidx"].data)
    expect = np.zeros((3, 4))
    expect[np.arange(3), np.argmax(x.data, 1)] = 1
    np.testing.assert_array_equal(x.grad, expect)
    v, idx = ArgmaxAndValue.apply(x, False)
    v.sum().backward()
    assert got["gidx"] is None


def test_vjp_is_another_name_of_backward_and_no_grad_records_nothing():
    class Neg(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return -x

        @staticmethod
        def vjp(ctx, g):
            return -g

    x = tl.tensor(rng.random(2), requires_grad=True)
    Neg.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, -1.0)
    with tl.no_grad():
        assert not Neg.apply(x).requires_grad
    assert not Neg.apply(tl.tensor([1.0, 2.0])).requires_grad


@pytest.mark.parametrize("bad, match", [
    ("count", r"incorrect number of gradients \(expected 2"),
    ("shape", r"invalid gradient at index 0: got shape \(4,\), expected a shape compatible with \(3,\)"),
    ("nontensor", "not a Tensor"),
])
def test_bad_backward_results_raise_naming_the_function(bad, match):
    class Bad(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            if bad == "count":
                return (g,)
            if bad == "shape":
                return np.ones(4), None
            return g, g

    x = tl.tensor(rng.random(3), requires_grad=True)
    y = Bad.apply(x, 2.0).sum()
    with pytest.raises(RuntimeError, match="Bad.backward") as e:
        y.backward()
    assert e.match(match)
    assert x.grad is None


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class AddBias(tl.autograd.Function):
        @staticmethod
        def forward(ctx, h, b):
            return h + b

        @staticmethod
        def backward(ctx, g):
            return g, g  # g has h's shape; b's gradient is summed by the library

    h = tl.tensor(rng.random((4, 3)), requires_grad=True)
    b = tl.tensor(rng.random(3), requires_grad=True)
    AddBias.apply(h, b).sum().backward()
    np.testing.assert_allclose(b.grad, np.full(3, 4.0))


def test_saved_tensor_changed_in_place_is_refused():
    x = tl.tensor(rng.random(3), requires_grad=True)
    h = x * 1.0
    y = Scale.apply(h, tl.tensor(rng.random(3), requires_grad=True))
    with tl.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()


def test_misuse_errors():
    with pytest.raises(RuntimeError, match=r"Exp.apply"):
        Exp()(tl.tensor([1.0]))
    with pytest.raises(TypeError, match="subclass Function"):
        tl.autograd.Function.apply(tl.tensor([1.0]))

    class NoBackward(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="NoBackward"):
        NoBackward.apply(x).sum().backward()

    class SaveNumber(tl.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="SaveNumber.save_for_backward"):
        SaveNumber.apply(x)


def test_finite_differences_float64():
    w = tl.tensor(rng.random(3), requires_grad=True)
    X = rng.random((4, 3))

    def f(wd):
        a, b, _ = SinCos.apply(tl.tensor(X), tl.tensor(wd))
        return float((a.sum() + (b ** 3).sum()).item())

    a, b, _ = SinCos.apply(tl.tensor(X), w)
    (a.sum() + (b ** 3).sum()).backward()
    eps = 1e-6
    fd = [(f(w.data + eps * e) - f(w.data - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(w.grad, fd, rtol=1e-7)


def test_per_sample_rows_of_several_parameters_share_the_per_sample_calls():
    calls = []

    class Affine(tl.autograd.Function):
        @staticmethod
        def forward(ctx, h, a, b):
            ctx.save_for_backward(h, a)
            return h * a + b

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            h, a = ctx.saved_tensors
            return g * a, (g * h).sum(0), g.sum(0)

    X = tl.Tensor(rng.random((7, 3)), batched=True)
    a = tl.tensor(rng.random(3), requires_grad=True)
    b = tl.tensor(rng.random(3), requires_grad=True)
    (Affine.apply(X, a, b).tanh() ** 2).sum(1).mean().backward()
    assert len(calls) == 1  # the backward itself; nothing per-sample is built yet
    ga, gb = a.grad_sample, b.grad_sample
    assert len(calls) == 1 + 7  # one call per sample served both parameters
    y = np.tanh(X.data * a.data + b.data)
    d = 2 * y * (1 - y ** 2)  # d (sum_j y_j^2) / d pre-activation, per sample
    np.testing.assert_allclose(ga, d * X.data, rtol=1e-12)
    np.testing.assert_allclose(gb, d, rtol=1e-12)
