"""``tl.func``: function transforms with ``torch.func``'s names and semantics.

``grad(f)(*args)`` is ``df/d args[argnums]`` for a scalar ``f``; ``vjp(f, *primals)`` gives
``f(*primals)`` and ``v -> v^T J``; ``jacrev(f)`` is the Jacobian ``J[i..., j...] =
d out[i...] / d x[j...]`` (shape ``out.shape + x.shape``) row by row; ``vmap(f)`` maps ``f``
over an axis of its inputs. Inputs and outputs may be pytrees (tuples, lists, dicts) of
Tensors. These are functional: they write no ``.grad`` or ``grad_sample`` (cotangents come
from ``tl.autograd.grad``) and change no input, so they nest: ``vmap(grad(f))`` gives
per-sample gradients::

    ps = vmap(grad(loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)

``jvp(f, primals, tangents)`` gives ``f(*primals)`` and ``J v`` (by the double-backward
trick); ``jacfwd`` is the same Jacobian as ``jacrev`` (computed by reverse sweeps) and
``hessian(f)`` is ``jacfwd(jacrev(f))``. ``functional_call`` runs a module with given
parameters; ``stack_module_state`` stacks the parameters and buffers of several like models
for ``vmap``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

from . import autograd as _ag
from ._pytree import flatten, prefix_leaves, same_structure, spec_str, tree_map, unflatten
from .conventions import check_bool
from .funclevel import Level, as_cotangent, check_argnums, check_callable
from .funcvmap import vmap
from .graph import enable_grad, is_grad_enabled, no_grad
from .nn.module import Module
from .nn.utils.stateless import functional_call
from .tensor import Tensor, stack

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap", "functional_call",
           "stack_module_state"]

Argnums = Union[int, Tuple[int, ...]]


def _split_aux(where: str, res: Any, has_aux: bool) -> tuple:
    """``(output, aux)`` of a function's result; aux must hold only Tensors."""
    if not has_aux:
        return res, None
    if not isinstance(res, tuple) or len(res) != 2:
        raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True")
    for a in flatten(res[1])[0]:
        if not isinstance(a, Tensor):
            raise RuntimeError(f"{where}: Expected tensors in aux, got unsupported type {type(a).__name__}")
    return res


def _call(where: str, func: Callable, args: tuple, kwargs: dict, argnums: Argnums) -> tuple:
    """``(level, func's result)`` with the arguments at ``argnums`` replaced by the level's
    stand-ins."""
    nums = check_argnums(where, argnums, len(args))
    level = Level(where, [args[i] for i in nums])
    new = list(args)
    for i, t in zip(nums, level.trees):
        new[i] = t
    with enable_grad():
        return level, func(*new, **kwargs)


def _by_argnums(level: Level, values: list, argnums: Argnums) -> Any:
    trees = level.unflatten(values)
    return trees[0] if isinstance(argnums, int) else tuple(trees)


