"""Tensor-level PyTorch code (data preparation, metrics, hand-written losses) run unchanged on
torch and on tinygrad_lite: each snippet ``f(T, *xs)`` takes the framework module and its
input tensors, so the same source runs on both; values, dtypes and shapes are compared, and for
float inputs the gradients of a fixed weighted sum of the float results."""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

CASES: list = []


@pytest.fixture(autouse=True)
def _torch_default_float64() -> Any:
    """tinygrad_lite's default float is float64 (the contract); torch is set to match."""
    assert tl.get_default_dtype() == np.float64
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
_RNG = np.random.default_rng(20261127)


def _arr(*shape: int) -> np.ndarray:
    return _RNG.normal(size=shape)


def case(*inputs: Any) -> Callable:
    """Register ``f`` with its inputs: float arrays become leaves requiring grad, others plain."""
    def deco(f: Callable) -> Callable:
        CASES.append(pytest.param(f, inputs, id=f.__name__))
        return f
    return deco


def _make(T: Any, a: Any) -> Any:
    if isinstance(a, np.ndarray):
        t = T.tensor(a)
        if a.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return a


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [v for o in out for v in _flat(o)]
    return [out]


def _np(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return np.asarray(v.detach().numpy())


def _compare(got: Any, want: Any, where: str) -> None:
    if isinstance(want, torch.Tensor):
        assert isinstance(got, tl.Tensor), f"{where}: expected a Tensor, got {type(got).__name__}"
        g, w = _np(got), _np(want)
        assert g.dtype == w.dtype, f"{where}: dtype {g.dtype} != torch's {w.dtype}"
        assert g.shape == w.shape, f"{where}: shape {g.shape} != torch's {w.shape}"
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=where)
    elif isinstance(want, torch.Size):
        assert isinstance(got, tuple) and tuple(got) == tuple(want), f"{where}: {got} != torch's {want}"
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) or (hasattr(want, "_fields") and hasattr(got, "_fields")), \
            f"{where}: {type(got).__name__} != torch's {type(want).__name__}"
        assert len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{where}[{i}]")
    else:
        assert type(got) is type(want), f"{where}: {type(got).__name__} != torch's {type(want).__name__}"
        if isinstance(want, float) and math.isnan(want):
            assert math.isnan(got)
        elif not isinstance(want, numbers.Number) or isinstance(want, bool):  # a str, a bool, None: exact
            assert got == want, f"{where}: {got!r} != torch's {want!r}"
        else:
            assert got == pytest.approx(want, rel=1e-10, abs=1e-12), where


def _run(f: Callable, inputs: tuple) -> None:
    txs = [_make(torch, a) for a in inputs]
    lxs = [_make(tl, a) for a in inputs]
    want = f(torch, *txs)
    got = f(tl, *lxs)
    _compare(got, want, f.__name__)
    wants = [v for v in _flat(want) if isinstance(v, torch.Tensor) and v.requires_grad]
    if not wants:
        return
    gots = [v for v in _flat(got) if isinstance(v, tl.Tensor) and v.requires_grad]
    assert len(gots) == len(wants), f"{f.__name__}: {len(gots)} results require grad, torch has {len(wants)}"
    weights = [_RNG.normal(size=tuple(w.shape)) for w in wants]
    sum(((w * torch.tensor(c)).sum() for w, c in zip(wants, weights)), torch.zeros((), dtype=torch.float64)).backward()
    sum(((g * tl.tensor(c)).sum() for g, c in zip(gots, weights)), tl.zeros((), dtype=tl.float64)).backward()
    for i, (tx, lx) in enumerate(zip(txs, lxs)):
        if isinstance(tx, torch.Tensor) and tx.requires_grad:
            tg = tx.grad.numpy() if tx.grad is not None else np.zeros(tx.shape)
            lg = np.asarray(lx.grad) if lx.grad is not None else np.zeros(lx.shape)
            np.testing.assert_allclose(lg, tg, rtol=1e-10, atol=1e-12, err_msg=f"{f.__name__}: grad of input {i}")


# ---------------------------------------------------------------------------- one-hot, scatter --
@case(np.array([0, 2, 1, 2]))
def one_hot_and_float(T: Any, y: Any) -> Any:
    F = T.nn.functional
    return F.one_hot(y, num_classes=4), F.one_hot(y).float(), F.one_hot(y, 3).to(T.float64)


@case(np.array([0, 2, 1, 2]))
def one_hot_by_scatter_(T: Any, y: Any) -> Any:
    z = T.zeros(y.shape[0], 3)
    z.scatter_(1, y.unsqueeze(1), 1.0)
    w = T.zeros(4, 3, dtype=T.long).scatter_(1, y.view(-1, 1), 1)
    return z, w


@case(np.array([0, 2, 1, 2, 2]), _arr(5, 3))
def label_smoothing_by_hand(T: Any, y: Any, logits: Any) -> Any:
    eps, n = 0.1, logits.size(-1)
    target = T.full_like(logits, eps / (n - 1)).scatter(1, y[:, None], 1 - eps)
    return -(target * logits.log_softmax(dim=-1)).sum(dim=1).mean()


# ---------------------------------------------------------------------- confusion matrices --
@case(np.array([0, 1, 2, 2, 1, 0, 2]), np.array([0, 2, 2, 1, 1, 0, 0]))
def confusion_by_bincount(T: Any, y: Any, p: Any) -> Any:
    k = 3
    cm = T.bincount(y * k + p, minlength=k * k).reshape(k, k)
    return cm, cm.diag().sum().item() / cm.sum().item(), T.bincount(y), T.bincount(p, minlength=5)


@case(np.array([0, 1, 2, 2, 1, 0, 2]), np.array([0, 2, 2, 1, 1, 0, 0]))
def confusion_by_index_put(T: Any, y: Any, p: Any) -> Any:
    cm = T.zeros(3, 3, dtype=T.long)
    cm.index_put_((y, p), T.ones_like(y), accumulate=True)
    f = T.zeros(3, 3)
    f.index_put_((y, p), T.tensor(0.5), accumulate=True)
    return cm, f, cm.diag() / cm.sum(1).clamp(min=1)


@case(np.array([0, 1, 2, 2, 1]), _arr(5))
def bincount_weights(T: Any, y: Any, w: Any) -> Any:
    return T.bincount(y, weights=w.detach()), y.bincount(minlength=4)


