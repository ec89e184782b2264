"""Seeded random arguments for the layers users train with, compared with torch in float64.

Each case draws valid arguments (shapes, strides, paddings, modes, reductions, flags ...) for
one function of ``tl.nn.functional`` (or a layer of ``tl.nn`` where the option lives on the
module) and checks, against torch on the same arrays:

- the forward values (and returned indices, and buffers such as running statistics);
- the gradients of a random cotangent w.r.t. the input and every parameter;
- with the input batched (``tl.Tensor(x, batched=True)``) and one default backward, each
  parameter's ``grad_sample`` against torch run one sample at a time, and ``grad`` against
  torch's batch gradient.

Functions without parameters are checked per sample through a per-feature scale ``s`` (a
parameter) applied to the input first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn as tnn
from tinygrad_lite.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = 1e-9


@dataclass
class Case:
    """One draw: ``fn(lib, F, inputs, state)`` runs the case with ``lib`` = tl or torch."""

    name: str
    fn: Callable[..., Any]
    arrays: list
    grad: tuple = (0,)
    per_sample: bool = True
    sliced: tuple = (0,)
    scale: bool = False
    tied: bool = False
    mixes: str = ""
    grads: bool = True


def _close(a: Any, b: Any, what: str) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    if not a.size:
        return
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=what)
    fin = ~np.isnan(b) & (a != b)  # equal infinities (a window wholly in -inf padding) match
    scale = max(1.0, float(np.max(np.abs(b[fin])))) if fin.any() else 1.0
    err = float(np.max(np.abs(a[fin] - b[fin]))) / scale if fin.any() else 0.0
    assert err < TOL, f"{what}: relative error {err:.3g}"


def _is_float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _tl_inputs(case: Case, batched: bool) -> list:
    out = []
    for i, a in enumerate(case.arrays):
        if not isinstance(a, np.ndarray):
            out.append(a)
        elif batched and i in case.sliced:
            out.append(tl.Tensor(a.copy(), batched=True))
        elif _is_float(a):
            out.append(tl.Tensor(a.copy(), requires_grad=i in case.grad))
        else:
            out.append(a.copy())
    return out


def _th_inputs(case: Case, rows: Optional[slice] = None) -> list:
    out = []
    for i, a in enumerate(case.arrays):
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        a = a[rows] if rows is not None and i in case.sliced else a
        out.append(torch.tensor(a.copy(), requires_grad=_is_float(a) and i in case.grad))
    return out


def _call(case: Case, lib: Any, inputs: list, state: dict) -> Any:
    if case.scale:
        inputs = [inputs[0] * inputs[-1]] + inputs[1:-1]
    fF = F if lib is tl else TF
    return case.fn(lib, fF, inputs, state)


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, tuple) else out


def _np(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return np.asarray(v.data if isinstance(v, tl.Tensor) else v)


def check(case: Case, seed: int) -> None:
    """Forward, gradients and (when the case allows) per-sample gradients against torch."""
    rng = np.random.default_rng(seed + 12345)
    if case.scale:  # ``tied``: one factor per channel, so that tied inputs stay tied
        shape = np.shape(case.arrays[0])[1:]
        s = rng.uniform(0.5, 1.5, shape[:1] + (1,) * (len(shape) - 1) if case.tied else shape)
        case.arrays = case.arrays + [np.broadcast_to(s, shape).copy()]
        case.grad = tuple(case.grad) + (len(case.arrays) - 1,)
    # whole batch, nothing batched: values, indices, buffers, gradients
    mine, ref = _tl_inputs(case, False), _th_inputs(case)
    st_mine, st_ref = {}, {}
    out, tout = _call(case, tl, mine, st_mine), _call(case, torch, ref, st_ref)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    assert len(outs) == len(touts), case.name
    for k, (o, t) in enumerate(zip(outs, touts)):
        _close(_np(o), _np(t), f"{case.name}: output {k}")
    for k in st_ref:
        _close(_np(st_mine[k]), _np(st_ref[k]), f"{case.name}: {k}")
    o, t = _first(out), _first(tout)
    c = rng.standard_normal(tuple(t.shape))
    gi = [i for i in case.grad if _is_float(case.arrays[i])]
    if not gi or not case.grads:
        return
    (o * tl.Tensor(c)).sum().backward()
    tg = torch.autograd.grad((t * torch.tensor(c)).sum(), [ref[i] for i in gi], allow_unused=True)
    want = {i: np.zeros(case.arrays[i].shape) if g is None else g.numpy() for i, g in zip(gi, tg)}
    for i in gi:
        got = np.zeros(case.arrays[i].shape) if mine[i].grad is None else mine[i].grad
        _close(got, want[i], f"{case.name}: gradient of input {i}")
    params = [i for i in gi if i not in case.sliced]
    if not case.per_sample or not params:
        return
    # the input batched: one backward gives each sample's own gradient
    mine = _tl_inputs(case, True)
    (_first(_call(case, tl, mine, {})) * tl.Tensor(c)).sum().backward()
    for i in params:  # the batch gradient, from the same backward
        _close(mine[i].grad, want[i], f"{case.name}: batched gradient of input {i}")
    if case.mixes:  # a sample's term depends on the others': reading grad_sample says so
        for i in params:
            with pytest.raises(RuntimeError, match=case.mixes):
                _ = mine[i].grad_sample
        return
    B = case.arrays[0].shape[0]
    rows = {i: [] for i in params}
    for b in range(B):
        ref = _th_inputs(case, slice(b, b + 1))
        t = _first(_call(case, torch, ref, {}))
        cost = (t * torch.tensor(c if t.ndim == 0 else c[b:b + 1])).sum()
        gs = torch.autograd.grad(cost, [ref[i] for i in params], allow_unused=True)
        for i, g in zip(params, gs):
            rows[i].append(np.zeros(case.arrays[i].shape) if g is None else g.numpy())
    for i in params:
        assert mine[i].grad_sample is not None, f"{case.name}: no grad_sample for input {i}"
        _close(mine[i].grad_sample, np.stack(rows[i]), f"{case.name}: grad_sample of input {i}")


def _n(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _ri(rng: np.random.Generator, lo: int, hi: int) -> int:
    """An int in [lo, hi] (both included)."""
    return int(rng.integers(lo, hi + 1))


def _per_axis(rng: np.random.Generator, nd: int, lo: int, hi: int) -> Any:
    """An int, or a tuple of nd ints, each in [lo, hi]."""
    v = tuple(_ri(rng, lo, hi) for _ in range(nd))
    return v[0] if rng.random() < 0.3 else v


def _t(v: Any, nd: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def gen_conv(rng: np.random.Generator) -> Case:
    """convNd with random stride, padding (ints, 'same', 'valid'), dilation, groups, bias."""
    nd = _ri(rng, 1, 3)
    g = _ri(rng, 1, 3)
    cin, cout = g * _ri(rng, 1, 2), g * _ri(rng, 1, 2)
    k = _per_axis(rng, nd, 1, 3)
    d = _per_axis(rng, nd, 1, 2)
    s = _per_axis(rng, nd, 1, 3)
    kind = rng.choice(["int", "int", "same", "valid"])
    if kind == "same":
        s = 1
        p: Any = "same"
    elif kind == "valid":
        p = "valid"
    else:
        p = _per_axis(rng, nd, 0, 2)
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(_t(k, nd), _t(d, nd))]
    pp = _t(p, nd) if not isinstance(p, str) else (0,) * nd
    S = [max(1, e - 2 * q) + _ri(rng, 0, 4 - nd) for e, q in zip(eff, pp)]
    B = _ri(rng, 1, 3)
    arrays = [_n(rng, B, cin, *S), _n(rng, cout, cin // g, *_t(k, nd))]
    if rng.random() < 0.6:
        arrays.append(_n(rng, cout))

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        conv = getattr(fF, f"conv{nd}d")
        return conv(a[0], a[1], a[2] if len(a) > 2 else None, s, p, d, g)
    one = bool(rng.random() < 0.15)  # one sample (C, *S), as torch accepts
    arrays[0] = arrays[0][0] if one else arrays[0]
    return Case(f"conv{nd}d(k={k}, s={s}, p={p}, d={d}, g={g}, shape={arrays[0].shape})", fn, arrays,
                grad=tuple(range(len(arrays))), per_sample=not one)


def gen_conv_module(rng: np.random.Generator) -> Case:
    """ConvNd layers with each padding_mode (zeros, reflect, replicate, circular)."""
    nd = _ri(rng, 1, 3)
    g = _ri(rng, 1, 2)
    cin, cout = g * _ri(rng, 1, 2), g * _ri(rng, 1, 2)
    k = _per_axis(rng, nd, 1, 3)
    d = _per_axis(rng, nd, 1, 2)
    mode = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
    if rng.random() < 0.3:
        s: Any = 1
        p: Any = "same"
    else:
        s = _per_axis(rng, nd, 1, 2)
        p = _per_axis(rng, nd, 0, 2)
    eff = [dd * (kk - 1) + 1 for kk, dd in zip(_t(k, nd), _t(d, nd))]
    pp = [e // 2 + 1 for e in eff] if p == "same" else _t(p, nd)
    S = [max(e, q + 1) + _ri(rng, 0, 4 - nd) for e, q in zip(eff, pp)]
    bias = bool(rng.random() < 0.6)
    B = _ri(rng, 1, 3)
    arrays = [_n(rng, B, cin, *S), _n(rng, cout, cin // g, *_t(k, nd))] + ([_n(rng, cout)] if bias else [])

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        cls = getattr(tnn if lib is tl else torch.nn, f"Conv{nd}d")
        m = cls(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias, padding_mode=mode)
        if lib is torch:
            del m.weight
            if bias:
                del m.bias
        m.weight = a[1]
        if bias:
            m.bias = a[2]
        return m(a[0])
    return Case(f"Conv{nd}d(k={k}, s={s}, p={p}, d={d}, g={g}, mode={mode}, S={S})", fn, arrays,
                grad=tuple(range(len(arrays))))


def gen_conv_transpose(rng: np.random.Generator) -> Case:
    """conv_transposeNd with random stride, padding, output_padding, dilation, groups, bias."""
    nd = _ri(rng, 1, 3)
    g = _ri(rng, 1, 3)
    cin, cout = g * _ri(rng, 1, 2), g * _ri(rng, 1, 2)
    k = _t(_per_axis(rng, nd, 1, 3), nd)
    d = _t(_per_axis(rng, nd, 1, 2), nd)
    s = _t(_per_axis(rng, nd, 1, 3), nd)
    op = tuple(_ri(rng, 0, max(ss, dd) - 1) for ss, dd in zip(s, d))
    p = tuple(_ri(rng, 0, (dd * (kk - 1)) // 2 + 1) for kk, dd in zip(k, d))
    S = []
    for kk, dd, ss, pp, oo in zip(k, d, s, p, op):
        n = 1
        while (n - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1 < 1:
            n += 1
        S.append(n + _ri(rng, 0, 3 - nd // 2))
    B = _ri(rng, 1, 3)
    arrays = [_n(rng, B, cin, *S), _n(rng, cin, cout // g, *k)]
    if rng.random() < 0.6:
        arrays.append(_n(rng, cout))
    s_, p_, op_, d_ = [v[0] if isinstance(v, tuple) and len(set(v)) == 1 and rng.random() < 0.5 else v
                       for v in (s, p, op, d)]

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        conv = getattr(fF, f"conv_transpose{nd}d")
        return conv(a[0], a[1], a[2] if len(a) > 2 else None, s_, p_, op_, g, d_)
    one = bool(rng.random() < 0.15)  # one sample (C, *S), as torch accepts
    arrays[0] = arrays[0][0] if one else arrays[0]
    return Case(f"conv_transpose{nd}d(k={k}, s={s_}, p={p_}, op={op_}, d={d_}, g={g}, shape={arrays[0].shape})",
                fn, arrays, grad=tuple(range(len(arrays))), per_sample=not one)


def _window(rng: np.random.Generator, nd: int, dil: bool, unpadded: bool = False) -> tuple:
    """kernel, stride (or None), padding (at most half the kernel), dilation, spatial sizes
    (``unpadded``: each at least the kernel's, as torch's 3-d average pool and lp pools ask)."""
    k = _t(_per_axis(rng, nd, 1, 3), nd)
    s = _t(_per_axis(rng, nd, 1, 3), nd)
    d = _t(_per_axis(rng, nd, 1, 2), nd) if dil else (1,) * nd
    p = tuple(_ri(rng, 0, kk // 2) for kk in k)
    S = [max(1, dd * (kk - 1) + 1 - (0 if unpadded else 2 * pp)) + _ri(rng, 0, 5 - nd)
         for kk, dd, pp in zip(k, d, p)]

    def one(v: tuple) -> Any:  # a tuple of equal sizes sometimes given as one int
        return v[0] if len(set(v)) == 1 and rng.random() < 0.5 else v
    return one(k), (None if rng.random() < 0.2 else one(s)), one(p), one(d), S


def _pool_input(rng: np.random.Generator, S: list, ties: bool = True) -> tuple:
    """(input, tied, unbatched): (B, C, *S), or one sample (C, *S); with ``ties`` sometimes
    small integers (tied maxima: torch takes the first)."""
    tied = ties and bool(rng.random() < 0.3)
    shape = [_ri(rng, 1, 3), _ri(rng, 1, 3), *S]
    x = rng.integers(-2, 3, shape).astype(np.float64) if tied else rng.standard_normal(shape)
    one = bool(rng.random() < 0.15)
    return (x[0] if one else x), tied, one


def _touches(k: int, s: int, p: int, d: int, n: int, ceil: bool) -> bool:
    """Every window of a 1-d max pool over n positions holds at least one of them."""
    span = n + 2 * p - d * (k - 1) - 1
    m = (-(-span // s) if ceil else span // s) + 1
    if ceil and (m - 1) * s >= n + p:
        m -= 1
    return all(any(0 <= i * s - p + j * d < n for j in range(k)) for i in range(m))


def gen_max_pool(rng: np.random.Generator) -> Case:
    """max_poolNd: kernel, stride, padding, dilation, ceil_mode, return_indices."""
    nd = _ri(rng, 1, 3)
    while True:  # a window wholly in the padding has no input position (torch's gradient there is garbage)
        k, s, p, d, S = _window(rng, nd, True)
        ceil, ri = bool(rng.random() < 0.5), bool(rng.random() < 0.4)
        if all(_touches(*a, ceil) for a in zip(_t(k, nd), _t(k if s is None else s, nd), _t(p, nd), _t(d, nd), S)):
            break
    x, tied, one = _pool_input(rng, S)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return getattr(fF, f"max_pool{nd}d")(a[0], k, s, p, d, ceil_mode=ceil, return_indices=ri)
    return Case(f"max_pool{nd}d(k={k}, s={s}, p={p}, d={d}, ceil={ceil}, idx={ri}, tied={tied}, shape={x.shape})",
                fn, [x], scale=True, tied=tied, per_sample=not one)


def gen_avg_pool(rng: np.random.Generator) -> Case:
    """avg_poolNd: kernel, stride, padding, ceil_mode, count_include_pad, divisor_override."""
    nd = _ri(rng, 1, 3)
    k, s, p, _, S = _window(rng, nd, False, unpadded=nd == 3)
    ceil, cip = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    kw = {} if nd == 1 or rng.random() < 0.6 else {"divisor_override": _ri(rng, 1, 5)}
    x, _, one = _pool_input(rng, S, ties=False)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return getattr(fF, f"avg_pool{nd}d")(a[0], k, s, p, ceil, cip, **kw)
    return Case(f"avg_pool{nd}d(k={k}, s={s}, p={p}, ceil={ceil}, cip={cip}, {kw}, shape={x.shape})", fn, [x],
                scale=True, per_sample=not one)


def gen_adaptive_pool(rng: np.random.Generator) -> Case:
    """adaptive_{avg,max}_poolNd with output sizes below, at and above the input's (None kept)."""
    nd = _ri(rng, 1, 3)
    S = [_ri(rng, 1, 7 - nd) for _ in range(nd)]
    size: Any = tuple(_ri(rng, 1, n + 2) if rng.random() < 0.85 or nd == 1 else None for n in S)
    size = size[0] if nd == 1 and rng.random() < 0.5 else size
    kind = str(rng.choice(["avg", "max"]))
    ri = kind == "max" and bool(rng.random() < 0.4)
    x, tied, one = _pool_input(rng, S)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        f = getattr(fF, f"adaptive_{kind}_pool{nd}d")
        return f(a[0], size, return_indices=True) if ri else f(a[0], size)
    return Case(f"adaptive_{kind}_pool{nd}d(size={size}, idx={ri}, tied={tied}, shape={x.shape})", fn, [x],
                scale=True, tied=tied, per_sample=not one)


