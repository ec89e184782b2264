"""``save``: a picture in a file, rendered by Graphviz's ``dot``, or its DOT source without it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Optional, Union

from .draw import draw_graph, import_graphviz

_RENDER_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "ps", "eps")
_SOURCE_FORMATS = ("dot", "gv")
_INSTALL_HELP = ("install Graphviz (Debian/Ubuntu: 'sudo apt-get install graphviz', "
                 "Fedora: 'sudo dnf install graphviz', macOS: 'brew install graphviz', "
                 "conda: 'conda install -c conda-forge graphviz', Windows: 'winget install graphviz'; "
                 "'dot' must then be on PATH)")


class GraphvizNotFoundWarning(UserWarning):
    """Graphviz's ``dot`` program is missing: ``save`` wrote the DOT source instead."""


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
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"save: path must be a str or a path, got {type(path).__name__}")
    if format is not None and not isinstance(format, str):
        raise TypeError(f"save: format must be a str or None, got {type(format).__name__}")
    if format is not None and format.lower() not in _RENDER_FORMATS + _SOURCE_FORMATS:
        raise ValueError(f"save: format must be one of {_RENDER_FORMATS + _SOURCE_FORMATS} or None, got {format!r}")
    g = graph if _is_digraph(graph) else draw_graph(graph, **draw_kwargs)
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"save: path {str(p)!r} is a directory; give a file name")
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
    gv = import_graphviz()
    try:
        data = g.pipe(format=format)
    except gv.ExecutableNotFound:
        dot_path = out.with_suffix(".dot")
        dot_path.write_text(g.source, encoding="utf-8")
        warnings.warn(f"Graphviz's 'dot' program was not found, so {out} was not rendered; the DOT source "
                      f"was written to {dot_path} instead. To get the picture, {_INSTALL_HELP}, then run: "
                      f"dot -T{format} {dot_path} -o {out}", GraphvizNotFoundWarning, stacklevel=2)
        return str(dot_path)
    except gv.CalledProcessError as e:  # (dot crashed or refused the source: say so, by its own words)
        told = (e.stderr or b"").decode("utf-8", "replace").strip()[-500:] if isinstance(e.stderr, bytes) else ""
        raise RuntimeError(f"save: Graphviz's dot failed to render {out} (exit status {e.returncode})"
                           f"{': ' + told if told else ''}; save(..., format='dot') writes the source") from None
    out.write_bytes(data)
    return str(out)


save_graph = save
