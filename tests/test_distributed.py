"""Data-parallel training on MPI: real 2- and 3-rank jobs against one process.

The jobs run the scripts in ``tests/mpi_scripts/`` through the project's launcher
(``python -m tinygrad_lite.distributed -n N ...``), each in a few seconds with a timeout;
their results are compared with the same code run here as a world of one process. Tests that
need MPI skip cleanly when mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import distributed as dist
from tinygrad_lite.distributed import __main__ as launcher
from tinygrad_lite.distributed import _mpi

TESTS = Path(__file__).resolve().parent
SCRIPTS = TESTS / "mpi_scripts"
ROOT = Path(tl.__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "data_parallel.py"
sys.path.insert(0, str(SCRIPTS))

import _common  # noqa: E402

LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                 "PMIX_RANK")


def clean_env() -> dict[str, str]:
    """This environment without launcher variables, with this checkout first on the path, one BLAS thread."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS and not k.startswith("HYDRA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def run(cmd: list[str], timeout: float = 60.0, cwd: Any = ROOT) -> subprocess.CompletedProcess:
    """Runs ``cmd`` in its own process group; on timeout kills that group and fails the test."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                            cwd=str(cwd), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd} did not finish within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def job(n: int, script: Path, *args: Any, timeout: float = 60.0, check: bool = True,
        cwd: Any = ROOT) -> subprocess.CompletedProcess:
    """An n-rank job started with the project's launcher."""
    done = run([sys.executable, "-m", "tinygrad_lite.distributed", "-n", str(n), str(script),
                *map(str, args)], timeout=timeout, cwd=cwd)
    if check:
        assert done.returncode == 0, f"job failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def mpi() -> None:
    """Skips cleanly without mpi4py or without mpiexec."""
    pytest.importorskip("mpi4py")
    if launcher.find_mpiexec() is None:
        pytest.skip("mpiexec is not installed")


def rank_files(out_dir: Path, world: int) -> list[dict[str, np.ndarray]]:
    files = [np.load(out_dir / f"rank{r}.npz") for r in range(world)]
    return [{k: f[k] for k in f.files} for f in files]


def check_grad_cases(tmp_path: Path, cases: list) -> None:
    """Run the gradient cases on 3 ranks: each equals the one-process gradient to 1e-12 and
    is bitwise the same on every rank."""
    job(3, SCRIPTS / "grads.py", tmp_path, ",".join(cases))
    ranks = rank_files(tmp_path, 3)
    for case in cases:
        for i, ref in enumerate(full_gradient("sum" if case.endswith("sum") else "mean")):
            assert_close_relative(ranks[0][f"{case}__{i}"], ref, 1e-12)
            for other in ranks[1:]:
                assert other[f"{case}__{i}"].tobytes() == ranks[0][f"{case}__{i}"].tobytes()


def full_gradient(reduction: str) -> list[np.ndarray]:
    """The single-process gradient of the cost over all N samples."""
    X, Y = _common.make_data()
    model = _common.make_model(seed=0)
    cost = tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True), reduction=reduction)
    cost.backward()
    return [p.grad.copy() for p in model.parameters()]


def assert_close_relative(a: np.ndarray, ref: np.ndarray, rel: float) -> None:
    np.testing.assert_allclose(a, ref, rtol=rel, atol=rel * np.abs(ref).max())


# ----------------------------------------------------------------------------- world of one


def test_importing_does_not_import_mpi4py_and_no_launcher_means_a_world_of_one() -> None:
    code = ("import sys, numpy as np, tinygrad_lite, tinygrad_lite.distributed as d; "
            "before = 'mpi4py' in sys.modules; d.init(); d.init(); "
            "print(before, 'mpi4py' in sys.modules, d.is_initialized(), d.rank(), d.world_size(), "
            "d.allreduce_sum(np.arange(3.0)).tolist())")
    done = run([sys.executable, "-c", code], timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "0", "1", "[0.0,", "1.0,", "2.0]"]


def test_launched_without_mpi4py_is_a_world_of_one_with_a_warning() -> None:
    code = ("import sys, warnings; sys.modules['mpi4py'] = None; import tinygrad_lite.distributed as d\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always'); d.init()\n"
            "print(d.rank(), d.world_size(), [str(x.message) for x in w])")
    cmd = [sys.executable, "-c", code]
    env = clean_env()
    env.update(PMI_RANK="0", PMI_SIZE="2")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 1 ")
    assert 'pip install "tinygrad_lite[distributed]"' in done.stdout and "2 processes" in done.stdout


def test_launcher_detection() -> None:
    assert not _mpi.launched({"PATH": "/bin"})
    for var in ("PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "HYDRA_CONTROL_FD"):
        assert _mpi.launched({var: "0"})
    assert not _mpi.launched({"HYDRA_FULL_ERROR": "1", "PATH": "/bin"})  # (another tool's variable)


def test_world_of_one_in_process() -> None:
    dist.init()
    assert dist.is_initialized() and dist.rank() == 0 and dist.world_size() == 1
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    s = dist.allreduce_sum(a)
    assert s is not a and s.dtype == np.float32 and np.array_equal(s, a)
    with pytest.raises(TypeError, match="array must be numeric"):
        dist.allreduce_sum(np.array(["a"]))

    model = _common.make_model()
    before = [p.data.copy() for p in model.parameters()]
    dist.broadcast_parameters(model)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))
    X, Y = _common.make_data()
    tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True)).backward()
    grads = [p.grad.copy() for p in model.parameters()]
    dist.all_reduce_gradients(model, n=len(X))
    assert all(np.array_equal(p.grad, g) for p, g in zip(model.parameters(), grads))


