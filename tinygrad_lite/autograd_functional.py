"""``tl.autograd.functional``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp`` and ``hvp``
of a function of Tensors, with ``torch.autograd.functional``'s names, argument and result
structure.

``inputs`` is a Tensor or a tuple of Tensors and the function returns a Tensor or a tuple of
Tensors. ``vjp(f, inputs, v)`` is ``(f(inputs), v^T J)``; ``jacobian(f, inputs)`` is
``J[j][i][a..., b...] = d out_j[a...] / d in_i[b...]`` (shape ``out_j.shape +
in_i.shape``), without the tuple levels that were plain Tensors. The inputs are replaced by
new leaves with the same values, so no ``.grad`` is written and, unless ``create_graph``, the
results are cut from any graph. ``strict=True`` refuses an output that does not depend on
an input.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from . import autograd as _ag
from .funclevel import as_cotangent
from .graph import enable_grad
from .tensor import Tensor, stack

__all__ = ["jacobian", "vjp", "jvp", "hessian", "vhp", "hvp"]

Tensors = Union[Tensor, tuple]


def _as_tuple(where: str, what: str, value: Any) -> tuple:
    """``(was_tuple, tuple of Tensors)``, else TypeError as torch words it."""
    if isinstance(value, Tensor):
        return False, (value,)
    if not isinstance(value, tuple):
        raise TypeError(f"{where}: The {what} given to {where} must be either a Tensor or a tuple of Tensors but the "
                        f"given {what} has type {type(value)}.")
    for i, t in enumerate(value):
        if not isinstance(t, Tensor):
            raise TypeError(f"{where}: The {what} given to {where} must be either a Tensor or a tuple of Tensors but "
                            f"the value at index {i} has type {type(t)}.")
    return True, value


def _prepare(where: str, inputs: tuple, create_graph: bool) -> tuple:
    """New tensors standing for ``inputs``: an identity op of an input that requires grad
    when ``create_graph`` (so results stay functions of it), else a new leaf."""
    for i, t in enumerate(inputs):
        if t.dtype.kind != "f":
            raise RuntimeError(f"{where}: only Tensors of floating point dtype can require gradients; input {i} has "
                               f"dtype {t.dtype} (shape {t.shape})")
    with enable_grad():
        return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_()
                     for t in inputs)


def _run(where: str, func: Callable, ins: tuple, strict: bool) -> tuple:
    with enable_grad():
        res = func(*ins)
    was_tuple, outs = _as_tuple(where, "outputs of the user-provided function", res)
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise RuntimeError(f"{where}: Output {i} of the user-provided function does not require gradients. "
                                   "The outputs must be computed in a differentiable manner from the input when "
                                   "running in strict mode.")
    return was_tuple, outs


def _vjps(where: str, outs: tuple, ins: tuple, cots: list, create_graph: bool) -> list:
    """``sum_k J_k^T cots[k]`` per input (None where no output depends on it)."""
    live = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
    if not live:
        return [None] * len(ins)
    try:
        return list(_ag.grad([o for o, _ in live], list(ins), [c for _, c in live], allow_unused=True,
                             create_graph=create_graph))
    except NotImplementedError as e:
        raise NotImplementedError(f"{where}: create_graph=True needs a differentiable backward of every op on the "
                                  f"way ({e})") from e


def _out(t: Tensor, create_graph: bool) -> Tensor:
    return t if create_graph or not t.requires_grad else t.detach()


def _check_bools(where: str, **flags: Any) -> None:
    for k, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{where}: {k} must be a bool, got {v!r}")


def vjp(func: Callable, inputs: Tensors, v: Optional[Tensors] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(*inputs), sum_k J_k^T v_k)``: ``v`` has one Tensor per output, of its shape
    (it may be None when ``func`` returns one one-element Tensor); the products have the
    structure of ``inputs`` (zeros for an input no output depends on, an error with
    ``strict``)."""
    where = "vjp"
    _check_bools(where, create_graph=create_graph, strict=strict)
    in_tuple, inputs = _as_tuple(where, "inputs", inputs)
    if v is not None:
        _, vs = _as_tuple(where, "v", v)
    ins = _prepare(where, inputs, create_graph)
    out_tuple, outs = _run(where, func, ins, strict)
    if v is None:
        if out_tuple or outs[0].data.size != 1:
            raise RuntimeError(f"{where}: The vector v can only be None if the user-provided function returns a single "
                               f"Tensor with a single element (it returned shapes {[tuple(o.shape) for o in outs]}).")
        vs = (Tensor(np.ones(outs[0].shape, outs[0].dtype)),)
    _v_shapes(where, vs, outs, out_tuple)
    gs = _vjps(where, outs, ins, [as_cotangent(a, o.dtype, create_graph) for a, o in zip(vs, outs)], create_graph)
    res = []
    for i, (g, t) in enumerate(zip(gs, ins)):
        if g is None and strict:
            raise RuntimeError(f"{where}: The output of the user-provided function is independent of input {i}. This "
                               "is not allowed in strict mode.")
        res.append(Tensor(np.zeros_like(t.data)) if g is None else _out(g, create_graph))
    out = tuple(_out(o, create_graph) for o in outs)
    return (out if out_tuple else out[0]), (tuple(res) if in_tuple else res[0])


