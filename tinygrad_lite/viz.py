"""Pictures and traces of a computation graph: what was computed, and how backward ran.

* ``draw_graph(root)`` builds a Graphviz ``Digraph`` of the graph that produced ``root``
  (a ``Tensor`` or a ``Value``): one box per value (name, op, shape, dtype, data and grad
  summaries, ``grad_sample`` shape), one ellipse per op, colours for parameters, inputs,
  intermediates and the output, anything holding a NaN or an Inf in red. Large graphs stay
  readable: past ``max_nodes`` values, long chains of single-input steps are collapsed into
  one "hidden" box, and with a ``module`` the parameters of each layer and the ops that use
  them are grouped in one frame.
* ``save(graph_or_root, path)`` writes SVG / PNG / PDF with Graphviz's ``dot`` program, or
  the DOT source (with a warning saying how to install Graphviz) when ``dot`` is missing.
* ``trace_backward(root)`` runs backward and prints each step: the node, its local
  derivative rule with the numbers, and the gradient it sends to each parent.

Building a ``Digraph`` needs the ``graphviz`` Python package (imported only when a picture
is drawn); rendering it needs the ``dot`` program. In Jupyter a ``Digraph`` displays itself.

Unnamed values are called ``v0``, ``v1``, ... in the order of a parents-first walk of the
whole graph (constants included); pictures and traces of the same graph use the same names.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO, Union

import numpy as np

from .graph import toposort

if TYPE_CHECKING:
    import graphviz

__all__ = ["draw_graph", "save", "save_graph", "trace_backward", "explore", "GraphvizNotFoundWarning", "COLORS"]

# Fill colours of the node kinds (also shown in the legend).
COLORS = {
    "parameter": "#cfe2ff",      # leaf with requires_grad (a module's parameter when a module is given)
    "input": "#e9ecef",          # leaf without grad, or batched leaf (data)
    "intermediate": "#ffffff",   # computed by an op
    "output": "#c3f0c8",         # the root
    "op": "#fff3bf",             # an op node
    "nonfinite": "#ffb3b3",      # NaN or Inf in data, grad or grad_sample
    "hidden": "#f1f3f5",         # a collapsed chain
    "note": "#fff9db",           # the note saying how much was hidden
}
_LEGEND = [
    ("parameter", "parameter\n(leaf, requires grad)"),
    ("input", "input\n(no grad, or batched)"),
    ("intermediate", "intermediate"),
    ("output", "output (root)"),
    ("op", "op"),
    ("nonfinite", "NaN / Inf"),
]
_RENDER_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps")
_SOURCE_FORMATS = ("dot", "gv")
_INSTALL_HELP = ("install Graphviz (Debian/Ubuntu: 'sudo apt-get install graphviz', "
                 "Fedora: 'sudo dnf install graphviz', macOS: 'brew install graphviz', "
                 "conda: 'conda install -c conda-forge graphviz', Windows: 'winget install graphviz'; "
                 "'dot' must then be on PATH)")


class GraphvizNotFoundWarning(UserWarning):
    """Graphviz's ``dot`` program is missing: ``save`` wrote the DOT source instead."""


# ------------------------------------------------------------------------------ walking ----
def _walk(root: Any) -> list:
    """Every node reachable from ``root`` (constants included), parents first, first
    parent's subgraph before the second's: the walker's ``toposort(root, every=True)``."""
    return toposort(root, every=True)


def _param_names(module: Any) -> dict:
    """id(parameter) -> dotted name, from ``module.named_parameters()``."""
    if module is None:
        return {}
    return {id(p): name for name, p in module.named_parameters()}


def _own_name(node: Any, pnames: dict) -> str:
    """The name a user gave: module parameter name, else ``name`` / ``label``, else ''."""
    n = pnames.get(id(node))
    if n:
        return n
    return getattr(node, "name", None) or ""


def _display_names(order: list, pnames: dict) -> dict:
    """id(node) -> display name (the node's own name, else ``v<k>``)."""
    return {id(n): (_own_name(n, pnames) or f"v{k}") for k, n in enumerate(order)}


# ------------------------------------------------------------------------------ numbers ----
def _num(x: Any, digits: int = 4) -> str:
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
        return _num(a[()], digits)
    return "[" + ", ".join(_nested(sub, digits) for sub in a) + "]"


def _summary(x: Any, digits: int = 4, small: int = 6) -> str:
    """The numbers themselves for up to ``small`` elements, else shape and min/mean/max
    (over the finite entries)."""
    if x is None:
        return "None"
    if isinstance(x, (int, float)):
        return _num(x, digits)
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
    return f"{a.shape} min {_num(lo, digits)} mean {_num(mean, digits)} max {_num(hi, digits)}"


