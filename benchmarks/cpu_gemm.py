"""The families' GEMM shapes through each library gastbench can send them to, single-threaded, side by side.

``gastbench.cpu_gemm`` picks the library that runs the folded paths' float32 CPU GEMMs from the
CPU's identity (oneDNN on AMD Zen 5, torch's MKL on Intel, numpy's OpenBLAS for GAST-Net
elsewhere). This script measures what that choice rests on: for each shape (``M`` rows, ``K`` in,
``N`` out, one per family's widest GEMMs) it times ``F.linear`` (torch's BLAS), numpy's bundled
OpenBLAS (``cblas_sgemm`` through ctypes, as GAST-Net calls it; absent when numpy bundles none)
and oneDNN's fused linear op (as ``gastbench.cpu_gemm.linear`` calls it), alternated
(``_common.alternate``, best of ``--repeats``), one thread, and prints each library's GFLOP/s and
its ratio to torch's, with the library this CPU gets by default.

    python benchmarks/cpu_gemm.py --markdown
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, machine_line  # noqa: E402
from _families import Row, commit_label, print_table  # noqa: E402

from gastbench import cpu_gemm  # noqa: E402
from gastbench.models import _blas  # noqa: E402
from gastbench.process_state import process_state_restored  # noqa: E402

__all__ = ["SHAPES", "main", "sides"]

#: ``(label, M, K, N)``: each family's widest evaluation GEMMs at the rows one chunk gives them.
SHAPES = (
    ("gast-t27 graph block", 4352, 128, 384),
    ("gast-t27 level", 2040, 512, 1024),
    ("martinez", 2048, 1024, 1024),
    ("semgcn", 2048, 128, 256),
    ("transformer qkv (width 256)", 4131, 256, 768),
    ("transformer MLP in (256 -> 1024)", 4131, 256, 1024),
    ("transformer MLP out (1024 -> 256)", 4131, 1024, 256),
    ("transformer MLP in (512 -> 1024)", 4131, 512, 1024),
)


def sides(m: int, k: int, n: int) -> dict[str, Callable[[], object]]:
    """One GEMM ``(m, k) @ (k, n)`` with a bias, per library available here."""
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(m, k, generator=g), torch.randn(n, k, generator=g), torch.randn(n, generator=g)
    out = torch.empty(m, n)
    found: dict[str, Callable[[], object]] = {"torch": lambda: F.linear(x, w, b)}
    if _blas.bundled_openblas_found():

        def openblas() -> object:
            with _blas.bundled_openblas(), _blas.gemm_threads(x.device):
                return _blas.gemm(x, w.t(), out, bias=b)

        found["openblas"] = openblas
    if cpu_gemm.onednn_usable():

        def onednn() -> object:
            with cpu_gemm.use_library("onednn"):
                return cpu_gemm.linear(x, w, b)

        found["onednn"] = onednn
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per side (best counts)")
    parser.add_argument("--scale", type=float, default=1.0, help="rows of every shape times this (a quick run)")
    parser.add_argument("--markdown", action="store_true", help="print the README's table (with commit and command)")
    args = parser.parse_args()
    libraries = ("torch", "openblas", "onednn")
    rows = []
    with process_state_restored(threads=1), torch.no_grad():
        for label, m, k, n in SHAPES:
            m = max(1, round(m * args.scale))
            timings, _ = alternate(sides(m, k, n), args.repeats)
            rate = {name: 2 * m * k * n / t.best_s / 1e9 for name, t in timings.items()}
            cells = [label, f"{m} x {k} x {n}"]
            for name in libraries:
                cells.append(f"{rate[name]:.0f} ({rate[name] / rate['torch']:.2f}x)" if name in rate else "-")
            rows.append(Row(tuple(cells)))
    heading = (
        f"commit `{commit_label()}`, one float32 GEMM with bias per shape, 1 thread, best of {args.repeats}; "
        f"{machine_line()}; this CPU's default: {cpu_gemm.default_library()}"
    )
    command = "python benchmarks/cpu_gemm.py " + shlex.join(sys.argv[1:])
    header = ["shape", "M x K x N", *(f"{name}: GFLOP/s (x torch)" for name in libraries)]
    print_table(heading, command.strip(), header, rows, args.markdown)


if __name__ == "__main__":
    main()