def test_a_world_of_one_leaves_gradients_kept_as_factors_unread() -> None:
    """In a world of 1 the call reads no gradient: a weight gradient the backward kept as factors
    stays so (the optimizer then steps from the factors), and equals the gradient as it was."""
    dist.init()
    model = tl.nn.Sequential(tl.nn.Linear(80, 64), tl.nn.ReLU(), tl.nn.Linear(64, 3))
    X, Y = np.random.default_rng(1).normal(size=(2, 16, 80))[0], np.random.default_rng(2).normal(size=(16, 3))
    tl.nn.mse_loss(model(tl.Tensor(X, batched=True)), tl.Tensor(Y, batched=True)).backward()
    w = model[0].weight
    assert w._lazy is not None and w._grad is None  # kept as factors by the backward
    dist.all_reduce_gradients(model)
    assert w._lazy is not None and w._grad is None  # still unread
    x = X @ model[0].weight.data.T + model[0].bias.data
    h = np.maximum(x, 0)
    d = 2 * (h @ model[2].weight.data.T + model[2].bias.data - Y) / Y.size
    expected = ((d @ model[2].weight.data) * (x > 0)).T @ X
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12, atol=1e-15)


def test_argument_errors_in_a_world_of_one() -> None:
    dist.init()
    model = _common.make_model()
    with pytest.raises(ValueError, match="root must be a rank in 0..0"):
        dist.broadcast_parameters(model, root=1)
    with pytest.raises(TypeError, match="params_or_module"):
        dist.broadcast_parameters(3)
    with pytest.raises(TypeError, match="item 1 is a str"):
        dist.all_reduce_gradients([model.parameters()[0], "w"], n=1)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        dist.all_reduce_gradients(model, n=-1)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        dist.all_reduce_gradients(model, n=2.5)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum'"):
        dist.all_reduce_gradients(model, n=3, reduction="max")
    # a backward without a batched input records no batch size: n must be given
    X, Y = _common.make_data()
    tl.nn.mse_loss(model(tl.Tensor(X)), tl.Tensor(Y)).backward()
    with pytest.raises(ValueError, match="pass n="):
        dist.all_reduce_gradients(model)


def test_functions_before_init_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dist, "_initialized", False)
    assert not dist.is_initialized()
    for call in (dist.rank, dist.world_size, lambda: dist.allreduce_sum(np.ones(2)),
                 lambda: dist.all_reduce_gradients([], n=0), lambda: dist.broadcast_parameters([])):
        with pytest.raises(RuntimeError, match=r"call dist.init\(\) first"):
            call()


# ----------------------------------------------------------------------------- the launcher


def test_launcher_without_mpi_says_how_to_install_and_does_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "script.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    for missing in ("mpi4py", "mpiexec"):
        monkeypatch.setattr(launcher, "has_mpi4py", lambda missing=missing: missing != "mpi4py")
        monkeypatch.setattr(launcher, "find_mpiexec",
                            lambda missing=missing: None if missing == "mpiexec" else "/bin/true")
        assert launcher.main(["-n", "2", str(script)]) == 2
        err = capsys.readouterr().err
        assert f"{missing} not found" in err and 'pip install "tinygrad_lite[distributed]"' in err
        assert not marker.exists()


def test_launcher_command_and_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cmd = launcher.command(3, "train.py", ["--lr", "0.1"], "/x/mpiexec")
    assert cmd == ["/x/mpiexec", "-n", "3", sys.executable, "-m", "tinygrad_lite.distributed._run", "train.py",
                   "--lr", "0.1"]
    own = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(own):
        assert launcher.find_mpiexec() == own  # the interpreter's own comes first
    assert launcher.main(["-n", "2", str(tmp_path / "missing.py")]) == 2
    assert "no such script" in capsys.readouterr().err
    assert launcher.main(["-n", "0", str(tmp_path / "missing.py")]) == 2
    with pytest.raises(SystemExit) as exc:
        launcher.main(["script.py"])  # -n is required
    assert exc.value.code == 2


