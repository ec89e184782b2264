"""Keeping big pictures readable: module groups, collapsed chains and the far end, under
``max_nodes``.

Three reductions, tried in this order until at most ``max_nodes`` boxes are left:

1. **module groups** (scalar engine): a ``Value`` op built while a module ran remembers the
   innermost module (``_mod``); all values computed inside one module, with the module's own
   parameters, become one box per module (one per neuron of a Value MLP). With a ``module``
   the groups are lifted to the enclosing module (neuron -> layer -> model) while the
   picture is still too big.
2. **chains**: a maximal run of intermediates that each have one parent and one user, no
   name of their own and no NaN/Inf keeps its two ends; the rest becomes one "hidden" box.
   The longest chains go first.
3. **the far end** (a wide graph, such as a sum over many terms, has no chain to fold): the
   ``max_nodes - 1`` boxes nearest the root (breadth-first through the parents) are drawn,
   everything beyond them becomes one "... N more values" box. So the limit always holds.

The root is never hidden nor grouped; named nodes and nodes holding NaN/Inf are never
hidden in a chain (past the far end, they are counted in its box).
"""

from __future__ import annotations

from typing import Any, Optional

from .common import _named_modules, _values_in, own_name, problems


# ------------------------------------------------------------------------------ owners -----
def module_paths(module: Any) -> dict:
    """id(module) -> dotted path for every module of ``module``'s tree ({} for None)."""
    if module is None:
        return {}
    return {id(m): path for path, m in _named_modules(module)}


def value_owners(order: list, module: Any) -> dict:
    """id(Value) -> the module object holding it as an attribute (a Value, or in a list /
    tuple / dict). The modules searched are ``module``'s tree, or without a module the
    modules that built part of the graph (``_mod`` of its Value ops) and their children."""
    mods: list = []
    if module is not None:
        mods = [m for _, m in _named_modules(module)]
    else:
        seen: set = set()
        for nd in order:
            m = getattr(nd, "_mod", None)
            if m is not None and id(m) not in seen:
                for _, sub in _named_modules(m):
                    if id(sub) not in seen:
                        seen.add(id(sub))
                        mods.append(sub)
    out: dict = {}
    for m in mods:
        for aname, v in list(vars(m).items()) if hasattr(m, "__dict__") else []:
            for _, val in _values_in(aname, v):
                out.setdefault(id(val), m)
    return out


def _parents_of(paths: dict, objs: dict) -> dict:
    """id(module) -> its parent module object in the tree (the longest proper path prefix)."""
    by_path = {p: objs[k] for k, p in paths.items() if k in objs}
    out = {}
    for k, path in paths.items():
        if not path:
            continue
        p = path
        while True:
            p = p.rsplit(".", 1)[0] if "." in p else ""
            if p in by_path:
                out[k] = by_path[p]
                break
            if not p:
                break
    return out


def _depth(m: Any, parent: dict) -> int:
    d = 0
    while id(m) in parent:
        m = parent[id(m)]
        d += 1
    return d


# ------------------------------------------------------------------------------ groups -----
class Group:
    """The values computed inside one module (and its parameters), drawn as one box."""

    __slots__ = ("module", "title", "members")

    def __init__(self, module: Any, title: str) -> None:
        self.module = module
        self.title = title
        self.members: list = []


