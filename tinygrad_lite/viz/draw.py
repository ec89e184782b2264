"""``draw_graph``: a Graphviz picture of the graph that produced a value, or that led to a failure.

Building a ``Digraph`` needs the ``graphviz`` Python package (imported only when a picture
is drawn); rendering it (``save``, or Jupyter's display) needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

import numbers
import textwrap
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .collapse import collapse_chains, far_end, group_modules, module_paths, value_owners
from .common import (
    COLORS,
    const,
    display_names,
    frame_path,
    kind,
    num,
    owner_paths,
    param_names,
    problems,
    shorten,
    summary,
    walk,
)

if TYPE_CHECKING:
    import graphviz

_LEGEND = [
    ("parameter", "parameter\n(leaf, requires grad)"),
    ("input", "input\n(no grad, or batched)"),
    ("intermediate", "intermediate"),
    ("output", "output (root)"),
    ("op", "op"),
    ("nonfinite", "NaN / Inf"),
]


def import_graphviz() -> Any:
    """The ``graphviz`` package, or an ImportError saying how to install it."""
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("tinygrad_lite.viz needs the 'graphviz' Python package to draw graphs: "
                          "pip install graphviz (rendering also needs Graphviz's 'dot' program)") from e
    return graphviz


# dot's network-simplex and crossing-minimisation limits: one value shared by many ops (an
# RNN's weight) otherwise costs dot about a minute on a graph of 100 values
FAST_LAYOUT = {"nslimit": "1", "nslimit1": "1", "mclimit": "0.1"}


def esc(s: str) -> str:
    """Text for a DOT label: backslashes and ``&`` kept literal (dot would decode ``&lt;``;
    line breaks are added as ``\\n``), control characters written as escapes, a very long
    line cut in the middle (``shorten``)."""
    return shorten(s).replace("\\", "\\\\").replace("&", "&amp;")


# ------------------------------------------------------------------------------ failures ---
class _FailedOp:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rule = ""


class _Failure:
    """Stand-in node for an op whose forward raised: its operands are its parents."""

    requires_grad = False
    batched = False

    def __init__(self, exc: BaseException, operands: tuple) -> None:
        self.exc = exc
        self._parents = operands
        self._op = _FailedOp(str(getattr(exc, "op", None) or "op"))
        self._ctx = None
        self.data = None
        self.grad = None
        self.name = ""


def _check_args(**flags: Any) -> None:
    for name, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"draw_graph: {name} must be a bool, got {v!r}")


def _is_node(x: Any) -> bool:
    return hasattr(x, "_parents") and hasattr(x, "data") and hasattr(x, "_op")


def _from_exception(exc: BaseException) -> tuple:
    """(root node, node whose op is drawn red) for an exception raised by an op."""
    operands = getattr(exc, "operands", None)
    if operands is not None:
        operands = tuple(operands)
        if not all(_is_node(t) for t in operands):
            raise TypeError("draw_graph: the exception's .operands are not all Tensors or Values")
        f = _Failure(exc, operands)
        return f, f
    node = getattr(exc, "node", None)
    if node is not None and _is_node(node):
        return node, node
    raise TypeError(f"draw_graph: this {type(exc).__name__} carries no .operands: only an exception raised by "
                    "a tinygrad_lite op (a failing forward, or detect_anomaly) can be drawn")


def _failure_label(f: _Failure) -> str:
    msg = str(f.exc).strip().splitlines()[0] if str(f.exc).strip() else ""
    lines = [f"{f._op.name}: FAILED", type(f.exc).__name__]
    lines += textwrap.wrap(msg, 48)[:4]
    return "\\n".join(esc(s) for s in lines)


# ------------------------------------------------------------------------------ groups -----
def _group_label(grp: Any, path: Optional[str], pnames: dict, names: dict, users: dict, in_group: set,
                 root: Any, show_data: bool, show_grad: bool) -> tuple:
    """(label, any NaN/Inf inside) of a module group box."""
    ops = [nd for nd in grp.members if nd._op is not None]
    params = [nd for nd in grp.members if nd._op is None]
    outs = [nd for nd in ops if nd is not root and any(id(u) not in in_group for u in users.get(id(nd), ()))]
    kinds: dict = {}
    for nd in ops:
        kinds[nd._op.name] = None
    shown = ", ".join(list(kinds)[:4]) + (", ..." if len(kinds) > 4 else "")
    lines = [grp.title, f"{len(ops)} ops ({shown}); {len(outs)} output(s)"]

    def nums(nd: Any) -> str:
        parts = ([summary(nd.data)] if show_data else []) + ([f"grad {summary(nd.grad)}"] if show_grad else [])
        return ", ".join(parts)

    prefix = f"{path}." if path else ""
    for nd in params[:6]:
        nm = pnames.get(id(nd), names[id(nd)])
        nm = nm[len(prefix):] if prefix and nm.startswith(prefix) else nm
        lines.append(f"{nm} = {nums(nd)}" if show_data or show_grad else nm)
    if len(params) > 6:
        lines.append(f"... and {len(params) - 6} more parameters")
    if show_data or show_grad:
        for nd in outs[:3]:
            lines.append(f"out {names[id(nd)]}: {nums(nd)}")
        if len(outs) > 3:
            lines.append(f"... and {len(outs) - 3} more outputs")
    bad = sum(1 for nd in grp.members if problems(nd))
    if bad:
        lines.append(f"NaN/Inf in {bad} value(s) inside")
    return "\\n".join(esc(s) for s in lines), bool(bad)


# ------------------------------------------------------------------------------ drawing ----
def draw_graph(root: Any, show_data: bool = True, show_grad: bool = True, module: Any = None,
               max_nodes: Optional[int] = 200, cluster_modules: bool = True, legend: bool = True,
               rankdir: str = "LR") -> "graphviz.Digraph":
    """A ``graphviz.Digraph`` of the graph that produced ``root`` (a ``Tensor`` or a ``Value``),
    or, for an exception raised by a failing op (it carries ``.operands``), of the graph
    that led there, with the failed op as a red node whose parents are its operands.

    Values are boxes: name (parameter names such as ``0.weight`` when ``module`` is given;
    else the tensor's ``name`` or the Value's ``label``; else ``v<k>``), kind or op, shape
    and dtype (``batched`` when axis 0 indexes samples), then with ``show_data`` /
    ``show_grad`` the data and grad (the numbers for at most 6 elements, else min/mean/max)
    and the ``grad_sample`` shape. Ops are ellipses (a folded Python-number constant is
    shown as ``c = ...``; hover for the derivative rule in SVG); edges go parent value ->
    op -> output value. Inputs that do not require grad are drawn too.

    Colours (see ``COLORS`` and the legend): parameters (leaves with requires_grad, not
    batched; with a ``module``, exactly its parameters, Tensors and Values alike, so data
    Values are inputs), inputs (other leaves), intermediates, the output (``root``). A NaN
    or Inf in data, grad or grad_sample makes the box red and says so (``NaN in grad``).

    With more than ``max_nodes`` values (None: no limit) the picture is reduced until at
    most ``max_nodes`` values (a module box counting as one) remain: first Values built
    inside modules are grouped, one box per module (a neuron of a Value MLP: its op count,
    parameters and outputs), lifted to
    the enclosing module while still too big (with ``module``); then long chains of
    single-input steps collapse into a dashed "... N nodes hidden" box; last, the values
    beyond the ``max_nodes - 1`` boxes nearest the output become one "... N more values"
    box (a wide graph: a sum over many terms). A note says how much was grouped or hidden;
    named nodes and nodes with NaN/Inf are never hidden in a chain.

    With a ``module`` and ``cluster_modules``, each module gets a frame holding its
    parameters and the ops (and their outputs) that take one of them as a direct input
    (e.g. the fused ``linear`` node), or, for Values, that were computed inside it.
    """
    _check_args(show_data=show_data, show_grad=show_grad, cluster_modules=cluster_modules, legend=legend)
    if max_nodes is not None:
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral):
            raise TypeError(f"draw_graph: max_nodes must be an int or None, got {max_nodes!r}")
        if max_nodes < 1:
            raise ValueError(f"draw_graph: max_nodes must be >= 1 (or None: no limit), got {max_nodes!r}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'RL', 'TB' or 'BT', got {rankdir!r}")
    if module is not None and not (hasattr(module, "parameters") or hasattr(module, "named_parameters")):
        raise TypeError(f"draw_graph: module must be a Module (or an object with parameters()) or None, got "
                        f"{type(module).__name__}")
    gv = import_graphviz()
    failed = None
    if isinstance(root, BaseException):
        root, failed = _from_exception(root)
    elif not _is_node(root):
        raise TypeError(f"draw_graph: expected a Tensor or a Value (or an exception raised by an op), "
                        f"got {type(root).__name__}")
    order = walk(root)
    pnames = param_names(module)
    names = display_names(order, pnames)
    index = {id(nd): k for k, nd in enumerate(order)}
    owners = value_owners(order, module)
    have_module = module is not None or bool(owners)
    kind_names = pnames if module is not None else owners
    group_of, groups = group_modules(order, root, max_nodes, owners, module)
    n_boxes = len(order) - len(group_of) + len(groups)
    hidden, chains = collapse_chains(order, root, n_boxes - max_nodes if max_nodes is not None else 0, pnames,
                                     group_of)
    far = far_end(order, root, max_nodes, group_of, hidden)  # (a wide graph: what is still too much)
    paths = module_paths(module)

    # module frames: parameter -> its module; op (and its output) -> module it ran in (Values)
    # or module of a parameter input
    frame_of: dict = {}
    frames: dict = {}
    if module is not None and cluster_modules:
        mods = dict(module.named_modules()) if hasattr(module, "named_modules") else {"": module}
        path_of = owner_paths(module, pnames)
        for nd in order:
            k = id(nd)
            if k in hidden or k in group_of or k in far:
                continue
            path = frame_path(nd, path_of, paths)
            if path is None:
                continue
            frame_of[k] = path
            if path not in frames:  # (frames nest as their modules do: see frame() below)
                m = mods.get(path, module)
                frames[path] = f"{path}: {type(m).__name__}" if path else type(m).__name__

    g = gv.Digraph(name="tinygrad_lite", graph_attr={"rankdir": rankdir, "fontsize": "10", **FAST_LAYOUT},
                   node_attr={"fontsize": "10", "style": "filled"}, edge_attr={"arrowsize": "0.7"})
    by_frame: dict = {None: []}
    for path in frames:
        by_frame[path] = []

    for nd in order:
        k = id(nd)
        if k in hidden or k in group_of or k in far:
            continue
        i = index[k]
        frame = frame_of.get(k)
        if nd is failed and isinstance(nd, _Failure):
            by_frame[frame].append((f"o{i}", _failure_label(nd), {
                "shape": "ellipse", "fillcolor": COLORS["nonfinite"], "color": "red", "penwidth": "2.5"}))
            continue
        knd = kind(nd, root, kind_names, have_module)
        op = nd._op
        lines = [names[k], knd if op is None else f"op: {op.name}" + (" (output)" if nd is root else "")]
        shape_line = f"shape {tuple(getattr(nd, 'shape', ()))} {getattr(nd, 'dtype', '')}"
        if getattr(nd, "batched", False):
            shape_line += ", batched"
        lines.append(shape_line)
        if show_data:
            lines.append(f"data: {summary(nd.data)}")
        if show_grad:
            lines.append(f"grad: {summary(nd.grad)}")
        try:
            gs = getattr(nd, "grad_sample", None)
        except Exception:  # a graph that mixed samples: reading grad_sample raises
            gs = None
        if gs is not None:
            lines.append(f"grad_sample: shape {tuple(np.shape(gs))}")
        bad = problems(nd)
        lines.extend(bad)
        attrs = {"shape": "box", "fillcolor": COLORS[knd]}
        if bad:
            attrs.update(fillcolor=COLORS["nonfinite"], color="red", penwidth="2.5")
        if knd == "output" and not bad:
            attrs["penwidth"] = "2"
        by_frame[frame].append((f"v{i}", "\\n".join(esc(s) for s in lines), attrs))
        if op is not None:
            c = const(nd)
            label = esc(op.name) if c is None else f"{esc(op.name)}\\nc = {num(c)}"
            oattrs = {"shape": "ellipse", "fillcolor": COLORS["op"]}
            if nd is failed:
                label += "\\nFAILED (detect_anomaly)"
                oattrs.update(fillcolor=COLORS["nonfinite"], color="red", penwidth="2.5")
            rule = getattr(op, "rule", "")
            if rule:
                oattrs["tooltip"] = esc(rule)  # (a custom Function's text: backslashes kept)
            by_frame[frame].append((f"o{i}", label, oattrs))

    for name, label, attrs in by_frame[None]:
        g.node(name, label=gv.nohtml(label), **attrs)
    keys = list(frames)

    def outer(path: str) -> Optional[str]:  # the innermost frame around a frame (the model's own, '', if drawn)
        up = [q for q in keys if q != path and (q == "" or path.startswith(q + "."))]
        return max(up, key=len) if up else None

    def frame(parent: Any, path: str) -> None:
        with parent.subgraph(name=f"cluster_module_{keys.index(path)}") as sub:
            sub.attr(label=gv.nohtml(esc(frames[path])), style="rounded,dashed", color="#868e96", fontsize="10")
            for name, label, attrs in by_frame[path]:
                sub.node(name, label=gv.nohtml(label), **attrs)
            for q in keys:
                if outer(q) == path:
                    frame(sub, q)

    for path in keys:
        if outer(path) is None:
            frame(g, path)

    # module groups
    users: dict = {}
    if groups:
        for nd in order:
            for p in nd._parents:
                users.setdefault(id(p), []).append(nd)
    for gi, grp in enumerate(groups):
        if id(grp.members[0]) in far:  # (a group is drawn whole or not at all)
            continue
        members = {id(nd) for nd in grp.members}
        label, bad = _group_label(grp, paths.get(id(grp.module)), pnames, names, users, members, root,
                                  show_data, show_grad)
        gattrs = {"shape": "box3d", "fillcolor": COLORS["group"]}
        if bad:
            gattrs.update(fillcolor=COLORS["nonfinite"], color="red", penwidth="2.5")
        g.node(f"g{gi}", label=gv.nohtml(label), **gattrs)

    def src_of(p: Any) -> str:
        return _src(p, group_of, hidden, far, index)

    # collapsed chains
    drawn_chains = {hidden[k] for k in hidden if k not in far}
    for ci, (first, _last, n_hidden, ops_names) in enumerate(chains):
        if ci not in drawn_chains:
            continue
        shown = ", ".join(ops_names[:4]) + (", ..." if len(ops_names) > 4 else "")
        g.node(f"h{ci}", label=gv.nohtml(f"... {n_hidden} nodes hidden ...\\nops: {esc(shown)}"), shape="box",
               style="filled,dashed", fillcolor=COLORS["hidden"])
        g.edge(src_of(first), f"h{ci}")
    if far:
        text = f"... {len(far)} more values ...\\n(past the max_nodes={max_nodes} boxes nearest the output)"
        fattrs = {"shape": "box", "style": "filled,dashed", "fillcolor": COLORS["hidden"]}
        if any(problems(nd) for nd in order if id(nd) in far):  # (a NaN or an Inf is never out of sight)
            text += "\\nNaN / Inf inside"
            fattrs.update(fillcolor=COLORS["nonfinite"], color="red", penwidth="2.5")
        g.node("far", label=gv.nohtml(text), **fattrs)

    # edges
    group_edges: set = set()
    for nd in order:
        k = id(nd)
        if k in hidden or nd._op is None or k in far:
            continue
        if k in group_of:
            dst = f"g{group_of[k]}"
            for p in nd._parents:
                e = (src_of(p), dst)
                if e[0] != dst and e not in group_edges:
                    group_edges.add(e)
                    g.edge(*e)
            continue
        i = index[k]
        for p in nd._parents:
            e = (src_of(p), f"o{i}")
            if e[0] != "far" or e not in group_edges:  # (one edge from the far box per op)
                group_edges.add(e)
                g.edge(*e)
        if not isinstance(nd, _Failure):
            g.edge(f"o{i}", f"v{i}")

    _notes(g, order, groups, group_of, chains, hidden, max_nodes, far)
    if legend:
        _legend(g, bool(groups), failed is not None)
    return g


def _src(p: Any, group_of: dict, hidden: dict, far: set, index: dict) -> str:
    """The box an edge from value ``p`` leaves: its group, hidden chain, the far box or its own."""
    pk = id(p)
    if pk in far:
        return "far"
    if pk in group_of:
        return f"g{group_of[pk]}"
    return f"h{hidden[pk]}" if pk in hidden else f"v{index[pk]}"


def _notes(g: Any, order: list, groups: list, group_of: dict, chains: list, hidden: dict,
           max_nodes: Optional[int], far: set) -> None:
    """The note saying what was grouped or hidden (or that the graph is still too big)."""
    if max_nodes is None or len(order) <= max_nodes:
        return
    lines = []
    if groups:
        lines.append(f"{len(group_of)} of {len(order)} values grouped into {len(groups)} module box(es)")
    if chains:
        lines.append(f"{len(hidden)} of {len(order)} values hidden")
        lines.append(f"({len(chains)} chain(s) of single-input steps collapsed; max_nodes={max_nodes})")
    elif groups:
        lines.append(f"(max_nodes={max_nodes})")
    if far:  # (what groups and chains could not fold: the limit always holds)
        lines.append(f"{len(far)} of {len(order)} values, past the {max(max_nodes - 1, 1)} boxes nearest the "
                     "output,")
        lines.append(f"drawn as one box (max_nodes={max_nodes})")
    g.node("note", label="\\n".join(lines), shape="note", fillcolor=COLORS["note"])


def _legend(g: Any, with_groups: bool, with_failure: bool) -> None:
    entries = list(_LEGEND)
    if with_groups:
        entries.append(("group", "values computed in\none module (grouped)"))
    if with_failure:
        entries.append(("failed", "failed op"))
    with g.subgraph(name="cluster_legend") as lg:
        lg.attr(label="legend", style="rounded", color="#adb5bd", fontsize="10")
        prev = None
        for knd, text in entries:
            attrs = {"shape": "ellipse" if knd in ("op", "failed") else ("box3d" if knd == "group" else "box"),
                     "fillcolor": COLORS["nonfinite" if knd == "failed" else knd]}
            if knd in ("nonfinite", "failed"):
                attrs["color"] = "red"
            lg.node(f"legend_{knd}", label=text.replace("\n", "\\n"), **attrs)
            if prev is not None:
                lg.edge(prev, f"legend_{knd}", style="invis")
            prev = f"legend_{knd}"

