"""The fused CPU path's GEMMs through numpy's bundled OpenBLAS, and its single-threaded streams."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from gast_helpers import randomize_gastnet

import gastbench
from gastbench import cpu_gemm
from gastbench.fastpath import stream_parts as _stream_parts
from gastbench.models import _blas

needs_openblas = pytest.mark.skipif(
    not _blas.bundled_openblas_found(), reason="this numpy bundles no OpenBLAS: the fused path uses torch's BLAS"
)


@pytest.fixture(autouse=True)
def _openblas_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the OpenBLAS route: take it even where torch's MKL is the default (Intel CPUs)."""
    monkeypatch.setenv("GASTBENCH_BLAS", "openblas")


@contextmanager
def backend(name: str) -> Iterator[None]:
    """OpenBLAS runs GEMMs only inside a CPU session; torch's BLAS inside torch_blas()."""
    if name == "openblas" and not _blas.bundled_openblas_found():
        pytest.skip("this numpy bundles no OpenBLAS")
    with _blas.torch_blas() if name == "torch" else _blas.gemm_threads(torch.device("cpu")):
        yield


def _layouts(x: torch.Tensor) -> list[torch.Tensor]:
    """``x`` row-major and as a transposed view of column-major storage (BLAS reads both in place)."""
    return [x, x.t().contiguous().t()]


@pytest.mark.parametrize("name", ["openblas", "torch"])
@pytest.mark.parametrize("shape", [(70, 33, 19), (1, 5, 7), (6, 1, 4), (9, 12, 1)])
def test_gemm_matches_torch_in_every_layout(name: str, shape: tuple[int, int, int]) -> None:
    m, k, n = shape
    gen = torch.Generator().manual_seed(0)
    a, b, bias = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen), torch.randn(n, generator=gen)
    want = a @ b
    with backend(name):
        for left in _layouts(a):
            for right in _layouts(b):
                out = torch.empty(m, n)
                torch.testing.assert_close(_blas.gemm(left, right, out), want, rtol=0, atol=1e-5)
                torch.testing.assert_close(_blas.gemm(left, right, out, bias=bias), want + bias, rtol=0, atol=1e-5)
                _blas.gemm(left, right, out, accumulate=True)
                torch.testing.assert_close(out, 2 * want + bias, rtol=0, atol=1e-5)


@needs_openblas
def test_gemm_reads_offset_slices_of_transposed_views() -> None:
    weight = torch.randn(30, 12).t()  # (12, 30), column-major storage, as the folded fusing convs are
    x = torch.randn(9, 4)
    out = torch.empty(9, 30)
    with _blas.gemm_threads(torch.device("cpu")):
        torch.testing.assert_close(_blas.gemm(x, weight[4:8], out), x @ weight[4:8], rtol=0, atol=1e-5)


def test_what_blas_cannot_read_falls_back_to_torch() -> None:
    with _blas.gemm_threads(torch.device("cpu")):
        _what_blas_cannot_read()


