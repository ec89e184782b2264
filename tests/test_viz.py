"""Tests of tinygrad_lite.viz: graph pictures (DOT source), rendering and backward traces."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite import Tensor, Value, nn, viz

HAS_DOT = shutil.which("dot") is not None
ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- DOT parsing helpers

NODE_RE = re.compile(r'^\s*(\w+) \[(.*)\]$')
EDGE_RE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[.*\])?$')


def nodes(g) -> dict:
    """DOT node id -> its attribute text (label and style), from the source."""
    out = {}
    for line in g.source.splitlines():
        m = NODE_RE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            out[m.group(1)] = m.group(2)
    return out


def edges(g) -> set:
    return {(m.group(1), m.group(2)) for line in g.source.splitlines() if (m := EDGE_RE.match(line))}


def label(attrs: str) -> list:
    """The lines of a node's label."""
    m = re.search(r'label="((?:[^"\\]|\\.)*)"', attrs) or re.search(r"label=(\S+)", attrs)
    return m.group(1).split("\\n")


def find(g, name: str) -> str:
    """The DOT id of the value node whose first label line is ``name``."""
    hits = [k for k, a in nodes(g).items() if k.startswith("v") and label(a)[0] == name]
    assert len(hits) == 1, (name, hits)
    return hits[0]


def value_ids(g) -> list:
    return [k for k in nodes(g) if re.fullmatch(r"v\d+", k)]


def op_ids(g) -> list:
    return [k for k in nodes(g) if re.fullmatch(r"o\d+", k)]


def clusters(g) -> dict:
    """Cluster label -> set of node ids declared inside it."""
    out: dict = {}
    current = None
    for line in g.source.splitlines():
        s = line.strip()
        if s.startswith("subgraph cluster_module_"):
            current = "?"
            continue
        if current is not None:
            if s == "}":
                current = None
                continue
            if current == "?":
                current = re.search(r'label="([^"]*)"', s).group(1)
                out[current] = set()
                continue
            m = NODE_RE.match(line)
            if m:
                out[current].add(m.group(1))
    return out


# ----------------------------------------------------------------------------- fixtures


def value_neuron():
    """cost = (tanh(w*x + b) - 1)^2 with w=0.5, x=1, b=0.1, after backward."""
    w, x, b = Value(0.5, label="w"), Value(1.0, label="x"), Value(0.1, label="b")
    z = w * x + b
    z.label = "z"
    n = z.tanh()
    n.label = "n"
    cost = (n - 1.0) ** 2
    cost.label = "cost"
    cost.backward()
    return w, x, b, n, cost


def tensor_neuron(batched: bool = True):
    """A one-neuron model tanh(x W^T + b) with an mse cost on 4 samples, after backward."""
    model = nn.Sequential(nn.Linear(2, 1, rng=0), nn.Tanh())
    model[0].weight.data = np.array([[0.5, -0.25]])
    model[0].bias.data = np.array([0.1])
    X = Tensor([[1.0, 2.0], [0.0, 1.0], [-1.0, 0.5], [2.0, -1.0]], batched=batched, name="X")
    Y = Tensor([[1.0], [0.0], [0.5], [-0.5]], name="Y")
    loss = nn.mse_loss(model(X), Y)
    loss.name = "loss"
    loss.backward()
    return model, X, Y, loss


# ----------------------------------------------------------------------------- Value graphs


def test_value_neuron_nodes_ops_and_grads():
    w, x, b, n, cost = value_neuron()
    # the numbers the picture must show, from the formula
    t = math.tanh(0.6)
    dn = 2 * (t - 1)
    assert w.grad == pytest.approx(dn * (1 - t * t) * 1.0)
    g = viz.draw_graph(cost)
    src = g.source
    assert len(value_ids(g)) == 8          # w, x, b, w*x, z, n, n-1, cost
    assert len(op_ids(g)) == 5             # *, +, tanh, +c, **
    for name in ("w", "x", "b", "z", "n", "cost"):
        find(g, name)
    lab = label(nodes(g)[find(g, "w")])
    assert lab == ["w", "parameter", "shape () float", "data: 0.5", "grad: -0.6589"]
    assert label(nodes(g)[find(g, "x")])[-1] == "grad: -0.3294"
    assert label(nodes(g)[find(g, "n")])[1:] == ["op: tanh", "shape () float", "data: 0.537", "grad: -0.9259"]
    assert label(nodes(g)[find(g, "cost")])[1] == "op: pow (output)"
    op_labels = sorted(label(nodes(g)[o])[0] for o in op_ids(g))
    assert op_labels == sorted(["mul", "add", "tanh", "add", "pow"])
    assert 'label="add\\nc = -1.0"' in src      # folded constants are shown
    assert 'label="pow\\nc = 2"' in src
    assert 'tooltip="d tanh(a)/da = 1 - tanh(a)**2"' in src


