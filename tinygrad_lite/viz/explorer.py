"""An interactive, self-contained HTML page of a computation graph: ``explore(root)``.

``explore(root, module=None)`` returns an ``Explorer``. ``Explorer.save(path)`` writes ONE
HTML file (inline SVG, styles, data and plain JavaScript; nothing is fetched when it is
viewed) and ``Explorer._repr_html_()`` shows the same page in a notebook (inside an
``<iframe srcdoc>``, so several explorers on one page never share element ids).

In the page:

* clicking a value shows its name, op, shape, dtype, summaries (min / max / mean / norm
  over the finite entries, and the first few numbers) of its data, its stored ``grad``,
  the cotangent dL/dnode of the explorer's own backward, per-sample gradient norms where
  present, and the op's derivative rule;
* "Step" walks the backward pass one node at a time in the order the graph walker visits
  the nodes (reverse topological order), highlighting the node and showing the cotangent
  it sends to each parent (already reduced to the parent's shape); "Reset" starts over;
* a search box finds a node by name; module frames (when ``module`` is given) collapse and
  expand; values holding a NaN or an Inf (data, grad or cotangent) are red.

The cotangents are computed when the explorer is built, by one traced backward sweep
``graph.backward(root, seed, fit, trace, hooks=False)``: no user hook runs (a hook may log,
or even take an optimizer step). The sweep writes ``grad`` on the nodes, so every node's
``grad`` is snapshotted first and restored afterwards (same object, same numbers):
exploring a graph never changes a gradient. A Tensor graph that ``backward()`` refuses (a
value changed in place since the forward, an integer leaf that requires grad) is refused
here too, and the page says why.

The layout comes from ``dot -Tsvg`` (one box per value, one small ellipse per op). Without
``dot`` a layered layout is computed (``layered.py``): a node's layer is the longest path from a leaf
to it (an op one layer after its latest input), and the page says which layout it uses.
"""

from __future__ import annotations

import html
import math
import numbers
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from .. import graph
from ..conventions import checked_order
from ._page import render_page
from .collapse import module_paths, value_owners
from .common import (
    COLORS,
    const,
    display_names,
    expr,
    frame_path,
    kind,
    nonfinite,
    num,
    owner_paths,
    param_names,
    shorten,
    summary,
    walk,
)
from .layered import box_lines, layered_svg

__all__ = ["explore", "Explorer"]

PREVIEW = 8          # numbers shown in a preview
MAX_NODES = 10000    # explore's default limit on the values of a graph
DOT_MAX = 1500       # layout="auto" lays out a graph of more values itself (dot takes minutes there)
DOT_WAIT = 15.0      # seconds layout="auto" waits for dot (shared weights can make a graph of 1000 values hang)
_LAYOUTS = ("auto", "dot", "layered")


# ------------------------------------------------------------------------------ numbers ----
def _jnum(v: Any) -> Union[float, str]:
    """A float for JSON: finite numbers as they are, NaN / Inf as the strings 'nan', 'inf', '-inf'."""
    f = float(v)
    if math.isfinite(f):
        return f
    return "nan" if f != f else ("inf" if f > 0 else "-inf")


def array_info(x: Any) -> Optional[dict]:
    """Summary of an array (or number) for the page, or None for None.

    Keys: ``shape``, ``dtype``, ``size``; over the finite entries ``min``, ``max``, ``mean``
    and ``norm`` = sqrt(sum x^2) (None when there is no finite entry); ``nan`` and ``inf``
    counts; ``bad`` ('' or 'NaN' / 'Inf' / 'NaN and Inf'); ``preview`` (the first
    ``PREVIEW`` entries in row-major order, as text) and ``values`` (the same as numbers);
    ``text``, the one-line summary of ``tl.viz.draw_graph``.
    """
    if x is None:
        return None
    a = np.asarray(x)
    info: dict = {"shape": list(a.shape), "dtype": str(a.dtype), "size": int(a.size),
                  "min": None, "max": None, "mean": None, "norm": None, "nan": 0, "inf": 0,
                  "bad": nonfinite(a), "preview": "", "values": [],
                  "text": summary(a[()] if a.ndim == 0 else a)}
    if a.dtype.kind == "c":
        a = a.real
    if a.dtype.kind not in "fiub":
        return info
    flat = a.reshape(-1)
    head = flat[:PREVIEW]
    info["values"] = [_jnum(v) for v in head]
    more = ", ..." if flat.size > PREVIEW else ""
    info["preview"] = "[" + ", ".join(num(v) for v in head) + more + "]" if a.ndim else num(a[()])
    f = flat.astype(np.float64)
    fin = np.isfinite(f)
    info["nan"] = int(np.isnan(f).sum())
    info["inf"] = int(np.isinf(f).sum())
    good = f[fin]
    if good.size:  # scaled by the largest magnitude, so 1e200 entries give a finite norm and mean
        big = float(np.abs(good).max())
        s = good / big if big > 0 and math.isfinite(big) else good
        info.update(min=_jnum(good.min()), max=_jnum(good.max()), mean=_jnum(s.mean() * big if big else 0.0),
                    norm=_jnum(np.sqrt(np.dot(s, s)) * big if big else 0.0))
    return info


