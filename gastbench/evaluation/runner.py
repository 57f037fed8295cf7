"""``evaluate``: a lifter over a dataset's test split under a protocol, into a full result record."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..errors import ConfigError, DataError, ShapeError, WeightsError
from ..lifter import Lifter
from ..results import EvalResult, ProtocolInfo, now_iso
from ..revision import code_revision
from ..skeleton import Skeleton
from .aggregate import Aggregate, RowAccumulator
from .clips import clip_rule, iter_clip_predictions
from .device import device_name, resolve_device
from .inference import lift_sequences
from .predictions import PredictionWriter
from .protocol import EvalOptions, ResolvedProtocol, align_for_scoring, resolve_protocol
from .scale25d import metres_per_image_unit

if TYPE_CHECKING:
    from ..data import PoseDataset, PoseSequence
    from ..pretrained import WeightsInfo

__all__ = ["evaluate", "incomplete_sequences"]


def evaluate(
    lifter: Lifter,
    dataset: PoseDataset,
    options: EvalOptions | None = None,
    weights: WeightsInfo | None = None,
    progress: bool = True,
) -> EvalResult:
    """Evaluate ``lifter`` on ``dataset``'s test split under ``options``; return the full record."""
    options = options or EvalOptions()
    started = time.perf_counter()
    input_index = _input_joints(lifter, dataset)
    protocol = resolve_protocol(lifter, options)
    device = resolve_device(options.device)
    sequences, subjects, actions = _select_sequences(dataset, options)
    keypoints = [_checked_sequence(dataset, s, dataset.layout_2d) for s in sequences]
    lifter = lifter.to(device)
    rows = RowAccumulator(sequences, subjects, actions, protocol.precision, dataset.extra_metrics)
    writer = PredictionWriter(options.save_predictions, sequences, protocol) if options.save_predictions else None
    predictions = _scored_predictions(
        lifter,
        keypoints,
        protocol,
        chunk_frames=options.chunk_frames,
        frames_per_forward=options.frames_per_forward,
        flip=protocol.flip,
        device=device,
        progress=progress,
        input_joints=input_index,  # a model built at a layout inside the dataset's sees its own joints
    )
    # One sequence at a time: scored, written if asked, then dropped (memory does not grow with the test set).
    with writer if writer is not None else contextlib.nullcontext():
        for seq, (pred, frames) in zip(sequences, predictions):
            if not np.isfinite(pred).all():
                raise WeightsError(
                    f"{lifter.name or type(lifter).__name__}: the model predicts NaN or inf for {seq.subject}/{seq.name}/"
                    f"{seq.camera} (first at frame {int(np.argwhere(~np.isfinite(pred))[0][0])}); its weights are broken "
                    "or do not belong to this model"
                )
            pred, gt = _scored_pair(lifter, dataset, seq, pred, protocol, frames)
            valid = _scored_frames(dataset, seq, frames, pred.shape[0])
            rows.add(pred, gt, valid)
            if writer is not None:
                writer.add(seq, *((pred, gt) if valid is None else (pred[valid], gt[valid])))
    return _record(lifter, dataset, options, protocol, rows.result(), len(sequences), weights, device, started)


def _scored_predictions(
    lifter: Lifter, keypoints: list[np.ndarray], protocol: ResolvedProtocol, **engine: Any
) -> Iterator[tuple[np.ndarray, np.ndarray | slice]]:
    """Each sequence's scored predictions and the frames whose targets they are scored against."""
    if protocol.clip_scoring == "once":
        for pred in lift_sequences(lifter, keypoints, protocol.train_stride, protocol.score_stride, **engine):
            yield pred, slice(None, None, protocol.score_stride)
        return
    # A sequence-to-sequence paper convention scores the clips as the authors lay them out (clips.py).
    if protocol.train_stride != 1 or protocol.score_stride != 1:
        raise ConfigError(
            f"{lifter.name}: its paper convention scores its clips as laid out ({protocol.clip_scoring}); that needs "
            f"every frame at stride 1, got train_stride {protocol.train_stride}, score_stride {protocol.score_stride}"
        )
    engine.pop("chunk_frames", None)
    per_forward = engine.pop("frames_per_forward", None)
    clips = per_forward // lifter.clip_frames if per_forward and lifter.clip_frames else None
    yield from iter_clip_predictions(
        lifter, keypoints, scoring=protocol.clip_scoring, clips_per_forward=clips or None, **engine
    )


