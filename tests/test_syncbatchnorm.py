"""tl.nn.SyncBatchNorm: BatchNorm (and torch's SyncBatchNorm) in a world of one process;
convert_sync_batchnorm as torch's; real 2- and 3-rank jobs whose outputs, running statistics,
gradients and SGD steps equal one process's BatchNorm over the global batch.

The jobs run ``tests/mpi_scripts/syncbn.py`` through the project's launcher, with a timeout,
and skip cleanly without mpi4py or mpiexec.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist
from tinygrad_lite.distributed import __main__ as launcher

TESTS = Path(__file__).resolve().parent
SCRIPTS = TESTS / "mpi_scripts"
ROOT = Path(tl.__file__).resolve().parent.parent
sys.path.insert(0, str(SCRIPTS))

import syncbn  # noqa: E402

LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")
TL_BN = {2: tl.nn.BatchNorm1d, 3: tl.nn.BatchNorm1d, 4: tl.nn.BatchNorm2d, 5: tl.nn.BatchNorm3d}


def close(a: Any, ref: Any, rel: float = 1e-10, scale: float = 0.0) -> None:
    """Equal to ``rel`` relative to the reference's largest value (or to ``scale`` when larger)."""
    a, ref = np.asarray(a), np.asarray(ref)
    assert a.shape == ref.shape, (a.shape, ref.shape)
    np.testing.assert_allclose(a, ref, rtol=rel, atol=rel * max(np.abs(ref).max(initial=0.0), scale))


def _rand_affine(rng: np.random.Generator, C: int) -> tuple:
    return rng.normal(1.0, 0.3, C), rng.normal(0.0, 0.5, C)


# ----------------------------------------------------------------------------- world of one


@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4), (4, 3, 2, 3), (3, 3, 2, 2, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_world_of_one_is_batchnorm(shape: tuple, momentum: Any) -> None:
    """Without a launcher: the same outputs, gradients and running statistics as BatchNorm,
    in training (two steps) and then in evaluation."""
    rng = np.random.default_rng(len(shape))
    C = shape[1]
    w, b = _rand_affine(rng, C)
    sync, plain = tl.nn.SyncBatchNorm(C, momentum=momentum), TL_BN[len(shape)](C, momentum=momentum)
    for m in (sync, plain):
        m.weight.data[...], m.bias.data[...] = w, b
    for _step in range(2):
        X, G = rng.normal(2.0, 3.0, shape), rng.normal(size=shape)
        res = []
        for m in (sync, plain):
            m.zero_grad()
            x = tl.Tensor(X, requires_grad=True)
            y = m(x)
            (y * G).sum().backward()
            res.append([y.data, x.grad, m.weight.grad, m.bias.grad, m.running_mean.data, m.running_var.data,
                        m.num_batches_tracked.data])
        for a, ref in zip(*res):
            close(a, ref, 1e-13)
    for m in (sync, plain):
        m.eval()
    X = rng.normal(size=shape)
    close(sync(tl.Tensor(X)).data, plain(tl.Tensor(X)).data, 1e-13)


def test_world_of_one_after_init_and_the_other_settings() -> None:
    """After dist.init() without a launcher (a world of 1), and for affine=False, bias=False,
    track_running_stats=False (batch statistics also in evaluation): BatchNorm's results."""
    dist.init()
    assert dist.world_size() == 1
    rng = np.random.default_rng(5)
    X, G = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 3))
    for kw in ({"affine": False}, {"bias": False}, {"track_running_stats": False}):
        sync, plain = tl.nn.SyncBatchNorm(2, **kw), tl.nn.BatchNorm1d(2, **kw)
        for mode in (True, False):
            sync.train(mode), plain.train(mode)
            outs = []
            for m in (sync, plain):
                x = tl.Tensor(X, requires_grad=True)
                y = m(x)
                (y * G).sum().backward()
                outs.append((y.data, x.grad, [p.grad for p in m.parameters()], [t.data for t in m.buffers()]))
            close(outs[0][0], outs[1][0], 1e-13)
            close(outs[0][1], outs[1][1], 1e-13)
            for a, ref in zip(outs[0][2] + outs[0][3], outs[1][2] + outs[1][3]):
                close(a, ref, 1e-13)


