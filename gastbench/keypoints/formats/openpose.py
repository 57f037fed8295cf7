"""OpenPose's ``--write_json`` output: a folder of per-frame files (CMU-Perceptual-Computing-Lab/openpose,
``doc/02_output.md``).

Each frame is ``<video>_<frame number, 12 digits>_keypoints.json``::

    {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...], ...}]}

``pose_keypoints_2d`` holds 25 joints (BODY_25, the default model) or 18 (COCO-18), mapped onto the
model's layout by joint name (:mod:`..joint_sets`); a joint OpenPose did not find is written as
``0, 0, 0`` and is read as missing. Coordinates are taken as pixels (OpenPose's default
``--keypoint_scale 0``). The frame number in each file name places it in the clip (counted from 0,
the video's first frame); every frame has a file, so a missing number is a frame with no one.
``person_id`` is ``[-1]`` unless OpenPose's experimental tracking numbered people; other ids are
used as track ids. OpenPose files store no image size: give ``--video`` or ``--width``/``--height``.
The same files as written by AlphaPose's ``--format open`` (COCO-18 order) read alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ..detections import Detections, DetectionsBuilder

__all__ = ["FORMAT", "matches_frame", "read_folder"]

FORMAT = "openpose"
_SETS = {25: "openpose_body25", 18: "openpose_coco18"}
_NUMBERED = re.compile(r"^(?P<video>.*?)_?(?P<frame>\d+)(_keypoints)?$")


def matches_frame(raw: Any) -> bool:
    """One frame file: a dict with ``people``, each a dict holding ``pose_keypoints_2d``."""
    people = raw.get("people") if isinstance(raw, dict) else None
    return isinstance(people, list) and all(isinstance(p, dict) and "pose_keypoints_2d" in p for p in people)


def _frame_files(folder: Path) -> list[tuple[int, Path]]:
    numbered, videos = [], set()
    for path in sorted(folder.glob("*.json")):
        found = _NUMBERED.match(path.stem)
        if found is None:
            raise DataError(
                f"{folder}: {path.name} has no frame number; OpenPose names frames <video>_<number>_keypoints.json"
            )
        videos.add(found["video"])
        numbered.append((int(found["frame"]), path))
    if not numbered:
        raise DataError(f"{folder}: no *.json frame files (OpenPose --write_json output) in this folder")
    if len(videos) > 1:
        raise DataError(
            f"{folder}: frame files of {len(videos)} videos ({sorted(videos)[:4]}); keep one video per folder"
        )
    return numbered


def _track_id(person: dict[str, Any]) -> int | None:
    value = person.get("person_id", -1)
    value = value[0] if isinstance(value, list) and value else value
    return int(value) if isinstance(value, (int, float)) and value >= 0 else None


def read_folder(folder: Path) -> Detections:
    source = str(folder)
    rows = DetectionsBuilder(source, FORMAT)
    counts: set[int] = set()
    files = _frame_files(folder)
    for number, path in files:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a readable JSON file: {exc}") from None
        if not matches_frame(raw):
            raise DataError(f"{path}: expected OpenPose's {{'people': [{{'pose_keypoints_2d': [...]}}]}}")
        for k, person in enumerate(raw["people"]):
            flat = np.asarray(person["pose_keypoints_2d"], dtype=np.float64).reshape(-1)
            if flat.size % 3 or flat.size // 3 not in _SETS:
                raise DataError(
                    f"{path}: person {k}: {flat.size} numbers; expected 25 x 3 (BODY_25) or 18 x 3 (COCO-18)"
                )
            points = flat.reshape(-1, 3)
            absent = np.all(points == 0.0, axis=1)  # OpenPose writes an undetected joint as 0, 0, 0
            points[absent, :2] = np.nan
            counts.add(points.shape[0])
            rows.add(number, points, track_id=_track_id(person), where=f"{path.name}, person {k}")
    if len(counts) > 1:
        raise DataError(f"{folder}: frames mix BODY_25 and COCO-18 files; keep one OpenPose model per folder")
    first = min(n for n, _ in files)
    if first != 0:
        rows.notes.append(f"frame files start at number {first}; frames before it are counted as empty")
    joint_set = _SETS[counts.pop()] if counts else "openpose_body25"
    return rows.build(joint_set, frames=max(n for n, _ in files) + 1)
