"""Keypoint files, recognised by what they hold (not by their name), read into :class:`..detections.Detections`.

=========================  ===============================================  =========================
format                     recognised by                                    module
=========================  ===============================================  =========================
GAST-Net demo JSON         ``{"data": [{"frame_index", "skeleton"}]}``        :mod:`.gastnet`
MMPose predictions         ``[{"frame_id", "instances"}]`` / ``instance_info``  :mod:`.mmpose`
AlphaPose results          COCO results with ``idx``/``box``/image names      :mod:`.alphapose`
COCO results, Detectron2   ``[{"image_id": int, "keypoints"}]``               :mod:`.coco_results`
OpenPose frames            a folder of ``{"people": [{"pose_keypoints_2d"}]}``  :mod:`.openpose`
VideoPose3D custom         ``.npz`` with ``positions_2d`` and ``metadata``     :mod:`.videopose3d`
arrays                     ``.npy``, ``.npz``/JSON with ``keypoints``           :mod:`.arrays`
=========================  ===============================================  =========================
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, GastbenchError
from ..detections import Detections
from ..joint_sets import joints_of
from . import alphapose, arrays, coco_results, gastnet, mmpose, openpose, videopose3d

__all__ = ["FORMATS", "read_detections"]

#: JSON formats, tried in this order (AlphaPose before plain COCO results: it is their superset).
_JSON = ((gastnet.matches, gastnet.read), (mmpose.matches, mmpose.read), (alphapose.matches, alphapose.read),
         (coco_results.matches, coco_results.read))  # fmt: skip
FORMATS = (
    gastnet.FORMAT,
    mmpose.FORMAT,
    alphapose.FORMAT,
    coco_results.FORMAT,
    openpose.FORMAT,
    videopose3d.FORMAT,
    arrays.FORMAT,
)
_EXPECTED = (
    "expected GAST-Net's demo JSON {'data': [{'frame_index', 'skeleton'}]}, MMPose [{'frame_id', 'instances'}], "
    "AlphaPose or COCO results [{'image_id', 'keypoints'}], an OpenPose --write_json folder, VideoPose3D's "
    "data_2d_custom_*.npz, or arrays {'keypoints': (T, J, 2|3)}"
)


def _read_json(path: Path, source: str) -> Detections:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: not a readable JSON file: {exc}") from None
    except RecursionError:
        raise DataError(f"{source}: JSON nested too deeply to be a keypoint file") from None
    for matches, read in _JSON:
        if matches(raw):
            return read(raw, source)
    if openpose.matches_frame(raw):
        raise DataError(f"{source}: one OpenPose frame file; pass the folder of all frames ({path.parent})")
    if arrays.matches_json(raw):
        return arrays.read_arrays(raw, source)
    found = (
        sorted(raw)[:8]
        if isinstance(raw, dict)
        else f"a {type(raw).__name__} of {len(raw) if isinstance(raw, list) else 1}"
    )
    raise DataError(f"{source}: unknown key layout ({found}); {_EXPECTED}")


def _read_npz(path: Path, source: str, sequence: str | None) -> Detections:
    try:
        with zipfile.ZipFile(path) as zf:
            members = {n[: -len(".npy")] for n in zf.namelist() if n.endswith(".npy")}
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{source}: not a readable .npz file: {exc}") from None
    if set(videopose3d.MEMBERS) <= members:
        from ...data.safe_npz import (
            load_npz,  # object members: the restricted unpickler, never np.load(allow_pickle=True)
        )

        return videopose3d.read(load_npz(path, list(videopose3d.MEMBERS)), source, sequence)
    if "keypoints" not in members:
        raise DataError(f"{source}: unknown key layout {sorted(members)}; {_EXPECTED}")
    try:
        with np.load(path, allow_pickle=False) as data:
            loaded: dict[str, Any] = {k: data[k] for k in data.files}
    except ValueError as exc:
        raise DataError(f"{source}: holds pickled objects, which are not loaded ({exc}); save plain arrays") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable .npz file: {exc}") from None
    return arrays.read_arrays(loaded, source)


def _read_npy(path: Path, source: str) -> Detections:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{source}: holds pickled objects, which are not loaded ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable .npy file: {exc}") from None
    return arrays.read_arrays({"keypoints": arr}, source, what="array")


def _read_any(path: Path, source: str, sequence: str | None) -> Detections:
    if path.is_dir():
        return openpose.read_folder(path)
    elif not path.is_file():
        raise DataError(f"{source}: keypoint file does not exist")
    elif path.suffix.lower() == ".json":
        return _read_json(path, source)
    elif path.suffix.lower() == ".npz":
        return _read_npz(path, source, sequence)
    elif path.suffix.lower() == ".npy":
        return _read_npy(path, source)
    else:
        raise DataError(
            f"{source}: unsupported keypoint file type {path.suffix!r}; use .json, .npz, .npy or an OpenPose folder"
        )


def read_detections(path: str | Path, *, layout: str | None = None, sequence: str | None = None) -> Detections:
    """Everyone in a keypoint file or OpenPose folder; ``layout`` overrides the file's joint order.

    Raises:
        DataError: a missing or unreadable file, an unknown key layout or joint order.
        ShapeError: arrays of the wrong shape, a joint count that does not match the joint order.
    """
    path = Path(path)
    source = str(path)
    try:
        found = _read_any(path, source, sequence)
    except GastbenchError:
        raise
    except (
        TypeError,
        ValueError,
        OverflowError,
        KeyError,
        IndexError,
        AttributeError,
        MemoryError,
        RecursionError,
    ) as exc:
        # The readers check the layouts they know key by key; a value of the wrong kind deeper inside
        # (a string where a number belongs, a number past float range) still gets one line, naming the file.
        raise DataError(f"{source}: malformed keypoint file: {type(exc).__name__}: {exc!s:.200}; {_EXPECTED}") from None
    joint_set = layout or found.joint_set
    expected = len(joints_of(joint_set, source))
    if found.joints != expected:
        from ...errors import ShapeError

        raise ShapeError(
            f"{source}: {found.joints} joints per frame, but layout {joint_set!r} has {expected}; "
            "pass --layout with the file's joint order"
        )
    if joint_set != found.joint_set:
        from dataclasses import replace

        found = replace(found, joint_set=joint_set)
    return found