@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4), (4, 3, 2, 3), (3, 3, 2, 2, 2), (2, 3, 2, 1, 2, 2)])
@pytest.mark.parametrize("settings", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}])
def test_world_of_one_matches_torch(shape: tuple, settings: dict) -> None:
    """torch's SyncBatchNorm on the CPU without a process group (its BatchNorm fallback):
    outputs, input/weight/bias gradients and running statistics over two training steps,
    then evaluation; any input of at least two axes."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(shape))
    C = shape[1]
    ours = tl.nn.SyncBatchNorm(C, **settings)
    theirs = torch.nn.SyncBatchNorm(C, dtype=torch.float64, **settings)
    if ours.affine:
        w, b = _rand_affine(rng, C)
        ours.weight.data[...], ours.bias.data[...] = w, b
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w)), theirs.bias.copy_(torch.tensor(b))
    for mode in (True, True, False):
        ours.train(mode), theirs.train(mode)
        X, G = rng.normal(1.0, 2.0, shape), rng.normal(size=shape)
        x, tx = tl.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        (y * G).sum().backward()
        (ty * torch.tensor(G)).sum().backward()
        close(y.data, ty.detach().numpy())
        close(x.grad, tx.grad.numpy())
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == tname
            close(p.grad, tp.grad.numpy())
            tp.grad = None
        ours.zero_grad()
        ours_state, their_state = ours.state_dict(), theirs.state_dict()
        assert list(ours_state) == list(their_state)
        for k in ours_state:
            close(np.asarray(ours_state[k].data), their_state[k].numpy())


class Block(tl.nn.Module):
    def __init__(self) -> None:
        self.bn = tl.nn.BatchNorm1d(4, eps=1e-3)
        self.inner = tl.nn.ModuleList([tl.nn.BatchNorm3d(2, momentum=None), tl.nn.Linear(2, 2, rng=0)])
        self.norms = tl.nn.ModuleDict({"a": tl.nn.BatchNorm2d(3, track_running_stats=False)})
        self.inst = tl.nn.InstanceNorm1d(4, affine=True, track_running_stats=True)

    def forward(self, x: Any) -> Any:
        return x


def _torch_block(torch: Any) -> Any:
    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(4, eps=1e-3)
            self.inner = torch.nn.ModuleList([torch.nn.BatchNorm3d(2, momentum=None), torch.nn.Linear(2, 2)])
            self.norms = torch.nn.ModuleDict({"a": torch.nn.BatchNorm2d(3, track_running_stats=False)})
            self.inst = torch.nn.InstanceNorm1d(4, affine=True, track_running_stats=True)

    return Block()


@pytest.mark.parametrize("sync", [False, True], ids=["BatchNorm", "SyncBatchNorm"])
def test_all_reduce_gradients_after_a_batchnorm_backward(sync: bool) -> None:
    """A graph through BatchNorm mixes samples: the backward records the batch size but not the
    cost's reduction. SyncBatchNorm's reduction= names it, so the usual four lines work; with
    BatchNorm the error asks for reduction= and reduction='mean' works (a world of 1: the
    gradients stay as they are)."""
    dist.init()
    model = tl.nn.Sequential(tl.nn.Linear(4, 6, rng=0), tl.nn.BatchNorm1d(6), tl.nn.Linear(6, 2, rng=1))
    if sync:
        model = tl.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    x = tl.Tensor(np.random.default_rng(0).normal(size=(8, 4)), batched=True)
    tl.nn.cross_entropy(model(x), tl.Tensor(np.arange(8) % 2)).backward()
    before = [p.grad.copy() for p in model.parameters()]
    if not sync:
        with pytest.raises(ValueError, match=r"saw \[8\] samples through a graph that mixes them.*reduction="):
            dist.all_reduce_gradients(model)
    else:
        dist.all_reduce_gradients(model)
    dist.all_reduce_gradients(model, reduction="mean")
    for p, g in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)


def test_convert_sync_batchnorm_matches_torch() -> None:
    """On a nested model: the same layers replaced as torch's (names and types), each new
    layer holding the very weight, bias and buffer Tensors (values, requires_grad) and the
    settings and training flag of the one it replaces; the same state_dict keys."""
    torch = pytest.importorskip("torch")
    ours = tl.nn.Sequential(tl.nn.Conv2d(3, 3, 1, rng=0), tl.nn.BatchNorm2d(3, momentum=None), Block(),
                            tl.nn.BatchNorm1d(5, affine=False), tl.nn.BatchNorm1d(2, bias=False))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3, momentum=None), _torch_block(torch),
                                 torch.nn.BatchNorm1d(5, affine=False), torch.nn.BatchNorm1d(2, bias=False))
    for model in (ours, theirs):
        model[2].bn.weight.requires_grad_(False)
        model[1].eval()
    rng = np.random.default_rng(0)
    for _, t in ours.named_buffers():
        if t.data.dtype.kind == "f":
            t.data[...] = rng.normal(size=t.data.shape)
    before = dict(ours.named_modules())
    held = {name: (m.weight, m.bias, m.running_mean, m.running_var, m.num_batches_tracked)
            for name, m in before.items() if hasattr(m, "running_mean")}
    values = {name: [None if t is None else t.data.copy() for t in ts] for name, ts in held.items()}
    out = tl.nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    tout = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert out is ours and tout is theirs
    kinds = [(name, type(m).__name__) for name, m in out.named_modules()]
    assert kinds == [(name, type(m).__name__) for name, m in tout.named_modules()]
    assert sum(kind == "SyncBatchNorm" for _, kind in kinds) == 6
    tmods = dict(tout.named_modules())
    for name, m in out.named_modules():
        if type(m) is not tl.nn.SyncBatchNorm:
            assert m is before[name]  # everything else is the same object
            continue
        t = tmods[name]
        assert m is not before[name]
        now = (m.weight, m.bias, m.running_mean, m.running_var, m.num_batches_tracked)
        assert all(a is b for a, b in zip(now, held[name]))
        for a, v in zip(now, values[name]):
            assert (a is None) == (v is None) and (a is None or np.array_equal(a.data, v))
        assert (m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats, m.training) == (
            t.num_features, t.eps, t.momentum, t.affine, t.track_running_stats, t.training)
        assert (m.bias is None) == (t.bias is None) and m.process_group is None
        if m.weight is not None:
            assert m.weight.requires_grad == t.weight.requires_grad
    assert not out[2].bn.weight.requires_grad and not out[1].training and out[3].training
    assert list(out.state_dict()) == list(tout.state_dict())
    assert len(out.parameters()) == len(list(tout.parameters()))


def test_convert_a_layer_itself_lists_and_shared_layers() -> None:
    """A BatchNorm given itself comes back as a new SyncBatchNorm (the original is left as it
    was); layers inside a plain list attribute are replaced; a layer held under two names
    becomes one new layer under both; an optimizer built before still trains the weights."""
    bn = tl.nn.BatchNorm2d(3)
    new = tl.nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert type(new) is tl.nn.SyncBatchNorm and type(bn) is tl.nn.BatchNorm2d and new.weight is bn.weight

    class Holder(tl.nn.Module):
        def __init__(self) -> None:
            shared = tl.nn.BatchNorm1d(2)
            self.items = [tl.nn.Linear(2, 2, rng=0), shared]
            self.pair = (shared, tl.nn.BatchNorm1d(2))
            self.again = shared

        def forward(self, x: Any) -> Any:
            return self.pair[1](self.again(self.items[0](x)))

    h = Holder()
    params = h.parameters()
    opt = tl.optim.SGD(params, lr=0.1)
    out = tl.nn.SyncBatchNorm.convert_sync_batchnorm(h)
    assert out is h and {id(p) for p in h.parameters()} == {id(p) for p in params}
    assert type(h.items[1]) is tl.nn.SyncBatchNorm and h.items[1] is h.pair[0] is h.again
    assert type(h.pair[1]) is tl.nn.SyncBatchNorm and isinstance(h.pair, tuple)
    norm_weights = [h.again.weight, h.pair[1].weight]
    old = [w.data.copy() for w in norm_weights]
    target = tl.Tensor(np.random.default_rng(2).normal(size=(4, 2)))
    tl.nn.mse_loss(h(tl.Tensor(np.random.default_rng(1).normal(size=(4, 2)))), target).backward()
    opt.step()
    assert all(not np.array_equal(w.data, o) for w, o in zip(norm_weights, old))


def test_bad_arguments_raise_naming_the_layer_and_change_nothing() -> None:
    with pytest.raises(ValueError, match="SyncBatchNorm: process_group"):
        tl.nn.SyncBatchNorm(3, process_group="group")
    with pytest.raises(ValueError, match="SyncBatchNorm: reduction"):
        tl.nn.SyncBatchNorm(3, reduction="avg")
    with pytest.raises(ValueError, match="momentum"):
        tl.nn.SyncBatchNorm(3, momentum=2.0)
    with pytest.raises(TypeError, match="convert_sync_batchnorm: module"):
        tl.nn.SyncBatchNorm.convert_sync_batchnorm([tl.nn.BatchNorm1d(2)])
    with pytest.raises(ValueError, match="convert_sync_batchnorm: process_group"):
        tl.nn.SyncBatchNorm.convert_sync_batchnorm(tl.nn.BatchNorm1d(2), process_group=object())
    m = tl.nn.SyncBatchNorm(3)
    state = {k: np.array(v.data) for k, v in m.state_dict().items()}
    for bad in (np.ones(3), np.ones((4, 2)), np.ones((4, 4, 2))):
        with pytest.raises(ValueError, match=r"SyncBatchNorm\(3\): expected an input of shape \(B, 3, \.\.\.\)"):
            m(tl.Tensor(bad))
    with pytest.raises(ValueError, match="more than one value per channel"):
        m(tl.Tensor(np.ones((1, 3))))
    assert all(np.array_equal(v.data, state[k]) for k, v in m.state_dict().items())


# ----------------------------------------------------------------------------- real jobs

def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS and not k.startswith("HYDRA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _job(world: int, out_dir: Path, cases: list, timeout: float = 60.0) -> None:
    cmd = [sys.executable, "-m", "tinygrad_lite.distributed", "-n", str(world), str(SCRIPTS / "syncbn.py"),
           str(out_dir), ",".join(cases)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(),
                            cwd=str(ROOT), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd} did not finish within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    assert proc.returncode == 0, f"job failed ({proc.returncode}):\n{out}\n{err}"


@pytest.fixture(scope="module")
def mpi() -> None:
    """Skips cleanly without mpi4py or without mpiexec."""
    pytest.importorskip("mpi4py")
    if launcher.find_mpiexec() is None:
        pytest.skip("mpiexec is not installed")


CASES = ["even-mean", "uneven-mean", "uneven-sum", "lopsided-mean", "lopsided-sum", "empty-mean", "empty-sum"]


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_equal_one_process_over_the_global_batch(mpi: None, tmp_path: Path, world: int) -> None:
    """Every rank's output rows and input-gradient rows (times its share of the cost), the
    reduced parameter gradients and the running statistics after one step, and the weights
    and statistics after three SGD steps (and an evaluation pass) equal one process's
    BatchNorm over the global batch to 1e-10; the reduced gradients, statistics and weights
    are bitwise the same on every rank."""
    _job(world, tmp_path, CASES)
    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(world)]
    assert all(bool(r["refused"]) for r in ranks)  # create_graph through the exchange: refused
    for case in CASES:
        split = case.split("-")[0]
        parts = np.array_split(np.arange(syncbn.N[split]), syncbn.sections(split, world))
        if split == "empty":
            assert min(len(p) for p in parts) == 0
        ref = syncbn.run(case, 0, 1, sync=False)
        grad_scale = max(np.abs(v).max() for k, v in ref.items() if k.startswith("grad"))
        for key, want in ref.items():
            for r, rank in enumerate(ranks):
                got = rank[f"{case}__{key}"]
                if key in ("out", "xgrad"):  # this rank's rows
                    close(got, want[parts[r]], scale=np.abs(want).max())
                else:
                    close(got, want, scale=grad_scale if key.startswith("grad") else 0.0)
                    assert got.tobytes() == ranks[0][f"{case}__{key}"].tobytes(), (case, key, r)
    # the exchange matters: BatchNorm over rank 0's shard alone gives other statistics
    parts = np.array_split(np.arange(syncbn.N["uneven"]), world)
    X, _ = syncbn.batch(0, syncbn.N["uneven"])
    local = syncbn.make_model()
    local(tl.Tensor(X[parts[0]]))
    layer = syncbn.norm_layers(local)[0]
    assert np.abs(layer.running_mean.data - ranks[0]["uneven-mean__first_buf0_running_mean"]).max() > 1e-3