def grad_and_value(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f -> (lambda *args: (df/d args[argnums], f(*args)))`` for ``f`` returning a 0-d
    Tensor: the gradient has the structure of ``args[argnums]`` (a tuple of those when
    ``argnums`` is a tuple). With ``has_aux``, ``f`` returns ``(output, aux)`` and the result
    is ``(grad, (value, aux))``. An input ``f`` does not use gets zeros."""
    check_callable("grad_and_value", func)
    check_bool("grad_and_value", "has_aux", has_aux)
    return _grad_and_value(func, argnums, has_aux, "grad_and_value(f)(*args)")


def _grad_and_value(func: Callable, argnums: Argnums, has_aux: bool, where: str) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        level, res = _call(where, func, args, kwargs, argnums)
        out, aux = _split_aux(where, res, has_aux)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{where}: Expected f(*args) to return a Tensor, got {type(out).__name__}")
        if out.ndim != 0:
            raise RuntimeError(f"{where}: Expected f(*args) to return a scalar Tensor, got tensor with {out.ndim} "
                               f"dims (shape {out.shape}). Maybe you wanted to use the vjp or jacrev APIs instead?")
        g = _by_argnums(level, level.grads([out], [np.ones((), out.dtype)]), argnums)
        value = level.result(out)
        if has_aux:
            return g, (value, tree_map(level.result, aux))
        return g, value

    return wrapper


def grad(func: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f -> (lambda *args: df/d args[argnums])`` for ``f`` returning a 0-d Tensor (the
    gradient of ``grad_and_value`` alone; with ``has_aux``, ``(grad, aux)``)."""
    check_callable("grad", func)
    check_bool("grad", "has_aux", has_aux)
    inner = _grad_and_value(func, argnums, has_aux, "grad(f)(*args)")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def _tensor_leaves(where: str, out: Any) -> tuple:
    leaves, spec = flatten(out)
    for o in leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{where}: expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(o).__name__}")
    return leaves, spec


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(v)`` is the tuple (one per primal) of
    ``sum_k J_k^T v_k``, ``v`` a pytree of Tensors with the output's structure and shapes
    (``(output, vjp_fn, aux)`` with ``has_aux``). ``vjp_fn`` may be called many times."""
    where = "vjp(f, *primals)"
    check_callable(where, func)
    check_bool(where, "has_aux", has_aux)
    level = Level(where, list(primals))
    with enable_grad():
        res = func(*level.trees)
    out, aux = _split_aux(where, res, has_aux)
    outs, spec = _tensor_leaves(where, out)

    def vjp_fn(cotangents: Any, retain_graph: bool = True, create_graph: Optional[bool] = None) -> tuple:
        """``sum_k J_k^T cotangents_k`` for each primal, as a tuple."""
        w = "vjp_fn"
        if not same_structure(cotangents, out):
            raise RuntimeError(f"{w}: Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {spec_str(flatten(cotangents)[1])}, primal "
                               f"output: {spec_str(spec)}")
        cots = prefix_leaves(cotangents, out)  # (in the output's order, also for dicts)
        for i, (c, o) in enumerate(zip(cots, outs)):
            if not isinstance(c, Tensor):
                raise RuntimeError(f"{w}: cotangent {i} must be a Tensor, got {type(c).__name__}")
            if c.shape != o.shape:
                raise RuntimeError(f"{w}: Mismatch in shape: grad_output[{i}] has a shape of {c.shape} and "
                                   f"output[{i}] has a shape of {o.shape}.")
        diff = is_grad_enabled() and any(c.requires_grad for c in cots)  # (the result differentiated w.r.t. them)
        cs = [as_cotangent(c, o.dtype, diff) for c, o in zip(cots, outs)]
        return tuple(level.unflatten(level.grads(outs, cs, True if diff and create_graph is None else create_graph)))

    result = unflatten(spec, [level.result(o) for o in outs])
    if has_aux:
        return result, vjp_fn, tree_map(level.result, aux)
    return result, vjp_fn


def jacrev(func: Callable, argnums: Argnums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None) -> Callable:
    """``f -> (lambda *args: J)``: for each output leaf ``o`` of ``f`` and input leaf ``x`` of
    ``args[argnums]``, ``J[i..., j...] = d o[i...] / d x[j...]`` (shape ``o.shape +
    x.shape``), built one reverse sweep per element of ``o``. ``J`` has the output's
    structure with the input's (a tuple over ``argnums`` when it is a tuple) at each leaf;
    with ``has_aux``, ``(J, aux)``."""
    where = "jacrev(f, argnums)(*args)"
    check_callable(where, func)
    check_bool(where, "has_aux", has_aux)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"{where}: chunk_size should be None or a positive int, got {chunk_size!r}")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        level, res = _call(where, func, args, kwargs, argnums)
        out, aux = _split_aux(where, res, has_aux)
        outs, spec = _tensor_leaves(where, out)
        per_out = []
        for o in outs:
            n = int(np.prod(o.shape))
            create = level.needs_graph([o])
            rows = []
            for k in range(n if o.requires_grad else 0):
                seed = np.zeros(o.shape, o.dtype)
                seed.flat[k] = 1
                rows.append(level.grads([o], [seed], create))
            jacs = []
            for i, w in enumerate(level.leaves):
                shape = tuple(o.shape) + tuple(w.shape)
                jacs.append(stack([r[i] for r in rows]).reshape(shape) if rows
                            else Tensor(np.zeros(shape, w.dtype)))
            per_out.append(_by_argnums(level, jacs, argnums))
        jac = unflatten(spec, per_out)
        return (jac, tree_map(level.result, aux)) if has_aux else jac

    return wrapper


def jacfwd(func: Callable, argnums: Argnums = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """``f -> (lambda *args: J)``, the Jacobian with ``jacrev``'s structure and values. It is
    computed by reverse sweeps (one per output element), so its cost follows the output's
    size, not the input's as true forward mode would."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"jacfwd: Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness!r}")
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums: Argnums = 0) -> Callable:
    """``f -> (lambda *args: H)`` for ``f`` returning a 0-d Tensor: ``H[i..., j...] = d^2 f /
    d x[i...] d x[j...]`` (shape ``x.shape + x.shape``), ``jacfwd(jacrev(f))``; the inner
    gradient is taken with ``create_graph=True``."""
    check_callable("hessian", func)
    return jacfwd(jacrev(func, argnums), argnums)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """``(f(*primals), J v)``: ``v`` = ``tangents``, a tuple with the primals' structure and
    shapes; ``J v`` has the output's structure (``(output, J v, aux)`` with ``has_aux``). By
    the double-backward trick: ``J^T u`` is linear in a zero cotangent ``u`` that requires
    grad, and its gradient with respect to ``u`` along ``v`` is ``J v``."""
    where = "jvp(f, primals, tangents)"
    check_callable(where, func)
    check_bool(where, "has_aux", has_aux)
    check_bool(where, "strict", strict)
    if strict:
        raise RuntimeError(f"{where}: strict=True is not supported")
    for name, t in (("primals", primals), ("tangents", tangents)):
        if not isinstance(t, tuple):
            raise RuntimeError(f"{where}: Expected {name} to be a tuple. E.g. it should be valid to call "
                               "f(*primals).")
    if not same_structure(primals, tangents):
        raise RuntimeError(f"{where}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{spec_str(flatten(primals)[1])} and tangents with structure "
                           f"{spec_str(flatten(tangents)[1])}")
    vs = prefix_leaves(tangents, primals)  # (in the primals' order, also for dicts keyed in another order)
    for p, v in zip(flatten(primals)[0], vs):
        if not isinstance(v, Tensor) or not isinstance(p, Tensor) or p.shape != v.shape:
            raise RuntimeError(f"{where}: Expected primals and tangents to be Tensors of the same shape, got "
                               f"{getattr(p, 'shape', type(p).__name__)} and {getattr(v, 'shape', type(v).__name__)}")
    level = Level(where, list(primals))
    with enable_grad():
        res = func(*level.trees)
    out, aux = _split_aux(where, res, has_aux)
    outs, spec = _tensor_leaves(where, out)
    # (an integer output has no tangent but zeros, as torch's)
    us = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=o.dtype.kind == "f") for o in outs]
    live = [i for i, o in enumerate(outs) if o.requires_grad]
    jv = [Tensor(np.zeros(o.shape, o.dtype)) for o in outs]
    if live:
        gs = level.grads([outs[i] for i in live], [us[i] for i in live], True)  # J^T u, one per primal leaf
        pairs = [(g, v) for g, v in zip(gs, vs) if g.requires_grad]
        if pairs:
            with enable_grad():
                dot = sum(((g * v).sum() for g, v in pairs), Tensor(np.zeros((), outs[0].dtype)))
            tangents = level.outer and any(v.requires_grad for _, v in pairs)  # (J v differentiated w.r.t. v)
            found = _ag.grad([dot], [us[i] for i in live], allow_unused=True,
                             create_graph=tangents or level.needs_graph([outs[i] for i in live]))
            for i, g in zip(live, found):
                if g is not None:
                    jv[i] = level.result(g)
    result = unflatten(spec, [level.result(o) for o in outs])
    jvp_out = unflatten(spec, jv)
    if has_aux:
        return result, jvp_out, tree_map(level.result, aux)
    return result, jvp_out