def test_value_edges_go_parent_op_output():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    y = a * b
    y.label = "y"
    g = viz.draw_graph(y, legend=False)
    va, vb, vy = find(g, "a"), find(g, "b"), find(g, "y")
    (op,) = op_ids(g)
    assert edges(g) == {(va, op), (vb, op), (op, vy)}
    assert "legend" not in g.source
    assert "cluster_legend" in viz.draw_graph(y).source


def test_show_data_and_grad_flags():
    *_, cost = value_neuron()
    src = viz.draw_graph(cost, show_data=False, show_grad=False).source
    assert "data:" not in src and "grad:" not in src
    src = viz.draw_graph(cost, show_data=True, show_grad=False).source
    assert "data:" in src and "grad:" not in src


def test_value_chain_without_names_gets_walk_names():
    x = Value(3.0)
    y = (x * 2).relu()
    g = viz.draw_graph(y)
    assert [label(nodes(g)[v])[0] for v in value_ids(g)] == ["v0", "v1", "v2"]


# ----------------------------------------------------------------------------- Tensor graphs


def test_tensor_neuron_with_module_names_shapes_grads():
    model, X, Y, loss = tensor_neuron()
    W, bias = model[0].weight, model[0].bias
    g = viz.draw_graph(loss, module=model)
    nd = nodes(g)
    wid, bid, xid, yid, lid = (find(g, s) for s in ("0.weight", "0.bias", "X", "Y", "loss"))
    w_lab = label(nd[wid])
    assert w_lab[:3] == ["0.weight", "parameter", "shape (1, 2) float64"]
    assert w_lab[3] == "data: [[0.5, -0.25]]"
    gw = W.grad.ravel()
    assert w_lab[4] == f"grad: [[{gw[0]:.4g}, {gw[1]:.4g}]]"
    assert w_lab[5] == "grad_sample: shape (4, 1, 2)"
    assert label(nd[bid])[4] == f"grad: [{bias.grad[0]:.4g}]"
    assert label(nd[xid])[1:3] == ["input", "shape (4, 2) float64, batched"]
    assert label(nd[yid])[1:3] == ["input", "shape (4, 1) float64"]
    assert label(nd[lid])[1:3] == ["op: mse_loss (output)", "shape () float64"]
    op_names = sorted(label(nd[o])[0] for o in op_ids(g))
    assert op_names == ["linear", "mse_loss", "tanh"]
    # colours tell the kinds apart
    assert f'fillcolor="{viz.COLORS["parameter"]}"' in nd[wid]
    assert f'fillcolor="{viz.COLORS["input"]}"' in nd[xid]
    assert f'fillcolor="{viz.COLORS["input"]}"' in nd[yid]
    assert f'fillcolor="{viz.COLORS["output"]}"' in nd[lid]
    lin = [o for o in op_ids(g) if label(nd[o])[0] == "linear"][0]
    assert {(xid, lin), (wid, lin), (bid, lin)} <= edges(g)
    assert f'fillcolor="{viz.COLORS["intermediate"]}"' in nd["v" + lin[1:]]


def test_tensor_names_without_module_and_summaries():
    x = Tensor(np.arange(12.0).reshape(3, 4), name="x")                 # constant input, 12 elements
    w = Tensor(np.full((4,), 0.5), requires_grad=True, name="w")
    loss = (x * w).sum()
    loss.backward()
    g = viz.draw_graph(loss)
    nd = nodes(g)
    xl = label(nd[find(g, "x")])
    assert xl[1] == "input"                                             # no grad -> input, and it is drawn
    assert xl[3] == "data: (3, 4) min 0.0 mean 5.5 max 11.0"
    assert xl[4] == "grad: None"
    wl = label(nd[find(g, "w")])
    assert wl[1] == "parameter"
    assert wl[4] == "grad: [12.0, 15.0, 18.0, 21.0]"                   # column sums of x
    mul = [o for o in op_ids(g) if label(nd[o])[0] == "mul"]
    assert len(mul) == 1 and (find(g, "x"), mul[0]) in edges(g)


def test_requires_grad_leaf_that_is_not_a_module_parameter_is_an_input():
    model = nn.Linear(2, 1, rng=0)
    x = Tensor([[1.0, 2.0]], requires_grad=True, name="x")              # input gradient (saliency)
    out = model(x).sum()
    out.backward()
    g = viz.draw_graph(out, module=model)
    assert label(nodes(g)[find(g, "x")])[1] == "input"
    assert label(nodes(g)[find(g, "weight")])[1] == "parameter"
    g2 = viz.draw_graph(out)                                            # without a module: a parameter
    assert label(nodes(g2)[find(g2, "x")])[1] == "parameter"


def test_draw_graph_rejects_non_nodes():
    with pytest.raises(TypeError, match="Tensor or a Value"):
        viz.draw_graph(3.0)


