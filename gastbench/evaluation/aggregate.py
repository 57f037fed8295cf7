"""From per-frame predictions to the record's rows: per action, per subject x action cell, overall.

Metrics are computed once per frame (in blocks, bounding memory) and then averaged per group
with ``bincount``; the average over actions is the mean of the per-action rows (the papers'
"Avg"), the average over frames weights every frame alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..metrics import mpjpe
from .scoring import FRAME_ERRORS, Precision, frame_errors
from ..results import MetricRow

if TYPE_CHECKING:
    from ..data import Sequence

__all__ = ["Aggregate", "aggregate"]

# Frames whose metrics are computed at once (bounds float64 temporaries, ~100 MB).
_METRIC_BLOCK = 1 << 16


@dataclass(frozen=True)
class Aggregate:
    """The metric rows of one evaluation and the subjects/actions that had frames."""

    per_action: dict[str, MetricRow]
    per_cell: dict[str, dict[str, MetricRow]]
    average_over_actions: MetricRow
    average_over_frames: MetricRow
    subjects: list[str]
    actions: list[str]
    frames: int


def _group_mean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(groups, minlength=n_groups)
    sums = np.bincount(groups, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def _frame_metrics(pred_m: np.ndarray, gt_m: np.ndarray, precision: Precision = "float64") -> dict[str, np.ndarray]:
    """Per-frame MPJPE / P-MPJPE / N-MPJPE in mm, in the protocol's arithmetic, in blocks to bound memory."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in FRAME_ERRORS}
    for start in range(0, pred_m.shape[0], _METRIC_BLOCK):
        block = frame_errors(pred_m[start : start + _METRIC_BLOCK], gt_m[start : start + _METRIC_BLOCK], precision)
        for key in FRAME_ERRORS:
            out[key].append(block[key])
    return {k: np.concatenate(v) for k, v in out.items()}


def _velocity_metrics(pred_m: np.ndarray, gt_m: np.ndarray, seq_of_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MPJVE per consecutive frame pair inside one sequence (mm/frame), and the pairs' frame index."""
    same = np.nonzero(seq_of_frame[1:] == seq_of_frame[:-1])[0]
    if same.size == 0:
        return np.zeros(0), same
    dp = torch.from_numpy(pred_m[same + 1].astype(np.float64) - pred_m[same])
    dt = torch.from_numpy(gt_m[same + 1].astype(np.float64) - gt_m[same])
    return mpjpe(dp, dt).numpy() * 1000.0, same


def _row(metrics: dict[str, np.ndarray], vel: np.ndarray, g: int, frames: np.ndarray, vframes: np.ndarray) -> MetricRow:
    return MetricRow(
        mpjpe_mm=float(metrics["mpjpe_mm"][g]),
        p_mpjpe_mm=float(metrics["p_mpjpe_mm"][g]),
        n_mpjpe_mm=float(metrics["n_mpjpe_mm"][g]),
        mpjve_mm=float(vel[g]) if vframes[g] > 0 else None,
        frames=int(frames[g]),
        velocity_frames=int(vframes[g]),
    )


class _Grouper:
    """Averages the per-frame metrics over any grouping of the sequences."""

    def __init__(self, preds: list[np.ndarray], targets: list[np.ndarray], precision: Precision = "float64") -> None:
        lengths = np.array([p.shape[0] for p in preds])
        self.frames = int(lengths.sum())
        self.seq_of_frame = np.repeat(np.arange(len(preds)), lengths)
        pred_all, gt_all = np.concatenate(preds), np.concatenate(targets)
        self.metrics = _frame_metrics(pred_all, gt_all, precision)
        self.vel, self.vel_at = _velocity_metrics(pred_all, gt_all, self.seq_of_frame)

    def rows(self, group_of_seq: np.ndarray, n: int) -> list[MetricRow]:
        g_frames = group_of_seq[self.seq_of_frame]
        means = {k: _group_mean(v, g_frames, n)[0] for k, v in self.metrics.items()}
        counts = np.bincount(g_frames, minlength=n)
        vmean, vcounts = _group_mean(self.vel, g_frames[self.vel_at], n)
        return [_row(means, vmean, g, counts, vcounts) for g in range(n)]


def _mean_of_rows(rows: list[MetricRow], overall: MetricRow) -> MetricRow:
    """The unweighted mean of per-action rows (the papers' Avg), with the overall frame counts."""
    return MetricRow(
        mpjpe_mm=float(np.mean([r.mpjpe_mm for r in rows])),
        p_mpjpe_mm=float(np.mean([r.p_mpjpe_mm for r in rows])),
        n_mpjpe_mm=float(np.mean([r.n_mpjpe_mm for r in rows])),
        mpjve_mm=float(np.mean([r.mpjve_mm for r in rows])) if all(r.mpjve_mm is not None for r in rows) else None,
        frames=overall.frames,
        velocity_frames=overall.velocity_frames,
    )


def aggregate(
    sequences: list["Sequence"],
    preds: list[np.ndarray],
    targets: list[np.ndarray],
    subjects: list[str],
    actions: list[str],
    precision: Precision = "float64",
) -> Aggregate:
    """Per-action, per-cell and overall rows of aligned per-sequence predictions and targets (metres)."""
    grouper = _Grouper(preds, targets, precision)
    cell_subjects = [s for s in subjects if any(q.subject == s for q in sequences)]
    cell_actions = [a for a in actions if any(q.action == a for q in sequences)]
    a_idx = {a: i for i, a in enumerate(cell_actions)}
    s_idx = {s: i for i, s in enumerate(cell_subjects)}
    seq_action = np.array([a_idx[q.action] for q in sequences])
    seq_cell = np.array([s_idx[q.subject] * len(cell_actions) + a_idx[q.action] for q in sequences])

    action_rows = grouper.rows(seq_action, len(cell_actions))
    cell_rows = grouper.rows(seq_cell, len(cell_subjects) * len(cell_actions))
    per_cell: dict[str, dict[str, MetricRow]] = {}
    for s, si in s_idx.items():
        for a, ai in a_idx.items():
            row = cell_rows[si * len(cell_actions) + ai]
            if row.frames:
                per_cell.setdefault(s, {})[a] = row
    overall = grouper.rows(np.zeros(len(sequences), dtype=np.int64), 1)[0]
    return Aggregate(
        per_action=dict(zip(cell_actions, action_rows)),
        per_cell=per_cell,
        average_over_actions=_mean_of_rows(action_rows, overall),
        average_over_frames=overall,
        subjects=cell_subjects,
        actions=cell_actions,
        frames=grouper.frames,
    )