def _nonfinite(x: Any) -> str:
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


def _problems(node: Any) -> list:
    """Lines such as 'NaN in grad' for the non-finite parts of a node."""
    out = []
    for what in ("data", "grad", "grad_sample"):
        bad = _nonfinite(getattr(node, what, None))
        if bad:
            out.append(f"{bad} in {what}")
    return out


def _const(node: Any) -> Optional[Any]:
    """The Python-number constant folded into an op (``x * 3`` keeps 3 in ``_ctx``), or None."""
    c = node._ctx
    if isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, (bool, np.bool_)):
        return c
    return None


# ------------------------------------------------------------------------------ drawing ----
def _import_graphviz() -> Any:
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("tinygrad_lite.viz needs the 'graphviz' Python package to draw graphs: "
                          "pip install graphviz (rendering also needs Graphviz's 'dot' program)") from e
    return graphviz


def _esc(s: str) -> str:
    """Text for a DOT label: backslashes kept literal (line breaks are added as ``\\n``)."""
    return s.replace("\\", "\\\\")


def _kind(node: Any, root: Any, pnames: dict, have_module: bool) -> str:
    if node is root:
        return "output"
    if node._op is not None:
        return "intermediate"
    if have_module:
        return "parameter" if id(node) in pnames else "input"
    if node.requires_grad and not getattr(node, "batched", False):
        return "parameter"
    return "input"


def _collapse(order: list, root: Any, max_nodes: Optional[int], pnames: dict) -> tuple:
    """Choose the chains to hide so that at most ``max_nodes`` values stay visible.

    A node can be hidden when it is an intermediate (not the root) with exactly one parent,
    used by exactly one op, without a name of its own and without NaN/Inf. A chain is a
    maximal run of such nodes; collapsing it keeps its two ends and hides the rest. The
    longest chains are collapsed first, until the graph fits (or no chain is left).

    Returns (hidden: dict id(node) -> chain index, chains: list of (first, last, n_hidden, ops)).
    """
    n = len(order)
    if max_nodes is None or n <= max_nodes:
        return {}, []
    uses: dict = {}
    for node in order:
        for p in node._parents:
            k = id(p)
            uses[k] = uses.get(k, 0) + 1
    chain_of: dict = {}
    chains: list = []
    for node in order:
        ps = node._parents
        if (node._op is None or node is root or len(ps) != 1 or uses.get(id(node), 0) != 1
                or _own_name(node, pnames) or _problems(node)):
            continue
        k = id(ps[0])
        if k in chain_of:
            c = chain_of[k]
            chains[c].append(node)
        else:
            c = len(chains)
            chains.append([node])
        chain_of[id(node)] = c
    hidden: dict = {}
    kept: list = []
    excess = n - max_nodes
    for c in sorted(range(len(chains)), key=lambda i: -len(chains[i])):
        if excess <= 0:
            break
        run = chains[c]
        if len(run) < 3:
            break
        ci = len(kept)
        ops_seen: dict = {}
        for node in run[1:-1]:
            hidden[id(node)] = ci
            ops_seen[node._op.name] = None
        kept.append((run[0], run[-1], len(run) - 2, list(ops_seen)))
        excess -= len(run) - 2
    return hidden, kept


