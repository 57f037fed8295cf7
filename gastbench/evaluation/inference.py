"""The inference engine: whole 2D sequences through a lifter, batched, with no Python loop per frame.

1. each sequence is padded at both ends by repeating its first/last frame, ``(RF-1)/2`` frames
   per side (``RF-1`` on the left for causal models), so every frame gets a full window;
2. each sequence's output frames are cut into ``ceil(T / chunk_frames)`` chunks of one equal
   length (the last chunk starts early, overlapping its neighbour by fewer frames than there
   are chunks), each chunk's input window being its ``RF-1`` frames longer stretch;
3. a sequence's chunks go through ``lifter(x, mode="dilated")`` a group at a time (with their
   horizontally mirrored copies when ``flip`` is on), and the sequence is handed over as soon
   as its last group is done.

No chunk spans two sequences, so no output is computed that is then thrown away (a stream
of sequences laid end to end would compute ``RF-1`` junk frames at each junction: ~8% of
videopose3d-t243's work on the Human3.6M test set). Memory is bounded by one sequence and
one forward, whatever the number of sequences. The chunking depends only on the sequence
lengths and ``chunk_frames``, so the same inputs always meet the same forwards, bit for bit.

A valid temporal convolution makes every output frame a function of its own window only, so
the numbers do not depend on ``chunk_frames`` beyond float rounding (bitwise for a fixed chunking).
A model trained at a frame stride sees each sequence as its phases (:func:`lift_sequences`).
Sequence-to-sequence lifters (``clip_frames`` set) are cut into their clips instead, every frame
kept once (:mod:`~gastbench.evaluation.clips`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from ..errors import ShapeError
from ..lifter import Lifter
from ..progress import progress_bar
from .clips import iter_clip_predictions
from .device import deterministic, resolve_device
from .protocol import flip_average

__all__ = ["auto_chunking", "iter_predictions", "lift_sequences", "phases_of", "predict_sequences", "sequence_chunks"]


_FRAME_MODEL_CHUNK = 2048


def auto_chunking(receptive_field: int, device: torch.device, preferred: int | None = None) -> tuple[int, int]:
    """Default ``(chunk_frames, frames_per_forward)`` for a model's receptive field on a device.

    Each chunk recomputes the ``RF-1`` frames it overlaps with the next, so chunks should be
    long against the receptive field; but on CPU a forward's activations should also stay
    cache-sized (a narrow model runs faster per frame on a few hundred frames than on thousands,
    a wide one is flat past ~1,000: ``benchmarks/eval_throughput.py --chunk-frames``). A chunk
    is 16x the overlap within [256, 4096] frames, one chunk (and its flipped copy) per forward
    on CPU; a GPU takes up to 64 of a sequence's chunks per forward instead (chunks never
    group across sequences). A frame model (RF 1) has no overlap to amortise, but a per-forward
    cost (SemGCN's folded path re-folds its weights and starts its streams every forward, and
    keeps its activations cache-sized inside the forward): its chunks are 2,048 frames (SemGCN
    ran about 2x faster per frame than on 256-frame chunks, Martinez's plain path about the same).
    ``preferred`` (a lifter's :attr:`~gastbench.lifter.Lifter.eval_chunk_frames`) replaces the
    chunk length; the forward still holds one chunk (and its flipped copy) on CPU, 64 on a GPU.
    """
    if preferred is not None and preferred < 1:
        raise ValueError(f"preferred chunk length must be >= 1, got {preferred}")
    if preferred is not None:
        chunk = preferred
    elif receptive_field == 1:
        chunk = _FRAME_MODEL_CHUNK
    else:
        chunk = min(4096, max(256, 16 * (receptive_field - 1)))
    if device.type == "cuda":
        return chunk, 64 * (chunk + receptive_field - 1)
    return chunk, chunk + receptive_field - 1


def sequence_chunks(length: int, chunk_frames: int) -> tuple[int, list[int]]:
    """``(chunk, starts)``: ``ceil(length / chunk_frames)`` chunks of ``chunk`` output frames covering ``[0, length)``.

    All chunks have one length (so a group of them stacks into one batch); the last one
    starts at ``length - chunk`` and overlaps its neighbour by fewer frames than there are chunks.
    """
    if length < 1 or chunk_frames < 1:
        raise ValueError(f"length and chunk_frames must be >= 1, got {length} and {chunk_frames}")
    count = math.ceil(length / chunk_frames)
    chunk = math.ceil(length / count)
    return chunk, [min(i * chunk, length - chunk) for i in range(count)]


def iter_predictions(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    *,
    chunk_frames: int | None = None,
    frames_per_forward: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
    input_joints: list[int] | None = None,
) -> Iterator[np.ndarray]:
    """Lift whole 2D sequences ``[(T_k, J_in, 2)]``, yielding each ``(T_k, J_out, 3)`` float32 in order.

    A sequence is yielded as soon as its forwards are done (see the module doc). ``input_joints``:
    the lifter's input joints among each sequence's ``J`` (a model built at a layout inside the
    data's), taken from one sequence at a time as it is lifted, never from all of them at once.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    if lifter.clip_frames is not None:  # sequence-to-sequence: the model's clips, every frame once
        per_forward = frames_per_forward // lifter.clip_frames if frames_per_forward else None
        clips = iter_clip_predictions(
            lifter,
            keypoints,
            clips_per_forward=per_forward or None,
            flip=flip,
            device=device,
            progress=progress,
            input_joints=input_joints,
        )
        for pred, _frames in clips:
            yield pred
        return
    rf = lifter.receptive_field
    auto_chunk, auto_forward = auto_chunking(rf, device, lifter.eval_chunk_frames)
    chunk_frames = chunk_frames or auto_chunk
    frames_per_forward = frames_per_forward or auto_forward
    j_in = lifter.input_layout.num_joints
    if input_joints is not None and len(input_joints) != j_in:
        raise ShapeError(
            f"input_joints names {len(input_joints)} joints; layout {lifter.input_layout.name!r} has {j_in}"
        )
    for k, kp in enumerate(keypoints):
        joints_ok = kp.ndim == 3 and (
            kp.shape[1] == j_in if input_joints is None else kp.shape[1] > max(input_joints, default=-1)
        )
        if not joints_ok or kp.shape[2:] != (2,) or kp.shape[0] < 1:
            wanted = f"{j_in}" if input_joints is None else f"J>{max(input_joints, default=-1)}"
            raise ShapeError(
                f"sequence {k}: expected 2D keypoints (T>=1, {wanted}, 2) for layout {lifter.input_layout.name!r}, "
                f"got {tuple(kp.shape)}"
            )
    if not keypoints:
        return
    left, right = lifter.pad + lifter.causal_shift, lifter.pad - lifter.causal_shift
    plans = [sequence_chunks(kp.shape[0], chunk_frames) for kp in keypoints]
    was_training = lifter.training
    lifter.eval()
    bar = progress_bar(progress)
    task = bar.add_task(f"{lifter.name or 'lifter'}", total=sum(len(starts) for _, starts in plans))
    try:
        with bar:  # grad mode and determinism are set per forward: they must not leak to the consumer at a yield
            for kp, (chunk, starts) in zip(keypoints, plans):
                own = kp if input_joints is None else kp[:, input_joints]  # this sequence's copy only
                edge_padded = np.pad(own, ((left, right), (0, 0), (0, 0)), mode="edge")
                padded = torch.from_numpy(edge_padded.astype(np.float32, copy=False))
                windows = padded.unfold(0, chunk + rf - 1, 1)  # (T - chunk + 1, J, 2, window): views, no copy
                per_forward = max(1, frames_per_forward // ((chunk + rf - 1) * (2 if flip else 1)))
                out = np.empty((kp.shape[0], lifter.output_layout.num_joints, 3), dtype=np.float32)
                for g in range(0, len(starts), per_forward):
                    group = starts[g : g + per_forward]
                    x = windows[group].permute(0, 3, 1, 2).contiguous()
                    y = _forward(lifter, x, flip, device, chunk).reshape(len(group), chunk, -1, 3)
                    for start, pred in zip(group, y):
                        out[start : start + chunk] = pred
                    bar.update(task, advance=len(group))
                yield out
    finally:
        lifter.train(was_training)


def _forward(lifter: Lifter, x: torch.Tensor, flip: bool, device: torch.device, chunk_frames: int) -> np.ndarray:
    """One group of chunks ``(B, window, J, 2)`` through the lifter (and its mirror): ``(B*chunk_frames, J_out, 3)``."""
    out_layout = lifter.output_layout
    with torch.inference_mode(), deterministic(device):
        x = x.to(device)
        if flip:
            y = lifter(torch.cat([x, lifter.input_layout.mirror(x)]), mode="dilated")
            y = flip_average(y[: x.shape[0]], y[x.shape[0] :], out_layout)
        else:
            y = lifter(x, mode="dilated")
        if y.shape[1:] != (chunk_frames, out_layout.num_joints, 3):
            raise ShapeError(
                f"{lifter.name}: dilated output {tuple(y.shape)} for input {tuple(x.shape)}; expected "
                f"(B, {chunk_frames}, {out_layout.num_joints}, 3) (receptive field {lifter.receptive_field})"
            )
        return y.to("cpu", torch.float32).reshape(-1, out_layout.num_joints, 3).numpy()


def predict_sequences(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    *,
    chunk_frames: int | None = None,
    frames_per_forward: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
    input_joints: list[int] | None = None,
) -> list[np.ndarray]:
    """Lift whole 2D sequences ``[(T_k, J_in, 2)]`` to ``[(T_k, J_out, 3)]`` float32 (see the module doc)."""
    stream = iter_predictions(
        lifter,
        keypoints,
        chunk_frames=chunk_frames,
        frames_per_forward=frames_per_forward,
        flip=flip,
        device=device,
        progress=progress,
        input_joints=input_joints,
    )
    return list(stream)


def phases_of(kp: np.ndarray, stride: int, score_stride: int) -> list[int]:
    """Phases ``p`` (of ``kp[p::stride]``) that hold a scored frame (every ``score_stride``-th).

    Only these are lifted: with ``score_stride`` a multiple of ``stride`` (the paper's case)
    that is phase 0 alone, i.e. ``kp[::stride]``.
    """
    scored = np.arange(0, kp.shape[0], score_stride)
    return [int(p) for p in np.unique(scored % stride)]


def lift_sequences(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    stride: int,
    score_stride: int,
    **engine: object,
) -> Iterator[np.ndarray]:
    """Each sequence's predictions of its scored frames, in order, every phase ``kp[p::stride]`` lifted alone.

    The phases of all sequences go through one :func:`iter_predictions` stream (large forwards);
    a sequence's phases are interleaved back into frame order as soon as the last one arrives.
    ``engine`` is passed on to :func:`iter_predictions`.
    """
    used = [phases_of(kp, stride, score_stride) for kp in keypoints]
    phases = [kp[p::stride] for kp, ps in zip(keypoints, used) for p in ps]  # views, no copies
    stream = iter_predictions(lifter, phases, **engine)  # type: ignore[arg-type]
    for kp, ps in zip(keypoints, used):
        parts = [(p, next(stream)) for p in ps]
        if len(parts) == 1 and stride == 1:
            full = parts[0][1]
        else:
            full = np.empty((kp.shape[0],) + parts[0][1].shape[1:], dtype=parts[0][1].dtype)
            for p, pred in parts:
                full[p::stride] = pred
        yield full[::score_stride]  # phases that hold no scored frame were never lifted nor read