def test_launcher_runs_n_ranks_with_the_arguments(mpi: None, tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text(
        "import sys, numpy as np\nfrom tinygrad_lite import distributed as dist\ndist.init()\n"
        "total = dist.allreduce_sum(np.array([dist.rank() + 1.0]))[0]\n"
        "open(sys.argv[1] + f'/r{dist.rank()}', 'w').write(f'{dist.world_size()} {total} {sys.argv[2:]}')\n"
    )
    job(3, script, tmp_path, "a", "--b")
    for r in range(3):
        assert (tmp_path / f"r{r}").read_text() == "3 6.0 ['a', '--b']"
    job(2, script, tmp_path, "--", "-n", "5")  # the script's own arguments pass unchanged, "--" too
    for r in range(2):
        assert (tmp_path / f"r{r}").read_text() == "2 3.0 ['--', '-n', '5']"


@pytest.mark.parametrize("world", [2, 3])
def test_broadcast_parameters_copies_the_roots_bits(mpi: None, tmp_path: Path, world: int) -> None:
    """Every rank ends with the root's exact bits, for every root, in float64, float32 and
    float16, with the signs of zeros, infinities, NaN and subnormals kept."""
    import bcast

    job(world, SCRIPTS / "bcast.py", tmp_path)
    ranks = rank_files(tmp_path, world)
    for root in range(world):
        expected = bcast.own_values(root)
        for i, want in enumerate(expected):
            for r in range(world):
                got = ranks[r][f"root{root}__{i}"]
                assert got.dtype == want.dtype and got.shape == want.shape
                assert got.tobytes() == want.tobytes(), (root, i, r)


# ----------------------------------------------------------------------------- exact gradients

CASES = ["even-mean", "even-sum", "uneven-mean", "uneven-sum", "empty-mean", "empty-sum"]


@pytest.mark.parametrize("world", [2, 3])
def test_all_reduce_gradients_equals_the_single_process_gradient(mpi: None, tmp_path: Path,
                                                                 world: int) -> None:
    job(world, SCRIPTS / "grads.py", tmp_path, ",".join(CASES))
    ranks = rank_files(tmp_path, world)
    refs = {red: full_gradient(red) for red in ("mean", "sum")}
    for case in CASES:
        for i, ref in enumerate(refs[case.split("-")[1]]):
            key = f"{case}__{i}"
            assert ranks[0][key].dtype == np.float64 and ranks[0][key].shape == ref.shape
            assert_close_relative(ranks[0][key], ref, 1e-12)
            for other in ranks[1:]:  # bitwise the same on every rank
                assert other[key].tobytes() == ranks[0][key].tobytes()
    # the size weighting matters: the plain mean of the ranks' mean gradients is far off
    sizes = _common.split_sizes("uneven", world)
    X, Y = _common.make_data()
    model = _common.make_model()
    starts = np.cumsum([0, *sizes])
    means = []
    for a, b in zip(starts[:-1], starts[1:]):
        model.zero_grad()
        tl.nn.mse_loss(model(tl.Tensor(X[a:b], batched=True)), tl.Tensor(Y[a:b], batched=True)).backward()
        means.append(model.parameters()[0].grad.copy())
    assert np.abs(np.mean(means, axis=0) - refs["mean"][0]).max() > 1e-3 * np.abs(refs["mean"][0]).max()


def test_all_reduce_gradients_default_n_from_the_backward(mpi: None, tmp_path: Path) -> None:
    check_grad_cases(tmp_path, ["default-uneven-mean", "default-uneven-sum", "default-empty-mean"])


def test_all_reduce_gradients_leaves_a_gradient_array_the_caller_holds(mpi: None, tmp_path: Path) -> None:
    check_grad_cases(tmp_path, ["held-uneven-mean", "held-uneven-sum", "held-even-mean"])


def test_a_backward_over_an_empty_shard_adds_nothing(mpi: None, tmp_path: Path) -> None:
    check_grad_cases(tmp_path, ["emptyfwd-mean", "emptyfwd-sum", "default-emptyfwd-mean", "default-emptyfwd-sum"])


def test_mismatches_raise_on_every_rank_instead_of_hanging(mpi: None, tmp_path: Path) -> None:
    job(2, SCRIPTS / "mismatch.py", tmp_path, timeout=60)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2))
    for rec in (r0, r1):
        assert rec["shapes"][0] == "ValueError" and "differ in shape, number or dtype" in rec["shapes"][1]
        assert re.search(r"rank 0: 4 parameters, 147 elements, layout [0-9a-f]{8}; "
                         r"rank 1: 4 parameters, 156 elements, layout [0-9a-f]{8}", rec["shapes"][1])
        f32 = re.findall(r"layout ([0-9a-f]{8})", rec["float32_on_rank_1"][1])
        assert len(f32) == 2 and f32[0] != f32[1]  # (same counts: the checksum tells the ranks apart)
        assert "rank 1: 3 parameters" in rec["count"][1]
        assert rec["broadcast_shapes"][0] == "ValueError"
        assert "broadcast_parameters" in rec["broadcast_shapes"][1]
        assert "means and others' sums" in rec["mean_and_sum"][1]
        assert "different collectives" in rec["different_calls"][1]
        assert rec["frozen_on_rank_1"][0] == "ValueError"  # (it stepped the frozen copy with the others' gradient)
        assert "in which require grad" in rec["frozen_on_rank_1"][1]
        assert rec["float32_on_rank_1"][0] == "ValueError"  # (the ranks would round their steps differently)
        assert "of the same dtypes" in rec["float32_on_rank_1"][1]
        assert rec["allreduce_shapes"][0] == "ValueError"
        assert "same shape and dtype" in rec["allreduce_shapes"][1]
        assert "different root ranks [0, 1]" in rec["roots"][1]
        assert rec["still_in_step"] == [3.0]
    assert r1["bad_n_on_rank_1"] == ["ValueError", "dist.all_reduce_gradients: n must be an int >= 0 (this "
                                     "rank's samples), got -1"]
    assert r0["bad_n_on_rank_1"][0] == "RuntimeError" and "failed on rank(s) [1]" in r0["bad_n_on_rank_1"][1]


# ----------------------------------------------------------------------------- training


STEPS = 20


@pytest.fixture(scope="module")
def single_process_weights() -> dict[str, list[np.ndarray]]:
    dist.init()
    return {kind: _common.train(kind, 0, 1, STEPS) for kind in ("sgd", "adam")}


@pytest.mark.parametrize("world", [2, 3])
def test_training_matches_one_process(mpi: None, tmp_path: Path, world: int,
                                      single_process_weights: dict[str, list[np.ndarray]]) -> None:
    job(world, SCRIPTS / "train.py", tmp_path, STEPS)
    ranks = rank_files(tmp_path, world)
    for kind, ref in single_process_weights.items():
        start = _common.make_model(seed=0).parameters()
        for i, w in enumerate(ref):
            assert np.abs(w - start[i].data).max() > 1e-3  # the weights did move
            np.testing.assert_allclose(ranks[0][f"{kind}__{i}"], w, rtol=1e-10, atol=1e-10)
            for other in ranks[1:]:
                assert other[f"{kind}__{i}"].tobytes() == ranks[0][f"{kind}__{i}"].tobytes()