def gen_lp_pool(rng: np.random.Generator) -> Case:
    """lp_poolNd with norm_type 1, 1.5, 2, 3, a kernel, a stride and ceil_mode (positive inputs)."""
    nd = _ri(rng, 1, 3)
    k, s, _, _, S = _window(rng, nd, False, unpadded=True)
    k = k if nd > 1 else _t(k, 1)[0]
    norm = float(rng.choice([1.0, 1.5, 2.0, 3.0]))
    ceil = bool(rng.random() < 0.5)
    x = np.abs(_n(rng, _ri(rng, 1, 3), _ri(rng, 1, 3), *S)) + 0.1

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return getattr(fF, f"lp_pool{nd}d")(a[0], norm, k, s, ceil)
    return Case(f"lp_pool{nd}d(p={norm}, k={k}, s={s}, ceil={ceil}, S={S})", fn, [x], scale=True)


def gen_pad(rng: np.random.Generator) -> Case:
    """F.pad, constant / reflect / replicate / circular, random pads (negative ones crop)."""
    while True:
        mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
        if mode == "constant":
            ndim = _ri(rng, 1, 4)
            m = _ri(rng, 1, ndim)
        else:
            m = _ri(rng, 1, 3)
            ndim = m + _ri(rng, 1, 2)
        shape = [_ri(rng, 1, 3)] + [_ri(rng, 1, 5) for _ in range(ndim - 1)]
        hi = {"constant": lambda n: 3, "reflect": lambda n: n - 1, "replicate": lambda n: 3, "circular": lambda n: n}
        pads = []
        for n in reversed(shape[ndim - m:]):
            lo_hi = [_ri(rng, -(n - 1), hi[mode](n)) for _ in range(2)]
            if mode == "circular":  # wrapping at most once around the cropped input (torch reads garbage else)
                lo_hi = [min(v, n + min(w, 0)) for v, w in (lo_hi, lo_hi[::-1])]
            pads += lo_hi
        kw = {"value": float(np.round(rng.standard_normal(), 2))} if mode == "constant" and rng.random() < 0.5 else {}
        x = _n(rng, *shape)
        try:
            TF.pad(torch.tensor(x), tuple(pads), mode, **kw)
        except RuntimeError:
            continue  # torch refuses these pads: draw again
        if all(v > 0 for v in TF.pad(torch.tensor(x), tuple(pads), mode, **kw).shape):
            break

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return fF.pad(a[0], tuple(pads), mode, **kw)
    # padding the sample axis itself mixes samples: no per-sample gradients then
    return Case(f"pad({mode}, pads={pads}, {kw}, shape={shape})", fn, [x], scale=True, per_sample=m < ndim)


