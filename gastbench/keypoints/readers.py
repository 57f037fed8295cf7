"""Read 2D keypoint files from common detectors into one :class:`KeypointClip` (pixels).

Accepted files:

* ``.json``, MMPose style: a list of frames ``{"frame_id", "instances": [{"keypoints": [[x, y], ...],
  "keypoint_scores": [...], "bbox_score"}]}``, or a dict holding that list as ``"instance_info"``
  (MMPose's ``--save-predictions``);
* ``.json``, COCO-results / Detectron2 style: a list of ``{"image_id", "keypoints": [x, y, s] * J, "score"}``;
* ``.json`` with plain arrays: ``{"keypoints": [[[x, y(, s)], ...], ...], "width", "height"}``;
* ``.npz`` with ``keypoints`` ``(T, J, 2|3)`` (optional ``scores`` ``(T, J)``), ``width``, ``height``
  and optionally ``layout``; ``.npy`` holding the ``(T, J, 2|3)`` array alone.

A third coordinate is the detector's score. Several people in a frame: the highest-scored one
is kept. A frame nobody was detected in is all-missing (filled later along time). The image size
can come from the file (``width``/``height``, ``image_width``/``image_height``) or the caller.
Nothing is unpickled: ``.npz``/``.npy`` are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, ShapeError
from ..skeleton import get_layout, list_layouts
from .coco import COCO_17_NAMES

__all__ = ["KeypointClip", "joint_names_of", "known_keypoint_layouts", "read_keypoints"]

COCO = "coco"


@dataclass(frozen=True)
class KeypointClip:
    """2D keypoints of one person over a clip, in pixels of a ``width`` x ``height`` image.

    ``keypoints`` may hold NaN where nothing was detected; ``scores`` is None when the file had none.
    """

    keypoints: np.ndarray  # (T, J, 2) float64 pixels
    scores: np.ndarray | None  # (T, J) float64
    width: int
    height: int
    layout: str  # "coco" or a registered layout name
    source: str

    @property
    def frames(self) -> int:
        return int(self.keypoints.shape[0])


def known_keypoint_layouts() -> list[str]:
    return [COCO] + list_layouts()


def joint_names_of(layout: str) -> tuple[str, ...]:
    return COCO_17_NAMES if layout == COCO else get_layout(layout).joint_names


def _check_layout(layout: str, source: str) -> str:
    if layout not in known_keypoint_layouts():
        raise DataError(f"{source}: unknown keypoint layout {layout!r}; known: {', '.join(known_keypoint_layouts())}")
    return layout


def _size(value: Any, what: str, source: str) -> int | None:
    if value is None:
        return None
    try:
        size = int(np.asarray(value).item())
    except (TypeError, ValueError):
        raise DataError(f"{source}: {what} must be a positive integer number of pixels, got {value!r}") from None
    if size <= 0:
        raise DataError(f"{source}: {what} must be a positive integer number of pixels, got {size}")
    return size


def _split_scores(arr: np.ndarray, source: str, key: str) -> tuple[np.ndarray, np.ndarray | None]:
    if arr.ndim != 3 or arr.shape[-1] not in (2, 3) or arr.shape[0] < 1:
        raise ShapeError(f"{source}: {key!r} must be (T>=1, J, 2) or (T, J, 3) with scores, got {tuple(arr.shape)}")
    arr = arr.astype(np.float64)
    return (arr[..., :2], arr[..., 2]) if arr.shape[-1] == 3 else (arr, None)


def _best(instances: list[Any], source: str, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The highest-scored person of one MMPose frame, as ``(J, 2)`` and ``(J,)``."""
    best, best_score = None, -np.inf
    for person in instances:
        if not isinstance(person, dict) or "keypoints" not in person:
            raise DataError(f"{source}: frame {frame}: each instance needs 'keypoints' (and 'keypoint_scores')")
        xy = np.asarray(person["keypoints"], dtype=np.float64)
        if xy.ndim != 2 or xy.shape[-1] not in (2, 3):
            raise ShapeError(f"{source}: frame {frame}: instance 'keypoints' must be (J, 2|3), got {tuple(xy.shape)}")
        if "keypoint_scores" in person:
            scores = np.asarray(person["keypoint_scores"], dtype=np.float64).reshape(-1)
        else:
            scores = xy[:, 2] if xy.shape[-1] == 3 else np.ones(xy.shape[0])
        xy = xy[:, :2]
        if scores.shape[0] != xy.shape[0]:
            raise ShapeError(f"{source}: frame {frame}: {xy.shape[0]} keypoints but {scores.shape[0]} keypoint_scores")
        score = float(person.get("bbox_score", person.get("score", np.mean(scores))) or 0.0)
        if score > best_score:
            best, best_score = (xy, scores), score
    return best


def _stack(per_frame: list[tuple[np.ndarray, np.ndarray] | None], source: str) -> tuple[np.ndarray, np.ndarray]:
    counts = {f[0].shape[0] for f in per_frame if f is not None}
    if not counts:
        raise DataError(f"{source}: no person detected in any of its {len(per_frame)} frames")
    if len(counts) > 1:
        raise ShapeError(f"{source}: frames disagree on the joint count: {sorted(counts)}")
    joints = counts.pop()
    kp = np.full((len(per_frame), joints, 2), np.nan)
    sc = np.zeros((len(per_frame), joints))
    for t, f in enumerate(per_frame):
        if f is not None:
            kp[t], sc[t] = f
    return kp, sc