def _safe_attr(node: Any, name: str) -> tuple:
    """(value, error text): reading per-sample attributes may raise (samples mixed)."""
    try:
        return getattr(node, name, None), None
    except Exception as e:  # a RuntimeError naming the op that mixed samples, typically
        return None, f"{type(e).__name__}: {e}"


def _per_sample(node: Any) -> tuple:
    """(norms info or None, grad_sample shape or None, error or None) of a parameter."""
    norms, err = _safe_attr(node, "grad_sample_norm")
    if err is None and norms is None:
        gs, err = _safe_attr(node, "grad_sample")
        if gs is not None:
            gs = np.asarray(gs)
            norms = np.sqrt((gs.reshape(len(gs), -1).astype(np.float64) ** 2).sum(axis=1))
            return array_info(norms), list(gs.shape), None
    if norms is None:
        return None, None, err
    norms = np.asarray(norms)
    kept = getattr(node, "_ps", None) is not None or getattr(node, "_gs", None) is not None
    return array_info(norms), [int(len(norms))] + list(np.shape(node.data)) if kept else None, None


# ------------------------------------------------------------------------------ backward ---
def _seed(root: Any, gradient: Any) -> tuple:
    """(seed cotangent dL/droot, note) for the traced backward."""
    from ..tensor import Tensor

    if not isinstance(root, Tensor):
        if gradient is not None:
            raise TypeError("explore: gradient= is for a Tensor root; a Value's backward is seeded with 1.0")
        return 1.0, ""
    d = root.data
    if gradient is None:
        note = "" if d.size == 1 else (f"the root has shape {d.shape}, so the backward is seeded with ones "
                                       "(pass gradient= for another seed)")
        return np.ones_like(d), note
    try:
        gd = np.array(getattr(gradient, "data", gradient), dtype=d.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"explore: gradient must be an array of shape {d.shape}, got "
                        f"{type(gradient).__name__}") from None
    if gd.shape != d.shape:
        raise ValueError(f"explore: gradient has shape {gd.shape} but the root has shape {d.shape}")
    return gd, ""


def _traced_backward(root: Any, order: list, ids: dict, seed: Any) -> tuple:
    """Run one traced backward sweep and restore every node's ``grad`` afterwards.

    Returns (steps, cotangent received per node id, error text or None). A step is
    ``{"node", "leaf", "received", "sends": [{"parent", "cot"}]}``; ``cot`` is the cotangent
    sent to that parent (reduced to its shape), None when the parent takes no gradient.
    """
    from ..tensor import Tensor

    fit = None
    if isinstance(root, Tensor):
        from ..batchstate import fit
    steps: list = []
    received: dict = {}
    saved = []
    for nd in order:
        g = nd.grad
        saved.append((nd, g, np.array(g, copy=True) if isinstance(g, np.ndarray) else None))

    def trace(node: Any, g: Any, grads: tuple) -> None:
        nid = ids[id(node)]
        received[nid] = array_info(g)
        sends = []
        for p, gp in zip(node._parents, grads):
            if gp is None or not p.requires_grad:
                sends.append({"parent": ids[id(p)], "cot": None})
            else:
                sends.append({"parent": ids[id(p)], "cot": array_info(fit(p, gp) if fit else gp)})
        steps.append({"node": nid, "leaf": node._op is None, "received": received[nid], "sends": sends})

    error = None
    try:
        walk_order = None
        if fit is not None:  # refuse what Tensor.backward() refuses, with its message
            walk_order = checked_order(root)  # values changed in place since the forward, integer leaves
        graph.backward(root, seed, fit, trace, order=walk_order, hooks=False)  # (no user code runs)
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    finally:
        for nd, g, copy in saved:
            if copy is not None and (g.shape != copy.shape or not np.array_equal(g, copy, equal_nan=True)):
                g[...] = copy  # changed in place: put the numbers back
            nd.grad = g
    return steps, received, error