# ------------------------------------------------------------------------ top-k accuracy --
@case(_arr(6, 5), np.array([0, 4, 2, 2, 1, 3]))
def topk_accuracy(T: Any, logits: Any, y: Any) -> Any:
    _, pred = logits.topk(3, dim=1, largest=True, sorted=True)
    correct = pred.eq(y.view(-1, 1).expand_as(pred))
    top1 = correct[:, :1].any(dim=1).float().mean()
    top3 = correct.any(dim=1).float().sum() * 100.0 / y.size(0)
    return pred, correct, top1, top3, (logits.argmax(1) == y).sum().item()


@case(_arr(4, 6))
def topk_values_differentiable(T: Any, x: Any) -> Any:
    v, i = T.topk(x, 2, dim=-1, largest=False)
    r = x.topk(2)
    return v, i, r.values, r.indices


# ---------------------------------------------------------------------- masking, padding --
@case(_arr(3, 4), np.array([2, 4, 1]))
def mask_from_lengths(T: Any, x: Any, lengths: Any) -> Any:
    mask = T.arange(x.size(1))[None, :] < lengths[:, None]
    filled = x.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    mean = (x * mask).sum(1) / mask.sum(1)
    return mask, filled, mean, x.masked_fill(mask == 0, 0.0)


@case(_arr(3, 4))
def masked_select_and_nonzero(T: Any, x: Any) -> Any:
    m = x > 0
    return x.masked_select(m), T.masked_select(x, m), m.nonzero(), T.nonzero(m, as_tuple=True), m.sum()


@case(_arr(3, 4))
def where_with_scalars(T: Any, x: Any) -> Any:
    return T.where(x > 0, x, 0.0), T.where(x > 0, 1.0, -1.0), T.where(x < 0, x * 2, x), x.where(x > 0, 0.5)


@case(_arr(2, 5))
def bool_mask_index_and_assign(T: Any, x: Any) -> Any:
    y = x.clone()
    y[y < 0] = 0.0
    return x[x > 0.1], y, x[:, T.tensor([True, False, True, False, True])]


# ---------------------------------------------------------------------------- normalisation --
@case(_arr(4, 3))
def standardise_features(T: Any, x: Any) -> Any:
    mu = x.mean(dim=0, keepdim=True)
    sd = x.std(dim=0, unbiased=False, keepdim=True)
    return (x - mu) / (sd + 1e-8), x.std(dim=1, correction=0), x.var(1, keepdim=True), x.std()


@case(_arr(4, 3))
def norms_and_normalize(T: Any, x: Any) -> Any:
    F = T.nn.functional
    return (x.norm(p=2, dim=1), x.norm(dim=-1, keepdim=True), x.norm(), x.norm(p=1, dim=0),
            F.normalize(x, dim=1), F.normalize(x, p=1, dim=0), x / x.norm(dim=1, keepdim=True).clamp_min(1e-12))


@case(_arr(5))
def min_max_scaling(T: Any, x: Any) -> Any:
    return (x - x.min()) / (x.max() - x.min()), T.clamp(x, -0.5, 0.5), x.clamp(max=0.2)


# ------------------------------------------------------------------------- pairwise distances --
@case(_arr(4, 3), _arr(5, 3))
def pairwise_distances(T: Any, a: Any, b: Any) -> Any:
    d_bcast = ((a.unsqueeze(1) - b.unsqueeze(0)) ** 2).sum(-1).sqrt()
    return T.cdist(a, b), T.cdist(a, b, p=1), d_bcast


@case(_arr(4, 3), _arr(5, 3))
def cosine_similarities(T: Any, a: Any, b: Any) -> Any:
    F = T.nn.functional
    sim = F.cosine_similarity(a.unsqueeze(1), b.unsqueeze(0), dim=-1)
    same = F.cosine_similarity(a, b[:4], dim=1)
    manual = F.normalize(a, dim=1) @ F.normalize(b, dim=1).t()
    return sim, same, manual, T.cosine_similarity(a, b[:4])


# --------------------------------------------------------------------------------- sorting --
@case(_arr(6))
def sort_descending(T: Any, x: Any) -> Any:
    v, i = x.sort(descending=True)
    s = T.sort(x)
    return v, i, s.values, s.indices, x.argsort(descending=True), T.argsort(x), x[x.argsort()]


@case(np.array([3, 1, 3, 2, 1, 3]))
def unique_counts(T: Any, y: Any) -> Any:
    u, c = T.unique(y, return_counts=True)
    u2, inv = y.unique(return_inverse=True)
    return u, c, u2, inv, T.unique(y, sorted=True)


@case(np.array([0.0, 1.0, 2.5, 4.0]), np.array([0.5, 2.5, -1.0, 5.0, 1.0]))
def searchsorted_bins(T: Any, edges: Any, v: Any) -> Any:
    e, x = edges.detach(), v.detach()
    return T.searchsorted(e, x), T.searchsorted(e, x, right=True), T.bucketize(x, e)


# ---------------------------------------------------------------------------- cumulative ops --
@case(_arr(3, 4))
def cumulative(T: Any, x: Any) -> Any:
    return x.cumsum(dim=1), T.cumsum(x, 0), x.cumprod(1), T.logcumsumexp(x, dim=1), x.logcumsumexp(0)


@case(np.array([3, 1, 4, 1]))
def cumsum_of_ints_is_long(T: Any, y: Any) -> Any:
    return y.cumsum(0), T.cumsum(y > 1, dim=0), y.cumprod(0)


# ---------------------------------------------------------------------------------- shape ops --
@case(_arr(2, 3, 4))
def views_and_permutes(T: Any, x: Any) -> Any:
    return (x.view(2, -1), x.view(-1), x.reshape(6, 4), x.permute(2, 0, 1), T.transpose(x, 0, 2), x.swapaxes(1, 2),
            x.flatten(1), x.flatten(start_dim=0, end_dim=1), x.unflatten(2, (2, 2)), x.view(x.size(0), -1))


@case(_arr(1, 3, 1))
def squeeze_unsqueeze_expand(T: Any, x: Any) -> Any:
    return (x.squeeze(0), x.squeeze(-1), x.squeeze(), x.squeeze(1).shape, x.expand(2, 3, 4),
            x.expand(-1, -1, 5), x.repeat(2, 1, 3), x[..., None].shape, x.unsqueeze(-1).squeeze(2))


