"""Training windows gathered on the device by index arithmetic.

Every sequence of a split is edge-padded by the model's receptive field and concatenated into
ONE tensor ``padded`` (frames, J_in, 2). For every (sequence, frame) the start of its window in
that tensor is precomputed, so a batch of windows is ``padded[starts[idx, None] + arange(RF)]``:
one indexing kernel, no Python loop per sample. the tests' per-sample loop is what it
replaces (kept for the tests and the throughput benchmark).

Flip augmentation costs nothing per batch either: when built with the layouts, the set also holds
the mirrored copy of both tensors (stacked after the originals), and a flipped item simply
reads from the mirrored half (``start + F_pad``). :func:`flip_windows` is the same mirror
applied to a batch, the reference the tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError, ShapeError
from ..skeleton import Skeleton

__all__ = ["WindowSet", "build_windows", "flip_windows"]


@dataclass
class WindowSet:
    """All training windows of a split, on one device.

    Attributes:
        padded: ``(F_pad, J_in, 2)`` every sequence's 2D keypoints, edge-padded, concatenated
            (``(2 * F_pad, ...)`` when mirrored: the horizontally flipped copy follows).
        targets: ``(N, J_out, 3)`` the 3D target of every window, root-relative, metres
            (``(2 * N, ...)`` when mirrored).
        starts: ``(N,)`` int64 start of each window in ``padded``.
        receptive_field: window length.
        sequence_offsets: ``(S + 1,)`` where each padded sequence begins in ``padded`` (last: its length).
        sequence_frames: ``(S,)`` frames of each (downsampled) sequence.
        mirrored: whether the flipped copies are present (``gather(..., flip=...)`` needs them).
    """

    padded: torch.Tensor
    targets: torch.Tensor
    starts: torch.Tensor
    receptive_field: int
    sequence_offsets: np.ndarray
    sequence_frames: np.ndarray
    mirrored: bool = False

    def __post_init__(self) -> None:
        self._taps = torch.arange(self.receptive_field, device=self.starts.device)

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @property
    def device(self) -> torch.device:
        return self.padded.device

    @property
    def padded_frames(self) -> int:
        """Frames of one (unmirrored) copy of the padded stream."""
        return int(self.sequence_offsets[-1])

    def gather(self, index: torch.Tensor, flip: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows ``(B, RF, J_in, 2)`` and targets ``(B, 1, J_out, 3)`` for sample indices ``(B,)``.

        ``flip`` (``(B,)`` bool) reads the flagged items from the mirrored copy.
        """
        index = index.to(self.starts.device)
        starts = self.starts[index]
        target_rows = index
        if flip is not None:
            if not self.mirrored:
                raise ShapeError("windows: flip requested but the set was built without layouts (no mirror)")
            flip = flip.to(device=index.device, dtype=torch.long)
            starts = starts + flip * self.padded_frames
            target_rows = index + flip * len(self)
        return self.padded[starts[:, None] + self._taps], self.targets[target_rows, None]

    def to(self, device: torch.device | str) -> WindowSet:
        return WindowSet(
            padded=self.padded.to(device),
            targets=self.targets.to(device),
            starts=self.starts.to(device),
            receptive_field=self.receptive_field,
            sequence_offsets=self.sequence_offsets,
            sequence_frames=self.sequence_frames,
            mirrored=self.mirrored,
        )


def _pad_widths(receptive_field: int, causal_shift: int) -> tuple[int, int]:
    pad = (receptive_field - 1) // 2
    # Window of output frame t covers input frames [t - pad - shift, t + pad - shift].
    return pad + causal_shift, pad - causal_shift