_INTERP = {1: ["nearest", "nearest-exact", "linear", "area"], 2: ["nearest", "nearest-exact", "bilinear", "bicubic",
                                                                   "area"],
           3: ["nearest", "nearest-exact", "trilinear", "area"]}


def gen_interpolate(rng: np.random.Generator) -> Case:
    """interpolate: every mode, align_corners, size or scale_factor (per axis or one), and
    recompute_scale_factor."""
    nd = _ri(rng, 1, 3)
    mode = str(rng.choice(_INTERP[nd]))
    S = [_ri(rng, 1, 6 - nd) for _ in range(nd)]
    kw: dict = {"mode": mode}
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and rng.random() < 0.7:
        kw["align_corners"] = bool(rng.random() < 0.5)
    if rng.random() < 0.4:
        size = [_ri(rng, 1, 7) for _ in range(nd)]
        kw["size"] = size[0] if nd == 1 or (len(set(size)) == 1 and rng.random() < 0.5) else tuple(size)
    else:
        sf = [float(rng.choice([0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0])) for _ in range(nd)]
        kw["scale_factor"] = sf[0] if rng.random() < 0.4 else tuple(sf)
        if any(int(n * f) < 1 for n, f in zip(S, _t(kw["scale_factor"], nd))):
            kw["scale_factor"] = tuple(max(f, 1.0) for f in _t(kw["scale_factor"], nd))
        r = rng.random()
        if r < 0.6 and mode != "area":
            kw["recompute_scale_factor"] = bool(r < 0.3)
    x = _n(rng, _ri(rng, 1, 3), _ri(rng, 1, 2), *S)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return fF.interpolate(a[0], **kw)
    return Case(f"interpolate({kw}, S={S})", fn, [x], scale=True, grads=not _torch_backward_differs(S, kw))


