"""End to end on the real files (found through GASTBENCH_DATA): a few sequences, random-init models."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import CentreLifter  # noqa: E402

from gastbench.evaluation import EvalOptions, evaluate  # noqa: E402
from gastbench.pretrained import resolve_lifter  # noqa: E402
from gastbench.tables import render_results  # noqa: E402

pytestmark = pytest.mark.integration
torch.set_num_threads(1)

FILES = {
    "humaneva": ("data_3d_humaneva15.npz", "data_2d_humaneva15_gt.npz", "cameras.json"),
    "h36m": ("data_3d_h36m.npz", "cameras.json"),
}


def _data_dir(dataset: str) -> Path:
    env = os.environ.get("GASTBENCH_DATA")
    if not env:
        pytest.skip("GASTBENCH_DATA is not set; it must point at the folder with the real dataset files")
    folder = Path(env)
    missing = [f for f in FILES[dataset] if not (folder / f).is_file()]
    if missing:
        pytest.skip(f"{dataset} files {missing} not found in GASTBENCH_DATA={folder}")
    return folder


def _check_structure(result, expect_actions: list[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    assert result.frames_evaluated > 0 and result.sequences_evaluated > 0
    assert sum(r.frames for r in result.per_action.values()) == result.frames_evaluated
    for row in [*result.per_action.values(), result.average_over_actions, result.average_over_frames]:
        for value in (row.mpjpe_mm, row.p_mpjpe_mm, row.n_mpjpe_mm):
            assert value is not None and math.isfinite(value) and value > 0
        assert row.p_mpjpe_mm <= row.mpjpe_mm
    if expect_actions is not None:
        assert list(result.per_action) == expect_actions


def _check_consumed_2d(dataset, options: EvalOptions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A lifter that echoes its input's (x, y) shows the evaluator consumed the data layer's 2D unchanged."""
    path = tmp_path / "echo.npz"
    lifter = CentreLifter(layout=dataset.layout_2d, rf=3)
    evaluate(lifter, dataset, replace(options, flip=False, save_predictions=path), progress=False)
    subjects = list(options.subjects) if options.subjects else None
    seqs = dataset.sequences("test", subjects=subjects, actions=dataset.actions("test"))[: options.max_sequences]
    with np.load(path) as npz:
        for s in seqs:
            pred = npz[f"pred/{s.subject}/{s.name}/{s.camera}"]
            np.testing.assert_array_equal(pred[..., :2], s.keypoints_2d)


def test_humaneva_end_to_end(tmp_path: Path) -> None:
    from gastbench.data import load_dataset

    dataset = load_dataset("humaneva", "gt", _data_dir("humaneva"))
    assert dataset.layout_2d.name == "humaneva"
    options = EvalOptions(device="cpu", max_sequences=6)
    lifter, info = resolve_lifter(
        "gast-t27", dataset="humaneva", input="gt", layout=dataset.layout_2d, random_init=True
    )
    result = evaluate(lifter, dataset, options, info, progress=False)
    _check_structure(result)
    assert set(result.per_action) <= {"Walk", "Jog", "Box"}
    assert result.source_2d_sha256 and not result.synthetic and result.weights["source"] == "random-init"
    assert "Walk S1" in render_results([result], 2, "markdown")
    _check_consumed_2d(dataset, options, tmp_path)


def test_h36m_gt_end_to_end(tmp_path: Path) -> None:
    from gastbench.data import load_dataset

    dataset = load_dataset("h36m", "gt", _data_dir("h36m"))
    options = EvalOptions(device="cpu", subjects=("S9",), max_sequences=2)
    lifter, info = resolve_lifter(
        "videopose3d-t27", dataset="h36m", input="gt", layout=dataset.layout_2d, random_init=True
    )
    result = evaluate(lifter, dataset, options, info, progress=False)
    _check_structure(result, ["Directions"])
    assert result.protocol.subjects == ["S9"] and len(result.protocol.joints) == 17
    assert result.source_2d and result.source_2d.startswith("projected")
    _check_consumed_2d(dataset, options, tmp_path)
