"""Sequence-to-sequence lifting: whole sequences cut into the model's clips, every frame kept once.

A sequence-to-sequence lifter (:attr:`~gastbench.lifter.Lifter.clip_frames` set: MixSTE,
MotionBERT) predicts a pose for every frame of a clip. A sequence of ``T`` frames is cut into
``ceil(T / L)`` consecutive clips of ``L = clip_frames`` frames; the last, partial clip is formed
as the family's paper forms it (:data:`~gastbench.lifter.ClipTail`):

- ``"align-end"`` (MixSTE ``run.py`` ``eval_data_prepare``): the last clip is the sequence's last
  ``L`` frames and overlaps its neighbour; a sequence shorter than ``L`` is edge-padded on the right
  to one clip. A frame in the overlap keeps the prediction of the first clip that holds it (the
  authors' own export, ``prediction2[-left_frames:] = prediction[-1, -left_frames:]``);
- ``"own-length"`` (MotionBERT ``infer_wild.py`` / ``WildDetDataset``): the remaining frames form a
  shorter clip lifted at its own length.

Which frames are scored is the protocol's (:attr:`~gastbench.lifter.PaperConvention.clip_scoring`):
``"once"`` keeps every frame's prediction once (the standard protocol); ``"clip-layout"`` scores every
frame of every clip as laid out (MixSTE: overlap frames twice, padded frames against the last
target); ``"full-clips"`` scores the frames of whole clips only (MotionBERT's ``split_clips``: the
tail of each sequence is never scored). Each scored prediction comes with the index of the frame
whose target it is scored against.

Clips of one sequence go through the lifter a group at a time (with their mirrored copies when
``flip`` is on) and the sequence is handed over when its last group is done: memory is bounded
by one sequence and one forward, whatever the number of sequences.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..lifter import ClipTail, Lifter
from ..progress import progress_bar
from .device import deterministic, resolve_device
from .protocol import flip_average

__all__ = ["CLIP_SCORINGS", "ClipPlan", "clip_rule", "iter_clip_predictions", "plan_clips"]

CLIP_SCORINGS = ("once", "clip-layout", "full-clips")
#: Clips per forward pass on an accelerator (one clip and its mirror on CPU, where small forwards are faster).
_CLIPS_PER_ACCELERATOR_FORWARD = 16


@dataclass(frozen=True)
class ClipPlan:
    """How one sequence of ``frames`` frames is cut into clips.

    Attributes:
        frames: the sequence's length ``T``.
        pad_right: frames appended by repeating the last one (a sequence shorter than one aligned clip).
        clips: ``(start, stop)`` of every clip in the (padded) sequence, in order.
    """

    frames: int
    pad_right: int
    clips: tuple[tuple[int, int], ...]

    def owner(self) -> np.ndarray:
        """``(T,)``: for every frame, the index of the first clip that holds it (whose prediction it keeps)."""
        owner = np.full(self.frames, -1, dtype=np.int64)
        for k, (start, stop) in enumerate(self.clips):
            span = owner[start : min(stop, self.frames)]
            span[span < 0] = k
        return owner


def plan_clips(frames: int, clip_frames: int, tail: ClipTail) -> ClipPlan:
    """Cut ``frames`` frames into clips of ``clip_frames`` with the family's rule for the last one."""
    if frames < 1 or clip_frames < 1:
        raise ValueError(f"frames and clip_frames must be >= 1, got {frames} and {clip_frames}")
    count = math.ceil(frames / clip_frames)
    full = [(i * clip_frames, (i + 1) * clip_frames) for i in range(count - 1)]
    if tail == "align-end":
        if frames <= clip_frames:
            return ClipPlan(frames, clip_frames - frames, ((0, clip_frames),))
        return ClipPlan(frames, 0, (*full, (frames - clip_frames, frames)))
    if tail == "own-length":
        return ClipPlan(frames, 0, (*full, ((count - 1) * clip_frames, frames)))
    raise ConfigError(f"unknown clip tail rule {tail!r}; known: align-end, own-length")


def clip_rule(lifter: Lifter, scoring: str) -> dict[str, object]:
    """The clipping rule as the result record keeps it (``ProtocolInfo.clips``)."""
    return {"clip_frames": lifter.clip_frames, "tail": lifter.clip_tail, "scoring": scoring}


def _scored(plan: ClipPlan, clip_frames: int, scoring: str) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """``[(clip, first, stop)]`` output frames to keep, in order, and the target frame index of each kept frame."""
    lengths = [stop - start for start, stop in plan.clips]
    if scoring == "once":
        owner = plan.owner()
        spans = []
        for k, (start, _stop) in enumerate(plan.clips):
            mine = np.flatnonzero(owner == k)
            if mine.size:
                spans.append((k, int(mine[0] - start), int(mine[-1] - start + 1)))
        return spans, np.arange(plan.frames, dtype=np.int64)
    if scoring == "clip-layout":
        spans = [(k, 0, n) for k, n in enumerate(lengths)]
    elif scoring == "full-clips":
        spans = [(k, 0, n) for k, n in enumerate(lengths) if n == clip_frames]
        if not spans:
            # A sequence shorter than one clip has no whole clip; the authors resample it at random to
            # one clip, which cannot be reproduced: it is scored once, at its own length.
            return _scored(plan, clip_frames, "once")
    else:
        raise ConfigError(f"unknown clip scoring {scoring!r}; known: {', '.join(CLIP_SCORINGS)}")
    # Edge-padded frames of a short sequence are scored against its last target (the authors pad the 3D alike).
    index = [np.minimum(np.arange(plan.clips[k][0] + a, plan.clips[k][0] + b), plan.frames - 1) for k, a, b in spans]
    return spans, np.concatenate(index).astype(np.int64)


