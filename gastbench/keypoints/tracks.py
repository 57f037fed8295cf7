"""People over time: a file's own track ids, or detections linked frame to frame.

When the file numbers its people (OpenPose ``person_id``, AlphaPose ``idx``, MMPose ``track_id``,
one person per video in VideoPose3D's files), those numbers are the tracks. Otherwise detections are
linked by this rule (:class:`LinkRule`), frame by frame in order:

1. every track last seen at most ``max_gap + 1`` frames ago is a candidate (a person may be missed
   in up to ``max_gap`` frames in a row and keep their track; after that the track is closed);
2. a track and a detection are scored by ``similarity = (IoU + keypoint similarity) / 2``: the IoU of
   the track's last box and the detection's box (the file's box, else the box around the
   confident keypoints), and the mean over joints confident in both of
   ``exp(-d^2 / (2 (0.1 * box diagonal)^2))`` (COCO's OKS with one constant), ``d`` the distance of a
   joint between the two;
3. pairs are taken greedily, most similar first, each track and detection at most once, as long as
   the similarity is at least ``min_similarity``; every detection left over starts a new track.

Track ids count from 0 in order of first appearance. The rule depends only on the file, so the
same file always gives the same tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .detections import Detections

__all__ = ["LinkRule", "Track", "link_detections", "tracks_of"]

#: COCO's OKS falloff as one constant: a joint this fraction of the box diagonal away scores exp(-1/2).
KEYPOINT_FALLOFF = 0.1


@dataclass(frozen=True)
class LinkRule:
    """How detections without track ids are linked (see the module doc)."""

    max_gap: int = 10
    min_similarity: float = 0.3
    min_score: float = 0.3  # keypoints scored below this are left out of the keypoint similarity

    def __post_init__(self) -> None:
        if self.max_gap < 0 or not 0.0 < self.min_similarity <= 1.0:
            raise ConfigError(
                f"link rule: max_gap must be >= 0 and min_similarity in (0, 1], got {self.max_gap}, {self.min_similarity}"
            )


@dataclass(frozen=True)
class Track:
    """One person: the rows of a :class:`Detections` that are theirs, one per frame, in frame order."""

    track_id: int
    rows: np.ndarray  # (n,) indices into the detections
    frames: np.ndarray  # (n,) the frames of those rows, increasing

    @property
    def first(self) -> int:
        return int(self.frames[0])

    @property
    def last(self) -> int:
        return int(self.frames[-1])

    @property
    def span(self) -> int:
        """Frames from the first to the last appearance (gaps included)."""
        return self.last - self.first + 1


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a (n, 4)`` with every box in ``b (m, 4)``; 0 where a box is unknown."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.nan_to_num(np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0))


def _keypoint_similarity(
    a: np.ndarray, a_ok: np.ndarray, boxes_a: np.ndarray, b: np.ndarray, b_ok: np.ndarray
) -> np.ndarray:
    """Mean OKS-like similarity of every pose in ``a (n, J, 2)`` with every pose in ``b (m, J, 2)``."""
    diag = np.nan_to_num(np.linalg.norm(boxes_a[:, 2:] - boxes_a[:, :2], axis=-1), nan=0.0)
    scale = np.maximum(KEYPOINT_FALLOFF * diag, 1.0)[:, None, None]
    d2 = np.sum((a[:, None] - b[None, :]) ** 2, axis=-1)  # (n, m, J)
    both = a_ok[:, None] & b_ok[None, :]
    sim = np.where(both, np.exp(-np.nan_to_num(d2, nan=np.inf) / (2 * scale**2)), 0.0)
    count = both.sum(axis=-1)
    return np.where(count > 0, sim.sum(axis=-1) / np.maximum(count, 1), 0.0)


def link_detections(detections: Detections, rule: LinkRule = LinkRule()) -> np.ndarray:
    """``(N,)`` track ids for the rows of ``detections``, by the module doc's rule."""
    kp = detections.keypoints
    ok = np.all(np.isfinite(kp), axis=-1)
    if detections.scores is not None:
        ok &= np.nan_to_num(detections.scores, nan=-np.inf) >= rule.min_score
    ids = np.full(len(detections.frame), -1, dtype=np.int64)
    last_row: list[int] = []  # per track: its latest row
    starts = np.searchsorted(detections.frame, np.arange(detections.frames + 1))
    for t in range(detections.frames):
        rows = np.arange(starts[t], starts[t + 1])
        if rows.size == 0:
            continue
        alive = [k for k, r in enumerate(last_row) if t - detections.frame[r] <= rule.max_gap + 1]
        taken_rows: set[int] = set()
        if alive:
            prev = np.array([last_row[k] for k in alive])
            sim = 0.5 * (
                _iou(detections.boxes[prev], detections.boxes[rows])
                + _keypoint_similarity(kp[prev], ok[prev], detections.boxes[prev], kp[rows], ok[rows])
            )
            taken_tracks: set[int] = set()
            for flat in np.argsort(-sim, axis=None, kind="stable"):
                i, j = divmod(int(flat), rows.size)
                if sim[i, j] < rule.min_similarity:
                    break
                if i in taken_tracks or j in taken_rows:
                    continue
                taken_tracks.add(i)
                taken_rows.add(j)
                ids[rows[j]] = alive[i]
                last_row[alive[i]] = int(rows[j])
        for j, row in enumerate(rows):
            if j not in taken_rows:
                ids[row] = len(last_row)
                last_row.append(int(row))
    return ids


def tracks_of(detections: Detections, rule: LinkRule = LinkRule()) -> tuple[list[Track], str]:
    """The people of ``detections`` (ordered by id) and how they were told apart (for the record)."""
    if detections.track_id is not None:
        ids, how = detections.track_id, f"track ids from the file ({detections.format})"
    else:
        ids = link_detections(detections, rule)
        how = (
            f"linked frame to frame: (box IoU + keypoint similarity) / 2 >= {rule.min_similarity}, "
            f"gaps up to {rule.max_gap} frames"
        )
    tracks = []
    for track_id in np.unique(ids):
        rows = np.flatnonzero(ids == track_id)
        frames = detections.frame[rows]
        if np.any(np.diff(frames) == 0):  # a file's ids that repeat within a frame were refused earlier
            raise ConfigError(f"{detections.source}: track {int(track_id)} holds two people in one frame")
        tracks.append(Track(int(track_id), rows, frames))
    return tracks, how
