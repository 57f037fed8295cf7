"""A dataset's 2D keypoints seen in a smaller joint layout (e.g. 17-joint ground truth as ``h36m16``).

Models such as Martinez and SemGCN were trained on 16 joints; ``gastbench train --layout h36m16``
feeds them the named joints of the richer 2D source, selected by name, never by hand-typed index.
"""

from __future__ import annotations

import dataclasses

from ..skeleton import Skeleton, get_layout
from .assemble import readonly
from .types import PoseDataset, PoseSequence

__all__ = ["with_layout_2d"]


def with_layout_2d(dataset: PoseDataset, layout: str | Skeleton) -> PoseDataset:
    """``dataset`` with its 2D keypoints restricted to ``layout``'s joints (same 3D targets).

    Raises :class:`~gastbench.errors.ConfigError` if the dataset's 2D layout lacks a joint of ``layout``.
    """
    target = get_layout(layout)
    if target.name == dataset.layout_2d.name:
        return dataset
    index = list(target.indices_in(dataset.layout_2d))
    parent = dataset

    def build(split: str, subject: str) -> list[PoseSequence]:
        return [
            dataclasses.replace(seq, keypoints_2d=readonly(seq.keypoints_2d[:, index]))
            for seq in parent.sequences(split, subjects=[subject])
        ]

    return dataclasses.replace(
        dataset,
        layout_2d=target,
        notes=[*dataset.notes, f"2D keypoints restricted from layout {dataset.layout_2d.name!r} to {target.name!r}"],
        build=build,
        _cache={},
    )