def iter_clip_predictions(
    lifter: Lifter,
    keypoints: list[np.ndarray],
    *,
    scoring: str = "once",
    clips_per_forward: int | None = None,
    flip: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
    input_joints: list[int] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Lift whole 2D sequences ``[(T_k, J_in, 2)]`` clip by clip; yield ``(pred (N, J_out, 3) float32, frame (N,))``.

    ``frame`` is the index of the target each prediction is scored against (see the module doc):
    ``arange(T_k)`` when ``scoring="once"``. ``input_joints``: the lifter's input joints among each
    sequence's ``J`` (a model built at a layout inside the data's), taken one sequence at a time.
    """
    if lifter.clip_frames is None:
        raise ConfigError(
            f"{lifter.name or type(lifter).__name__} is not a sequence-to-sequence lifter (no clip_frames)"
        )
    if scoring not in CLIP_SCORINGS:
        raise ConfigError(f"unknown clip scoring {scoring!r}; known: {', '.join(CLIP_SCORINGS)}")
    device = resolve_device(device) if isinstance(device, str) else device
    per_forward = clips_per_forward or (_CLIPS_PER_ACCELERATOR_FORWARD if device.type == "cuda" else 1)
    j_in = lifter.input_layout.num_joints
    if input_joints is not None and len(input_joints) != j_in:
        raise ShapeError(
            f"input_joints names {len(input_joints)} joints; layout {lifter.input_layout.name!r} has {j_in}"
        )
    for k, kp in enumerate(keypoints):
        joints_ok = kp.ndim == 3 and (
            kp.shape[1] == j_in if input_joints is None else kp.shape[1] > max(input_joints, default=-1)
        )
        if not joints_ok or kp.shape[-1] != 2 or kp.shape[0] < 1:
            wanted = f"{j_in}" if input_joints is None else f"J>{max(input_joints, default=-1)}"
            raise ShapeError(
                f"sequence {k}: expected 2D keypoints (T>=1, {wanted}, 2) for layout {lifter.input_layout.name!r}, "
                f"got {tuple(kp.shape)}"
            )
    plans = [plan_clips(kp.shape[0], lifter.clip_frames, lifter.clip_tail) for kp in keypoints]
    was_training = lifter.training
    lifter.eval()
    bar = progress_bar(progress)
    task = bar.add_task(f"{lifter.name or 'lifter'}", total=sum(len(p.clips) for p in plans))
    try:
        with bar:
            for kp, plan in zip(keypoints, plans):
                # A copy either way (the data layer's arrays are read-only; torch wants writable memory).
                own = kp if input_joints is None else kp[:, input_joints]  # this sequence's copy only
                padded = np.pad(own, ((0, plan.pad_right), (0, 0), (0, 0)), mode="edge")
                sequence = torch.from_numpy(padded.astype(np.float32, copy=False))
                outputs: list[np.ndarray] = []
                # Clips of one length stack into one batch: all but an own-length tail.
                groups: list[list[tuple[int, int]]] = []
                for clip in plan.clips:
                    same = groups and groups[-1][0][1] - groups[-1][0][0] == clip[1] - clip[0]
                    if same and len(groups[-1]) < per_forward:
                        groups[-1].append(clip)
                    else:
                        groups.append([clip])
                for group in groups:
                    x = torch.stack([sequence[a:b] for a, b in group])
                    outputs.extend(_forward(lifter, x, flip, device))
                    bar.update(task, advance=len(group))
                spans, frame = _scored(plan, lifter.clip_frames, scoring)
                pred = np.concatenate([outputs[c][a:b] for c, a, b in spans])
                yield pred, frame
    finally:
        lifter.train(was_training)


def _forward(lifter: Lifter, x: torch.Tensor, flip: bool, device: torch.device) -> list[np.ndarray]:
    """A group of clips ``(B, L, J, 2)`` through the lifter (and its mirror): ``B`` arrays ``(L, J_out, 3)``."""
    out_layout = lifter.output_layout
    with torch.inference_mode(), deterministic(device):
        x = x.to(device)
        if flip:
            y = lifter(torch.cat([x, lifter.input_layout.mirror(x)]))
            y = flip_average(y[: x.shape[0]], y[x.shape[0] :], out_layout)
        else:
            y = lifter(x)
        if y.shape != (x.shape[0], x.shape[1], out_layout.num_joints, 3):
            raise ShapeError(
                f"{lifter.name}: clip output {tuple(y.shape)} for input {tuple(x.shape)}; expected "
                f"({x.shape[0]}, {x.shape[1]}, {out_layout.num_joints}, 3) (a pose per clip frame)"
            )
        return list(y.to("cpu", torch.float32).numpy())