def test_checkpoint_resumes_a_two_rank_run_exactly(
        mpi: None, tmp_path: Path, single_process_weights: dict[str, list[np.ndarray]]) -> None:
    whole, first, second, ckpt = (tmp_path / d for d in ("whole", "first", "second", "ckpt"))
    for d in (whole, first, second, ckpt):
        d.mkdir()
    job(2, SCRIPTS / "train.py", whole, STEPS)
    job(2, SCRIPTS / "train.py", first, STEPS, "--stop-at", 7, "--ckpt-dir", ckpt)  # mid-epoch: 5 per epoch
    state = tl.load(ckpt / "sgd.npz")
    assert state["step"] == 7 and state["loader"]["epoch"] == 2 and state["loader"]["batch"] == 2
    job(2, SCRIPTS / "train.py", second, STEPS, "--resume-dir", ckpt)
    resumed, uninterrupted = rank_files(second, 2), rank_files(whole, 2)
    for kind in ("sgd", "adam"):
        for i, w in enumerate(single_process_weights[kind]):
            key = f"{kind}__{i}"
            for r in range(2):
                np.testing.assert_array_equal(resumed[r][key], uninterrupted[r][key])
            np.testing.assert_allclose(resumed[0][key], w, rtol=1e-10, atol=1e-10)
    # stopping early really stopped early: the resumed part had work to do
    assert not np.array_equal(rank_files(first, 2)[0]["sgd__0"], uninterrupted[0]["sgd__0"])


# ----------------------------------------------------------------------------- faults


def test_an_exception_on_one_rank_aborts_every_rank(mpi: None) -> None:
    start = time.monotonic()
    done = job(2, SCRIPTS / "abort.py", timeout=30, check=False)
    elapsed = time.monotonic() - start
    assert done.returncode != 0
    assert elapsed < 10, f"the job took {elapsed:.1f} s to end"
    assert "rank 1: ValueError: boom on purpose" in done.stderr
    assert "rank 1: Traceback" in done.stderr
    assert "went past the collective" not in done.stdout


def ends_early(script: Path, body: str, *said: str) -> None:
    """A 2-rank job of ``body`` (then a collective) ends within 10 s, non-zero, with ``said``
    on stderr, and rank 0 never goes past its collective."""
    script.write_text(body + "dist.allreduce_sum(np.ones(3))\nprint('rank 0 went past the collective', flush=True)\n")
    start = time.monotonic()
    done = job(2, script, timeout=30, check=False)
    assert time.monotonic() - start < 10
    assert done.returncode != 0
    for line in said:
        assert line in done.stderr
    assert "went past the collective" not in done.stdout


def test_a_nonzero_sys_exit_on_one_rank_ends_every_rank(mpi: None, tmp_path: Path) -> None:
    """``sys.exit`` reaches no exception hook: without the launcher's runner rank 0 would wait
    in its collective forever."""
    ends_early(tmp_path / "quit.py",
               "import sys, numpy as np\nfrom tinygrad_lite import distributed as dist\ndist.init()\n"
               "if dist.rank() == 1:\n    sys.exit('bad configuration on purpose')\n",
               "rank 1: bad configuration on purpose", "rank 1: exited with status 1, aborting all 2 ranks")


def test_an_exception_before_init_on_one_rank_ends_every_rank(mpi: None, tmp_path: Path) -> None:
    """A data file missing on one machine fails before the script calls init(): the launcher's
    runner ends the job as the hook init() installs would (it used to wait forever)."""
    ends_early(tmp_path / "early.py",
               "import os, numpy as np\nfrom tinygrad_lite import distributed as dist\n"
               "if os.environ.get('PMI_RANK') == '1':\n    np.load('/nonexistent/train_X.npy')\ndist.init()\n",
               "rank 1: FileNotFoundError", "rank 1: Traceback",
               "rank 1: uncaught FileNotFoundError, aborting all 2 ranks")


# ----------------------------------------------------------------------------- the example


LOSS_LINE = re.compile(r"^rank (\d+)/(\d+): epoch (\d+) mean training loss ([0-9.]+)$", re.M)


def example_losses(text: str) -> dict[int, list[float]]:
    losses: dict[int, list[float]] = {}
    for m in LOSS_LINE.finditer(text):
        losses.setdefault(int(m.group(1)), []).append(float(m.group(4)))
    return losses


def test_example_gives_the_same_losses_on_one_process_and_two_ranks(mpi: None) -> None:
    one = run([sys.executable, str(EXAMPLE), "--fast"])
    assert one.returncode == 0, one.stderr
    two = job(2, EXAMPLE, "--fast")
    single, ranks = example_losses(one.stdout), example_losses(two.stdout)
    assert list(single) == [0] and len(single[0]) == 3
    assert sorted(ranks) == [0, 1]
    assert ranks[0] == ranks[1]  # the printed losses of both ranks are identical
    np.testing.assert_allclose(ranks[0], single[0], rtol=1e-10)
    assert single[0][-1] < single[0][0]  # and it trains


# ----------------------------------------------------------------------------- the benchmark