# ------------------------------------------------------------------------------ modules ----
def _clusters(order: list, pnames: dict, module: Any, ids: dict) -> tuple:
    """Module frames: a parameter belongs to the module owning it; an op's output to the
    module it was computed in (recorded as ``_mod``), else to the module of its first
    parameter input (so a Linear frame holds weight, bias, the linear op and its output).
    Frames nest as the modules do (``parent``: the frame around one). Returns (node id ->
    cluster id, clusters list)."""
    if module is None:
        return {}, []
    mods = dict(module.named_modules()) if hasattr(module, "named_modules") else {}
    path_of = owner_paths(module, pnames)
    ran_in = module_paths(module)
    of: dict = {}
    cid: dict = {}
    clusters: list = []
    for nd in order:
        path = frame_path(nd, path_of, ran_in)
        if path is None:
            continue
        if path not in cid:
            m = mods.get(path, module)
            cid[path] = f"c{len(clusters)}"
            label = shorten(f"{path}: {type(m).__name__}" if path else type(m).__name__)
            clusters.append({"id": cid[path], "path": path, "label": label, "members": []})
        c = clusters[int(cid[path][1:])]
        c["members"].append(ids[id(nd)])
        of[ids[id(nd)]] = cid[path]
    for c in clusters:  # the innermost frame around each (the model's own, path '', around every other)
        up = [q for q in cid if q != c["path"] and (q == "" or c["path"].startswith(q + "."))]
        c["parent"] = cid[max(up, key=len)] if up else None
    return of, clusters


def _nest(clusters: list) -> None:
    """Each frame's ``sub`` (the frames inside it, at any depth) and ``all`` (its members and
    theirs): collapsing a frame hides what is inside its inner frames too."""
    by_id = {c["id"]: c for c in clusters}
    for c in clusters:
        c["sub"], c["all"] = [], list(c["members"])
    for c in clusters:
        q = c.get("parent")
        while q is not None:
            up = by_id[q]
            up["sub"].append(c["id"])
            up["all"] += c["members"]
            q = up.get("parent")


# ------------------------------------------------------------------------------ payload ----
def build_payload(root: Any, module: Any = None, gradient: Any = None, max_nodes: Optional[int] = None) -> dict:
    """Everything the page shows, as JSON-ready data (see ``Explorer.payload``); a graph of
    more than ``max_nodes`` values (None: no limit) raises ``ValueError`` before any work."""
    from ..tensor import Tensor

    if isinstance(root, Tensor) and root.requires_grad:
        try:  # ops an in-place write left out of date are repaired first: the page shows what backward walks
            checked_order(root)
        except (RuntimeError, TypeError, ValueError):
            pass  # (a graph backward refuses: the traced backward below reports why)
    order = walk(root)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"explore: the graph has {len(order)} values, more than max_nodes={max_nodes}; its page would take "
            "minutes to build and be too big for a browser or a notebook (about 3 KB per value). Explore a "
            "smaller graph (the cost of one sample), draw it with tl.viz.draw_graph(root), which groups modules "
            "and collapses long chains, or pass max_nodes=None to build it anyway")
    pnames = param_names(module)
    names = display_names(order, pnames)
    ids = {id(nd): f"v{k}" for k, nd in enumerate(order)}
    seed, note = _seed(root, gradient)
    if root.requires_grad:
        steps, received, error = _traced_backward(root, order, ids, seed)
    else:
        steps, received, error = [], {}, None
        note = "the root does not require grad: there is no backward pass to step through"
    cluster_of, clusters = _clusters(order, pnames, module, ids)
    owners = value_owners(order, module) if module is None else {}  # Value parameters of modules that ran
    kinds = (pnames, True) if module is not None else (owners, bool(owners))
    nodes, edges = [], []
    for k, nd in enumerate(order):
        nid = f"v{k}"
        op = nd._op
        leaf_param = nd._op is None and nd.requires_grad
        norms, gs_shape, ps_err = _per_sample(nd) if leaf_param else (None, None, None)
        info = {
            "id": nid, "name": names[id(nd)], "kind": kind(nd, root, *kinds),
            "op": op.name if op is not None else "", "opid": f"o{k}" if op is not None else None,
            "rule": getattr(op, "rule", "") if op is not None else "",
            "expr": expr(nd, names) if op is not None else "",
            "const": num(const(nd)) if op is not None and const(nd) is not None else None,
            "shape": [int(s) for s in np.shape(nd.data)], "dtype": str(getattr(nd, "dtype", "")),
            "batched": bool(getattr(nd, "batched", False)), "requires_grad": bool(nd.requires_grad),
            "module": cluster_of.get(nid), "parents": [ids[id(p)] for p in nd._parents],
            "data": array_info(nd.data), "grad": array_info(nd.grad), "cot": received.get(nid),
            "per_sample_norms": norms, "grad_sample_shape": gs_shape, "per_sample_error": ps_err,
        }
        parts = ((info["data"], "data"), (info["grad"], "grad"), (info["cot"], "cotangent"))
        info["bad"] = [f"{a['bad']} in {what}" for a, what in parts if a and a["bad"]]
        nodes.append(info)
        if op is not None:
            for j, p in enumerate(nd._parents):
                edges.append({"id": f"e{k}_{j}", "src": ids[id(p)], "dst": f"o{k}"})
            edges.append({"id": f"r{k}", "src": f"o{k}", "dst": nid})
    for c in clusters:  # an op node lives in the frame of its output
        c["members"] += [n["opid"] for n in nodes if n["module"] == c["id"] and n["opid"]]
    _nest(clusters)
    return {"root": ids[id(root)], "root_name": names[id(root)], "nodes": nodes, "edges": edges,
            "clusters": clusters, "steps": steps, "backward_error": error, "note": note,
            "engine": "Tensor" if hasattr(root, "grad_sample") else "Value"}


