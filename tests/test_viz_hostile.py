"""Hostile and careless input to the debugging tools (``tl.viz``): names that carry DOT, HTML
or script syntax, control characters, odd graphs and graphs far too big to show.

A picture must render with ``dot`` and show every name as written; the explorer page must
show names as text and never run them (checked in headless Chromium when the playwright
package and Debian's chromium are present, skipped cleanly otherwise); big graphs must be
refused or reduced quickly, saying so.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import graph
from tinygrad_lite.viz.explorer import Explorer

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot program is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"

# names that mean something to DOT, HTML, XML, JavaScript or the page template
HOSTILE = [
    'say "hi"',
    "back\\slash",
    "ends with \\",
    "\\n\\l\\N",
    "</script><script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=2">',
    "\"'><svg onload=window.pwned=3>",
    "]]>",
    "{a|b}<c>",
    "<b>bold</b>",
    "&lt;&amp;",
    "__SVG__ __PAYLOAD__ __NOTE__",
    "<!-- x",
    "caf\u00e9 \u4e2d\u6587 \U0001F600",
    "node",
    "y" * 240,  # long, yet with ".weight" or ": Linear" still within the 256 characters shown whole
]


def svg_texts(svg: str) -> list:
    """The text lines of an SVG (parsed as XML, so the SVG must be well formed)."""
    root = ElementTree.fromstring(svg[svg.index("<svg"):])
    return [e.text or "" for e in root.iter(SVG_NS + "text")]


def render(g: Any) -> str:
    r = subprocess.run(["dot", "-Tsvg"], input=g.source.encode("utf-8"), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    return r.stdout.decode("utf-8")


def linear_graph(name: str) -> tuple:
    """A Linear layer under the ModuleDict key ``name`` (dots dropped: keys may not have
    them), its input and its output both called ``name``; backward done."""
    key = name.replace(".", "")
    md = tl.nn.ModuleDict({key: tl.nn.Linear(2, 1, rng=0)})
    x = tl.Tensor(np.array([[1.0, 2.0], [3.0, -1.0]]), batched=True, name=name)
    y = md[key](x).sum()
    y.name = name
    y.backward()
    return md, key, y


# ------------------------------------------------------------------------------ pictures ---
@needs_dot
@pytest.mark.parametrize("name", HOSTILE, ids=lambda s: repr(s[:24]))
def test_dot_shows_hostile_names_as_written(name: str) -> None:
    md, key, y = linear_graph(name)
    texts = svg_texts(render(tl.viz.draw_graph(y, module=md)))
    assert texts.count(name) == 2  # the input x and the output y
    assert f"{key}.weight" in texts and f"{key}: Linear" in texts


@needs_dot
def test_a_label_shaped_like_html_is_text() -> None:
    """Graphviz reads a label that starts with '<' and ends with '>' as an HTML-like label;
    a module box whose title and last parameter name make that shape must stay text."""

    class Unit(tl.nn.Module):
        def __init__(self) -> None:
            self.w = {"y": tl.Value(1.0), "x>": tl.Value(0.5)}

        def forward(self, x: Any) -> Any:
            return (self.w["y"] + self.w["x>"] * x).tanh()

    md = tl.nn.ModuleDict({"<a": Unit()})
    cost = sum((md["<a"](tl.Value(float(i))) for i in range(30)), tl.Value(0.0))
    cost.backward()
    g = tl.viz.draw_graph(cost, module=md, max_nodes=100, show_data=False, show_grad=False)
    texts = svg_texts(render(g))
    assert "<a: Unit" in texts and "w.x>" in texts and "w.y" in texts


def cut(name: str) -> str:
    """A name over 256 characters as a box shows it: the first 192 and the last 32 characters
    around the count of those left out."""
    return f"{name[:192]} ...({len(name) - 224} characters)... {name[-32:]}"


@needs_dot
@pytest.mark.parametrize("name", ["x" * 20000, "&" * 4000, "\\" * 9000], ids=["x20000", "amp4000", "bs9000"])
def test_very_long_names_are_cut_in_the_middle(name: str, tmp_path: Path) -> None:
    """Graphviz 2.43 refuses a label over 16384 characters; a box shows a long name cut."""
    md, key, y = linear_graph(name)
    texts = svg_texts(render(tl.viz.draw_graph(y, module=md)))
    assert texts.count(cut(name)) == 2 and cut(f"{key}.weight") in texts and cut(f"{key}: Linear") in texts
    ex = tl.viz.explore(y, md)
    assert ex.layout == "dot", ex.layout_note
    assert svg_texts(ex.svg).count(cut(name)) == 2
    assert ex.payload["root_name"] == name  # the panel and the search keep the whole name
    lines = tl.viz.trace_backward(y, file=io.StringIO(), zero_grad=True)
    assert lines[1].startswith(f"[1] {name} = ")


def test_page_text_is_never_taken_for_a_placeholder() -> None:
    a = tl.Value(2.0, label="__SVG__ __PAYLOAD__ __NOTE__ __JS__")
    y = a * 2
    ex = tl.viz.explore(y, layout="layered")
    note = "dot failed: near '__SVG__ __PAYLOAD__ __TITLE__ __CSS__ __NOTE__'"
    page = Explorer(ex.payload, ex.svg, "layered", note).html()
    assert note in page and page.count("<svg") == 1 and page.count('id="payload"') == 1


CONTROL = [("nul\x00x", "nul\\x00x"), ("esc\x1bx", "esc\\x1bx"), ("bell\x07", "bell\\x07"),
           ("cr\rx", "cr\\rx"), ("del\x7f", "del\\x7f"), ("lone \ud800 surrogate", "lone \\ud800 surrogate")]


@needs_dot
@pytest.mark.parametrize("name,shown", CONTROL)
def test_control_characters_are_shown_as_escapes(name: str, shown: str, tmp_path: Path) -> None:
    md, key, y = linear_graph(name)
    path = tl.viz.save(tl.viz.draw_graph(y, module=md), tmp_path / "g.svg")
    texts = svg_texts(Path(path).read_text(encoding="utf-8"))  # well-formed XML, UTF-8
    assert texts.count(shown) == 2 and f"{shown}: Linear" in texts
    for layout in ("auto", "layered"):
        ex = tl.viz.explore(y, md, layout=layout)
        assert ex.layout == ("dot" if layout == "auto" else "layered"), ex.layout_note
        ex.save(tmp_path / "p.html")
        assert shown in svg_texts(ex.svg)
        assert {n["name"] for n in ex.payload["nodes"]} >= {shown, f"{shown}.weight"}
    # the trace goes to a strict UTF-8 stream, as a terminal's stdout
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    lines = tl.viz.trace_backward(y, file=out, zero_grad=True)
    out.flush()
    assert any(line.startswith(f"[1] {shown} = ") for line in lines)


# ------------------------------------------------------------------------------ odd graphs -
def _odd_graphs() -> dict:
    def zero_d() -> Any:
        a = tl.Tensor(3.0, requires_grad=True, name="a")
        return a * a

    def detached_branch() -> Any:
        a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
        return (a * (a * 3).detach()).sum()

    def leaf_used_often() -> Any:
        a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
        y = a
        for _ in range(40):
            y = y * a
        return y.sum()

    def integer_input() -> Any:
        a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
        return (a * tl.Tensor(np.array([1, 2]), name="i")).sum()

    def empty() -> Any:
        return (tl.Tensor(np.zeros((0, 3)), requires_grad=True, name="a") * 2).sum()

    def float16_overflow() -> Any:
        a = tl.Tensor(np.array([300.0, 2.0], dtype=np.float16), requires_grad=True, name="a")
        return (a * a).sum()  # 300**2 overflows float16

    def value_nan() -> Any:
        a = tl.Value(float("nan"), label="a")
        return a * tl.Value(2.0, label="b")

    return {f.__name__: f for f in (zero_d, detached_branch, leaf_used_often, integer_input, empty,
                                    float16_overflow, value_nan)}


ODD = _odd_graphs()


@pytest.mark.parametrize("name", list(ODD))
def test_odd_graphs_draw_explore_and_trace(name: str) -> None:
    with np.errstate(all="ignore"):
        y = ODD[name]()
        y.backward()
        y.backward()  # a second backward: gradients doubled, the graph still drawable
        order = graph.toposort(y, every=True)
        before = [None if n.grad is None else np.array(n.grad, copy=True) for n in order]
        ex = tl.viz.explore(y, layout="layered")
        after = [None if n.grad is None else np.asarray(n.grad) for n in order]
        g = tl.viz.draw_graph(y)
        lines = tl.viz.trace_backward(y, file=io.StringIO(), zero_grad=True, max_steps=3)
    for b, a in zip(before, after):  # exploring changed no gradient
        assert (a is None) if b is None else np.array_equal(a, b, equal_nan=True)
    # red marks: exactly the values whose data holds a NaN or an Inf (numpy decides)
    for info, node in zip(ex.payload["nodes"], order):
        bad_data = not np.all(np.isfinite(np.asarray(node.data, dtype=np.float64)))
        assert ("in data" in " ".join(info["bad"])) == bad_data, (info["name"], info["bad"])
    if HAVE_DOT:
        render(g)
    steps = len(graph.toposort(y))
    assert sum(1 for s in lines if s.startswith("[")) == min(3, steps)
    if steps > 3:
        assert lines[-1] == f"... {steps - 3} more steps not shown (max_steps=3)"


def stepped_linear() -> tuple:
    """A Linear layer's batched loss after backward and an SGD step: a graph whose weight
    changed in place since the forward, so backward() refuses it."""
    m = tl.nn.Linear(2, 1, rng=0)
    loss = m(tl.Tensor(np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), batched=True, name="x")).sum()
    loss.name = "loss"
    loss.backward()
    tl.optim.SGD(m.parameters(), lr=0.1).step()
    return m, loss


def test_explorer_refuses_to_trace_a_graph_changed_in_place() -> None:
    m, loss = stepped_linear()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    grads = [p.grad.copy() for p in m.parameters()]
    ex = tl.viz.explore(loss, m, layout="layered")
    assert "changed in place" in (ex.payload["backward_error"] or "") and ex.payload["steps"] == []
    assert all(n["cot"] is None for n in ex.payload["nodes"])
    assert all(np.array_equal(p.grad, g) for p, g in zip(m.parameters(), grads))
    i = tl.Tensor(np.array([1, 2]), name="i")
    i._rg = True  # past the requires_grad setter (which refuses it): backward() refuses an integer leaf too
    y = (tl.Tensor([1.0, 2.0], requires_grad=True, name="a") * i).sum()
    with pytest.raises(TypeError, match="only floating-point tensors"):
        y.backward()
    ex = tl.viz.explore(y, layout="layered")
    assert "only floating-point tensors" in (ex.payload["backward_error"] or "") and ex.payload["steps"] == []


def test_a_refused_trace_with_zero_grad_clears_nothing() -> None:
    m, loss = stepped_linear()
    grads = [(p.grad.copy(), p.grad_sample.copy()) for p in m.parameters()]
    with pytest.raises(RuntimeError, match="changed in place"):
        tl.viz.trace_backward(loss, module=m, zero_grad=True, file=io.StringIO())
    for p, (g, gs) in zip(m.parameters(), grads):
        assert np.array_equal(p.grad, g) and np.array_equal(p.grad_sample, gs)
    a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
    y = a * a
    y.sum().backward()
    with pytest.raises(RuntimeError, match="pass gradient="):
        tl.viz.trace_backward(y, zero_grad=True, file=io.StringIO())  # a non-scalar root needs gradient=
    assert np.array_equal(a.grad, [2.0, 4.0])
    out = io.StringIO()
    lines = tl.viz.trace_backward(y, gradient=np.ones(2), zero_grad=True, file=out)
    assert lines[0] == "zero_grad=True: cleared the gradients already held by a" and lines[1].startswith("[1] ")
    assert out.getvalue().splitlines() == lines and np.array_equal(a.grad, [2.0, 4.0])  # cleared, then 2a


def test_a_trace_that_fails_midway_with_zero_grad_puts_the_gradients_back() -> None:
    # detect_anomaly refuses the sweep after its first step, once the clearing was done: the
    # gradients held before come back, as a failed backward() writes none
    w = tl.Tensor([0.0, 4.0], requires_grad=True, name="w")
    v = tl.Value(0.0, label="v")
    w.grad = np.array([5.0, 5.0])
    v.grad = 3.0
    with tl.detect_anomaly():
        for root, leaf, held in ((w.sqrt().sum(), w, w.grad), ((v ** 0.5) * 2.0, v, 3.0)):
            with pytest.raises(FloatingPointError, match="sqrt|pow"):
                tl.viz.trace_backward(root, zero_grad=True, file=io.StringIO())
            assert leaf.grad is held if isinstance(held, np.ndarray) else leaf.grad == held


@pytest.mark.parametrize("name", [7, 0, 2.5, ("a", 1)], ids=repr)
def test_a_name_assigned_as_another_type_is_shown_as_its_str(name: Any) -> None:
    # Tensor(name=7) is refused, but x.name = 7 is a plain assignment: every tool shows str(name)
    x = tl.Tensor([1.0], requires_grad=True)
    x.name = name
    y = (x * 2).sum()
    y.backward()
    shown = str(name)
    assert html.escape(shown) in tl.viz.draw_graph(y).source or shown in tl.viz.draw_graph(y).source
    assert any(n["name"] == shown for n in tl.viz.explore(y, layout="layered").payload["nodes"])
    x.grad = None
    lines = tl.viz.trace_backward(y, file=io.StringIO())
    assert lines[-1].startswith(f"[3] {shown} = [1.0] (leaf)")


# ------------------------------------------------------------------------------ big graphs -
def value_chain(n: int) -> Any:
    x = tl.Value(0.5, label="x")
    y = x
    for i in range(n):
        y = y * 0.999999 if i % 2 else y + 0.0
    return y


def test_explore_refuses_a_huge_graph_at_once() -> None:
    y = value_chain(200_000)
    y.backward()
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"explore: the graph has 200001 values, more than max_nodes=10000"):
        tl.viz.explore(y)
    with pytest.raises(ValueError, match=r"more than max_nodes=10"):
        tl.viz.explore(value_chain(20), max_nodes=10)
    assert time.perf_counter() - t < 20
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="explore: max_nodes"):
            tl.viz.explore(value_chain(3), max_nodes=bad)
    small = value_chain(12000)  # over the default, built on request
    small.backward()
    ex = tl.viz.explore(small, max_nodes=None, layout="layered")
    assert len(ex.payload["nodes"]) == 12001 and len(ex.payload["steps"]) == 12001


def test_auto_layout_lays_out_a_big_graph_itself_and_says_why() -> None:
    y = value_chain(2000)
    y.backward()
    t = time.perf_counter()
    ex = tl.viz.explore(y)
    assert ex.layout == "layered" and "2001 values" in ex.layout_note and "layout='dot'" in ex.layout_note
    assert time.perf_counter() - t < 60  # (dot takes minutes on such a graph)
    small = value_chain(50)
    small.backward()
    if shutil.which("dot"):
        assert tl.viz.explore(small).layout == "dot"


def test_200k_chain_is_drawn_and_traced_without_recursion() -> None:
    y = value_chain(200_000)
    y.backward()
    t = time.perf_counter()
    g = tl.viz.draw_graph(y)
    note = [ln for ln in g.source.splitlines() if ln.lstrip().startswith("note ")]
    assert len(note) == 1 and "of 200001 values hidden" in note[0] and "max_nodes=200" in note[0]
    lines = tl.viz.trace_backward(y, file=io.StringIO(), zero_grad=True, max_steps=2)
    assert lines[-1] == "... 199999 more steps not shown (max_steps=2)"
    assert time.perf_counter() - t < 60
    if HAVE_DOT:
        render(g)


# ------------------------------------------------------------------------------ browser ----
def open_page(browser: Any, url: str) -> tuple:
    """(page, errors): ``url`` opened with every non-file request blocked."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list = []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