@case(_arr(3, 2), np.array([1, 0, 2]))
def repeat_interleave(T: Any, x: Any, r: Any) -> Any:
    return x.repeat_interleave(2, dim=0), T.repeat_interleave(x, r, dim=0), x.repeat_interleave(2)


@case(_arr(7, 2))
def chunk_split_unbind(T: Any, x: Any) -> Any:
    return x.chunk(3), x.split(2), x.split([1, 4, 2], dim=0), T.split(x, [3, 4]), x.unbind(1), T.chunk(x, 2, 1)


@case(_arr(2, 3), _arr(2, 3))
def stack_cat(T: Any, a: Any, b: Any) -> Any:
    return T.stack([a, b]), T.stack((a, b), dim=-1), T.cat([a, b], dim=1), T.cat((a, b)), T.cat([a, b], -1)


@case(_arr(3, 4))
def flip_roll(T: Any, x: Any) -> Any:
    return x.flip(0), T.flip(x, dims=(0, 1)), x.roll(1, 1), T.roll(x, shifts=(1, -1), dims=(0, 1)), x.roll(2)


@case(_arr(4, 4))
def tril_triu_diag(T: Any, x: Any) -> Any:
    causal = T.tril(T.ones(4, 4)).bool()
    return (x.tril(), x.triu(diagonal=1), T.tril(x, -1), T.triu(x, 2), causal,
            x.masked_fill(~causal, float("-inf")).softmax(-1))


@case(_arr(2, 3))
def diag_embed_and_diag(T: Any, x: Any) -> Any:
    return T.diag_embed(x), x.diag_embed(offset=1), T.diag(x[0]), T.eye(3) * x[1]


# ---------------------------------------------------------------------------------- indexing --
@case(_arr(4, 5), np.array([3, 0, 3]))
def index_forms(T: Any, x: Any, idx: Any) -> Any:
    return (x[idx], x[:, [0, 2]], x[..., None], x[x[:, 0] > 0], x[idx, idx], x[1:, -1], x[None, 1],
            x[:, idx], x[-1])


@case(_arr(4, 5), np.array([[0, 4], [1, 1], [3, 2], [0, 0]]))
def gather_and_take(T: Any, x: Any, idx: Any) -> Any:
    return (x.gather(1, idx), T.gather(x, 1, idx), T.take_along_dim(x, idx, dim=1),
            x.index_select(0, T.tensor([2, 0])), T.index_select(x, 1, idx[:, 0]), x.take_along_dim(idx, 1))


@case(_arr(5, 3), np.array([2, 0, 1, 1, 2]))
def nll_by_gather(T: Any, logits: Any, y: Any) -> Any:
    logp = logits.log_softmax(dim=1)
    nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1).mean()
    picked = -logp[T.arange(5), y].mean()
    return nll, picked, T.nn.functional.nll_loss(logp, y)


# -------------------------------------------------------------------------------- reductions --
@case(_arr(3, 4))
def reductions(T: Any, x: Any) -> Any:
    m = x.max(dim=1)
    mk = x.max(1, keepdim=True)
    return (x.amax(dim=1), x.amax(dim=(0, 1)), T.amax(x, 0, keepdim=True), x.logsumexp(dim=1), T.logsumexp(x, 0),
            x.prod(dim=1), x.prod(), m.values, m.indices, mk[0], mk[1], x.min(dim=0)[1], x.max(), x.sum(dim=(0, 1)),
            x.mean((0, 1)), x.amin(1))


@case(_arr(3, 4))
def max_unpacks_like_torch(T: Any, x: Any) -> Any:
    values, indices = T.max(x, dim=1)
    best, where = x.min(dim=-1)
    return values, indices, best, where, T.max(x, T.zeros_like(x)), T.argmax(x), x.argmax(dim=0, keepdim=True)