def _select_sequences(dataset: PoseDataset, options: EvalOptions) -> tuple[list[PoseSequence], list[str], list[str]]:
    split = options.split
    subjects = list(options.subjects) if options.subjects is not None else dataset.subjects(split)
    actions = list(options.actions) if options.actions is not None else dataset.actions(split)
    sequences = dataset.sequences(split, subjects=subjects, actions=actions)
    if options.max_sequences is not None:
        sequences = sequences[: options.max_sequences]
    if not sequences:
        raise DataError(
            f"dataset {dataset.name!r} ({dataset.input}): no {split!r} sequences for subjects {subjects} "
            f"and actions {actions}"
        )
    return sequences, subjects, actions


def _input_joints(lifter: Lifter, dataset: PoseDataset) -> list[int] | None:
    """Indices of the lifter's 2D joints in the dataset's layout: None when equal, a subset map otherwise.

    A model whose native layout is inside the dataset's (h36m16 in h36m: Martinez, SemGCN) is fed
    the dataset's 2D keypoints of its own joints, matched by name.
    """
    if lifter.input_layout.name == dataset.layout_2d.name:
        return None
    if all(name in dataset.layout_2d.joint_names for name in lifter.input_layout.joint_names):
        return list(lifter.input_layout.indices_in(dataset.layout_2d))
    raise ConfigError(
        f"{lifter.name}: built for 2D layout {lifter.input_layout.name!r} but dataset {dataset.name!r} "
        f"({dataset.input}) gives {dataset.layout_2d.name!r}, which lacks some of its joints; build it with "
        "layout=dataset.layout_2d or a layout inside it"
    )


def incomplete_sequences(dataset: PoseDataset, options: EvalOptions) -> list[str]:
    """Why the evaluated split and subjects are not covered in full (missing 2D, large trims)."""
    subjects = options.subjects if options.subjects is not None else dataset.subjects(options.split)
    return [why for split, subject, why in dataset.incomplete if split == options.split and subject in subjects]


