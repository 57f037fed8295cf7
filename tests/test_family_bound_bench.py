"""benchmarks/family_bound.py: the recorded kernels are the forward's, and the replays issue exactly them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from gastbench.registry import create_lifter

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports its siblings (_common, _families)
    try:
        spec = importlib.util.spec_from_file_location("family_bound_bench", BENCHMARKS / "family_bound.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclass looks its module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))
        sys.modules.pop("family_bound_bench", None)


def test_attention_is_recorded_with_its_flops(bench: Any) -> None:
    q = torch.randn(3, 4, 10, 8)
    k = torch.randn(3, 4, 12, 8)
    v = torch.randn(3, 4, 12, 8)  # CPU's fused kernel wants value and query of one head width
    w = torch.randn(8, 5)

    def run() -> object:
        return F.scaled_dot_product_attention(q, k, v).reshape(-1, 8) @ w

    calls = bench.record(run)
    kinds = [c.attention for c in calls]
    if not any(kinds):
        pytest.skip("this torch routes CPU attention through a kernel the benchmark does not list")
    assert kinds == [True, False]
    assert calls[0].flops == 2 * 3 * 4 * 10 * 12 * (8 + 8)
    assert calls[1].flops == 2 * (3 * 4 * 10) * 8 * 5
    # the replays issue the same calls again, on operands of the recorded layouts
    assert bench.record(bench.replay(calls)) == calls


def test_a_forward_is_replayed_call_for_call(bench: Any) -> None:
    torch.manual_seed(0)
    lifter = create_lifter("videopose3d-t27", channels=32).eval()
    x = bench.forward_input(lifter)
    # a temporal model's forward holds one evaluation chunk (and its mirror): receptive field included
    assert x.shape[0] == 2 and x.shape[1] > lifter.receptive_field

    def forward() -> object:
        return lifter(x, mode="dilated")

    calls = bench.record(forward)
    assert calls and not any(c.attention for c in calls)
    assert bench.record(bench.replay(calls)) == calls
    # the convolutions are all of the model's FLOPs (torch's counter does not count batch norms either)
    assert sum(c.flops for c in calls) == bench.model_flops(lifter, x)