def _torch_backward_differs(S: list, kw: dict) -> bool:
    """Where torch's backward is not the derivative of its forward (so only values compare):
    a given scale factor with an output length m = n (or 2n, "nearest") on some axis, that its
    1-d and 3-d "nearest" forward applies but its backward ignores; the same for "bicubic"
    when every axis keeps its length."""
    if "scale_factor" not in kw or kw.get("recompute_scale_factor"):
        return False
    sf = _t(kw["scale_factor"], len(S))
    m = [int(np.floor(n * f)) for n, f in zip(S, sf)]
    if kw["mode"] == "nearest" and len(S) != 2:
        return any((o == n and f != 1.0) or (o == 2 * n and f != 2.0) for n, o, f in zip(S, m, sf))
    return kw["mode"] == "bicubic" and m == list(S) and any(f != 1.0 for f in sf)


def gen_upsample(rng: np.random.Generator) -> Case:
    """The Upsample layer (size or scale_factor, a mode, align_corners)."""
    nd = _ri(rng, 1, 3)
    mode = str(rng.choice([m for m in _INTERP[nd] if m != "area"]))
    S = [_ri(rng, 1, 5 - nd) for _ in range(nd)]
    kw: dict = {"mode": mode}
    if mode not in ("nearest", "nearest-exact"):
        kw["align_corners"] = bool(rng.random() < 0.5)
    if rng.random() < 0.5:
        kw["size"] = _ri(rng, 1, 6) if rng.random() < 0.5 else tuple(_ri(rng, 1, 6) for _ in range(nd))
    else:
        kw["scale_factor"] = float(rng.choice([1.0, 1.5, 2.0, 3.0]))
    x = _n(rng, _ri(rng, 1, 3), _ri(rng, 1, 2), *S)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return (tnn if lib is tl else torch.nn).Upsample(**kw)(a[0])
    return Case(f"Upsample({kw}, S={S})", fn, [x], scale=True)


def _eps(rng: np.random.Generator) -> float:
    return float(rng.choice([1e-5, 1e-3, 0.1]))


def gen_layer_norm(rng: np.random.Generator) -> Case:
    """layer_norm over the last 1 to 3 axes, with or without weight and bias, and eps."""
    rest = [_ri(rng, 1, 4) for _ in range(_ri(rng, 1, 3))]
    k = _ri(rng, 1, len(rest))
    ns = tuple(rest[len(rest) - k:])
    hw, hb, eps = bool(rng.random() < 0.6), bool(rng.random() < 0.6), _eps(rng)
    arrays = [_n(rng, _ri(rng, 1, 3), *rest)] + [_n(rng, *ns) for _ in range(int(hw) + int(hb))]

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        w = a[1] if hw else None
        b = a[1 + int(hw)] if hb else None
        return fF.layer_norm(a[0], ns[0] if lib is tl and len(ns) == 1 else ns, w, b, eps)
    return Case(f"layer_norm(ns={ns}, w={hw}, b={hb}, eps={eps}, shape={arrays[0].shape})", fn, arrays,
                grad=tuple(range(len(arrays))))


def gen_group_norm(rng: np.random.Generator) -> Case:
    """group_norm with a number of groups dividing C, an optional weight and bias, and eps."""
    G = _ri(rng, 1, 3)
    C = G * _ri(rng, 1, 3)
    S = [_ri(rng, 1, 4) for _ in range(_ri(rng, 0, 2))]
    hw, eps = bool(rng.random() < 0.6), _eps(rng)
    hb = hw and bool(rng.random() < 0.7)  # torch's group_norm takes no bias without a weight
    if C // G * int(np.prod(S)) == 1:
        S = S + [2]
    arrays = [_n(rng, _ri(rng, 1, 3), C, *S)] + [_n(rng, C) for _ in range(int(hw) + int(hb))]

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return fF.group_norm(a[0], G, a[1] if hw else None, a[1 + int(hw)] if hb else None, eps)
    return Case(f"group_norm(G={G}, w={hw}, b={hb}, eps={eps}, shape={arrays[0].shape})", fn, arrays,
                grad=tuple(range(len(arrays))))


def _stats(rng: np.random.Generator, C: int) -> list:
    return [_n(rng, C), rng.uniform(0.3, 2.0, C)]


def gen_batch_norm(rng: np.random.Generator) -> Case:
    """F.batch_norm in training (running statistics updated, compared after the call; or none)
    and evaluation, momentum, eps, weight and bias optional."""
    C = _ri(rng, 1, 3)
    S = [_ri(rng, 1, 3) for _ in range(_ri(rng, 0, 3))]
    B = _ri(rng, 2, 3)
    training, eps = bool(rng.random() < 0.6), _eps(rng)
    stats = not training or rng.random() < 0.7
    mom = float(rng.choice([0.0, 0.1, 0.5, 1.0]))
    hw, hb = bool(rng.random() < 0.6), bool(rng.random() < 0.6)
    arrays = [_n(rng, B, C, *S)] + _stats(rng, C) + [_n(rng, C) for _ in range(int(hw) + int(hb))]

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        rm, rv = (a[1].data.copy(), a[2].data.copy()) if lib is tl else (a[1].clone(), a[2].clone())
        out = fF.batch_norm(a[0], rm if stats else None, rv if stats else None, a[3] if hw else None,
                            a[3 + int(hw)] if hb else None, training, mom, eps)
        st["running_mean"], st["running_var"] = rm, rv
        return out
    return Case(f"batch_norm(train={training}, stats={stats}, mom={mom}, w={hw}, b={hb}, eps={eps}, "
                f"shape={arrays[0].shape})", fn, arrays, grad=(0,) + tuple(range(3, len(arrays))),
                per_sample=not training)