def draw_graph(root: Any, show_data: bool = True, show_grad: bool = True, module: Any = None,
               max_nodes: Optional[int] = 200, cluster_modules: bool = True, legend: bool = True,
               rankdir: str = "LR") -> "graphviz.Digraph":
    """A ``graphviz.Digraph`` of the graph that produced ``root`` (a ``Tensor`` or a ``Value``).

    Values are boxes: name (parameter names such as ``0.weight`` from
    ``module.named_parameters()`` when ``module`` is given; else the tensor's ``name`` or
    the Value's ``label``; else ``v<k>``), kind or op, shape and dtype (``batched`` when
    axis 0 indexes samples), then with ``show_data`` / ``show_grad`` the data and grad (the
    numbers for at most 6 elements, else min/mean/max) and the ``grad_sample`` shape. Ops
    are ellipses (a folded Python-number constant is shown as ``c = ...``; hover for the
    derivative rule in SVG); edges go parent value -> op -> output value. Inputs that do
    not require grad are drawn too.

    Colours (see ``COLORS`` and the legend): parameters (leaves with requires_grad, not
    batched; with a ``module``, exactly its parameters), inputs (other leaves), intermediates,
    the output (``root``). A NaN or Inf in data, grad or grad_sample makes the box red and
    says so (``NaN in grad``).

    With more than ``max_nodes`` values (None: no limit), long chains of single-input
    intermediate steps are collapsed into a dashed "... N nodes hidden" box and a note says
    how many values were hidden in all; named nodes and nodes with NaN/Inf are never hidden.

    With a ``module`` and ``cluster_modules``, each module that owns parameters gets a frame
    holding its parameters, every op that takes one of them as a direct input (e.g. the
    fused ``linear`` node) and that op's output. Ops without parameters (activations,
    losses) stay outside the frames.

    Building the Digraph needs only the ``graphviz`` Python package; ``save`` (or Jupyter's
    display) renders it with Graphviz's ``dot`` program.
    """
    gv = _import_graphviz()
    if not hasattr(root, "_parents") or not hasattr(root, "data"):
        raise TypeError(f"draw_graph: expected a Tensor or a Value, got {type(root).__name__}")
    order = _walk(root)
    pnames = _param_names(module)
    names = _display_names(order, pnames)
    index = {id(nd): k for k, nd in enumerate(order)}
    hidden, chains = _collapse(order, root, max_nodes, pnames)

    # module frames: parameter -> module path; op (and its output) -> module of a parameter input
    frame_of: dict = {}
    frames: dict = {}
    if module is not None and cluster_modules:
        mods = dict(module.named_modules())
        path_of = {pid: (name.rsplit(".", 1)[0] if "." in name else "") for pid, name in pnames.items()}
        for nd in order:
            k = id(nd)
            if k in hidden:
                continue
            if k in path_of:
                frame_of[k] = path_of[k]
            elif nd._op is not None:
                for p in nd._parents:
                    if id(p) in path_of:
                        frame_of[k] = path_of[id(p)]
                        break
            path = frame_of.get(k)
            if path is not None and path not in frames:
                m = mods.get(path, module)
                frames[path] = f"{path}: {type(m).__name__}" if path else type(m).__name__

    g = gv.Digraph(name="tinygrad_lite",
                   graph_attr={"rankdir": rankdir, "fontsize": "10"},
                   node_attr={"fontsize": "10", "style": "filled"},
                   edge_attr={"arrowsize": "0.7"})
    by_frame: dict = {None: []}
    for path in frames:
        by_frame[path] = []
    have_module = module is not None

    for nd in order:
        k = id(nd)
        if k in hidden:
            continue
        i = index[k]
        kind = _kind(nd, root, pnames, have_module)
        op = nd._op
        lines = [names[k]]
        if op is None:
            lines.append(kind)
        else:
            lines.append(f"op: {op.name}" + (" (output)" if nd is root else ""))
        dtype = getattr(nd, "dtype", "")
        shape_line = f"shape {tuple(getattr(nd, 'shape', ()))} {dtype}"
        if getattr(nd, "batched", False):
            shape_line += ", batched"
        lines.append(shape_line)
        if show_data:
            lines.append(f"data: {_summary(nd.data)}")
        if show_grad:
            lines.append(f"grad: {_summary(nd.grad)}")
        gs = getattr(nd, "grad_sample", None)
        if gs is not None:
            lines.append(f"grad_sample: shape {tuple(np.shape(gs))}")
        bad = _problems(nd)
        lines.extend(bad)
        attrs = {"shape": "box", "fillcolor": COLORS[kind]}
        if bad:
            attrs.update(fillcolor=COLORS["nonfinite"], color="red", penwidth="2.5")
        if kind == "output" and not bad:
            attrs["penwidth"] = "2"
        frame = frame_of.get(k)
        by_frame[frame].append((f"v{i}", "\\n".join(_esc(s) for s in lines), attrs))
        if op is not None:
            c = _const(nd)
            label = op.name if c is None else f"{op.name}\\nc = {_num(c)}"
            oattrs = {"shape": "ellipse", "fillcolor": COLORS["op"]}
            rule = getattr(op, "rule", "")
            if rule:
                oattrs["tooltip"] = rule
            by_frame[frame].append((f"o{i}", _esc(label) if c is None else label, oattrs))

    for fi, (frame, items) in enumerate(by_frame.items()):
        if frame is None:
            for name, label, attrs in items:
                g.node(name, label=label, **attrs)
            continue
        with g.subgraph(name=f"cluster_module_{fi}") as sub:
            sub.attr(label=_esc(frames[frame]), style="rounded,dashed", color="#868e96", fontsize="10")
            for name, label, attrs in items:
                sub.node(name, label=label, **attrs)

    # collapsed chains
    for ci, (first, _last, n_hidden, ops_names) in enumerate(chains):
        shown = ", ".join(ops_names[:4]) + (", ..." if len(ops_names) > 4 else "")
        g.node(f"h{ci}", label=f"... {n_hidden} nodes hidden ...\\nops: {_esc(shown)}", shape="box",
               style="filled,dashed", fillcolor=COLORS["hidden"])
        g.edge(f"v{index[id(first)]}", f"h{ci}")

    # edges
    for nd in order:
        k = id(nd)
        if k in hidden or nd._op is None:
            continue
        i = index[k]
        for p in nd._parents:
            pk = id(p)
            src = f"h{hidden[pk]}" if pk in hidden else f"v{index[pk]}"
            g.edge(src, f"o{i}")
        g.edge(f"o{i}", f"v{i}")

    if chains:
        n_hidden = len(hidden)
        g.node("note", label=(f"{n_hidden} of {len(order)} values hidden\\n({len(chains)} chain(s) of "
                              f"single-input steps collapsed; max_nodes={max_nodes})"),
               shape="note", fillcolor=COLORS["note"])
    elif max_nodes is not None and len(order) > max_nodes:
        g.node("note", label=(f"{len(order)} values, over max_nodes={max_nodes},\\n"
                              "but no long chain of single-input steps to collapse"),
               shape="note", fillcolor=COLORS["note"])

    if legend:
        with g.subgraph(name="cluster_legend") as lg:
            lg.attr(label="legend", style="rounded", color="#adb5bd", fontsize="10")
            prev = None
            for kind, text in _LEGEND:
                attrs = {"shape": "ellipse" if kind == "op" else "box", "fillcolor": COLORS[kind]}
                if kind == "nonfinite":
                    attrs["color"] = "red"
                lg.node(f"legend_{kind}", label=text.replace("\n", "\\n"), **attrs)
                if prev is not None:
                    lg.edge(prev, f"legend_{kind}", style="invis")
                prev = f"legend_{kind}"
    return g


