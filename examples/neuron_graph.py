"""The graph of one neuron and its squared-error cost, with every value and gradient on it.

    z = w1 x1 + w2 x2 + b,     y = tanh(z),     err = y - t,     E = err^2

Backward applies the chain rule node by node, from E back to the leaves:

    dE/dy = 2 err = 2 (y - t)
    dE/dz = dE/dy * (1 - y^2)          = delta, the neuron's error signal
    dE/dw_j = delta * x_j,  dE/db = delta

The same neuron is built twice: with the scalar ``Value`` engine (one node per scalar
operation) and with the ``Tensor`` engine (the weights as one vector). Both run on the same
graph walker: ``tl.viz.trace_backward`` runs the backward pass and prints each step (the
local derivative rule with its numbers and what is sent to each parent), then
``tl.viz.draw_graph`` draws the graph with values and gradients. The pictures are written to
``docs/neuron_graph.svg`` (Value) and ``docs/neuron_graph_tensor.svg`` (Tensor), or as DOT
source (``.dot``) when Graphviz's ``dot`` program is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Union

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # _shared.py, and the package when it is not installed

from _shared import output_dir, save_graph  # noqa: E402

import tinygrad_lite as tl  # noqa: E402

X = (1.5, -0.5)   # the inputs x1, x2
W = (0.8, -1.2)   # the weights w1, w2
B = 0.1           # the bias
T = -0.5          # the target


def by_hand() -> dict:
    """The forward values and the gradients from the formulas in the module docstring."""
    z = W[0] * X[0] + W[1] * X[1] + B
    y = np.tanh(z)
    delta = 2 * (y - T) * (1 - y ** 2)
    return {"E": (y - T) ** 2, "w1": delta * X[0], "w2": delta * X[1], "b": delta}


def value_neuron() -> tuple:
    """The neuron with scalar Values, every node labelled; returns (E, the leaves by name)."""
    x1, x2 = tl.Value(X[0], label="x1"), tl.Value(X[1], label="x2")
    w1, w2 = tl.Value(W[0], label="w1"), tl.Value(W[1], label="w2")
    b = tl.Value(B, label="b")
    w1x1 = w1 * x1
    w1x1.label = "w1x1"
    w2x2 = w2 * x2
    w2x2.label = "w2x2"
    s = w1x1 + w2x2
    s.label = "s"
    z = s + b
    z.label = "z"
    y = z.tanh()
    y.label = "y"
    err = y - T
    err.label = "err"
    E = err ** 2
    E.label = "E"
    return E, {"w1": w1, "w2": w2, "b": b}


def tensor_neuron() -> tuple:
    """The same neuron with Tensors: w and x are vectors, z = w @ x + b."""
    x = tl.Tensor(X, name="x")
    w = tl.Tensor(W, requires_grad=True, name="w")
    b = tl.Tensor(B, requires_grad=True, name="b")
    z = w @ x + b
    z.name = "z"
    y = z.tanh()
    y.name = "y"
    err = y - T
    err.name = "err"
    E = err ** 2
    E.name = "E"
    return E, {"w": w, "b": b}


def main(fast: bool = False, out: Union[None, str, Path] = None) -> dict:
    """Trace, draw and check both neurons (``fast`` changes nothing: the example is tiny)."""
    folder = output_dir(out)
    hand = by_hand()
    print(f"neuron: x = {X}, w = {W}, b = {B}, target t = {T}")
    print(f"by hand: E = {hand['E']:.6f}, dE/dw1 = {hand['w1']:.6f}, dE/dw2 = {hand['w2']:.6f}, "
          f"dE/db = {hand['b']:.6f}")

    print("\n--- Value engine: backward, step by step ---")
    E, leaves = value_neuron()
    value_steps = tl.viz.trace_backward(E)
    value_grads = {name: v.grad for name, v in leaves.items()}
    value_picture = save_graph(E, folder / "neuron_graph.svg")

    print("\n--- Tensor engine: backward, step by step ---")
    Et, tleaves = tensor_neuron()
    tensor_steps = tl.viz.trace_backward(Et)
    w_grad = tleaves["w"].grad
    tensor_grads = {"w1": float(w_grad[0]), "w2": float(w_grad[1]), "b": float(tleaves["b"].grad)}
    tensor_picture = save_graph(Et, folder / "neuron_graph_tensor.svg")

    diff_value = max(abs(value_grads[k] - hand[k]) for k in ("w1", "w2", "b"))
    diff_tensor = max(abs(tensor_grads[k] - hand[k]) for k in ("w1", "w2", "b"))
    print(f"\nmax |gradient - by hand|: Value engine {diff_value:.1e}, Tensor engine {diff_tensor:.1e}")
    print(f"dE/dw_j = delta * x_j with delta = dE/dz = {hand['b']:.6f}: "
          f"{hand['b']:.6f} * {X[0]} = {hand['w1']:.6f}, {hand['b']:.6f} * {X[1]} = {hand['w2']:.6f}")
    return {"E": float(E.data), "E_tensor": float(Et.data), "by_hand": hand, "value_grads": value_grads,
            "tensor_grads": tensor_grads, "diff_value": diff_value, "diff_tensor": diff_tensor,
            "value_steps": len(value_steps), "tensor_steps": len(tensor_steps),
            "pictures": [value_picture, tensor_picture]}


if __name__ == "__main__":
    main()
