"""COCO-17 keypoints (MMPose, Detectron2, ...) mapped onto the Human3.6M-17 layout.

COCO has no pelvis, spine, thorax or head top, so those are built from the joints it has,
the way the lifting literature does when it runs an H36M-trained lifter on COCO detections:

=================  =========================================================================
H36M-17 joint      from COCO-17
=================  =========================================================================
pelvis             midpoint of left_hip and right_hip
right_hip          right_hip
right_knee         right_knee
right_ankle        right_ankle
left_hip           left_hip
left_knee          left_knee
left_ankle         left_ankle
spine              midpoint of pelvis and thorax
thorax             midpoint of left_shoulder and right_shoulder
neck               nose (Human3.6M's joint 9 is the "neck/nose" marker at nose height)
head               head top, extrapolated: face centre (mean of eyes and ears) plus half of
                   the thorax -> face-centre vector (COCO has no head-top keypoint)
left_shoulder      left_shoulder
left_elbow         left_elbow
left_wrist         left_wrist
right_shoulder     right_shoulder
right_elbow        right_elbow
right_wrist        right_wrist
=================  =========================================================================

A derived joint's confidence is the lowest of the joints it is made from, so a missing hip
makes the pelvis missing too (and it is then filled along time, see :mod:`.fill`); the head's
is the thorax's or the mean of the four face points' scores, whichever is lower (a profile
view hides one ear without making the head unknown).
Other layouts whose joints all exist in H36M-17 (HumanEva-I's 15) are selected by name.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..skeleton import H36M_17, Skeleton

__all__ = ["COCO_17_NAMES", "COCO_LEFT_RIGHT", "HEAD_EXTRAPOLATION", "coco_to_h36m", "coco_to_layout"]

#: COCO-17 keypoint order (the COCO keypoints challenge, MMPose and Detectron2 share it).
COCO_17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

#: Left/right pairs of COCO-17 (index pairs), used to check a file's declared symmetry.
COCO_LEFT_RIGHT = tuple(
    (COCO_17_NAMES.index(n), COCO_17_NAMES.index("right_" + n[5:])) for n in COCO_17_NAMES if n.startswith("left_")
)

#: How far above the face centre the head top is put, as a fraction of the thorax -> face distance.
HEAD_EXTRAPOLATION = 0.5

_DIRECT = (
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip
_FACE = ("left_eye", "right_eye", "left_ear", "right_ear")


def _coco(name: str) -> int:
    return COCO_17_NAMES.index(name)


def coco_to_h36m(keypoints: np.ndarray, scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 17, 2)`` COCO keypoints (and ``(T, 17)`` scores) -> H36M-17 keypoints and scores.

    Works in any 2D unit (pixels or normalised). Without scores every joint counts as seen (1.0).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (17, 2):
        raise ShapeError(f"COCO-17 keypoints must be (T, 17, 2), got {tuple(kp.shape)}")
    sc = np.ones(kp.shape[:2]) if scores is None else np.asarray(scores, dtype=np.float64)
    if sc.shape != kp.shape[:2]:
        raise ShapeError(f"COCO-17 scores must be (T, 17) to match keypoints {tuple(kp.shape)}, got {tuple(sc.shape)}")

    def mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 0.5 * (a + b)

    out = np.zeros((kp.shape[0], H36M_17.num_joints, 2))
    conf = np.zeros((kp.shape[0], H36M_17.num_joints))

    def put(name: str, xy: np.ndarray, score: np.ndarray) -> None:
        j = H36M_17.index(name)
        out[:, j], conf[:, j] = xy, score

    def take(name: str) -> tuple[np.ndarray, np.ndarray]:
        return kp[:, _coco(name)], sc[:, _coco(name)]

    for name in _DIRECT:
        put(name, *take(name))
    (lh, lhs), (rh, rhs) = take("left_hip"), take("right_hip")
    (ls, lss), (rs, rss) = take("left_shoulder"), take("right_shoulder")
    pelvis, pelvis_s = mid(lh, rh), np.minimum(lhs, rhs)
    thorax, thorax_s = mid(ls, rs), np.minimum(lss, rss)
    put("pelvis", pelvis, pelvis_s)
    put("thorax", thorax, thorax_s)
    put("spine", mid(pelvis, thorax), np.minimum(pelvis_s, thorax_s))
    put("neck", *take("nose"))
    face = np.mean([kp[:, _coco(n)] for n in _FACE], axis=0)
    face_s = np.mean([sc[:, _coco(n)] for n in _FACE], axis=0)
    put("head", face + HEAD_EXTRAPOLATION * (face - thorax), np.minimum(face_s, thorax_s))
    return out, conf


def coco_to_layout(
    keypoints: np.ndarray, layout: Skeleton, scores: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 -> ``layout`` (any layout whose joints all exist in H36M-17, selected by name)."""
    h36m, conf = coco_to_h36m(keypoints, scores)
    index = list(layout.indices_in(H36M_17))
    return h36m[:, index], conf[:, index]
