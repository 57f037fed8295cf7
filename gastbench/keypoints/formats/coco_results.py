"""COCO's keypoint results format (Detectron2's ``coco_instances_results.json``, the COCO keypoints
challenge): a list of ``{"image_id": int, "category_id": 1, "keypoints": [x1, y1, s1, ...] x J, "score": s}``,
one entry per detected person, ``bbox`` ``[x, y, w, h]`` optional.

Frames are numbered by ``image_id``, the smallest being the clip's first frame; images nobody was
detected in are absent, so the clip may run on after the last listed image. Joints: COCO-17 (the
only order of this format). No image size is stored: give ``--video`` or ``--width``/``--height``.
AlphaPose writes the same layout with extras (string image names, ``idx``, ``box``): :mod:`.alphapose`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DataError, ShapeError
from ..detections import Detections, DetectionsBuilder

__all__ = ["FORMAT", "matches", "read", "xywh_to_corners"]

FORMAT = "coco-results"


def matches(raw: Any) -> bool:
    return (
        isinstance(raw, list)
        and bool(raw)
        and all(isinstance(f, dict) and {"image_id", "keypoints"} <= set(f) for f in raw)
    )


def xywh_to_corners(box: Any) -> np.ndarray | None:
    """A COCO ``[x, y, width, height]`` box as ``[x1, y1, x2, y2]`` (None when absent)."""
    if box is None or len(box) != 4:
        return None
    x, y, w, h = (float(v) for v in box)
    return np.array([x, y, x + w, y + h])


def flat_points(item: dict[str, Any], source: str, where: str) -> np.ndarray:
    """``[x, y, s] * J`` as ``(J, 3)``."""
    flat = np.asarray(item["keypoints"], dtype=np.float64).reshape(-1)
    if flat.size == 0 or flat.size % 3:
        raise ShapeError(f"{source}: {where}: 'keypoints' must be [x, y, score] * J, got {flat.size} numbers")
    return flat.reshape(-1, 3)


def read(raw: list[dict[str, Any]], source: str) -> Detections:
    ids = [item["image_id"] for item in raw]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DataError(
            f"{source}: image_id must be an integer (a frame number); AlphaPose's file names are read by its own reader"
        )
    first = min(ids)
    rows = DetectionsBuilder(source, FORMAT)
    for item in raw:
        where = f"image_id {item['image_id']}"
        points = flat_points(item, source, where)
        if points.shape[0] != 17:
            raise DataError(f"{source}: {where}: {points.shape[0]} keypoints; COCO results hold COCO-17's 17")
        rows.add(
            item["image_id"] - first,
            points,
            box=xywh_to_corners(item.get("bbox")),
            score=item.get("score"),
            where=where,
        )
    return rows.build("coco", frames_listed=False)
