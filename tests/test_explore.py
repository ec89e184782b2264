"""The graph explorer: a self-contained page whose data match the graph, gradients untouched,
and (in headless Chromium, when the playwright package and Debian's chromium are present)
clicks, backward steps, search, module frames and red non-finite nodes that work."""

from __future__ import annotations

import html as htmlmod
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import demo, graph
from tinygrad_lite import explore as explore_mod
from tinygrad_lite.explore import Explorer, array_info, dot_source, explore

HAVE_DOT = shutil.which("dot") is not None


# ------------------------------------------------------------------------------ graphs -----
def mlp_graph(batched: bool = True) -> tuple:
    """A 3-4-1 ReLU net on 5 samples, every value named: (model, loss, names by node)."""
    model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 1, rng=1))
    rng = np.random.default_rng(0)
    x = tl.Tensor(rng.standard_normal((5, 3)), batched=batched, name="x")
    t = tl.Tensor(rng.standard_normal((5, 1)), batched=batched, name="t")
    h = model[0](x)
    h.name = "h"
    r = model[1](h)
    r.name = "r"
    pred = model[2](r)
    pred.name = "pred"
    loss = tl.nn.mse_loss(pred, t)
    loss.name = "loss"
    return model, loss


def names_of(model: Any, loss: Any) -> dict:
    """node -> the name the explorer must show (parameter names from the module)."""
    pn = {p: n for n, p in model.named_parameters()}
    return {nd: pn.get(nd, nd.name) for nd in graph.toposort(loss)}


def nan_graph() -> Any:
    a = tl.Tensor([-1.0, 1.0, 4.0], requires_grad=True, name="a")
    logs = a.log()
    logs.name = "logs"
    s = logs.sum()
    s.name = "s"
    return s


def parse_payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="payload">(.*?)</script>', page, re.S)
    assert m, "no payload element"
    return json.loads(m.group(1))


def by_name(payload: dict) -> dict:
    return {n["name"]: n for n in payload["nodes"]}