@pytest.mark.parametrize("layout", ["auto", "layered"])
def test_hostile_names_are_text_in_the_browser(browser: Any, tmp_path: Path, layout: str) -> None:
    for k, name in enumerate(HOSTILE[:14]):
        md, key, y = linear_graph(name)
        path = tl.viz.explore(y, md, layout=layout).save(tmp_path / f"p{k}.html")
        page, errors = open_page(browser, Path(path).as_uri())
        page.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
        assert page.evaluate("window.pwned") is None, name
        assert page.inner_text("#details h3") == name  # the root's details
        shown = page.eval_on_selector_all("#graph g.node text", "els => els.map(e => e.textContent)")
        assert name in shown
        page.fill("#search", name)
        page.press("#search", "Enter")
        assert page.eval_on_selector_all("#graph g.node.selected[id^='v']", "els => els.map(e => e.dataset.name)")
        page.click("#step")
        assert page.inner_text("#stepview .step-node") == name
        page.click('#modules button[data-cluster="c0"]')  # the Linear's frame, labelled by its key
        assert page.inner_text('#modules button[data-cluster="c0"]') == f"expand {key}: Linear"
        assert page.text_content("#c0 > text").startswith(f"{key}: Linear [+] ")
        assert page.evaluate("window.pwned") is None and errors == [], (name, errors)
        page.close()


