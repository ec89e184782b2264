"""The explorer's picture without Graphviz: a layered layout drawn as SVG (``layered_svg``),
and the text lines of a value's box shared with the ``dot`` layout (``box_lines``)."""

from __future__ import annotations

import html
from typing import Any

from .common import COLORS, shorten


def box_lines(info: dict) -> list:
    """Text lines of a value's box: its name (a very long one cut in the middle), then its
    value (one element) or shape and dtype."""
    lines = [shorten(info["name"])]
    d = info["data"]
    if d is not None and d["size"] == 1 and not d["shape"]:
        lines.append("= " + d["preview"])
    else:
        lines.append(f"{tuple(info['shape'])} {info['dtype']}")
    return lines



def layered_svg(payload: dict) -> str:
    """An SVG of the graph without Graphviz: longest-path layering, left to right.

    layer(leaf) = 0, layer(op) = 1 + max(layer(inputs)), layer(value) = layer(its op) + 1;
    a leaf is then moved to the layer just before its first consumer. Within a layer nodes
    keep the walk's order, then barycentre passes (each node sorted by the mean height of its
    inputs, a leaf by that of its consumers) reduce crossings. Frames are the bounding boxes of
    their members.
    """
    items: dict = {}   # id -> [layer, width, height, label lines, kind]
    order: list = []
    for n in payload["nodes"]:
        if n["opid"]:
            lo = 1 + max((items[p][0] for p in n["parents"]), default=-1)
            lab = [n["op"]] + ([f"c = {n['const']}"] if n["const"] is not None else [])
            items[n["opid"]] = [lo, 12 + 7 * max(len(s) for s in lab), 14 + 12 * len(lab), lab, "op"]
            order.append(n["opid"])
            layer = lo + 1
        else:
            layer = 0
        lab = box_lines(n)
        items[n["id"]] = [layer, 14 + 7 * max(len(s) for s in lab), 10 + 13 * len(lab), lab, n["kind"]]
        order.append(n["id"])
    preds: dict = {}
    succs: dict = {}
    for e in payload["edges"]:
        preds.setdefault(e["dst"], []).append(e["src"])
        succs.setdefault(e["src"], []).append(e["dst"])
    for i in order:  # a leaf sits just before its first consumer
        if i not in preds and i in succs:
            items[i][0] = min(items[s][0] for s in succs[i]) - 1
    layers: dict = {}
    for i in order:
        layers.setdefault(items[i][0], []).append(i)
    pos: dict = {}

    def place(rank_of: Any) -> None:
        x = 10.0
        for lk in sorted(layers):
            col = layers[lk]
            col.sort(key=rank_of)
            y, wmax = 30.0, max(items[i][1] for i in col)
            for i in col:
                pos[i] = (x + (wmax - items[i][1]) / 2, y + items[i][2] / 2)
                y += items[i][2] + 14
            x += wmax + 36

    def mean_y(ids: list, default: float) -> float:
        ys = [pos[j][1] for j in ids if j in pos]
        return sum(ys) / len(ys) if ys else default

    walk = {i: k for k, i in enumerate(order)}
    place(lambda i: walk[i])                                            # the walk's order
    place(lambda i: mean_y(preds.get(i, []), pos[i][1]))                # inputs' mean height
    place(lambda i: mean_y(preds.get(i, []) or succs.get(i, []), pos[i][1]))  # leaves by consumers
    x = max(pos[i][0] + items[i][1] for i in pos) + 10
    width = x
    height = max(pos[i][1] + items[i][2] / 2 for i in pos) + 10
    bad = {n["id"] for n in payload["nodes"] if n["bad"]}
    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}pt" height="{height:.0f}pt" '
             f'viewBox="0 0 {width:.0f} {height:.0f}"><g id="graph0" class="graph" font-family="Helvetica" '
             'font-size="10">']
    for c in payload["clusters"]:
        inside = c.get("all", c["members"])  # (a frame encloses its inner frames' nodes too)
        xs = [(pos[m][0], pos[m][0] + items[m][1]) for m in inside]
        ys = [(pos[m][1] - items[m][2] / 2, pos[m][1] + items[m][2] / 2) for m in inside]
        x0, x1 = min(a for a, _ in xs) - 6, max(b for _, b in xs) + 6
        y0, y1 = min(a for a, _ in ys) - 18, max(b for _, b in ys) + 6
        parts.append(f'<g id="{c["id"]}" class="cluster"><title>{e(c["label"])}</title><polygon fill="none" '
                     f'stroke="#868e96" stroke-dasharray="5,2" points="{x0:.1f},{y0:.1f} {x1:.1f},{y0:.1f} '
                     f'{x1:.1f},{y1:.1f} {x0:.1f},{y1:.1f}"/><text x="{x0 + 4:.1f}" y="{y0 + 12:.1f}">'
                     f'{e(c["label"])}</text></g>')
    for i in order:
        px, py = pos[i]
        w, h, lab, kind = items[i][1], items[i][2], items[i][3], items[i][4]
        fill = COLORS["nonfinite"] if i in bad else COLORS[kind]
        if kind == "op":
            shape = (f'<ellipse fill="{fill}" stroke="black" cx="{px + w / 2:.1f}" cy="{py:.1f}" '
                     f'rx="{w / 2:.1f}" ry="{h / 2:.1f}"/>')
        else:
            top, bot = py - h / 2, py + h / 2
            shape = (f'<polygon fill="{fill}" stroke="black" points="{px:.1f},{top:.1f} '
                     f'{px + w:.1f},{top:.1f} {px + w:.1f},{bot:.1f} {px:.1f},{bot:.1f}"/>')
        y0 = py - 13 * (len(lab) - 1) / 2 + 4
        text = "".join(f'<text text-anchor="middle" x="{px + w / 2:.1f}" y="{y0 + 13 * j:.1f}">{e(s)}</text>'
                       for j, s in enumerate(lab))
        parts.append(f'<g id="{i}" class="node"><title>{e(lab[0])}</title>{shape}{text}</g>')
    for ed in payload["edges"]:
        (sx, sy), (tx, ty) = pos[ed["src"]], pos[ed["dst"]]
        sx += items[ed["src"]][1]
        mx = (sx + tx) / 2
        parts.append(f'<g id="{ed["id"]}" class="edge"><path fill="none" stroke="#868e96" '
                     f'd="M{sx:.1f},{sy:.1f} C{mx:.1f},{sy:.1f} {mx:.1f},{ty:.1f} {tx - 5:.1f},{ty:.1f}"/>'
                     f'<polygon fill="#868e96" '
                     f'stroke="#868e96" points="{tx:.1f},{ty:.1f} {tx - 6:.1f},{ty - 3:.1f} '
                     f'{tx - 6:.1f},{ty + 3:.1f}"/></g>')
    parts.append("</g></svg>")
    return "".join(parts)