# ------------------------------------------------------------------------------ structure --
EXTERNAL = [
    re.compile(r"""\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:|//|ftp:)""", re.I),
    re.compile(r"<script[^>]*\bsrc\s*=", re.I),
    re.compile(r"<link\b", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:|//)""", re.I),
    re.compile(r"""\bfetch\(|XMLHttpRequest|WebSocket|EventSource|import\(""", re.I),
]


@pytest.mark.parametrize("layout", ["auto", "layered"])
def test_page_is_self_contained(tmp_path: Path, layout: str) -> None:
    model, loss = mlp_graph()
    loss.backward()
    path = explore(loss, model, layout=layout).save(tmp_path / "sub" / "g.html")
    page = Path(path).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for pat in EXTERNAL:
        assert not pat.search(page), f"external reference: {pat.pattern}: {pat.search(page).group(0)!r}"
    assert page.count("<svg") == 1 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "window.__explorerReady = performance.now()" in page
    with_dot = layout == "auto" and HAVE_DOT
    assert ("Layout by Graphviz's dot." in page) if with_dot else ("Simple layered layout" in page)


def test_payload_matches_graph() -> None:
    model, loss = mlp_graph()
    ex = explore(loss, model)
    p = parse_payload(ex.html())
    assert p == json.loads(json.dumps(ex.payload))
    nodes = by_name(p)
    names = names_of(model, loss)
    ids = {}
    for nd, nm in names.items():
        n = nodes[nm]
        ids[nd] = n["id"]
        assert n["shape"] == list(nd.shape) and n["dtype"] == str(nd.dtype)
        assert n["op"] == (nd._op.name if nd._op else "")
        assert n["rule"] == (nd._op.rule if nd._op else "")
        np.testing.assert_array_equal(n["data"]["values"], nd.data.reshape(-1)[:explore_mod.PREVIEW])
        d = nd.data.astype(np.float64)
        assert n["data"]["min"] == d.min() and n["data"]["max"] == d.max()
        assert n["data"]["mean"] == pytest.approx(d.mean(), rel=1e-12)
        assert n["data"]["norm"] == pytest.approx(np.linalg.norm(d), rel=1e-12)
        assert n["grad"] is None  # no backward was run, and the explorer did not store one
    for nd, nm in names.items():  # parents by id, in order
        assert nodes[nm]["parents"] == [ids.get(q) or nodes[q.name]["id"] for q in nd._parents]
    assert nodes["x"]["kind"] == "input" and nodes["0.weight"]["kind"] == "parameter"
    assert nodes["loss"]["kind"] == "output" and p["root"] == nodes["loss"]["id"]
    # frames: each Linear holds its weight, bias, the linear op and its output; ReLU its op and output
    frames = {c["label"]: set(c["members"]) for c in p["clusters"]}
    assert set(frames) == {"0: Linear", "1: ReLU", "2: Linear"}
    assert frames["0: Linear"] == {nodes[k]["id"] for k in ("0.weight", "0.bias", "h")} | {nodes["h"]["opid"]}
    assert frames["1: ReLU"] == {nodes["r"]["id"], nodes["r"]["opid"]}
    assert all(c["parent"] is None for c in p["clusters"])  # (siblings: no frame holds another)
    assert nodes["x"]["module"] is None
    # steps: the walker's reverse topological order; cotangents equal a real backward's grads
    order = list(reversed(graph.toposort(loss)))
    assert [s["node"] for s in p["steps"]] == [ids[nd] for nd in order]
    loss.backward(per_sample=False)
    for s, nd in zip(p["steps"], order):
        np.testing.assert_allclose(s["received"]["values"], nd.grad.reshape(-1)[:8], rtol=1e-12)
        assert s["received"]["norm"] == pytest.approx(np.linalg.norm(nd.grad), rel=1e-12)
        assert s["leaf"] == (nd._op is None)
        for send, q in zip(s["sends"], nd._parents):
            assert send["parent"] == (ids.get(q) or nodes[q.name]["id"])
            if not q.requires_grad:
                assert send["cot"] is None
            else:  # every value here has one consumer: what it is sent is its whole gradient
                np.testing.assert_allclose(send["cot"]["values"], q.grad.reshape(-1)[:8], rtol=1e-12)
                assert send["cot"]["shape"] == list(q.shape)


def test_value_graph_steps_and_rules() -> None:
    a, b = tl.Value(2.0, label="a"), tl.Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    ex = explore(d)
    nodes = by_name(ex.payload)
    assert nodes["c"]["op"] == "mul" and nodes["c"]["rule"] == "d(a*b)/da = b, d(a*b)/db = a"
    assert [nodes[k]["grad"]["values"] for k in "abcd"] == [[0.0]] * 4  # nothing stored
    steps = ex.payload["steps"]
    byid = {n["id"]: n["name"] for n in ex.payload["nodes"]}
    assert [byid[s["node"]] for s in steps] == ["d", "c", "b", "a"]
    # d = a*b + a: c sends b -> a (i.e. -3) and a -> b (2); a's total cotangent is b + 1 = -2
    c_step = steps[1]
    assert [(byid[t["parent"]], t["cot"]["values"]) for t in c_step["sends"]] == [("a", [-3.0]), ("b", [2.0])]
    assert steps[3]["received"]["values"] == [-2.0] and steps[3]["leaf"]
    assert a.grad == 0.0 and b.grad == 0.0 and c.grad == 0.0


class _Neuron(tl.nn.Module):
    """tanh(w . x + b) with scalar Values."""

    def __init__(self) -> None:
        self.w = [tl.Value(0.5), tl.Value(-1.0)]
        self.b = tl.Value(0.1)

    def forward(self, x: list) -> Any:
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()


def test_value_module_frames_and_data_inputs() -> None:
    net = tl.nn.Sequential(_Neuron())
    xs = [tl.Value(1.0, label="x0"), tl.Value(2.0, label="x1")]
    out = (net(xs) - 1.0) ** 2
    out.label = "cost"
    p = explore(out, module=net).payload
    nodes = by_name(p)
    assert nodes["0.w.1"]["kind"] == "parameter" and nodes["x0"]["kind"] == "input"
    (frame,) = p["clusters"]
    assert frame["label"] == "0: _Neuron"
    ops_in = sorted(n["op"] for n in p["nodes"] if n["id"] in frame["members"] and n["op"])
    assert ops_in == ["add", "add", "mul", "mul", "tanh"]               # every op computed inside the neuron
    assert {nodes[k]["id"] for k in ("0.w.0", "0.w.1", "0.b")} <= set(frame["members"])
    assert nodes["cost"]["id"] not in frame["members"]
    q = by_name(explore(out).payload)                                   # no module: the neuron that ran is known
    assert q["x1"]["kind"] == "input" and sum(n["kind"] == "parameter" for n in q.values()) == 3


def test_explorer_never_changes_gradients() -> None:
    model, loss = mlp_graph()
    loss.backward()
    nodes = list(graph.toposort(loss))
    before = {nd: (nd.grad, nd.grad.copy()) for nd in nodes}
    gs = {p: p.grad_sample.copy() for p in model.parameters()}
    for _ in range(2):
        explore(loss, model)
    for nd in nodes:
        assert nd.grad is before[nd][0]  # the same array object ...
        np.testing.assert_array_equal(nd.grad, before[nd][1])  # ... holding the same numbers
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad_sample, gs[p])
    loss.backward()  # leaves accumulate exactly once more: the explorer added nothing
    for p in model.parameters():
        np.testing.assert_allclose(p.grad, 2 * before[p][1], rtol=1e-12)
    # and a graph without any backward keeps grad None everywhere
    model2, loss2 = mlp_graph(batched=False)
    explore(loss2, model2)
    assert all(nd.grad is None for nd in graph.toposort(loss2))


