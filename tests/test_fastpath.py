"""The shared pieces of the folded eval paths: streams, batch-norm folding, chunk sizes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from gastbench.fastpath import batch_in_streams, bn_affine, chunk_rows, cpu_streams, run_streams, share_chunks


@pytest.fixture
def two_threads() -> Iterator[None]:
    """torch at 2 threads during the test (so that a forward splits into streams), restored after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.mark.usefixtures("two_threads")
def test_run_streams_keeps_order_modes_and_thread_count() -> None:
    seen: list[tuple[int, bool, int, str]] = []
    lock = threading.Lock()

    def task(k: int) -> int:
        with lock:
            seen.append((k, torch.is_grad_enabled(), torch.get_num_threads(), threading.current_thread().name))
        assert cpu_streams(torch.device("cpu")) == 1  # no stream splits again
        assert run_streams([lambda: 1, lambda: 2]) == [1, 2]  # nested: runs in place
        return k * 10

    with torch.no_grad():
        assert run_streams([lambda k=k: task(k) for k in range(3)]) == [0, 10, 20]
    assert torch.get_num_threads() == 2
    assert sorted(s[0] for s in seen) == [0, 1, 2]
    assert all(not grad and threads == 1 and name.startswith("gastbench-stream") for _, grad, threads, name in seen)
    assert cpu_streams(torch.device("cpu")) == 2 and cpu_streams(torch.device("meta")) == 1


@pytest.mark.usefixtures("two_threads")
def test_run_streams_restores_the_thread_count_when_a_task_fails() -> None:
    def boom() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_streams([lambda: 1, boom])
    assert torch.get_num_threads() == 2


@pytest.mark.usefixtures("two_threads")
@pytest.mark.parametrize(("total", "step", "streams"), [(10, 3, 2), (7, 7, 2), (5, 2, 8), (1, 4, 2), (9, 2, 1)])
def test_share_chunks_covers_every_chunk_once(total: int, step: int, streams: int) -> None:
    done: list[tuple[int, int, int]] = []
    lock = threading.Lock()
    made: list[int] = []

    def make_worker() -> Callable[[int, int], None]:
        made.append(threading.get_ident())  # one worker (and its scratch) per stream

        def work(a: int, b: int) -> None:
            with lock:
                done.append((a, b, threading.get_ident()))

        return work

    share_chunks(total, step, streams, make_worker)
    chunks = sorted((a, b) for a, b, _ in done)
    # the chunks tile range(total) in order, none longer than step, all but the last of one size
    assert chunks[0][0] == 0 and chunks[-1][1] == total
    assert all(b1 == a2 for (_, b1), (a2, _) in zip(chunks, chunks[1:]))
    sizes = [b - a for a, b in chunks]
    assert max(sizes) <= step and len(set(sizes[:-1])) <= 1 and sizes[-1] <= sizes[0]
    # as many chunks as step asks for, rounded up to a multiple of the streams (none left idle at the end)
    used = min(streams, -(-total // step))
    assert len(chunks) <= used * -(-total // (used * step))
    # never more streams than chunks, and each chunk ran on the stream whose worker it was
    assert len(made) == used
    assert {ident for _, _, ident in done} <= set(made)
    assert torch.get_num_threads() == 2


@pytest.mark.usefixtures("two_threads")
def test_share_chunks_balances_the_streams_on_an_idle_machine() -> None:
    done: list[tuple[int, int]] = []
    share_chunks(2356, 64, 2, lambda: lambda a, b: done.append((a, b)))
    assert len(done) == 38 and {b - a for a, b in done} == {62}  # 37 chunks of 64 would leave one stream idle
    share_chunks(0, 64, 2, lambda: lambda a, b: done.append((a, b)))  # nothing to do: no stream starts
    assert len(done) == 38


@pytest.mark.usefixtures("two_threads")
def test_stream_threads_run_openmp_single_threaded() -> None:
    """OpenMP's thread count is per thread: a fresh thread starts at every core whatever torch's count
    says, so each stream must set its own, or its GEMMs and parallel ops oversubscribe the cores."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def openmp_threads() -> list[int]:
        info = threadpoolctl.threadpool_info()
        return [lib["num_threads"] for lib in info if lib["user_api"] == "openmp"]

    if not openmp_threads():
        pytest.skip("torch here is built without an OpenMP runtime")
    counts = run_streams([openmp_threads, openmp_threads])
    assert counts == [[1] * len(counts[0])] * 2
    assert torch.get_num_threads() == 2


@pytest.mark.usefixtures("two_threads")
def test_batch_in_streams_splits_the_batch_in_order() -> None:
    seen: list[tuple[int, str]] = []

    def forward(x: torch.Tensor) -> torch.Tensor:
        seen.append((x.shape[0], threading.current_thread().name))
        return x * 2

    x = torch.arange(5.0).view(5, 1)
    assert torch.equal(batch_in_streams(forward, x), x * 2)
    assert sorted(n for n, _ in seen) == [2, 3] and all(name.startswith("gastbench-stream") for _, name in seen)
    seen.clear()
    assert torch.equal(batch_in_streams(forward, x[:1]), x[:1] * 2)  # one item: in place
    assert seen == [(1, threading.current_thread().name)]
    assert torch.get_num_threads() == 2


def test_share_chunks_rejects_a_step_below_one() -> None:
    with pytest.raises(ValueError, match="step must be >= 1"):
        share_chunks(4, 0, 2, lambda: lambda a, b: None)


def test_bn_affine_is_the_eval_batch_norm() -> None:
    bn = nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(7, 5)
    scale, shift = bn_affine(bn.eval())
    assert torch.allclose(x * scale + shift, bn(x), atol=1e-6)
    plain = nn.BatchNorm1d(5, affine=False).eval()
    scale, shift = bn_affine(plain)
    assert torch.allclose(x * scale + shift, plain(x), atol=1e-6)
    with pytest.raises(ValueError, match="running statistics"):
        bn_affine(nn.BatchNorm1d(5, track_running_stats=False))


def test_chunk_rows_fits_the_budget() -> None:
    cpu = torch.device("cpu")
    assert chunk_rows(16, 256, cpu) * 16 * 256 * 4 <= 1 << 20
    assert chunk_rows(16, 256, cpu) > chunk_rows(16, 512, cpu) >= 1
    assert chunk_rows(10**6, 10**6, cpu) == 1
    assert chunk_rows(16, 256, torch.device("meta")) == 256 * chunk_rows(16, 256, cpu)
