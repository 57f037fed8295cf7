"""Joint layouts: the single source every graph kernel, flip and joint mapping is built from.

A :class:`Skeleton` names its joints, their kinematic parents and the left/right pairs.
Everything else (edges, adjacency, flip permutation, distal joints, joint mapping between
layouts) is derived from those facts, never typed a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

from .errors import ConfigError

PoseArray = TypeVar("PoseArray", bound=Any)  # np.ndarray or torch.Tensor, without importing torch

__all__ = [
    "Skeleton",
    "get_layout",
    "list_layouts",
    "register_layout",
    "H36M_17",
    "H36M_16",
    "HUMANEVA_15",
    "MPI3DHP_17",
]


@dataclass(frozen=True)
class Skeleton:
    """An immutable joint layout.

    Attributes:
        name: registry name, e.g. ``"h36m"``.
        joint_names: one name per joint; names are shared across layouts so that joints
            can be mapped between them by name.
        parents: kinematic parent of each joint, ``-1`` for the root.
        joints_left: indices of left-side joints, paired position-wise with ``joints_right``.
        joints_right: indices of right-side joints.
        distal: joints at the end of the kinematic chain whose graph kernel also gets the
            2nd-order edge (joint -> grandparent), as GAST-Net's connection kernel does.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]
    distal: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise ConfigError(f"layout {self.name!r}: {n} joint names but {len(self.parents)} parents")
        if len(self.joints_left) != len(self.joints_right):
            raise ConfigError(f"layout {self.name!r}: left and right joint lists differ in length")
        if sorted(set(self.joints_left) | set(self.joints_right)) != sorted(self.joints_left + self.joints_right):
            raise ConfigError(f"layout {self.name!r}: a joint is both left and right")
        for p in self.parents:
            if p < -1 or p >= n:
                raise ConfigError(f"layout {self.name!r}: parent index {p} out of range for {n} joints")
        if sum(1 for p in self.parents if p == -1) != 1:
            raise ConfigError(f"layout {self.name!r}: expected exactly one root (parent -1)")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @cached_property
    def flip_permutation(self) -> tuple[int, ...]:
        """Index permutation that swaps every left joint with its right partner."""
        perm = list(range(self.num_joints))
        for left, right in zip(self.joints_left, self.joints_right):
            perm[left], perm[right] = right, left
        return tuple(perm)

    @cached_property
    def symmetric_pairs(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.joints_left, self.joints_right))

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Bones as ``(child, parent)`` pairs, in joint order."""
        return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

    def mirror(self, pose: PoseArray) -> PoseArray:
        """Mirror poses ``(..., J, 2 or 3)`` horizontally: swap left/right joints, negate x.

        Works on numpy arrays and torch tensors alike and returns a new one; 2D keypoints
        (screen-normalized, x centred on 0) and 3D camera-space poses flip about the same
        vertical axis, so a lifter's flip augmentation pairs ``mirror`` of its input and output.
        """
        out = pose[..., list(self.flip_permutation), :]  # advanced indexing copies
        out[..., 0] = -out[..., 0]
        return out

    def adjacency(self) -> np.ndarray:
        """Symmetric 0/1 bone adjacency ``(J, J)`` without self-loops, float32."""
        adj = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for j, p in self.edges:
            adj[j, p] = adj[p, j] = 1.0
        return adj

    def index(self, joint_name: str) -> int:
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise ConfigError(
                f"layout {self.name!r} has no joint {joint_name!r}; joints are {list(self.joint_names)}"
            ) from None

    def indices_in(self, other: Skeleton) -> tuple[int, ...]:
        """Indices into ``other`` of this layout's joints, matched by name.

        Used to select, from a richer layout (e.g. 17-joint ground truth), the joints a
        model predicts (e.g. the 16-joint layout).
        """
        missing = [n for n in self.joint_names if n not in other.joint_names]
        if missing:
            raise ConfigError(f"layout {other.name!r} lacks joints {missing} needed by layout {self.name!r}")
        return tuple(other.joint_names.index(n) for n in self.joint_names)


_H36M_17_NAMES = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)  # fmt: skip

#: Human3.6M, the 17 joints every temporal lifter predicts (VideoPose3D ordering).
H36M_17 = Skeleton(
    name="h36m",
    joint_names=_H36M_17_NAMES,
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
    distal=(3, 6, 10, 13, 16),
)

#: Human3.6M without the neck/nose joint: Stacked-Hourglass detections, Martinez, SemGCN.
H36M_16 = Skeleton(
    name="h36m16",
    joint_names=tuple(n for n in _H36M_17_NAMES if n != "neck"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14),
    joints_left=(4, 5, 6, 10, 11, 12),
    joints_right=(1, 2, 3, 13, 14, 15),
    distal=(3, 6, 9, 12, 15),
)

#: HumanEva-I, 15 joints (VideoPose3D ordering).
HUMANEVA_15 = Skeleton(
    name="humaneva",
    joint_names=(
        "pelvis", "thorax", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
        "right_elbow", "right_wrist", "left_hip", "left_knee", "left_ankle", "right_hip",
        "right_knee", "right_ankle", "head",
    ),
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    joints_left=(2, 3, 4, 8, 9, 10),
    joints_right=(5, 6, 7, 11, 12, 13),
    distal=(4, 7, 10, 13),  # wrists and ankles only, as GAST-Net's reference graph (head excluded)
)  # fmt: skip

#: MPI-INF-3DHP's 17 test joints in the official order (``mpii_get_joints('relevant')``: head_top,
#: neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist, right hip/knee/ankle, left
#: hip/knee/ankle, pelvis, spine, head), the order lifting papers keep for the dataset. They are
#: Human3.6M's 17 joints, named as in :data:`H36M_17` so models map onto them by name: 3DHP's
#: head_top is H36M's head, its neck H36M's thorax, its head H36M's neck/nose.
MPI3DHP_17 = Skeleton(
    name="mpi3dhp",
    joint_names=(
        "head", "thorax", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "pelvis", "spine", "neck",
    ),
    parents=(16, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, -1, 14, 1),
    joints_left=(5, 6, 7, 11, 12, 13),
    joints_right=(2, 3, 4, 8, 9, 10),
    distal=(0, 4, 7, 10, 13),
)  # fmt: skip

_LAYOUTS: dict[str, Skeleton] = {}


def register_layout(skeleton: Skeleton) -> Skeleton:
    """Make a layout available by name to :func:`get_layout` (and so to every lifter)."""
    existing = _LAYOUTS.get(skeleton.name)
    if existing is not None and existing != skeleton:
        raise ConfigError(f"a different layout is already registered as {skeleton.name!r}")
    _LAYOUTS[skeleton.name] = skeleton
    return skeleton


for _layout in (H36M_17, H36M_16, HUMANEVA_15, MPI3DHP_17):
    register_layout(_layout)


def list_layouts() -> list[str]:
    return sorted(_LAYOUTS)


def get_layout(layout: str | Skeleton) -> Skeleton:
    """Resolve a layout name (or pass a :class:`Skeleton` through)."""
    if isinstance(layout, Skeleton):
        return layout
    try:
        return _LAYOUTS[layout]
    except KeyError:
        raise ConfigError(f"unknown joint layout {layout!r}; known layouts: {', '.join(list_layouts())}") from None