def build_windows(
    keypoints_2d: Sequence[np.ndarray],
    positions_3d: Sequence[np.ndarray],
    *,
    receptive_field: int,
    causal_shift: int = 0,
    joints_3d: Sequence[int] | None = None,
    train_stride: int = 1,
    device: torch.device | str = "cpu",
    mirror_layouts: tuple[Skeleton, Skeleton] | None = None,
) -> WindowSet:
    """Pad, concatenate and index a split's sequences.

    Args:
        keypoints_2d: per sequence ``(T, J_in, 2)``.
        positions_3d: per sequence ``(T, J_3d, 3)``, root-relative.
        receptive_field: the model's window length (odd).
        causal_shift: how far the predicted frame sits right of the window centre.
        joints_3d: indices of the model's output joints in the 3D layout (None: all).
        train_stride: keep every n-th frame of each sequence before windowing.
        device: where the tensors live.
        mirror_layouts: ``(layout_2d, layout_out)``: also store the horizontally flipped copies,
            so that :meth:`WindowSet.gather` can flip items for free.
    """
    if len(keypoints_2d) != len(positions_3d):
        raise ShapeError(f"windows: {len(keypoints_2d)} 2D sequences but {len(positions_3d)} 3D sequences")
    if not keypoints_2d:
        raise DataError("windows: no training sequences (check the subjects/actions selection)")
    left, right = _pad_widths(receptive_field, causal_shift)
    padded_parts: list[np.ndarray] = []
    target_parts: list[np.ndarray] = []
    start_parts: list[np.ndarray] = []
    offsets = [0]
    frames: list[int] = []
    for i, (kp, pos) in enumerate(zip(keypoints_2d, positions_3d)):
        if kp.ndim != 3 or kp.shape[-1] != 2 or pos.ndim != 3 or pos.shape[-1] != 3 or len(kp) != len(pos):
            raise ShapeError(
                f"windows: sequence {i} has 2D {tuple(kp.shape)} and 3D {tuple(pos.shape)}; "
                "expected (T, J_in, 2) and (T, J_3d, 3) with the same T"
            )
        kp = kp[::train_stride]
        pos = pos[::train_stride]
        if joints_3d is not None:
            pos = pos[:, list(joints_3d)]
        padded_parts.append(np.pad(kp, ((left, right), (0, 0), (0, 0)), mode="edge"))
        target_parts.append(pos)
        start_parts.append(offsets[-1] + np.arange(len(kp), dtype=np.int64))
        offsets.append(offsets[-1] + len(kp) + left + right)
        frames.append(len(kp))
    joint_counts = {p.shape[1] for p in padded_parts}
    if len(joint_counts) != 1:
        raise ShapeError(f"windows: sequences disagree on the 2D joint count: {sorted(joint_counts)}")
    padded = torch.from_numpy(np.concatenate(padded_parts).astype(np.float32)).to(device)
    targets = torch.from_numpy(np.concatenate(target_parts).astype(np.float32)).to(device)
    if mirror_layouts is not None:
        layout_2d, layout_out = mirror_layouts
        if layout_2d.num_joints != padded.shape[1] or layout_out.num_joints != targets.shape[1]:
            raise ShapeError(
                f"windows: mirror layouts have {layout_2d.num_joints}/{layout_out.num_joints} joints, data has "
                f"{padded.shape[1]} (2D) / {targets.shape[1]} (3D)"
            )
        everything = torch.ones(1, dtype=torch.bool, device=padded.device)
        mirrored_2d, mirrored_3d = flip_windows(padded[None], targets[None], everything, layout_2d, layout_out)
        padded = torch.cat([padded, mirrored_2d[0]])
        targets = torch.cat([targets, mirrored_3d[0]])
    return WindowSet(
        padded=padded,
        targets=targets,
        starts=torch.from_numpy(np.concatenate(start_parts)).to(device),
        receptive_field=receptive_field,
        sequence_offsets=np.asarray(offsets, dtype=np.int64),
        sequence_frames=np.asarray(frames, dtype=np.int64),
        mirrored=mirror_layouts is not None,
    )


def flip_windows(
    x: torch.Tensor,
    y: torch.Tensor,
    flip: torch.Tensor,
    layout_2d: Skeleton,
    layout_3d: Skeleton,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror the items with ``flip[i]`` True: negate x, swap left/right joints, in 2D and 3D alike.

    ``x`` is ``(B, T, J_in, 2)`` screen-normalized (x centred on 0), ``y`` is ``(B, T', J_out, 3)``
    in camera coordinates; both flip about the same vertical axis.
    """
    mask = flip.to(device=x.device, dtype=torch.bool)
    x_flipped = layout_2d.mirror(x)
    y_flipped = layout_3d.mirror(y)
    return (
        torch.where(mask[:, None, None, None], x_flipped, x),
        torch.where(mask.to(y.device)[:, None, None, None], y_flipped, y),
    )
