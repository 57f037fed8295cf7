"""Plain arrays of one person: ``.npy``, ``.npz`` and JSON, gastbench's own layout.

* ``.npy``: the ``(T, J, 2|3)`` array alone (a third column is the score);
* ``.npz``: ``keypoints`` ``(T, J, 2|3)``, optional ``scores`` ``(T, J)``, ``width``, ``height`` and
  ``layout`` (a joint set or registered layout name, :mod:`..joint_sets`);
* ``.json``: ``{"keypoints": [[[x, y(, s)], ...], ...], "scores"?, "width"?, "height"?, "layout"?}``.

Without a ``layout`` the joints are COCO-17 (``--layout`` overrides). Read with ``allow_pickle=False``:
an ``.npz`` holding objects other than VideoPose3D's custom layout is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DataError, ShapeError
from ..detections import Detections, DetectionsBuilder

__all__ = ["FORMAT", "matches_json", "read_arrays"]

FORMAT = "arrays"
DEFAULT_SET = "coco"


def matches_json(raw: Any) -> bool:
    return isinstance(raw, dict) and "keypoints" in raw and "instance_info" not in raw


def _text(value: Any) -> str | None:
    if value is None:
        return None
    arr = np.asarray(value)
    return str(arr.item()) if arr.dtype.kind in "US" and arr.size == 1 else None


def _pixels(value: Any, key: str, source: str) -> int | None:
    if value is None:
        return None
    try:
        size = int(np.asarray(value).item())
    except (TypeError, ValueError):
        size = 0
    if size <= 0:
        raise DataError(f"{source}: {key!r} must be a positive integer number of pixels, got {value!r}")
    return size


def read_arrays(members: dict[str, Any], source: str, what: str = "keypoints") -> Detections:
    """A dict of the members above (from any of the three files) as one person, track 0."""
    try:
        kp = np.asarray(members["keypoints"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: {what!r} must be numbers ({exc})") from None
    if kp.ndim != 3 or kp.shape[-1] not in (2, 3) or kp.shape[0] < 1:
        raise ShapeError(f"{source}: {what!r} must be (T>=1, J, 2) or (T, J, 3) with scores, got {tuple(kp.shape)}")
    scores = kp[..., 2] if kp.shape[-1] == 3 else None
    if members.get("scores") is not None:
        scores = np.asarray(members["scores"], dtype=np.float64)
        if scores.shape != kp.shape[:2]:
            raise ShapeError(f"{source}: 'scores' must be (T, J) = {kp.shape[:2]}, got {tuple(scores.shape)}")
    rows = DetectionsBuilder(source, FORMAT)
    for t in range(kp.shape[0]):
        rows.add(t, kp[t, :, :2], None if scores is None else scores[t], track_id=0)
    width = _pixels(members.get("width", members.get("image_width")), "width", source)
    height = _pixels(members.get("height", members.get("image_height")), "height", source)
    layout = _text(members.get("layout")) or DEFAULT_SET
    return rows.build(layout, frames=kp.shape[0], width=width, height=height)