def test_bench_distributed_smoke(mpi: None, capsys: pytest.CaptureFixture) -> None:
    """The benchmark's tiniest run finishes with finite times and matching one-step checks."""
    bench = ROOT / "bench"
    sys.path.insert(0, str(bench))
    try:
        import bench_distributed
    finally:
        sys.path.remove(str(bench))
    result = bench_distributed.main(["--quick", "--rounds", "1", "--sample-ms", "1", "--batches", "64"])
    rows = result["batches"]["64"]
    for name in ("floor", "tinygrad_lite"):
        for key in ("one_process_s", "2_ranks_s", "ratio_ranks_over_one", "x_floor_ranks"):
            assert np.isfinite(rows[name][key]) and rows[name][key] > 0
    assert all(err < 5e-3 for err in result["max_rel_err"].values())
    assert "2r / 1p" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the documentation


def test_the_documented_script_runs_on_two_ranks(mpi: None, tmp_path: Path) -> None:
    text = (ROOT / "docs" / "data_parallel.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    setup = ("import numpy as np\nrng = np.random.default_rng(0)\n"
             "X, y = rng.normal(size=(600, 64)), rng.integers(0, 10, size=600)\n")
    script = tmp_path / "train.py"
    script.write_text(setup + code.replace("range(10)", "range(2)"))
    job(2, script, cwd=tmp_path)
    state = tl.load(tmp_path / "ckpt.npz")
    assert state["loader"]["epoch"] == 2 and set(state) == {"model", "optim", "loader"}


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("cost,reduction", [
    (lambda out, y: tl.nn.cross_entropy(out, y, reduction="sum"), "sum"),
    (lambda out, y: (out ** 2).sum(), "sum"),
    (lambda out, y: tl.nn.cross_entropy(out, y), "mean"),
    (lambda out, y: (out ** 2).mean(), "mean"),
])
def test_the_backward_records_the_cost_reduction_also_for_one_sample(B: int, cost: Callable,
                                                                       reduction: str) -> None:
    """``all_reduce_gradients`` weights shards by what the backward recorded: with one sample a
    mean and a sum weigh it alike, so the cost's own reduction must decide."""
    model = tl.nn.Linear(3, 2, rng=0)
    x = tl.Tensor(np.arange(3.0 * B).reshape(B, 3), batched=True)
    for per_sample in (True, False):
        model.zero_grad()
        cost(model(x), np.zeros(B, dtype=np.int64)).backward(per_sample=per_sample)
        assert model.weight.last_batch == (B, reduction)


def test_one_sample_parts_and_a_stale_record_reduce_to_the_one_process_gradient(mpi: None, tmp_path: Path) -> None:
    job(3, SCRIPTS / "one_sample_parts.py", tmp_path)
    ranks = rank_files(tmp_path, 3)
    X = np.random.default_rng(0).normal(size=(4, 3))
    Y = X.sum(1, keepdims=True)
    m = tl.nn.Linear(3, 1, rng=0)
    (((m(tl.Tensor(X)) - tl.Tensor(Y)) ** 2).sum() / 4).backward()
    m2 = tl.nn.Linear(3, 1, rng=0)
    m2(tl.Tensor(np.ones((1, 3)))).mean().backward()
    for case, ref in (("sumB", m), ("stale", m2)):
        for i, p in enumerate(ref.parameters()):
            for r in ranks:
                assert_close_relative(r[f"{case}__{i}"], p.grad, 1e-12)


def test_allreduce_sum_of_a_non_native_byte_order(mpi: None) -> None:
    job(3, SCRIPTS / "byteorder.py")


def test_accumulated_sum_costs_reduce_exactly_and_mean_costs_are_refused(mpi: None, tmp_path: Path) -> None:
    job(3, SCRIPTS / "accumulate.py", tmp_path, "sum")
    ranks = rank_files(tmp_path, 3)
    X = np.random.default_rng(0).normal(size=(8, 3))
    Y = X.sum(1, keepdims=True)
    m = tl.nn.Linear(3, 1, rng=0)
    for idx in (np.arange(6), np.arange(6, 8)):
        tl.nn.functional.mse_loss(m(tl.Tensor(X[idx])), tl.Tensor(Y[idx]), reduction="sum").backward()
    for i, p in enumerate(m.parameters()):
        assert_close_relative(ranks[0][str(i)], p.grad, 1e-12)
        assert all(r[str(i)].tobytes() == ranks[0][str(i)].tobytes() for r in ranks[1:])
    done = job(3, SCRIPTS / "accumulate.py", tmp_path, "mean", check=False)
    assert done.returncode != 0
    assert "add up several backward calls (accumulation over micro-batches) of costs that are means" in done.stderr
    assert "and pass reduction='sum' here" in done.stderr


def test_accumulated_sums_over_the_global_batch_size_reduce_as_the_refusal_advises(mpi: None, tmp_path: Path) -> None:
    job(3, SCRIPTS / "accumulate.py", tmp_path, "global")
    ranks = rank_files(tmp_path, 3)
    X = np.random.default_rng(0).normal(size=(8, 3))
    m = tl.nn.Linear(3, 1, rng=0)
    tl.nn.functional.mse_loss(m(tl.Tensor(X)), tl.Tensor(X.sum(1, keepdims=True))).backward()
    for i, p in enumerate(m.parameters()):
        for r in ranks:
            assert_close_relative(r[str(i)], p.grad, 1e-12)