def test_explorer_runs_no_user_hook() -> None:
    # a hook may log or even step an optimizer (an optimizer step inside backward): building a
    # page must call none of them, so the weights, the gradients and the log stay as they were
    model, _ = mlp_graph(batched=False)
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    log: list = []
    model.register_full_backward_hook(lambda m, gi, go: log.append("module hook"))
    loss = model(tl.Tensor(np.ones((3, 3)))).sum()
    loss.backward()
    assert log == ["module hook"]
    for p in model.parameters():
        p.register_hook(lambda g: log.append("tensor hook"))
        p.register_post_accumulate_grad_hook(lambda p: (log.append("post hook"), opt.step()))
    log.clear()
    before = [(p.data.copy(), p.grad.copy()) for p in model.parameters()]
    explore(loss, model)
    assert log == []
    for p, (data, grad) in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, data)
        np.testing.assert_array_equal(p.grad, grad)
    loss.backward()  # a real backward runs them all
    assert {"tensor hook", "post hook", "module hook"} == set(log)


def test_per_sample_norms_and_nonfinite() -> None:
    model, loss = mlp_graph()
    loss.backward()
    nodes = by_name(explore(loss, model).payload)
    for name, prm in model.named_parameters():
        want = np.linalg.norm(prm.grad_sample.reshape(5, -1), axis=1)
        np.testing.assert_allclose(nodes[name]["per_sample_norms"]["values"], want, rtol=1e-10)
        assert nodes[name]["grad_sample_shape"] == [5, *prm.shape]
    assert nodes["x"]["per_sample_norms"] is None and nodes["h"]["per_sample_norms"] is None
    s = nan_graph()
    with np.errstate(invalid="ignore"):
        ex = explore(s)
    nodes = by_name(ex.payload)
    assert nodes["logs"]["bad"] == ["NaN in data"]  # its cotangent (ones) is finite
    assert nodes["logs"]["data"]["nan"] == 1 and nodes["logs"]["data"]["values"][0] == "nan"
    assert nodes["logs"]["data"]["min"] == 0.0 and nodes["logs"]["data"]["max"] == pytest.approx(np.log(4))
    assert nodes["a"]["bad"] == [] and nodes["s"]["bad"] == ["NaN in data"]
    if HAVE_DOT:
        assert 'fill="#ffb3b3"' in ex.svg


def test_array_info() -> None:
    info = array_info(np.array([[1.0, -np.inf], [3.0, np.nan]], dtype=np.float32))
    assert info["shape"] == [2, 2] and info["dtype"] == "float32" and info["bad"] == "NaN and Inf"
    assert (info["min"], info["max"], info["mean"], info["nan"], info["inf"]) == (1.0, 3.0, 2.0, 1, 1)
    assert info["norm"] == pytest.approx(np.sqrt(10.0)) and info["values"] == [1.0, "-inf", 3.0, "nan"]
    assert array_info(None) is None
    assert array_info(2.5)["preview"] == "2.5" and array_info(np.arange(10))["preview"].endswith(", ...]")