# ----------------------------------------------------------------------------- NaN / Inf


def test_nan_and_inf_are_red_and_named():
    w = Tensor([4.0, -1.0, 0.0], requires_grad=True, name="w")
    with np.errstate(all="ignore"):
        r = w.sqrt()
        r.name = "r"
        loss = r.sum()
        loss.name = "loss"
        loss.backward()
    g = viz.draw_graph(loss)
    nd = nodes(g)
    wl, rl = nd[find(g, "w")], nd[find(g, "r")]
    assert "NaN and Inf in grad" in label(wl)                           # 0.5/sqrt(0) = inf, sqrt(-1) = nan
    assert "NaN in data" in label(rl)
    assert "NaN in data" in label(nd[find(g, "loss")])
    for attrs in (wl, rl):
        assert "color=red" in attrs and f'fillcolor="{viz.COLORS["nonfinite"]}"' in attrs
    ok = Tensor([1.0], requires_grad=True, name="ok")
    g2 = viz.draw_graph((ok * 2.0).sum(), legend=False)
    assert "color=red" not in g2.source and " in data" not in g2.source


def test_value_nan_grad_and_inf_data():
    a = Value(1.0, label="a")
    y = a * 2
    y.label = "y"
    a.grad = float("nan")
    y.data = float("-inf")
    g = viz.draw_graph(y)
    nd = nodes(g)
    assert label(nd[find(g, "a")])[-1] == "NaN in grad"
    assert label(nd[find(g, "y")])[-1] == "Inf in data"
    assert "color=red" in nd[find(g, "a")] and "color=red" in nd[find(g, "y")]


# ----------------------------------------------------------------------------- module clusters


def test_module_clusters_hold_params_their_op_and_its_output():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))
    X = Tensor(np.ones((4, 2)), batched=True, name="X")
    loss = nn.mse_loss(model(X), Tensor(np.zeros((4, 1))))
    loss.backward()
    g = viz.draw_graph(loss, module=model)
    nd = nodes(g)
    cl = clusters(g)
    assert set(cl) == {"0: Linear", "1: Tanh", "2: Linear"}
    lin = sorted((o for o in op_ids(g) if label(nd[o])[0] == "linear"), key=lambda s: int(s[1:]))
    assert cl["0: Linear"] == {find(g, "0.weight"), find(g, "0.bias"), lin[0], "v" + lin[0][1:]}
    assert cl["2: Linear"] == {find(g, "2.weight"), find(g, "2.bias"), lin[1], "v" + lin[1][1:]}
    tanh = [o for o in op_ids(g) if label(nd[o])[0] == "tanh"][0]
    assert cl["1: Tanh"] == {tanh, "v" + tanh[1:]}  # (the op ran inside the Tanh module)
    assert clusters(viz.draw_graph(loss, module=model, cluster_modules=False)) == {}
    assert clusters(viz.draw_graph(loss)) == {}


# ----------------------------------------------------------------------------- node limit


def test_100k_value_chain_collapses_fast():
    x = Value(1.0, label="x")
    y = x
    for i in range(100_000):
        y = y * 1.0 if i % 2 else y + 0.5
    y.label = "y"
    t0 = time.perf_counter()
    g = viz.draw_graph(y)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0
    nd = nodes(g)
    # 100001 values: x, 99999 single-input intermediates, y; the chain keeps its two ends
    assert len(value_ids(g)) == 4
    assert "99997 of 100001 values hidden" in nd["note"]
    assert label(nd["h0"])[0] == "... 99997 nodes hidden ..."
    assert set(label(nd["h0"])[1].removeprefix("ops: ").split(", ")) == {"add", "mul"}
    e = edges(g)
    assert ("v1", "h0") in e and ("h0", "o99999") in e and ("o100000", find(g, "y")) in e
    # under the limit nothing is hidden
    g_all = viz.draw_graph(y, max_nodes=None, legend=False)
    assert "hidden" not in g_all.source


def boxes(g) -> list:
    """The ids of the boxes standing for values: one value, a module group, a hidden chain or
    the far box (not ops, the legend or the note)."""
    return [k for k in nodes(g) if re.fullmatch(r"[vgh]\d+|far", k)]


