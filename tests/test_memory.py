"""Reused memory (ops/memory.py): an array is handed out again only when nothing holds it."""

import threading

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.ops import memory

BIG = (256, 256)  # 256 KiB of float32: above POOL_MIN


def test_pooled_reuses_only_free_arrays():
    a = memory.pooled(BIG, np.float32)
    a_id = id(a)
    b = memory.pooled(BIG, np.float32)
    assert b is not a  # a is still held here
    del a
    c = memory.pooled(BIG, np.float32)
    assert id(c) == a_id or c is not b  # a's memory may come back; b never does while held
    assert c is not b


def test_pooled_never_hands_out_a_viewed_array():
    a = memory.pooled(BIG, np.float64)
    view = a[1:]  # keeps a alive through its base
    del a
    b = memory.pooled(BIG, np.float64)
    assert not np.shares_memory(b, view)


def test_pooled_small_and_huge_arrays_are_fresh():
    small = memory.pooled((4, 4), np.float32)
    huge_shape = (memory.SCRATCH_MAX // 8 + 1,)
    assert small.shape == (4, 4) and small.dtype == np.float32
    pool = memory._local.__dict__.get("pool", {})
    assert ((4, 4), np.dtype(np.float32).str) not in pool
    assert (huge_shape, np.dtype(np.float64).str) not in pool


def test_pooled_keys_on_shape_and_dtype():
    a = memory.pooled(BIG, np.float32)
    del a
    b = memory.pooled(BIG, np.float64)
    assert b.dtype == np.float64 and b.shape == BIG
    c = memory.pooled((512, 128), np.float32)
    assert c.shape == (512, 128)


def test_pool_stays_within_its_byte_budget(monkeypatch):
    monkeypatch.setattr(memory, "POOL_MAX", 3 * 256 * 256 * 4)
    monkeypatch.setattr(memory._local, "pool", {}, raising=False)
    monkeypatch.setattr(memory._local, "pool_bytes", 0, raising=False)
    held = [memory.pooled(BIG, np.float32) for _ in range(5)]
    assert memory._local.pool_bytes <= memory.POOL_MAX
    del held
    for shape in [(300, 256), (310, 256), (320, 256)]:
        memory.pooled(shape, np.float32)
        assert memory._local.pool_bytes <= memory.POOL_MAX


def test_pools_are_per_thread():
    seen = {}

    def take(name):
        a = memory.pooled(BIG, np.float32)
        seen[name] = a
        # keep it referenced from here on: the other thread must not get it

    t = threading.Thread(target=take, args=("t",))
    t.start()
    t.join()
    mine = memory.pooled(BIG, np.float32)
    assert not np.shares_memory(mine, seen["t"])
    pool = memory._local.__dict__.get("pool", {})
    assert all(a is not seen["t"] for arrays in pool.values() for a in arrays)


def test_scratch_is_reused_per_key_and_thread():
    a = memory.scratch("test.a", (300, 300), np.float32)
    b = memory.scratch("test.a", (200, 200), np.float64)
    assert np.shares_memory(a, b)  # the same buffer, reinterpreted
    c = memory.scratch("test.c", (300, 300), np.float32)
    assert not np.shares_memory(a, c)
    other = {}
    t = threading.Thread(target=lambda: other.setdefault("a", memory.scratch("test.a", (300, 300), np.float32)))
    t.start()
    t.join()
    assert not np.shares_memory(a, other["a"])


def test_released_refuses_a_gradient_someone_holds():
    p = tl.Tensor(np.ones((300, 300)), requires_grad=True)
    p._gbuf = np.zeros((300, 300))
    assert memory.released(p, "_gbuf") is p._gbuf
    keep = p._gbuf
    assert memory.released(p, "_gbuf") is None
    del keep
    assert memory.released(p, "_gbuf") is not None
    view = p._gbuf[:10]
    assert memory.released(p, "_gbuf") is None
    del view
    p._gbuf = None
    assert memory.released(p, "_gbuf") is None


def _cnn(seed=0):
    rng = np.random.default_rng(seed)
    return tl.nn.Sequential(
        tl.nn.Conv2d(1, 8, 3, padding=1, rng=rng), tl.nn.ReLU(),
        tl.nn.Conv2d(8, 16, 3, padding=1, rng=rng), tl.nn.ReLU(),
        tl.nn.Flatten(), tl.nn.Linear(16 * 8 * 8, 10, rng=rng))


@pytest.mark.parametrize("batched", [False, True])
def test_values_kept_from_an_earlier_step_are_never_overwritten(batched):
    """Outputs, activations and gradients a user keeps from step 1 keep their values
    through step 2, whose arrays come from the same pools."""
    rng = np.random.default_rng(1)
    model = _cnn()
    x1 = tl.Tensor(rng.standard_normal((64, 1, 8, 8)), batched=batched)
    x2 = tl.Tensor(rng.standard_normal((64, 1, 8, 8)), batched=batched)
    y = tl.Tensor(rng.integers(0, 10, 64), batched=batched)

    h1 = model[:4](x1)  # an activation of step 1, kept
    out1 = model[4:](h1)
    loss1 = tl.nn.cross_entropy(out1, y)
    loss1.backward()
    kept = {"h1": h1.data.copy(), "out1": out1.data.copy()}
    grads1 = [p.grad.copy() for p in model.parameters()]
    held_grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    tl.nn.cross_entropy(model(x2), y).backward()  # step 2, same shapes
    np.testing.assert_array_equal(h1.data, kept["h1"])
    np.testing.assert_array_equal(out1.data, kept["out1"])
    for g, g1 in zip(held_grads, grads1):
        np.testing.assert_array_equal(g, g1)


def test_training_with_reused_memory_matches_fresh_memory(monkeypatch):
    """The same run with pooling off (every array fresh) gives the same bits."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((128, 1, 8, 8))
    Y = rng.integers(0, 10, 128)

    def run():
        model = _cnn(3)
        opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        losses = []
        for i in range(4):
            xb = tl.Tensor(X[32 * i:32 * i + 32], batched=True)
            yb = tl.Tensor(Y[32 * i:32 * i + 32], batched=True)
            opt.zero_grad()
            loss = tl.nn.cross_entropy(model(xb), yb)
            loss.backward()
            norms = tl.per_sample_norms(model.parameters())
            opt.step()
            losses.append((loss.item(), norms.copy()))
        return [p.data.copy() for p in model.parameters()], losses

    pooled_params, pooled_losses = run()
    monkeypatch.setattr(memory, "POOL_MIN", 1 << 62)  # nothing is pooled
    monkeypatch.setattr(memory, "SCRATCH_MAX", -1)  # no scratch arrays either
    fresh_params, fresh_losses = run()
    for a, b in zip(pooled_params, fresh_params):
        np.testing.assert_array_equal(a, b)
    for (la, na), (lb, nb) in zip(pooled_losses, fresh_losses):
        assert la == lb
        np.testing.assert_array_equal(na, nb)


def test_pooling_can_be_turned_off_before_import():
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from tinygrad_lite.ops import memory\n"
            "a = memory.pooled((512, 512), np.float64); del a\n"
            "b = memory.scratch('k', (512, 512), np.float64)\n"
            "print(len(memory._local.__dict__.get('pool', {})), len(memory._local.__dict__.get('scratch', {})))\n")
    env = dict(__import__("os").environ, TINYGRAD_LITE_NO_POOL="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]
    env.pop("TINYGRAD_LITE_NO_POOL")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]


def test_two_threads_running_convolutions_at_once_get_their_own_results():
    """Scratch and pooled arrays are per thread: convolutions running concurrently in two
    threads give exactly what each gives alone."""
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((48, 1, 8, 8)) for _ in range(2)]
    ys = [rng.integers(0, 10, 48) for _ in range(2)]

    def train(i, out):
        model = _cnn(10 + i)
        opt = tl.optim.SGD(model.parameters(), lr=0.05)
        for _ in range(6):
            opt.zero_grad()
            tl.nn.cross_entropy(model(tl.Tensor(xs[i], batched=True)), tl.Tensor(ys[i], batched=True)).backward()
            opt.step()
        out[i] = [p.data.copy() for p in model.parameters()]

    alone: dict = {}
    for i in range(2):
        train(i, alone)
    together: dict = {}
    threads = [threading.Thread(target=train, args=(i, together)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        for a, b in zip(alone[i], together[i]):
            np.testing.assert_array_equal(a, b)
