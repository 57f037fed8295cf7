"""From per-frame errors to the record's rows: per action, per subject x action cell, overall.

Sequences are added one at a time (:meth:`RowAccumulator.add`) and nothing per frame is kept:
each grouping (action, cell, overall) holds a running sum per group. The sums are sequential
in frame order, exactly the additions one ``bincount`` over every frame would make, so the rows
do not depend on how the frames arrive (``np.sum``'s pairwise summation would round differently).
The average over actions is the mean of the per-action rows (the papers' "Avg"), the average
over frames weights every frame alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import ConfigError
from ..metrics import mpjpe
from ..metrics_pck import PCK_METRICS, frame_pck_metrics
from ..results import MetricRow
from .scoring import Precision, frame_errors

if TYPE_CHECKING:
    from ..data import PoseSequence

__all__ = ["Aggregate", "RowAccumulator", "sequence_errors"]

# Frames whose metrics are computed at once (bounds float64 temporaries, ~100 MB).
_METRIC_BLOCK = 1 << 16
_METRICS = ("mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm", "mpjve_mm")


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


def _check_extra(extra: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [name for name in extra if name not in PCK_METRICS]
    if unknown:
        raise ConfigError(f"unknown extra metric(s) {unknown}; known: {list(PCK_METRICS)}")
    return tuple(extra)


def sequence_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    precision: Precision = "float64",
    valid: np.ndarray | None = None,
    extra: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """One sequence's per-frame errors in mm: MPJPE, P-MPJPE, N-MPJPE in the protocol's arithmetic
    (:func:`gastbench.evaluation.scoring.frame_errors`), and MPJVE per frame pair (float64).

    ``valid``: ``(T,)`` bool, the frames to score (None: all); a velocity pair needs both frames.
    ``extra``: per-frame percentages of :data:`gastbench.metrics_pck.PCK_METRICS` to add.
    """
    extra = _check_extra(extra)
    out: dict[str, list[np.ndarray]] = {name: [] for name in (*_METRICS, *extra)}
    scored_pred, scored_gt = (pred, gt) if valid is None else (pred[valid], gt[valid])
    for start in range(0, scored_pred.shape[0], _METRIC_BLOCK):
        p, g = scored_pred[start : start + _METRIC_BLOCK], scored_gt[start : start + _METRIC_BLOCK]
        block = frame_errors(p, g, precision)
        if extra:
            block.update({k: v for k, v in frame_pck_metrics(p, g).items() if k in extra})
        for name, values in block.items():
            out[name].append(values)
    # Velocity pairs (t, t+1), in blocks that overlap by one frame.
    for start in range(0, max(pred.shape[0] - 1, 0), _METRIC_BLOCK):
        stop = min(start + _METRIC_BLOCK, pred.shape[0] - 1)
        dp = torch.from_numpy(pred[start + 1 : stop + 1].astype(np.float64) - pred[start:stop])
        dt = torch.from_numpy(gt[start + 1 : stop + 1].astype(np.float64) - gt[start:stop])
        pairs = mpjpe(dp, dt).numpy() * 1000.0
        out["mpjve_mm"].append(pairs if valid is None else pairs[valid[start:stop] & valid[start + 1 : stop + 1]])
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


class _RunningMeans:
    """Per-group sums and counts of per-frame values, summed one value after another in arrival order."""

    def __init__(self, n_groups: int, extra: tuple[str, ...] = ()) -> None:
        self.names = (*_METRICS, *extra)
        self.sums = {name: np.zeros(n_groups) for name in self.names}
        self.counts = {name: np.zeros(n_groups, dtype=np.int64) for name in self.names}

    def add(self, group: int, errors: dict[str, np.ndarray]) -> None:
        for name, values in errors.items():
            if values.size:
                # add.accumulate is a strictly sequential sum, seeded with the running total.
                seeded = np.concatenate(([self.sums[name][group]], values))
                self.sums[name][group] = np.add.accumulate(seeded)[-1]
                self.counts[name][group] += values.size

    def rows(self) -> list[MetricRow]:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = {name: self.sums[name] / self.counts[name] for name in self.names}
        frames, pairs = self.counts["mpjpe_mm"], self.counts["mpjve_mm"]
        return [
            MetricRow(
                mpjpe_mm=float(means["mpjpe_mm"][g]),
                p_mpjpe_mm=float(means["p_mpjpe_mm"][g]),
                n_mpjpe_mm=float(means["n_mpjpe_mm"][g]),
                mpjve_mm=float(means["mpjve_mm"][g]) if pairs[g] > 0 else None,
                frames=int(frames[g]),
                velocity_frames=int(pairs[g]),
                pck=float(means["pck"][g]) if "pck" in means else None,
                auc=float(means["auc"][g]) if "auc" in means else None,
            )
            for g in range(len(frames))
        ]


def _mean_or_none(rows: list[MetricRow], name: str) -> float | None:
    values = [getattr(r, name) for r in rows]
    return float(np.mean(values)) if values and all(v is not None for v in values) else None


def _mean_of_rows(rows: list[MetricRow], overall: MetricRow) -> MetricRow:
    """The unweighted mean of per-action rows (the papers' Avg), with the overall frame counts."""
    return MetricRow(
        mpjpe_mm=float(np.mean([r.mpjpe_mm for r in rows])),
        p_mpjpe_mm=float(np.mean([r.p_mpjpe_mm for r in rows])),
        n_mpjpe_mm=float(np.mean([r.n_mpjpe_mm for r in rows])),
        mpjve_mm=float(np.mean([r.mpjve_mm for r in rows])) if all(r.mpjve_mm is not None for r in rows) else None,
        frames=overall.frames,
        velocity_frames=overall.velocity_frames,
        pck=_mean_or_none(rows, "pck"),
        auc=_mean_or_none(rows, "auc"),
    )


class RowAccumulator:
    """The record's rows of ``sequences``, fed one sequence's predictions and targets at a time, in order."""

    def __init__(
        self,
        sequences: list[PoseSequence],
        subjects: list[str],
        actions: list[str],
        precision: Precision = "float64",
        extra_metrics: tuple[str, ...] = (),
    ) -> None:
        self.sequences = sequences
        self.precision = precision
        self.extra = _check_extra(tuple(extra_metrics))
        self.subjects = [s for s in subjects if any(q.subject == s for q in sequences)]
        self.actions = [a for a in actions if any(q.action == a for q in sequences)]
        self._a_idx = {a: i for i, a in enumerate(self.actions)}
        self._s_idx = {s: i for i, s in enumerate(self.subjects)}
        self._per_action = _RunningMeans(len(self.actions), self.extra)
        self._per_cell = _RunningMeans(len(self.subjects) * len(self.actions), self.extra)
        self._overall = _RunningMeans(1, self.extra)
        self.added = 0

    def add(self, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Score the next sequence: aligned predictions and targets ``(T, J, 3)`` in metres; ``valid``:
        ``(T,)`` bool, the frames to score (None: all)."""
        seq = self.sequences[self.added]
        errors = sequence_errors(pred, gt, self.precision, valid, self.extra)
        action = self._a_idx[seq.action]
        self._per_action.add(action, errors)
        self._per_cell.add(self._s_idx[seq.subject] * len(self.actions) + action, errors)
        self._overall.add(0, errors)
        self.added += 1

    def result(self) -> Aggregate:
        """The rows of every sequence added so far."""
        action_rows = self._per_action.rows()
        cell_rows = self._per_cell.rows()
        per_cell: dict[str, dict[str, MetricRow]] = {}
        for s, si in self._s_idx.items():
            for a, ai in self._a_idx.items():
                row = cell_rows[si * len(self.actions) + ai]
                if row.frames:
                    per_cell.setdefault(s, {})[a] = row
        overall = self._overall.rows()[0]
        return Aggregate(
            per_action=dict(zip(self.actions, action_rows)),
            per_cell=per_cell,
            average_over_actions=_mean_of_rows(action_rows, overall),
            average_over_frames=overall,
            subjects=self.subjects,
            actions=self.actions,
            frames=overall.frames or 0,
        )