def gen_batch_norm_module(rng: np.random.Generator) -> Case:
    """BatchNormNd layers: momentum (None: the cumulative average), affine, track_running_stats,
    train or eval; two forward calls, buffers compared after them."""
    nd = _ri(rng, 1, 3)
    C = _ri(rng, 1, 3)
    S = [_ri(rng, 1, 3) for _ in range(nd if nd > 1 else _ri(rng, 0, 1))]
    B = _ri(rng, 2, 3)
    mom = None if rng.random() < 0.4 else float(rng.choice([0.1, 0.5]))
    affine, track, training = (bool(rng.random() < 0.6) for _ in range(3))
    eps = _eps(rng)
    arrays = [_n(rng, B, C, *S)] + _stats(rng, C) + ([_n(rng, C), _n(rng, C)] if affine else [])

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        m = _norm_module(lib, f"BatchNorm{nd}d", a, C, eps, mom, affine, track, training)
        m(a[0] * 0.5 + 1.0)
        out = m(a[0])
        if track:
            st.update(running_mean=m.running_mean, running_var=m.running_var, count=m.num_batches_tracked)
        return out
    return Case(f"BatchNorm{nd}d(mom={mom}, affine={affine}, track={track}, train={training}, eps={eps}, "
                f"shape={arrays[0].shape})", fn, arrays, grad=(0, 3, 4) if affine else (0,),
                per_sample=not training and track)


def _norm_module(lib: Any, kind: str, a: list, C: int, eps: float, mom: Any, affine: bool, track: bool,
                 training: bool) -> Any:
    """The ``kind`` normalisation layer of ``lib`` (tl or torch) in float64: running statistics
    ``a[1]``, ``a[2]`` (3 batches counted) when ``track``, weight and bias ``a[3]``, ``a[4]`` when
    ``affine``, in training or eval mode."""
    m = getattr(tnn if lib is tl else torch.nn, kind)(C, eps, mom, affine, track)
    if lib is torch:
        m = m.double()
    if track:
        m.load_state_dict({"running_mean": _np(a[1]), "running_var": _np(a[2]),
                           "num_batches_tracked": np.array(3)} if lib is tl else
                          {"running_mean": a[1].detach(), "running_var": a[2].detach(),
                           "num_batches_tracked": torch.tensor(3)}, strict=False)
    if affine:
        if lib is torch:
            del m.weight, m.bias
        m.weight, m.bias = a[3], a[4]
    m.train(training)
    return m


def gen_instance_norm(rng: np.random.Generator) -> Case:
    """F.instance_norm with or without running statistics (updated in place), use_input_stats,
    momentum, weight and bias."""
    C = _ri(rng, 1, 3)
    S = [_ri(rng, 1, 3) for _ in range(_ri(rng, 1, 3))]
    if int(np.prod(S)) == 1:
        S[0] = 2
    use = bool(rng.random() < 0.7)
    stats = not use or rng.random() < 0.6
    mom = float(rng.choice([0.0, 0.1, 0.5]))
    hw, eps = bool(rng.random() < 0.6), _eps(rng)
    arrays = [_n(rng, _ri(rng, 1, 3), C, *S)] + _stats(rng, C) + ([_n(rng, C), _n(rng, C)] if hw else [])

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        rm, rv = (a[1].data.copy(), a[2].data.copy()) if lib is tl else (a[1].clone(), a[2].clone())
        out = fF.instance_norm(a[0], rm if stats else None, rv if stats else None, a[3] if hw else None,
                               a[4] if hw else None, use, mom, eps)
        st["running_mean"], st["running_var"] = rm, rv
        return out
    return Case(f"instance_norm(use_input_stats={use}, stats={stats}, mom={mom}, w={hw}, eps={eps}, "
                f"shape={arrays[0].shape})", fn, arrays, grad=(0, 3, 4) if hw else (0,))


def gen_instance_norm_module(rng: np.random.Generator) -> Case:
    """InstanceNormNd layers: affine, track_running_stats, momentum (None), train or eval."""
    nd = _ri(rng, 1, 3)
    C = _ri(rng, 1, 3)
    S = [_ri(rng, 1, 3) for _ in range(nd)]
    S[0] = max(S[0], 2)
    mom = None if rng.random() < 0.3 else float(rng.choice([0.1, 0.5]))
    affine, track, training = (bool(rng.random() < 0.6) for _ in range(3))
    eps = _eps(rng)
    arrays = [_n(rng, _ri(rng, 1, 3), C, *S)] + _stats(rng, C) + ([_n(rng, C), _n(rng, C)] if affine else [])

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        m = _norm_module(lib, f"InstanceNorm{nd}d", a, C, eps, mom, affine, track, training)
        out = m(a[0])
        if track:
            st.update(running_mean=m.running_mean, running_var=m.running_var, count=m.num_batches_tracked)
        return out
    return Case(f"InstanceNorm{nd}d(mom={mom}, affine={affine}, track={track}, train={training}, eps={eps}, "
                f"shape={arrays[0].shape})", fn, arrays, grad=(0, 3, 4) if affine else (0,))


def gen_embedding(rng: np.random.Generator) -> Case:
    """embedding: indices of any shape, padding_idx (also negative), max_norm with norm_type
    (the rows renormalised in place, compared after the call)."""
    N, D = _ri(rng, 2, 6), _ri(rng, 1, 4)
    idx = rng.integers(0, N, size=[_ri(rng, 1, 3)] + [_ri(rng, 1, 4) for _ in range(_ri(rng, 0, 2))])
    pi = None if rng.random() < 0.5 else _ri(rng, -N, N - 1)
    mn = None if rng.random() < 0.5 else float(rng.uniform(0.3, 2.0))
    nt = float(rng.choice([1.0, 2.0, 3.0]))
    W = _n(rng, N, D)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        out = fF.embedding(a[0], a[1], pi, mn, nt)
        st["weight"] = a[1]  # max_norm rescales the looked-up rows in place
        return out

    return Case(f"embedding(N={N}, D={D}, padding_idx={pi}, max_norm={mn}, norm_type={nt}, idx={idx.shape})", fn,
                [idx, W], grad=(1,), sliced=(0,))


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_LAYERS = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
           "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss",
           "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss", "kl_div": "KLDivLoss",
           "cosine_embedding_loss": "CosineEmbeddingLoss", "margin_ranking_loss": "MarginRankingLoss",
           "triplet_margin_loss": "TripletMarginLoss", "poisson_nll_loss": "PoissonNLLLoss",
           "gaussian_nll_loss": "GaussianNLLLoss"}


