"""Evaluation memory stays flat in the number of test sequences, for every registered architecture.

The evaluator streams one sequence at a time; a family's eval path (folded, streamed) must keep
nothing per sequence either. Peak Python-visible memory (``tracemalloc`` sees numpy's buffers,
where predictions live) of an evaluation of 4x the sequences must grow by far less than the
predictions it would hold if it kept them. Small widths keep the models quick; the plugins' own
models are built as registered.
"""

from __future__ import annotations

import re
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import fake_dataset  # noqa: E402

from gastbench.evaluation import EvalOptions, evaluate  # noqa: E402
from gastbench.registry import create_lifter, get_lifter_spec, list_lifters, load_plugins, native_layout  # noqa: E402

#: Narrow versions of the built-in families (memory, not arithmetic, is under test).
SMALL: dict[str, dict[str, Any]] = {
    "gast-net": {"channels": 8},
    "videopose3d": {"channels": 16},
    "martinez": {"hidden": 32},
    "semgcn": {"hidden": 8},
    "poseformer": {"embed_dim_ratio": 4, "depth": 1, "num_heads": 2},
}
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting")


def _architectures() -> list[str]:
    """One registered name per architecture: names differing only in ``-tN`` / ``-causal`` are one."""
    load_plugins()
    chosen: dict[str, str] = {}
    for name in list_lifters():
        arch = re.sub(r"(-t\d+)?(-causal)?$", "", name)
        if arch not in chosen and "causal" not in get_lifter_spec(name).tags:
            chosen[arch] = name
    return list(chosen.values())


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _peak_bytes(lifter: torch.nn.Module, dataset: Any) -> tuple[int, int]:
    """(peak bytes traced during one evaluation, frames evaluated)."""
    tracemalloc.start()
    try:
        result = evaluate(lifter, dataset, EvalOptions(device="cpu"), progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, int(result.frames_evaluated)


@pytest.mark.parametrize("name", _architectures())
def test_evaluation_memory_is_flat_in_test_set_size(name: str) -> None:
    spec = get_lifter_spec(name)
    if spec.missing_requirements():
        pytest.skip(f"{name} needs {', '.join(spec.missing_requirements())}")
    torch.manual_seed(0)
    lifter = create_lifter(name, native_layout(name, "h36m"), **SMALL.get(spec.family, {})).eval()
    sequences = {"min_frames": 120, "max_frames": 160, "cameras": ("54138969", "55011271")}
    small = fake_dataset(name="synthetic", actions=ACTIONS[:2], **sequences)
    large = fake_dataset(name="synthetic", actions=ACTIONS, **sequences)
    _peak_bytes(lifter, small)  # warm-up: lazy imports and first-call caches are not the evaluation's growth
    small_peak, small_frames = _peak_bytes(lifter, small)
    large_peak, large_frames = _peak_bytes(lifter, large)
    assert large_frames > 3 * small_frames
    kept = (large_frames - small_frames) * lifter.output_layout.num_joints * 3 * 4  # the extra predictions, float32
    assert large_peak - small_peak < kept / 4, (
        f"{name}: peak {small_peak / 1e6:.2f} MB for {small_frames} frames, {large_peak / 1e6:.2f} MB for "
        f"{large_frames}: grows like the predictions ({kept / 1e6:.2f} MB) it should not keep"
    )


def test_input_joints_are_taken_per_sequence_as_preselected() -> None:
    """A model inside the data's layout gets its joints from each sequence as it is lifted: the same numbers."""
    from gastbench.errors import ShapeError
    from gastbench.evaluation import predict_sequences
    from gastbench.skeleton import get_layout

    lifter = create_lifter("semgcn", "h36m16", hidden=8).eval()
    index = list(lifter.input_layout.indices_in(get_layout("h36m")))
    gen = torch.Generator().manual_seed(0)
    keypoints = [torch.rand(n, 17, 2, generator=gen).numpy() for n in (5, 300)]
    lazy = predict_sequences(lifter, keypoints, input_joints=index)
    eager = predict_sequences(lifter, [kp[:, index] for kp in keypoints])
    assert all((a == b).all() for a, b in zip(lazy, eager))
    with pytest.raises(ShapeError, match="J>16"):
        predict_sequences(lifter, [keypoints[0][:, :16]], input_joints=index)
    with pytest.raises(ShapeError, match="names 15 joints"):
        predict_sequences(lifter, keypoints, input_joints=index[:15])