# ------------------------------------------------------------------------------ saving -----
def _is_digraph(obj: Any) -> bool:
    return hasattr(obj, "source") and hasattr(obj, "pipe")


def save(graph: Any, path: Union[str, Path], format: Optional[str] = None, **draw_kwargs: Any) -> str:
    """Render ``graph`` (a Digraph from ``draw_graph``, or a Tensor / Value to draw with
    ``draw_kwargs``) to ``path`` and return the path written.

    ``format`` is ``svg`` (default), ``png``, ``pdf``, ... or ``dot`` (the source only); when
    it is None it is taken from ``path``'s suffix, else ``svg``. The suffix is appended to
    ``path`` when missing. Without Graphviz's ``dot`` program the DOT source is written to
    the same path with the suffix ``.dot`` instead, a ``GraphvizNotFoundWarning`` says how
    to install Graphviz, and that ``.dot`` path is returned.
    """
    g = graph if _is_digraph(graph) else draw_graph(graph, **draw_kwargs)
    p = Path(path)
    suffix = p.suffix[1:].lower()
    if format is None:
        format = suffix if suffix in _RENDER_FORMATS + _SOURCE_FORMATS else "svg"
    format = format.lower()
    out = p if suffix == format else p.with_name(p.name + "." + format)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    if format in _SOURCE_FORMATS:
        out.write_text(g.source, encoding="utf-8")
        return str(out)
    gv = _import_graphviz()
    try:
        data = g.pipe(format=format)
    except gv.ExecutableNotFound:
        dot_path = out.with_suffix(".dot")
        dot_path.write_text(g.source, encoding="utf-8")
        warnings.warn(f"Graphviz's 'dot' program was not found, so {out} was not rendered; the DOT source "
                      f"was written to {dot_path} instead. To get the picture, {_INSTALL_HELP}, then run: "
                      f"dot -T{format} {dot_path} -o {out}", GraphvizNotFoundWarning, stacklevel=2)
        return str(dot_path)
    out.write_bytes(data)
    return str(out)


save_graph = save


# ------------------------------------------------------------------------------ tracing ----
def _expr(node: Any, names: dict) -> str:
    """The op applied to the parents' names: ``a * b``, ``x + 3``, ``tanh(v2)``."""
    name = node._op.name
    ps = [names[id(p)] for p in node._parents]
    c = _const(node)
    cs = _num(c, 6) if c is not None else "c"
    op = node._op
    sym, rsym = getattr(op, "symbol", ""), getattr(op, "rsymbol", "")
    if sym and len(ps) == 2:
        return f"{ps[0]} {sym} {ps[1]}"
    if sym and len(ps) == 1 and c is not None:
        return f"{ps[0]} {sym} {cs}"
    if rsym and len(ps) == 1:
        return f"{cs} {rsym} {ps[0]}"
    args = ps + ([cs] if c is not None else [])
    return f"{name}({', '.join(args)})"