def _what_blas_cannot_read() -> None:
    a, b = torch.randn(8, 6, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    torch.testing.assert_close(_blas.gemm(a, b, torch.empty(8, 5, dtype=torch.float64)), a @ b)
    strided = torch.randn(8, 12)[:, ::2]  # no unit stride in either dimension
    b32 = b.float()
    torch.testing.assert_close(_blas.gemm(strided, b32, torch.empty(8, 5)), strided @ b32, rtol=0, atol=1e-5)


@pytest.mark.parametrize("batch,frames,streams", [(2, 626, 2), (1, 626, 2), (1, 626, 8), (3, 300, 2), (5, 90, 16)])
def test_stream_parts_cover_every_output_frame_once(batch: int, frames: int, streams: int) -> None:
    rf = 27
    parts = _stream_parts(batch, frames, rf, False, streams)
    assert 1 <= len(parts) <= max(streams, 1)
    covered = torch.zeros(batch, frames - rf + 1, dtype=torch.int64)
    for b, t_in, t_out in parts:
        covered[b, t_out] += 1
        start, stop, _ = t_in.indices(frames)
        out_start, out_stop, _ = t_out.indices(frames - rf + 1)
        assert (start, stop - start) == (out_start, out_stop - out_start + rf - 1)  # RF-1 more input frames
        assert out_stop - out_start >= min(frames - rf + 1, 4 * (rf - 1))  # never a sliver that is mostly overlap
    assert bool((covered == 1).all())


def test_strided_forwards_split_sequences_only() -> None:
    assert _stream_parts(1, 54, 27, True, 2) == [(slice(0, 1), slice(None), slice(None))]
    whole = slice(None)
    assert _stream_parts(4, 54, 27, True, 2) == [(slice(0, 2), whole, whole), (slice(2, 4), whole, whole)]


@needs_openblas
@pytest.mark.slow
@pytest.mark.parametrize("shape", [(2, 626), (1, 626), (3, 60)])
def test_streamed_forward_equals_one_torch_forward_and_repeats_bitwise(shape: tuple[int, int]) -> None:
    model = randomize_gastnet(gastbench.create_lifter("gast-t27"))
    x = torch.randn(*shape, 17, 2, generator=torch.Generator().manual_seed(2))
    threads = torch.get_num_threads()
    with torch.inference_mode():
        streamed, again = model(x), model(x)
        with _blas.torch_blas():
            reference = model(x)
    torch.testing.assert_close(streamed, reference, rtol=0, atol=1e-5)
    assert torch.equal(streamed, again)  # the same split, the same sums: deterministic
    assert torch.get_num_threads() == threads


def test_a_failing_stream_raises_in_the_caller() -> None:
    def fails() -> None:
        raise ValueError("stream 2 failed")

    with pytest.raises(ValueError, match="stream 2 failed"):
        _blas.run_streams([lambda: None, fails])


def test_the_environment_turns_openblas_off() -> None:
    code = "from gastbench.models import _blas; print(_blas.openblas_available(), _blas.blas_name())"
    env = {**os.environ, "GASTBENCH_BLAS": "torch"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "torch"], done.stderr


@needs_openblas
def test_the_default_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GASTBENCH_BLAS")
    default = cpu_gemm.default_library()
    assert _blas.openblas_available() is (default == "openblas")
    assert (_blas.blas_name() == "torch") is (default == "torch")
    assert (_blas.blas_name() == "oneDNN (torch)") is (default == "onednn")
    monkeypatch.setenv("GASTBENCH_BLAS", "openblas")
    assert _blas.openblas_available() and _blas.blas_name().startswith("OpenBLAS")
    with _blas.torch_blas():
        assert not _blas.openblas_available()
    monkeypatch.setenv("GASTBENCH_BLAS", "torch")
    with _blas.bundled_openblas():
        assert _blas.openblas_available()
        # the streams of a forward run on other threads: the caller's choice must hold there too
        assert _blas.run_streams([_blas.openblas_available, _blas.openblas_available]) == [True, True]
    assert not _blas.openblas_available()


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@needs_openblas
def test_sessions_restore_both_thread_counts_and_leave_no_threads_behind() -> None:
    import threading

    model = randomize_gastnet(gastbench.create_lifter("gast-t27"))
    x = torch.randn(2, 90, 17, 2, generator=torch.Generator().manual_seed(4))
    before = (torch.get_num_threads(), _blas_threads(), threading.active_count())
    with torch.inference_mode():
        model(x)  # split into streams
        with _blas.gemm_threads(torch.device("cpu")):
            assert torch.get_num_threads() == 1 and _blas_threads() == [before[0]]  # one pool at a time
        model(x[:1, :40])  # one stream
    assert (torch.get_num_threads(), _blas_threads(), threading.active_count()) == before


@needs_openblas
def test_sessions_of_two_threads_queue_and_restore_what_each_found() -> None:
    """Two threads forwarding at once: neither leaves the other's thread count behind."""
    import threading

    model = randomize_gastnet(gastbench.create_lifter("gast-t27"))
    x = torch.randn(2, 90, 17, 2, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        want = model(x)
    threads = torch.get_num_threads()
    results: list[torch.Tensor] = []

    def forward() -> None:
        with torch.inference_mode():
            results.append(model(x))

    workers = [threading.Thread(target=forward) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert torch.get_num_threads() == threads and len(results) == 3
    for got in results:
        assert torch.equal(got, want)


def test_outside_a_session_the_gemm_is_torchs() -> None:
    """A bare gemm() call never touches OpenBLAS's thread count (no session, no global change)."""
    a, b = torch.randn(40, 30), torch.randn(30, 20)
    before = _blas_threads()
    torch.testing.assert_close(_blas.gemm(a, b, torch.empty(40, 20)), a @ b, rtol=0, atol=0)
    assert _blas_threads() == before