@pytest.mark.parametrize("engine", ["Value", "Tensor"])
@pytest.mark.parametrize("max_nodes", [2, 7, 200])
def test_a_wide_graph_keeps_the_limit_with_one_far_box(engine: str, max_nodes: int):
    # a sum over many terms has no chain to fold: the boxes nearest the output are drawn, the
    # rest is one "... N more values" box, every edge leaving it goes to a drawn op
    if engine == "Value":
        ws = [Value(0.1 * (i % 7), label=f"w{i}") for i in range(600)]
        loss = sum(w * w for w in ws)
    else:
        ws = [Tensor(np.full(2, 0.1 * (i % 7)), requires_grad=True, name=f"w{i}") for i in range(600)]
        loss = sum((w * w).sum() for w in ws)
    loss.backward()
    t0 = time.perf_counter()
    g = viz.draw_graph(loss, max_nodes=max_nodes)
    assert time.perf_counter() - t0 < 10.0
    drawn = boxes(g)
    assert len(drawn) == max_nodes and "far" in drawn
    n_values = len(viz.draw_graph(loss, max_nodes=None, legend=False).source.split("shape=box")) - 1
    far = label(nodes(g)["far"])[0]
    assert far == f"... {n_values - (max_nodes - 1)} more values ..."
    assert find(g, "v" + str(n_values - 1)) in drawn  # the output is always drawn
    ops = set(op_ids(g))
    assert {b for a, b in edges(g) if a == "far"} <= ops and any(a == "far" for a, _ in edges(g))
    assert f"past the {max_nodes - 1} boxes nearest the output" in nodes(g)["note"]
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=g.source, text=True, check=True, capture_output=True, timeout=60)


def test_a_nan_past_the_far_end_makes_the_far_box_red():
    ws = [Value(float(i), label=f"w{i}") for i in range(100)]
    loss = sum(w * w for w in ws)
    loss.backward()
    assert "NaN" not in nodes(viz.draw_graph(loss, max_nodes=10))["far"]
    ws[0].grad = float("nan")  # the first term: far from the output
    far = nodes(viz.draw_graph(loss, max_nodes=10))["far"]
    assert label(far)[-1] == "NaN / Inf inside" and "color=red" in far


def test_collapse_keeps_named_and_nonfinite_nodes():
    x = Value(1.0, label="x")
    y = x
    mid = None
    for i in range(60):
        y = y + 1.0
        if i == 10:
            y.label = "keep"
        if i == 30:
            mid = y
    mid.grad = float("nan")
    y.label = "y"
    g = viz.draw_graph(y, max_nodes=13)
    src = g.source
    assert "NaN in grad" in src                                         # never hidden
    find(g, "keep")                                                     # named: never hidden
    assert src.count("nodes hidden") == 3                               # both split the chain
    assert "51 of 61 values hidden" in src          # chains of 10, 19 and 28 nodes keep their 2 ends
    small = viz.draw_graph(y, max_nodes=100)
    assert "hidden" not in small.source


def test_wide_graph_over_limit_says_so():
    xs = [Value(float(i)) for i in range(30)]
    total = xs[0]
    for v in xs[1:]:
        total = total + v
    g = viz.draw_graph(total, max_nodes=10)
    assert "no long chain" not in nodes(g)["note"] and len(boxes(g)) == 10 and "far" in boxes(g)
    g = viz.draw_graph(total, max_nodes=1)  # the output's box is always drawn, next to the far box
    assert boxes(g) == [find(g, "v58"), "far"] or sorted(boxes(g)) == sorted([find(g, "v58"), "far"])
    branches = [Value(float(i)).exp().tanh() for i in range(10)]    # chains of 2: nothing to hide
    total = branches[0]
    for v in branches[1:]:
        total = total + v
    g = viz.draw_graph(total, max_nodes=10)
    assert "nodes hidden" not in g.source and len(boxes(g)) == 10 and "far" in boxes(g)


