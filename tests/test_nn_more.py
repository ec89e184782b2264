"""The multi-class / multi-label margin losses, TripletMarginWithDistanceLoss, LPPool,
LocalResponseNorm, RReLU, Softmax2d, ChannelShuffle, the fixed-mode upsamplers, the 3-d padding
layers and EmbeddingBag: values and gradients against torch in float64, finite differences,
printed forms, errors naming the layer and the shapes, and per-sample gradients of
EmbeddingBag's table (a batched input equals each sample alone); CTCLoss against torch and
finite differences."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.gradcheck import gradcheck
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
REDUCTIONS = ("mean", "sum", "none")


def _close(a: Any, b: Any, what: str = "", tol: float = 1e-10) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    if a.size:
        scale = max(1.0, float(np.max(np.abs(b))))
        assert float(np.max(np.abs(a - b))) / scale < tol, (what, a, b)


def _compare(ours: Callable, theirs: Callable, *arrays: np.ndarray, grads: tuple = (0,), seed: int = 0) -> None:
    """ours(*Tensors) and theirs(*torch tensors): values, and the gradients of a random
    weighting of the output with respect to the arrays numbered in ``grads``."""
    mine = [tl.Tensor(a.copy(), requires_grad=i in grads) for i, a in enumerate(arrays)]
    ref = [torch.tensor(a.copy(), requires_grad=i in grads) for i, a in enumerate(arrays)]
    out, tout = ours(*mine), theirs(*ref)
    _close(out.data, tout.detach().numpy(), "value")
    g = np.random.default_rng(seed).standard_normal(out.data.shape)
    (out * g).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for i in grads:
        _close(mine[i].grad, ref[i].grad.numpy(), f"gradient {i}")


RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 4))
Y = np.array([0, 3, 1, 1, 2])
W = RNG.random(4) + 0.5


# --------------------------------------------------------------------------- losses ---------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss_matches_torch(reduction: str, p: int, weighted: bool) -> None:
    w = W if weighted else None
    tw = torch.tensor(W) if weighted else None
    _compare(lambda x: F.multi_margin_loss(x, Y, p, 0.7, w, reduction=reduction),
             lambda x: TF.multi_margin_loss(x, torch.tensor(Y), p, 0.7, tw, reduction=reduction), X)
    _compare(lambda x: nn.MultiMarginLoss(p, 0.7, w, reduction=reduction)(x[1], Y[1]),
             lambda x: torch.nn.MultiMarginLoss(p, 0.7, tw, reduction=reduction)(x[1], torch.tensor(Y[1])), X)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction: str) -> None:
    y = np.array([[1, 3, -1, 0], [0, 1, 2, 3], [-1, 1, 2, 0], [2, 2, -1, 1], [3, -1, -1, -1]])
    _compare(lambda x: F.multilabel_margin_loss(x, y, reduction=reduction),
             lambda x: TF.multilabel_margin_loss(x, torch.tensor(y), reduction=reduction), X)
    _compare(lambda x: nn.MultiLabelMarginLoss(reduction=reduction)(x[0], y[0]),
             lambda x: torch.nn.MultiLabelMarginLoss(reduction=reduction)(x[0], torch.tensor(y[0])), X)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss_matches_torch(reduction: str, weighted: bool) -> None:
    t = (RNG.random(X.shape) > 0.5).astype(np.float64)
    w = W if weighted else None
    tw = torch.tensor(W) if weighted else None
    _compare(lambda x, t: F.multilabel_soft_margin_loss(x, t, w, reduction=reduction),
             lambda x, t: TF.multilabel_soft_margin_loss(x, t, tw, reduction=reduction), X, t, grads=(0, 1))
    _compare(lambda x: nn.MultiLabelSoftMarginLoss(w, reduction=reduction)(x, t),
             lambda x: torch.nn.MultiLabelSoftMarginLoss(tw, reduction=reduction)(x, torch.tensor(t)), X)


def test_legacy_flags_pick_the_reduction() -> None:
    for kw, red in (({"size_average": False}, "sum"), ({"reduce": False}, "none")):
        assert nn.MultiMarginLoss(**kw).reduction == red == torch.nn.MultiMarginLoss(**kw).reduction
        assert nn.MultiLabelSoftMarginLoss(**kw).reduction == red


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("custom", [False, True])
def test_triplet_margin_with_distance_loss_matches_torch(reduction: str, swap: bool, custom: bool) -> None:
    a, p, n = (RNG.standard_normal((4, 3)) for _ in range(3))
    mine = (lambda u, v: 1.0 - F.cosine_similarity(u, v)) if custom else None
    theirs = (lambda u, v: 1.0 - TF.cosine_similarity(u, v)) if custom else None
    _compare(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, distance_function=mine, margin=0.4,
                                                                 swap=swap, reduction=reduction),
             lambda a, p, n: TF.triplet_margin_with_distance_loss(a, p, n, distance_function=theirs, margin=0.4,
                                                                  swap=swap, reduction=reduction),
             a, p, n, grads=(0, 1, 2))
    _compare(lambda a, p, n: nn.TripletMarginWithDistanceLoss(distance_function=mine, swap=swap,
                                                              reduction=reduction)(a, p, n),
             lambda a, p, n: torch.nn.TripletMarginWithDistanceLoss(distance_function=theirs, swap=swap,
                                                                    reduction=reduction)(a, p, n),
             a, p, n, grads=(0, 1, 2))


def test_margin_losses_pass_finite_differences() -> None:
    x = tl.Tensor(X.copy(), requires_grad=True)
    assert gradcheck(lambda x: F.multi_margin_loss(x, Y, p=2, margin=0.9, weight=W), [x])
    y = np.array([[1, 3, -1, 0], [0, -1, 2, 3], [2, 1, 0, -1], [2, -1, -1, 1], [3, 0, -1, -1]])
    assert gradcheck(lambda x: F.multilabel_margin_loss(x, y, reduction="sum"), [x])


# --------------------------------------------------------------------------- layers ---------
@pytest.mark.parametrize("args", [(2, 3), (3.5, 3, 2, True), (1.5, 2, 1)])
def test_lp_pool1d_matches_torch(args: tuple) -> None:
    x = RNG.random((2, 3, 8)) + 0.1
    _compare(lambda x: F.lp_pool1d(x, *args), lambda x: TF.lp_pool1d(x, *args), x)
    _compare(lambda x: nn.LPPool1d(*args)(x[0]), lambda x: torch.nn.LPPool1d(*args)(x[0]), x)


@pytest.mark.parametrize("args", [(2, 2), (1.5, (2, 3), (1, 2)), (3, (3, 2), 2, True)])
def test_lp_pool2d_matches_torch(args: tuple) -> None:
    x = RNG.random((2, 3, 6, 7)) + 0.1
    _compare(lambda x: F.lp_pool2d(x, *args), lambda x: TF.lp_pool2d(x, *args), x)
    _compare(lambda x: nn.LPPool2d(*args)(x), lambda x: torch.nn.LPPool2d(*args)(x), x)


def test_lp_pool3d_matches_torch() -> None:
    x = RNG.random((2, 2, 4, 5, 6)) + 0.1
    _compare(lambda x: nn.LPPool3d(2, 2, (1, 2, 2))(x), lambda x: torch.nn.LPPool3d(2, 2, (1, 2, 2))(x), x)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 5, 3, 4), (1, 4, 2, 3, 2)])
def test_local_response_norm_matches_torch(size: int, shape: tuple) -> None:
    x = RNG.standard_normal(shape)
    _compare(lambda x: F.local_response_norm(x, size, 0.3, 0.6, 1.5),
             lambda x: TF.local_response_norm(x, size, 0.3, 0.6, 1.5), x)
    _compare(lambda x: nn.LocalResponseNorm(size)(x), lambda x: torch.nn.LocalResponseNorm(size)(x), x)


def test_local_response_norm_passes_finite_differences() -> None:
    x = tl.Tensor(RNG.standard_normal((2, 4, 3)), requires_grad=True)
    assert gradcheck(lambda x: (F.local_response_norm(x, 3, 0.5, 0.9, 1.2) ** 2).sum(), [x])


def test_rrelu_evaluation_is_the_mean_slope() -> None:
    x = RNG.standard_normal((3, 4, 5))
    _compare(lambda x: F.rrelu(x, 0.1, 0.4), lambda x: TF.rrelu(x, 0.1, 0.4), x)
    m, tm = nn.RReLU(0.2, 0.3).eval(), torch.nn.RReLU(0.2, 0.3).eval()
    _compare(lambda x: m(x), lambda x: tm(x), x)


def test_rrelu_training_draws_a_slope_per_element_and_differentiates_through_it() -> None:
    x = tl.Tensor(RNG.standard_normal((4, 50)), requires_grad=True)
    m = nn.RReLU(0.1, 0.3, rng=0)
    out = m(x)
    out.sum().backward()
    d, o = x.data, out.data
    assert np.array_equal(o[d > 0], d[d > 0]) and np.all(x.grad[d > 0] == 1)
    slope = o[d < 0] / d[d < 0]
    assert np.all((slope >= 0.1) & (slope <= 0.3)) and np.unique(slope).size == slope.size
    _close(x.grad[d < 0], slope)
    assert not np.array_equal(m(x).data, o)  # a new draw each call
    _close(nn.RReLU(0.1, 0.3, rng=0)(x).data, o)  # the same seed, the same slopes


def test_softmax2d_matches_torch() -> None:
    x = RNG.standard_normal((2, 6, 3, 4))
    _compare(lambda x: nn.Softmax2d()(x), lambda x: torch.nn.Softmax2d()(x), x)
    _compare(lambda x: nn.Softmax2d()(x[0]), lambda x: torch.nn.Softmax2d()(x[0]), x)


@pytest.mark.parametrize("g", [1, 2, 3, 6])
def test_channel_shuffle_matches_torch(g: int) -> None:
    x = RNG.standard_normal((2, 6, 3, 4))
    _compare(lambda x: F.channel_shuffle(x, g), lambda x: TF.channel_shuffle(x, g), x)
    _compare(lambda x: nn.ChannelShuffle(g)(x[:, :, 0]), lambda x: torch.nn.ChannelShuffle(g)(x[:, :, 0]), x)


@pytest.mark.parametrize("kw", [{"scale_factor": 2}, {"size": (5, 7)}])
def test_fixed_mode_upsamplers_match_torch(kw: dict) -> None:
    x = RNG.standard_normal((2, 3, 3, 4))
    _compare(lambda x: nn.UpsamplingNearest2d(**kw)(x), lambda x: torch.nn.UpsamplingNearest2d(**kw)(x), x)
    _compare(lambda x: nn.UpsamplingBilinear2d(**kw)(x), lambda x: torch.nn.UpsamplingBilinear2d(**kw)(x), x)


@pytest.mark.parametrize("name", ["ZeroPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d",
                                  "CircularPad3d"])
@pytest.mark.parametrize("padding", [1, (1, 2, 0, 1, 2, 1)])
def test_3d_padding_layers_match_torch(name: str, padding: Any) -> None:
    x = RNG.standard_normal((2, 2, 3, 4, 5))
    extra = (1.5,) if name == "ConstantPad3d" else ()
    mine, theirs = getattr(nn, name)(padding, *extra), getattr(torch.nn, name)(padding, *extra)
    assert repr(mine) == repr(theirs)
    _compare(mine, theirs, x)
    _compare(lambda x: mine(x[0]), lambda x: theirs(x[0]), x)


def test_the_new_layers_keep_the_per_sample_gradients_of_a_model() -> None:
    """Conv2d -> LocalResponseNorm -> LPPool2d -> ZeroPad3d -> ChannelShuffle -> RReLU (eval) ->
    Linear -> MultiMarginLoss."""
    conv, head = nn.Conv2d(2, 4, 3, padding=1, rng=0), nn.Linear(24, 3, rng=1)
    layers = [conv, nn.LocalResponseNorm(3, 0.5), nn.LPPool2d(2, 2), nn.ZeroPad3d((0, 0, 0, 0, 1, 1)),
              nn.ChannelShuffle(3), nn.RReLU().eval(), nn.Flatten(), head]
    model = nn.Sequential(*layers)
    x = np.random.default_rng(5).standard_normal((3, 2, 4, 4))

    labels = np.array([2, 0, 1])

    def cost(out: tl.Tensor, y: np.ndarray) -> tl.Tensor:
        return F.multi_margin_loss(out, y, p=2)

    alone: dict = {name: [] for name, _ in model.named_parameters()}
    for b in range(len(x)):
        model.zero_grad()
        cost(model(tl.Tensor(x[b:b + 1])), labels[b:b + 1]).backward()
        for name, p in model.named_parameters():
            alone[name].append(p.grad.copy())
    model.zero_grad()
    cost(model(tl.Tensor(x, batched=True)), labels).backward()
    for name, p in model.named_parameters():
        _close(p.grad_sample, np.stack(alone[name]), name)


# --------------------------------------------------------------------------- EmbeddingBag ---
TABLE = RNG.standard_normal((7, 3))
FLAT = np.array([1, 2, 4, 5, 4, 3, 2, 0, 2, 6])
OFFSETS = np.array([0, 2, 2, 5, 9])
BAGS2D = np.array([[2, 2, 1], [0, 4, 6], [3, 2, 5], [6, 6, 6]])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("layout", ["offsets", "last_offset", "2d"])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_bag_matches_torch(mode: str, padding_idx: Any, layout: str, weighted: bool) -> None:
    idx, off = (BAGS2D, None) if layout == "2d" else (FLAT, OFFSETS)
    last = layout == "last_offset"
    arrays = (TABLE,) + ((RNG.standard_normal(idx.shape),) if weighted else ())
    toff = None if off is None else torch.tensor(off)
    if weighted and mode != "sum":  # both refuse per-sample weights outside mode="sum"
        with pytest.raises(NotImplementedError, match="embedding_bag: per_sample_weights"):
            F.embedding_bag(idx, tl.Tensor(TABLE), off, mode=mode, per_sample_weights=arrays[1],
                            include_last_offset=last, padding_idx=padding_idx)
        with pytest.raises(NotImplementedError):
            TF.embedding_bag(torch.tensor(idx), torch.tensor(TABLE), toff, mode=mode,
                             per_sample_weights=torch.tensor(arrays[1]), include_last_offset=last,
                             padding_idx=padding_idx)
        return

    def ours(W: tl.Tensor, *psw: tl.Tensor) -> tl.Tensor:
        return F.embedding_bag(idx, W, off, mode=mode, per_sample_weights=psw[0] if psw else None,
                               include_last_offset=last, padding_idx=padding_idx)

    def theirs(W: Any, *psw: Any) -> Any:
        return TF.embedding_bag(torch.tensor(idx), W, toff, mode=mode, per_sample_weights=psw[0] if psw else None,
                                include_last_offset=last, padding_idx=padding_idx)

    _compare(ours, theirs, *arrays, grads=tuple(range(len(arrays))))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_of_empty_bags_is_zeros_as_torch(mode: str) -> None:
    empty = np.array([], dtype=np.int64)
    _compare(lambda W: F.embedding_bag(empty, W, np.array([0, 0]), mode=mode),
             lambda W: TF.embedding_bag(torch.tensor(empty), W, torch.tensor([0, 0]), mode=mode), TABLE)


def test_embedding_bag_module_max_norm_and_given_weight_match_torch() -> None:
    big = TABLE * 3
    mine = nn.EmbeddingBag(7, 3, max_norm=1.5, mode="sum", _weight=big)
    theirs = torch.nn.EmbeddingBag(7, 3, max_norm=1.5, mode="sum", _weight=torch.tensor(big))
    assert repr(mine) == repr(theirs)
    out, tout = mine(FLAT, OFFSETS), theirs(torch.tensor(FLAT), torch.tensor(OFFSETS))
    _close(out.data, tout.detach().numpy())
    _close(mine.weight.data, theirs.weight.detach().numpy())  # the looked-up rows renormalised in place
    out.sum().backward()
    tout.sum().backward()
    _close(mine.weight.grad, theirs.weight.grad.numpy())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_per_sample_gradients_equal_each_sample_alone(mode: str) -> None:
    idx = np.random.default_rng(3).integers(0, 7, (4, 5))
    idx[1, :2] = 3
    psw = np.random.default_rng(4).standard_normal(idx.shape) if mode == "sum" else None
    bag, head = nn.EmbeddingBag(7, 3, mode=mode, padding_idx=3, rng=0), nn.Linear(3, 2, rng=1)

    def cost(i: Any, w: Any) -> tl.Tensor:
        return (head(bag(i, per_sample_weights=w)) ** 2).sum(1).mean()

    alone = []
    for b in range(len(idx)):
        bag.zero_grad()
        cost(idx[b:b + 1], None if psw is None else psw[b:b + 1]).backward()
        alone.append(bag.weight.grad.copy())
    bag.zero_grad()
    head.zero_grad()
    cost(tl.Tensor(idx, batched=True), None if psw is None else tl.Tensor(psw, batched=True)).backward()
    _close(bag.weight.grad_sample, np.stack(alone), "grad_sample")
    _close(bag.weight.grad, np.mean(alone, axis=0), "grad")
    assert np.all(bag.weight.grad_sample[:, 3] == 0)


def test_embedding_bag_takes_dtype_and_device() -> None:
    assert nn.EmbeddingBag(4, 2, dtype=torch.float32, device="cpu").weight.data.dtype == np.float32
    assert nn.EmbeddingBag(4, 2).weight.data.dtype == np.float64
    with pytest.raises(RuntimeError, match="EmbeddingBag"):
        nn.EmbeddingBag(4, 2, device="meta")
    with pytest.raises(TypeError, match="EmbeddingBag"):
        nn.EmbeddingBag(4, 2, dtype=np.int64)


# --------------------------------------------------------------------------- CTCLoss --------
LOGITS = RNG.standard_normal((12, 4, 5))
TARGETS = np.array([[1, 2, 2, 3], [4, 4, 4, 1], [1, 1, 1, 1], [2, 3, 1, 4]])
TARGET_LENGTHS = np.array([4, 3, 0, 2])
INPUT_LENGTHS = np.array([12, 9, 5, 7])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("concatenated", [False, True])
@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_loss_matches_torch(reduction: str, concatenated: bool, blank: int) -> None:
    """Compared through log_softmax: torch's CTC gradient is the derivative with respect to the
    logits of normalised log-probabilities (it differs from the plain derivative with respect to
    log_probs by exp(log_probs), which log_softmax's backward removes)."""
    tgt = np.where(TARGETS == blank, 0 if blank else 3, TARGETS)
    if concatenated:
        tgt = np.concatenate([tgt[n, :k] for n, k in enumerate(TARGET_LENGTHS)])
    _compare(lambda x: F.ctc_loss(x.log_softmax(2), tgt, INPUT_LENGTHS, TARGET_LENGTHS, blank, reduction),
             lambda x: TF.ctc_loss(x.log_softmax(2), torch.tensor(tgt), torch.tensor(INPUT_LENGTHS),
                                   torch.tensor(TARGET_LENGTHS), blank, reduction), LOGITS)
    _compare(lambda x: nn.CTCLoss(blank, reduction)(x.log_softmax(2), tgt, INPUT_LENGTHS, TARGET_LENGTHS),
             lambda x: torch.nn.CTCLoss(blank, reduction)(x.log_softmax(2), torch.tensor(tgt),
                                                          torch.tensor(INPUT_LENGTHS), torch.tensor(TARGET_LENGTHS)),
             LOGITS)


def test_ctc_loss_unbatched_matches_torch() -> None:
    _compare(lambda x: F.ctc_loss(x[:, 0].log_softmax(1), TARGETS[0], 10, 4),
             lambda x: TF.ctc_loss(x[:, 0].log_softmax(1), torch.tensor(TARGETS[0]), torch.tensor(10),
                                   torch.tensor(4)), LOGITS)


def test_ctc_loss_of_a_target_no_alignment_fits_is_inf_or_zero_with_zero_infinity() -> None:
    short = np.array([12, 4, 5, 7])  # 4, 4, 4 needs 5 frames (a blank between repeats)
    out = F.ctc_loss(tl.Tensor(LOGITS).log_softmax(2), TARGETS, short, TARGET_LENGTHS, reduction="none")
    ref = TF.ctc_loss(torch.tensor(LOGITS).log_softmax(2), torch.tensor(TARGETS), torch.tensor(short),
                      torch.tensor(TARGET_LENGTHS), reduction="none")
    assert np.isinf(out.data[1]) and np.isinf(ref[1].item())
    _close(np.delete(out.data, 1), np.delete(ref.numpy(), 1))



@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_zero_infinity_matches_torch(reduction: str) -> None:
    short = np.array([12, 4, 5, 7])
    _compare(lambda x: F.ctc_loss(x.log_softmax(2), TARGETS, short, TARGET_LENGTHS, reduction=reduction,
                                  zero_infinity=True),
             lambda x: TF.ctc_loss(x.log_softmax(2), torch.tensor(TARGETS), torch.tensor(short),
                                   torch.tensor(TARGET_LENGTHS), reduction=reduction, zero_infinity=True), LOGITS)


def test_ctc_loss_passes_finite_differences_in_log_probs() -> None:
    lp = tl.Tensor(np.log(RNG.dirichlet(np.ones(4), (6, 2))), requires_grad=True)
    assert gradcheck(lambda lp: F.ctc_loss(lp, np.array([[1, 1], [2, 3]]), np.array([6, 5]), np.array([2, 2]),
                                           reduction="sum"), [lp])


# --------------------------------------------------------------------------- printed forms --
def test_printed_forms_match_torch() -> None:
    pairs = [
        (nn.MultiMarginLoss(p=2, margin=0.5), torch.nn.MultiMarginLoss(p=2, margin=0.5)),
        (nn.MultiLabelMarginLoss(), torch.nn.MultiLabelMarginLoss()),
        (nn.MultiLabelSoftMarginLoss(), torch.nn.MultiLabelSoftMarginLoss()),
        (nn.LPPool1d(2, 3), torch.nn.LPPool1d(2, 3)),
        (nn.LPPool2d(1.5, (3, 2), 1, True), torch.nn.LPPool2d(1.5, (3, 2), 1, True)),
        (nn.LocalResponseNorm(3, 0.2, 0.5, 2.0), torch.nn.LocalResponseNorm(3, 0.2, 0.5, 2.0)),
        (nn.RReLU(), torch.nn.RReLU()),
        (nn.Softmax2d(), torch.nn.Softmax2d()),
        (nn.ChannelShuffle(3), torch.nn.ChannelShuffle(3)),
        (nn.UpsamplingNearest2d(scale_factor=2), torch.nn.UpsamplingNearest2d(scale_factor=2)),
        (nn.UpsamplingBilinear2d(size=(3, 4)), torch.nn.UpsamplingBilinear2d(size=(3, 4))),
        (nn.EmbeddingBag(5, 3), torch.nn.EmbeddingBag(5, 3)),
        (nn.CTCLoss(blank=2, zero_infinity=True), torch.nn.CTCLoss(blank=2, zero_infinity=True)),
        (nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, mode="max", padding_idx=2),
         torch.nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, mode="max", padding_idx=2)),
    ]
    for mine, theirs in pairs:
        assert repr(mine) == repr(theirs)


