"""MotionBERT's 2.5D output brought to metres: the per-frame 2.5D factor.

MotionBERT (DSTformer) predicts root-relative 3D in the 2D input's image units: x and y as
screen-normalised coordinates (one unit is half the image width in pixels) and depth in the same
unit. Its authors' evaluation (``train.py`` ``evaluate``) brings a prediction to millimetres per
frame: ``datareader.denormalize`` multiplies by ``res_w / 2`` (pixels), then by the frame's
``2.5d_factor`` (millimetres per pixel, from their data release, LCN's "lambda"), and scores the
root-relative result. The factor is ground truth: it holds the person's distance from the camera.

gastbench computes the factor of a frame from its own data: the ground-truth root depth over the
camera's focal length (the pinhole's millimetres per pixel at the root, the mean of the two focal
lengths), so a frame's prediction in metres is ``pred * (res_w / 2) * Z_root / f``. LCN's release
computes its factor in preprocessing that is not published; the scaling arithmetic itself is
checked against the authors' ``evaluate`` (``tests/test_conventions.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data.cameras import load_cameras
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..data import PoseSequence

__all__ = ["CAMERA_SETS", "factor_mm_per_px", "metres_per_image_unit", "scale_image_units"]

#: dataset name -> the camera set its sequences were filmed (synthetic data uses Human3.6M's cameras)
CAMERA_SETS = {"h36m": "h36m", "synthetic": "h36m", "humaneva": "humaneva"}


def scale_image_units(pred: np.ndarray, factor_mm_per_px: np.ndarray, res_w: float) -> np.ndarray:
    """``(T, J, 3)`` screen-normalised 2.5D poses -> metres, with one 2.5D factor (mm per pixel) per frame.

    The authors' arithmetic: to pixels (``* res_w / 2``), to millimetres (``* factor``), then metres.
    """
    factor = np.asarray(factor_mm_per_px, dtype=np.float64)
    if factor.shape != (pred.shape[0],):
        raise ConfigError(f"2.5D factor: expected one factor per frame ({pred.shape[0]},), got {factor.shape}")
    return pred * (res_w / 2.0) * factor[:, None, None] / 1000.0


def factor_mm_per_px(dataset: str, seq: PoseSequence) -> tuple[np.ndarray, int]:
    """Each frame's 2.5D factor (root depth over focal length, mm per pixel) and the image width, for ``seq``."""
    if dataset not in CAMERA_SETS:
        raise ConfigError(
            f"dataset {dataset!r}: the 2.5D factor needs the cameras' focal lengths, known for {sorted(CAMERA_SETS)}"
        )
    camera = load_cameras(CAMERA_SETS[dataset]).camera(seq.subject, seq.camera)
    focal = camera.intrinsics.focal_length
    if focal is None:
        raise ConfigError(
            f"{dataset} camera {seq.camera!r} has no focal length in cameras.json: a 2.5D model's output "
            "(MotionBERT) cannot be brought to metres on this dataset"
        )
    depth_mm = np.asarray(seq.trajectory[:, 2], dtype=np.float64) * 1000.0
    return depth_mm / float(np.mean(focal)), camera.res_w


def metres_per_image_unit(dataset: str, seq: PoseSequence) -> np.ndarray:
    """``(T,)``: metres per screen-normalised unit at each frame's root depth (the factor times ``res_w / 2``)."""
    factor, res_w = factor_mm_per_px(dataset, seq)
    return factor * (res_w / 2.0) / 1000.0
