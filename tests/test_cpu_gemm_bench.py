"""benchmarks/cpu_gemm.py: every library's side computes the same GEMM, and a quick run prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_every_side_is_the_same_gemm() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import cpu_gemm as bench
    finally:
        sys.path.remove(str(BENCHMARKS))
        sys.modules.pop("cpu_gemm", None)
    sides = bench.sides(37, 24, 40)
    assert "torch" in sides
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(37, 24, generator=g), torch.randn(40, 24, generator=g), torch.randn(40, generator=g)
    with torch.no_grad():
        for name, side in sides.items():
            torch.testing.assert_close(side(), F.linear(x, w, b), rtol=1e-5, atol=1e-5, msg=name)


def test_a_quick_run_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "cpu_gemm.py"), "--repeats", "1", "--scale", "0.02", "--markdown"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("commit `") and "this CPU's default: " in lines[0]
    assert lines[1] == "`python benchmarks/cpu_gemm.py --repeats 1 --scale 0.02 --markdown`"
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 2 + 8
    assert "torch: GFLOP/s (x torch)" in table[0]
    assert all("(1.00x)" in row for row in table[2:])  # torch's own column against itself