# ------------------------------------------------------------------------------------ dtypes --
@case(np.array([7, -7, 3, 0]), np.array([2, 2, -2, 5]))
def integer_division(T: Any, a: Any, b: Any) -> Any:
    return (a // b, a % b, T.div(a, b, rounding_mode="floor"), T.div(a, b, rounding_mode="trunc"), a / b,
            a.div(b), T.remainder(a, b), T.fmod(a, b), a // 2, a % 3, 7 // b, a.floor_divide(b), a * 1.5)


@case(_arr(5) * 3)
def float_division_rounding(T: Any, x: Any) -> Any:
    with T.no_grad():  # (torch has no derivative for floor_divide)
        fd = x // 1.5
    return fd, T.div(x, 2.0, rounding_mode="floor"), x.div(0.7, rounding_mode="trunc"), x % 1.5


@case(_arr(4), np.array([1, 0, 2, 1]))
def dtype_conversions(T: Any, x: Any, y: Any) -> Any:
    return (x.float(), x.long(), x.double(), x.int(), x.bool(), x.to(T.float32), y.to(T.float64),
            y.type_as(x), x.type_as(y), y.float() / 2, (y == 1).float().mean(),
            y.to(dtype=T.float32).dtype == T.float32, x.half().float(), (x > 0).long().sum(), x.to(x.dtype))


@case(np.array([1, 2, 3]))
def int_tensor_with_python_floats(T: Any, y: Any) -> Any:
    return y * 0.5, y + 1, y - 1.0, y.float().mean(), y.sum(), y.sum().dtype == T.int64, y.mean(dtype=T.float64)


# ---------------------------------------------------------------------------------- creation --
@case()
def creation(T: Any) -> Any:
    e = T.empty(2, 3).fill_(0.5)
    return (T.full((2, 3), 7), T.full((2,), 1.5), T.arange(0, 1, 0.25), T.arange(5), T.arange(1, 4, dtype=T.float64),
            T.linspace(0, 1, steps=5), T.eye(3), T.eye(2, 3), e, T.zeros(2, dtype=T.long), T.ones(3, 1),
            T.arange(0.5, 2.0))


@case(_arr(2, 3), np.array([1, 2]))
def like_factories(T: Any, x: Any, y: Any) -> Any:
    return (T.zeros_like(x), T.ones_like(y), T.full_like(x, 2), x.new_zeros(3), x.new_full((2,), 3.0), y.new_ones(2),
            x.new_tensor([1, 2]), T.zeros_like(x, dtype=T.long), T.empty_like(x).shape)


@case()
def tensor_from_python(T: Any) -> Any:
    return (T.tensor([1, 2, 3]), T.tensor([1.0, 2.0]), T.tensor(3), T.tensor(2.5), T.tensor([True, False]),
            T.tensor([[1, 2], [3, 4]], dtype=T.float64), T.tensor([]), T.as_tensor([1.0, 2.0]))


# ------------------------------------------------------------------------------- in-place ops --
@case(_arr(3), _arr(3))
def inplace_on_leaves_under_no_grad(T: Any, w: Any, g: Any) -> Any:
    with T.no_grad():
        w.mul_(0.9)
        w.add_(g, alpha=-0.1)
        w.clamp_(-0.5, 0.5)
        w.sub_(0.01)
        w.div_(2)
    return w.detach().clone(), w.requires_grad, w.is_leaf


@case(_arr(3))
def clone_detach_item_tolist(T: Any, x: Any) -> Any:
    c = x.clone().detach()
    c[0] = 10.0
    return c, x.sum().item(), x.tolist(), x[0].item(), x.detach().numpy().tolist(), c.requires_grad, x.argmax().item()


@case(_arr(3))
def numpy_of_a_tensor_requiring_grad(T: Any, x: Any) -> Any:
    return T.tensor(x.detach().numpy() * 2), T.from_numpy(x.detach().numpy().copy())


# -------------------------------------------------------------------------------- comparisons --
@case(_arr(5), _arr(5))
def comparisons_are_bool(T: Any, a: Any, b: Any) -> Any:
    return (a > b, a >= 0, a.eq(b), a.ne(a), a < 0.5, T.logical_and(a > 0, b > 0), (a > 0) & (b > 0), (a > 0) | (b > 0),
            ~(a > 0), (a > 0) ^ (b > 0), T.eq(a, a), a.lt(b).any(), a.gt(-10).all(), T.isclose(a, a), T.equal(a, a))


@case(_arr(5))
def bool_tensors_as_indices_and_counts(T: Any, x: Any) -> Any:
    pos = x > 0
    return (x[pos].sum(), pos.sum().item(), pos.float().mean(), pos.nonzero().squeeze(1), T.count_nonzero(pos),
            pos.any().item())


# ------------------------------------------------------------------------ hand-written losses --
@case(_arr(6), np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]))
def bce_by_hand(T: Any, z: Any, y: Any) -> Any:
    y = y.detach()
    p = T.sigmoid(z)
    loss = -(y * T.log(p + 1e-12) + (1 - y) * T.log(1 - p + 1e-12)).mean()
    stable = T.clamp(z, min=0) - z * y + T.log1p(T.exp(-z.abs()))
    return loss, stable.mean(), T.nn.functional.binary_cross_entropy_with_logits(z, y)


@case(_arr(4, 3), _arr(4, 3))
def contrastive_logits(T: Any, a: Any, b: Any) -> Any:
    F = T.nn.functional
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / 0.07
    labels = T.arange(logits.size(0))
    return F.cross_entropy(logits, labels), (logits.argmax(dim=1) == labels).float().mean()


@case(_arr(5, 2), _arr(5, 2))
def huber_by_hand(T: Any, p: Any, t: Any) -> Any:
    d = (p - t).abs()
    return T.where(d < 1.0, 0.5 * d ** 2, d - 0.5).mean(), T.nn.functional.smooth_l1_loss(p, t)


# ------------------------------------------------------------------------------ more probes --
@case(_arr(2, 3, 4))
def sizes_and_dims(T: Any, x: Any) -> Any:
    return (x.size(), x.size(-1), x.shape[0], len(x), x.dim(), x.ndim, x.numel(), x.size()[1:], x.shape[-2:],
            x.unsqueeze(0).expand(3, -1, -1, -1).shape, x.view_as(x.reshape(2, 12)).shape)


@case(_arr(4, 3))
def more_statistics(T: Any, x: Any) -> Any:
    sd, mu = T.std_mean(x, dim=0)
    var, mu2 = T.var_mean(x, dim=1, correction=0)
    med = x.median(dim=1)
    kv = T.kthvalue(x, 2, dim=0)
    return (sd, mu, var, mu2, T.var(x, dim=0, unbiased=True), T.std(x, dim=1, correction=2), med.values, med.indices,
            kv.values, kv.indices, x.median(), x.mean(dim=[0, 1]), x.sum(-1, keepdim=True))


@case(_arr(4, 3))
def linalg_norms(T: Any, x: Any) -> Any:
    return (T.linalg.norm(x, dim=1), T.linalg.vector_norm(x, ord=2, dim=-1), x.norm(p="fro"), T.norm(x, dim=0),
            T.linalg.matrix_norm(x), x.norm(p=float("inf"), dim=1), T.nn.functional.pairwise_distance(x, x.flip(0)))


@case(_arr(2, 4, 3), _arr(2, 5, 3))
def batched_cdist_and_attention_scores(T: Any, a: Any, b: Any) -> Any:
    scores = a @ b.swapaxes(-2, -1) / math.sqrt(a.size(-1))
    return T.cdist(a, b), scores.softmax(dim=-1), T.bmm(a, b.mT), T.einsum("bid,bjd->bij", a, b)


@case(_arr(3, 4))
def cummax_and_unfold(T: Any, x: Any) -> Any:
    cm = x.cummax(dim=1)
    return cm.values, cm.indices, x.unfold(1, 2, 1), x[0].unfold(0, 2, 2), T.cummin(x, 0).values


@case(np.array([1, 1, 2, 2, 2, 3, 1]), np.array([[1, 2], [1, 2], [0, 1]]))
def unique_more(T: Any, y: Any, rows: Any) -> Any:
    u, c = T.unique_consecutive(y, return_counts=True)
    ur, inv = T.unique(rows, dim=0, return_inverse=True)
    return u, c, ur, inv, T.unique(y).numel()


@case(np.array([[0.0, 1.0, 2.0], [0.0, 0.5, 1.0]]), np.array([[0.5, 2.0], [0.7, 0.1]]))
def searchsorted_2d(T: Any, s: Any, v: Any) -> Any:
    s, v = s.detach(), v.detach()
    return T.searchsorted(s, v), T.searchsorted(s, v, side="right"), T.bucketize(v, s[0], right=True)


