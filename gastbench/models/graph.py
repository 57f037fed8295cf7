"""Graph kernels of GAST-Net's local attention, built from a :class:`~gastbench.skeleton.Skeleton`.

The reference builds them from a row-normalised adjacency with self-loops (SemGCN's
``adj_mx_from_skeleton``); only the *support* (which entries are nonzero) survives into
the model, because every nonzero entry is replaced by a learnable weight. So the masks
here are 0/1 and equal the reference's ``adj > 0``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..skeleton import Skeleton

__all__ = ["symmetry_mask", "connection_mask"]


def symmetry_mask(skeleton: Skeleton) -> torch.Tensor:
    """``(J, J)`` bool: each joint sees itself and its left/right partner."""
    mask = np.eye(skeleton.num_joints, dtype=bool)
    for left, right in skeleton.symmetric_pairs:
        mask[left, right] = mask[right, left] = True
    return torch.from_numpy(mask)


def connection_mask(skeleton: Skeleton) -> torch.Tensor:
    """``(J, J)`` bool: 1st-order neighbourhood (self + bones) for ordinary joints, 1st+2nd order for distal ones.

    The 2nd-order edges are one-way: a distal joint's row gains its grandparent, the
    grandparent's row does not gain the distal joint (the reference zeroes whole rows).
    """
    first = skeleton.adjacency().astype(bool) | np.eye(skeleton.num_joints, dtype=bool)
    second = (first.astype(np.int64) @ first.astype(np.int64)) > 0
    distal = np.zeros(skeleton.num_joints, dtype=bool)
    distal[list(skeleton.distal)] = True
    mask = np.where(distal[:, None], second, first)
    return torch.from_numpy(mask)
