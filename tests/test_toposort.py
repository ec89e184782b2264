"""The walker's orders (``graph.toposort``): every reachable node once, parents first, for
the depth-first order (Values, pictures) and the creation-stamp order (a Tensor backward)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import graph

# a random DAG: node i (after the leaves) combines two earlier nodes with + or *
dags = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.booleans()), min_size=1, max_size=40)


def _build(make_leaf, spec, n_leaves=4):
    nodes = [make_leaf(i) for i in range(n_leaves)]
    for a, b, mul in spec:
        x, y = nodes[a % len(nodes)], nodes[b % len(nodes)]
        nodes.append(x * y if mul else x + y)
    return nodes


def _check_order(order, root, through):
    """Each node once; a node after all its parents that the order goes through; exactly
    the nodes reachable from root through ``through`` parents."""
    assert len(order) == len({id(n) for n in order})
    pos = {id(n): i for i, n in enumerate(order)}
    reach, stack = {id(root)}, [root]
    while stack:
        n = stack.pop()
        for p in n._parents:
            if through(p) and id(p) not in reach:
                reach.add(id(p))
                stack.append(p)
    assert set(pos) == reach
    for n in order:
        for p in n._parents:
            if through(p):
                assert pos[id(p)] < pos[id(n)]


@settings(max_examples=60, deadline=None)
@given(dags)
def test_value_graph_order(spec):
    root = _build(lambda i: tl.Value(float(i) + 0.5), spec)[-1]
    _check_order(graph.toposort(root), root, lambda p: p.requires_grad)
    _check_order(graph.toposort(root, every=True), root, lambda p: True)


@settings(max_examples=60, deadline=None)
@given(dags)
def test_tensor_graph_orders(spec):
    nodes = _build(lambda i: tl.Tensor(np.full(3, i + 0.5), requires_grad=i % 2 == 0), spec)
    root = nodes[-1]
    if not root.requires_grad:
        root = root + nodes[0]
    _check_order(graph.toposort(root, versions=True), root, lambda p: p.requires_grad)
    _check_order(graph.toposort(root), root, lambda p: p.requires_grad)
    _check_order(graph.toposort(root, every=True), root, lambda p: True)


def test_every_order_visits_the_first_parent_subgraph_first():
    a, b, c, d = (tl.Value(float(i), label=n) for i, n in enumerate("abcd"))
    root = a * b + c * d
    order = graph.toposort(root, every=True)
    assert [n.label for n in order] == ["a", "b", "", "c", "d", "", ""]
    assert order[2] is root._parents[0] and order[5] is root._parents[1] and order[6] is root


def test_stamp_order_refuses_values_changed_in_place():
    w = tl.Tensor(np.ones(3), requires_grad=True)
    y = (w * w).sum()  # (w * 2 reads no values of w: torch and this order let it through)
    w.data = np.zeros(3)
    with pytest.raises(RuntimeError, match="changed in place"):
        graph.toposort(y, versions=True)
    z = (w * 2).sum()
    w.data = np.ones(3)
    assert graph.toposort(z, versions=True)[-1] is z