def _mmpose_frames(frames: list[Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    by_id: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or "instances" not in frame:
            raise DataError(f"{source}: frame {i}: expected {{'frame_id', 'instances': [...]}}")
        frame_id = int(frame.get("frame_id", i))
        by_id[frame_id] = _best(frame["instances"] or [], source, frame_id)
    first = min(by_id)
    return _stack([by_id.get(t) for t in range(first, max(by_id) + 1)], source)


def _coco_results(items: list[Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        flat = np.asarray(item["keypoints"], dtype=np.float64).reshape(-1)
        if flat.size % 3:
            raise ShapeError(f"{source}: image_id {item['image_id']}: 'keypoints' must be [x, y, score] * J, got {flat.size} numbers")
        groups.setdefault(int(item["image_id"]), []).append(
            {"keypoints": flat.reshape(-1, 3), "score": item.get("score", None)}
        )
    first, last = min(groups), max(groups)
    return _stack([_best(groups[t], source, t) if t in groups else None for t in range(first, last + 1)], source)


def _read_json(path: Path, source: str) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: not a readable JSON file: {exc}") from None
    meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(raw, dict) and "instance_info" in raw:
        raw = raw["instance_info"]
    if isinstance(raw, dict) and "keypoints" in raw:
        kp, sc = _split_scores(np.asarray(raw["keypoints"], dtype=np.float64), source, "keypoints")
        if "scores" in raw:
            sc = np.asarray(raw["scores"], dtype=np.float64)
        return kp, sc, meta
    if isinstance(raw, list) and raw and all(isinstance(f, dict) and "instances" in f for f in raw):
        return (*_mmpose_frames(raw, source), meta)
    if isinstance(raw, list) and raw and all(isinstance(f, dict) and {"image_id", "keypoints"} <= set(f) for f in raw):
        return (*_coco_results(raw, source), meta)
    found = sorted(raw)[:8] if isinstance(raw, dict) else f"a {type(raw).__name__} of {len(raw) if isinstance(raw, list) else 1}"
    raise DataError(
        f"{source}: unknown key layout ({found}); expected MMPose frames [{{'frame_id', 'instances'}}], "
        "COCO results [{'image_id', 'keypoints'}], or {'keypoints': (T, J, 2|3), 'width', 'height'}"
    )


def _read_npz(path: Path, source: str) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            members = {k: data[k] for k in data.files}
    except ValueError as exc:
        raise DataError(f"{source}: holds pickled objects, which are not loaded ({exc}); save plain arrays") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable .npz file: {exc}") from None
    if "keypoints" not in members:
        raise DataError(
            f"{source}: unknown key layout {sorted(members)}; expected 'keypoints' (T, J, 2|3), "
            "optional 'scores' (T, J), 'width', 'height', 'layout'"
        )
    kp, sc = _split_scores(members["keypoints"], source, "keypoints")
    if "scores" in members:
        sc = members["scores"].astype(np.float64)
    meta = {k: (str(v) if v.dtype.kind in "US" else v) for k, v in members.items() if k not in ("keypoints", "scores")}
    return kp, sc, meta


def _read_npy(path: Path, source: str) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{source}: holds pickled objects, which are not loaded ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable .npy file: {exc}") from None
    return (*_split_scores(np.asarray(arr), source, "array"), {})


def read_keypoints(
    path: str | Path, *, layout: str | None = None, width: int | None = None, height: int | None = None
) -> KeypointClip:
    """Read a keypoint file (see the module doc); ``layout``/``width``/``height`` override the file's.

    Raises:
        DataError: unreadable file, unknown key layout or joint layout, missing image size.
        ShapeError: a joint count that does not match the layout, or malformed arrays.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataError(f"{source}: keypoint file does not exist")
    readers = {".json": _read_json, ".npz": _read_npz, ".npy": _read_npy}
    if path.suffix.lower() not in readers:
        raise DataError(f"{source}: unsupported keypoint file type {path.suffix!r}; use .json, .npz or .npy")
    kp, scores, meta = readers[path.suffix.lower()](path, source)
    name = _check_layout(layout or str(meta.get("layout", COCO)), source)
    expected = len(joint_names_of(name))
    if kp.shape[1] != expected:
        raise ShapeError(
            f"{source}: {kp.shape[1]} joints per frame, but layout {name!r} has {expected}; "
            f"pass --layout with one of {', '.join(known_keypoint_layouts())}"
        )
    if scores is not None and scores.shape != kp.shape[:2]:
        raise ShapeError(f"{source}: 'scores' must be (T, J) = {kp.shape[:2]}, got {tuple(scores.shape)}")
    w = _size(width, "width", source) or _size(meta.get("width", meta.get("image_width")), "width", source)
    h = _size(height, "height", source) or _size(meta.get("height", meta.get("image_height")), "height", source)
    if w is None or h is None:
        raise DataError(
            f"{source}: image size missing (needed for the screen normalisation the model was trained with); "
            "store 'width' and 'height' in the file or pass --width and --height"
        )
    return KeypointClip(keypoints=kp, scores=scores, width=w, height=h, layout=name, source=source)