def test_every_node_can_be_clicked_in_the_layered_layout(browser: Any, tmp_path: Path) -> None:
    """A leaf used by many ops has long edges across the other nodes; they must not take the clicks."""
    y = ODD["leaf_used_often"]()
    y.backward()
    ex = tl.viz.explore(y, layout="layered")
    page, errors = open_page(browser, Path(ex.save(tmp_path / "p.html")).as_uri())
    page.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
    for n in ex.payload["nodes"]:
        page.click(f"#graph g.node[id='{n['id']}']", timeout=3000)
        assert page.inner_text("#details h3") == n["name"]
    assert errors == []
    page.close()


def test_two_explorers_in_one_notebook_page(browser: Any, tmp_path: Path) -> None:
    a = tl.Value(2.0, label="</script><script>parent.pwned=1;window.pwned=1</script>")
    c = a * tl.Value(-3.0, label="b")
    c.label = "c"
    _, _, y = linear_graph("y")
    ex_c, ex_y = tl.viz.explore(c), tl.viz.explore(y)
    doc = "<!DOCTYPE html><html><body>" + ex_c._repr_html_() + ex_y._repr_html_()
    (tmp_path / "nb.html").write_text(doc + "</body></html>", encoding="utf-8")
    page, errors = open_page(browser, (tmp_path / "nb.html").as_uri())
    page.wait_for_function("document.querySelectorAll('iframe').length === 2")
    frames = [f for f in page.frames if f is not page.main_frame]
    assert len(frames) == 2
    for f in frames:
        f.wait_for_function("window.__explorerReady !== undefined", timeout=10000)
    assert [f.inner_text("#details h3") for f in frames] == ["c", "y"]
    frames[0].click("#step")
    n_c, n_y = len(ex_c.payload["steps"]), len(ex_y.payload["steps"])
    assert [f.inner_text("#stepinfo") for f in frames] == [f"step 1 / {n_c}", f"backward: {n_y} steps"]
    assert page.evaluate("window.pwned") is None and [f.evaluate("window.pwned") for f in frames] == [None, None]
    assert errors == []
    page.close()