def _checked_sequence(dataset: PoseDataset, seq: PoseSequence, layout: Skeleton) -> np.ndarray:
    """A sequence's 2D keypoints as float32 ``(T>=1, J, 2)`` (no copy for the data layer's float32);
    a ShapeError naming the sequence, before any lifting, when they or its 3D positions are malformed."""
    kp = np.asarray(seq.keypoints_2d, dtype=np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (layout.num_joints, 2) or kp.shape[0] < 1:
        raise ShapeError(
            f"{dataset.name} {seq.subject}/{seq.name}/{seq.camera}: expected 2D keypoints "
            f"(T>=1, {layout.num_joints}, 2) for layout {layout.name!r}, got {tuple(kp.shape)}"
        )
    gt = seq.positions_3d
    if gt.ndim != 3 or gt.shape[1:] != (dataset.layout_3d.num_joints, 3) or gt.shape[0] != kp.shape[0]:
        raise ShapeError(
            f"{dataset.name} {seq.subject}/{seq.name}/{seq.camera}: 3D positions {tuple(gt.shape)} "
            f"do not match 2D keypoints {tuple(seq.keypoints_2d.shape)} and layout {dataset.layout_3d.name!r}"
        )
    return kp


def _scored_pair(
    lifter: Lifter,
    dataset: PoseDataset,
    seq: PoseSequence,
    pred: np.ndarray,
    protocol: ResolvedProtocol,
    frames: np.ndarray | slice,
) -> tuple[np.ndarray, np.ndarray]:
    """One sequence's predictions and ground truth of the scored frames and joints, aligned per the protocol.

    ``pred`` holds the scored frames only, in the model's output layout; ``frames`` selects their
    targets (every ``score_stride``-th frame, or a sequence-to-sequence convention's clip layout).
    A 2.5D model's output is brought to metres first (:mod:`~gastbench.evaluation.scale25d`).
    """
    if lifter.output_scale == "image-2.5d":
        pred = pred * metres_per_image_unit(dataset.name, seq)[frames][:, None, None]
    gt = np.asarray(seq.positions_3d[frames], dtype=np.float32)
    gt = gt - gt[:, dataset.layout_3d.root : dataset.layout_3d.root + 1]  # a no-op for well-formed data
    gt_index = list(lifter.output_layout.indices_in(dataset.layout_3d))
    return align_for_scoring(pred, gt[:, gt_index], protocol)


def _scored_frames(
    dataset: PoseDataset, seq: PoseSequence, frames: np.ndarray | slice, count: int
) -> np.ndarray | None:
    """The sequence's own mask of frames to score (MPI-INF-3DHP's valid frames) of the scored frames ``frames``
    (every n-th, or a clip layout); None: all."""
    if seq.scored is None:
        return None
    mask = np.asarray(seq.scored, dtype=bool)[frames]
    if mask.shape != (count,):
        raise ShapeError(
            f"{dataset.name} {seq.subject}/{seq.name}/{seq.camera}: frame mask of shape {np.shape(seq.scored)} "
            f"does not match its {seq.frames} frames"
        )
    return mask


def _compute_settings(lifter: Lifter, options: EvalOptions, device: torch.device) -> dict[str, object]:
    """The settings that move results by float rounding only, recorded so that two runs can be told apart."""
    from ..models._blas import blas_name
    from .inference import auto_chunking

    chunk, per_forward = auto_chunking(lifter.receptive_field, device, lifter.eval_chunk_frames)
    return {
        "torch_threads": torch.get_num_threads(),
        "fused_path_blas": blas_name() if device.type == "cpu" else "device",
        "chunk_frames": options.chunk_frames or chunk,
        "frames_per_forward": options.frames_per_forward or per_forward,
    }


def _record(
    lifter: Lifter,
    dataset: PoseDataset,
    options: EvalOptions,
    protocol: ResolvedProtocol,
    rows: Aggregate,
    n_sequences: int,
    weights: WeightsInfo | None,
    device: torch.device,
    started: float,
) -> EvalResult:
    from .. import __version__

    wall = time.perf_counter() - started
    return EvalResult(
        model=lifter.name or type(lifter).__name__,
        dataset=dataset.name,
        input=dataset.input,
        kind="measured",
        family=lifter.metadata.family,
        paper=lifter.metadata.paper,
        weights=weights.to_dict() if weights is not None else None,
        source_2d=dataset.source_2d,
        source_2d_sha256=dataset.source_2d_sha256,
        synthetic=bool(dataset.synthetic),
        protocol=ProtocolInfo(
            convention=protocol.convention,
            split=options.split,
            score_stride=protocol.score_stride,
            train_stride=protocol.train_stride,
            flip=protocol.flip,
            causal=bool(lifter.causal),
            joints=list(protocol.joints.joint_names),
            recenter=protocol.recenter,
            precision=protocol.precision,
            subjects=rows.subjects,
            actions=rows.actions,
            skipped=list(dataset.skipped),
            max_sequences=options.max_sequences,
            trimmed=list(dataset.notes),
            incomplete=incomplete_sequences(dataset, options),
            annotation_3d=dataset.annotation_3d,
            clips=clip_rule(lifter, protocol.clip_scoring) if lifter.clip_frames is not None else None,
            output_scale=lifter.output_scale,
        ),
        per_action=rows.per_action,
        per_cell=rows.per_cell,
        average_over_actions=rows.average_over_actions,
        average_over_frames=rows.average_over_frames,
        parameters=lifter.num_parameters(),
        receptive_field=lifter.receptive_field,
        frames_evaluated=rows.frames,
        sequences_evaluated=n_sequences,
        device=device_name(device),
        compute=_compute_settings(lifter, options, device),
        wall_time_s=round(wall, 4),
        frames_per_s=round(float(rows.frames) / wall, 1) if wall > 0 else None,
        gastbench_version=__version__,
        code_revision=code_revision(),
        torch_version=torch.__version__,
        timestamp=now_iso(),
    )