@case(_arr(3), _arr(4))
def meshgrid_outer(T: Any, a: Any, b: Any) -> Any:
    gx, gy = T.meshgrid(a, b, indexing="ij")
    return gx, gy, T.outer(a, b), a @ a, T.cartesian_prod(a, b[:2])


@case(_arr(5, 2), np.array([0, 2, 0, 1, 2]))
def segment_sums(T: Any, x: Any, seg: Any) -> Any:
    s = T.zeros(3, 2).index_add(0, seg, x)
    c = T.zeros(3, dtype=T.long).scatter_add_(0, seg, T.ones_like(seg))
    mx = T.zeros(3, 2).scatter_reduce(0, seg[:, None].expand(-1, 2), x, reduce="amax", include_self=False)
    mean = T.zeros(3, 2).scatter_reduce(0, seg[:, None].expand(-1, 2), x, reduce="mean", include_self=False)
    return s, c, mx, mean, s / c.clamp(min=1).unsqueeze(1)


@case(_arr(4), np.array([0, 2, 2]))
def inplace_index_updates(T: Any, x: Any, idx: Any) -> Any:
    y = x.detach().clone()
    y[idx] += 1.0
    z = T.zeros(4)
    z.index_fill_(0, idx, -1.0)
    m = T.zeros(4)
    m.masked_fill_(x > 0, 2.0)
    w = T.zeros(4).index_copy(0, T.tensor([1, 3]), T.tensor([5.0, 6.0]))
    return y, z, m, w, x.index_fill(0, idx, 0.0)


@case(_arr(3, 4))
def diagonals(T: Any, x: Any) -> Any:
    sq = x[:, :3]
    return (T.diagonal(x), x.diagonal(offset=1), sq.trace(), T.diagonal(x[None], dim1=-2, dim2=-1),
            sq.diag(), T.diag(x, 1), T.triu_indices(3, 3, 1), T.tril_indices(3, 3))


@case(_arr(3, 4))
def integer_results_of_float_ops(T: Any, x: Any) -> Any:
    return ((x > 0).sum(dim=1), (x > 0).sum(), x.argmax(dim=1, keepdim=True), T.argmin(x), x.sign(),
            T.round(x, decimals=2), x.round(), x.floor().long(), (x * 10).int() % 3, T.count_nonzero(x > 0, dim=0))


@case(_arr(2, 3))
def pad_constant(T: Any, x: Any) -> Any:
    F = T.nn.functional
    return F.pad(x, (1, 2)), F.pad(x, (0, 0, 1, 0), value=-1.0), F.pad(x, [1, 1], mode="constant", value=0.5)


@case(np.array([3, 0, 2]))
def item_and_tolist_types(T: Any, y: Any) -> Any:
    return (y.sum().item(), (y > 1).any().item(), y.tolist(), y[0].tolist(), y.float().mean().item(),
            T.tensor([[1, 2], [3, 4]]).tolist(), (y == 0).tolist(), int(y[1]), float(y[0]), bool(y[2] > 1))


@case(_arr(2, 3), np.array([[0, 1], [1, 2]]))
def advanced_index_forms(T: Any, x: Any, ij: Any) -> Any:
    return (x[[0, 1], [1, 2]], x[ij[0], ij[1]], x[:, None, :], x[1, ..., 1:], x[x > 0].shape, x[T.tensor([1])],
            x[0][x[0] > 0], x[[1, 0]], x[..., 0], x[:, T.tensor([2, 0])], x[ij.clamp(max=1)])


@case(_arr(3), np.array([1, 2, 3]))
def pow_and_int_promotion(T: Any, x: Any, y: Any) -> Any:
    return y ** 2, 2 ** y, y.pow(2), x ** 2, 2 ** x, x.pow(y), y / 2, y * x, y.float() ** 0.5, y // 2 * 2, -y, abs(-y)


@case(_arr(3, 4))
def softmax_forms(T: Any, x: Any) -> Any:
    F = T.nn.functional
    return (x.softmax(dim=-1), F.softmax(x, dim=1), F.log_softmax(x, 0), T.softmax(x, 1), T.log_softmax(x, dim=-1),
            x.log_softmax(1).exp(), x.exp() / x.exp().sum(dim=-1, keepdim=True), T.sigmoid(x), x.sigmoid().round())


@case(_arr(3, 4))
def nan_handling(T: Any, x: Any) -> Any:
    y = x.detach().clone()
    y[0, 1] = float("nan")
    return (T.isnan(y), T.isnan(y).any(), T.nan_to_num(y, nan=0.0), y.nansum(), T.nanmean(y, dim=1),
            T.isfinite(y).all(dim=1), y[~T.isnan(y)].sum())


@case(_arr(4), _arr(4))
def min_max_forms(T: Any, a: Any, b: Any) -> Any:
    return (T.maximum(a, b), T.minimum(a, T.tensor(0.0)), T.clamp(a, min=b), a.clamp(min=T.full_like(a, -0.1), max=b),
            T.max(a, b), T.min(a, b), a.max(b), T.aminmax(a).min, a.clip(-0.5, 0.5))


@case(_arr(4), _arr(4))
def sum_dtype_and_device(T: Any, a: Any, b: Any) -> Any:
    dev = a.device
    return (a.to("cpu"), a.cpu(), b.to(dev), a.sum(dim=0, dtype=T.float32), T.tensor([1, 2]).to(a.device, T.float64),
            a.new_empty(3).shape, a.to(b), T.as_tensor(a.detach().numpy()))


@case(_arr(3, 4))
def split_more(T: Any, x: Any) -> Any:
    return (T.tensor_split(x, 3, dim=1), x.split(split_size=3, dim=1), T.hstack([x, x]), T.vstack((x, x)),
            T.dstack([x, x]).shape, T.column_stack([x[0], x[1]]), T.concat([x, x], 0), T.concatenate([x, x], dim=1))


@case(_arr(3, 4))
def sort_more(T: Any, x: Any) -> Any:
    v, i = T.sort(x, dim=0, descending=True, stable=True)
    tv = T.topk(x, 2, dim=0)
    return v, i, tv.values, tv.indices, x.msort(), T.argsort(x, dim=1, descending=True), x.sort(-1)[0][:, -1]


