"""What one evaluation does: its options, the protocol they resolve to, and the one stride rule.

Protocols. ``convention="standard"`` (the leaderboard): every frame, the model's output joints,
ground-truth root at the origin, prediction not re-centred, test-time flip, float64 arithmetic.
``convention="paper"`` applies the whole of the model's :class:`~gastbench.lifter.PaperConvention`:
its ``score_stride`` (every n-th frame scored, the model seeing the subsampled video, as the
reference scripts stride their test data), ``recenter``, ``joints``, ``flip`` and ``precision``.
:func:`score_frames` is the per-frame P1/P2 of one protocol, the code path :func:`evaluate` uses.

Two strides, two names. ``train_stride``: the frame stride a model was trained at (GAST-Net's
Human3.6M recipe: 50 -> 10 fps, s = 5); it must see video at that rate, or its windows span
the wrong time. ``score_stride``: every n-th frame is scored. With ``train_stride=s`` each
sequence is split into its s phases ``kp[p::s]``, every phase is lifted as a sequence of its
own and the predictions are interleaved back, so every frame can still be scored. Without a
``train_stride`` the model sees the scored frames' own rate (the reference scripts' practice).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import torch

from ..errors import ConfigError, ShapeError
from ..lifter import Lifter, Recenter
from ..skeleton import Skeleton, get_layout, list_layouts
from .scoring import Precision, frame_errors

if TYPE_CHECKING:
    from ..pretrained import WeightsInfo

__all__ = [
    "Convention",
    "EvalOptions",
    "ResolvedProtocol",
    "align_for_scoring",
    "flip_average",
    "resolve_protocol",
    "score_frames",
]

Convention = Literal["standard", "paper"]


@dataclass(frozen=True)
class EvalOptions:
    """Settings of one evaluation.

    Attributes:
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``/``"cuda:N"``.
        chunk_frames: output frames per chunk (memory vs. ``RF-1`` overlap per chunk); None picks
            :func:`~gastbench.evaluation.inference.auto_chunking`'s size for the model and device.
        frames_per_forward: input frames per forward pass; a sequence's chunks are grouped up to
            it (None: one chunk and its flipped copy per pass on CPU, up to 64 chunks on CUDA).
        flip: test-time flip augmentation (average of the prediction and the un-flipped
            prediction of the mirrored input); None: the protocol's (standard: on; paper: the
            convention's). An explicit value overrides the paper convention and is recorded.
        convention: ``"standard"`` or ``"paper"`` (see the module docstring).
        score_stride: override the convention's scoring stride (None: 1 standard, the paper's otherwise).
        train_stride: frame stride the model was trained at (see the module docstring); 1 leaves
            the model seeing the scored frames' own rate. Under ``convention="paper"`` the stride
            is the convention's; a different value > 1 is a ConfigError.
        split: dataset split to evaluate.
        subjects / actions: restrict the evaluation (None: the protocol's).
        max_sequences: keep only the first n sequences (quick checks; recorded in the result).
        save_predictions: write the predictions and targets the metrics used to this ``.npz``.
    """

    device: str = "auto"
    chunk_frames: int | None = None
    frames_per_forward: int | None = None
    flip: bool | None = None
    convention: Convention = "standard"
    score_stride: int | None = None
    train_stride: int = 1
    split: str = "test"
    subjects: tuple[str, ...] | None = None
    actions: tuple[str, ...] | None = None
    max_sequences: int | None = None
    save_predictions: str | Path | None = None

    def __post_init__(self) -> None:
        if self.chunk_frames is not None and self.chunk_frames < 1:
            raise ConfigError(f"chunk_frames must be >= 1, got {self.chunk_frames}")
        if self.frames_per_forward is not None and self.frames_per_forward < 1:
            raise ConfigError(f"frames_per_forward must be >= 1, got {self.frames_per_forward}")
        if self.convention not in ("standard", "paper"):
            raise ConfigError(f"convention must be 'standard' or 'paper', got {self.convention!r}")
        if self.score_stride is not None and self.score_stride < 1:
            raise ConfigError(f"score_stride must be >= 1, got {self.score_stride}")
        stride = self.train_stride
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ConfigError(f"train_stride must be an integer >= 1, got {self.train_stride!r}")
        if self.max_sequences is not None and self.max_sequences < 1:
            raise ConfigError(f"max_sequences must be >= 1, got {self.max_sequences}")

    @classmethod
    def for_weights(
        cls, weights: WeightsInfo | None, *, train_stride: int | None = None, **settings: Any
    ) -> EvalOptions:
        """The stride rule, in one place: options for evaluating ``weights``.

        The model sees video at the stride it was trained at: an explicit ``train_stride``,
        else the weights' own (card preset or training run), else 1. Every frame is scored
        unless ``score_stride`` says otherwise. The CLI and a training run's final evaluation
        both build their options here.
        """
        known = weights.train_stride if weights is not None else None
        return cls(train_stride=train_stride or known or 1, **settings)


@dataclass(frozen=True)
class ResolvedProtocol:
    """The protocol actually applied: frame strides, flip, centring, the joints averaged, arithmetic."""

    convention: Convention
    score_stride: int  # every n-th frame is scored
    recenter: Recenter
    joints: Skeleton  # the joints averaged, a subset of the model's output layout
    joint_index: tuple[int, ...]  # their indices in the model's output layout
    train_stride: int = 1  # the model sees every s-th frame around each scored frame
    flip: bool = True
    precision: Precision = "float64"
    average: Literal["actions", "frames"] = "actions"  # the headline: mean over actions or over frames
    root: int = 0  # the root joint's index in the model's output layout
    note: str = ""  # the paper convention's reason, where it departs from the paper's text
    clip_scoring: str = "once"  # sequence-to-sequence lifters: which clip frames are scored (see clips.py)


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
    conv = lifter.metadata.convention
    if options.convention == "standard":
        score_stride, recenter, joints, flip, precision, average, note = (
            1,
            "target",
            output,
            True,
            "float64",
            "actions",
            "",
        )
    else:
        score_stride, recenter, flip, precision, average = (
            conv.score_stride, conv.recenter, conv.flip, conv.precision, conv.average
        )  # fmt: skip
        joints = _joint_subset(output, conv.joints) if conv.joints is not None else output
        note = conv.note
    clip_scoring = conv.clip_scoring if options.convention == "paper" and lifter.clip_frames is not None else "once"
    if options.score_stride is not None:
        score_stride = options.score_stride
    if options.flip is not None:
        flip = options.flip
    # Without an explicit stride the model sees the scored frames' own rate (the reference scripts' practice).
    train_stride = options.train_stride if options.train_stride > 1 else int(score_stride)
    if options.convention == "paper" and options.train_stride > 1 and options.train_stride != score_stride:
        source = (
            f"the score_stride override {score_stride}"
            if options.score_stride is not None
            else f"its paper convention's score_stride {score_stride}"
        )
        raise ConfigError(
            f"{lifter.name or type(lifter).__name__}: convention='paper' feeds the model video at frame stride "
            f"{score_stride} ({source}), but train_stride={options.train_stride} was asked; drop train_stride, or "
            "use convention='standard' to score every frame at that stride"
        )
    return ResolvedProtocol(
        convention=options.convention,
        score_stride=int(score_stride),
        recenter=recenter,  # type: ignore[arg-type]
        joints=joints,
        joint_index=joints.indices_in(output),
        train_stride=int(train_stride),
        flip=bool(flip),
        precision=precision,  # type: ignore[arg-type]
        average=average,  # type: ignore[arg-type]
        root=output.root,
        note=note,
        clip_scoring=clip_scoring,
    )


PoseT = TypeVar("PoseT", np.ndarray, torch.Tensor)


def flip_average(pred: PoseT, pred_of_mirrored: PoseT, layout: Skeleton) -> PoseT:
    """Test-time flip: the mean of a prediction and the mirrored-back prediction of the mirrored input.

    ``pred_of_mirrored`` is the model's output for ``layout.mirror(input)``, in mirrored space;
    ``(..., J, 3)`` numpy arrays or torch tensors alike. The inference engine averages with this.
    """
    return 0.5 * (pred + layout.mirror(pred_of_mirrored))


def align_for_scoring(
    pred: np.ndarray, target: np.ndarray, protocol: ResolvedProtocol
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, J_out, 3)`` prediction and root-relative target in the output layout -> the scored joints of both.

    The prediction is centred as the protocol says (see :class:`~gastbench.lifter.PaperConvention`),
    then both keep the protocol's joints. Neither input is modified.
    """
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ShapeError(f"align_for_scoring: expected two (T, J, 3) arrays, got {pred.shape} and {target.shape}")
    root = protocol.root
    if protocol.recenter == "prediction":
        pred = pred - pred[:, root : root + 1]
    elif protocol.recenter == "zero-prediction-root":
        pred = pred.copy()
        pred[:, root] = 0.0  # the other joints stay as predicted: SemGCN's published convention
    sel = list(protocol.joint_index)
    return np.ascontiguousarray(pred[:, sel]), np.ascontiguousarray(target[:, sel])


def score_frames(
    pred: np.ndarray,
    target: np.ndarray,
    protocol: ResolvedProtocol,
    pred_of_mirrored: np.ndarray | None = None,
    layout: Skeleton | None = None,
) -> dict[str, np.ndarray]:
    """Per-frame P1 / P2 / N-MPJPE (mm) of ``(T, J_out, 3)`` predictions in metres under ``protocol``.

    With ``pred_of_mirrored`` (and the output ``layout``) the flip average is taken first, as
    the inference engine does when ``protocol.flip``; the prediction is then aligned
    (:func:`align_for_scoring`) and scored in the protocol's arithmetic.
    """
    if pred_of_mirrored is not None:
        if layout is None:
            raise ConfigError("score_frames: flip averaging needs the output layout (layout=...)")
        pred = flip_average(pred, pred_of_mirrored, layout)
    aligned_pred, aligned_target = align_for_scoring(pred, target, protocol)
    return frame_errors(aligned_pred, aligned_target, protocol.precision)
