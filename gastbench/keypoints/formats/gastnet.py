"""GAST-Net's in-the-wild demo JSON (``gen_kpts.py`` of fabro66/GAST-Net-3DPoseEstimation).

Layout, as the demo writes and its own ``load_json`` reads it::

    {"label": str, "label_index": int,
     "data": [{"frame_index": 1, "skeleton": [{"pose": J x [x, y], "score": J x [s], "bbox": [x1, y1, x2, y2]}, ...]},
              ...]}

``frame_index`` counts the video's frames from 1; a frame nobody was detected in is left out of
``data`` (or holds one skeleton with empty ``pose``/``score``/``bbox``), so the clip may run on
after the last listed frame. Joints: COCO-17 (HRNet); the whole-body variant holds COCO-WholeBody's
133 points, whose first 17 are COCO-17's body joints and are the ones kept. The file stores no
image size (the demo reads it from the video): give ``--video`` or ``--width``/``--height``. The
skeletons of a frame carry no identity (the demo's SORT ids are dropped before writing), so people
are linked frame to frame by :mod:`..tracks`.
"""

from __future__ import annotations

from typing import Any

from ...errors import DataError
from ..detections import Detections, DetectionsBuilder

__all__ = ["FORMAT", "matches", "read"]

FORMAT = "gastnet-demo"
_BODY_JOINTS = 17
_WHOLE_BODY_JOINTS = 133


def matches(raw: Any) -> bool:
    """A dict with ``data``: a list of ``{"frame_index", "skeleton"}`` entries."""
    data = raw.get("data") if isinstance(raw, dict) else None
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(f, dict) and {"frame_index", "skeleton"} <= set(f) for f in data)
    )


def read(raw: dict[str, Any], source: str) -> Detections:
    rows = DetectionsBuilder(source, FORMAT)
    whole_body = False
    for entry in raw["data"]:
        index = entry["frame_index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 1:
            raise DataError(f"{source}: frame_index must be an integer from 1 (the video's first frame), got {index!r}")
        for k, person in enumerate(entry["skeleton"] or []):
            if not isinstance(person, dict) or "pose" not in person:
                raise DataError(f"{source}: frame_index {index}, skeleton {k}: expected {{'pose', 'score', 'bbox'}}")
            if not person["pose"]:
                continue  # the demo's placeholder for a frame without people
            pose, score = person["pose"], person.get("score")
            if len(pose) not in (_BODY_JOINTS, _WHOLE_BODY_JOINTS):
                raise DataError(
                    f"{source}: frame_index {index}, skeleton {k}: {len(pose)} points; GAST-Net's demo writes "
                    f"{_BODY_JOINTS} (COCO) or {_WHOLE_BODY_JOINTS} (COCO-WholeBody)"
                )
            if len(pose) == _WHOLE_BODY_JOINTS:
                whole_body = True
                pose, score = pose[:_BODY_JOINTS], None if score is None else score[:_BODY_JOINTS]
            box = person.get("bbox") or None
            rows.add(index - 1, pose, score, box=box, where=f"frame_index {index}, skeleton {k}")
    if whole_body:
        rows.notes.append("COCO-WholeBody file: its first 17 points (the body) are used")
    return rows.build("coco", frames_listed=False)