# ----------------------------------------------------------------------------- rendering


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("fmt,magic", [("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_save_renders_with_dot(tmp_path, fmt, magic):
    *_, cost = value_neuron()
    path = viz.save(viz.draw_graph(cost), tmp_path / "neuron", format=fmt)
    assert path == str(tmp_path / f"neuron.{fmt}")
    data = Path(path).read_bytes()
    assert magic in data[:400]
    assert not (tmp_path / "neuron").exists()                           # no stray source file


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
def test_save_takes_format_from_suffix_and_draws_roots(tmp_path):
    *_, cost = value_neuron()
    path = viz.save(cost, tmp_path / "sub" / "g.png", show_data=False)
    assert path == str(tmp_path / "sub" / "g.png")
    assert Path(path).read_bytes()[:4] == b"\x89PNG"
    assert viz.save_graph is viz.save


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
def test_digraph_displays_inline_as_svg():
    *_, cost = value_neuron()
    bundle = viz.draw_graph(cost)._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "<svg" in svg and "cost" in svg


def test_save_without_dot_writes_source_and_warns(tmp_path, monkeypatch):
    *_, cost = value_neuron()
    g = viz.draw_graph(cost)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))                 # no dot on PATH
    with pytest.warns(viz.GraphvizNotFoundWarning) as rec:
        path = viz.save(g, tmp_path / "neuron.svg")
    assert path == str(tmp_path / "neuron.dot")
    assert Path(path).read_text() == g.source
    assert not (tmp_path / "neuron.svg").exists()
    msg = str(rec[0].message)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install", "dot -Tsvg"):
        assert hint in msg


def test_save_dot_format_needs_no_dot(tmp_path, monkeypatch):
    *_, cost = value_neuron()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = viz.save(cost, tmp_path / "graph", format="dot")
    assert path == str(tmp_path / "graph.dot")
    assert Path(path).read_text().startswith("digraph")


def test_import_works_without_graphviz_package():
    code = ("import sys; sys.modules['graphviz'] = None\n"
            "import tinygrad_lite as tl\n"
            "a = tl.Value(2.0, label='a'); y = a * 3\n"
            "print(tl.viz.trace_backward(y, file=open('/dev/null', 'w'))[0])\n"
            "try:\n    tl.viz.draw_graph(y)\nexcept ImportError as e:\n    print('ImportError', e)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == "[1] v1 = a * 3 = 6.0; dv1/dv1 = 1.0"
    assert "ImportError" in res.stdout and "pip install graphviz" in res.stdout


# ----------------------------------------------------------------------------- backward traces


def test_trace_value_two_nodes_exact():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    y = a * b
    y.label = "y"
    buf = io.StringIO()
    lines = viz.trace_backward(y, file=buf)
    assert lines == [
        "[1] y = a * b = -6.0; dy/dy = 1.0",
        "    mul: d(a*b)/da = b = -3.0, d(a*b)/db = a = 2.0",
        "    sends: a += 1.0 * -3.0 = -3.0, b += 1.0 * 2.0 = 2.0",
        "[2] a = 2.0 (leaf); dy/da = -3.0; a.grad += -3.0",
        "[3] b = -3.0 (leaf); dy/db = 2.0; b.grad += 2.0",
    ]
    assert buf.getvalue() == "\n".join(lines) + "\n"
    assert (a.grad, b.grad) == (-3.0, 2.0)


def test_trace_value_constant_and_unary_rules():
    x = Value(0.5, label="x")
    y = (x * 3).tanh()
    y.label = "y"
    lines = viz.trace_backward(y, file=io.StringIO())
    t = math.tanh(1.5)
    d = 1 - t * t
    assert lines == [
        f"[1] y = tanh(v1) = {t:.6g}; dy/dy = 1.0",
        f"    tanh: d tanh(a)/da = 1 - tanh(a)**2 = {d:.6g}",
        f"    sends: v1 += 1.0 * {d:.6g} = {d:.6g}",
        f"[2] v1 = x * 3 = 1.5; dy/dv1 = {d:.6g}",
        "    mul: d(a*c)/da = c = 3.0",
        f"    sends: x += {d:.6g} * 3.0 = {3 * d:.6g}",
        f"[3] x = 0.5 (leaf); dy/dx = {3 * d:.6g}; x.grad += {3 * d:.6g}",
    ]
    assert x.grad == pytest.approx(3 * d)


def test_trace_tensor_exact():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * 3.0).sum()
    loss.name = "loss"
    lines = viz.trace_backward(loss, file=io.StringIO())
    assert lines == [
        "[1] loss = sum(v1) = 9.0; dloss/dloss = 1.0",
        "    sum: d sum(a)/da_i = 1",
        "    sends: v1 += [1.0, 1.0]",
        "[2] v1 = w * 3.0 = [3.0, 6.0]; dloss/dv1 = [1.0, 1.0]",
        "    mul: d(a*c)/da = c = [3.0, 3.0]",
        "    sends: w += [3.0, 3.0]",
        "[3] w = [1.0, 2.0] (leaf); dloss/dw = [3.0, 3.0]; w.grad += [3.0, 3.0]",
    ]
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


def test_trace_tensor_broadcast_constant_parent_and_module_names():
    model = nn.Linear(3, 1, rng=0)
    model.weight.data = np.array([[1.0, 0.0, -1.0]])
    model.bias.data = np.array([0.5])
    X = Tensor(np.arange(24.0).reshape(8, 3), name="X")
    loss = nn.mse_loss(model(X), Tensor(np.zeros((8, 1)), name="Y"))
    lines = viz.trace_backward(loss, module=model, file=io.StringIO())
    stats = "(8, 1) min -0.375 mean -0.375 max -0.375"               # 2 * (-1.5) / 8 in every row
    assert lines == [
        "[1] v5 = mse_loss(v3, Y) = 2.25; dv5/dv5 = 1.0",
        f"    mse_loss: d/dpred = 2 (pred - target) / N; dv5/dv3 = {stats}",
        f"    sends: v3 += {stats}, Y: none (no grad)",
        f"[2] v3 = linear(X, weight, bias) = (8, 1) min -1.5 mean -1.5 max -1.5; dv5/dv3 = {stats}",
        "    linear: d(xW^T+b)/dx = g W, /dW = g^T x, /db = sum g",
        "    sends: X: none (no grad), weight += [[-31.5, -34.5, -37.5]], bias += [-3.0]",
        "[3] weight = [[1.0, 0.0, -1.0]] (leaf); dv5/dweight = [[-31.5, -34.5, -37.5]]; "
        "weight.grad += [[-31.5, -34.5, -37.5]]",
        "[4] bias = [0.5] (leaf); dv5/dbias = [-3.0]; bias.grad += [-3.0]",
    ]
    np.testing.assert_allclose(model.weight.grad, [[-31.5, -34.5, -37.5]])


def test_trace_respects_max_steps_and_fills_grads():
    x = Value(1.0, label="x")
    y = x
    for _ in range(50):
        y = y * 1.0
    lines = viz.trace_backward(y, file=io.StringIO(), max_steps=3)
    assert len([s for s in lines if s.startswith("[")]) == 3
    assert lines[-1] == "... 48 more steps not shown (max_steps=3)"
    assert x.grad == 1.0


def test_trace_and_picture_use_the_same_names():
    a = Value(2.0, label="a")
    y = (a * a + 1.0).relu()
    g = viz.draw_graph(y)
    lines = viz.trace_backward(y, file=io.StringIO())
    picture_names = {label(nodes(g)[v])[0] for v in value_ids(g)}
    trace_names = {s.split()[1] for s in lines if s.startswith("[")}
    assert trace_names == picture_names == {"a", "v1", "v2", "v3"}
    assert "    sends: a += 1.0 * 2.0 = 2.0, a += 1.0 * 2.0 = 2.0" in lines   # a used twice: both add
    assert a.grad == 4.0


def test_trace_tensor_broadcast_grad_is_summed_to_parent_shape():
    b = Tensor([1.0, -1.0], requires_grad=True, name="b")
    x = Tensor(np.ones((3, 2)), name="x")
    loss = (x + b).sum()
    lines = viz.trace_backward(loss, file=io.StringIO())
    assert "    sends: x: none (no grad), b += [3.0, 3.0]" in lines       # 3 rows broadcast onto b
    np.testing.assert_array_equal(b.grad, [3.0, 3.0])


def test_small_arrays_in_full_up_to_six_elements():
    six = Tensor(np.arange(6.0).reshape(2, 3), name="six")
    seven = Tensor(np.arange(7.0), name="seven")
    w = Tensor(1.0, requires_grad=True, name="w")
    g = viz.draw_graph((six * w).sum() + (seven * w).sum())
    nd = nodes(g)
    assert label(nd[find(g, "six")])[3] == "data: [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]"
    assert label(nd[find(g, "seven")])[3] == "data: (7,) min 0.0 mean 3.0 max 6.0"


def test_collapse_stops_once_the_graph_fits():
    x = Value(1.0, label="x")
    a, b = x, x
    for _ in range(50):
        a = a + 1.0
    for _ in range(20):
        b = b * 1.0
    y = a + b
    g = viz.draw_graph(y, max_nodes=40)
    assert g.source.count("nodes hidden") == 1                           # the 50-chain alone suffices
    assert "48 of 72 values hidden" in nodes(g)["note"]
    assert len(value_ids(g)) == 72 - 48


def test_batched_leaf_with_grad_is_an_input():
    X = Tensor(np.ones((4, 2)), requires_grad=True, batched=True, name="X")
    w = Tensor(np.ones(2), requires_grad=True, name="w")
    loss = (X * w).sum()
    g = viz.draw_graph(loss)
    assert label(nodes(g)[find(g, "X")])[1] == "input"
    assert label(nodes(g)[find(g, "w")])[1] == "parameter"


def test_collapse_does_not_hide_a_node_used_twice():
    x = Value(1.0, label="x")
    a = x
    for _ in range(30):
        a = a + 1.0
    m = a * 1.0                                                         # used by two ops below
    b = m
    for _ in range(30):
        b = b + 1.0
    y = b + m * 2.0
    g = viz.draw_graph(y, max_nodes=10)
    assert "56 of 64 values hidden" in nodes(g)["note"]                  # two chains of 30 keep 2 ends each
    vm = "v" + str(31)                                                  # x, 30 adds, then m
    assert label(nodes(g)[vm])[1] == "op: mul"
    assert len([e for e in edges(g) if e[0] == vm]) == 2


# ----------------------------------------------------------------------------- failed ops


class MatMul(nn.Module):
    def __init__(self, n_in: int, n_out: int):
        self.W = Tensor(np.ones((n_in, n_out)), requires_grad=True)

    def forward(self, x):
        return x @ self.W


def test_failed_matmul_in_a_model_is_drawn_in_red():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), MatMul(4, 1))       # 3 features meet a 4-row W
    X = Tensor(np.ones((5, 2)), batched=True, name="X")
    with pytest.raises(ValueError) as info:
        model(X)
    exc = info.value
    assert [t.shape for t in exc.operands] == [(5, 3), (4, 1)] and exc.op == "matmul"
    g = viz.draw_graph(exc, module=model)
    nd = nodes(g)
    failed = [k for k, a in nd.items() if "FAILED" in a]
    assert len(failed) == 1
    fid = failed[0]
    assert label(nd[fid])[:2] == ["matmul: FAILED", "ShapeMismatchError"]  # (a ValueError)
    assert "color=red" in nd[fid] and f'fillcolor="{viz.COLORS["nonfinite"]}"' in nd[fid]
    assert "shape=ellipse" in nd[fid]
    relu_out = [k for k in value_ids(g) if label(nd[k])[1] == "op: relu"]
    assert len(relu_out) == 1
    assert {(relu_out[0], fid), (find(g, "2.W"), fid)} <= edges(g)           # its operands are its parents
    assert not any(e[0] == fid for e in edges(g))                              # and it has no output
    find(g, "0.weight"), find(g, "X")                                          # the graph that led there
    assert f'fillcolor="{viz.COLORS["output"]}"' not in g.source.split("cluster_legend")[0]
    assert "legend_failed" in g.source


