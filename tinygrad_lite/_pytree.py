"""Nested containers of tensors ("pytrees") for the function transforms in ``tl.func``.

A pytree is a tuple, list or dict (also a namedtuple or an OrderedDict) whose entries are
pytrees, or anything else (a leaf). ``flatten`` lists the leaves depth first (a dict in its
own key order) with a ``spec`` that ``unflatten`` rebuilds the same containers from.
``prefix_leaves`` matches a prefix tree (``in_dims`` / ``out_dims``: a leaf of the prefix
stands for a whole subtree) against a tree.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

__all__ = ["flatten", "unflatten", "tree_map", "spec_str", "prefix_leaves", "same_structure"]

LEAF = None  # the spec of a leaf


def _is_node(x: Any) -> bool:
    return isinstance(x, (tuple, list, dict))


def _children(x: Any) -> Tuple[Any, list]:
    """(keys or None, children) of a container node."""
    if isinstance(x, dict):
        keys = list(x)
        return keys, [x[k] for k in keys]
    return None, list(x)


def flatten(tree: Any) -> Tuple[list, Any]:
    """``(leaves, spec)``: the leaves in depth-first order and the structure around them."""
    leaves: list = []

    def walk(x: Any) -> Any:
        if not _is_node(x):
            leaves.append(x)
            return LEAF
        keys, kids = _children(x)
        return (type(x), keys, [walk(k) for k in kids])

    return leaves, walk(tree)


def _build(kind: type, keys: Any, values: list) -> Any:
    if keys is not None:
        return kind(zip(keys, values))
    if kind is not tuple and issubclass(kind, tuple) and hasattr(kind, "_fields"):
        return kind(*values)  # a namedtuple
    return kind(values)


def unflatten(spec: Any, leaves: List[Any]) -> Any:
    """The tree of ``spec`` with ``leaves`` in it (in ``flatten``'s order)."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is LEAF:
            return next(it)
        kind, keys, kids = s
        return _build(kind, keys, [build(k) for k in kids])

    return build(spec)


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with each leaf ``x`` replaced by ``fn(x)``."""
    leaves, spec = flatten(tree)
    return unflatten(spec, [fn(x) for x in leaves])


def spec_str(spec: Any) -> str:
    """A short picture of a structure: ``*`` for a leaf, ``(*, [*, *])``, ``{'a': *}``."""
    if spec is LEAF:
        return "*"
    kind, keys, kids = spec
    inner = [spec_str(k) for k in kids]
    if keys is not None:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, inner)) + "}"
    if issubclass(kind, list):
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"


def _same_node(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b)
    return type(a) is type(b) and len(a) == len(b)


def prefix_leaves(prefix: Any, tree: Any) -> list:
    """For each leaf of ``tree`` (``flatten`` order) the leaf of ``prefix`` above it; None when
    ``prefix`` is not a prefix of ``tree`` (a container where ``tree`` has a leaf, another
    container type, length or key set)."""
    out: list = []

    def walk(p: Any, t: Any) -> bool:
        if not _is_node(p):
            out.extend([p] * len(flatten(t)[0]))
            return True
        if not _is_node(t) or not _same_node(p, t):
            return False
        keys, kids = _children(t)
        pk = [p[k] for k in keys] if keys is not None else list(p)
        return all(walk(a, b) for a, b in zip(pk, kids))

    return out if walk(prefix, tree) else None  # type: ignore[return-value]


def same_structure(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` have the same containers (types, lengths, dict keys) all the
    way down to the leaves."""
    if not _is_node(a) or not _is_node(b):
        return not _is_node(a) and not _is_node(b)
    if not _same_node(a, b):
        return False
    keys, kids = _children(b)
    ak = [a[k] for k in keys] if keys is not None else list(a)
    return all(same_structure(x, y) for x, y in zip(ak, kids))
