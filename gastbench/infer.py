"""Lift your own 2D keypoints: a detector's file in, 3D poses (metres, camera frame) out.

The steps, each one the model's own convention:

1. the file's joints are mapped onto the model's layout (COCO-17 -> Human3.6M-17 as documented
   in :mod:`gastbench.keypoints.coco`; a file already in a registered layout is selected by name);
2. low-confidence and missing joints are filled along time (:func:`~gastbench.keypoints.fill_gaps`);
3. pixels are normalised to the screen coordinates every dataset reader produces
   (``x/w*2-1``, ``y/w*2-h/w``, :func:`~gastbench.data.cameras.normalize_screen_coordinates`);
4. the whole clip goes through the batched evaluator (:func:`predict_sequences`), at the
   frame stride the weights were trained at (each phase ``kp[p::s]`` lifted, then interleaved);
5. poses are made root-relative: the model predicts camera-frame joints relative to its root.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.cameras import normalize_screen_coordinates
from .errors import ConfigError, DataError, ShapeError
from .outputs import replacing, write_text_file
from .keypoints.coco import coco_to_layout
from .keypoints.fill import DEFAULT_MIN_SCORE, fill_gaps
from .keypoints.readers import COCO, KeypointClip, joint_names_of
from .skeleton import Skeleton, get_layout

if TYPE_CHECKING:
    from .lifter import Lifter

__all__ = ["LiftedClip", "PreparedKeypoints", "lift_clip", "lift_keypoints", "prepare_keypoints", "save_lifted"]

#: Written into every JSON output so readers know what the numbers are.
COORDINATES = "camera frame (x right, y down, z forward), metres, root-relative (root joint at the origin)"


@dataclass(frozen=True)
class PreparedKeypoints:
    """A clip in the model's layout: filled pixels, the normalised model input, which joints were filled."""

    layout: Skeleton
    pixels: np.ndarray  # (T, J, 2) float64, filled
    normalized: np.ndarray  # (T, J, 2) float32, the model input
    filled: np.ndarray  # (T, J) bool
    width: int
    height: int
    source: str


@dataclass(frozen=True)
class LiftedClip:
    """3D poses of a clip and where they came from."""

    poses: np.ndarray  # (T, J, 3) float32, metres, camera frame, root-relative
    layout: Skeleton
    inputs: PreparedKeypoints
    model: str
    weights: dict[str, Any] | None
    train_stride: int
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)


def _to_layout(clip: KeypointClip, layout: Skeleton) -> tuple[np.ndarray, np.ndarray | None]:
    if clip.layout == COCO:
        return coco_to_layout(clip.keypoints, layout, clip.scores)
    source = get_layout(clip.layout)
    index = list(layout.indices_in(source))
    return clip.keypoints[:, index], None if clip.scores is None else clip.scores[:, index]


def prepare_keypoints(clip: KeypointClip, layout: Skeleton, *, min_score: float = DEFAULT_MIN_SCORE) -> PreparedKeypoints:
    """Map, check, fill and normalise a clip for a model whose input layout is ``layout``."""
    # NaN scored as confident is a broken file; check on the file's own joints so the error names them.
    fill_gaps_check = clip.scores is not None and np.any(
        ~np.all(np.isfinite(clip.keypoints), axis=-1) & (np.nan_to_num(clip.scores, nan=-np.inf) >= min_score)
    )
    if fill_gaps_check:
        fill_gaps(clip.keypoints, clip.scores, min_score=min_score, joint_names=joint_names_of(clip.layout), source=clip.source)
    kp, scores = _to_layout(clip, layout)
    filled, was_filled = fill_gaps(kp, scores, min_score=min_score, joint_names=layout.joint_names, source=clip.source)
    normalized = normalize_screen_coordinates(filled, clip.width, clip.height).astype(np.float32)
    return PreparedKeypoints(layout, filled, normalized, was_filled, clip.width, clip.height, clip.source)