def group_modules(order: list, root: Any, max_nodes: Optional[int], owners: dict, module: Any) -> tuple:
    """Group Value nodes by the module that computed them (or holds them, for parameters)
    when ``order`` has more than ``max_nodes`` nodes.

    Returns (id(node) -> group index, list of ``Group``). A parameter joins its module's
    group only when that group has ops. With ``module``, groups are lifted one level of the
    module tree at a time (deepest first) until the count of boxes fits or nothing is left
    to lift.
    """
    n = len(order)
    if max_nodes is None or n <= max_nodes:
        return {}, []
    key_of: dict = {}
    for nd in order:
        if nd is root:
            continue
        m = getattr(nd, "_mod", None) if nd._op is not None else owners.get(id(nd))
        if m is not None:
            key_of[id(nd)] = m
    if not any(nd._op is not None and id(nd) in key_of for nd in order):
        return {}, []
    paths = module_paths(module)
    objs: dict = {}
    for m in key_of.values():
        objs[id(m)] = m
    if module is not None:
        objs.update({id(m): m for _, m in _named_modules(module)})
    parent = _parents_of(paths, objs)
    ops_of = {id(nd) for nd in order if nd._op is not None and id(nd) in key_of}

    while True:
        with_ops = {id(key_of[k]) for k in ops_of}
        kept = {k: m for k, m in key_of.items() if k in ops_of or id(m) in with_ops}
        boxes = n - len(kept) + len(with_ops)
        liftable = [m for m in {id(m): m for m in kept.values()}.values() if id(m) in parent]
        if boxes <= max_nodes or not liftable:
            break
        deepest = max(_depth(m, parent) for m in liftable)
        lift = {id(m) for m in liftable if _depth(m, parent) == deepest}
        key_of = {k: (parent[id(m)] if id(m) in lift else m) for k, m in key_of.items()}

    group_of: dict = {}
    groups: list = []
    index: dict = {}
    counts: dict = {}
    for nd in order:
        k = id(nd)
        if k not in kept:
            continue
        m = kept[k]
        gi = index.get(id(m))
        if gi is None:
            path = paths.get(id(m))
            tname = type(m).__name__
            if path is None:  # no module given (or not in its tree): number them by type
                counts[tname] = counts.get(tname, 0) + 1
                title = f"{tname} #{counts[tname]}"
            else:
                title = f"{path}: {tname}" if path else tname
            gi = index[id(m)] = len(groups)
            groups.append(Group(m, title))
        groups[gi].members.append(nd)
        group_of[k] = gi
    return group_of, groups


# ------------------------------------------------------------------------------ chains -----
def collapse_chains(order: list, root: Any, excess: int, pnames: dict, skip: dict) -> tuple:
    """Choose the chains to hide so that ``excess`` fewer boxes are drawn.

    A node can be hidden when it is an intermediate (not the root, not in ``skip``) with
    exactly one parent, used by exactly one op, without a name of its own and without
    NaN/Inf. A chain is a maximal run of such nodes; collapsing it keeps its two ends and
    hides the rest. The longest chains are collapsed first, until the excess is gone (or
    no chain of 3 or more is left).

    Returns (hidden: dict id(node) -> chain index, chains: list of (first, last, n_hidden, ops)).
    """
    if excess <= 0:
        return {}, []
    uses: dict = {}
    for node in order:
        for p in node._parents:
            k = id(p)
            uses[k] = uses.get(k, 0) + 1
    chain_of: dict = {}
    chains: list = []
    for node in order:
        ps = node._parents
        if (node._op is None or node is root or len(ps) != 1 or uses.get(id(node), 0) != 1
                or id(node) in skip or own_name(node, pnames) or problems(node)):
            continue
        k = id(ps[0])
        if k in chain_of:
            c = chain_of[k]
            chains[c].append(node)
        else:
            c = len(chains)
            chains.append([node])
        chain_of[id(node)] = c
    hidden: dict = {}
    kept: list = []
    for c in sorted(range(len(chains)), key=lambda i: -len(chains[i])):
        if excess <= 0:
            break
        run = chains[c]
        if len(run) < 3:
            break
        ci = len(kept)
        ops_seen: dict = {}
        for node in run[1:-1]:
            hidden[id(node)] = ci
            ops_seen[node._op.name] = None
        kept.append((run[0], run[-1], len(run) - 2, list(ops_seen)))
        excess -= len(run) - 2
    return hidden, kept


# ------------------------------------------------------------------------------ far end ----
def far_end(order: list, root: Any, max_nodes: Optional[int], group_of: dict, hidden: dict) -> set:
    """The values drawn as one "... N more values" box when groups and chains left more than
    ``max_nodes`` boxes (a wide graph: a sum over many terms has no chain to fold): the boxes
    are taken breadth-first from the root through the parents, up to ``max_nodes - 1``
    (a module group or a hidden chain counts once; the root's box always); every value of a
    box not taken is in the returned set of ids (empty when the picture fits)."""
    def unit(nd: Any) -> tuple:
        k = id(nd)
        return ("g", group_of[k]) if k in group_of else ("h", hidden[k]) if k in hidden else ("v", k)

    if max_nodes is None or len({unit(nd) for nd in order}) <= max_nodes:
        return set()
    kept: set = set()
    seen = {id(root)}
    queue = [root]
    for nd in queue:  # (a list read while it grows: breadth-first)
        u = unit(nd)
        if u not in kept:
            if len(kept) >= max(max_nodes - 1, 1):
                continue
            kept.add(u)
        for p in nd._parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return {id(nd) for nd in order if unit(nd) not in kept}