def _loss_call(lib: Any, fF: Any, name: str, layer: bool, a: list, kw: dict) -> Any:
    """The loss as a function, or (``layer``) as its loss layer built with the same options."""
    if not layer:
        return getattr(fF, name)(*a, **kw)
    return getattr(tnn if lib is tl else torch.nn, _LAYERS[name])(**kw)(*a)


def _class_case(rng: np.random.Generator, red: str, nll: bool) -> Case:
    """cross_entropy / nll_loss: (N, C, *d) or (C,) inputs, class indices (weight,
    ignore_index) or (cross_entropy) probabilities, label smoothing."""
    C, N = _ri(rng, 2, 5), _ri(rng, 1, 3)
    d = [_ri(rng, 1, 3) for _ in range(_ri(rng, 0, 2))]
    one = rng.random() < 0.15
    shape = (C,) if one else (N, C, *d)
    x = _n(rng, *shape)
    if nll:
        x = np.log(_softmax(x, 0 if one else 1))
    probs = not nll and rng.random() < 0.3
    kw: dict = {"reduction": red}
    if probs:
        y = _softmax(_n(rng, *shape), 0 if one else 1)
    else:
        y = rng.integers(0, C, size=() if one else (N, *d))
        if rng.random() < 0.4:
            kw["ignore_index"] = _ri(rng, 0, C - 1)
            flat = y.reshape(-1)
            flat[0] = (kw["ignore_index"] + 1) % C  # one position at least counts
    if rng.random() < 0.4:
        kw["weight"] = rng.uniform(0.2, 2.0, C)
    if not nll and rng.random() < 0.4:
        kw["label_smoothing"] = float(rng.choice([0.1, 0.3, 1.0]))
    name = "nll_loss" if nll else "cross_entropy"
    # a mean weighted by the selected classes, or over the positions not ignored, is a mean of
    # per-sample terms only when every sample selects the same total weight: else reading
    # grad_sample raises the mixing error naming the op
    mixes = ""
    if red == "mean" and not probs and not one:
        valid = y != kw.get("ignore_index", -100)
        w = kw["weight"][np.where(valid, y, 0)] if "weight" in kw else np.ones(y.shape)
        sel = np.where(valid, w, 0.0).reshape(N, -1).sum(axis=1)
        if np.any(sel != sel[0]):
            mixes = "nll_loss"

    layer = bool(rng.random() < 0.3)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        k = dict(kw, weight=torch.tensor(kw["weight"]) if lib is torch and "weight" in kw else kw.get("weight"))
        return _loss_call(lib, fF, name, layer, a, k)
    return Case(f"{name}({ {k: v for k, v in kw.items() if k != 'weight'} }, weight={'weight' in kw}, layer={layer}, "
                f"probs={probs}, shape={shape})", fn, [x, y], grad=(0,), sliced=(0, 1), scale=not one,
                per_sample=not one, mixes=mixes)


def gen_loss(rng: np.random.Generator) -> Case:
    """The losses under every reduction, with their options."""
    kind = str(rng.choice(["cross_entropy", "nll_loss", "bce", "bce_logits", "mse", "l1", "smooth_l1", "huber",
                           "kl_div", "cosine_embedding", "margin_ranking", "triplet", "poisson_nll",
                           "gaussian_nll"]))
    red = str(rng.choice(["none", "mean", "sum"]))
    if kind in ("cross_entropy", "nll_loss"):
        return _class_case(rng, red, kind == "nll_loss")
    N = _ri(rng, 1, 3)
    shape = [N] + [_ri(rng, 1, 4) for _ in range(_ri(rng, 0, 2))]
    kw: dict = {"reduction": red}
    consts: dict = {}
    if kind in ("bce", "bce_logits"):
        x = rng.uniform(0.05, 0.6, shape) if kind == "bce" else _n(rng, *shape)
        arrays = [x, rng.uniform(0, 1, shape)]
        grad = (0,) if kind == "bce" else (0, 1)
        if rng.random() < 0.5:
            consts["weight"] = rng.uniform(0.2, 2.0, shape[len(shape) - _ri(rng, 0, len(shape) - 1):])
        if kind == "bce_logits" and len(shape) > 1 and rng.random() < 0.5:
            consts["pos_weight"] = rng.uniform(0.2, 3.0, shape[-1:])
        name = "binary_cross_entropy" if kind == "bce" else "binary_cross_entropy_with_logits"
    elif kind in ("mse", "l1", "smooth_l1", "huber"):
        arrays, grad = [_n(rng, *shape), _n(rng, *shape)], (0, 1)
        name = kind + "_loss"
        if kind == "smooth_l1":
            kw["beta"] = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
        if kind == "huber":
            kw["delta"] = float(rng.choice([0.5, 1.0, 2.0]))
    elif kind == "kl_div":
        C = _ri(rng, 2, 4)
        shape = [N, C]
        kw["log_target"] = bool(rng.random() < 0.5)
        q = _softmax(_n(rng, *shape), 1)
        arrays, grad = [np.log(_softmax(_n(rng, *shape), 1)), np.log(q) if kw["log_target"] else q], (0, 1)
        kw["reduction"] = red = str(rng.choice(["none", "mean", "sum", "batchmean"]))
        name = kind
    elif kind in ("cosine_embedding", "margin_ranking"):
        D = _ri(rng, 1, 4)
        xs = [_n(rng, N, D), _n(rng, N, D)] if kind == "cosine_embedding" else [_n(rng, N), _n(rng, N)]
        arrays, grad = xs + [rng.choice([-1.0, 1.0], N)], (0, 1)
        kw["margin"] = float(rng.choice([0.0, 0.3, -0.2]))
        name = kind + "_loss"
    elif kind == "triplet":
        D = _ri(rng, 1, 4)
        arrays, grad = [_n(rng, N, D), _n(rng, N, D), _n(rng, N, D)], (0, 1, 2)
        kw.update(margin=float(rng.choice([0.5, 1.0, 2.0])), p=float(rng.choice([1.0, 2.0, 3.0])),
                  swap=bool(rng.random() < 0.5))
        name = "triplet_margin_loss"
    elif kind == "poisson_nll":
        kw.update(log_input=bool(rng.random() < 0.5), full=bool(rng.random() < 0.5))
        x = _n(rng, *shape) if kw["log_input"] else rng.uniform(0.1, 3.0, shape)
        arrays, grad = [x, rng.integers(0, 5, shape).astype(np.float64)], (0,)
        name = "poisson_nll_loss"
    else:
        kw.update(full=bool(rng.random() < 0.5), eps=float(rng.choice([1e-6, 0.1])))
        vshape = list(shape) if rng.random() < 0.6 or len(shape) == 1 else shape[:-1] + [1]
        arrays, grad = [_n(rng, *shape), _n(rng, *shape), rng.uniform(0.05, 2.0, vshape)], (0, 1, 2)
        name = "gaussian_nll_loss"

    layer = bool(rng.random() < 0.3)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        k = dict(kw, **{n: torch.tensor(v) if lib is torch else v for n, v in consts.items()})
        return _loss_call(lib, fF, name, layer, a, k)
    return Case(f"{name}({kw}, {list(consts)}, layer={layer}, shape={shape})", fn, arrays, grad=grad,
                sliced=tuple(range(len(arrays))), scale=True)