def test_bad_input_is_refused() -> None:
    model, loss = mlp_graph()
    with pytest.raises(TypeError, match="root"):
        explore(np.ones(3))
    with pytest.raises(TypeError, match="module"):
        explore(loss, module="model")
    with pytest.raises(ValueError, match="layout"):
        explore(loss, layout="circo")
    with pytest.raises(ValueError, match="gradient"):
        explore(model[0](tl.Tensor(np.ones((2, 3)))), gradient=np.ones(3))
    with pytest.raises(TypeError, match="path"):
        explore(loss).save(3)
    assert all(nd.grad is None for nd in graph.toposort(loss))


def test_non_scalar_root_and_seed() -> None:
    x = tl.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * x
    y.name = "y"
    ex = explore(y, gradient=np.array([1.0, -1.0]))
    assert ex.payload["steps"][-1]["received"]["values"] == [2.0, -4.0]
    assert "seeded with ones" in explore(y).payload["note"]
    assert x.grad is None


def test_without_dot_the_layered_layout_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explore_mod.shutil, "which", lambda name: None)
    model, loss = mlp_graph()
    ex = explore(loss, model)
    assert ex.layout == "layered" and "dot program was not found" in ex.layout_note
    page = ex.html()
    assert "Simple layered layout (Graphviz's dot program was not found" in page
    ids = re.findall(r'<g id="([voerc][0-9_]+)" class="(?:node|edge|cluster)"', ex.svg)
    want = {n["id"] for n in ex.payload["nodes"]} | {n["opid"] for n in ex.payload["nodes"] if n["opid"]}
    want |= {e["id"] for e in ex.payload["edges"]} | {c["id"] for c in ex.payload["clusters"]}
    assert set(ids) == want and len(ids) == len(want)
    with pytest.raises(RuntimeError, match="dot"):
        explore(loss, model, layout="dot")


def test_repr_html_isolates_each_explorer() -> None:
    model, loss = mlp_graph()
    a, b = explore(loss, model), explore(nan_graph())
    ra, rb = a._repr_html_(), b._repr_html_()
    for r, ex in ((ra, a), (rb, b)):
        assert r.startswith("<iframe srcdoc=\"") and 'sandbox="allow-scripts"' in r
        inner = htmlmod.unescape(re.match(r'<iframe srcdoc="([^"]*)"', r).group(1))
        assert inner == ex.html()
    assert isinstance(a, Explorer) and "loss" in repr(a)


def test_demo_writes_the_explorer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = demo.main(["--out", str(tmp_path / "out"), "--epochs", "1", "--html"])
    assert Path(r["html"]) == Path("tinygrad_lite_graph.html")
    assert (tmp_path / "tinygrad_lite_graph.html").exists()
    p = parse_payload((tmp_path / "tinygrad_lite_graph.html").read_text(encoding="utf-8"))
    assert {"0.weight", "2.bias", "E", "x"} <= set(by_name(p)) and len(p["clusters"]) == 3  # Linear, Tanh, Linear
    r = demo.main(["--out", str(tmp_path / "out"), "--epochs", "1", "--html", str(tmp_path / "a" / "b.html")])
    assert Path(r["html"]).exists()


DOC = Path(__file__).resolve().parent.parent / "docs" / "debugging.md"


