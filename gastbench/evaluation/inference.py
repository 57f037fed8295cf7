"""The inference engine: whole 2D sequences through a lifter, batched, with no Python loop per frame.

1. each sequence is padded at both ends by repeating its first/last frame, ``(RF-1)/2`` frames
   per side (``RF-1`` on the left for causal models), so every frame gets a full window;
2. the padded sequences are laid end to end along time into one stream ``(L, J, 2)``;
3. the stream is cut into chunks of ``batch_size`` output frames that overlap by ``RF-1``
   input frames, and chunks go through ``lifter(x, mode="dilated")`` a group at a time
   (with their horizontally mirrored copies when ``flip`` is on);
4. outputs are gathered back per sequence by index; the frames a chunk computes across a
   junction of two sequences are simply never gathered.

The stream is never built whole: each forward copies only its own stretch of it out of the
sequences (:class:`_StreamLayout`), and :func:`iter_predictions` hands each sequence's
predictions over as soon as the forwards covering it are done, so memory is bounded by one
forward plus one sequence, whatever the number of sequences. The chunking depends only on the
sequence lengths, so streaming gives the same forwards, bit for bit, as one whole stream would.

A valid temporal convolution makes every output frame a function of its own window only, so
the numbers do not depend on ``batch_size`` beyond float rounding (bitwise for a fixed chunking).
A model trained at a frame stride sees each sequence as its phases (:func:`lift_sequences`).
"""

from __future__ import annotations

import bisect
import math
from typing import Iterator

import numpy as np
import torch

from ..errors import ShapeError
from ..lifter import Lifter
from ..progress import progress_bar
from .device import deterministic, resolve_device
from .protocol import flip_average

__all__ = ["auto_chunking", "iter_predictions", "lift_sequences", "phases_of", "predict_sequences"]


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


class _StreamLayout:
    """Where each edge-padded sequence sits in the concatenated stream, and stretches of it on demand."""

    def __init__(self, keypoints: list[np.ndarray], left: int, right: int) -> None:
        self.keypoints = keypoints
        self.left = left
        self.lengths = [kp.shape[0] for kp in keypoints]
        # offsets[k]: stream position of sequence k's first padded frame = output index of its frame 0.
        self.offsets = np.cumsum([0] + [t + left + right for t in self.lengths]).tolist()
        self.length = self.offsets[-1]

    def stretch(self, lo: int, hi: int) -> np.ndarray:
        """Stream frames ``[lo, hi)``; past the stream's end its last frame repeats."""
        pieces: list[np.ndarray] = []
        k = bisect.bisect_right(self.offsets, lo) - 1
        pos = lo
        while pos < hi and k < len(self.keypoints):
            end = min(hi, self.offsets[k + 1])
            index = np.clip(np.arange(pos, end) - self.offsets[k] - self.left, 0, self.lengths[k] - 1)
            pieces.append(self.keypoints[k][index])
            pos, k = end, k + 1
        if pos < hi:  # the tail that evens out the last chunk
            last = self.keypoints[-1][-1:]
            pieces.append(np.repeat(last, hi - pos, axis=0))
        return np.concatenate(pieces).astype(np.float32, copy=False)


def iter_predictions(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    *,
    batch_size: int | None = None,
    frames_per_forward: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> Iterator[np.ndarray]:
    """Lift whole 2D sequences ``[(T_k, J_in, 2)]``, yielding each ``(T_k, J_out, 3)`` float32 in order.

    A sequence is yielded as soon as the forwards covering it are done (see the module doc).
    """
    device = resolve_device(device) if isinstance(device, str) else device
    rf = lifter.receptive_field
    auto_batch, auto_forward = auto_chunking(rf, device)
    batch_size = batch_size or auto_batch
    frames_per_forward = frames_per_forward or auto_forward
    j_in = lifter.input_layout.num_joints
    for k, kp in enumerate(keypoints):
        if kp.ndim != 3 or kp.shape[1:] != (j_in, 2) or kp.shape[0] < 1:
            raise ShapeError(
                f"sequence {k}: expected 2D keypoints (T>=1, {j_in}, 2) for layout {lifter.input_layout.name!r}, "
                f"got {tuple(kp.shape)}"
            )
    if not keypoints:
        return
    layout = _StreamLayout(keypoints, lifter.pad + lifter.causal_shift, lifter.pad - lifter.causal_shift)
    n_out = layout.length - rf + 1
    n_chunks = math.ceil(n_out / batch_size)
    batch_size = math.ceil(n_out / n_chunks)  # equal chunks: the last one is not mostly padding
    window = batch_size + rf - 1
    per_forward = max(1, frames_per_forward // (window * (2 if flip else 1)))
    pending: list[tuple[int, np.ndarray]] = []  # (first output index, outputs) not yet handed over
    next_seq = 0
    was_training = lifter.training
    lifter.eval()
    bar = progress_bar(progress)
    task = bar.add_task(f"{lifter.name or 'lifter'}", total=n_chunks)
    try:
        with bar:  # grad mode and determinism are set per forward: they must not leak to the consumer at a yield
            for start in range(0, n_chunks, per_forward):
                count = min(per_forward, n_chunks - start)
                lo = start * batch_size
                stretch = torch.from_numpy(layout.stretch(lo, lo + count * batch_size + rf - 1))
                x = stretch.unfold(0, window, batch_size).permute(0, 3, 1, 2).contiguous()
                pending.append((lo, _forward(lifter, x, flip, device, batch_size)))
                bar.update(task, advance=x.shape[0])
                done = lo + count * batch_size
                while next_seq < len(keypoints) and layout.offsets[next_seq] + layout.lengths[next_seq] <= done:
                    first = layout.offsets[next_seq]
                    yield _gather(pending, first, first + layout.lengths[next_seq])
                    next_seq += 1
                    keep_from = layout.offsets[next_seq] if next_seq < len(keypoints) else done
                    pending = [(a, out) for a, out in pending if a + out.shape[0] > keep_from]
    finally:
        lifter.train(was_training)


def _forward(lifter: Lifter, x: torch.Tensor, flip: bool, device: torch.device, batch_size: int) -> np.ndarray:
    """One group of chunks ``(B, window, J, 2)`` through the lifter (and its mirror): ``(B*batch_size, J_out, 3)``."""
    out_layout = lifter.output_layout
    with torch.inference_mode(), deterministic(device):
        x = x.to(device)
        if flip:
            y = lifter(torch.cat([x, lifter.input_layout.mirror(x)]), mode="dilated")
            y = flip_average(y[: x.shape[0]], y[x.shape[0] :], out_layout)
        else:
            y = lifter(x, mode="dilated")
        if y.shape[1:] != (batch_size, out_layout.num_joints, 3):
            raise ShapeError(
                f"{lifter.name}: dilated output {tuple(y.shape)} for input {tuple(x.shape)}; expected "
                f"(B, {batch_size}, {out_layout.num_joints}, 3) (receptive field {lifter.receptive_field})"
            )
        return y.to("cpu", torch.float32).reshape(-1, out_layout.num_joints, 3).numpy()


def _gather(pending: list[tuple[int, np.ndarray]], lo: int, hi: int) -> np.ndarray:
    """Output frames ``[lo, hi)`` out of the pending forward outputs (which cover them)."""
    parts = [out[max(lo - a, 0) : hi - a] for a, out in pending if a < hi and a + out.shape[0] > lo]
    return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)


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
    stream = iter_predictions(
        lifter,
        keypoints,
        batch_size=batch_size,
        frames_per_forward=frames_per_forward,
        flip=flip,
        device=device,
        progress=progress,
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