def gen_ctc(rng: np.random.Generator) -> Case:
    """ctc_loss: padded or concatenated targets, blank, lengths, reduction, zero_infinity."""
    T, N, C = _ri(rng, 1, 6), _ri(rng, 1, 3), _ri(rng, 2, 5)
    blank = _ri(rng, 0, C - 1)
    labels = [c for c in range(C) if c != blank]
    kw = {"blank": blank, "reduction": str(rng.choice(["none", "mean", "sum"])),
          "zero_infinity": bool(rng.random() < 0.5)}
    il = rng.integers(1, T + 1, N)
    tlen = rng.integers(0, 4, N)
    S = int(max(tlen.max(), 1))
    tg = rng.choice(labels, (N, S))
    if not kw["zero_infinity"]:  # an inf loss (torch's gradient is NaN there): every target fits its frames
        for n in range(N):
            while tlen[n] and il[n] < tlen[n] + int(np.sum(tg[n, 1:tlen[n]] == tg[n, :tlen[n] - 1])):
                tlen[n] -= 1
    concat = rng.random() < 0.4
    targets = np.concatenate([tg[n, :tlen[n]] for n in range(N)]) if concat else tg
    z = _n(rng, T, N, C)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        # logits through log_softmax, as users train: torch's gradient w.r.t. log_probs itself
        # assumes they are normalised log-probabilities (its extra exp(log_probs) term cancels)
        return fF.ctc_loss(fF.log_softmax(a[0], 2), a[1], a[2], a[3], **kw)
    return Case(f"ctc_loss({kw}, T={T}, N={N}, C={C}, il={il.tolist()}, tl={tlen.tolist()}, concat={concat})", fn,
                [z, targets, il, tlen], grad=(0,), per_sample=False)


def gen_activation(rng: np.random.Generator) -> Case:
    """Activations with their parameters: elu alpha, celu, selu, gelu (tanh), softplus beta and
    threshold, leaky_relu slope, hardtanh bounds, rrelu in evaluation, glu dim, prelu."""
    kind = str(rng.choice(["elu", "celu", "selu", "gelu", "softplus", "leaky_relu", "hardtanh", "rrelu", "glu",
                           "prelu"]))
    shape = [_ri(rng, 1, 3)] + [_ri(rng, 1, 4) for _ in range(_ri(rng, 0, 3))]
    kw: dict = {}
    if kind in ("elu", "celu"):
        kw["alpha"] = float(rng.choice([0.5, 1.0, 2.0]))
    elif kind == "gelu":
        kw["approximate"] = str(rng.choice(["none", "tanh"]))
    elif kind == "softplus":
        kw.update(beta=float(rng.choice([0.5, 1.0, 2.0, 5.0])), threshold=float(rng.choice([0.5, 1.0, 20.0])))
    elif kind == "leaky_relu":
        kw["negative_slope"] = float(rng.choice([0.0, 0.01, 0.2, -0.5, 1.5]))
    elif kind == "hardtanh":
        lo = float(np.round(rng.uniform(-2, 0.5), 2))
        kw.update(min_val=lo, max_val=float(np.round(lo + rng.uniform(0.1, 2), 2)))
    elif kind == "rrelu":
        lo = float(rng.uniform(0.0, 0.4))
        kw.update(lower=lo, upper=float(lo + rng.uniform(0, 0.4)), training=False)
    elif kind == "glu":
        ax = [i for i in range(len(shape)) if i > 0]
        if not ax:
            shape.append(2)
            ax = [len(shape) - 1]
        dim = int(rng.choice(ax))
        shape[dim] = 2 * _ri(rng, 1, 2)
        kw["dim"] = dim - len(shape) if rng.random() < 0.5 else dim
    x = _n(rng, *shape) * 2
    if kind == "prelu":
        if len(shape) == 1:
            shape.append(_ri(rng, 1, 3))
            x = _n(rng, *shape)
        w = _n(rng, shape[1] if rng.random() < 0.6 else 1) * 0.5

        def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
            return fF.prelu(a[0], a[1])
        return Case(f"prelu(w={w.shape}, shape={shape})", fn, [x, w], grad=(0, 1), scale=True)

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return getattr(fF, kind)(a[0], **kw)
    return Case(f"{kind}({kw}, shape={shape})", fn, [x], scale=True)


