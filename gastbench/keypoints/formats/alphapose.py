"""AlphaPose's results file, ``alphapose-results.json`` (MVIG-SJTU/AlphaPose, ``docs/output.md`` and
``alphapose/utils/pPose_nms.py``'s ``write_json``).

COCO's results layout, one entry per person: ``{"image_id": "<frame>.jpg", "category_id": 1,
"keypoints": [x1, y1, c1, ...], "score": s, "box": [x, y, w, h], "idx": track id}``. ``image_id`` is the
frame's image name (a video's frames are named ``0.jpg``, ``1.jpg``, ... from 0), or an integer with
``--eval``; the number in it places the frame in the clip. Frames nobody was found in are absent.
Joints: COCO-17 (17 points) or Halpe-26 (26; 136-point Halpe files begin with these 26, which are
kept), mapped by name (:mod:`..joint_sets`). ``idx`` is the person's track id from AlphaPose's
trackers (``--pose_track``, ``--pose_flow``); without tracking it is not an identity (the same for
everyone in a frame) and people are linked by :mod:`..tracks` instead. No image size is stored:
give ``--video`` or ``--width``/``--height``.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import DataError
from ..detections import Detections, DetectionsBuilder
from .coco_results import flat_points, xywh_to_corners

__all__ = ["FORMAT", "matches", "read"]

FORMAT = "alphapose"
_SETS = {17: "coco", 26: "halpe26", 136: "halpe26"}
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def matches(raw: Any) -> bool:
    """COCO results with AlphaPose's marks: a ``box`` or ``idx``, image names, or Halpe's 26/136 points."""
    if not (
        isinstance(raw, list) and raw and all(isinstance(f, dict) and {"image_id", "keypoints"} <= set(f) for f in raw)
    ):
        return False
    first = raw[0]
    return (
        "idx" in first or "box" in first or isinstance(first["image_id"], str) or len(first["keypoints"]) in (78, 408)
    )


def _frame_number(image_id: Any, source: str) -> int:
    if isinstance(image_id, int) and not isinstance(image_id, bool):
        return image_id
    found = _NUMBER.search(str(image_id))
    if found is None:
        raise DataError(
            f"{source}: image_id {image_id!r} holds no frame number (AlphaPose names video frames 0.jpg, 1.jpg, ...)"
        )
    return int(found.group(1))


def _track_id(value: Any) -> int | None:
    value = value[0] if isinstance(value, list) and value else value
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read(raw: list[dict[str, Any]], source: str) -> Detections:
    rows = DetectionsBuilder(source, FORMAT)
    counts = set()
    for item in raw:
        where = f"image_id {item['image_id']!r}"
        points = flat_points(item, source, where)
        if points.shape[0] not in _SETS:
            raise DataError(
                f"{source}: {where}: {points.shape[0]} keypoints; AlphaPose writes 17 (COCO), 26 or 136 (Halpe)"
            )
        counts.add(points.shape[0])
        body = points[:26] if points.shape[0] == 136 else points
        rows.add(
            _frame_number(item["image_id"], source), body, box=xywh_to_corners(item.get("box")), score=item.get("score"),
            track_id=_track_id(item.get("idx")), where=where,
        )  # fmt: skip
    if len(counts) > 1:
        raise DataError(f"{source}: people with different joint counts {sorted(counts)}; one AlphaPose model per file")
    return rows.build(_SETS[counts.pop()], frames_listed=False)
