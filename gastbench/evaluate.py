"""The protocol runner: whole test sequences through a lifter, batched, then per-action metrics.

How the model is run (fast and exact, no Python loop per frame or window):

1. each sequence is padded at both ends by repeating its first/last frame, ``(RF-1)/2`` frames
   per side (``RF-1`` on the left for causal models), so every frame gets a full window;
2. all padded sequences are concatenated along time into one stream ``(L, J, 2)``;
3. the stream is cut into chunks of ``batch_size`` output frames that overlap by ``RF-1``
   input frames, and chunks go through ``lifter(x, mode="dilated")`` a group at a time
   (with their horizontally flipped copies when ``flip`` is on);
4. outputs are gathered back per sequence by index; the frames a chunk computes across a
   junction of two sequences are simply never gathered.

A valid temporal convolution makes every output frame a function of its own window only, so
the numbers do not depend on ``batch_size`` beyond float rounding (bitwise for a fixed chunking).

Protocols. ``convention="standard"`` (the leaderboard): every frame, the model's output joints,
ground-truth root at the origin, prediction not re-centred. ``convention="paper"`` applies the
model's :class:`~gastbench.lifter.PaperConvention`: ``downsample`` (every n-th frame, the model
seeing the subsampled video, as the reference scripts stride their test data), ``recenter``
and ``joints``.

Input stride. A model trained on every s-th frame (GAST-Net's Human3.6M recipe: 50 -> 10 fps,
s = 5) must see video at that rate, or its windows span the wrong time. With ``input_stride=s``
each sequence is split into its s phases ``kp[p::s]``; every phase is lifted as a sequence of
its own (all phases of all sequences in the one batched :func:`predict_sequences` call) and the
predictions are interleaved back into frame order, so every frame is still scored. A frame
stride (``downsample``) then only picks the frames scored; without ``input_stride`` it also sets
the rate the model sees, as before.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

import numpy as np
import torch

from .errors import ConfigError, DataError, ShapeError
from .lifter import Lifter
from .metrics import mpjpe, n_mpjpe, p_mpjpe
from .results import EvalResult, MetricRow, ProtocolInfo, now_iso
from .skeleton import Skeleton, get_layout, list_layouts

if TYPE_CHECKING:
    from .data import PoseDataset, Sequence
    from .weights import WeightsInfo

__all__ = ["EvalOptions", "ResolvedProtocol", "evaluate", "predict_sequences", "resolve_device", "resolve_protocol"]

Convention = Literal["standard", "paper"]

# Frames whose metrics are computed at once (bounds float64 temporaries, ~100 MB).
_METRIC_BLOCK = 1 << 16


@dataclass(frozen=True)
class EvalOptions:
    """Settings of one evaluation.

    Attributes:
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``/``"cuda:N"``.
        batch_size: output frames per chunk (memory vs. ``RF-1`` overlap per chunk); None picks
            :func:`auto_chunking`'s size for the model and device.
        frames_per_forward: input frames per forward pass; chunks are grouped up to it (None:
            one chunk and its flipped copy per pass on CPU, large groups on CUDA).
        flip: test-time flip augmentation (average of the prediction and the un-flipped
            prediction of the mirrored input).
        convention: ``"standard"`` or ``"paper"`` (see the module docstring).
        downsample: override the convention's frame stride (None: 1 standard, the paper's otherwise).
        input_stride: frame stride the model was trained at (the training ``downsample``, e.g. 5
            for GAST-Net's 10 fps Human3.6M recipe); every scored frame is lifted from the
            stride-s video around it (see the module docstring). 1 leaves the model seeing the
            scored frames' own rate. Under ``convention="paper"`` the stride is the convention's
            ``downsample``; a different value > 1 is a ConfigError.
        split: dataset split to evaluate.
        subjects / actions: restrict the evaluation (None: the protocol's).
        max_sequences: keep only the first n sequences (quick checks; recorded in the result).
        save_predictions: write the predictions and targets the metrics used to this ``.npz``.
    """

    device: str = "auto"
    batch_size: int | None = None
    frames_per_forward: int | None = None
    flip: bool = True
    convention: Convention = "standard"
    downsample: int | None = None
    input_stride: int = 1
    split: str = "test"
    subjects: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    max_sequences: int | None = None
    save_predictions: str | Path | None = None

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.frames_per_forward is not None and self.frames_per_forward < 1:
            raise ConfigError(f"frames_per_forward must be >= 1, got {self.frames_per_forward}")
        if self.convention not in ("standard", "paper"):
            raise ConfigError(f"convention must be 'standard' or 'paper', got {self.convention!r}")
        if self.downsample is not None and self.downsample < 1:
            raise ConfigError(f"downsample must be >= 1, got {self.downsample}")
        stride = self.input_stride
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ConfigError(f"input_stride must be an integer >= 1, got {self.input_stride!r}")
        if self.max_sequences is not None and self.max_sequences < 1:
            raise ConfigError(f"max_sequences must be >= 1, got {self.max_sequences}")


@dataclass(frozen=True)
class ResolvedProtocol:
    """The protocol actually applied: frame strides, re-centring and the joints averaged."""

    convention: Convention
    downsample: int  # every n-th frame is scored
    recenter: Literal["target", "prediction"]
    joints: Skeleton  # the joints averaged, a subset of the model's output layout
    joint_index: tuple[int, ...]  # their indices in the model's output layout
    input_stride: int = 1  # the model sees every s-th frame around each scored frame


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA if available else CPU; a CUDA request without CUDA is a ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    return dev


def _joint_subset(output: Skeleton, count: int) -> Skeleton:
    """A registered layout with ``count`` joints, all of them in ``output`` (e.g. h36m16 in h36m)."""
    if count == output.num_joints:
        return output
    for name in list_layouts():
        candidate = get_layout(name)
        if candidate.num_joints == count and all(j in output.joint_names for j in candidate.joint_names):
            return candidate
    raise ConfigError(
        f"paper convention averages {count} joints, but no known layout with {count} joints is a subset of "
        f"the model's output layout {output.name!r} ({output.num_joints} joints)"
    )


def resolve_protocol(lifter: Lifter, options: EvalOptions) -> ResolvedProtocol:
    """Standard protocol, or the lifter's paper convention when ``options.convention == "paper"``."""
    output = lifter.output_layout
    if options.convention == "standard":
        downsample, recenter, joints = 1, "target", output
    else:
        conv = lifter.metadata.convention
        downsample, recenter = conv.downsample, conv.recenter
        joints = _joint_subset(output, conv.joints) if conv.joints is not None else output
    if options.downsample is not None:
        downsample = options.downsample
    if recenter not in ("target", "prediction"):
        raise ConfigError(f"{lifter.name}: unknown recenter convention {recenter!r}; use 'target' or 'prediction'")
    # Without an explicit stride the model sees the scored frames' own rate (the reference scripts' practice).
    input_stride = options.input_stride if options.input_stride > 1 else int(downsample)
    if options.convention == "paper" and options.input_stride > 1 and options.input_stride != downsample:
        source = (
            f"the --downsample override {downsample}"
            if options.downsample is not None
            else f"its paper convention's downsample {downsample}"
        )
        raise ConfigError(
            f"{lifter.name or type(lifter).__name__}: convention='paper' feeds the model video at frame stride "
            f"{downsample} ({source}), but input_stride={options.input_stride} was asked; drop input_stride, or use "
            "convention='standard' to score every frame at that stride"
        )
    return ResolvedProtocol(
        convention=options.convention,
        downsample=int(downsample),
        recenter=recenter,  # type: ignore[arg-type]
        joints=joints,
        joint_index=joints.indices_in(output),
        input_stride=int(input_stride),
    )


@contextlib.contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """cuDNN autotuning picks algorithms by timing, which breaks digit-for-digit reruns."""
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def _progress(enabled: bool, total: int, description: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=True,
    )
    return progress, progress.add_task(description, total=total)


def _flip_2d(x: torch.Tensor, layout: Skeleton) -> torch.Tensor:
    x = x[..., list(layout.flip_permutation), :].clone()
    x[..., 0] = -x[..., 0]
    return x


def auto_chunking(receptive_field: int, device: torch.device) -> tuple[int, int]:
    """Default ``(batch_size, frames_per_forward)`` for a model's receptive field on a device.

    Each chunk recomputes the ``RF-1`` frames it overlaps with the next, so chunks should be
    long against the receptive field; but on CPU a forward's activations should also stay
    cache-sized (measured on a 2-core Xeon: gast-t27 runs ~10% faster per frame on ~300-frame
    chunks than on 2,400-frame ones, videopose3d-t243 is flat from ~1,300 frames on). A chunk
    is 16x the overlap within [256, 4096] frames, one chunk (and its flipped copy) per forward
    on CPU; a GPU takes large groups of chunks instead.
    """
    chunk = min(4096, max(256, 16 * (receptive_field - 1)))
    if device.type == "cuda":
        return chunk, 64 * (chunk + receptive_field - 1)
    return chunk, chunk + receptive_field - 1


def predict_sequences(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    *,
    batch_size: int | None = None,
    frames_per_forward: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> list[np.ndarray]:
    """Lift whole 2D sequences ``[(T_k, J_in, 2)]`` to ``[(T_k, J_out, 3)]`` float32 (see the module doc)."""
    device = resolve_device(device) if isinstance(device, str) else device
    rf = lifter.receptive_field
    auto_batch, auto_forward = auto_chunking(rf, device)
    batch_size = batch_size or auto_batch
    frames_per_forward = frames_per_forward or auto_forward
    left = lifter.pad + lifter.causal_shift
    right = lifter.pad - lifter.causal_shift
    j_in = lifter.input_layout.num_joints
    padded: list[np.ndarray] = []
    gather: list[np.ndarray] = []
    offset = 0
    for k, kp in enumerate(keypoints):
        if kp.ndim != 3 or kp.shape[1:] != (j_in, 2) or kp.shape[0] < 1:
            raise ShapeError(
                f"sequence {k}: expected 2D keypoints (T>=1, {j_in}, 2) for layout {lifter.input_layout.name!r}, "
                f"got {tuple(kp.shape)}"
            )
        frames = kp.shape[0]
        padded.append(np.concatenate([np.repeat(kp[:1], left, 0), kp, np.repeat(kp[-1:], right, 0)]))
        gather.append(np.arange(offset, offset + frames))
        offset += frames + rf - 1
    stream = torch.from_numpy(np.concatenate(padded).astype(np.float32, copy=False))
    n_out = stream.shape[0] - rf + 1
    n_chunks = math.ceil(n_out / batch_size)
    batch_size = math.ceil(n_out / n_chunks)  # equal chunks: the last one is not mostly padding
    tail = n_chunks * batch_size + rf - 1 - stream.shape[0]
    stream = torch.cat([stream, stream[-1:].expand(tail, j_in, 2)])
    window = batch_size + rf - 1
    chunks = stream.unfold(0, window, batch_size).permute(0, 3, 1, 2)  # (n_chunks, window, J, 2), a view
    per_forward = max(1, frames_per_forward // (window * (2 if flip else 1)))
    out_layout = lifter.output_layout
    out_perm = list(out_layout.flip_permutation)
    outputs: list[torch.Tensor] = []
    was_training = lifter.training
    lifter.eval()
    bar, task = _progress(progress, n_chunks, f"{lifter.name or 'lifter'}")
    try:
        with torch.inference_mode(), _deterministic(device), bar:
            for start in range(0, n_chunks, per_forward):
                x = chunks[start : start + per_forward].contiguous().to(device)
                if flip:
                    y = lifter(torch.cat([x, _flip_2d(x, lifter.input_layout)]), mode="dilated")
                    y, y_flip = y[: x.shape[0]], y[x.shape[0] :]
                    y_flip = y_flip[..., out_perm, :].clone()
                    y_flip[..., 0] = -y_flip[..., 0]
                    y = 0.5 * (y + y_flip)
                else:
                    y = lifter(x, mode="dilated")
                if y.shape[1:] != (batch_size, out_layout.num_joints, 3):
                    raise ShapeError(
                        f"{lifter.name}: dilated output {tuple(y.shape)} for input {tuple(x.shape)}; expected "
                        f"(B, {batch_size}, {out_layout.num_joints}, 3) (receptive field {rf})"
                    )
                outputs.append(y.to("cpu", torch.float32))
                bar.update(task, advance=x.shape[0])
    finally:
        lifter.train(was_training)
    flat = torch.cat(outputs).reshape(-1, out_layout.num_joints, 3)
    return [flat[torch.from_numpy(idx)].numpy() for idx in gather]


def _checked_keypoints(dataset: "PoseDataset", seq: "Sequence", layout: Skeleton) -> np.ndarray:
    """A sequence's 2D keypoints as float32 ``(T>=1, J, 2)``, else a ShapeError naming the sequence."""
    kp = np.asarray(seq.keypoints_2d, dtype=np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (layout.num_joints, 2) or kp.shape[0] < 1:
        raise ShapeError(
            f"{dataset.name} {seq.subject}/{seq.name}/{seq.camera}: expected 2D keypoints "
            f"(T>=1, {layout.num_joints}, 2) for layout {layout.name!r}, got {tuple(kp.shape)}"
        )
    return kp


def _split_phases(
    keypoints: list[np.ndarray], stride: int, downsample: int
) -> tuple[list[np.ndarray], list[list[tuple[int, int]]]]:
    """Phases ``kp[p::stride]`` holding a scored frame (every ``downsample``-th), and ``(phase, index)`` per sequence.

    Only phases that contain a scored frame are lifted: with ``downsample`` a multiple of
    ``stride`` (the paper's case) that is phase 0 alone, i.e. ``kp[::stride]``.
    """
    phases: list[np.ndarray] = []
    plan: list[list[tuple[int, int]]] = []
    for kp in keypoints:
        scored = np.arange(0, kp.shape[0], downsample)
        used = np.unique(scored % stride)
        plan.append([(int(p), len(phases) + i) for i, p in enumerate(used)])
        phases.extend(kp[int(p) :: stride] for p in used)
    return phases, plan


def _merge_phases(
    lengths: list[int], preds: list[np.ndarray], plan: list[list[tuple[int, int]]], stride: int, downsample: int
) -> list[np.ndarray]:
    """Interleave the phases' predictions back into frame order and keep the scored frames."""
    merged: list[np.ndarray] = []
    for frames, entries in zip(lengths, plan):
        first = preds[entries[0][1]]
        full = np.empty((frames,) + first.shape[1:], dtype=first.dtype)
        for phase, index in entries:
            full[phase::stride] = preds[index]
        merged.append(full[::downsample])  # phases that hold no scored frame were never lifted nor read
    return merged


def _group_mean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(groups, minlength=n_groups)
    sums = np.bincount(groups, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def _frame_metrics(pred_m: np.ndarray, gt_m: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame MPJPE / P-MPJPE / N-MPJPE in mm, in blocks to bound memory."""
    out: dict[str, list[np.ndarray]] = {"mpjpe_mm": [], "p_mpjpe_mm": [], "n_mpjpe_mm": []}
    for start in range(0, pred_m.shape[0], _METRIC_BLOCK):
        p = torch.from_numpy(pred_m[start : start + _METRIC_BLOCK])
        t = torch.from_numpy(gt_m[start : start + _METRIC_BLOCK])
        out["mpjpe_mm"].append(mpjpe(p, t).numpy() * 1000.0)
        out["p_mpjpe_mm"].append(p_mpjpe(p, t).numpy() * 1000.0)
        out["n_mpjpe_mm"].append(n_mpjpe(p, t).numpy() * 1000.0)
    return {k: np.concatenate(v) for k, v in out.items()}


def _velocity_metrics(pred_m: np.ndarray, gt_m: np.ndarray, seq_of_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MPJVE per consecutive frame pair inside one sequence (mm/frame), and the pairs' frame index."""
    same = np.nonzero(seq_of_frame[1:] == seq_of_frame[:-1])[0]
    if same.size == 0:
        return np.zeros(0), same
    dp = torch.from_numpy(pred_m[same + 1].astype(np.float64) - pred_m[same])
    dt = torch.from_numpy(gt_m[same + 1].astype(np.float64) - gt_m[same])
    return mpjpe(dp, dt).numpy() * 1000.0, same


def _row(metrics: dict[str, np.ndarray], vel: np.ndarray, g: int, frames: np.ndarray, vframes: np.ndarray) -> MetricRow:
    return MetricRow(
        mpjpe_mm=float(metrics["mpjpe_mm"][g]),
        p_mpjpe_mm=float(metrics["p_mpjpe_mm"][g]),
        n_mpjpe_mm=float(metrics["n_mpjpe_mm"][g]),
        mpjve_mm=float(vel[g]) if vframes[g] > 0 else None,
        frames=int(frames[g]),
        velocity_frames=int(vframes[g]),
    )


def _select_sequences(dataset: "PoseDataset", options: EvalOptions) -> tuple[list["Sequence"], list[str], list[str]]:
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


def evaluate(
    lifter: Lifter,
    dataset: "PoseDataset",
    options: EvalOptions | None = None,
    weights: "WeightsInfo | None" = None,
    progress: bool = True,
) -> EvalResult:
    """Evaluate ``lifter`` on ``dataset``'s test split under ``options``; return the full record."""
    options = options or EvalOptions()
    started = time.perf_counter()
    if lifter.input_layout.name != dataset.layout_2d.name:
        raise ConfigError(
            f"{lifter.name}: built for 2D layout {lifter.input_layout.name!r} but dataset {dataset.name!r} "
            f"({dataset.input}) gives {dataset.layout_2d.name!r}; build it with layout=dataset.layout_2d"
        )
    protocol = resolve_protocol(lifter, options)
    device = resolve_device(options.device)
    sequences, subjects, actions = _select_sequences(dataset, options)
    gt_index = list(lifter.output_layout.indices_in(dataset.layout_3d))
    root_3d = dataset.layout_3d.root
    ds, stride = protocol.downsample, protocol.input_stride

    keypoints = [_checked_keypoints(dataset, s, lifter.input_layout) for s in sequences]
    phases, plan = _split_phases(keypoints, stride, ds)
    lifter = lifter.to(device)
    phase_preds = predict_sequences(
        lifter,
        phases,
        batch_size=options.batch_size,
        frames_per_forward=options.frames_per_forward,
        flip=options.flip,
        device=device,
        progress=progress,
    )
    preds = _merge_phases([kp.shape[0] for kp in keypoints], phase_preds, plan, stride, ds)

    sel = list(protocol.joint_index)
    out_root = lifter.output_layout.root
    pred_list: list[np.ndarray] = []
    gt_list: list[np.ndarray] = []
    for seq, pred in zip(sequences, preds):
        gt = np.asarray(seq.positions_3d[::ds], dtype=np.float32)
        if gt.ndim != 3 or gt.shape[1:] != (dataset.layout_3d.num_joints, 3) or gt.shape[0] != pred.shape[0]:
            raise ShapeError(
                f"{dataset.name} {seq.subject}/{seq.name}/{seq.camera}: 3D positions {tuple(seq.positions_3d.shape)} "
                f"do not match 2D keypoints {tuple(seq.keypoints_2d.shape)} and layout {dataset.layout_3d.name!r}"
            )
        gt = gt - gt[:, root_3d : root_3d + 1]  # a no-op for well-formed data: the protocol puts the root at 0
        if protocol.recenter == "prediction":
            pred = pred - pred[:, out_root : out_root + 1]
        pred_list.append(np.ascontiguousarray(pred[:, sel]))
        gt_list.append(np.ascontiguousarray(gt[:, gt_index][:, sel]))

    if options.save_predictions is not None:
        _save_predictions(options.save_predictions, sequences, pred_list, gt_list, protocol)

    lengths = np.array([p.shape[0] for p in pred_list])
    seq_of_frame = np.repeat(np.arange(len(sequences)), lengths)
    pred_all = np.concatenate(pred_list)
    gt_all = np.concatenate(gt_list)
    frame = _frame_metrics(pred_all, gt_all)
    vel, vel_at = _velocity_metrics(pred_all, gt_all, seq_of_frame)

    cell_subjects = [s for s in subjects if any(q.subject == s for q in sequences)]
    cell_actions = [a for a in actions if any(q.action == a for q in sequences)]
    a_idx = {a: i for i, a in enumerate(cell_actions)}
    s_idx = {s: i for i, s in enumerate(cell_subjects)}
    seq_action = np.array([a_idx[q.action] for q in sequences])
    seq_cell = np.array([s_idx[q.subject] * len(cell_actions) + a_idx[q.action] for q in sequences])

    def grouped(group_of_seq: np.ndarray, n: int) -> list[MetricRow]:
        g_frames = group_of_seq[seq_of_frame]
        means = {k: _group_mean(v, g_frames, n)[0] for k, v in frame.items()}
        counts = np.bincount(g_frames, minlength=n)
        vmean, vcounts = _group_mean(vel, g_frames[vel_at], n)
        return [_row(means, vmean, g, counts, vcounts) for g in range(n)]

    action_rows = grouped(seq_action, len(cell_actions))
    per_action = {a: r for a, r in zip(cell_actions, action_rows)}
    cell_rows = grouped(seq_cell, len(cell_subjects) * len(cell_actions))
    per_cell: dict[str, dict[str, MetricRow]] = {}
    for s, si in s_idx.items():
        for a, ai in a_idx.items():
            row = cell_rows[si * len(cell_actions) + ai]
            if row.frames:
                per_cell.setdefault(s, {})[a] = row
    overall = grouped(np.zeros(len(sequences), dtype=np.int64), 1)[0]
    over_actions = MetricRow(
        mpjpe_mm=float(np.mean([r.mpjpe_mm for r in action_rows])),
        p_mpjpe_mm=float(np.mean([r.p_mpjpe_mm for r in action_rows])),
        n_mpjpe_mm=float(np.mean([r.n_mpjpe_mm for r in action_rows])),
        mpjve_mm=(
            float(np.mean([r.mpjve_mm for r in action_rows]))
            if all(r.mpjve_mm is not None for r in action_rows)
            else None
        ),
        frames=overall.frames,
        velocity_frames=overall.velocity_frames,
    )
    wall = time.perf_counter() - started
    from . import __version__

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
            downsample=protocol.downsample,
            input_stride=protocol.input_stride,
            flip=options.flip,
            causal=bool(lifter.causal),
            joints=list(protocol.joints.joint_names),
            recenter=protocol.recenter,
            subjects=cell_subjects,
            actions=cell_actions,
            skipped=list(dataset.skipped),
            max_sequences=options.max_sequences,
        ),
        per_action=per_action,
        per_cell=per_cell,
        average_over_actions=over_actions,
        average_over_frames=overall,
        parameters=lifter.num_parameters(),
        receptive_field=lifter.receptive_field,
        frames_evaluated=int(lengths.sum()),
        sequences_evaluated=len(sequences),
        device=_device_name(device),
        wall_time_s=round(wall, 4),
        frames_per_s=round(float(lengths.sum()) / wall, 1) if wall > 0 else None,
        gastbench_version=__version__,
        torch_version=torch.__version__,
        timestamp=now_iso(),
    )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


def _save_predictions(
    path: str | Path,
    sequences: list["Sequence"],
    preds: list[np.ndarray],
    gts: list[np.ndarray],
    protocol: ResolvedProtocol,
) -> None:
    """``pred/<subject>/<sequence>/<camera>`` and ``gt/...`` (metres, the joints averaged) plus the joint names."""
    arrays: dict[str, np.ndarray] = {"joint_names": np.array(protocol.joints.joint_names)}
    for seq, pred, gt in zip(sequences, preds, gts):
        key = f"{seq.subject}/{seq.name}/{seq.camera}"
        if f"pred/{key}" in arrays:
            raise DataError(f"save_predictions: two sequences share the key {key!r}")
        arrays[f"pred/{key}"] = pred
        arrays[f"gt/{key}"] = gt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
