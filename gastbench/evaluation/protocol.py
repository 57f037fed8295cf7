"""What one evaluation does: its options, the protocol they resolve to, and the one stride rule.

Protocols. ``convention="standard"`` (the leaderboard): every frame, the model's output joints,
ground-truth root at the origin, prediction not re-centred. ``convention="paper"`` applies the
model's :class:`~gastbench.lifter.PaperConvention`: its ``downsample`` (every n-th frame scored,
the model seeing the subsampled video, as the reference scripts stride their test data),
``recenter`` and ``joints``.

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
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import ConfigError
from ..lifter import Lifter
from ..skeleton import Skeleton, get_layout, list_layouts

if TYPE_CHECKING:
    from ..pretrained import WeightsInfo

__all__ = ["Convention", "EvalOptions", "ResolvedProtocol", "resolve_protocol"]

Convention = Literal["standard", "paper"]


@dataclass(frozen=True)
class EvalOptions:
    """Settings of one evaluation.

    Attributes:
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``/``"cuda:N"``.
        batch_size: output frames per chunk (memory vs. ``RF-1`` overlap per chunk); None picks
            :func:`~gastbench.evaluation.inference.auto_chunking`'s size for the model and device.
        frames_per_forward: input frames per forward pass; chunks are grouped up to it (None:
            one chunk and its flipped copy per pass on CPU, large groups on CUDA).
        flip: test-time flip augmentation (average of the prediction and the un-flipped
            prediction of the mirrored input).
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
    batch_size: int | None = None
    frames_per_forward: int | None = None
    flip: bool = True
    convention: Convention = "standard"
    score_stride: int | None = None
    train_stride: int = 1
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
        if self.score_stride is not None and self.score_stride < 1:
            raise ConfigError(f"score_stride must be >= 1, got {self.score_stride}")
        stride = self.train_stride
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ConfigError(f"train_stride must be an integer >= 1, got {self.train_stride!r}")
        if self.max_sequences is not None and self.max_sequences < 1:
            raise ConfigError(f"max_sequences must be >= 1, got {self.max_sequences}")

    @classmethod
    def for_weights(
        cls, weights: "WeightsInfo | None", *, train_stride: int | None = None, **settings: Any
    ) -> "EvalOptions":
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
    """The protocol actually applied: frame strides, re-centring and the joints averaged."""

    convention: Convention
    score_stride: int  # every n-th frame is scored
    recenter: Literal["target", "prediction"]
    joints: Skeleton  # the joints averaged, a subset of the model's output layout
    joint_index: tuple[int, ...]  # their indices in the model's output layout
    train_stride: int = 1  # the model sees every s-th frame around each scored frame


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
        score_stride, recenter, joints = 1, "target", output
    else:
        conv = lifter.metadata.convention
        score_stride, recenter = conv.downsample, conv.recenter
        joints = _joint_subset(output, conv.joints) if conv.joints is not None else output
    if options.score_stride is not None:
        score_stride = options.score_stride
    if recenter not in ("target", "prediction"):
        raise ConfigError(f"{lifter.name}: unknown recenter convention {recenter!r}; use 'target' or 'prediction'")
    # Without an explicit stride the model sees the scored frames' own rate (the reference scripts' practice).
    train_stride = options.train_stride if options.train_stride > 1 else int(score_stride)
    if options.convention == "paper" and options.train_stride > 1 and options.train_stride != score_stride:
        source = (
            f"the score_stride override {score_stride}"
            if options.score_stride is not None
            else f"its paper convention's downsample {score_stride}"
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
    )
