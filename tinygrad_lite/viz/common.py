"""What pictures, traces and the explorer share: node kinds and colours, names, number summaries.

Unnamed values are called ``v0``, ``v1``, ... in the order of a parents-first walk of the
whole graph (constants included: ``toposort(root, every=True)``); pictures, traces and the
explorer of the same graph use the same names. With a ``module``, parameters take their
dotted names (``0.weight``, ``layers.1.neurons.2.w.0``): Tensors from
``module.named_parameters()``, and scalar-engine ``Value`` parameters from the module's
attributes (a Value, or a list / tuple / dict of Values, on any module of the tree).
"""

from __future__ import annotations

import math
import re
import weakref
from typing import Any, Iterator, Optional

import numpy as np

from ..graph import toposort

# Fill colours of the node kinds (also shown in the legend).
COLORS = {
    "parameter": "#cfe2ff",      # leaf with requires_grad (a module's parameter when a module is given)
    "input": "#e9ecef",          # leaf without grad, or batched leaf (data)
    "intermediate": "#ffffff",   # computed by an op
    "output": "#c3f0c8",         # the root
    "op": "#fff3bf",             # an op node
    "nonfinite": "#ffb3b3",      # NaN or Inf in data, grad or grad_sample; the failed op
    "hidden": "#f1f3f5",         # a collapsed chain
    "group": "#e7f5ff",          # the values computed inside one module call, drawn as one box
    "note": "#fff9db",           # the note saying how much was hidden
}


# ------------------------------------------------------------------------------ walking ----
def walk(root: Any) -> list:
    """Every node reachable from ``root`` (constants included), parents first, first
    parent's subgraph before the second's: the walker's ``toposort(root, every=True)``.
    The former node of a store that kept only the region it overwrote gets its values back
    (``formers.rebuild``), so a drawing shows them."""
    from ..formers import rebuild

    order = toposort(root, every=True)
    for node in order:
        if isinstance(getattr(node, "_internal", None), weakref.ref):  # (a hollow former node)
            rebuild(node)
    return order


def _values_in(name: str, v: Any) -> Iterator[tuple]:
    """(name, Value) for an attribute that is a Value or a list / tuple / dict of Values."""
    from ..value import Value

    if isinstance(v, Value):
        yield name, v
    elif isinstance(v, (list, tuple)):
        for i, item in enumerate(v):
            if isinstance(item, Value):
                yield f"{name}.{i}", item
    elif isinstance(v, dict):
        for k, item in v.items():
            if isinstance(item, Value):
                yield f"{name}.{k}", item


def _named_modules(module: Any) -> list:
    return list(module.named_modules()) if hasattr(module, "named_modules") else [("", module)]


def param_names(module: Any) -> dict:
    """id(parameter) -> dotted name: ``module.named_parameters()`` (Tensors), then the
    ``Value`` attributes of every module of the tree; for an object with only a
    ``parameters()`` method (micrograd style), ``parameters[k]`` (or the Value's label)."""
    if module is None:
        return {}
    names: dict = {}
    if hasattr(module, "named_parameters"):
        for name, p in module.named_parameters():
            names.setdefault(id(p), name)
    for mname, m in _named_modules(module):
        for aname, v in list(vars(m).items()) if hasattr(m, "__dict__") else []:
            for sub, val in _values_in(aname, v):
                names.setdefault(id(val), f"{mname}.{sub}" if mname else sub)
    if not names and hasattr(module, "parameters"):
        for k, p in enumerate(module.parameters()):
            names.setdefault(id(p), getattr(p, "name", "") or f"parameters[{k}]")
    return names


def owner_paths(module: Any, pnames: dict) -> dict:
    """id(parameter) -> dotted path of the module that holds it ('' for ``module`` itself):
    the longest module path that prefixes the parameter's name (so ``ws.0`` of a list
    attribute belongs to the module holding the list)."""
    if module is None:
        return {}
    paths = {name for name, _ in _named_modules(module)}
    out = {}
    for pid, name in pnames.items():
        path = name
        while "." in path:
            path = path.rsplit(".", 1)[0]
            if path in paths:
                break
        else:
            path = ""
        out[pid] = path
    return out


# characters no picture or page can carry as text: C0 controls other than tab and newline,
# DEL, and lone surrogates (not encodable as UTF-8)
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(s: str) -> str:
    """``s`` with control characters (but tab and newline), lone surrogates and U+FFFE / U+FFFF
    (which XML, hence SVG, refuses) written as Python escapes (``\\x00``, ``\\ud800``), so every
    renderer shows the name as text."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], s)


LABEL_CHARS = 256  # longest text line of a box (Graphviz before 2.44 refuses a label over 16384 characters)


def shorten(s: str, limit: int = LABEL_CHARS) -> str:
    """``s`` for a box of a picture: control characters escaped (``printable``), and a line
    longer than ``limit`` characters cut in the middle, saying how many were left out."""
    s = printable(s)
    if len(s) <= limit:
        return s
    head, tail = limit * 3 // 4, limit // 8
    return f"{s[:head]} ...({len(s) - head - tail} characters)... {s[-tail:]}"


def own_name(node: Any, pnames: dict) -> str:
    """The name a user gave: module parameter name, else ``name`` / ``label``, else ''
    (control characters written as escapes, see ``printable``; a name assigned as another
    type than ``str``, as ``x.name = 7``, is shown as its ``str``)."""
    n = pnames.get(id(node)) or getattr(node, "name", None)
    return "" if n is None else printable(n if isinstance(n, str) else str(n))


def display_names(order: list, pnames: dict) -> dict:
    """id(node) -> display name: the node's own name, else ``v<k>`` (with a ``'`` added
    while a user's name already says that, so an automatic name never repeats one)."""
    own = [own_name(n, pnames) for n in order]
    taken = set(own)
    out = {}
    for k, (n, name) in enumerate(zip(order, own)):
        if not name:
            name = f"v{k}"
            while name in taken:
                name += "'"
        out[id(n)] = name
    return out