# --------------------------------------------------------------------------- errors ---------
@pytest.mark.parametrize("call, error, words", [
    (lambda: F.multi_margin_loss(X, np.array([0, 4, 1, 1, 2])), IndexError, ["multi_margin_loss", "4", "4 classes"]),
    (lambda: F.multi_margin_loss(X, Y, p=3), ValueError, ["multi_margin_loss", "p=3"]),
    (lambda: F.multi_margin_loss(X, Y[:3]), ValueError, ["multi_margin_loss", "(3,)", "(5, 4)"]),
    (lambda: F.multi_margin_loss(X, Y, weight=W[:3]), ValueError, ["multi_margin_loss", "(4,)", "(3,)"]),
    (lambda: F.multilabel_margin_loss(X, np.zeros((5, 3), int)), ValueError, ["multilabel_margin_loss", "(5, 3)"]),
    (lambda: F.multilabel_margin_loss(X, np.full((5, 4), 7)), IndexError, ["multilabel_margin_loss", "7"]),
    (lambda: F.multilabel_soft_margin_loss(X, X[:2]), ValueError, ["multilabel_soft_margin_loss", "(2, 4)"]),
    (lambda: F.triplet_margin_with_distance_loss(X, X, X[0]), ValueError, ["triplet_margin_with_distance", "(4,)"]),
    (lambda: nn.TripletMarginWithDistanceLoss(margin=0), ValueError, ["TripletMarginWithDistanceLoss", "margin"]),
    (lambda: F.lp_pool1d(np.ones((2, 3)), 2, 5), ValueError, ["(2, 3)"]),
    (lambda: F.local_response_norm(X, 2), ValueError, ["local_response_norm", "(5, 4)"]),
    (lambda: nn.LocalResponseNorm(0), ValueError, ["LocalResponseNorm", "size"]),
    (lambda: F.rrelu(X, 0.5, 0.1), ValueError, ["rrelu", "lower"]),
    (lambda: nn.Softmax2d()(X), ValueError, ["Softmax2d", "(5, 4)"]),
    (lambda: F.channel_shuffle(np.ones((2, 5, 3)), 2), ValueError, ["channel_shuffle", "5 channels", "(2, 5, 3)"]),
    (lambda: F.channel_shuffle(X, 2), ValueError, ["channel_shuffle", "(5, 4)"]),
    (lambda: nn.ChannelShuffle(0), ValueError, ["ChannelShuffle", "groups"]),
    (lambda: nn.ReflectionPad3d(3)(np.ones((1, 2, 3, 3, 3))), ValueError, ["reflect", "(1, 2, 3, 3, 3)"]),
    (lambda: nn.ZeroPad3d((1, 2)), TypeError, ["ZeroPad3d", "6 ints"]),
    (lambda: F.embedding_bag(BAGS2D, TABLE, OFFSETS), ValueError, ["embedding_bag", "offsets", "(4, 3)"]),
    (lambda: F.embedding_bag(FLAT, TABLE), ValueError, ["embedding_bag", "offsets", "(10,)"]),
    (lambda: F.embedding_bag(FLAT, TABLE, np.array([1, 3])), ValueError, ["embedding_bag", "offsets[0]"]),
    (lambda: F.embedding_bag(FLAT, TABLE, np.array([0, 11])), ValueError, ["embedding_bag", "length 10"]),
    (lambda: F.embedding_bag(FLAT, TABLE, OFFSETS, mode="prod"), ValueError, ["embedding_bag", "'prod'"]),
    (lambda: F.embedding_bag(FLAT, TABLE, OFFSETS, mode="mean", per_sample_weights=np.ones(10)),
     NotImplementedError, ["embedding_bag", "mode='sum'"]),
    (lambda: F.embedding_bag(FLAT, TABLE, OFFSETS, mode="sum", per_sample_weights=np.ones(9)),
     ValueError, ["embedding_bag", "(9,)", "(10,)"]),
    (lambda: F.embedding_bag(FLAT + 1, TABLE, OFFSETS), IndexError, ["embedding_bag", "7", "(7, 3)"]),
    (lambda: nn.EmbeddingBag(7, 3, mode="prod"), ValueError, ["EmbeddingBag", "'prod'"]),
    (lambda: F.ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS + 1, TARGET_LENGTHS), ValueError,
     ["ctc_loss", "13", "(12, 4, 5)"]),
    (lambda: F.ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS[:3], TARGET_LENGTHS), ValueError, ["ctc_loss", "input_lengths",
                                                                                           "(3,)"]),
    (lambda: F.ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS + 1), ValueError, ["ctc_loss", "(4, 4)"]),
    (lambda: F.ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, blank=2), IndexError,
     ["ctc_loss", "blank 2"]),
    (lambda: F.ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, blank=5), ValueError, ["ctc_loss", "blank"]),
    (lambda: F.ctc_loss(LOGITS[0], TARGETS, INPUT_LENGTHS, TARGET_LENGTHS), ValueError, ["ctc_loss", "(4,)"]),
    (lambda: nn.EmbeddingBag(7, 3, _weight=TABLE[:2]), ValueError, ["EmbeddingBag", "(2, 3)", "(7, 3)"]),
])
def test_errors_name_the_function_and_the_shapes(call: Callable, error: type, words: list) -> None:
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_a_refused_max_norm_lookup_changes_nothing() -> None:
    big = TABLE * 3
    W = tl.Tensor(big.copy(), requires_grad=True)
    with pytest.raises(IndexError, match="embedding_bag: index 9"):
        F.embedding_bag(np.array([0, 9]), W, np.array([0]), max_norm=1.0)
    assert np.array_equal(W.data, big)


def test_new_names_are_exported() -> None:
    layers = ["MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginWithDistanceLoss",
              "LPPool1d", "LPPool2d", "LPPool3d", "LocalResponseNorm", "RReLU", "Softmax2d", "ChannelShuffle",
              "UpsamplingNearest2d", "UpsamplingBilinear2d", "ZeroPad3d", "ConstantPad3d", "ReflectionPad3d",
              "ReplicationPad3d", "CircularPad3d", "EmbeddingBag", "CTCLoss"]
    fns = ["multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "triplet_margin_with_distance_loss", "lp_pool1d", "lp_pool2d", "lp_pool3d", "local_response_norm", "rrelu",
           "channel_shuffle", "embedding_bag", "ctc_loss"]
    for n in layers:
        assert n in nn.__all__ and hasattr(torch.nn, n) and isinstance(getattr(nn, n), type), n
    for n in fns:
        assert n in F.__all__ and hasattr(TF, n) and callable(getattr(F, n)), n
