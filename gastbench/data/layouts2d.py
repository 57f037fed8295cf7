"""Joint orders found in 2D keypoint files, and how each maps onto a gastbench layout.

A file's ``metadata`` member names its joint order (VideoPose3D's ``layout_name``), joint count
and left/right symmetry; all three are checked before any keypoint is used. Most orders are a
permutation of a layout's joints; COCO-17 (Detectron files, ``layout_name='coco'``) lacks the
pelvis, spine, thorax and head, which :func:`gastbench.keypoints.coco.coco_to_layout` computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..keypoints.coco import COCO_17_NAMES, COCO_LEFT_RIGHT, coco_to_layout
from ..skeleton import H36M_16, H36M_17, HUMANEVA_15, Skeleton

__all__ = ["FileLayout", "MPII_TO_H36M16", "file_layout_names", "layout_metadata", "resolve_file_layout"]

#: Stacked-Hourglass/MPII order -> H36M_16: for each H36M_16 joint, its MPII index.
#: MPII: 0 r-ankle, 1 r-knee, 2 r-hip, 3 l-hip, 4 l-knee, 5 l-ankle, 6 pelvis, 7 thorax,
#: 8 upper neck, 9 head top, 10 r-wrist, 11 r-elbow, 12 r-shoulder, 13 l-shoulder, 14 l-elbow, 15 l-wrist.
#: As in Martinez et al., MPII thorax stands for the H36M spine, MPII upper neck for the H36M thorax.
MPII_TO_H36M16 = (6, 2, 1, 0, 3, 4, 5, 7, 8, 9, 13, 14, 15, 12, 11, 10)
_MPII_SYMMETRY = ((3, 4, 5, 13, 14, 15), (0, 1, 2, 10, 11, 12))
_COCO_SYMMETRY = (tuple(left for left, _ in COCO_LEFT_RIGHT), tuple(right for _, right in COCO_LEFT_RIGHT))
#: Layouts the COCO-17 mapping can produce (every joint exists in H36M-17), in order of preference.
_COCO_TARGETS = (H36M_17, HUMANEVA_15)


@dataclass(frozen=True)
class FileLayout:
    """A file's joint order: the layout it becomes and the index map (file index per layout joint)."""

    file_layout: str
    layout: Skeleton
    permutation: tuple[int, ...] | None  # None: already in ``layout`` order
    coco: bool = False  # True: COCO-17 in the file, mapped by ``coco_to_layout`` (not a permutation)

    @property
    def file_joints(self) -> int:
        """Joint count of one frame in the file (before mapping)."""
        if self.coco:
            return len(COCO_17_NAMES)
        return self.layout.num_joints if self.permutation is None else len(self.permutation)

    def apply(self, keypoints: np.ndarray) -> np.ndarray:
        if self.coco:
            return coco_to_layout(keypoints, self.layout)[0].astype(keypoints.dtype, copy=False)
        return keypoints if self.permutation is None else keypoints[:, list(self.permutation)]


def _symmetry(meta: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    sym = meta.get("keypoints_symmetry")
    if sym is None:
        return None
    try:
        left, right = sym
        return tuple(int(i) for i in left), tuple(int(i) for i in right)
    except (TypeError, ValueError):
        return ((-1,), (-1,))


# layout_name -> (joints, symmetry in file order, target layout, permutation)
_KNOWN: dict[str, tuple[int, tuple[tuple[int, ...], tuple[int, ...]], Skeleton, tuple[int, ...] | None]] = {
    "h36m": (17, (H36M_17.joints_left, H36M_17.joints_right), H36M_17, None),
    "sh": (16, _MPII_SYMMETRY, H36M_16, MPII_TO_H36M16),
    "sh_mpii": (16, _MPII_SYMMETRY, H36M_16, MPII_TO_H36M16),
    "humaneva15": (15, (HUMANEVA_15.joints_left, HUMANEVA_15.joints_right), HUMANEVA_15, None),
}


def file_layout_names() -> list[str]:
    """The joint orders a 2D file may declare (``layout_name``)."""
    return sorted([*_KNOWN, "coco"])


def layout_metadata(layout_name: str) -> dict[str, Any]:
    """The ``metadata`` a 2D file in joint order ``layout_name`` carries: what :func:`resolve_file_layout` checks."""
    if layout_name == "coco":
        joints, symmetry = len(COCO_17_NAMES), _COCO_SYMMETRY
    elif layout_name in _KNOWN:
        joints, symmetry = _KNOWN[layout_name][0], _KNOWN[layout_name][1]
    else:
        raise ConfigError(f"unknown 2D joint order {layout_name!r}; known: {file_layout_names()}")
    return {
        "layout_name": layout_name,
        "num_joints": joints,
        "keypoints_symmetry": [list(symmetry[0]), list(symmetry[1])],
    }


def _check_permutation_symmetry(perm: tuple[int, ...], file_sym: tuple[tuple[int, ...], ...], layout: Skeleton) -> bool:
    """True when the permutation sends the file's left joints to the layout's left joints (and right to right)."""
    inverse = {src: dst for dst, src in enumerate(perm)}
    left = sorted(inverse[i] for i in file_sym[0])
    right = sorted(inverse[i] for i in file_sym[1])
    return left == sorted(layout.joints_left) and right == sorted(layout.joints_right)


def resolve_file_layout(metadata: Any, file: str, allowed: tuple[Skeleton, ...]) -> FileLayout:
    """Check a 2D file's metadata and return how its joints map onto one of ``allowed`` layouts.

    Raises:
        DataError: metadata missing or malformed, an unknown joint order, or one that disagrees
            with its declared joint count or left/right symmetry.
    """
    if not isinstance(metadata, dict):
        raise DataError(f"{file}: key 'metadata' must be a dict with layout_name, num_joints, keypoints_symmetry")
    name = metadata.get("layout_name")
    if name == "coco":
        # COCO-17 becomes whichever layout the dataset uses, as long as the mapping can build it.
        target = next((s for s in _COCO_TARGETS if s in allowed), _COCO_TARGETS[0])
        joints, symmetry, layout, perm = len(COCO_17_NAMES), _COCO_SYMMETRY, target, None
    elif name in _KNOWN:
        joints, symmetry, layout, perm = _KNOWN[name]
    else:
        raise DataError(
            f"{file}: unsupported 2D joint order layout_name={name!r}; supported: {sorted([*_KNOWN, 'coco'])}"
        )
    if layout not in allowed:
        raise DataError(
            f"{file}: joint order {name!r} maps to layout {layout.name!r}, which this dataset cannot use "
            f"(expected one of {[s.name for s in allowed]})"
        )
    if metadata.get("num_joints") != joints:
        raise DataError(
            f"{file}: layout {name!r} has {joints} joints, metadata says num_joints={metadata.get('num_joints')!r}"
        )
    found = _symmetry(metadata)
    if found is not None and (sorted(found[0]), sorted(found[1])) != (sorted(symmetry[0]), sorted(symmetry[1])):
        raise DataError(
            f"{file}: layout {name!r} expects keypoints_symmetry {[list(s) for s in symmetry]}, "
            f"metadata says {[list(s) for s in found]}"
        )
    if perm is not None and not _check_permutation_symmetry(perm, symmetry, layout):
        raise DataError(f"internal: joint map for {name!r} does not preserve left/right")  # guards the table above
    return FileLayout(file_layout=name, layout=layout, permutation=perm, coco=name == "coco")