def test_draw_graph_of_an_exception_without_operands_is_refused():
    with pytest.raises(TypeError, match="no .operands"):
        viz.draw_graph(ValueError("not from an op"))


# ----------------------------------------------------------------------------- Value MLPs


class Neuron(nn.Module):
    def __init__(self, n_in: int, rng):
        self.w = [Value(float(rng.uniform(-1, 1))) for _ in range(n_in)]
        self.b = Value(0.0)

    def forward(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()


class Layer(nn.Module):
    def __init__(self, n_in: int, n_out: int, rng):
        self.neurons = [Neuron(n_in, rng) for _ in range(n_out)]

    def forward(self, x):
        return [n(x) for n in self.neurons]


class ValueMLP(nn.Module):
    def __init__(self, sizes, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.layers = [Layer(a, b, rng) for a, b in zip(sizes, sizes[1:])]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0]


def value_mlp_cost():
    """A 2-4-4-1 Value MLP on 2 samples, squared-error cost, after backward."""
    model = ValueMLP([2, 4, 4, 1])
    X = [[Value(0.5, label="x0a"), Value(-1.0, label="x0b")], [Value(1.5, label="x1a"), Value(0.2, label="x1b")]]
    cost = (model(X[0]) - 1.0) ** 2 + (model(X[1]) + 1.0) ** 2
    cost.label = "cost"
    cost.backward()
    return model, X, cost


def box_ids(g) -> list:
    """Boxes drawn for values: value boxes, module boxes and hidden-chain boxes."""
    return [k for k in nodes(g) if re.fullmatch(r"[vgh]\d+", k)]


def test_value_mlp_is_grouped_one_box_per_neuron_under_max_nodes():
    model, X, cost = value_mlp_cost()
    full = viz.draw_graph(cost, module=model, max_nodes=None)
    assert len(box_ids(full)) > 150 and "g0" not in nodes(full)
    g = viz.draw_graph(cost, module=model, max_nodes=60)
    nd = nodes(g)
    assert len(box_ids(g)) < 60
    groups = {label(a)[0]: k for k, a in nd.items() if re.fullmatch(r"g\d+", k)}
    expected = {f"layers.{i}.neurons.{j}: Neuron" for i, n in enumerate((4, 4, 1)) for j in range(n)}
    assert set(groups) == expected                                            # one box per neuron
    n0 = label(nd[groups["layers.0.neurons.0: Neuron"]])
    neuron = model.layers[0].neurons[0]
    assert n0[1] == "10 ops (mul, add, tanh); 2 output(s)"                    # 2 samples, 5 ops each
    assert f"w.0 = {viz.common.summary(neuron.w[0].data)}, grad {viz.common.summary(neuron.w[0].grad)}" in n0
    for name in ("x0a", "x0b", "x1a", "x1b", "cost"):
        find(g, name)                                                          # data and the cost stay
    assert label(nd[find(g, "x0a")])[1] == "input"
    e = edges(g)
    assert (find(g, "x0a"), groups["layers.0.neurons.0: Neuron"]) in e
    assert (groups["layers.0.neurons.0: Neuron"], groups["layers.1.neurons.2: Neuron"]) in e
    assert "values grouped into 9 module box(es)" in nd["note"]


def test_value_groups_lift_to_layers_and_work_without_a_module():
    model, X, cost = value_mlp_cost()
    g = viz.draw_graph(cost, module=model, max_nodes=15)
    titles = sorted(label(a)[0] for k, a in nodes(g).items() if re.fullmatch(r"g\d+", k))
    assert titles == ["layers.0: Layer", "layers.1: Layer", "layers.2: Layer"]
    assert len(box_ids(g)) <= 15
    g2 = viz.draw_graph(cost, max_nodes=60)                                   # no module: type names
    titles2 = [label(a)[0] for k, a in nodes(g2).items() if re.fullmatch(r"g\d+", k)]
    assert sorted(titles2) == sorted(f"Neuron #{i}" for i in range(1, 10))
    assert len(box_ids(g2)) < 60
    assert label(nodes(g2)[find(g2, "x1b")])[1] == "input"                     # data, not a parameter


def test_value_parameters_and_data_with_a_module():
    model, X, cost = value_mlp_cost()
    g = viz.draw_graph(cost, module=model, max_nodes=None, legend=False)
    nd = nodes(g)
    w = nd[find(g, "layers.1.neurons.3.w.2")]
    assert label(w)[1] == "parameter" and f'fillcolor="{viz.COLORS["parameter"]}"' in w
    x = nd[find(g, "x1a")]
    assert label(x)[1] == "input" and f'fillcolor="{viz.COLORS["input"]}"' in x
    cl = clusters(g)                                                           # a frame per neuron
    assert len(cl) == 9 and len(cl["layers.2.neurons.0: Neuron"]) == 2 * (2 * 9) + 5
    # built outside any module (a bare neuron): nothing tells data from parameters
    *_, c = value_neuron()
    bare = viz.draw_graph(c)
    assert label(nodes(bare)[find(bare, "x")])[1] == "parameter"


def test_nonfinite_value_inside_a_group_makes_it_red():
    model, X, cost = value_mlp_cost()
    model.layers[1].neurons[1].w[0].grad = float("nan")
    g = viz.draw_graph(cost, module=model, max_nodes=60)
    nd = nodes(g)
    (bad,) = [k for k, a in nd.items() if re.fullmatch(r"g\d+", k) and "color=red" in a]
    assert label(nd[bad])[0] == "layers.1.neurons.1: Neuron" and "NaN/Inf in 1 value(s) inside" in label(nd[bad])


# ----------------------------------------------------------------------------- trace: stale grads, per sample


def test_trace_refuses_to_double_gradients():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    y = a * b
    y.backward()
    with pytest.raises(RuntimeError, match=r"a, b already hold gradients.*double.*zero_grad=True"):
        viz.trace_backward(y, file=io.StringIO())
    assert (a.grad, b.grad) == (-3.0, 2.0)                                     # nothing changed
    lines = viz.trace_backward(y, file=io.StringIO(), zero_grad=True)
    assert lines[0] == "zero_grad=True: cleared the gradients already held by a, b"
    assert lines[1] == "[1] v2 = a * b = -6.0; dv2/dv2 = 1.0"
    assert (a.grad, b.grad) == (-3.0, 2.0)                                     # once, not twice
    model, X, Y, loss = tensor_neuron()
    before = model[0].weight.grad.copy()
    with pytest.raises(RuntimeError, match="weight.*model.zero_grad"):
        viz.trace_backward(loss, module=model, file=io.StringIO())
    np.testing.assert_array_equal(model[0].weight.grad, before)
    viz.trace_backward(loss, module=model, file=io.StringIO(), zero_grad=True)
    np.testing.assert_allclose(model[0].weight.grad, before, rtol=1e-15)
    with pytest.raises(TypeError, match="zero_grad"):
        viz.trace_backward(loss, zero_grad="yes")


def test_trace_of_a_batched_graph_shows_per_sample_shapes():
    model = nn.Linear(3, 1, rng=0)
    model.weight.data = np.array([[1.0, 0.0, -1.0]])
    model.bias.data = np.array([0.5])
    X = Tensor(np.arange(24.0).reshape(8, 3), batched=True, name="X")
    loss = nn.mse_loss(model(X), Tensor(np.zeros((8, 1)), batched=True, name="Y"))
    lines = viz.trace_backward(loss, module=model, file=io.StringIO())
    assert lines[5] == ("    sends: X: none (no grad), weight += [[-31.5, -34.5, -37.5]] (per sample: (8, 1, 3)), "
                        "bias += [-3.0] (per sample: (8, 1))")
    assert lines[6].endswith("weight.grad += [[-31.5, -34.5, -37.5]] (per sample: (8, 1, 3))")
    assert lines[2] == "    sends: v3 += (8, 1) min -0.375 mean -0.375 max -0.375, Y: none (no grad)"
    gs = model.weight.grad_sample                                              # the traced backward kept them
    per_sample = 2 * (X.data @ model.weight.data.T + 0.5) * X.data             # d(err_b^2)/dW of each sample
    np.testing.assert_allclose(gs, per_sample[:, None, :], rtol=1e-12)
    # through a transpose on the parameter side: the shape is carried to the leaf
    w = Tensor(np.ones((1, 3)), requires_grad=True, name="w")
    out = viz.trace_backward(((X @ w.T) ** 2).mean(), file=io.StringIO())
    assert any(s.endswith("(per sample: (8, 3, 1))") for s in out)
    assert out[-1].endswith("(per sample: (8, 1, 3))") and w.grad_sample.shape == (8, 1, 3)
