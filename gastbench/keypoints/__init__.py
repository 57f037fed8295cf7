"""Your own 2D keypoints: detector files in (every person, tracked), a model's layout out, gaps filled."""

from __future__ import annotations

from .coco import COCO_17_NAMES, coco_to_h36m, coco_to_layout
from .detections import Detections
from .fill import DEFAULT_MIN_SCORE, fill_gaps
from .formats import FORMATS, read_detections
from .joint_sets import JOINT_SETS, to_layout
from .readers import KeypointClip, People, known_keypoint_layouts, read_keypoints, read_people
from .tracks import LinkRule, link_detections

__all__ = [
    "COCO_17_NAMES",
    "DEFAULT_MIN_SCORE",
    "FORMATS",
    "JOINT_SETS",
    "Detections",
    "KeypointClip",
    "LinkRule",
    "People",
    "coco_to_h36m",
    "coco_to_layout",
    "fill_gaps",
    "known_keypoint_layouts",
    "link_detections",
    "read_detections",
    "read_keypoints",
    "read_people",
    "to_layout",
]