def test_accumulated_records_in_one_process() -> None:
    m = tl.nn.Linear(3, 1, rng=0)
    for n, red in ((3, "sum"), (2, "sum")):
        tl.nn.functional.mse_loss(m(tl.Tensor(np.ones((n, 3)), batched=True)), tl.Tensor(np.ones((n, 1)), batched=True),
                                  reduction=red).backward()
    assert m.weight.last_batch == (5, "sum")
    m.zero_grad()
    for n in (3, 2):
        m(tl.Tensor(np.ones((n, 3)), batched=True)).mean().backward()
    assert m.weight.last_batch == (5, "accumulated")
    before = m.weight.grad.copy()
    dist.init()
    with pytest.raises(ValueError, match="accumulation over micro-batches"):  # (one process shows it early)
        dist.all_reduce_gradients(m)
    np.testing.assert_array_equal(m.weight.grad, before)
    dist.all_reduce_gradients(m, n=5)  # (weighed by hand: a world of 1 leaves it)
    np.testing.assert_array_equal(m.weight.grad, before)
    m.zero_grad()
    m(tl.Tensor(np.ones((4, 3)), batched=True)).mean().backward()
    assert m.weight.last_batch == (4, "mean")


def test_broadcast_parameters_carries_buffers_and_refuses_inexact_integers(mpi: None, tmp_path: Path) -> None:
    job(2, SCRIPTS / "bcast_buffers.py", tmp_path, "buffers")
    r0, r1 = rank_files(tmp_path, 2)
    assert set(r0) == set(r1) and {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= set(r0)
    for k in r0:
        assert r0[k].tobytes() == r1[k].tobytes(), k
    model = tl.nn.Sequential(tl.nn.Linear(3, 4, rng=0), tl.nn.BatchNorm1d(4))
    model(tl.Tensor(np.random.default_rng(0).normal(size=(5, 3))))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(r0[k], v)  # rank 0's
    np.testing.assert_array_equal(r1["lin.weight"], tl.nn.Linear(2, 2, rng=10).weight.data)
    done = job(2, SCRIPTS / "bcast_buffers.py", tmp_path, "bigint", check=False)
    assert done.returncode != 0 and "holds values beyond 2**53" in done.stderr


def test_broadcast_parameters_refuses_a_state_dict_of_copies() -> None:
    dist.init()
    with pytest.raises(TypeError, match="a state_dict holds copies"):
        dist.broadcast_parameters(tl.nn.Linear(2, 2).state_dict())


def test_shard_with_a_distributed_sampler_is_refused() -> None:
    X = np.arange(24.0).reshape(12, 2)
    sampler = tl.data.DistributedSampler(tl.data.TensorDataset(tl.Tensor(X)), num_replicas=2, rank=0, seed=0)
    with pytest.raises(ValueError, match="a DistributedSampler gives each rank its own samples already"):
        tl.data.DataLoader(X, np.zeros(12), batch_size=4, sampler=sampler, shard=(0, 2))


def test_a_rank_whose_script_ends_early_ends_the_job_instead_of_a_hang(mpi: None, tmp_path: Path) -> None:
    done = job(2, SCRIPTS / "early_end.py", timeout=60.0, check=False)
    assert done.returncode != 0
    assert "the script ended on rank(s) [1]" in done.stderr


def test_a_cost_of_an_unusual_weight_is_named_as_such() -> None:
    dist.init()
    m = tl.nn.Linear(3, 1, rng=0)
    (m(tl.Tensor(np.ones((4, 3)), batched=True)).mean() / 2).backward()
    assert m.weight.last_batch == (4, "scaled")
    with pytest.raises(ValueError, match=r"neither 1/B \(a mean\) nor 1 \(a sum\), such as \(loss / 2\)"):
        dist.all_reduce_gradients(m)
    dist.all_reduce_gradients(m, reduction="mean")


def _weighted_reference(case: str) -> list:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3))
    Y = np.array([0, 1, 2, 3, 1, 1, 0, 2, 1])
    m = tl.nn.Linear(3, 4, rng=0)
    logits = m(tl.Tensor(X, batched=True))
    F = tl.nn.functional
    if case == "ignored":
        F.cross_entropy(logits, Y, ignore_index=1).backward()
    else:
        (F.cross_entropy(logits, Y, reduction="sum") + 0.1 * (m.weight ** 2).sum()).backward()
    return [p.grad for p in m.parameters()]


@pytest.mark.parametrize("case,message", [
    ("weighted", "the cost is a weighted mean"),
    ("penalty", "plus a term that does not depend on them"),
])
def test_costs_sample_counts_cannot_weigh_are_refused_on_every_rank(mpi: None, tmp_path: Path, case: str,
                                                                     message: str) -> None:
    done = job(2, SCRIPTS / "weighted_costs.py", tmp_path, case, check=False)
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.parametrize("case", ["ignored", "penalty_rank0"])
def test_weighted_costs_reduce_exactly_the_ways_the_refusal_names(mpi: None, tmp_path: Path, case: str) -> None:
    job(2, SCRIPTS / "weighted_costs.py", tmp_path, case)
    ranks = rank_files(tmp_path, 2)
    for i, ref in enumerate(_weighted_reference(case)):
        assert_close_relative(ranks[0][str(i)], ref, 1e-12)
        assert ranks[1][str(i)].tobytes() == ranks[0][str(i)].tobytes()


