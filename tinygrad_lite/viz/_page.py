"""The page template of the explorer (``tinygrad_lite.viz.explorer``): HTML, CSS and plain JavaScript, all inline.

``render_page(payload, svg, note, title)`` fills the template. The payload travels as JSON in
a ``<script type="application/json">`` element (every ``<`` escaped as ``\\u003c`` so no text
can close the element); the graph is the inline SVG. Element ids in the SVG: ``v<k>`` values,
``o<k>`` ops, ``e<k>_<j>`` the edge from value k's j-th parent to its op, ``r<k>`` op to value,
``c<j>`` module frames. When the page has wired its handlers it sets
``window.__explorerReady = performance.now()``.
"""

from __future__ import annotations

import html
import json
import re

__all__ = ["render_page"]

_PLACEHOLDER = re.compile("__(?:CSS|JS|TITLE|NOTE)__")

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #212529; background: #fff; }
#bar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid #dee2e6; background: #f8f9fa; }
#bar b { margin-right: 8px; }
#bar input { width: 14em; padding: 2px 4px; }
#bar button { padding: 2px 8px; cursor: pointer; }
#stepinfo { color: #495057; min-width: 9em; }
#searchmsg { color: #c92a2a; }
#note { padding: 3px 8px; color: #495057; font-size: 12px; border-bottom: 1px solid #f1f3f5; }
#note .warn { color: #c92a2a; }
#main { display: flex; height: calc(100vh - 70px); min-height: 320px; }
#graph { flex: 1 1 62%; overflow: auto; border-right: 1px solid #dee2e6; background: #fff; }
#graph svg { display: block; }
#side { flex: 1 1 38%; overflow: auto; padding: 6px 10px; max-width: 560px; }
#side h3 { margin: 6px 0 4px; font-size: 14px; overflow-wrap: anywhere; }
#side h4 { margin: 8px 0 2px; font-size: 12px; color: #495057; overflow-wrap: anywhere; }
.kv { border-collapse: collapse; width: 100%; }
.kv td { padding: 1px 4px; vertical-align: top; border-bottom: 1px solid #f1f3f5; }
.kv td:first-child { color: #495057; white-space: nowrap; width: 7em; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.bad { color: #e03131; font-weight: bold; }
.muted { color: #868e96; }
#modules button { margin: 1px 2px; font-size: 12px; }
#stepview { border: 1px solid #ffd43b; background: #fff9db; padding: 4px 6px; margin: 4px 0; display: none; }
#stepview ul { margin: 2px 0 2px 1.2em; padding: 0; }
g.node, g.cluster > text { cursor: pointer; }
g.edge { pointer-events: none; }
g.node.selected > polygon, g.node.selected > ellipse, g.node.selected > path {
  stroke: #1971c2; stroke-width: 3px; }
g.node.current > polygon, g.node.current > ellipse, g.node.current > path {
  stroke: #f08c00; stroke-width: 4px; }
g.node.receiving > polygon, g.node.receiving > ellipse {
  stroke: #f59f00; stroke-width: 2.5px; stroke-dasharray: 4 2; }
g.node.visited > polygon, g.node.visited > ellipse { stroke: #adb5bd; }
g.node.nonfinite > polygon, g.node.nonfinite > ellipse, g.node.nonfinite > path {
  fill: #ffb3b3; stroke: #e03131; stroke-width: 2.5px; }
g.edge.flow > path { stroke: #f08c00; stroke-width: 2.5px; }
g.edge.flow > polygon { fill: #f08c00; stroke: #f08c00; }
g.cluster.collapsed > polygon, g.cluster.collapsed > path { fill: #e7f5ff; stroke: #1971c2; }
.hidden { display: none; }
"""

JS = r"""
(function () {
  "use strict";
  var P = JSON.parse(document.getElementById("payload").textContent);
  var byId = Object.create(null), byName = Object.create(null), clusterOf = Object.create(null);
  var selected = null, stepIndex = -1, zoom = 1, collapsed = Object.create(null);
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v === "string") return '<span class="bad">' + esc(v) + "</span>";
    if (v === Math.round(v) && Math.abs(v) < 1e15) return v.toFixed(1);
    var s = v.toPrecision(4);
    if (s.indexOf("e") < 0 && s.indexOf(".") >= 0) s = s.replace(/0+$/, "").replace(/\.$/, ".0");
    return s;
  }
  function arr(info, what) {
    if (!info) return '<span class="muted">None</span>';
    var h = '<span class="mono">shape (' + info.shape.join(", ") + (info.shape.length === 1 ? "," : "") +
      ") " + esc(info.dtype) + "</span>";
    if (info.bad) h += ' <span class="bad">' + esc(info.bad) + " in " + esc(what) + "</span>";
    h += '<br><span class="mono' + (info.bad ? " bad" : "") + '">' + esc(info.preview) + "</span>";
    if (info.size > 1) {
      h += '<br><span class="mono">min ' + num(info.min) + " &middot; max " + num(info.max) +
        " &middot; mean " + num(info.mean) + " &middot; norm " + num(info.norm) + "</span>";
      if (info.nan || info.inf) h += ' <span class="bad">(' + info.nan + " NaN, " + info.inf + " Inf)</span>";
    }
    return h;
  }
  function row(k, v) { return "<tr><td>" + k + "</td><td>" + v + "</td></tr>"; }
  function nameOf(id) { return byId[id] ? byId[id].name : id; }

  P.nodes.forEach(function (n) {
    byId[n.id] = n;
    if (!(n.name in byName)) byName[n.name] = n.id;
    var g = $(n.id), o = n.opid ? $(n.opid) : null;
    [g, o].forEach(function (e) {
      if (!e) return;
      e.setAttribute("data-value", n.id);
      e.setAttribute("data-name", n.name);
      e.classList.add("kind-" + n.kind);
      if (n.bad.length) e.classList.add("nonfinite");
    });
  });
  P.clusters.forEach(function (c) { c.members.forEach(function (m) { clusterOf[m] = c.id; }); });
  var byIdAll = [];  // every node and op id a frame may hold
  P.clusters.forEach(function (c) { (c.all || c.members).forEach(function (m) { byIdAll.push(m); }); });

  function showDetails(id) {
    var n = byId[id], h = "<h3>" + esc(n.name) + "</h3><table class=\"kv\">";
    h += row("kind", esc(n.kind) + (n.id === P.root ? " (the root)" : ""));
    if (n.op) {
      h += row("op", '<span class="mono op">' + esc(n.op) + "</span>" +
        (n.expr ? ' <span class="mono muted">' + esc(n.name) + " = " + esc(n.expr) + "</span>" : ""));
      h += row("rule", '<span class="mono rule">' + esc(n.rule || "(none given)") + "</span>");
    } else {
      h += row("op", '<span class="muted">none (a leaf' + (n.requires_grad ? ", requires grad" : "") +
        ")</span>");
    }
    h += row("shape", '<span class="mono">(' + n.shape.join(", ") + (n.shape.length === 1 ? "," : "") + ")" +
      (n.batched ? " batched (axis 0 = samples)" : "") + "</span>");
    h += row("dtype", '<span class="mono">' + esc(n.dtype) + "</span>");
    if (n.module) {
      var c = P.clusters.filter(function (x) { return x.id === n.module; })[0];
      h += row("module", esc(c.label));
    }
    if (n.parents.length) {
      h += row("inputs", n.parents.map(function (p) { return esc(nameOf(p)); }).join(", "));
    }
    if (n.bad.length) h += row("non-finite", '<span class="bad">' + esc(n.bad.join("; ")) + "</span>");
    h += "</table><h4>value (data)</h4>" + arr(n.data, "data");
    h += "<h4>grad (stored)</h4>" + arr(n.grad, "grad");
    h += "<h4>d" + esc(P.root_name) + "/d" + esc(n.name) + " (the explorer's backward)</h4>" +
      (n.cot ? arr(n.cot, "cotangent") : '<span class="muted">none (no gradient flows here)</span>');
    if (n.per_sample_norms) {
      h += "<h4>per-sample gradient norms (" + (n.grad_sample_shape ? "grad_sample shape (" +
        n.grad_sample_shape.join(", ") + ")" : "no grad_sample kept: a norms pass") + ")</h4>" +
        arr(n.per_sample_norms, "per-sample norms");
    } else if (n.per_sample_error) {
      h += "<h4>per-sample gradients</h4><span class=\"bad\">" + esc(n.per_sample_error) + "</span>";
    }
    $("details").innerHTML = h;
  }

  function expandFor(id) {  // open every collapsed frame around id (inner frames too)
    P.clusters.forEach(function (c) {
      if (collapsed[c.id] && (c.all || c.members).indexOf(id) >= 0) toggleCluster(c.id);
    });
  }
  function reveal(id) {  // centre id in the graph box, scrolling only that box (not a notebook around it)
    var g = $(id), box = $("graph");
    if (!g || !box || !g.getBoundingClientRect) return;
    var r = g.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollLeft += (r.left + r.width / 2) - (b.left + b.width / 2);
    box.scrollTop += (r.top + r.height / 2) - (b.top + b.height / 2);
  }
  function select(id) {
    if (!byId[id]) return;
    if (selected) {
      var old = $(selected), oo = byId[selected].opid ? $(byId[selected].opid) : null;
      if (old) old.classList.remove("selected");
      if (oo) oo.classList.remove("selected");
    }
    selected = id;
    expandFor(id);
    var g = $(id);
    if (g) g.classList.add("selected");
    if (byId[id].opid && $(byId[id].opid)) $(byId[id].opid).classList.add("selected");
    showDetails(id);
  }

  // ---- backward stepping
  var visitedUpTo = 0;  // steps before this one are marked visited (marks are added one step at a time)
  function clearStepMarks(all) {
    if (all) visitedUpTo = 0;
    (all ? ["current", "receiving", "visited", "flow"] : ["current", "receiving", "flow"]).forEach(function (cls) {
      Array.prototype.slice.call(document.querySelectorAll("#graph ." + cls)).forEach(function (e) {
        e.classList.remove(cls);
      });
    });
  }
  function mark(id, cls) { var e = id && $(id); if (e) e.classList.add(cls); }
  function renderStep() {
    clearStepMarks(stepIndex < visitedUpTo);
    var n = P.steps.length, view = $("stepview");
    $("step").disabled = stepIndex >= n - 1;
    if (stepIndex < 0) {
      view.style.display = "none";
      $("stepinfo").textContent = n ? "backward: " + n + " steps" : "no backward steps";
      return;
    }
    for (var i = visitedUpTo; i < stepIndex; i++) mark(P.steps[i].node, "visited");
    visitedUpTo = Math.max(visitedUpTo, stepIndex);
    var s = P.steps[stepIndex], node = byId[s.node];
    expandFor(s.node);  // (and the frames of the nodes it sends to, so their marks show)
    if (s.sends) s.sends.forEach(function (t) { if (t.cot) expandFor(t.parent); });
    mark(s.node, "current");
    mark(node.opid, "current");
    var h = '<b>step ' + (stepIndex + 1) + " / " + n + ':</b> <span class="step-node mono">' +
      esc(node.name) + "</span>" +
      (node.op ? ' (op <span class="mono">' + esc(node.op) + "</span>)" : " (leaf)") +
      '<br>receives d' + esc(P.root_name) + "/d" + esc(node.name) + ' = <span class="step-received mono' +
      (s.received && s.received.bad ? " bad" : "") + '">' + esc(s.received ? s.received.preview : "-") +
      "</span>";
    if (s.leaf) {
      h += "<br>a leaf: " + esc(node.name) + ".grad += this cotangent";
    } else {
      h += "<br>sends to its inputs:<ul class=\"sends\">";
      s.sends.forEach(function (t, j) {
        var p = byId[t.parent];
        h += '<li data-parent="' + esc(p.name) + '"><span class="mono">' + esc(p.name) + "</span> &larr; ";
        if (t.cot) {
          h += '<span class="cot mono' + (t.cot.bad ? " bad" : "") + '">' + esc(t.cot.preview) + "</span>";
          mark(t.parent, "receiving");
          mark("e" + node.id.slice(1) + "_" + j, "flow");
        } else {
          h += '<span class="muted">nothing (no grad)</span>';
        }
        h += "</li>";
      });
      h += "</ul>";
      if (node.rule) h += 'rule: <span class="mono">' + esc(node.rule) + "</span>";
    }
    view.innerHTML = h;
    view.style.display = "block";
    $("stepinfo").textContent = "step " + (stepIndex + 1) + " / " + n;
    reveal(s.node);
  }
  $("step").addEventListener("click", function () {
    if (stepIndex < P.steps.length - 1) { stepIndex += 1; renderStep(); }
  });
  $("reset").addEventListener("click", function () { stepIndex = -1; renderStep(); });

  // ---- module frames
  function toggleCluster(cid) {
    collapsed[cid] = !collapsed[cid];
    // what is hidden follows from every collapsed frame: its nodes and inner frames, at any depth
    var hidden = Object.create(null), boxes = Object.create(null);
    P.clusters.forEach(function (c) {
      if (!collapsed[c.id]) return;
      (c.all || c.members).forEach(function (m) { hidden[m] = true; });
      (c.sub || []).forEach(function (d) { boxes[d] = true; });
    });
    byIdAll.forEach(function (m) { var e = $(m); if (e) e.classList.toggle("hidden", !!hidden[m]); });
    P.edges.forEach(function (e) {
      var g = $(e.id);
      if (g) g.classList.toggle("hidden", !!(hidden[e.src] || hidden[e.dst]));
    });
    P.clusters.forEach(function (c) {
      var g = $(c.id), hide = !!collapsed[c.id];
      if (g) {
        g.classList.toggle("hidden", !!boxes[c.id]);
        g.classList.toggle("collapsed", hide);
        var t = g.querySelector("text");
        if (t) t.textContent = c.label + (hide ? " [+] " + (c.all || c.members).length + " nodes collapsed" : "");
      }
      var b = document.querySelector('#modules button[data-cluster="' + c.id + '"]');
      if (b) b.textContent = (hide ? "expand " : "collapse ") + c.label;
    });
  }
  if (P.clusters.length) {
    var mh = "<h4>modules</h4>";
    P.clusters.forEach(function (c) {
      mh += '<button data-cluster="' + esc(c.id) + '">collapse ' + esc(c.label) + "</button>";
    });
    $("modules").innerHTML = mh;
    Array.prototype.slice.call(document.querySelectorAll("#modules button")).forEach(function (b) {
      b.addEventListener("click", function () { toggleCluster(b.getAttribute("data-cluster")); });
    });
  }

  // ---- clicks on the picture
  var svg = document.querySelector("#graph svg");
  svg.addEventListener("click", function (ev) {
    var g = ev.target.closest ? ev.target.closest("g.node, g.cluster") : null;
    if (!g) return;
    if (g.classList.contains("cluster")) { toggleCluster(g.id); return; }
    var v = g.getAttribute("data-value");
    if (v) select(v);
  });

  // ---- search
  function find() {
    var q = $("search").value.trim(), msg = $("searchmsg"), id = byName[q];
    msg.textContent = "";
    if (!q) return;
    if (!id) {
      var lq = q.toLowerCase(), hits = P.nodes.filter(function (n) { return n.name.toLowerCase() === lq; });
      if (!hits.length) hits = P.nodes.filter(function (n) { return n.name.toLowerCase().indexOf(lq) >= 0; });
      if (hits.length) id = hits[0].id;
    }
    if (!id) { msg.textContent = "no node named " + q; return; }
    select(id);
    reveal(id);
  }
  $("find").addEventListener("click", find);
  $("search").addEventListener("keydown", function (ev) { if (ev.key === "Enter") find(); });
  var dl = "";
  P.nodes.forEach(function (n) { dl += '<option value="' + esc(n.name) + '">'; });
  $("names").innerHTML = dl;

  // ---- zoom
  var vb = svg.viewBox && svg.viewBox.baseVal, W = vb && vb.width ? vb.width : svg.getBBox().width;
  var H = vb && vb.height ? vb.height : svg.getBBox().height;
  function applyZoom() { svg.setAttribute("width", Math.max(1, W * zoom).toFixed(0) + "px");
    svg.setAttribute("height", Math.max(1, H * zoom).toFixed(0) + "px"); }
  $("zoomin").addEventListener("click", function () { zoom *= 1.25; applyZoom(); });
  $("zoomout").addEventListener("click", function () { zoom /= 1.25; applyZoom(); });
  function fitZoom() {
    var box = $("graph");
    return Math.max(0.02, Math.min(box.clientWidth / W, box.clientHeight / H) * 0.98);  // (a long chain stays visible)
  }
  $("zoomfit").addEventListener("click", function () { zoom = fitZoom(); applyZoom(); });
  function firstZoom() { zoom = Math.max(0.5, Math.min(1, fitZoom() || 1)); applyZoom(); }
  var sized = function () { return $("graph").clientWidth > 0 && $("graph").clientHeight > 0; };
  if (sized()) {
    firstZoom();
  } else {  // (a notebook's frame may have no size yet when this runs: fit once it has one)
    zoom = 1;
    applyZoom();
    var waited = 0;
    (function wait() { if (sized()) firstZoom(); else if (waited++ < 600) requestAnimationFrame(wait); })();
  }

  if (P.backward_error) {
    $("note").innerHTML += ' <span class="warn">The backward could not be traced: ' + esc(P.backward_error) +
      "</span>";
  }
  if (P.note) $("note").innerHTML += " " + esc(P.note) + ".";
  renderStep();
  showDetails(P.root);
  window.__explorerReady = performance.now();
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__CSS__</style></head>
<body>
<div id="bar"><b>__TITLE__</b>
<input id="search" list="names" placeholder="find a node by name" autocomplete="off">
<datalist id="names"></datalist>
<button id="find">Find</button><span id="searchmsg"></span>
<button id="step" title="one backward step (reverse topological order)">Step</button>
<button id="reset" title="start the backward walk again">Reset</button><span id="stepinfo"></span>
<button id="zoomout" title="zoom out">&minus;</button>
<button id="zoomfit" title="fit the picture">fit</button><button id="zoomin" title="zoom in">+</button></div>
<div id="note">__NOTE__ Click a node for its details; Step walks the backward pass.</div>
<div id="main"><div id="graph">__SVG__</div>
<div id="side"><div id="stepview"></div><div id="details"></div><div id="modules"></div></div></div>
<script type="application/json" id="payload">__PAYLOAD__</script>
<script>__JS__</script>
</body></html>
"""


def render_page(payload: dict, svg: str, note: str, title: str) -> str:
    """The page with ``payload`` (JSON), ``svg`` (the picture) and ``note`` (which layout) filled in."""
    data = json.dumps(payload, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    parts = {"__CSS__": CSS, "__JS__": JS, "__TITLE__": html.escape(title),
             "__NOTE__": html.escape(note, quote=False)}

    def fill(text: str) -> str:  # one pass: no filled-in text is searched for placeholders
        return _PLACEHOLDER.sub(lambda m: parts[m.group(0)], text)

    # the template is cut at the SVG and the payload first: their text is never searched either
    head, tail = PAGE.split("__SVG__")
    tail_a, tail_b = tail.split("__PAYLOAD__")
    return fill(head) + svg + fill(tail_a) + data + fill(tail_b)