def doc_outputs(text: str) -> list:
    """The outputs the page shows: lines indented by 4 spaces outside code blocks (the
    per-sample trace line comes from tests/test_viz.py's batched trace, not from a block)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and "per sample" not in line:
            out.append(line[4:])
    return out


@pytest.mark.parametrize("dot", [True, False], ids=["with-dot", "without-dot"])
def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, dot: bool) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 9
    monkeypatch.chdir(tmp_path)
    if not dot:
        real = shutil.which
        monkeypatch.setattr(shutil, "which", lambda n, *a, **k: None if n == "dot" else real(n, *a, **k))
        monkeypatch.setenv("PATH", str(tmp_path))  # graphviz's renderer finds no dot either
    for code in blocks:
        exec(compile(code, "my_model.py", "exec"), {})
    out = capsys.readouterr().out.replace(str(tmp_path) + "/", "")
    lines = out.splitlines()
    expected = doc_outputs(text)
    assert len(expected) == 10 and expected[0].startswith("detect_anomaly: the forward of op 'log' in module '2'")
    for line in expected:
        assert line in lines
    layout = "dot" if dot and HAVE_DOT else "layered"
    assert f"<Explorer of 'loss': 10 values, 8 backward steps, layout {layout}>" in out
    assert (tmp_path / "graph.html").exists()
    written = "graph.svg" if dot and HAVE_DOT else "graph.dot"
    assert written in lines and (tmp_path / written).exists()
    assert "already hold gradients" in out
    if not (dot and HAVE_DOT):
        assert "Graphviz's 'dot' program is not installed" in out


# ------------------------------------------------------------------------------ browser ----
def open_page(browser: Any, path: str) -> tuple:
    """A page showing ``path``, every non-file request blocked and recorded; (page, blocked, errors)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    blocked: list = []
    errors: list = []

    def guard(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("request", lambda r: None if r.url.startswith("file://") else blocked.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
    return page, blocked, errors


def test_in_the_browser(browser: Any, tmp_path: Path) -> None:
    model, loss = mlp_graph()
    ex = explore(loss, model)
    path = ex.save(tmp_path / "graph.html")
    page, blocked, errors = open_page(browser, path)
    names = names_of(model, loss)

    # click a value: its details
    page.click('#graph g.node[data-name="pred"][id^="v"]')
    details = page.inner_text("#details")
    assert "pred" in details and "linear" in details and loss._parents[0]._op.rule in details
    classes = page.get_attribute('#graph g.node[data-name="pred"][id^="v"]', "class").split()
    assert "selected" in classes

    # three backward steps, in the walker's order, each showing the cotangent it receives and sends
    order = list(reversed(graph.toposort(loss)))
    loss.backward(per_sample=False)
    for k in range(3):
        page.click("#step")
        nd = order[k]
        current = page.eval_on_selector_all("#graph g.node.current[id^='v']",
                                            "els => els.map(e => e.dataset.name)")
        assert current == [names[nd]]
        assert page.inner_text("#stepview .step-node") == names[nd]
        assert page.inner_text("#stepview .step-received") == array_info(nd.grad)["preview"]
        # every value of this graph has one consumer, so what it is sent is its whole gradient
        sends = page.eval_on_selector_all("#stepview li", "els => els.map(e => e.innerText)")
        want = [f"{names.get(q, q.name)} \u2190 " + (array_info(q.grad)["preview"] if q.requires_grad
                                                      else "nothing (no grad)") for q in nd._parents]
        assert sends == want
        assert page.inner_text("#stepinfo") == f"step {k + 1} / {len(order)}"
    page.click("#reset")
    assert page.eval_on_selector_all("#graph .current", "els => els.length") == 0
    assert page.inner_text("#stepinfo") == f"backward: {len(order)} steps"

    # search by name
    page.fill("#search", "2.bias")
    page.press("#search", "Enter")
    sel = page.eval_on_selector_all("#graph g.node.selected[id^='v']", "els => els.map(e => e.dataset.name)")
    assert sel == ["2.bias"] and page.inner_text("#details h3") == "2.bias"
    page.fill("#search", "no such node")
    page.click("#find")
    assert "no node named" in page.inner_text("#searchmsg")

    # collapse and expand a module frame
    w = '#graph g.node[data-name="0.weight"]'
    assert page.is_visible(w)
    page.click('#modules button[data-cluster="c0"]')
    assert not page.is_visible(w) and "collapsed" in page.get_attribute("#c0", "class")
    assert page.inner_text('#modules button[data-cluster="c0"]') == "expand 0: Linear"
    page.click('#modules button[data-cluster="c0"]')
    assert page.is_visible(w) and "collapsed" not in page.get_attribute("#c0", "class")

    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 1000
    assert blocked == [] and errors == []
    page.close()


def test_nonfinite_is_red_in_the_browser(browser: Any, tmp_path: Path) -> None:
    with np.errstate(invalid="ignore"):
        ex = explore(nan_graph())
    page, blocked, errors = open_page(browser, ex.save(tmp_path / "nan.html"))
    fill = "els => getComputedStyle(els[0].querySelector('polygon')).fill"
    assert page.eval_on_selector_all('#graph g.node[data-name="logs"][id^="v"]', fill) == "rgb(255, 179, 179)"
    assert page.eval_on_selector_all('#graph g.node[data-name="a"][id^="v"]', fill) != "rgb(255, 179, 179)"
    page.click('#graph g.node[data-name="logs"][id^="v"]')
    bad = page.eval_on_selector_all("#details .bad", "els => els.map(e => getComputedStyle(e).color)")
    assert bad and set(bad) == {"rgb(224, 49, 49)"}
    assert "NaN in data" in page.inner_text("#details")
    assert blocked == [] and errors == []
    page.close()


def test_layered_page_in_the_browser(browser: Any, tmp_path: Path) -> None:
    model, loss = mlp_graph()
    path = explore(loss, model, layout="layered").save(tmp_path / "l.html")
    page, blocked, errors = open_page(browser, path)
    page.click('#graph g.node[data-name="h"]')
    assert page.inner_text("#details h3") == "h"
    page.click("#step")
    assert page.inner_text("#stepview .step-node") == "loss"
    page.click("#c2 > text")  # clicking a frame's label collapses it too (c2: "2: Linear")
    assert not page.is_visible('#graph g.node[data-name="2.weight"]')
    assert "Simple layered layout" in page.inner_text("#note")
    assert blocked == [] and errors == []
    page.close()


class _Block(tl.nn.Module):
    def __init__(self) -> None:
        self.inner = tl.nn.Sequential(tl.nn.Linear(3, 3, rng=0), tl.nn.Tanh())
        self.scale = tl.Tensor(np.ones(3), requires_grad=True)

    def forward(self, x: Any) -> Any:
        return self.inner(x) * self.scale


class _Net(tl.nn.Module):
    def __init__(self) -> None:
        self.block = _Block()
        self.head = tl.nn.Linear(3, 1, rng=1)

    def forward(self, x: Any) -> Any:
        return self.head(self.block(x))


def _nested() -> tuple:
    net = _Net()
    return net, net(tl.Tensor(np.ones((2, 3)), name="x")).mean()


def test_frames_nest_as_their_modules_do() -> None:
    net, loss = _nested()
    p = explore(loss, net).payload
    frame = {c["path"]: c for c in p["clusters"]}
    assert set(frame) == {"block", "block.inner.0", "block.inner.1", "head"}
    assert frame["block.inner.0"]["parent"] == frame["block"]["id"] == frame["block.inner.1"]["parent"]
    assert frame["block"]["parent"] is None and frame["head"]["parent"] is None
    assert set(frame["block"]["all"]) == set(frame["block"]["members"]).union(
        *(frame[q]["members"] for q in ("block.inner.0", "block.inner.1")))
    nodes = by_name(p)
    tanh = next(n for n in p["nodes"] if n["op"] == "tanh")
    assert tanh["module"] == frame["block.inner.1"]["id"]  # (the op ran inside the Tanh module)
    assert nodes["block.inner.0.weight"]["module"] == frame["block.inner.0"]["id"]
    src = dot_source(p)  # the inner frames are drawn inside the outer one
    outer = src.index(f"subgraph cluster_{frame['block']['id']} ")
    inner = src.index(f"subgraph cluster_{frame['block.inner.0']['id']} ")
    assert outer < inner < src.index(f"subgraph cluster_{frame['head']['id']} ")
    g = tl.viz.draw_graph(loss, module=net)
    assert g.source.index('label="block: _Block"') < g.source.index('label="block.inner.0: Linear"')


@pytest.mark.parametrize("layout", ["dot", "layered"])
def test_collapsing_a_frame_hides_its_inner_frames_in_the_browser(browser: Any, tmp_path: Path, layout: str) -> None:
    if layout == "dot" and not HAVE_DOT:
        pytest.skip("Graphviz's dot is not installed")
    net, loss = _nested()
    ex = explore(loss, net, layout=layout)
    cid = {c["path"]: c["id"] for c in ex.payload["clusters"]}
    page, blocked, errors = open_page(browser, ex.save(tmp_path / "n.html"))
    inner = '#graph g.node[data-name="block.inner.0.weight"]'
    head = '#graph g.node[data-name="head.weight"]'
    page.click(f'#modules button[data-cluster="{cid["block"]}"]')
    assert not page.is_visible(inner) and page.is_visible(head)
    assert not page.is_visible(f'#{cid["block.inner.0"]}')  # the inner frame's box goes too
    page.fill("#search", "block.inner.0.weight")  # finding a node inside opens the frames around it
    page.press("#search", "Enter")
    assert page.is_visible(inner)
    page.click(f'#modules button[data-cluster="{cid["block.inner.0"]}"]')  # an inner frame stays collapsed
    page.click(f'#modules button[data-cluster="{cid["block"]}"]')
    page.click(f'#modules button[data-cluster="{cid["block"]}"]')
    assert not page.is_visible(inner) and page.is_visible('#graph g.node[data-name="block.scale"]')
    assert blocked == [] and errors == []
    page.close()


def _fake_dot(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = tmp_path / "bin" / "dot"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{exe.parent}:{__import__('os').environ['PATH']}")


def test_a_dot_that_crashes_is_named_with_its_signal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, "kill -SEGV $$", monkeypatch)
    _, loss = _nested()
    with pytest.raises(RuntimeError, match="explore: dot failed: dot was killed by SIGSEGV"):
        explore(loss, layout="dot")
    ex = explore(loss)  # auto: the layered layout, saying why
    assert ex.layout == "layered" and "killed by SIGSEGV" in ex.layout_note


def test_auto_layout_does_not_wait_long_for_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dot(tmp_path, "exec sleep 30", monkeypatch)
    monkeypatch.setattr(explore_mod, "DOT_WAIT", 0.5)
    _, loss = _nested()
    ex = explore(loss)
    assert ex.layout == "layered" and ex.layout_note == "dot did not finish within 0.5 s"


def test_stepping_marks_visited_values_once_and_again_after_reset(browser: Any, tmp_path: Path) -> None:
    model, loss = mlp_graph()
    page, blocked, errors = open_page(browser, explore(loss, model).save(tmp_path / "steps.html"))
    visited = "els => els.length"
    for k in range(4):
        page.click("#step")
        assert page.eval_on_selector_all("#graph g.node.visited[id^='v']", visited) == k
    page.click("#reset")
    assert page.eval_on_selector_all("#graph .visited", visited) == 0
    page.click("#step")
    page.click("#step")
    assert page.eval_on_selector_all("#graph g.node.visited[id^='v']", visited) == 1
    assert blocked == [] and errors == []
    page.close()


def test_fit_keeps_a_long_chain_visible(browser: Any, tmp_path: Path) -> None:
    x = tl.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3000):  # (fit made such a picture 0 px wide)
        y = y * 1.001
    page, blocked, errors = open_page(browser, explore(y.sum(), layout="layered").save(tmp_path / "chain.html"))
    page.click("#zoomfit")
    size = page.eval_on_selector("#graph svg", "s => [s.getAttribute('width'), s.getAttribute('height')]")
    assert all(int(v[:-2]) >= 1 for v in size), size
    assert blocked == [] and errors == []
    page.close()


def test_a_norms_pass_says_no_grad_sample_is_kept(browser: Any, tmp_path: Path) -> None:
    model = tl.nn.Linear(3, 2, rng=0)
    x = tl.Tensor(np.ones((6, 3)), batched=True)
    loss = model(x).pow(2).mean()
    loss.backward(per_sample="norms")
    assert model.weight.grad_sample is None and model.weight.grad_sample_norm is not None
    page, blocked, errors = open_page(browser, explore(loss, model).save(tmp_path / "norms.html"))
    page.click('#graph g.node[data-name="weight"][id^="v"]')
    details = page.inner_text("#details")
    assert "per-sample gradient norms (no grad_sample kept: a norms pass)" in details
    assert "grad_sample shape" not in details
    assert blocked == [] and errors == []
    page.close()


def test_names_xml_refuses_are_escaped_in_saved_svg(tmp_path: Path) -> None:
    import xml.dom.minidom

    x = tl.Tensor([1.0], requires_grad=True, name="a\ufffeb\uffff")
    y = (x * 2).sum()
    y.backward()
    src = tl.viz.draw_graph(y).source
    assert "\ufffe" not in src and "\\ufffe" in src and "\\uffff" in src
    if shutil.which("dot"):
        path = tl.viz.save(y, tmp_path / "g.svg")
        xml.dom.minidom.parse(str(path))  # (it raised: U+FFFE is not an XML character)


def test_stepping_inside_a_notebook_frame_scrolls_only_the_graph(browser: Any, tmp_path: Path) -> None:
    """Step centres the current value by scrolling the graph box, not the page around the
    notebook's frame (which a scrollIntoView moved)."""
    model, loss = mlp_graph()
    host = tmp_path / "notebook.html"
    host.write_text('<!DOCTYPE html><html><body><div style="height:2000px">above</div>'
                    + explore(loss, model)._repr_html_() + '<div style="height:3000px">below</div></body></html>')
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(host.resolve().as_uri())
    page.evaluate("window.scrollTo(0, 1300)")
    frame = page.frames[1]
    frame.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
    for _ in range(3):
        frame.evaluate('document.getElementById("step").click()')
        page.wait_for_timeout(100)
        assert page.evaluate("scrollY") == 1300
    assert errors == []
    page.close()


def test_a_value_receiving_a_gradient_is_shown_even_in_a_collapsed_frame(browser: Any, tmp_path: Path) -> None:
    m = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.ReLU(), tl.nn.Linear(4, 1, rng=1))
    loss = tl.nn.mse_loss(m(tl.Tensor(np.ones((5, 3)), name="x")), tl.Tensor(np.zeros((5, 1)), name="t"))
    loss.backward()
    page, blocked, errors = open_page(browser, explore(loss, m).save(tmp_path / "collapsed.html"))
    for button in page.query_selector_all("#modules button"):
        button.click()  # every frame collapsed
    for _ in range(3):
        page.click("#step")
        shown = page.evaluate('Array.from(document.querySelectorAll("#graph .receiving"))'
                              '.map(e => getComputedStyle(e).display)')
        assert shown and "none" not in shown
    assert blocked == [] and errors == []
    page.close()