# ------------------------------------------------------------------------------ Jupyter ----
def test_explorer_and_digraph_display_inline_in_jupyter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    monkeypatch.chdir(tmp_path)
    cells = ["import tinygrad_lite as tl\n"
             "a = tl.Value(2.0, label='<script>window.pwned=1</script>')\n"
             "c = a * tl.Value(-3.0, label='b'); c.label = 'c'; c.backward()\n"
             "tl.viz.explore(c)",
             "tl.viz.draw_graph(c)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    explorer, picture = (c.outputs for c in nb.cells)
    assert len(explorer) == 1 and explorer[0].output_type == "execute_result"
    page = explorer[0].data["text/html"]
    assert page.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in page
    inner = html.unescape(page[len('<iframe srcdoc="'):page.index('" sandbox=')])
    assert inner.startswith("<!DOCTYPE html>") and "<script>window.pwned" not in inner
    if HAVE_DOT:
        assert len(picture) == 1 and "image/svg+xml" in picture[0].data
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in picture[0].data["image/svg+xml"]


def test_save_with_a_failing_dot_names_the_file_and_dot_s_words(tmp_path, monkeypatch):
    import os

    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'syntax error near line 3' >&2\nexit 1\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ.get('PATH', '')}")
    x = tl.Tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    out = tmp_path / "g.svg"
    want = r"dot failed to render .*g\.svg \(exit status 1\): syntax error near line 3"
    with pytest.raises(RuntimeError, match=want):
        tl.viz.save(y, out)
    assert not out.exists()
