"""The joint orders 2D tools write, by name, and how each becomes a model's layout.

Every order is a tuple of joint names in gastbench's vocabulary (``left_hip``, ``head_top``, ...),
so a joint is found by name, never by a typed index into someone else's list:

=================  =====================================================================================
joint set          order (source)
=================  =====================================================================================
``coco``           COCO-17: nose, left/right eye, ear, shoulder, elbow, wrist, hip, knee, ankle (COCO
                   keypoints challenge; MMPose, Detectron2, AlphaPose's default, GAST-Net's demo)
``openpose_body25``OpenPose BODY_25: nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist,
                   mid-hip, right hip/knee/ankle, left hip/knee/ankle, right/left eye, right/left ear,
                   left big toe, small toe, heel, right big toe, small toe, heel (``poseParameters.cpp``)
``openpose_coco18``OpenPose COCO-18: as BODY_25 without mid-hip and the feet (``poseParameters.cpp``)
``halpe26``        Halpe-26 (AlphaPose): COCO-17, then head (top), neck, hip (mid-hip), left/right big
                   toe, small toe, heel (Halpe-FullBody)
``mpii``           MPII-16 (Stacked Hourglass, MMPose's MPII models): right ankle/knee/hip, left
                   hip/knee/ankle, pelvis, thorax, upper neck, head top, right wrist/elbow/shoulder,
                   left shoulder/elbow/wrist
=================  =====================================================================================

COCO-WholeBody's 133 points and Halpe's 136 begin with COCO-17 / Halpe-26; the readers keep that
body part. A registered layout (``h36m``, ``h36m16``, ``humaneva``, ``mpi3dhp``) is a joint set too.

Onto Human3.6M-17 (and any layout whose joints it holds, selected by name), per joint:

================  ======================================================================================
H36M-17 joint     built from
================  ======================================================================================
hips, knees,      the joint of the same name
ankles, arms
pelvis            the set's own mid-hip (BODY_25 ``MidHip``, Halpe ``Hip``) or pelvis (MPII), else the
                  midpoint of the hips
thorax            the set's own neck base (OpenPose and Halpe ``Neck``, trained as the shoulders'
                  midpoint), MPII's upper neck (as the Stacked-Hourglass files are mapped, after
                  Martinez et al.), else the midpoint of the shoulders
spine             the midpoint of pelvis and thorax, for every set (see below for MPII)
neck (nose)       nose; MPII has none, so it maps only onto layouts without it (``h36m16``)
head (top)        the set's own head top (Halpe ``Head``, MPII), else extrapolated from the face as
                  :mod:`.coco` does (face centre + half of thorax -> face centre)
================  ======================================================================================

A joint built from others is scored by the lowest of their scores (:mod:`.coco`).

MPII's ``thorax`` is *not* used as Human3.6M's spine here, although the Stacked-Hourglass dataset
files are mapped that way (:data:`gastbench.data.layouts2d.MPII_TO_H36M16`, the convention models
trained on those files learned): it sits about 40 px above the spine in Human3.6M's 1000-px frames,
and a model trained on ground-truth 2D reads that as a bent back. SemGCN's released weights
(ground-truth 2D) on the real Stacked-Hourglass detections of S9, camera 54138969, score 228.6 /
225.2 / 228.6 mm MPJPE on ``Walking`` / ``Eating`` / ``Directions 1`` with MPII's thorax as the spine,
and 135.3 / 109.7 / 106.1 mm with the midpoint (43.6 / 33.7 / 36.2 mm from ground-truth 2D).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ShapeError
from ..skeleton import H36M_17, Skeleton, get_layout, list_layouts
from .coco import COCO_17_NAMES, coco_to_h36m

__all__ = ["JOINT_SETS", "joint_set_names", "joint_set_of_count", "joints_of", "to_layout"]

_ARMS_LEGS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
_FEET = ("big_toe", "small_toe", "heel")

#: Joint orders of detector files, by name (see the module doc for their sources).
JOINT_SETS: dict[str, tuple[str, ...]] = {
    "coco": COCO_17_NAMES,
    "openpose_body25": (
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear",
        "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    ),
    "openpose_coco18": (
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear",
    ),
    "halpe26": COCO_17_NAMES + ("head_top", "neck", "mid_hip") + tuple(f"{s}_{f}" for f in _FEET for s in ("left", "right")),
    "mpii": (
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "mpii_thorax",
        "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
        "left_wrist",
    ),
}  # fmt: skip


def joint_set_names() -> list[str]:
    """Every joint order a keypoint file may be in: the detector sets, then the registered layouts."""
    return [*JOINT_SETS, *list_layouts()]


def joints_of(name: str, source: str = "keypoints") -> tuple[str, ...]:
    """The joint names of a detector joint set or a registered layout."""
    if name in JOINT_SETS:
        return JOINT_SETS[name]
    if name in list_layouts():
        return get_layout(name).joint_names
    raise DataError(f"{source}: unknown keypoint layout {name!r}; known: {', '.join(joint_set_names())}")


def joint_set_of_count(count: int) -> str | None:
    """The detector joint set with ``count`` joints, when exactly one has that many (17 is COCO's)."""
    matches = [name for name, joints in JOINT_SETS.items() if len(joints) == count]
    return matches[0] if len(matches) == 1 else None


def _h36m_from_named(kp: np.ndarray, sc: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, set[str]]:
    """H36M-17 ``(T, 17, 2)`` and scores from a named set, and the H36M joints it could not build."""

    def take(name: str) -> tuple[np.ndarray, np.ndarray]:
        j = names.index(name)
        return kp[:, j], sc[:, j]

    if all(n in names for n in COCO_17_NAMES):
        order = [names.index(n) for n in COCO_17_NAMES]
        out, conf = coco_to_h36m(kp[:, order], sc[:, order])
        missing: set[str] = set()
    else:  # MPII-like: no face; every joint the set names directly, the rest left missing
        out, conf = np.zeros((kp.shape[0], 17, 2)), np.zeros((kp.shape[0], 17))
        missing = {"neck"}
        for side in ("left", "right"):
            for part in _ARMS_LEGS:
                name = f"{side}_{part}"
                if name not in names:
                    raise DataError(f"joint set lacks {name}")
                out[:, H36M_17.index(name)], conf[:, H36M_17.index(name)] = take(name)
    overrides = {"pelvis": ("mid_hip", "pelvis"), "thorax": ("neck", "upper_neck"), "head": ("head_top",)}
    for target, candidates in overrides.items():
        found = next((c for c in candidates if c in names), None)
        if found is not None:
            out[:, H36M_17.index(target)], conf[:, H36M_17.index(target)] = take(found)
        elif "nose" not in names:
            missing.add(target)
    spine, pelvis, thorax = H36M_17.index("spine"), H36M_17.index("pelvis"), H36M_17.index("thorax")
    out[:, spine] = 0.5 * (out[:, pelvis] + out[:, thorax])  # MPII's thorax too: see the module doc
    conf[:, spine] = np.minimum(conf[:, pelvis], conf[:, thorax])
    return out, conf, missing


def to_layout(
    keypoints: np.ndarray, scores: np.ndarray | None, joint_set: str, layout: Skeleton, source: str = "keypoints"
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(T, J_set, 2)`` keypoints (and scores) in ``joint_set`` -> ``layout``'s joints, by name (module doc).

    Raises:
        DataError: the set cannot give one of the layout's joints (MPII has no nose for H36M-17's ``neck``).
        ShapeError: the arrays do not have the set's joint count.
    """
    names = joints_of(joint_set, source)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (len(names), 2):
        raise ShapeError(
            f"{source}: keypoints must be (T, {len(names)}, 2) for layout {joint_set!r}, got {tuple(kp.shape)}"
        )
    if joint_set in list_layouts():  # a registered layout: select by name
        source_layout = get_layout(joint_set)
        missing = [n for n in layout.joint_names if n not in source_layout.joint_names]
        if missing:
            raise DataError(
                f"{source}: layout {joint_set!r} has no {missing}, which model layout {layout.name!r} needs"
            )
        index = [source_layout.index(n) for n in layout.joint_names]
        return kp[:, index], None if scores is None else np.asarray(scores, dtype=np.float64)[:, index]
    sc = np.ones(kp.shape[:2]) if scores is None else np.asarray(scores, dtype=np.float64)
    try:
        h36m, conf, unbuilt = _h36m_from_named(kp, sc, names)
    except DataError as exc:
        raise DataError(f"{source}: layout {joint_set!r}: {exc}") from None
    lacking = [n for n in layout.joint_names if n in unbuilt or n not in H36M_17.joint_names]
    if lacking:
        raise DataError(
            f"{source}: {joint_set} keypoints cannot give {lacking}, which model layout {layout.name!r} needs; "
            "use a model of a layout without them (e.g. a 16-joint h36m16 model such as semgcn)"
        )
    index = [H36M_17.index(n) for n in layout.joint_names]
    return h36m[:, index], conf[:, index]