def test_an_explorer_whose_frame_has_no_size_yet_fits_once_it_has_one(browser: Any, tmp_path: Path) -> None:
    """A notebook may run the page's script while its frame is 0 x 0 (hidden, or not laid out
    yet): the first fit waits for a size instead of opening at the smallest zoom."""
    a, b = tl.Value(2.0), tl.Value(-3.0)
    d = ((a * b + a.tanh()) ** 2).relu() / 4.0
    d.backward()
    host = tmp_path / "hidden.html"
    host.write_text('<!DOCTYPE html><html><body><div id="o" style="display:none">' + explore(d)._repr_html_()
                    + "</div></body></html>")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(host.resolve().as_uri())
    frame = page.frames[1]
    frame.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
    page.evaluate('document.getElementById("o").style.display = "block"')
    page.wait_for_timeout(300)
    width = frame.evaluate('parseFloat(document.querySelector("#graph svg").getAttribute("width"))')
    full = frame.evaluate('document.querySelector("#graph svg").viewBox.baseVal.width')
    box = frame.evaluate('document.getElementById("graph").clientWidth')
    assert width == pytest.approx(min(full, box * 0.98), abs=2)
    page.close()


def test_a_very_long_name_wraps_in_the_side_panel(browser: Any, tmp_path: Path) -> None:
    w = tl.Tensor([1.0, 2.0], requires_grad=True, name="L" * 5000)
    s = (w * 2.0).sum()
    s.backward()
    page, blocked, errors = open_page(browser, explore(s).save(tmp_path / "long.html"))
    page.click("#v0")
    wide, shown = page.evaluate('[document.getElementById("side").scrollWidth, '
                                'document.getElementById("side").clientWidth]')
    assert wide <= shown + 1
    assert blocked == [] and errors == []
    page.close()


def test_an_automatic_name_never_repeats_a_name_a_user_gave() -> None:
    a = tl.Tensor([1.0], requires_grad=True)  # unnamed: would be v0
    b = tl.Tensor([2.0], requires_grad=True, name="v0")
    names = [n["name"] for n in explore((a * b).sum()).payload["nodes"]]
    assert len(set(names)) == len(names) and "v0" in names
