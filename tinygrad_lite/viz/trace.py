"""``trace_backward``: run backward and print each step of the chain rule, with the numbers.

For each node the reverse sweep visits (the graph walker's order) the trace shows the node
with its inputs, its value and the gradient it received; the op's local derivative rule
with the numbers; and the gradient sent to each parent. For a batched graph it also shows,
on each edge that carries per-sample gradients into the parameter side, their shape
``(B, *p.shape)`` next to the summed gradient.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional, TextIO

import numpy as np

from ..batchstate import BATCHED as _BATCHED
from ..batchstate import MIXED as _MIXED
from ..batchstate import STAT as _STAT
from ..graph import toposort
from .common import display_names, expr, param_names, summary, walk


def with_numbers(rule: str, local: list, fmt: Callable[[Any], str], wrt: list) -> str:
    """``rule`` with each derivative's value appended: ``d(a*b)/da = b = -3.0``.

    ``local`` holds one local derivative per parent (None: none). When the rule has one
    ``d.../d...`` clause per parent, each clause gets its number (unless the clause already
    says it, like ``= 1``); otherwise the numbers follow the rule, named by ``wrt``
    (``dy/dx`` per parent).
    """
    parts = rule.split(", ") if rule else []
    dpos = [i for i, s in enumerate(parts) if "/d" in s]
    if local and len(dpos) == len(local):
        for i, val in zip(dpos, local):
            if val is None:
                continue
            rhs = parts[i].rsplit(" = ", 1)[-1]
            try:
                same = bool(np.all(np.asarray(val) == float(rhs)))
            except ValueError:
                same = False
            if not same:
                parts[i] = f"{parts[i]} = {fmt(val)}"
        return ", ".join(parts)
    nums = ", ".join(f"{d} = {fmt(v)}" for d, v in zip(wrt, local) if v is not None)
    if not parts:
        return nums
    return f"{rule}; {nums}" if nums else rule


def _holds(g: Any) -> bool:
    """True when a leaf's gradient is set and not all zero (NaN counts as set)."""
    if g is None:
        return False
    if isinstance(g, float):
        return g != 0.0
    return bool(np.any(np.asarray(g) != 0))


def _stale_leaves(root: Any, order: list, names: dict) -> list:
    """(name, leaf) of the leaves of ``root``'s graph (those its backward reaches) that
    already hold a gradient, in picture order."""
    reached = {id(n) for n in toposort(root)}
    return [(names[id(n)], n) for n in order if n._op is None and id(n) in reached and _holds(n.grad)]


_KEPT = ("_grad", "_lazy", "_ps", "_gs", "_gsnorm")  # what a Tensor's zero_grad() sets to None


def _clear(leaf: Any) -> Any:
    """Clear ``leaf``'s gradient; returns what it held, for ``_restore``."""
    if hasattr(leaf, "zero_grad") and not isinstance(leaf.grad, float):
        held = tuple(getattr(leaf, k, None) for k in _KEPT)
        leaf.zero_grad()  # a Tensor: grad and everything per-sample (set to None, no array changed)
        return held
    held = leaf.grad
    leaf.grad = 0.0
    return held


def _restore(leaf: Any, held: Any) -> None:
    """Put back what ``_clear`` took (a backward that failed after the clearing)."""
    if isinstance(held, tuple):
        for k, v in zip(_KEPT, held):
            setattr(leaf, k, v)
    else:
        leaf.grad = held


