"""MMPose's saved predictions (``demo/topdown_demo_with_mmdet.py --save-predictions``, the inferencer's
``pred_out_dir``), open-mmlab/mmpose.

Layout: ``{"meta_info": dataset_meta, "instance_info": [{"frame_id", "instances": [...]}, ...]}``, or the
``instance_info`` list alone; each instance ``{"keypoints": J x [x, y], "keypoint_scores": J x s,
"bbox": [x1, y1, x2, y2], "bbox_score": s}`` and, from MMPose's pose trackers, ``"track_id"``.
Every video frame is listed, in order (the demo counts ``frame_id`` from 1); the first listed frame
is the video's first. Joints: the dataset the model was trained on, named in ``meta_info``
(``dataset_name``, ``keypoint_id2name``) or, without it, told by the joint count: COCO-17 (17),
COCO-WholeBody (133: its first 17 are the body), Halpe-26 (26), MPII-16 (16). MMPose stores no
image size: give ``--video`` or ``--width``/``--height``.
"""

from __future__ import annotations

from typing import Any

from ...errors import DataError
from ..detections import Detections, DetectionsBuilder
from ..joint_sets import JOINT_SETS

__all__ = ["FORMAT", "matches", "read"]

FORMAT = "mmpose"
_BY_COUNT = {17: "coco", 133: "coco", 26: "halpe26", 16: "mpii"}
#: MMPose's joint names where they differ from gastbench's vocabulary.
_ALIASES = {"mpii": {"thorax": "mpii_thorax"}, "halpe26": {"head": "head_top", "hip": "mid_hip"}}


def _frames(raw: Any) -> Any:
    return raw.get("instance_info") if isinstance(raw, dict) else raw


def matches(raw: Any) -> bool:
    frames = _frames(raw)
    return isinstance(frames, list) and bool(frames) and all(isinstance(f, dict) and "instances" in f for f in frames)


def _joint_set(meta: Any, count: int, source: str) -> str:
    name = _BY_COUNT.get(count)
    if name is None:
        raise DataError(f"{source}: {count} keypoints per person; known MMPose sets have 17, 133, 26 or 16")
    names = meta.get("keypoint_id2name") if isinstance(meta, dict) else None
    if isinstance(names, dict) and names:
        try:
            listed = [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise DataError(f"{source}: meta_info keypoint_id2name must map joint numbers to names") from None
        aliases = _ALIASES.get(name, {})
        expected = JOINT_SETS[name]
        got = tuple(aliases.get(n, n) for n in listed[: len(expected)])
        if got != expected:
            raise DataError(
                f"{source}: meta_info names joints {listed[:6]}..., not the {name} order {list(expected[:6])}...; "
                "convert the file to a known order or pass the keypoints as arrays with --layout"
            )
    return name


def read(raw: Any, source: str) -> Detections:
    frames = _frames(raw)
    rows = DetectionsBuilder(source, FORMAT)
    ids = [f.get("frame_id", i) for i, f in enumerate(frames)]
    if (
        not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        or sorted(ids) != ids
        or len(set(ids)) != len(ids)
    ):
        raise DataError(f"{source}: frame_id must be increasing integers, one entry per video frame")
    first = ids[0]
    count = None
    for frame_id, frame in zip(ids, frames):
        for k, person in enumerate(frame["instances"] or []):
            if not isinstance(person, dict) or "keypoints" not in person:
                raise DataError(
                    f"{source}: frame_id {frame_id}, instance {k}: expected 'keypoints' and 'keypoint_scores'"
                )
            keypoints, scores = person["keypoints"], person.get("keypoint_scores")
            count = count or len(keypoints)
            if len(keypoints) == 133:
                keypoints, scores = keypoints[:17], None if scores is None else scores[:17]
            track = person.get("track_id")
            rows.add(
                frame_id - first, keypoints, scores, box=person.get("bbox"), score=person.get("bbox_score"),
                track_id=int(track) if isinstance(track, (int, float)) else None, where=f"frame_id {frame_id}, instance {k}",
            )  # fmt: skip
    if count is None:
        raise DataError(f"{source}: no person detected in any of its {len(frames)} frames; nothing to lift")
    joint_set = _joint_set(raw.get("meta_info") if isinstance(raw, dict) else None, count, source)
    return rows.build(joint_set, frames=ids[-1] - first + 1)
