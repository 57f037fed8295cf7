"""Datasets: readers per dataset, cameras, the restricted npz loader and a synthetic dataset.

``load_dataset(name, input, data_dir)`` is the one door in; it returns a :class:`PoseDataset`
whose :class:`PoseSequence` records hold screen-normalized 2D keypoints and root-relative 3D
positions in camera coordinates (metres).
"""

from __future__ import annotations

from .actions import fold_action
from .cameras import Camera, CameraSet, load_cameras
from .loader import load_dataset
from .paths import resolve_data_dir
from .types import PoseDataset, PoseSequence

__all__ = [
    "Camera",
    "CameraSet",
    "PoseDataset",
    "PoseSequence",
    "fold_action",
    "load_cameras",
    "load_dataset",
    "resolve_data_dir",
]
