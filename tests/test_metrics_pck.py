"""PCK and AUC as MPI-INF-3DHP's official evaluation defines them, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gastbench.errors import ShapeError
from gastbench.evaluation.aggregate import RowAccumulator, sequence_errors
from gastbench.metrics_pck import AUC_THRESHOLDS_MM, auc, frame_auc, frame_pck, frame_pck_metrics, joint_errors_mm, pck


def test_thresholds_are_the_official_ones() -> None:
    assert AUC_THRESHOLDS_MM == tuple(float(t) for t in range(0, 151, 5))
    assert len(AUC_THRESHOLDS_MM) == 31


def test_pck_counts_errors_strictly_below_150_mm() -> None:
    errors = np.array([[0.0, 50.0, 149.999, 150.0]])
    assert frame_pck(errors)[0] == pytest.approx(75.0)  # 150 mm itself is not below 150 mm
    assert pck(errors) == pytest.approx(75.0)


def test_auc_by_hand() -> None:
    # Below t for t in 5..150 (30 of 31), t in 55..150 (20), t = 150 (1), never (0): 51 of 4 x 31.
    errors = np.array([[0.0, 50.0, 149.999, 150.0]])
    expected = 100.0 * 51 / (4 * 31)
    assert frame_auc(errors)[0] == pytest.approx(expected, abs=1e-12)
    assert auc(errors) == pytest.approx(expected, abs=1e-12)


def test_pooled_joints_equal_the_mean_of_frames() -> None:
    errors = np.array([[10.0, 200.0], [10.0, 10.0], [160.0, 170.0]])
    assert pck(errors) == pytest.approx(50.0)  # 3 of 6 joints
    assert frame_pck(errors).mean() == pytest.approx(50.0)
    assert frame_auc(errors).mean() == pytest.approx(auc(errors), abs=1e-12)


def test_errors_from_poses_in_metres() -> None:
    target = np.zeros((2, 3, 3))
    pred = target.copy()
    pred[:, 1, 0] = 0.05  # 50 mm along x
    pred[:, 2] = [0.12, 0.0, 0.09]  # 150 mm: a 3-4-5 triangle scaled by 30 mm
    errors = joint_errors_mm(pred, target)
    np.testing.assert_allclose(errors, [[0.0, 50.0, 150.0]] * 2, atol=1e-9)
    metrics = frame_pck_metrics(pred, target)
    np.testing.assert_allclose(metrics["pck"], [100.0 * 2 / 3] * 2)
    with pytest.raises(ShapeError):
        joint_errors_mm(pred, target[:, :2])


def test_scored_frames_and_velocity_pairs() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 0.3, (6, 17, 3))
    pred = gt + rng.normal(0, 0.08, gt.shape)
    valid = np.array([True, True, False, True, True, True])
    errors = sequence_errors(pred, gt, valid=valid, extra=("pck", "auc"))
    expected = joint_errors_mm(pred[valid], gt[valid])
    np.testing.assert_allclose(errors["mpjpe_mm"], expected.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(errors["pck"], frame_pck(expected))
    np.testing.assert_allclose(errors["auc"], frame_auc(expected))
    # pairs (0,1), (3,4), (4,5): both frames scored
    assert errors["mpjve_mm"].shape == (3,)


def test_rows_pool_frames_per_scene() -> None:
    from gastbench.data.types import PoseSequence

    def seq(subject: str, action: str, frames: int) -> PoseSequence:
        zeros = np.zeros((frames, 17, 3), np.float32)
        return PoseSequence(subject, action, subject, "c", zeros[..., :2], zeros, zeros[:, 0])

    sequences = [seq("TS1", "GS", 2), seq("TS2", "GS", 1)]
    rows = RowAccumulator(sequences, ["TS1", "TS2"], ["GS"], extra_metrics=("pck", "auc"))
    gt = np.zeros((2, 17, 3))
    far = gt.copy()
    far[:, 1:] += [0.2, 0.0, 0.0]  # 16 of 17 joints 200 mm off: PCK 1/17
    rows.add(far, gt)
    rows.add(np.zeros((1, 17, 3)), np.zeros((1, 17, 3)))  # perfect: PCK 100
    result = rows.result()
    assert result.per_action["GS"].pck == pytest.approx((2 * 100 / 17 + 100) / 3)
    assert result.per_cell["TS2"]["GS"].pck == pytest.approx(100.0)
    assert result.average_over_frames.pck == pytest.approx(result.per_action["GS"].pck)