def lift_keypoints(
    lifter: "Lifter",
    keypoints: np.ndarray,
    *,
    train_stride: int = 1,
    flip: bool = True,
    device: str = "cpu",
    chunk_frames: int | None = None,
) -> np.ndarray:
    """Normalised ``(T, J, 2)`` -> root-relative ``(T, J_out, 3)`` float32, the whole clip in batched forwards.

    A model trained at a frame stride sees the clip as that stride's phases, as in evaluation
    (:func:`gastbench.evaluation.inference.lift_sequences`).
    """
    from .evaluation.inference import lift_sequences

    kp = np.asarray(keypoints, dtype=np.float32)
    j_in = lifter.input_layout.num_joints
    if kp.ndim != 3 or kp.shape[1:] != (j_in, 2) or kp.shape[0] < 1:
        raise ShapeError(f"expected keypoints (T>=1, {j_in}, 2) for layout {lifter.input_layout.name!r}, got {tuple(kp.shape)}")
    if not np.all(np.isfinite(kp)):
        raise DataError("keypoints hold NaN or inf after gap filling; fill or drop the missing joints first")
    if isinstance(train_stride, bool) or not isinstance(train_stride, (int, np.integer)) or train_stride < 1:
        raise ConfigError(f"train_stride must be an integer >= 1, got {train_stride!r}")
    if lifter.output_scale != "metres":  # MotionBERT: metres need each frame's distance from the camera
        raise ConfigError(
            f"{lifter.name}: its output is {lifter.output_scale} (image units); metres need each frame's 2.5D factor, "
            "the person's distance from the camera, which a keypoint file does not give"
        )
    (out,) = lift_sequences(lifter, [kp], int(train_stride), 1, chunk_frames=chunk_frames, flip=flip, device=device)
    root = lifter.output_layout.root
    return out - out[:, root : root + 1]


def lift_clip(
    lifter: "Lifter",
    clip: KeypointClip,
    *,
    weights: dict[str, Any] | None = None,
    train_stride: int = 1,
    min_score: float = DEFAULT_MIN_SCORE,
    flip: bool = True,
    device: str = "cpu",
) -> LiftedClip:
    """Prepare ``clip`` for ``lifter`` and lift it (see the module doc)."""
    prepared = prepare_keypoints(clip, lifter.input_layout, min_score=min_score)
    started = time.perf_counter()
    poses = lift_keypoints(lifter, prepared.normalized, train_stride=train_stride, flip=flip, device=device)
    seconds = time.perf_counter() - started
    return LiftedClip(
        poses=poses,
        layout=lifter.output_layout,
        inputs=prepared,
        model=lifter.name or type(lifter).__name__,
        weights=weights,
        train_stride=train_stride,
        seconds=seconds,
    )


def output_paths(out: str | Path) -> tuple[Path, Path]:
    """``out`` without its suffix + ``.npz`` and ``.json``."""
    base = Path(out)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def save_lifted(lifted: LiftedClip, out: str | Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``<out>.npz`` (arrays) and ``<out>.json`` (the same poses, readable); never overwrite silently."""
    npz_path, json_path = output_paths(out)
    existing = [str(p) for p in (npz_path, json_path) if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"{', '.join(existing)} already exist(s); pass --overwrite to replace")
    layout = lifted.layout
    with replacing(npz_path, "wb") as handle:
        np.savez_compressed(
            handle,
            poses_3d=lifted.poses,
            joint_names=np.array(layout.joint_names),
            parents=np.array(layout.parents),
            keypoints_2d=lifted.inputs.pixels.astype(np.float32),
            filled=lifted.inputs.filled,
            width=np.int64(lifted.inputs.width),
            height=np.int64(lifted.inputs.height),
        )
    record = {
        "format": "gastbench-infer/1",
        "model": lifted.model,
        "weights": lifted.weights,
        "train_stride": lifted.train_stride,
        "source": lifted.inputs.source,
        "image_size": [lifted.inputs.width, lifted.inputs.height],
        "layout": layout.name,
        "joint_names": list(layout.joint_names),
        "parents": list(layout.parents),
        "coordinates": COORDINATES,
        "frames": int(lifted.poses.shape[0]),
        "filled_joints": int(lifted.inputs.filled.sum()),
        "poses_3d": np.round(lifted.poses.astype(np.float64), 5).tolist(),
    }
    write_text_file(json_path, json.dumps(record, separators=(",", ":")) + "\n")
    return npz_path, json_path
