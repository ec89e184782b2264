"""Pictures and traces of a computation graph: what was computed, and how backward ran.

* ``draw_graph(root)`` builds a Graphviz ``Digraph`` of the graph that produced ``root``
  (a ``Tensor`` or a ``Value``), or, given the exception of a failing op, of the graph that
  led there with the failed op in red: one box per value (name, op, shape, dtype, data and
  grad summaries, ``grad_sample`` shape), one ellipse per op, colours for parameters,
  inputs, intermediates and the output, anything holding a NaN or an Inf in red. Large
  graphs stay readable: past ``max_nodes`` values, Values computed inside a module become
  one box per module and long chains of single-input steps collapse into one "hidden" box;
  with a ``module`` the parameters of each layer and the ops that use them share a frame
  (``draw.py``, ``collapse.py``).
* ``save(graph_or_root, path)`` writes SVG / PNG / PDF with Graphviz's ``dot`` program, or
  the DOT source (with a warning saying how to install Graphviz) when ``dot`` is missing
  (``render.py``).
* ``trace_backward(root)`` runs backward and prints each step: the node, its local
  derivative rule with the numbers, the gradient it sends to each parent and, in a
  batched graph, the per-sample shapes (``trace.py``).
* ``explore(root)`` is the interactive, self-contained HTML explorer (``explorer.py``).

Building a ``Digraph`` needs the ``graphviz`` Python package (imported only when a picture
is drawn); rendering it needs the ``dot`` program. In Jupyter a ``Digraph`` displays itself.
Names, colours and number summaries shared by all of them are in ``common.py``.
"""

from __future__ import annotations

from typing import Any

from .common import COLORS
from .draw import draw_graph
from .render import GraphvizNotFoundWarning, save, save_graph
from .trace import trace_backward

__all__ = ["draw_graph", "save", "save_graph", "trace_backward", "explore", "GraphvizNotFoundWarning", "COLORS"]


def explore(root: Any, module: Any = None, **kwargs: Any) -> Any:
    """The interactive explorer of the graph behind ``root`` (see ``tinygrad_lite.viz.explorer``):
    an ``Explorer`` with ``_repr_html_()`` for notebooks and ``.save(path)``."""
    from .explorer import explore as _explore
    return _explore(root, module, **kwargs)
