"""What a picture shows: one dataset sequence, the models' predictions of it, per-frame errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..skeleton import Skeleton
from .animate import Keypoints2D, PoseTrack

if TYPE_CHECKING:
    from ..data import PoseDataset, PoseSequence

__all__ = [
    "ModelSpec",
    "find_sequence",
    "frame_errors_mm",
    "image_size_of",
    "parse_model_spec",
    "predict_tracks",
    "predictions_track",
]


@dataclass(frozen=True)
class ModelSpec:
    """``MODEL`` or ``MODEL=WEIGHTS.safetensors`` from the command line."""

    name: str
    weights: Path | None = None


def parse_model_spec(text: str) -> ModelSpec:
    name, _, weights = text.partition("=")
    if not name:
        raise ConfigError(f"model spec {text!r}: expected MODEL or MODEL=WEIGHTS.safetensors")
    return ModelSpec(name, Path(weights) if weights else None)


def find_sequence(
    dataset: PoseDataset, subject: str | None, action: str | None, camera: str | None, split: str = "test"
) -> PoseSequence:
    """The first sequence of ``split`` matching subject, action (sequence or folded name) and camera (id or index)."""
    sequences = dataset.sequences(split, subjects=[subject] if subject else None)
    if action:
        sequences = [s for s in sequences if action in (s.name, s.action)]
    if camera is not None:
        if camera.isdigit() and not any(s.camera == camera for s in sequences):
            ids = sorted({s.camera for s in sequences})
            camera = ids[int(camera)] if int(camera) < len(ids) else camera
        sequences = [s for s in sequences if s.camera == camera]
    if not sequences:
        known = sorted({f"{s.subject}/{s.name}" for s in dataset.sequences(split)})[:12]
        raise DataError(
            f"{dataset.name} ({dataset.input}): no {split} sequence for subject={subject!r} action={action!r} "
            f"camera={camera!r}; some sequences: {known}"
        )
    return sequences[0]


def image_size_of(dataset: PoseDataset, seq: PoseSequence) -> tuple[int, int] | None:
    """The camera's image size in pixels, when the dataset's calibration has that camera."""
    from ..data.cameras import load_cameras
    from ..errors import GastbenchError

    try:
        cameras = load_cameras("humaneva" if dataset.name == "humaneva" else "h36m")
    except GastbenchError:  # no calibration only means the 2D panel stays in normalised coordinates
        return None
    for intrinsics in cameras.intrinsics:
        if intrinsics.id == seq.camera:
            return intrinsics.res_w, intrinsics.res_h
    return None


def pixels(keypoints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from ..data.cameras import image_coordinates

    return image_coordinates(np.asarray(keypoints, dtype=np.float64), *size)


def frame_errors_mm(pred: np.ndarray, pred_layout: Skeleton, gt: np.ndarray, gt_layout: Skeleton) -> np.ndarray:
    """MPJPE per frame (mm) on the prediction's joints, both root-relative."""
    target = np.asarray(gt, dtype=np.float64)[:, list(pred_layout.indices_in(gt_layout))]
    p = np.asarray(pred, dtype=np.float64)
    if p.shape != target.shape:
        raise ShapeError(f"prediction {p.shape} and ground truth {target.shape} differ")
    root = pred_layout.root
    p = p - p[:, root : root + 1]
    target = target - target[:, root : root + 1]
    return np.linalg.norm(p - target, axis=-1).mean(axis=-1) * 1000.0


def predict_tracks(
    specs: list[ModelSpec],
    dataset: PoseDataset,
    seq: PoseSequence,
    *,
    random_init: bool = False,
    seed: int = 0,
    train_stride: int | None = None,
    offline: bool = False,
) -> list[PoseTrack]:
    """Each model lifts the whole sequence (batched, at its training stride); one track per model."""
    from ..infer import lift_keypoints
    from ..pretrained import resolve_lifter

    tracks = []
    for spec in specs:
        lifter, info = resolve_lifter(
            spec.name,
            dataset=dataset.name,
            input=dataset.input,
            layout=dataset.layout_2d,
            weights=spec.weights,
            random_init=random_init and spec.weights is None,
            seed=seed,
            offline=offline,
        )
        stride = train_stride or info.train_stride or 1
        pred = lift_keypoints(lifter, np.asarray(seq.keypoints_2d), train_stride=stride)
        error = frame_errors_mm(pred, lifter.output_layout, np.asarray(seq.positions_3d), dataset.layout_3d)
        label = spec.name + (" (untrained)" if info.untrained else "")
        tracks.append(PoseTrack(label, pred, lifter.output_layout, error))
    return tracks


def predictions_track(path: Path, dataset: PoseDataset, seq: PoseSequence) -> PoseTrack:
    """A track from ``gastbench eval --save-predictions`` output (every frame must have been scored)."""
    from ..evaluation.predictions import prediction_key, read_predictions
    from ..skeleton import get_layout, list_layouts

    saved, key = read_predictions(path), prediction_key(seq)
    if key not in saved.pred:
        raise DataError(f"{path}: no predictions for {key!r}; sequences in the file include {sorted(saved.pred)[:10]}")
    pred, names = saved.pred[key], saved.joint_names
    layout = next((get_layout(n) for n in list_layouts() if get_layout(n).joint_names == names), None)
    if layout is None:
        raise DataError(f"{path}: joint_names {list(names)} match no registered layout")
    if pred.shape[0] != seq.frames:
        raise ShapeError(
            f"{path}: {key} has {pred.shape[0]} frames, the sequence {seq.frames} (saved with --score-stride?)"
        )
    error = frame_errors_mm(pred, layout, np.asarray(seq.positions_3d), dataset.layout_3d)
    return PoseTrack(path.stem, pred, layout, error)


def inputs_panel(dataset: PoseDataset, seq: PoseSequence) -> Keypoints2D:
    size = image_size_of(dataset, seq)
    kp = np.asarray(seq.keypoints_2d)
    shown = pixels(kp, size) if size is not None else kp
    title = f"2D {dataset.input}: {seq.subject} {seq.name}"
    return Keypoints2D(shown, dataset.layout_2d, size, title)


def ground_truth_track(dataset: PoseDataset, seq: PoseSequence) -> PoseTrack:
    return PoseTrack("ground truth", np.asarray(seq.positions_3d), dataset.layout_3d)
