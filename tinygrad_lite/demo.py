"""The main idea in a few seconds: ``python -m tinygrad_lite.demo [--out DIR]``.

A 2-8-1 tanh net and the squared-error cost of a batch of B observations,

    E = (1/B) sum_b e_b,    e_b = (y_b - t_b)^2,

so dE/dw = (1/B) sum_b de_b/dw: the batch gradient is the mean of the per-sample gradients,
and each of those is, for the weight w_ij from unit j to neuron i, de_b/dw_ij = delta_i * x_j.
With the input made by ``tl.Tensor(X, batched=True)``, ONE ``backward()`` gives both
``p.grad`` (dE/dw) and ``p.grad_sample`` (every de_b/dw). The demo checks that
``grad == grad_sample.mean(0)``, trains the net for a few epochs of mini-batch SGD, and
draws the graph of one observation's cost (SVG when Graphviz's ``dot`` program is
installed, DOT source otherwise) into ``--out`` (default ``./tinygrad_lite_demo_out``).
``--html [PATH]`` also writes the interactive explorer of a small batch's cost, one
self-contained HTML page (default ``./tinygrad_lite_graph.html``).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

import tinygrad_lite as tl

DEFAULT_OUT = "tinygrad_lite_demo_out"
DEFAULT_HTML = "tinygrad_lite_graph.html"


def make_data(n: int = 256, seed: int = 0) -> tuple:
    """``n`` points x in [-2, 2]^2 with targets t = sin(x1) cos(x2) + a little noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    t = (np.sin(X[:, 0]) * np.cos(X[:, 1]))[:, None] + 0.05 * rng.standard_normal((n, 1))
    return X, t


def make_model(seed: int = 0) -> tl.nn.Module:
    """The 2-8-1 tanh net: Linear(2, 8), Tanh, Linear(8, 1)."""
    return tl.nn.Sequential(tl.nn.Linear(2, 8, rng=seed), tl.nn.Tanh(), tl.nn.Linear(8, 1, rng=seed + 1))


def full_cost(model: tl.nn.Module, X: np.ndarray, t: np.ndarray) -> float:
    """Mean squared error over the whole data set (no graph recorded)."""
    with tl.no_grad():
        return float(tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(t)).item())


def one_backward(model: tl.nn.Module, X: np.ndarray, t: np.ndarray) -> float:
    """One backward of a batch cost: print grad and grad_sample, return max|grad - mean|."""
    B = len(X)
    E = tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(t, batched=True))
    E.backward()
    print(f"E = mean over {B} observations of (y_b - t_b)^2 = {E.item():.5f}; ONE E.backward() gives:")
    worst = 0.0
    for name, p in model.named_parameters():
        diff = float(np.max(np.abs(p.grad - p.grad_sample.mean(axis=0))))
        worst = max(worst, diff)
        print(f"  {name:9s} grad {str(p.grad.shape):7s}  grad_sample {str(p.grad_sample.shape):10s}  "
              f"max|grad - grad_sample.mean(0)| = {diff:.1e}")
    w = model[2].weight
    shown = ", ".join(f"{v:+.4f}" for v in w.grad_sample[:4, 0, 0])
    print(f"  e.g. w = 2.weight[0, 0], hidden unit 0 -> output: de_b/dw = delta_b * h_b0 = {shown}, ... "
          f"({B} values)")
    print(f"       their mean {w.grad_sample[:, 0, 0].mean():+.6f} = grad {w.grad[0, 0]:+.6f}")
    print(f"largest difference between grad and grad_sample.mean(0): {worst:.1e}")
    return worst


def train(model: tl.nn.Module, X: np.ndarray, t: np.ndarray, epochs: int, batch_size: int = 16,
          lr: float = 0.2) -> list:
    """Mini-batch SGD, order reshuffled every epoch; returns the full-data cost after each epoch."""
    opt = tl.optim.SGD(model.parameters(), lr=lr)
    loader = tl.data.DataLoader(X, t, batch_size=batch_size, shuffle=True, seed=0)
    print(f"\nmini-batch SGD: {len(X)} observations, batches of {batch_size} ({len(loader)} steps per "
          f"epoch), lr {lr}")
    costs = []
    print(f"  epoch  0: cost {full_cost(model, X, t):.5f}")
    for epoch in range(1, epochs + 1):
        for xb, tb in loader:
            opt.zero_grad()
            tl.nn.mse_loss(model(xb), tb).backward()
            opt.step()
        costs.append(full_cost(model, X, t))
        print(f"  epoch {epoch:2d}: cost {costs[-1]:.5f}")
    return costs


def draw_one_sample(model: tl.nn.Module, x: np.ndarray, t: np.ndarray, out: Path) -> Path:
    """Backward of ONE observation's cost, then its graph with values and gradients, saved
    under ``out`` as SVG (or DOT source without Graphviz's ``dot``); returns the path."""
    model.zero_grad()
    xt = tl.Tensor(x[None, :], name="x")
    tt = tl.Tensor(t[None, :], name="t")
    e = tl.nn.mse_loss(model(xt), tt)
    e.name = "e"
    e.backward()
    graph = tl.viz.draw_graph(e, module=model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = Path(tl.viz.save(graph, out / "one_sample_cost.svg"))
    print("\ngraph of one observation's cost e = (y - t)^2 after backward (values and gradients on it):")
    if path.suffix == ".svg":
        print(f"  wrote {path} (SVG picture; open it in a web browser)")
    else:
        print(f"  wrote {path} (DOT source: Graphviz's dot program was not found)")
        for w in caught:
            print(f"  note: {w.message}")
    model.zero_grad()
    return path


def write_explorer(model: tl.nn.Module, X: np.ndarray, t: np.ndarray, path: Path) -> Path:
    """Backward of a small batch's cost, then its interactive explorer written to ``path``
    (one self-contained HTML file); returns the path. The model's gradients are cleared after."""
    from .explore import explore

    model.zero_grad()
    xb = tl.Tensor(X, batched=True, name="x")
    tb = tl.Tensor(t, batched=True, name="t")
    E = tl.nn.mse_loss(model(xb), tb)
    E.name = "E"
    E.backward()
    ex = explore(E, module=model)
    out = Path(ex.save(path))
    how = "Graphviz layout" if ex.layout == "dot" else "simple layered layout: Graphviz's dot was not found"
    print(f"\ninteractive explorer of the cost of {len(X)} observations ({how}):")
    print(f"  wrote {out} (open it in a web browser: click nodes, Step through the backward pass)")
    model.zero_grad()
    return out


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the demo; returns the key numbers (max difference, costs per epoch, picture path and,
    with ``--html``, the explorer's path)."""
    parser = argparse.ArgumentParser(prog="python -m tinygrad_lite.demo",
                                     description="grad and grad_sample from one backward, in a few seconds")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    parser.add_argument("--html", nargs="?", const=DEFAULT_HTML, default=None, metavar="PATH",
                        help=f"also write the interactive graph explorer (default path ./{DEFAULT_HTML})")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    X, t = make_data()
    model = make_model()
    print(f"tinygrad_lite {tl.__version__} demo: a 2-8-1 tanh net, squared-error cost\n")
    diff = one_backward(model, X[:16], t[:16])
    model.zero_grad()
    costs = train(model, X, t, args.epochs)
    picture = draw_one_sample(model, X[0], t[0], out)
    result = {"max_diff": diff, "costs": costs, "picture": picture}
    if args.html is not None:
        result["html"] = write_explorer(model, X[:4], t[:4], Path(args.html))
    return result


if __name__ == "__main__":
    main()