def _with_numbers(rule: str, local: list, fmt: Callable[[Any], str], wrt: list) -> str:
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


def trace_backward(root: Any, file: Optional[TextIO] = None, module: Any = None, gradient: Any = None,
                   max_steps: Optional[int] = 200) -> list:
    """Run ``root.backward()`` and print (to ``file``, default stdout) and return one entry
    per step of the reverse sweep, in the order the walker visits the nodes.

    For an op node (three lines)::

        [1] y = a * b = -6.0; dy/dy = 1.0
            *: d(a*b)/da = b = -3.0, d(a*b)/db = a = 2.0
            sends: a += 1.0 * -3.0 = -3.0, b += 1.0 * 2.0 = 2.0

    the node with its inputs and value and the gradient it received; the op's local
    derivative rule with the numbers (for tensors shown for elementwise ops and reductions
    to a scalar); the gradient sent to each parent (for tensors already summed to the
    parent's shape; inputs without grad get none). For a leaf (one line)::

        [2] a = 2.0 (leaf); dy/da = -3.0; a.grad += -3.0

    Arrays of at most 6 elements are shown in full, larger ones as min/mean/max. Names are
    the nodes' own (``module`` parameter names when given), else ``v<k>`` as in
    ``draw_graph``. Grads are filled as by ``backward()``, except that a traced Tensor
    backward does not fill ``grad_sample``. ``gradient`` is passed to ``Tensor.backward``.
    Past ``max_steps`` steps the rest are counted, not shown.
    """
    from .batchstate import fit
    from .tensor import Tensor

    out = sys.stdout if file is None else file
    is_tensor = isinstance(root, Tensor)
    order = _walk(root)
    names = _display_names(order, _param_names(module))
    rname = names[id(root)]
    lines: list = []
    step = [0]
    skipped = [0]

    def emit(s: str) -> None:
        lines.append(s)
        print(s, file=out)

    def show(x: Any) -> str:
        return _summary(x, 6)

    def hook(node: Any, g: Any, grads: tuple) -> None:
        step[0] += 1
        if max_steps is not None and step[0] > max_steps:
            skipped[0] += 1
            return
        nm = names[id(node)]
        d = f"d{rname}/d{nm} = {show(g)}"
        if node._op is None:
            emit(f"[{step[0]}] {nm} = {show(node.data)} (leaf); {d}; {nm}.grad += {show(g)}")
            return
        op = node._op
        emit(f"[{step[0]}] {nm} = {_expr(node, names)} = {show(node.data)}; {d}")
        local: list = []
        if not is_tensor:
            local = list(op.vjp(node, 1.0))
        elif getattr(op, "local", False) and (not getattr(op, "reduces", False) or node.data.ndim == 0):
            local = list(op.vjp(node, np.ones_like(node.data)))
        wrt = [f"d{nm}/d{names[id(p)]}" for p in node._parents]
        rule = _with_numbers(getattr(op, "rule", ""), local, show, wrt)
        emit(f"    {op.name}: {rule}")
        sends = []
        for i, (p, gp) in enumerate(zip(node._parents, grads)):
            pn = names[id(p)]
            if gp is None or not p.requires_grad:
                sends.append(f"{pn}: none (no grad)")
            elif is_tensor:
                sends.append(f"{pn} += {show(fit(p, gp))}")
            else:
                sends.append(f"{pn} += {show(g)} * {show(local[i])} = {show(gp)}")
        emit("    sends: " + ", ".join(sends))

    tr: Callable = hook
    if is_tensor:
        root.backward(gradient, trace=tr)
    else:
        if gradient is not None:
            raise TypeError("trace_backward: a Value's backward takes no gradient")
        root.backward(trace=tr)
    if skipped[0]:
        emit(f"... {skipped[0]} more steps not shown (max_steps={max_steps})")
    return lines


def explore(root: Any, module: Any = None, **kwargs: Any) -> Any:
    """The interactive explorer of the graph behind ``root`` (see ``tinygrad_lite.explore``):
    an ``Explorer`` with ``_repr_html_()`` for notebooks and ``.save(path)``."""
    from .explore import explore as _explore
    return _explore(root, module, **kwargs)
