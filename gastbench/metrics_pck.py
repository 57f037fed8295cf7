"""PCK and AUC as MPI-INF-3DHP's official evaluation defines them (``mpii_compute_3d_pck.m``).

A joint is correct at threshold ``t`` when its Euclidean error is strictly below ``t`` mm.
PCK is the percentage of correct joints at 150 mm; AUC is the mean, in percent, of the PCK
curve over the 31 thresholds 0, 5, ..., 150 mm (at 0 mm no joint is below the threshold, so
the curve starts at 0). The official "Total" pools every joint of its joint groups, which
together are all 17 joints, the root included (its error is 0 after root-relative alignment,
so it always counts as correct); pooling joints is the same as averaging per-frame values
over frames when every frame has the same joints, which is how gastbench aggregates them.

Inputs are per-joint errors in millimetres ``(..., J)``; :func:`joint_errors_mm` makes them from
poses in metres.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError

__all__ = [
    "AUC_THRESHOLDS_MM", "PCK_METRICS", "PCK_THRESHOLD_MM", "auc", "frame_auc", "frame_pck", "frame_pck_metrics",
    "joint_errors_mm", "pck",
]  # fmt: skip

PCK_THRESHOLD_MM = 150.0
#: 0 to 150 mm in 5 mm steps, as in the official script (``thresh = 0:5:150``).
AUC_THRESHOLDS_MM = tuple(float(t) for t in range(0, 151, 5))
#: Names of the per-frame values :func:`frame_pck_metrics` returns (percent).
PCK_METRICS = ("pck", "auc")


def joint_errors_mm(pred_m: np.ndarray, target_m: np.ndarray) -> np.ndarray:
    """Euclidean error of every joint, in mm (float64): ``(..., J, 3)`` metres -> ``(..., J)``."""
    pred_m, target_m = np.asarray(pred_m), np.asarray(target_m)
    if pred_m.shape != target_m.shape or pred_m.ndim < 2 or pred_m.shape[-1] != 3:
        raise ShapeError(f"joint_errors_mm: expected two (..., J, 3) arrays, got {pred_m.shape} and {target_m.shape}")
    diff = pred_m.astype(np.float64) - target_m.astype(np.float64)
    return np.sqrt((diff * diff).sum(axis=-1)) * 1000.0


def _errors(errors_mm: np.ndarray) -> np.ndarray:
    errors_mm = np.asarray(errors_mm, dtype=np.float64)
    if errors_mm.ndim < 1 or errors_mm.shape[-1] == 0:
        raise ShapeError(f"PCK: expected per-joint errors (..., J) with J >= 1, got shape {errors_mm.shape}")
    return errors_mm


def frame_pck(errors_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM) -> np.ndarray:
    """Percentage of each frame's joints whose error is below ``threshold_mm``: ``(..., J) -> (...)``."""
    errors_mm = _errors(errors_mm)
    return 100.0 * (errors_mm < threshold_mm).mean(axis=-1)


def frame_auc(errors_mm: np.ndarray, thresholds_mm: tuple[float, ...] = AUC_THRESHOLDS_MM) -> np.ndarray:
    """Each frame's area under its PCK curve, in percent: the mean over ``thresholds_mm`` of its PCK."""
    errors_mm = _errors(errors_mm)
    below = errors_mm[..., None] < np.asarray(thresholds_mm, dtype=np.float64)  # (..., J, K)
    return 100.0 * below.mean(axis=(-2, -1))


def pck(errors_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM) -> float:
    """PCK over every joint of every frame given (the official pooled value), in percent."""
    errors_mm = _errors(errors_mm)
    return float(100.0 * np.count_nonzero(errors_mm < threshold_mm) / errors_mm.size)


def auc(errors_mm: np.ndarray, thresholds_mm: tuple[float, ...] = AUC_THRESHOLDS_MM) -> float:
    """AUC over every joint of every frame given, in percent: the mean of the pooled PCK curve."""
    return float(np.mean([pck(errors_mm, t) for t in thresholds_mm]))


def frame_pck_metrics(pred_m: np.ndarray, target_m: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame PCK at 150 mm and AUC (percent) of ``(N, J, 3)`` poses in metres."""
    errors = joint_errors_mm(pred_m, target_m)
    return {"pck": frame_pck(errors), "auc": frame_auc(errors)}