def _stacked(where: str, name: str, ts: list) -> Tensor:
    rg = {t.requires_grad for t in ts}
    if len(rg) != 1:
        raise RuntimeError(f"{where}: Expected {name} from each model to have the same .requires_grad")
    shapes = {tuple(t.shape) for t in ts}
    if len(shapes) != 1:
        raise RuntimeError(f"{where}: {name} has different shapes in the models: {sorted(shapes)}")
    with no_grad():
        out = stack([t.detach() for t in ts])
    return out.requires_grad_() if rg == {True} else out


def stack_module_state(models: Sequence[Module]) -> Tuple[dict, dict]:
    """``(params, buffers)``: for each parameter / buffer name of like models (the same
    class and train/eval mode), the models' tensors stacked along a new axis 0, as new
    leaves (the parameters require grad when the models' do)."""
    where = "stack_module_state"
    models = list(models)
    if not models:
        raise RuntimeError(f"{where}: Expected at least one model, got 0.")
    if not all(isinstance(m, Module) for m in models):
        raise TypeError(f"{where}: expected Modules, got {[type(m).__name__ for m in models]}")
    if len({m.training for m in models}) != 1:
        raise RuntimeError(f"{where}: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError(f"{where}: Expected all models to be of the same class.")
    states = []
    for kind in ("named_parameters", "named_buffers"):
        named = [dict(getattr(m, kind)()) for m in models]
        keys = list(named[0])
        for i, d in enumerate(named):
            if list(d) != keys:
                raise RuntimeError(f"{where}: model {i} has {kind[6:]} {list(d)}, model 0 has {keys}")
        states.append({k: [d[k] for d in named] for k in keys})
    for state in states:  # every check before anything is made
        for k, ts in state.items():
            if len({tuple(t.shape) for t in ts}) != 1 or len({t.requires_grad for t in ts}) != 1:
                _stacked(where, k, ts)
    params, buffers = ({k: _stacked(where, k, ts) for k, ts in state.items()} for state in states)
    return params, buffers