def jacobian(func: Callable, inputs: Tensors, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of each output with respect to each input, ``J[j][i]`` of shape
    ``out_j.shape + in_i.shape`` (a Tensor when both are single Tensors, else tuples over
    the outputs, then the inputs, keeping only the levels given as tuples). One reverse
    sweep per output element. ``vectorize`` and ``strategy="forward-mode"`` (which needs
    ``vectorize=True``, and refuses ``create_graph`` and ``strict``) give the same values;
    an output independent of an input gets zeros (an error with ``strict``). With
    ``strategy="forward-mode"`` and tuple ``inputs`` the tuple levels are lists."""
    where = "jacobian"
    _check_bools(where, create_graph=create_graph, strict=strict, vectorize=vectorize)
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f'{where}: Expected strategy to be either "forward-mode" or "reverse-mode", got {strategy!r}. '
                         'Hint: If your function has more outputs than inputs, "forward-mode" tends to be more '
                         'performant. Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(f'{where}: `create_graph=True` and `strategy="forward-mode"` are not supported '
                                      'together (yet). Please either set `create_graph=False` or '
                                      '`strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(f'{where}: `strict=True` and `strategy="forward-mode"` are not supported together '
                               '(yet). Please either set `strict=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError(f"{where}: Computing Jacobian using forward-AD is only implemented for "
                                      "`vectorize=True`.")
    in_tuple, inputs = _as_tuple(where, "inputs", inputs)
    ins = _prepare(where, inputs, create_graph)
    out_tuple, outs = _run(where, func, ins, strict)
    if vectorize and strict:
        raise RuntimeError(f"{where}: `strict=True` and `vectorized=True` are not supported together. Please either "
                           "set `strict=False` or `vectorize=False`.")
    forward = strategy == "forward-mode"
    seq = list if forward else tuple  # (the forward-mode levels over tuple inputs are lists, as torch's)
    jac = []
    for j, o in enumerate(outs):
        rows = []
        for k in range(o.data.size if o.requires_grad else 0):
            seed = np.zeros(o.shape, o.dtype)
            seed.flat[k] = 1
            rows.append(_vjps(where, (o,), ins, [seed], create_graph))
        per_in = []
        for i, t in enumerate(ins):
            shape = tuple(o.shape) + tuple(t.shape)
            got = [r[i] for r in rows if r[i] is not None]
            if strict and (not got or len(got) != len(rows)):
                raise RuntimeError(f"{where}: Output {j} of the user-provided function is independent of input {i}. "
                                   "This is not allowed in strict mode.")
            if got and len(got) == len(rows):
                per_in.append(_out(stack(got).reshape(shape), create_graph))
            else:
                full = [Tensor(np.zeros(t.shape, t.dtype)) if r[i] is None else r[i] for r in rows]
                per_in.append(_out(stack(full).reshape(shape), create_graph) if full
                              else Tensor(np.zeros(shape, t.dtype)))
        jac.append(seq(per_in) if in_tuple else per_in[0])
    return (list if in_tuple and forward else tuple)(jac) if out_tuple else jac[0]


def _check_v(where: str, v: Optional[Tensors], inputs: tuple, in_tuple: bool) -> tuple:
    """``v`` as a tuple of Tensors, one per input and of its shape (torch's messages); None
    stands for 1 when there is one one-element input."""
    if v is None:
        if len(inputs) != 1 or inputs[0].data.size != 1:
            raise RuntimeError(f"{where}: The vector v can only be None if the input to the user-provided function is "
                               "a single Tensor with a single element.")
        return (Tensor(np.ones(inputs[0].shape, inputs[0].dtype)),)
    _, vs = _as_tuple(where, "v", v)
    _v_shapes(where, vs, inputs, in_tuple)
    return vs


def _v_shapes(where: str, vs: tuple, like: Any, as_tuple: bool) -> None:
    """``v`` holds one Tensor of each shape of ``like`` (the outputs, or the inputs), else
    torch's messages."""
    if len(vs) != len(like):
        raise RuntimeError(f"{where}: v is a tuple of invalid length: should be {len(like)} but got {len(vs)}."
                           if as_tuple else f"{where}: The given v should contain a single Tensor.")
    for i, (a, t) in enumerate(zip(vs, like)):
        if a.shape != t.shape:
            entry = f"Entry {i} in " if as_tuple else ""
            raise RuntimeError(f"{where}: {entry}v has invalid size: should be {t.shape} but got {a.shape}.")


def _zeros_for(where: str, gs: list, like: tuple, strict: bool, what: str, create_graph: bool) -> tuple:
    """Each found gradient (cut from the graph unless ``create_graph``), zeros where none was
    found (an error naming the entry with ``strict``)."""
    res = []
    for i, (g, t) in enumerate(zip(gs, like)):
        if g is None and strict:
            raise RuntimeError(f"{where}: {what.format(i)} This is not allowed in strict mode.")
        res.append(Tensor(np.zeros_like(t.data)) if g is None else _out(g, create_graph))
    return tuple(res)


def jvp(func: Callable, inputs: Tensors, v: Optional[Tensors] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(*inputs), J v)``: for each output, ``sum_i J_i v_i`` (``v`` one Tensor per
    input, of its shape), by the double-backward trick: with ``u`` a zero cotangent that
    requires grad, ``J^T u`` is linear in ``u`` and its gradient with respect to ``u`` along
    ``v`` is ``J v``."""
    where = "jvp"
    _check_bools(where, create_graph=create_graph, strict=strict)
    in_tuple, inputs = _as_tuple(where, "inputs", inputs)
    vs = _check_v(where, v, inputs, in_tuple)
    ins = _prepare(where, inputs, create_graph)
    out_tuple, outs = _run(where, func, ins, strict)
    us = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs]
    gs = _vjps(where, outs, ins, us, True)
    pairs = [(g, a) for g, a in zip(gs, vs) if g is not None and g.requires_grad]
    found = [None] * len(outs)
    if pairs:
        try:
            found = list(_ag.grad([g for g, _ in pairs], us, [as_cotangent(a, g.dtype, create_graph) for g, a in pairs],
                                  allow_unused=True, create_graph=create_graph))
        except NotImplementedError as e:
            raise NotImplementedError(f"{where}: the double-backward trick needs a differentiable backward of every "
                                      f"op on the way ({e})") from e
    res = _zeros_for(where, found, outs, strict, "The output {} of the user-provided function does not depend on "
                     "the inputs along v (the double backward trick found no gradient for it).", create_graph)
    out = tuple(_out(o, create_graph) for o in outs)
    return (out if out_tuple else out[0]), (res if out_tuple else res[0])


def _scalar_output(where: str, func: Callable, ins: tuple, strict: bool) -> Tensor:
    """``func(*ins)``, which must be a single one-element Tensor (torch's messages)."""
    out_tuple, outs = _run(where, func, ins, strict)
    if out_tuple:
        raise RuntimeError(f"{where}: The function given to {where} should return a single Tensor")
    if outs[0].data.size != 1:
        raise RuntimeError(f"{where}: The Tensor returned by the function given to {where} should contain a single "
                           f"element (it has shape {outs[0].shape})")
    return outs[0]


def _first_grads(where: str, out: Tensor, ins: tuple, strict: bool) -> list:
    """``d out / d ins`` as differentiable Tensors (None for an input ``out`` does not use)."""
    gs = _vjps(where, (out,), ins, [np.ones(out.shape, out.dtype)], True)
    if strict:
        for i, g in enumerate(gs):
            if g is None or not g.requires_grad:
                raise RuntimeError(f"{where}: The jacobian of the user-provided function with respect to input {i} "
                                   "is independent of the input. This is not allowed in strict mode.")
    return gs


def _hessian_product(where: str, func: Callable, inputs: Tensors, v: Optional[Tensors], create_graph: bool,
                     strict: bool, product: Callable[[list, tuple, tuple], list]) -> tuple:
    """What ``vhp`` and ``hvp`` share: the checks, the differentiable first gradients ``gs``
    of ``func``'s one-element output, then ``product(gs, ins, vs)`` (one result or None per
    input), returned as ``(func(*inputs), results)`` with torch's structure."""
    _check_bools(where, create_graph=create_graph, strict=strict)
    in_tuple, inputs = _as_tuple(where, "inputs", inputs)
    vs = _check_v(where, v, inputs, in_tuple)
    ins = _prepare(where, inputs, create_graph)
    out = _scalar_output(where, func, ins, strict)
    found = product(_first_grads(where, out, ins, strict), ins, vs)
    res = _zeros_for(where, found, ins, strict, "The hessian of the user-provided function with respect to input "
                     "{} is independent of the input.", create_graph)
    return _out(out, create_graph), (res if in_tuple else res[0])


def vhp(func: Callable, inputs: Tensors, v: Optional[Tensors] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(*inputs), v^T H)`` for a function returning one one-element Tensor: the gradient
    of ``sum_i (d func / d in_i) . v_i`` with respect to each input."""

    def product(gs: list, ins: tuple, vs: tuple) -> list:
        pairs = [(g, a) for g, a in zip(gs, vs) if g is not None and g.requires_grad]
        if not pairs:
            return [None] * len(ins)
        return _vjps("vhp", tuple(g for g, _ in pairs), ins, [as_cotangent(a, g.dtype, create_graph) for g, a in pairs],
                     create_graph)

    return _hessian_product("vhp", func, inputs, v, create_graph, strict, product)


def hvp(func: Callable, inputs: Tensors, v: Optional[Tensors] = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(*inputs), H v)`` for a function returning one one-element Tensor, by the
    double-backward trick on the gradient: ``H v`` is the gradient along ``v`` of
    ``u -> (d/d in) (grad . u)``; it equals ``vhp``'s ``v^T H`` when ``H`` is symmetric."""

    def product(gs: list, ins: tuple, vs: tuple) -> list:
        live = [(g, t) for g, t in zip(gs, ins) if g is not None and g.requires_grad]
        if not live:
            return [None] * len(ins)
        us = tuple(Tensor(np.zeros(t.shape, t.dtype), requires_grad=True) for _, t in live)  # one per gradient
        back = _vjps("hvp", tuple(g for g, _ in live), ins, list(us), True)  # H^T u, per input
        pairs = [(b, a) for b, a in zip(back, vs) if b is not None and b.requires_grad]
        if not pairs:
            return [None] * len(ins)
        vecs = [as_cotangent(a, b.dtype, create_graph) for b, a in pairs]
        return _at_inputs(_vjps("hvp", tuple(b for b, _ in pairs), us, vecs, create_graph), gs)

    return _hessian_product("hvp", func, inputs, v, create_graph, strict, product)


def _at_inputs(found: list, gs: list) -> list:
    """Results found for the inputs with a live gradient, put back at the inputs' positions."""
    it = iter(found)
    return [next(it) if g is not None and g.requires_grad else None for g in gs]


def hessian(func: Callable, inputs: Tensors, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a function returning one one-element Tensor: ``H[i][j]`` of shape
    ``in_i.shape + in_j.shape`` is ``d^2 func / d in_i d in_j`` (a Tensor for a single input,
    else a tuple of tuples): the Jacobian of the gradient, which is taken with
    ``create_graph=True``."""
    where = "hessian"
    _check_bools(where, create_graph=create_graph, strict=strict, vectorize=vectorize)
    in_tuple, inputs = _as_tuple(where, "inputs", inputs)
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f'{where}: Expected strategy to be either "forward-mode" or "reverse-mode", got '
                         f"{outer_jacobian_strategy!r}.")

    def single(*inp: Tensor) -> Tensor:
        return _scalar_output(where, func, inp, strict).reshape(())

    def gradient(*inp: Tensor) -> tuple:
        return jacobian(single, inp, create_graph=True, strict=strict)

    res = jacobian(gradient, inputs if in_tuple else inputs[0], create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return res if in_tuple else res[0]
