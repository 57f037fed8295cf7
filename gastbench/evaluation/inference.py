"""The inference engine: whole 2D sequences through a lifter, batched, with no Python loop per frame.

1. each sequence is padded at both ends by repeating its first/last frame, ``(RF-1)/2`` frames
   per side (``RF-1`` on the left for causal models), so every frame gets a full window;
2. all padded sequences are concatenated along time into one stream ``(L, J, 2)``;
3. the stream is cut into chunks of ``batch_size`` output frames that overlap by ``RF-1``
   input frames, and chunks go through ``lifter(x, mode="dilated")`` a group at a time
   (with their horizontally mirrored copies when ``flip`` is on);
4. outputs are gathered back per sequence by index; the frames a chunk computes across a
   junction of two sequences are simply never gathered.

A valid temporal convolution makes every output frame a function of its own window only, so
the numbers do not depend on ``batch_size`` beyond float rounding (bitwise for a fixed chunking).
A model trained at a frame stride sees each sequence as its phases (:func:`split_phases`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import ShapeError
from ..lifter import Lifter
from ..progress import progress_bar
from .device import deterministic, resolve_device
from .protocol import flip_average

__all__ = ["auto_chunking", "merge_phases", "predict_sequences", "split_phases"]


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
    outputs: list[torch.Tensor] = []
    was_training = lifter.training
    lifter.eval()
    bar = progress_bar(progress)
    task = bar.add_task(f"{lifter.name or 'lifter'}", total=n_chunks)
    try:
        with torch.inference_mode(), deterministic(device), bar:
            for start in range(0, n_chunks, per_forward):
                x = chunks[start : start + per_forward].contiguous().to(device)
                if flip:
                    y = lifter(torch.cat([x, lifter.input_layout.mirror(x)]), mode="dilated")
                    y = flip_average(y[: x.shape[0]], y[x.shape[0] :], out_layout)
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


def split_phases(
    keypoints: list[np.ndarray], stride: int, score_stride: int
) -> tuple[list[np.ndarray], list[list[tuple[int, int]]]]:
    """Phases ``kp[p::stride]`` holding a scored frame (every ``score_stride``-th), and ``(phase, index)`` per sequence.

    Only phases that contain a scored frame are lifted: with ``score_stride`` a multiple of
    ``stride`` (the paper's case) that is phase 0 alone, i.e. ``kp[::stride]``.
    """
    phases: list[np.ndarray] = []
    plan: list[list[tuple[int, int]]] = []
    for kp in keypoints:
        scored = np.arange(0, kp.shape[0], score_stride)
        used = np.unique(scored % stride)
        plan.append([(int(p), len(phases) + i) for i, p in enumerate(used)])
        phases.extend(kp[int(p) :: stride] for p in used)
    return phases, plan


def merge_phases(
    lengths: list[int], preds: list[np.ndarray], plan: list[list[tuple[int, int]]], stride: int, score_stride: int
) -> list[np.ndarray]:
    """Interleave the phases' predictions back into frame order and keep the scored frames."""
    merged: list[np.ndarray] = []
    for frames, entries in zip(lengths, plan):
        first = preds[entries[0][1]]
        full = np.empty((frames,) + first.shape[1:], dtype=first.dtype)
        for phase, index in entries:
            full[phase::stride] = preds[index]
        merged.append(full[::score_stride])  # phases that hold no scored frame were never lifted nor read
    return merged
