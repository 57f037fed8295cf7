"""VideoPose3D's custom 2D dataset, ``data_2d_custom_<name>.npz`` (its ``prepare_data_2d_custom.py``).

Members, as that script writes them with ``np.savez_compressed``:

* ``positions_2d``: a pickled dict ``{video name: {"custom": [keypoints (T, 17, 2) float32]}}``, one
  person per video (the script keeps each frame's highest-scored Detectron box and interpolates
  frames without one, so every frame is filled and there are no scores);
* ``metadata``: a pickled dict with ``layout_name`` ("coco"), ``num_joints`` (17),
  ``keypoints_symmetry`` and ``video_metadata``: ``{video name: {"w": width, "h": height}}``.

Both are object arrays, read through the restricted unpickler (:func:`gastbench.data.safe_npz.load_npz`:
arrays, dicts, lists and strings only). A file of several videos needs the video's name (``--sequence``).
Joints: the ``layout_name`` the metadata declares (COCO-17 from Detectron, or a registered layout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DataError, ShapeError
from ..detections import Detections, DetectionsBuilder
from ..joint_sets import joint_set_names, joints_of

__all__ = ["FORMAT", "MEMBERS", "read"]

FORMAT = "videopose3d-custom"
MEMBERS = ("positions_2d", "metadata")


def _pick(videos: dict[str, Any], sequence: str | None, source: str) -> str:
    names = sorted(videos)
    if sequence is not None:
        if sequence not in videos:
            raise DataError(f"{source}: no video {sequence!r}; the file holds {names}")
        return sequence
    if len(names) != 1:
        raise DataError(f"{source}: holds {len(names)} videos {names[:8]}; choose one with --sequence NAME")
    return names[0]


def _size(value: Any, key: str, where: str) -> int:
    try:
        size = int(np.asarray(value).item())
    except (TypeError, ValueError):
        size = 0
    if size <= 0:
        raise DataError(f"{where}: {key!r} must be a positive number of pixels, got {value!r}")
    return size


def read(members: dict[str, Any], source: str, sequence: str | None = None) -> Detections:
    positions, metadata = members["positions_2d"], members["metadata"]
    if not isinstance(positions, dict) or not isinstance(metadata, dict):
        raise DataError(f"{source}: 'positions_2d' and 'metadata' must be dicts (VideoPose3D's custom layout)")
    name = _pick(positions, sequence, source)
    entry = positions[name]
    clips = entry.get("custom") if isinstance(entry, dict) else None
    if not isinstance(clips, list) or len(clips) != 1:
        raise DataError(f"{source}: positions_2d[{name!r}] must be {{'custom': [keypoints (T, J, 2)]}}")
    kp = np.asarray(clips[0], dtype=np.float64)
    layout = str(metadata.get("layout_name", "coco"))
    if layout not in joint_set_names():
        raise DataError(f"{source}: metadata layout_name {layout!r} is not one of {', '.join(joint_set_names())}")
    joints = len(joints_of(layout, source))
    if kp.ndim != 3 or kp.shape[1:] != (joints, 2) or kp.shape[0] < 1:
        raise ShapeError(
            f"{source}: positions_2d[{name!r}]['custom'][0] must be (T, {joints}, 2) for {layout!r}, got {kp.shape}"
        )
    sizes = metadata.get("video_metadata", {})
    size = sizes.get(name) if isinstance(sizes, dict) else None
    width = height = None  # absent: the caller asks for --width/--height or --video
    if isinstance(size, dict):
        where = f"{source}: metadata['video_metadata'][{name!r}]"
        width, height = _size(size.get("w"), "w", where), _size(size.get("h"), "h", where)
    rows = DetectionsBuilder(f"{source} [{name}]", FORMAT)
    for t in range(kp.shape[0]):
        rows.add(t, kp[t], track_id=0)
    return rows.build(layout, frames=kp.shape[0], width=width, height=height)
