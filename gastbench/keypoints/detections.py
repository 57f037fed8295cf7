"""Everyone a keypoint file holds: one row per detected person per frame, in pixels.

Readers fill a :class:`DetectionsBuilder` person by person; :meth:`DetectionsBuilder.build`
checks the rows agree (joint count, frame numbers) and stacks them into flat arrays, which the
tracker (:mod:`.tracks`) turns into people over time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError, ShapeError

__all__ = ["Detections", "DetectionsBuilder", "boxes_from_keypoints", "MAX_CLIP_FRAMES", "MAX_IMAGE_SIDE"]

#: The longest clip a keypoint file may span: 9 hours at 30 fps. Every person's track is an array
#: over the whole clip, so a frame number past this (an image id that is not a frame number, a
#: corrupt file) would ask for gigabytes before a single pose is lifted.
MAX_CLIP_FRAMES = 1_000_000
#: The farthest a keypoint may sit from the image origin, in pixels: far past any camera's frame,
#: and far below where float32 arithmetic (the lifters' input normalisation) overflows.
MAX_PIXEL_OFFSET = 1e6
#: The widest image side accepted (given or stored): the same bound, as a whole number of pixels.
MAX_IMAGE_SIDE = 1_000_000


@dataclass(frozen=True)
class Detections:
    """Every person of every frame: ``N`` rows over a clip of ``frames`` frames.

    ``frame`` numbers rows from 0, the clip's first frame (the video's first, where the format
    says which that is). ``track_id`` holds the file's own identities, or None when the file has
    none (or they do not identify people: repeated within a frame). ``frames_listed`` is False
    for formats that leave out frames nobody was detected in (the clip may then run on after
    the last listed frame).
    """

    source: str
    format: str
    joint_set: str
    frames: int
    frame: np.ndarray  # (N,) int64
    keypoints: np.ndarray  # (N, J, 2) float64 pixels, NaN where missing
    scores: np.ndarray | None  # (N, J) float64
    boxes: np.ndarray  # (N, 4) float64 x1, y1, x2, y2 pixels (from the keypoints when the file has none)
    person_scores: np.ndarray  # (N,) float64
    track_id: np.ndarray | None  # (N,) int64
    width: int | None = None
    height: int | None = None
    frames_listed: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def joints(self) -> int:
        return int(self.keypoints.shape[1])


def boxes_from_keypoints(keypoints: np.ndarray, scores: np.ndarray | None, min_score: float = 0.0) -> np.ndarray:
    """``(N, 4)`` boxes around each row's usable keypoints (finite and scored above ``min_score``); NaN if none."""
    kp = np.asarray(keypoints, dtype=np.float64)
    usable = np.all(np.isfinite(kp), axis=-1)
    if scores is not None:
        usable &= np.nan_to_num(scores, nan=-np.inf) > min_score
    masked = np.where(usable[..., None], kp, np.nan)
    out = np.full((kp.shape[0], 4), np.nan)
    has = usable.any(axis=1)
    if has.any():
        out[has, :2] = np.nanmin(masked[has], axis=1)
        out[has, 2:] = np.nanmax(masked[has], axis=1)
    return out


