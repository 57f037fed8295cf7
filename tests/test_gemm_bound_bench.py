"""benchmarks/gast_gemm_bound.py: the recorded GEMMs are the fused level's, and the replay issues exactly them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from gastbench.models._blas import torch_blas
from gastbench.models._fast import Workspace
from gastbench.registry import create_lifter

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gast_gemm_bound.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gast_gemm_bound_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("level", [0, 1])
def test_replay_issues_the_levels_gemms(bench, level: int) -> None:
    torch.manual_seed(0)
    model = create_lifter("gast-t27", channels=16).eval()
    taps = model._folded_taps()
    h = bench._level_input(model, level, frames=12, batch=2)
    folded = model.layers_graph_conv[level].fold()
    with torch_blas():  # the dispatcher sees torch's GEMMs only (the benchmark records under it too)
        calls = bench.record_gemms(lambda: model._fused_level(level, h, taps, folded, False, Workspace(h), None))
    # per chunk: temporal taps (+ the 1x1 conv above level 0), local (2), global (g, ab, 4 heads), the block (3)
    taps_and_pointwise = model.filter_widths[level] + (1 if level else 0)
    assert len(calls) == taps_and_pointwise + 2 + 6 + 3
    c = model.layers_graph_conv[level].channels
    rows = 12 * 2 * 17
    assert calls[-1].layouts[-1][0] == (c, 2 * c)  # the block's last accumulated GEMM
    assert sum(call.flops for call in calls) > 2 * rows * 14 * c * c  # graph block alone: 14 C^2 MACs per row

    replayed = bench.record_gemms(bench.replay(calls))
    assert replayed == calls
