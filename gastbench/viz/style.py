"""How a skeleton looks: side colours and bone segments from the layout, camera -> plot axes."""

from __future__ import annotations

import numpy as np

from ..skeleton import Skeleton

__all__ = ["LEFT", "RIGHT", "CENTRE", "bone_colors", "camera_to_plot", "use_agg", "joint_side_colors"]

#: Colours by body side (subject's own left/right), shared by every picture.
LEFT = "#1f77b4"
RIGHT = "#d62728"
CENTRE = "#3a3a3a"


def use_agg() -> None:
    """Headless rendering: select Agg before pyplot is imported (no display is needed or used)."""
    import matplotlib

    matplotlib.use("Agg", force=True)


def _side(layout: Skeleton, joint: int) -> str:
    if joint in layout.joints_left:
        return LEFT
    if joint in layout.joints_right:
        return RIGHT
    return CENTRE


def bone_colors(layout: Skeleton) -> list[str]:
    """One colour per bone of ``layout.edges``: the side of the bone's child joint."""
    return [_side(layout, child) for child, _ in layout.edges]


def joint_side_colors(layout: Skeleton) -> list[str]:
    return [_side(layout, j) for j in range(layout.num_joints)]


def camera_to_plot(poses: np.ndarray) -> np.ndarray:
    """Camera-frame ``(..., 3)`` (x right, y down, z forward) -> plot axes (x right, depth, up)."""
    p = np.asarray(poses, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)
