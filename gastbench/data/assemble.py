"""Turn world-space 3D joints plus one camera into a :class:`PoseSequence` (shared by every reader)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from .cameras import Camera
from .types import PoseSequence

__all__ = [
    "readonly", "make_sequence", "trim_note", "TRIM_TOLERANCE_FRAMES", "TRIM_TOLERANCE_FRACTION", "check_trim",
    "check_view_trims",
]  # fmt: skip

#: 2D and 3D files of one sequence may differ by a few frames (detections run past the mocap, or
#: stop short); both are then cut to the shorter, as VideoPose3D does, and the record notes it.
#: A difference above the larger of these (frames, or fraction of the longer side) means the
#: files do not belong together: an error unless the caller allows the trim (``--allow-trim``).
TRIM_TOLERANCE_FRAMES = 5
TRIM_TOLERANCE_FRACTION = 0.01


def readonly(arr: np.ndarray) -> np.ndarray:
    """float32 C-contiguous copy that cannot be written to (sequences share cached arrays)."""
    out = np.ascontiguousarray(arr, dtype=np.float32)
    if out is arr or out.base is not None:
        out = out.copy()
    out.setflags(write=False)
    return out


def make_sequence(
    subject: str,
    action: str,
    name: str,
    camera: Camera,
    world_m: np.ndarray,
    keypoints_2d: np.ndarray | None,
    root: int = 0,
) -> PoseSequence:
    """Build one camera view.

    Args:
        world_m: ``(T, J, 3)`` joints in world coordinates, metres.
        keypoints_2d: ``(T, J_in, 2)`` screen-normalized keypoints; None projects ``world_m``
            through ``camera`` (with distortion), which is how ground-truth 2D is made.
        root: index of the root joint.
    """
    cam = camera.world_to_camera(world_m)  # float64 (T, J, 3)
    if keypoints_2d is None:
        keypoints_2d = camera.project(cam, normalized=True)
    trajectory = cam[:, root].copy()
    relative = cam - cam[:, root : root + 1]
    return PoseSequence(
        subject=subject,
        action=action,
        name=name,
        camera=camera.id,
        keypoints_2d=readonly(keypoints_2d),
        positions_3d=readonly(relative),
        trajectory=readonly(trajectory),
    )


def trim_note(subject: str, name: str, camera: str, frames_2d: int, frames_3d: int) -> str:
    """Human-readable record of a frame-count mismatch resolved by trimming to the shorter."""
    return (
        f"{subject}/{name}/{camera}: 2D has {frames_2d} frames, 3D has {frames_3d}; "
        f"both trimmed to {min(frames_2d, frames_3d)}"
    )


def check_trim(
    file_2d: str, subject: str, name: str, camera: str, frames_2d: int, frames_3d: int, allow_trim: bool
) -> tuple[str | None, bool]:
    """``(note, beyond_tolerance)`` for one camera view; DataError for a large trim not allowed.

    The note is None when the frame counts agree.
    """
    if frames_2d == frames_3d:
        return None, False
    note = trim_note(subject, name, camera, frames_2d, frames_3d)
    dropped = abs(frames_2d - frames_3d)
    tolerance = max(TRIM_TOLERANCE_FRAMES, TRIM_TOLERANCE_FRACTION * max(frames_2d, frames_3d))
    if dropped <= tolerance:
        return note, False
    if not allow_trim:
        raise DataError(
            f"{file_2d}: {note}, {dropped} frames more than the tolerated {TRIM_TOLERANCE_FRAMES} frames / "
            f"{TRIM_TOLERANCE_FRACTION:.0%}: the 2D and 3D files do not match; pass --allow-trim to evaluate "
            "the shorter length anyway (the result is then marked partial)"
        )
    return note, True


def check_view_trims(
    file_2d: str,
    subject: str,
    name: str,
    cameras: Sequence[str],
    frames_2d: Sequence[int],
    frames_3d: int,
    allow_trim: bool,
) -> tuple[list[str], list[str]]:
    """``(notes, beyond)`` of one action's camera views: a trim note per view that differs, and the
    notes of trims beyond the tolerance (allowed only with ``allow_trim``; they make a result partial)."""
    notes: list[str] = []
    beyond: list[str] = []
    for camera, frames in zip(cameras, frames_2d):
        note, too_far = check_trim(file_2d, subject, name, camera, frames, frames_3d, allow_trim)
        if note is not None:
            notes.append(note)
        if too_far:
            beyond.append(f"{note} (beyond the trim tolerance)")
    return notes, beyond
