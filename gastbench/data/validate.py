"""Checks on every array read from a dataset file; errors name file, subject, action and camera."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["where", "check_keypoints", "check_positions", "check_mapping"]


def where(file: str, subject: str | None = None, action: str | None = None, camera: str | None = None) -> str:
    """``"file.npz: subject S9, action 'Walking 1', camera 54138969"`` (only the parts given)."""
    parts = [
        f"subject {subject}" if subject else "",
        f"action {action!r}" if action else "",
        f"camera {camera}" if camera else "",
    ]
    detail = ", ".join(p for p in parts if p)
    return f"{file}: {detail}" if detail else file


def check_mapping(obj: Any, file: str, what: str) -> dict[str, Any]:
    """``obj`` must be a dict (of subjects or actions)."""
    if not isinstance(obj, dict):
        raise DataError(f"{file}: expected {what} to be a dict, found {type(obj).__name__}")
    return obj


def check_positions(
    arr: Any,
    dims: int,
    joints: int,
    file: str,
    subject: str,
    action: str,
    camera: str | None = None,
    *,
    targets: bool = False,
) -> np.ndarray:
    """Validate a ``(T, joints, dims)`` float array with finite values; returns it as float32.

    ``targets``: 3D ground truth, where a frame with every joint at one point is refused too.

    Raises:
        DataError: wrong type/dtype/shape or a NaN/inf, naming file, subject, action and camera.
    """
    loc = where(file, subject, action, camera)
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{loc}: expected a numpy array of {dims}D positions, found {type(arr).__name__}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"{loc}: expected a float array, found dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[1] != joints or arr.shape[2] != dims:
        raise DataError(f"{loc}: expected shape (T, {joints}, {dims}), found {arr.shape}")
    if arr.shape[0] == 0:
        raise DataError(f"{loc}: sequence has no frames")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        count = int((~finite).sum())
        raise DataError(f"{loc}: {count} non-finite value(s) (NaN/inf), first at frame {bad[0]}, joint {bad[1]}")
    if targets:
        spread = np.ptp(arr, axis=1).max(axis=-1)  # per frame: the largest extent of the joints, metres
        collapsed = np.flatnonzero(spread < 1e-6)
        if collapsed.size:
            raise DataError(
                f"{loc}: {collapsed.size} frame(s) with every joint at one point, first at frame {collapsed[0]}: "
                "degenerate 3D targets (Procrustes would align any prediction onto them perfectly); fix the file"
            )
    return np.asarray(arr, dtype=np.float32)


def check_keypoints(
    arr: Any, joints: int, file: str, subject: str, action: str, camera: str | None = None
) -> np.ndarray:
    """2D keypoints ``(T, joints, 2)``, or ``(T, joints, 3)`` with a confidence channel (dropped):
    validated like :func:`check_positions`; returns the float32 ``(T, joints, 2)`` pixel coordinates."""
    channels = arr.shape[-1] if isinstance(arr, np.ndarray) and arr.ndim == 3 and arr.shape[-1] in (2, 3) else 2
    return check_positions(arr, channels, joints, file, subject, action, camera)[..., :2]