def test_weighted_and_shared_costs_are_recorded() -> None:
    m = tl.nn.Linear(3, 4, rng=0)
    x = tl.Tensor(np.random.default_rng(0).normal(size=(5, 3)), batched=True)
    y = np.array([0, 1, 2, 3, 1])
    F = tl.nn.functional
    for per_sample in (True, False):
        for kw, want in ((dict(), "mean"), (dict(ignore_index=1), "weighted"), (dict(ignore_index=7), "mean"),
                         (dict(weight=np.array([1.0, 2.0, 3.0, 4.0])), "weighted"),
                         (dict(weight=np.full(4, 2.0)), "mean"),
                         (dict(weight=np.array([1.0, 2.0, 3.0, 4.0]), reduction="sum"), "sum")):
            m.zero_grad()
            F.cross_entropy(m(x), y, **kw).backward(per_sample=per_sample)
            assert m.weight.last_batch == (5, want), (kw, per_sample)
        for penalty_on_mean, want in ((False, "shared"), (True, "mean")):
            m.zero_grad()
            cost = F.cross_entropy(m(x), y, reduction="mean" if penalty_on_mean else "sum")
            (cost + 0.1 * (m.weight ** 2).sum()).backward(per_sample=per_sample)
            assert m.weight.last_batch == (5, want)
            assert m.bias.last_batch == (5, want)


def test_a_backward_over_plain_inputs_records_no_batch() -> None:
    m = tl.nn.Linear(3, 2, rng=0)
    x = np.ones((4, 3))
    for run in ("plain", "create_graph", "inputs"):
        m.zero_grad(set_to_none=False)
        assert m.weight.last_batch == (0, None)  # (no batch since: an empty shard)
        cost = m(tl.Tensor(x)).sum()
        if run == "plain":
            cost.backward()
        elif run == "create_graph":
            cost.backward(create_graph=True)
        else:
            tl.autograd.backward(cost, inputs=list(m.parameters()))
        assert m.weight.last_batch is None and m.bias.last_batch is None, run


def test_plain_inputs_are_refused_on_every_rank_not_taken_for_an_empty_shard(mpi: None, tmp_path: Path) -> None:
    done = job(2, SCRIPTS / "plain_inputs.py", tmp_path, "refused", check=False)
    assert done.returncode != 0
    assert "cannot tell how many samples" in done.stderr


def test_plain_inputs_with_n_reduce_to_the_one_process_gradient(mpi: None, tmp_path: Path) -> None:
    job(2, SCRIPTS / "plain_inputs.py", tmp_path, "given_n")
    ranks = rank_files(tmp_path, 2)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(9, 3)), rng.normal(size=(9, 2))
    m = tl.nn.Linear(3, 2, rng=0)
    tl.nn.functional.mse_loss(m(tl.Tensor(X)), tl.Tensor(Y)).backward()
    for i, p in enumerate(m.parameters()):
        assert_close_relative(ranks[0][str(i)], p.grad, 1e-12)
        assert ranks[1][str(i)].tobytes() == ranks[0][str(i)].tobytes()


def test_a_backward_that_folds_the_sample_axis_records_no_batch() -> None:
    m = tl.nn.Linear(3, 2, rng=0)
    x = tl.Tensor(np.ones((4, 5, 3)), batched=True)
    for h in (lambda: x.reshape(-1, 3), lambda: x.transpose(0, 1)):
        for kw in ({}, {"per_sample": False}, {"per_sample": "norms"}):
            m.zero_grad(set_to_none=False)
            try:
                (m(h()) ** 2).mean().backward(**kw)
            except ValueError:  # (a norms pass may refuse the mixing graph outright)
                continue
            assert m.weight.last_batch is None and m.bias.last_batch is None, kw


@pytest.mark.parametrize("case", ["fold", "tmajor"])
def test_a_folded_sample_axis_is_refused_on_every_rank_not_taken_for_an_empty_shard(mpi: None, tmp_path: Path,
                                                                                      case: str) -> None:
    done = job(2, SCRIPTS / "folded_batch.py", tmp_path, case, check=False)
    assert done.returncode != 0
    assert "cannot tell how many samples" in done.stderr


@pytest.mark.parametrize("case", ["fold_n", "tmajor_n"])
def test_a_folded_sample_axis_with_n_reduces_exactly(mpi: None, tmp_path: Path, case: str) -> None:
    job(2, SCRIPTS / "folded_batch.py", tmp_path, case)
    ranks = rank_files(tmp_path, 2)
    X = np.random.default_rng(0).normal(size=(6, 4, 3))
    m = tl.nn.Linear(3, 2, rng=0)
    x = tl.Tensor(X)
    (m(x.reshape(-1, 3) if case.startswith("fold") else x.transpose(0, 1)) ** 2).mean().backward()
    for i, p in enumerate(m.parameters()):
        assert_close_relative(ranks[0][str(i)], p.grad, 1e-12)
        assert ranks[1][str(i)].tobytes() == ranks[0][str(i)].tobytes()


def test_ranks_of_one_sample_each_cannot_tell_a_mean_from_a_sum(mpi: None, tmp_path: Path) -> None:
    done = job(3, SCRIPTS / "one_sample_only.py", tmp_path, "refused", check=False)
    assert done.returncode != 0
    assert "a sum look alike; pass reduction='mean' or 'sum'" in done.stderr
    job(3, SCRIPTS / "one_sample_only.py", tmp_path, "given")
    ranks = rank_files(tmp_path, 3)
    X = np.random.default_rng(0).normal(size=(2, 3))
    m = tl.nn.Linear(3, 1, rng=0)
    (((m(tl.Tensor(X)) - tl.Tensor(X.sum(1, keepdims=True))) ** 2).sum() / 2).backward()
    for i, p in enumerate(m.parameters()):
        for r in ranks:
            assert_close_relative(r[str(i)], p.grad, 1e-12)