# ------------------------------------------------------------------- metrics and losses by hand --
@case(np.array([1, 0, 1, 1, 0, 1, 0]), np.array([1, 1, 1, 0, 0, 1, 0]))
def precision_recall_f1(T: Any, y: Any, p: Any) -> Any:
    tp = ((p == 1) & (y == 1)).sum().float()
    fp = ((p == 1) & (y == 0)).sum().float()
    fn = ((p == 0) & (y == 1)).sum().float()
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    return prec, rec, 2 * prec * rec / (prec + rec), f"{(2 * prec * rec / (prec + rec)).item():.4f}", f"{tp:.1f}"


@case(np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]]), np.array([[1.0, 1.0, 2.0, 3.0], [0.0, 0.0, 1.0, 1.0],
                                                                         [5.0, 5.0, 6.0, 6.0]]))
def box_iou(T: Any, a: Any, b: Any) -> Any:
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    lt = T.max(a[:, None, :2], b[:, :2])
    rb = T.min(a[:, None, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    iou = inter / (area(a)[:, None] + area(b) - inter)
    return iou, iou.max(dim=1).values, iou.argmax(dim=0), (iou > 0.1).nonzero()


@case(_arr(6, 4), np.array([0, 3, 1, 1, 2, 0]))
def focal_and_weighted_ce(T: Any, logits: Any, y: Any) -> Any:
    F = T.nn.functional
    ce = F.cross_entropy(logits, y, reduction="none")
    pt = T.exp(-ce)
    focal = ((1 - pt) ** 2 * ce).mean()
    w = T.tensor([1.0, 2.0, 0.5, 1.0])
    return (focal, F.cross_entropy(logits, y, weight=w), F.cross_entropy(logits, y, ignore_index=1),
            F.cross_entropy(logits, y, label_smoothing=0.1), F.nll_loss(F.log_softmax(logits, 1), y, reduction="sum"))


@case(_arr(4, 3), _arr(4, 3))
def kl_entropy_dice(T: Any, a: Any, b: Any) -> Any:
    p, q = a.softmax(-1), b.softmax(-1)
    kl = (p * (p.log() - q.log())).sum(-1).mean()
    ent = -(p * T.log(p)).sum(dim=1)
    inter = (p * q).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + q.sum() + 1)
    return kl, ent, dice, T.nn.functional.kl_div(q.log(), p, reduction="batchmean")


@case(_arr(6, 3), np.array([0, 1, 0, 1, 2, 2]))
def batch_hard_triplet(T: Any, emb: Any, labels: Any) -> Any:
    d = T.cdist(emb, emb)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = T.eye(6, dtype=T.bool)
    pos = (d * (same & ~eye).float()).max(dim=1)[0]  # (x.max(1) is the values here: the contract)
    neg = d.masked_fill(same, float("inf")).min(dim=1).values
    return T.relu(pos - neg + 0.2).mean(), same.sum(1)


@case(_arr(5))
def ranks_and_auc(T: Any, score: Any) -> Any:
    y = T.tensor([1, 0, 1, 0, 0])
    ranks = score.argsort().argsort().float() + 1
    n_pos, n_neg = y.sum(), (1 - y).sum()
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return ranks, auc, score.detach().sort(descending=True).indices.eq(0).nonzero()[0, 0] + 1


@case(_arr(7))
def discounted_returns(T: Any, r: Any) -> Any:
    out, g = [], T.zeros(())
    for t in reversed(range(r.shape[0])):
        g = r[t] + 0.9 * g
        out.insert(0, g)
    ret = T.stack(out)
    return ret, (ret - ret.mean()) / (ret.std() + 1e-8)


@case()
def positional_encoding(T: Any) -> Any:
    n, d = 5, 6
    pe = T.zeros(n, d)
    position = T.arange(0, n, dtype=T.float64).unsqueeze(1)
    div_term = T.exp(T.arange(0, d, 2).double() * (-math.log(10000.0) / d))
    pe[:, 0::2] = T.sin(position * div_term)
    pe[:, 1::2] = T.cos(position * div_term)
    return pe, div_term


@case(_arr(2, 4, 4))
def causal_attention_by_hand(T: Any, s: Any) -> Any:
    n = s.size(-1)
    mask = T.triu(T.ones(n, n), diagonal=1).bool()
    a = s.masked_fill(mask, float("-inf")).softmax(-1)
    keep = T.tril(T.ones(n, n))
    b = s.masked_fill(keep == 0, -1e9).softmax(dim=-1)
    return a, b, a @ s


@case(_arr(2, 6))
def top_k_top_p_filtering(T: Any, logits: Any) -> Any:
    F = T.nn.functional
    x = logits.detach().clone()
    v, _ = T.topk(x, 3)
    x[x < v[:, [-1]]] = -float("inf")
    sorted_logits, sorted_indices = T.sort(logits.detach(), descending=True)
    cum = T.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
    remove = cum > 0.7
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    drop = remove.scatter(1, sorted_indices, remove)
    return x, drop, logits.masked_fill(drop, -float("inf")).softmax(-1)


@case(_arr(3), _arr(3))
def running_stats_under_no_grad(T: Any, batch_mean: Any, batch_var: Any) -> Any:
    rm, rv = T.zeros(3), T.ones(3)
    with T.no_grad():
        for _ in range(3):
            rm.mul_(0.9).add_(batch_mean, alpha=0.1)
            rv.mul_(0.9).add_(0.1 * batch_var.abs())
    ema = batch_mean.detach().clone()
    ema.lerp_(batch_var.detach(), 0.25)
    return rm, rv, ema, rm.requires_grad


@case(_arr(2, 3, 4, 4))
def image_normalisation(T: Any, img: Any) -> Any:
    mean = img.mean(dim=(0, 2, 3))
    std = img.std(dim=(0, 2, 3), unbiased=False)
    norm = (img - mean[None, :, None, None]) / std.view(1, -1, 1, 1)
    perm = T.tensor([1, 0])
    mix = 0.3 * img + (1 - 0.3) * img[perm]
    return norm, mix, img.flatten(2).mean(-1), img.amax(dim=(-2, -1)), img.permute(0, 2, 3, 1).reshape(-1, 3)


@case(_arr(4, 3), _arr(4, 3))
def regression_metrics(T: Any, pred: Any, target: Any) -> Any:
    mse = ((pred - target) ** 2).mean()
    mae = (pred - target).abs().mean(dim=0)
    ss_res = ((target - pred) ** 2).sum(0)
    ss_tot = ((target - target.mean(0)) ** 2).sum(0)
    r2 = 1 - ss_res / ss_tot
    return mse, mae, r2, T.sqrt(mse), T.nn.functional.mse_loss(pred, target, reduction="sum"), mse.item() > 0


@case(_arr(3, 4))
def softmax_dtype_and_number_base_pow(T: Any, x: Any) -> Any:
    F = T.nn.functional
    return (F.softmax(x, dim=1, dtype=T.float64), F.log_softmax(x, -1, dtype=T.float64), x.softmax(0, T.float64),
            x.log_softmax(dim=1, dtype=T.float64), F.softmin(x, 1, dtype=T.float64), T.pow(2, x), T.pow(x, 2),
            T.pow(2.5, x[0]), F.softmax(x.long(), dim=1, dtype=T.float64))


@case(_arr(2, 3, 4))
def transpose_in_place_swaps_two_dims(T: Any, x: Any) -> Any:
    y = x * 1.0                          # a non-leaf: its in-place change is recorded
    y.transpose_(0, 2)
    z = (x * 2.0)[0]
    z.transpose_(0, 1)
    return y, z, y.shape


@pytest.mark.parametrize("f,inputs", CASES)
def test_snippet_matches_torch(f: Callable, inputs: tuple) -> None:
    _run(f, inputs)


def test_at_least_forty_snippets() -> None:
    assert len(CASES) >= 40


# ------------------------------------------------------------------------ the harness itself --
def test_the_comparison_catches_a_wrong_value_dtype_or_gradient() -> None:
    with pytest.raises(AssertionError, match="dtype"):
        _compare(tl.tensor([1.0], dtype=tl.float32), torch.tensor([1.0], dtype=torch.float64), "w")
    with pytest.raises(AssertionError):
        _compare(tl.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), "w")
    with pytest.raises(AssertionError):
        _compare(3, 3.0, "w")

    def wrong_grad(T: Any, x: Any) -> Any:  # same values, another gradient on tinygrad_lite
        return x * 2 if T is torch else x * 3 - x.detach()

    with pytest.raises(AssertionError, match="grad of input 0"):
        _run(wrong_grad, (_arr(3),))


