"""Your own 2D keypoints: detector files in, a model's layout out (COCO-17 mapping, gap filling)."""

from __future__ import annotations

from .coco import COCO_17_NAMES, coco_to_h36m, coco_to_layout
from .fill import DEFAULT_MIN_SCORE, fill_gaps
from .readers import KeypointClip, known_keypoint_layouts, read_keypoints

__all__ = [
    "COCO_17_NAMES",
    "DEFAULT_MIN_SCORE",
    "KeypointClip",
    "coco_to_h36m",
    "coco_to_layout",
    "fill_gaps",
    "known_keypoint_layouts",
    "read_keypoints",
]