@pytest.mark.parametrize("cost", ["sum", "mean", "meanop"])
def test_the_short_last_batch_takes_the_reduction_an_earlier_batch_told(mpi: None, tmp_path: Path,
                                                                        cost: str) -> None:
    """An epoch's last batch with at most one sample per rank: the cost of one sample written as
    a sum reads as a sum whether it is one or a mean divided by B, so the reduction the earlier
    batch of the same parameters told is taken (this used to refuse mid-training); a cost
    written with a mean op reads as a mean of one sample too."""
    job(3, SCRIPTS / "one_sample_only.py", tmp_path, f"last_{cost}")
    X = np.random.default_rng(0).normal(size=(7, 3))[5:]
    m = tl.nn.Linear(3, 1, rng=0)
    total = ((m(tl.Tensor(X)) - tl.Tensor(X.sum(1, keepdims=True))) ** 2).sum()
    (total if cost == "sum" else total / 2).backward()
    for i, p in enumerate(m.parameters()):
        for r in rank_files(tmp_path, 3):
            assert_close_relative(r[str(i)], p.grad, 1e-12)


@pytest.mark.parametrize("case", ["switch", "fresh"])
def test_one_sample_per_rank_of_a_sum_is_not_taken_for_an_earlier_mean(mpi: None, tmp_path: Path,
                                                                       case: str) -> None:
    """A sum cost over one sample per rank after a mean cost (of the same model written with a
    mean op, or of another model of the same shapes): nothing tells this cost's reduction, so
    it is refused on every rank, not averaged as the earlier one."""
    done = job(3, SCRIPTS / "one_sample_only.py", tmp_path, case, check=False)
    assert done.returncode != 0
    assert "a sum look alike; pass reduction='mean' or 'sum'" in done.stderr


@pytest.mark.parametrize("status", [3, 0])
def test_sys_exit_on_one_rank_under_plain_mpiexec_ends_the_job(mpi: None, tmp_path: Path, status: int) -> None:
    """Started by mpiexec itself (not the launcher), a rank that leaves by sys.exit makes the last
    exchange init() registered at exit: the rank still calling collectives raises, naming it,
    and the job ends non-zero instead of waiting forever; a job whose ranks all end normally
    exits 0."""
    script = tmp_path / "leave.py"
    script.write_text("import sys, time, numpy as np\nfrom tinygrad_lite import distributed as dist\n"
                      "dist.init()\nif dist.rank() == 1 and sys.argv[1] != 'none':\n    sys.exit(int(sys.argv[1]))\n"
                      "time.sleep(0.3)\nfor _ in range(3):\n    dist.allreduce_sum(np.ones(3))\n"
                      "sys.stdout.write(f'rank {dist.rank()} went on\\n')\n")  # (one write: no interleaving)
    mpiexec = launcher.find_mpiexec()
    start = time.monotonic()
    done = run([mpiexec, "-n", "2", sys.executable, str(script), str(status)], timeout=40)
    assert time.monotonic() - start < 20
    assert done.returncode != 0
    assert "the script ended on rank(s) [1]" in done.stderr
    assert "rank 0 went on" not in done.stdout
    done = run([mpiexec, "-n", "2", sys.executable, str(script), "none"], timeout=40)
    assert done.returncode == 0, done.stderr
    assert "rank 0 went on" in done.stdout and "rank 1 went on" in done.stdout


def test_a_rank_whose_script_never_calls_init_ends_the_job_instead_of_a_hang(mpi: None, tmp_path: Path) -> None:
    """Rank 0 waits in init() (MPI's start-up waits for every rank of the job) and then in a
    collective: rank 1, whose script ends without ever calling init(), joins the world at its
    end and says so, and every rank ends with an error instead of waiting forever."""
    script = tmp_path / "noinit.py"
    script.write_text("import os, numpy as np\nfrom tinygrad_lite import distributed as dist\n"
                      "if os.environ.get('PMI_RANK') != '1':\n    dist.init()\n"
                      "    dist.allreduce_sum(np.ones(3))\n    print('rank 0 went past the collective', flush=True)\n")
    start = time.monotonic()
    done = job(2, script, timeout=30, check=False)
    assert time.monotonic() - start < 20
    assert done.returncode != 0
    assert "the script ended on rank(s) [1]" in done.stderr
    assert "went past the collective" not in done.stdout


def test_broadcast_parameters_refuses_different_dtypes_on_every_rank(mpi: None, tmp_path: Path) -> None:
    """float64 on rank 0 and float32 on rank 1 (same shape) would leave rank 1 with rounded values."""
    script = tmp_path / "bcast_dtype.py"
    script.write_text("import numpy as np, tinygrad_lite as tl\nfrom tinygrad_lite import distributed as dist\n"
                      "dist.init()\ndt = np.float64 if dist.rank() == 0 else np.float32\n"
                      "p = tl.tensor(np.array([0.1, 1 / 3], dtype=dt))\n"
                      "try:\n    dist.broadcast_parameters([p])\nexcept ValueError as e:\n"
                      "    print(f'rank {dist.rank()} refused: {e}', flush=True)\n")
    done = job(2, script, timeout=30)
    for r in range(2):
        assert f"rank {r} refused: dist.broadcast_parameters: the parameters differ in shape, number or dtype" \
            in done.stdout


def test_launcher_usage_names_only_the_script_as_required(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        launcher.main(["-n", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: script" in err and "script, args" not in err