# ------------------------------------------------------- regression tests for the gaps fixed --
@pytest.mark.parametrize("src", [
    "x.squeeze(dim=0)", "x.squeeze(dim=2)", "x.unsqueeze(dim=1)", "x.unsqueeze(dim=-1)", "x.permute(dims=(2, 0, 1))",
    "x.permute(dims=[1, 0, 2])", "x.flip(dims=[0, 2])", "x.flip(dims=(1,))", "x.split(split_size=2, dim=2)",
    "x.split(split_size=[1, 2], dim=1)", "T.ones(size=(2, 3))", "T.zeros(size=[4])", "T.empty(size=(1, 2)).shape",
    "T.rand(size=(2, 2)).shape", "T.randn(size=(3,)).shape", "T.arange(end=4)", "T.arange(end=2.5)",
    "T.arange(start=1, end=4)", "T.repeat_interleave(T.tensor([2, 0, 3]))", "T.repeat_interleave(T.tensor([1, 1]))",
])
def test_torch_keywords_and_forms_give_torch_results(src: str) -> None:
    base = _arr(1, 3, 4)
    got = eval(src, {"T": tl, "x": tl.tensor(base)})
    want = eval(src, {"T": torch, "x": torch.tensor(base)})
    _compare(got, want, src)


@pytest.mark.parametrize("src", ["x.squeeze(0, dim=0)", "x.permute(0, 1, 2, dims=(0, 1, 2))", "x.flip(0, dims=0)",
                                 "x.split(2, split_size=2)", "T.ones(2, size=(2,))", "T.arange()"])
def test_a_keyword_given_twice_is_a_type_error(src: str) -> None:
    with pytest.raises(TypeError):
        eval(src, {"T": tl, "x": tl.tensor(_arr(1, 3, 4))})


def test_in_tests_membership_as_torch() -> None:
    for T in (torch, tl):
        x = T.tensor([[1.0, 2.5], [3.0, 4.0]])
        assert (2.5 in x, 7 in x, 3 in x, T.tensor([3.0, 4.0]) in x, True in (x > 3)) == (True, False, True, True, True)
    with pytest.raises(RuntimeError, match="__contains__"):  # (a TypeError too)
        "a" in tl.tensor([1.0])  # noqa: B015


def test_format_spec_of_a_0d_tensor_formats_its_number() -> None:
    for spec in (".4f", ".2e", "", "8.3f"):
        assert format(tl.tensor(3.14159), spec) == format(torch.tensor(3.14159), spec)
    assert f"{tl.tensor(7):d}" == f"{torch.tensor(7):d}"
    with pytest.raises(TypeError):
        format(tl.tensor([1.0, 2.0]), ".2f")
    with pytest.raises(TypeError):
        format(torch.tensor([1.0, 2.0]), ".2f")


_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


@pytest.mark.parametrize("a", _DTYPES)
@pytest.mark.parametrize("b", _DTYPES)
def test_promotion_helpers_agree_with_torch(a: str, b: str) -> None:
    ta, tb, la, lb = getattr(torch, a), getattr(torch, b), getattr(tl, a), getattr(tl, b)
    assert str(tl.promote_types(la, lb)) == str(torch.promote_types(ta, tb)).replace("torch.", "")
    assert tl.can_cast(la, lb) == torch.can_cast(ta, tb)
    for sa, sb in [((2,), (2,)), ((), (2,)), ((2,), ())]:
        got = tl.result_type(tl.zeros(sa, dtype=la), tl.zeros(sb, dtype=lb))
        assert str(got) == str(torch.result_type(torch.zeros(sa, dtype=ta), torch.zeros(sb, dtype=tb)))[6:]


@pytest.mark.parametrize("dt", _DTYPES)
@pytest.mark.parametrize("number", [True, 3, 2.5])
def test_result_type_with_a_python_number_agrees_with_torch(dt: str, number: Any) -> None:
    for shape in [(2,), ()]:
        got = tl.result_type(tl.zeros(shape, dtype=getattr(tl, dt)), number)
        want = torch.result_type(torch.zeros(shape, dtype=getattr(torch, dt)), number)
        assert str(got) == str(want)[6:]
        assert tl.result_type(number, tl.zeros(shape, dtype=getattr(tl, dt))) == got