class DetectionsBuilder:
    """Rows added one person at a time by a reader; :meth:`build` makes the :class:`Detections`."""

    def __init__(self, source: str, format: str) -> None:
        self.source, self.format = source, format
        self._rows: list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None, float, int | None]] = []
        self.notes: list[str] = []
        self._empty_rows = 0

    def add(
        self,
        frame: int,
        keypoints: Any,
        scores: Any = None,
        *,
        box: Any = None,
        score: float | None = None,
        track_id: int | None = None,
        where: str = "",
    ) -> None:
        """One person: ``(J, 2|3)`` keypoints (a third column is the score), ``box`` as x1, y1, x2, y2."""
        at = f"{self.source}: {where or f'frame {frame}'}"
        number = _frame_number(frame, at)
        try:
            kp = np.asarray(keypoints, dtype=np.float64)
            sc = None if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
            bx = None if box is None else np.asarray(box, dtype=np.float64).reshape(-1)
            person_score = None if score is None else float(score)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"{at}: keypoints, scores, box and score must be numbers ({exc})") from None
        if kp.ndim != 2 or kp.shape[1] not in (2, 3) or kp.shape[0] < 1:
            raise ShapeError(f"{at}: keypoints must be (J, 2) or (J, 3), got {tuple(kp.shape)}")
        if kp.shape[1] == 3:
            kp, sc = kp[:, :2], kp[:, 2] if sc is None else sc
        finite = kp[np.isfinite(kp)]
        if finite.size == 0:  # a detector's empty slot: nothing to place or link
            self._empty_rows += 1
            return
        if np.abs(finite).max() > MAX_PIXEL_OFFSET:
            raise DataError(
                f"{at}: a keypoint at {np.abs(finite).max():.3g} px from the image origin (at most "
                f"{MAX_PIXEL_OFFSET:.0e}); keypoints are pixel positions in the video's frame"
            )
        if sc is not None and sc.shape != (kp.shape[0],):
            raise ShapeError(f"{at}: {kp.shape[0]} keypoints but {sc.shape[0]} scores")
        if bx is not None and bx.shape != (4,):
            raise ShapeError(f"{at}: a box is 4 numbers, got {bx.shape[0]}")
        if person_score is not None:
            person = person_score
        else:  # no person score: the mean of its keypoints' scores (0 when none is finite)
            finite = sc[np.isfinite(sc)] if sc is not None else np.ones(1)
            person = float(finite.mean()) if finite.size else 0.0
        if track_id is not None and not -(2**63) <= track_id < 2**63:
            raise DataError(f"{at}: person id {track_id!s:.40} is outside the 64-bit integers")
        self._rows.append((number, kp, sc, bx, person, track_id))

    def build(
        self,
        joint_set: str,
        *,
        frames: int | None = None,
        width: int | None = None,
        height: int | None = None,
        frames_listed: bool = True,
    ) -> Detections:
        """Stack the rows; ``frames`` defaults to one past the last frame with a row."""
        if self._empty_rows:
            self.notes.append(f"{self._empty_rows} detection(s) without a single finite keypoint left out")
        if not self._rows:
            empty = f" ({self._empty_rows} without a single finite keypoint)" if self._empty_rows else ""
            raise DataError(f"{self.source}: no person detected in any frame{empty}; nothing to lift")
        counts = sorted({row[1].shape[0] for row in self._rows})
        if len(counts) > 1:
            raise ShapeError(f"{self.source}: people disagree on the joint count: {counts}")
        frame = np.array([row[0] for row in self._rows], dtype=np.int64)
        if frame.min() < 0:
            raise DataError(f"{self.source}: frame number {int(frame.min())} is before the clip's first frame")
        total = int(frame.max()) + 1 if frames is None else frames
        if total > MAX_CLIP_FRAMES:
            raise DataError(
                f"{self.source}: the clip would span {total} frames, more than {MAX_CLIP_FRAMES} (9 hours at 30 fps); "
                "its frame numbers are not a video's frame indices: renumber them from 0"
            )
        if frame.max() >= total:
            raise DataError(f"{self.source}: a person in frame {int(frame.max())}, but the clip has {total} frames")
        order = np.argsort(frame, kind="stable")
        rows = [self._rows[i] for i in order]
        kp = np.stack([r[1] for r in rows])
        has_scores = all(r[2] is not None for r in rows)
        sc = np.stack([r[2] for r in rows]) if has_scores else None
        boxes = boxes_from_keypoints(kp, sc)
        for i, r in enumerate(rows):
            if r[3] is not None:
                boxes[i] = r[3]
        ids = [r[5] for r in rows]
        track_id = np.array(ids, dtype=np.int64) if all(i is not None for i in ids) else None
        if track_id is not None and _repeated_in_a_frame(frame[order], track_id):
            self.notes.append(
                "the file's person ids repeat within a frame, so they are not track ids; people linked by the rule"
            )
            track_id = None
        return Detections(
            source=self.source, format=self.format, joint_set=joint_set, frames=total, frame=frame[order], keypoints=kp,
            scores=sc, boxes=boxes, person_scores=np.array([r[4] for r in rows]), track_id=track_id, width=width,
            height=height, frames_listed=frames_listed, notes=tuple(self.notes),
        )  # fmt: skip


def _frame_number(value: Any, at: str) -> int:
    """A row's frame number as an int, refused when it is not a whole number inside the longest clip."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DataError(f"{at}: the frame number must be an integer, got {value!r:.40}")
    if not 0 <= value < MAX_CLIP_FRAMES:
        raise DataError(
            f"{at}: frame number {value!s:.40} is outside 0..{MAX_CLIP_FRAMES - 1} (a clip of at most 9 hours at "
            "30 fps, counted from its first frame)"
        )
    return int(value)


def _repeated_in_a_frame(frame: np.ndarray, ids: np.ndarray) -> bool:
    pairs = np.stack([frame, ids], axis=1)
    return len(np.unique(pairs, axis=0)) != len(pairs)