def trace_backward(root: Any, file: Optional[TextIO] = None, module: Any = None, gradient: Any = None,
                   max_steps: Optional[int] = 200, zero_grad: bool = False) -> list:
    """Run ``root.backward()`` and print (to ``file``, default stdout) and return one entry
    per step of the reverse sweep, in the order the walker visits the nodes.

    For an op node (three lines)::

        [1] y = a * b = -6.0; dy/dy = 1.0
            mul: d(a*b)/da = b = -3.0, d(a*b)/db = a = 2.0
            sends: a += 1.0 * -3.0 = -3.0, b += 1.0 * 2.0 = 2.0

    the node with its inputs and value and the gradient it received; the op's local
    derivative rule with the numbers (for tensors shown for elementwise ops and reductions
    to a scalar); the gradient sent to each parent (for tensors already summed to the
    parent's shape; inputs without grad get none). For a leaf (one line)::

        [2] a = 2.0 (leaf); dy/da = -3.0; a.grad += -3.0

    In a batched graph (a cost over a batch of B samples) the gradient a batched node sends
    into the parameter side is the sum of B per-sample gradients; such edges, and the edges
    that carry them on to the parameters, say ``(per sample: (B, *p.shape))``, and so do
    the parameters' leaf lines: the backward keeps each sample's gradient (``grad_sample``).

    Arrays of at most 6 elements are shown in full, larger ones as min/mean/max. Names are
    the nodes' own (``module`` parameter names when given), else ``v<k>`` as in
    ``draw_graph``. Grads (and per-sample gradients) are filled as by ``backward()``.
    ``gradient`` is passed to ``Tensor.backward``. Past ``max_steps`` steps the rest are
    counted, not shown.

    Gradients accumulate in leaves, so tracing a graph whose leaves already hold gradients
    (say after an earlier ``backward()`` of the same graph) would silently double them:
    that raises ``RuntimeError`` (nothing changed) unless ``zero_grad=True``, which clears
    those leaves first and says so in the first line of the trace (once the backward has
    passed its own checks: a backward that refuses the graph leaves every gradient as it was).
    """
    from ..batchstate import fit
    from ..tensor import Tensor

    if not isinstance(zero_grad, bool):
        raise TypeError(f"trace_backward: zero_grad must be a bool, got {zero_grad!r}")
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"trace_backward: file must be a writable text stream or None, got {type(file).__name__}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)):
        raise TypeError(f"trace_backward: max_steps must be an int or None, got {max_steps!r}")
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"trace_backward: max_steps must be >= 0 (or None: no limit), got {max_steps!r}")
    if not hasattr(root, "_parents") or not hasattr(root, "backward"):
        raise TypeError(f"trace_backward: expected a Tensor or a Value, got {type(root).__name__}")
    is_tensor = isinstance(root, Tensor)
    if not is_tensor and gradient is not None:
        raise TypeError("trace_backward: a Value's backward takes no gradient")
    out = sys.stdout if file is None else file
    order = walk(root)
    names = display_names(order, param_names(module))
    stale = _stale_leaves(root, order, names)
    if stale and not zero_grad:
        listed = ", ".join(nm for nm, _ in stale[:6]) + (f" and {len(stale) - 6} more" if len(stale) > 6 else "")
        raise RuntimeError(
            f"trace_backward: {listed} already hold{'s a gradient' if len(stale) == 1 else ' gradients'} (from an "
            "earlier backward, perhaps of this very graph); tracing adds to them, so the gradients would silently "
            "double. "
            "Clear them first (model.zero_grad() or p.zero_grad() for Tensors; root.zero_grad() or v.grad = 0.0 "
            "for Values), or call trace_backward(..., zero_grad=True) to clear them here")
    rname = names[id(root)]
    lines: list = []
    step = [0]
    skipped = [0]
    per_sample = is_tensor and bool(root._bs & (_BATCHED | _STAT)) and not root._bs & _MIXED
    carried: dict = {}  # id(parameter-side node) -> B, when per-sample gradients flow into it

    def emit(s: str) -> None:
        lines.append(s)
        print(s, file=out)

    def show(x: Any) -> str:
        return summary(x, 6)

    cleared: list = []

    def clear_stale() -> None:
        # called at the first step of the sweep, once backward's own checks passed (a root
        # needing gradient=, values changed in place, ...): a refused trace clears nothing, and
        # a sweep that fails later (detect_anomaly) puts the cleared gradients back
        for _, leaf in stale:
            cleared.append((leaf, _clear(leaf)))
        emit(f"zero_grad=True: cleared the gradients already held by {', '.join(nm for nm, _ in stale)}")

    def hook(node: Any, g: Any, grads: tuple) -> None:
        if stale and step[0] == 0:
            clear_stale()
        step[0] += 1
        if max_steps is not None and step[0] > max_steps:
            skipped[0] += 1
            return
        nm = names[id(node)]
        d = f"d{rname}/d{nm} = {show(g)}"
        if node._op is None:
            extra = f" (per sample: {(carried[id(node)],) + node.data.shape})" if id(node) in carried else ""
            emit(f"[{step[0]}] {nm} = {show(node.data)} (leaf); {d}; {nm}.grad += {show(g)}{extra}")
            return
        op = node._op
        emit(f"[{step[0]}] {nm} = {expr(node, names)} = {show(node.data)}; {d}")
        local: list = []
        if not is_tensor:
            local = list(op.vjp(node, 1.0))
        elif getattr(op, "local", False) and (not getattr(op, "reduces", False) or node.data.ndim == 0):
            local = list(op.vjp(node, np.ones_like(node.data)))
        wrt = [f"d{nm}/d{names[id(p)]}" for p in node._parents]
        rule = with_numbers(getattr(op, "rule", ""), local, show, wrt)
        emit(f"    {op.name}: {rule}")
        B = None
        if per_sample:
            B = node.data.shape[0] if node._bs & _BATCHED else carried.get(id(node))
        sends = []
        for i, (p, gp) in enumerate(zip(node._parents, grads)):
            pn = names[id(p)]
            if gp is None or not p.requires_grad:
                sends.append(f"{pn}: none (no grad)")
            elif is_tensor:
                s = f"{pn} += {show(fit(p, gp))}"
                if B is not None and not p._bs:
                    carried[id(p)] = B
                    s += f" (per sample: {(B,) + p.data.shape})"
                sends.append(s)
            else:
                sends.append(f"{pn} += {show(g)} * {show(local[i])} = {show(gp)}")
        emit("    sends: " + ", ".join(sends))

    tr: Callable = hook
    try:
        if is_tensor:
            root.backward(gradient, trace=tr)
        else:
            root.backward(trace=tr)
    except BaseException:
        for leaf, held in cleared:
            _restore(leaf, held)
        raise
    if skipped[0]:
        emit(f"... {skipped[0]} more steps not shown (max_steps={max_steps})")
    return lines