def kind(node: Any, root: Any, pnames: dict, have_module: bool) -> str:
    """'output' (the root), 'intermediate' (computed by an op), 'parameter' or 'input'.

    With ``have_module`` a leaf is a parameter exactly when it is in ``pnames`` (data that
    requires grad, such as Value inputs, are inputs); otherwise when it requires grad and
    is not batched."""
    if node is root:
        return "output"
    if node._op is not None:
        return "intermediate"
    if have_module:
        return "parameter" if id(node) in pnames else "input"
    if node.requires_grad and not getattr(node, "batched", False):
        return "parameter"
    return "input"


# ------------------------------------------------------------------------------ numbers ----
def num(x: Any, digits: int = 4) -> str:
    """One number, short: ints as ints, floats with ``digits`` significant digits and a
    trailing ``.0`` when whole (``2.0``, ``-3.0``, ``0.7616``, ``nan``, ``inf``)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (complex, np.complexfloating)):
        return format(complex(x), f".{digits}g")
    s = format(float(x), f".{digits}g")
    if s.lstrip("-").isdigit():
        s += ".0"
    return s


def _nested(a: np.ndarray, digits: int) -> str:
    if a.ndim == 0:
        return num(a[()], digits)
    return "[" + ", ".join(_nested(sub, digits) for sub in a) + "]"


def summary(x: Any, digits: int = 4, small: int = 6) -> str:
    """The numbers themselves for up to ``small`` elements, else shape and min/mean/max
    (over the finite entries)."""
    if x is None:
        return "None"
    if isinstance(x, (int, float)):
        return num(x, digits)
    a = np.asarray(x)
    if a.size <= small:
        return _nested(a, digits) if a.size else f"[] (shape {a.shape})"
    if a.dtype.kind in "fc":
        fin = a[np.isfinite(a)]
        if fin.size == 0:
            return f"{a.shape} no finite entries"
        fin = fin.real if a.dtype.kind == "c" else fin
    elif a.dtype.kind in "iub":
        fin = a.astype(np.float64)
    else:
        return f"{a.shape} {a.dtype}"
    lo, mean, hi = fin.min(), fin.mean(dtype=np.float64), fin.max()
    return f"{a.shape} min {num(lo, digits)} mean {num(mean, digits)} max {num(hi, digits)}"


def nonfinite(x: Any) -> str:
    """'' when every entry is finite, else 'NaN', 'Inf' or 'NaN and Inf'."""
    if x is None:
        return ""
    if isinstance(x, float):
        if math.isfinite(x):
            return ""
        return "NaN" if x != x else "Inf"
    if isinstance(x, int):
        return ""
    a = np.asarray(x)
    if a.dtype.kind not in "fc" or a.size == 0:
        return ""
    if np.isfinite(a).all():
        return ""
    nan, inf = bool(np.isnan(a).any()), bool(np.isinf(a).any())
    return "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")


def problems(node: Any) -> list:
    """Lines such as 'NaN in grad' for the non-finite parts of a node."""
    out = []
    for what in ("data", "grad", "grad_sample"):
        try:
            val = getattr(node, what, None)
        except Exception:  # reading grad_sample of a graph that mixed samples raises
            continue
        bad = nonfinite(val)
        if bad:
            out.append(f"{bad} in {what}")
    return out


def const(node: Any) -> Optional[Any]:
    """The Python-number constant folded into an op (``x * 3`` keeps 3 in ``_ctx``), or None."""
    c = node._ctx
    if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_)):
        return c
    return None


def expr(node: Any, names: dict) -> str:
    """The op applied to the parents' names: ``a * b``, ``x + 3``, ``tanh(v2)``."""
    op = node._op
    ps = [names[id(p)] for p in node._parents]
    c = const(node)
    cs = num(c, 6) if c is not None else "c"
    sym, rsym = getattr(op, "symbol", ""), getattr(op, "rsymbol", "")
    if sym and len(ps) == 2:
        return f"{ps[0]} {sym} {ps[1]}"
    if sym and len(ps) == 1 and c is not None:
        return f"{ps[0]} {sym} {cs}"
    if rsym and len(ps) == 1:
        return f"{cs} {rsym} {ps[0]}"
    args = ps + ([cs] if c is not None else [])
    return f"{op.name}({', '.join(args)})"


def frame_path(nd: Any, path_of: dict, ran_in: dict) -> Optional[str]:
    """The module frame a node is drawn in: its own parameter's module, else (an op) the
    module it ran in, else the module of a parameter it consumes; None outside any."""
    path = path_of.get(id(nd))
    if path is None and nd._op is not None:
        path = ran_in.get(id(getattr(nd, "_mod", None)))
        if path is None:
            path = next((path_of[id(p)] for p in nd._parents if id(p) in path_of), None)
    return path