# ------------------------------------------------------------------------------ layout -----
def _dq(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace("&", "&amp;").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_source(payload: dict) -> str:
    """The DOT description of the page's graph (ids ``v<k>`` values, ``o<k>`` ops, ``c<j>`` frames)."""
    out = ['digraph explorer {',
           '  graph [rankdir=LR, fontsize=10, fontname="Helvetica", nodesep=0.2, ranksep=0.3, nslimit=1, nslimit1=1, '
           'mclimit=0.1];',
           '  node [fontsize=10, fontname="Helvetica", style=filled];',
           '  edge [arrowsize=0.6, color="#868e96"];']
    by_cluster: dict = {None: []}
    for c in payload["clusters"]:
        by_cluster[c["id"]] = []
    for n in payload["nodes"]:
        fill = COLORS["nonfinite"] if n["bad"] else COLORS[n["kind"]]
        label = _dq("\n".join(box_lines(n)))
        by_cluster[n["module"]].append(f'{n["id"]} [id={n["id"]}, shape=box, label={label}, '
                                       f'fillcolor="{fill}"];')
        if n["opid"]:
            lab = n["op"] + (f"\nc = {n['const']}" if n["const"] is not None else "")
            by_cluster[n["module"]].append(f'{n["opid"]} [id={n["opid"]}, shape=ellipse, label={_dq(lab)}, '
                                           f'fillcolor="{COLORS["op"]}", height=0.25, margin="0.03,0.01"];')
    def frame(c: dict, pad: str) -> None:  # (inner frames drawn inside their module's frame)
        out.append(f'{pad}subgraph cluster_{c["id"]} {{ id={c["id"]}; label={_dq(c["label"])}; '
                   'style="rounded,dashed"; color="#868e96";')
        out.extend(pad + "  " + s for s in by_cluster[c["id"]])
        for d in payload["clusters"]:
            if d.get("parent") == c["id"]:
                frame(d, pad + "  ")
        out.append(pad + "}")
    for c in payload["clusters"]:
        if c.get("parent") is None:
            frame(c, "  ")
    out += ["  " + s for s in by_cluster[None]]
    out += [f'  {e["src"]} -> {e["dst"]} [id={e["id"]}];' for e in payload["edges"]]
    out.append("}")
    return "\n".join(out) + "\n"


def run_dot(source: str, timeout: float = 60.0) -> tuple:
    """(SVG text from ``dot -Tsvg``, '') or (None, the reason it could not run)."""
    exe = shutil.which("dot")
    if exe is None:
        return None, "Graphviz's dot program was not found"
    try:
        r = subprocess.run([exe, "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"dot did not finish within {timeout:g} s"
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"dot failed: {e}"
    if r.returncode != 0:
        said = r.stderr.decode("utf-8", "replace").strip()[:300]
        if r.returncode < 0:  # (a crash: dot says nothing, the signal tells)
            try:
                sig = signal.Signals(-r.returncode).name
            except ValueError:
                sig = f"signal {-r.returncode}"
            said = f"dot was killed by {sig}" + (f": {said}" if said else "")
        return None, f"dot failed: {said or f'exit status {r.returncode}'}"
    svg = r.stdout.decode("utf-8", "replace")
    i = svg.find("<svg")
    return (svg[i:], "") if i >= 0 else (None, "dot gave no SVG")


# ------------------------------------------------------------------------------ explorer ---
class Explorer:
    """The explorer of one graph: ``save(path)`` writes the page, ``_repr_html_()`` shows it
    in a notebook, ``html()`` returns it as a string.

    Attributes: ``payload`` (the data the page shows: ``nodes``, ``edges``, ``clusters``,
    ``steps`` of the backward pass, ...), ``svg`` (the graph picture), ``layout`` (``"dot"``
    or ``"layered"``) and ``layout_note`` (why the layered layout was used, or '').
    """

    def __init__(self, payload: dict, svg: str, layout: str, layout_note: str = "",
                 title: str = "tinygrad_lite graph explorer") -> None:
        self.payload = payload
        self.svg = svg
        self.layout = layout
        self.layout_note = layout_note
        self.title = title

    def html(self) -> str:
        """The whole page: one self-contained HTML document."""
        if self.layout == "dot":
            note = "Layout by Graphviz's dot."
        else:
            note = ("Simple layered layout (" + (self.layout_note or "Graphviz's dot was not used")
                    + "; install Graphviz for a tidier picture).")
        return render_page(self.payload, self.svg, note, self.title)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> str:
        """Write the page to ``path`` (UTF-8; parent folders are created); returns the path."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"Explorer.save: path must be a str or a path, got {type(path).__name__}")
        p = Path(path)
        if p.is_dir():
            raise ValueError(f"Explorer.save: path {str(p)!r} is a directory; give a file name")
        text = self.html()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return str(p)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" sandbox="allow-scripts" '
                'style="width:100%;height:640px;border:1px solid #ced4da"></iframe>')

    def __repr__(self) -> str:
        p = self.payload
        return (f"<Explorer of {p['root_name']!r}: {len(p['nodes'])} values, {len(p['steps'])} backward "
                f"steps, layout {self.layout}>")


def explore(root: Any, module: Any = None, *, gradient: Any = None, layout: str = "auto",
            max_nodes: Optional[int] = MAX_NODES) -> Explorer:
    """An interactive explorer of the graph that produced ``root`` (a Tensor or a Value).

    ``module`` (a ``tl.nn.Module``) names parameters by ``named_parameters()`` and groups
    each module's parameters, the ops using them and their outputs in a collapsible frame.
    ``gradient`` seeds the explorer's own backward (dL/droot; default 1, or ones for a
    non-scalar root). ``layout``: ``"auto"`` (Graphviz's ``dot`` when installed, else the
    layered layout), ``"dot"`` (error without it) or ``"layered"``; ``"auto"`` takes the layered layout for a
    graph of more than 1500 values, where ``dot`` would take minutes, or when ``dot`` takes more than
    15 s (or fails). A graph of more than
    ``max_nodes`` values (None: no limit) is refused with a ``ValueError`` (the page holds
    every value; past a few thousand it is slow to lay out and to open). No node's ``grad``
    changes.
    """
    if not (hasattr(root, "_parents") and hasattr(root, "_op") and hasattr(root, "data")):
        raise TypeError(f"explore: root must be a Tensor or a Value, got {type(root).__name__}")
    if module is not None and not hasattr(module, "named_parameters"):
        raise TypeError(f"explore: module must be a tl.nn.Module or None, got {type(module).__name__}")
    if layout not in _LAYOUTS:
        raise ValueError(f"explore: layout must be one of {_LAYOUTS}, got {layout!r}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral)
                                  or max_nodes < 1):
        raise ValueError(f"explore: max_nodes must be an int >= 1 or None (no limit), got {max_nodes!r}")
    if layout == "dot" and shutil.which("dot") is None:
        raise RuntimeError("explore: layout='dot' needs Graphviz's dot program on PATH")
    payload = build_payload(root, module, gradient, max_nodes)
    if layout == "layered":
        svg, why = None, "layout='layered' was asked for"
    elif layout == "auto" and len(payload["nodes"]) > DOT_MAX:
        svg, why = None, (f"the graph has {len(payload['nodes'])} values, more than dot lays out in seconds "
                          f"({DOT_MAX}); layout='dot' asks for it anyway")
    else:  # (auto: a layout dot cannot finish soon is drawn by the layered layout instead)
        svg, why = run_dot(dot_source(payload), DOT_WAIT if layout == "auto" else 60.0)
    if svg is None:
        if layout == "dot":
            raise RuntimeError(f"explore: {why}")
        return Explorer(payload, layered_svg(payload), "layered", why)
    return Explorer(payload, svg, "dot")
