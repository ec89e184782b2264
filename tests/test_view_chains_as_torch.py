"""``view`` on a view of a view: refused where torch refuses (the result would be a copy
that writes never reach), shared memory where torch shares it."""

import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch")

CHAINS = ["x.t().unsqueeze(0).view(1, 6)", "x.t().squeeze().view(-1)", "x.t()[::2].view(-1)",
          "x.t().unsqueeze(1).squeeze(1).view(-1)", "x[:, :2].unsqueeze(0).view(4)",
          "x.t().unsqueeze(0).expand(2, 3, 2).view(2, 6)", "x.t().unflatten(0, (3, 1)).view(3, 2)",
          "x.t().narrow(0, 0, 2).view(-1)", "x.view(3, 2).t().view(-1)", "x.t().contiguous().view(-1)",
          "x.t().reshape(-1)", "x.unsqueeze(0).view(2, 3)", "x.t().t().view(-1)", "x.t().permute(1, 0).view(-1)",
          "x.view(6)[::2].unsqueeze(0).view(3)", "x.t().flatten().view(6)"]


def _run(lib, expr):
    x = lib.arange(6.0).reshape(2, 3)
    try:
        v = eval(expr, {"x": x})
    except RuntimeError:
        return "refused"
    try:
        flat = v.view(-1)
    except RuntimeError:
        return "refused a flat view"
    flat[0] = 100.0
    return f"x[0, 0] = {float(x[0, 0])}"


@pytest.mark.parametrize("expr", CHAINS)
def test_view_of_a_view_as_torch(expr):
    assert _run(tl, expr) == _run(torch, expr)