def gen_conv_transpose_module(rng: np.random.Generator) -> Case:
    """ConvTransposeNd layers, ``forward(x, output_size)`` given as spatial or full sizes."""
    nd = _ri(rng, 1, 3)
    g = _ri(rng, 1, 2)
    cin, cout = g * _ri(rng, 1, 2), g * _ri(rng, 1, 2)
    k, s, d = (_t(_per_axis(rng, nd, 1, 3 if i < 2 else 2), nd) for i in range(3))
    p = tuple(_ri(rng, 0, (dd * (kk - 1)) // 2) for kk, dd in zip(k, d))
    S = [_ri(rng, 1, 4 - nd // 2) for _ in range(nd)]
    least = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + 1 for n, ss, pp, dd, kk in zip(S, s, p, d, k)]
    S = [n + max(0, 1 - lo) for n, lo in zip(S, least)]
    least = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + 1 for n, ss, pp, dd, kk in zip(S, s, p, d, k)]
    size = [lo + _ri(rng, 0, ss - 1) for lo, ss in zip(least, s)]
    B = _ri(rng, 1, 3)
    full = rng.random() < 0.3
    osize = None if rng.random() < 0.3 else ([B, cout] + size if full else size)
    bias = bool(rng.random() < 0.6)
    arrays = [_n(rng, B, cin, *S), _n(rng, cin, cout // g, *k)] + ([_n(rng, cout)] if bias else [])

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        m = getattr(tnn if lib is tl else torch.nn, f"ConvTranspose{nd}d")(cin, cout, k, s, p, groups=g, bias=bias,
                                                                          dilation=d)
        if lib is torch:
            del m.weight
            if bias:
                del m.bias
        m.weight = a[1]
        if bias:
            m.bias = a[2]
        return m(a[0], output_size=osize)
    return Case(f"ConvTranspose{nd}d(k={k}, s={s}, p={p}, d={d}, g={g}, output_size={osize}, S={S})", fn, arrays,
                grad=tuple(range(len(arrays))))


def gen_pool_module(rng: np.random.Generator) -> Case:
    """The pooling layers built with their options: MaxPoolNd (dilation, ceil_mode,
    return_indices), AvgPoolNd (count_include_pad, divisor_override), LPPoolNd,
    AdaptiveMaxPoolNd (return_indices), AdaptiveAvgPoolNd."""
    nd = _ri(rng, 1, 3)
    kind = str(rng.choice(["Max", "Avg", "LP", "AdaptiveMax", "AdaptiveAvg"]))
    while True:
        k, s, p, d, S = _window(rng, nd, kind == "Max", unpadded=kind in ("LP", "Avg") and nd == 3 or kind == "LP")
        ceil = bool(rng.random() < 0.5)
        if kind != "Max" or all(_touches(*a, ceil) for a in zip(_t(k, nd), _t(k if s is None else s, nd),
                                                                 _t(p, nd), _t(d, nd), S)):
            break
    name = f"{kind}Pool{nd}d"
    if kind == "Max":
        args: tuple = (k, s, p, d)
        kw: dict = {"return_indices": bool(rng.random() < 0.4), "ceil_mode": ceil}
    elif kind == "Avg":
        args, kw = (k, s, p, ceil, bool(rng.random() < 0.5)), {}
        if nd > 1 and rng.random() < 0.4:
            kw["divisor_override"] = _ri(rng, 1, 4)
    elif kind == "LP":
        args, kw = (float(rng.choice([1.0, 2.0, 3.0])), k if nd > 1 else _t(k, 1)[0], s, ceil), {}
    else:
        args = (tuple(_ri(rng, 1, n + 1) for n in S),)
        kw = {"return_indices": bool(rng.random() < 0.4)} if kind == "AdaptiveMax" else {}
    x, tied, one = _pool_input(rng, S, ties=kind != "LP")
    x = np.abs(x) + 0.1 if kind == "LP" else x

    def fn(lib: Any, fF: Any, a: list, st: dict) -> Any:
        return getattr(tnn if lib is tl else torch.nn, name)(*args, **kw)(a[0])
    return Case(f"{name}{args}, {kw}, shape={x.shape})", fn, [x], scale=True, tied=tied, per_sample=not one)


FAMILIES = {  # generator: number of seeded draws
    "conv": (gen_conv, 40), "conv_module": (gen_conv_module, 40), "conv_transpose": (gen_conv_transpose, 40),
    "conv_transpose_module": (gen_conv_transpose_module, 25), "max_pool": (gen_max_pool, 40),
    "avg_pool": (gen_avg_pool, 40), "adaptive_pool": (gen_adaptive_pool, 30), "lp_pool": (gen_lp_pool, 30),
    "pad": (gen_pad, 50), "interpolate": (gen_interpolate, 50), "upsample": (gen_upsample, 30),
    "layer_norm": (gen_layer_norm, 25), "group_norm": (gen_group_norm, 25), "batch_norm": (gen_batch_norm, 30),
    "batch_norm_module": (gen_batch_norm_module, 30), "instance_norm": (gen_instance_norm, 25),
    "instance_norm_module": (gen_instance_norm_module, 25), "embedding": (gen_embedding, 30),
    "loss": (gen_loss, 150), "ctc": (gen_ctc, 30), "activation": (gen_activation, 60),
    "pool_module": (gen_pool_module, 40),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_random_valid_arguments_match_torch(family: str) -> None:
    gen, n = FAMILIES[family]
    for seed in range(n):
        case = gen(np.random.default_rng([seed, len(family)]))
        try:
            check(case, seed)
        except AssertionError as e:
            raise AssertionError(f"{family} seed {seed}: {e}") from e


def test_ctc_loss_with_every_target_empty_matches_torch() -> None:
    """Every target empty (an extended label of length 1): the loss is -sum_t log p_t(blank)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 2, 3))
    x = tl.Tensor(z, requires_grad=True)
    tx = torch.tensor(z, requires_grad=True)
    args = (np.zeros((2, 1), dtype=np.int64), np.array([4, 2]), np.array([0, 0]))
    out = F.ctc_loss(F.log_softmax(x, 2), *args, blank=1, reduction="sum")
    tout = TF.ctc_loss(TF.log_softmax(tx, 2), *(torch.tensor(a) for a in args), blank=1, reduction="sum")
    _close(out.data, tout.detach().numpy(), "loss")
    out.backward()
    tout.backward()
    _close(x.grad, tx.grad.numpy(), "gradient")


def test_ctc_loss_with_no_feasible_target_and_zero_infinity_backpropagates_zeros() -> None:
    """No target fits its frames and zero_infinity=True: a 0 loss that still depends on the
    input (backward runs, zero gradient), as torch."""
    lp = np.log(np.full((2, 2, 3), 1 / 3))
    x = tl.Tensor(lp, requires_grad=True)
    tx = torch.tensor(lp, requires_grad=True)
    args = (np.array([[1, 2, 1], [2, 2, 1]]), np.array([1, 2]), np.array([3, 3]))
    for red in ("none", "mean", "sum"):
        out = F.ctc_loss(x, *args, reduction=red, zero_infinity=True)
        tout = TF.ctc_loss(tx, *(torch.tensor(a) for a in args), reduction=red, zero_infinity=True)
        _close(out.data, tout.detach().numpy(), red)
        assert out.requires_grad
        out.sum().backward()
        tout.sum().backward()
        _close(x.grad, tx.grad.numpy(), red)


@pytest.mark.parametrize("mode, shape, sf", [("nearest", (1, 1, 3), 1.3), ("nearest", (1, 1, 3), 2.2),
                                             ("nearest", (1, 1, 3, 3, 3), 1.3), ("bicubic", (1, 1, 3, 3), 1.3),
                                             ("bicubic", (1, 1, 3, 4), (1.3, 2.0)), ("nearest", (1, 1, 3, 3), 1.3),
                                             ("bilinear", (1, 1, 3, 4), (1.3, 2.0))])
def test_interpolate_by_a_scale_factor_that_keeps_a_length_matches_torch(mode: str, shape: tuple, sf: Any) -> None:
    """A given scale factor with an output length equal to the input's (or twice it): torch's
    1-d and 3-d "nearest" and its "bicubic" still apply the scale; its 2-d "nearest" and the
    linear modes copy that axis."""
    x = np.random.default_rng(1).standard_normal(shape)
    out = F.interpolate(tl.Tensor(x), scale_factor=sf, mode=mode)
    _close(out.data, TF.interpolate(torch.tensor(x), scale_factor=sf, mode=mode).numpy(), mode)