def test_finfo_iinfo_and_the_small_helpers_agree_with_torch() -> None:
    for name in ("float16", "float32", "float64"):
        got, want = tl.finfo(getattr(tl, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(got, attr) == getattr(want, attr), (name, attr)
            assert type(getattr(got, attr)) is type(getattr(want, attr)), (name, attr)
    assert tl.finfo().eps == torch.finfo(torch.float64).eps  # the default float here is float64
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        got, want = tl.iinfo(getattr(tl, name)), torch.iinfo(getattr(torch, name))
        assert (got.bits, got.min, got.max) == (want.bits, want.min, want.max)
    with pytest.raises(TypeError, match="finfo"):
        tl.finfo(tl.int64)
    with pytest.raises(TypeError, match="iinfo"):
        tl.iinfo(tl.float32)
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    assert tl.is_floating_point(x) and not tl.is_floating_point(tl.tensor([1]))
    d = tl.detach(x * 2)
    assert not d.requires_grad and d.tolist() == [2.0, 4.0]
    assert isinstance(x.dtype, tl.dtype)
    with pytest.raises(TypeError, match="is_floating_point"):
        tl.is_floating_point([1.0])


def test_top_level_cosine_similarity_and_pairwise_distance_match_torch() -> None:
    a, b = _arr(4, 3), _arr(4, 3)
    _run(lambda T, x, y: (T.cosine_similarity(x, y), T.cosine_similarity(x, y, dim=0),
                          T.pairwise_distance(x, y), T.pairwise_distance(x, y, p=1.0, keepdim=True)), (a, b))


def test_numpy_of_a_tensor_requiring_grad_is_documented_not_refused() -> None:
    # torch refuses x.numpy() when x requires grad; here .numpy() is the value, as .data is
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0], requires_grad=True).numpy()
    assert x.numpy() is x.data
    assert "requires grad" in (tl.Tensor.numpy.__doc__ or "")
    c = x.numpy(force=True)  # torch's force=True: a copy
    assert c is not x.data and np.array_equal(c, x.data)
    np.testing.assert_array_equal(c, torch.tensor([1.0, 2.0], requires_grad=True).numpy(force=True))


_ERRORS = [
    "y.item()", "y.add_(1.5)", "y.div_(2)", "T.tensor([7]) // 0", "T.tensor([7]) % 0",
    "T.tensor([7]).div(0, rounding_mode='floor')", "F.one_hot(y.float())", "F.one_hot(y, 2)", "F.one_hot(-y)",
    "T.bincount(y.float())", "T.bincount(-y)", "T.bincount(y.view(2, 2))", "x + T.ones(3)", "x @ x", "x.view(5, 5)",
    "x.reshape(5, -1)", "T.cat([x, T.ones(2, 3)])", "T.stack([x, x[:2]])", "x.gather(1, T.tensor([[0.5]]))",
    "x.gather(1, T.tensor([[9]]))", "x.expand(5, 4)", "x.permute(0, 0)", "x.masked_fill(T.ones(2, 2).bool(), 0)",
    "T.tensor([[1, 2], [3]])", "T.zeros(-1)", "x.split(0)", "x.chunk(0)", "T.arange(0, 10, 0)",
    "T.linspace(0, 1, -1)", "x.topk(10)", "x.unflatten(1, (3, 3))", "x.repeat(2)", "T.full((2,), 'a')",
    "x[10]", "x.sum(dim=5)", "x.index_select(0, T.tensor([5]))", "x[T.tensor([True, False])]",
    "T.tensor([1, 2], requires_grad=True)", "y.requires_grad_()", "T.stack([])", "T.arange(0, 5, -1)",
    "T.randint(5, 1, (3,))", "F.cross_entropy(x, T.tensor([0.0, 1.0, 2.0]))", "F.binary_cross_entropy(x * 9, x)",
    "T.multinomial(T.tensor([-1.0, 2.0]), 1)", "x.index_select(0, T.tensor([0.0]))",
    "x.index_add(0, T.tensor([0]), T.ones(2, 4))", "T.where(x, x, x)", "T.where(x > 0, x, T.ones(2))",
    "x.narrow(1, 3, 2)", "x.diagonal(dim1=0, dim2=0)", "T.diag(T.ones(2, 2, 2))", "T.tril(T.ones(2))",
    "T.triu(T.ones(2))", "x[0].fliplr()", "x.norm(p='abc')", "x.view(-1, -1)", "x.expand(2)", "x[0].mT", "x[None].t()",
]


@pytest.mark.parametrize("src", _ERRORS)
def test_errors_are_of_the_class_torch_raises(src: str) -> None:
    def env(T: Any) -> dict:
        return {"T": T, "F": T.nn.functional, "x": T.tensor(_arr(3, 4)), "y": T.tensor([2, 0, 1, 1])}

    with pytest.raises(Exception) as want:
        eval(src, env(torch))
    kind = next(k for k in (IndexError, ValueError, TypeError, RuntimeError) if isinstance(want.value, k))
    with pytest.raises(kind):
        eval(src, env(tl))


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                                  "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"])
def test_legacy_typed_constructors_as_torch(name: str) -> None:
    def f(T: Any) -> Any:
        C = getattr(T, name)
        x = C([1, 0, 1])
        return (x, C(2, 3).shape, C().shape, C(T.Size([2])).shape, isinstance(x, C), isinstance(x * 1.5, C),
                T.tensor([1.0, 2.0]).type(C), x.type())
    _compare(f(tl), f(torch), name)
    with pytest.raises(TypeError, match=name):
        getattr(tl, name)([1], [2])


def test_diagonal_is_a_view_and_diag_a_copy_as_torch() -> None:
    def f(T: Any) -> Any:
        x = T.tensor(np.arange(12.0).reshape(3, 4))
        x.diagonal().fill_(0.0)          # the contrastive-loss idiom: mask self-similarity
        x.diagonal(offset=1).mul_(10.0)
        T.diag(x).fill_(-1.0)            # a copy: x unchanged
        sim = T.tensor(np.ones((3, 3)))
        sim.diagonal().fill_(float("-inf"))
        return x, sim.softmax(-1)
    _compare(f(tl), f(torch), "diagonal")
    w = tl.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError):    # a view of a leaf that requires grad, as torch refuses
        w.diagonal().fill_(0.0)
