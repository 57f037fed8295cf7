"""Lift your own 2D keypoints: a detector's file in, 3D poses (metres, camera frame) out.

The steps, each one the model's own convention:

1. the file's joints are mapped onto the model's layout (COCO-17 -> Human3.6M-17 as documented
   in :mod:`gastbench.keypoints.coco`; a file already in a registered layout is selected by name);
2. low-confidence and missing joints are filled along time (:func:`~gastbench.keypoints.fill_gaps`);
3. pixels are normalised to the screen coordinates every dataset reader produces
   (``x/w*2-1``, ``y/w*2-h/w``, :func:`~gastbench.data.cameras.normalize_screen_coordinates`);
4. the whole clip goes through the batched evaluator (:func:`predict_sequences`), at the
   frame stride the weights were trained at (each phase ``kp[p::s]`` lifted, then interleaved);
   or, ``causal=True``, frame by frame through :class:`~gastbench.streaming.StreamingLifter`, as
   it would run live (the same poses; each frame's latency is measured);
5. poses are made root-relative: the model predicts camera-frame joints relative to its root.

Several people are lifted one track at a time by :mod:`gastbench.people`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.cameras import normalize_screen_coordinates
from .errors import ConfigError, DataError, ShapeError
from .keypoints.fill import DEFAULT_MIN_SCORE, fill_gaps
from .keypoints.joint_sets import to_layout
from .keypoints.readers import KeypointClip, joint_names_of
from .skeleton import Skeleton

if TYPE_CHECKING:
    from .lifter import Lifter

__all__ = [
    "COORDINATES",
    "LiftedClip",
    "PreparedKeypoints",
    "lift_clip",
    "lift_keypoints",
    "output_paths",
    "prepare_keypoints",
]

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
    track_id: int = 0
    first_frame: int = 0  # the clip frame this person's first frame is


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
    latency_ms: np.ndarray | None = None  # (T,) each frame's time through the model, when lifted frame by frame


def prepare_keypoints(
    clip: KeypointClip, layout: Skeleton, *, min_score: float = DEFAULT_MIN_SCORE
) -> PreparedKeypoints:
    """Map, check, fill and normalise a clip for a model whose input layout is ``layout``."""
    # NaN scored as confident is a broken file; check on the file's own joints so the error names them.
    fill_gaps_check = clip.scores is not None and np.any(
        ~np.all(np.isfinite(clip.keypoints), axis=-1) & (np.nan_to_num(clip.scores, nan=-np.inf) >= min_score)
    )
    if fill_gaps_check:
        fill_gaps(
            clip.keypoints,
            clip.scores,
            min_score=min_score,
            joint_names=joint_names_of(clip.layout),
            source=clip.source,
        )
    kp, scores = to_layout(clip.keypoints, clip.scores, clip.layout, layout, clip.source)
    filled, was_filled = fill_gaps(kp, scores, min_score=min_score, joint_names=layout.joint_names, source=clip.source)
    normalized = normalize_screen_coordinates(filled, clip.width, clip.height).astype(np.float32)
    return PreparedKeypoints(
        layout, filled, normalized, was_filled, clip.width, clip.height, clip.source, clip.track_id, clip.first_frame
    )


def lift_keypoints(
    lifter: Lifter,
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
        raise ShapeError(
            f"expected keypoints (T>=1, {j_in}, 2) for layout {lifter.input_layout.name!r}, got {tuple(kp.shape)}"
        )
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
    lifter: Lifter,
    clip: KeypointClip,
    *,
    weights: dict[str, Any] | None = None,
    train_stride: int = 1,
    min_score: float = DEFAULT_MIN_SCORE,
    flip: bool = True,
    device: str = "cpu",
    causal: bool = False,
) -> LiftedClip:
    """Prepare ``clip`` for ``lifter`` and lift it, batched or (``causal``) frame by frame (see the module doc)."""
    prepared = prepare_keypoints(clip, lifter.input_layout, min_score=min_score)
    latency = None
    started = time.perf_counter()
    if causal:
        from .streaming import StreamingLifter

        live = StreamingLifter(lifter, train_stride=train_stride, flip=flip, device=device)
        poses, latency = np.empty((clip.frames, lifter.output_layout.num_joints, 3), np.float32), np.empty(clip.frames)
        for t, frame in enumerate(prepared.normalized):
            tick = time.perf_counter()
            poses[t] = live.push(frame)
            latency[t] = (time.perf_counter() - tick) * 1000.0
    else:
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
        latency_ms=latency,
    )


def output_paths(out: str | Path) -> tuple[Path, Path]:
    """``out`` without its suffix + ``.npz`` and ``.json``."""
    base = Path(out)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")
