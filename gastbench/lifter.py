"""The lifter contract: what every 2D-to-3D model in gastbench promises.

A lifter maps ``(B, T, J_in, 2)`` normalized 2D keypoints to ``(B, T - RF + 1, J_out, 3)``
root-relative 3D joints in metres (a valid temporal convolution; frame models have
``RF == 1``). Temporal models run two execution graphs over one state dict: a *strided*
graph for training batches of exactly one receptive-field window, and a *dilated* graph
for whole sequences.

*Sequence-to-sequence* lifters (MixSTE, MotionBERT) set :attr:`Lifter.clip_frames`: they map a
clip of ``clip_frames`` frames to a pose for every frame of it, ``(B, T, J_in, 2) -> (B, T, J_out, 3)``
(``T`` up to ``clip_frames`` where :attr:`Lifter.shorter_clips`); the evaluation engine cuts
sequences into such clips (:mod:`gastbench.evaluation.clips`). A lifter whose output is not in
metres says so in :attr:`Lifter.output_scale` (MotionBERT's 2.5D output).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import torch
from torch import nn

from .errors import ConfigError, ShapeError
from .skeleton import Skeleton

__all__ = ["Lifter", "LifterMetadata", "PaperConvention", "ForwardMode", "Recenter", "ClipTail", "OutputScale"]

ForwardMode = Literal["auto", "dilated", "strided"]

#: How a sequence-to-sequence lifter's last, partial clip is formed (the family's paper does one of these):
#: ``"align-end"``: the last clip is the sequence's last ``clip_frames`` frames, overlapping its neighbour
#: (a sequence shorter than one clip is edge-padded on the right; MixSTE);
#: ``"own-length"``: the last clip is just the remaining frames, lifted at their own length (MotionBERT).
ClipTail = Literal["align-end", "own-length"]
#: ``"metres"``: root-relative camera coordinates in metres (the contract). ``"image-2.5d"``: root-relative
#: 3D in the 2D input's screen-normalised units (x, y as the image, depth in the same unit): MotionBERT's
#: output, brought to metres by the 2.5D factor of each frame (:mod:`gastbench.evaluation.scale25d`).
OutputScale = Literal["metres", "image-2.5d"]
_CLIP_TAILS: tuple[str, ...] = ("align-end", "own-length")
_CLIP_SCORING: tuple[str, ...] = ("once", "clip-layout", "full-clips")


Recenter = Literal["target", "prediction", "zero-prediction-root"]
Precision = Literal["float32", "float64"]
Average = Literal["actions", "frames"]

_RECENTER: tuple[str, ...] = ("target", "prediction", "zero-prediction-root")


@dataclass(frozen=True)
class PaperConvention:
    """How a model's authors scored it, all of it, so that a published row can be matched.

    Attributes:
        score_stride: every n-th test frame is scored (GAST-Net's scripts use 5); the model sees
            the scored frames' own rate unless a training stride says otherwise.
        recenter: what is moved before scoring. The ground truth always has its root at the origin.
            ``"target"``: nothing else, the prediction is scored as predicted;
            ``"prediction"``: the prediction is re-centred on its own predicted root
            (every joint minus the root);
            ``"zero-prediction-root"``: the prediction's root joint is set to zero and the other
            joints are left as predicted (see ``note``: SemGCN's published numbers).
        joints: number of joints averaged, a layout inside the model's output (None: all of them;
            e.g. SemGCN averages its 16, Martinez 17 including a root whose error is always 0).
        flip: test-time flip augmentation (the prediction averaged with the mirrored prediction
            of the mirrored input), as the authors' evaluation does or does not.
        precision: arithmetic of the per-frame errors: ``"float32"`` where the authors' code
            computes in float32 (torch/numpy on float32 tensors), else ``"float64"``.
        average: the headline number: ``"actions"`` is the mean of per-action means (each
            frame-weighted within its action), the papers' "Avg"; ``"frames"`` weights every frame.
        clip_scoring: sequence-to-sequence lifters only: which frames of the clips are scored.
            ``"once"``: every frame once (the standard protocol's rule); ``"clip-layout"``: every frame
            of every clip as the clips are laid out, so frames in the overlap of the last clip are
            scored twice and edge-padded frames of a short sequence are scored against the last
            target (MixSTE's ``eval_data_prepare``); ``"full-clips"``: only frames inside whole clips,
            the tail of each sequence never scored (MotionBERT's ``split_clips``).
        note: why the convention is what it is, where it departs from the paper's text.
    """

    score_stride: int = 1
    recenter: Recenter = "target"
    joints: int | None = None
    flip: bool = True
    precision: Precision = "float64"
    average: Average = "actions"
    clip_scoring: str = "once"
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.score_stride, bool) or not isinstance(self.score_stride, int) or self.score_stride < 1:
            raise ConfigError(f"PaperConvention.score_stride must be an integer >= 1, got {self.score_stride!r}")
        if self.recenter not in _RECENTER:
            raise ConfigError(f"PaperConvention.recenter must be one of {', '.join(_RECENTER)}; got {self.recenter!r}")
        if self.precision not in ("float32", "float64"):
            raise ConfigError(f"PaperConvention.precision must be 'float32' or 'float64', got {self.precision!r}")
        if self.average not in ("actions", "frames"):
            raise ConfigError(f"PaperConvention.average must be 'actions' or 'frames', got {self.average!r}")
        if self.clip_scoring not in _CLIP_SCORING:
            raise ConfigError(
                f"PaperConvention.clip_scoring must be one of {', '.join(_CLIP_SCORING)}; got {self.clip_scoring!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaperConvention:
        """Read a serialised convention; unknown keys are an error."""
        values = dict(data)
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"paper convention: unknown key(s) {unknown}; known: {[f.name for f in fields(cls)]}")
        return cls(**values)


@dataclass(frozen=True)
class LifterMetadata:
    """Descriptive facts about a lifter family (shown by ``gastbench models``)."""

    family: str
    paper: str
    url: str = ""
    convention: PaperConvention = field(default_factory=PaperConvention)


class Lifter(nn.Module):
    """Base class of every lifter.

    Subclasses set :attr:`receptive_field`, :attr:`causal`, the layouts and
    :attr:`metadata` in ``__init__``, and implement :meth:`forward_dilated` (whole
    sequences). Temporal models also implement :meth:`forward_strided` (one window per
    batch item, the fast training graph); frame models need neither distinction.
    """

    #: Registry name, filled in by :func:`gastbench.registry.create_lifter`.
    name: str = ""
    #: Sequence-to-sequence lifters: frames per clip (None: one output per receptive-field window).
    clip_frames: int | None = None
    #: Sequence-to-sequence lifters: whether a clip may be shorter than ``clip_frames``.
    shorter_clips: bool = False
    #: How the last clip of a sequence is formed (see :data:`ClipTail`).
    clip_tail: ClipTail = "align-end"
    #: Units of the output (see :data:`OutputScale`).
    output_scale: OutputScale = "metres"
    #: Output frames per chunk the evaluation engine cuts sequences into, when the caller names
    #: none (None: :func:`~gastbench.evaluation.inference.auto_chunking`'s size for the receptive
    #: field). A lifter whose eval path runs in cache-sized pieces of its own sets it high: every
    #: forward has a fixed cost (folding weights, starting streams, a last piece), chunks add forwards.
    eval_chunk_frames: int | None = None

    def __init__(
        self,
        *,
        input_layout: Skeleton,
        output_layout: Skeleton,
        receptive_field: int,
        causal: bool,
        metadata: LifterMetadata,
    ) -> None:
        super().__init__()
        if receptive_field < 1 or receptive_field % 2 == 0:
            raise ShapeError(f"receptive field must be a positive odd number, got {receptive_field}")
        self.input_layout = input_layout
        self.output_layout = output_layout
        self.receptive_field = receptive_field
        self.causal = causal
        self.metadata = metadata

    # --- contract -----------------------------------------------------------------
    @property
    def pad(self) -> int:
        """Frames of context on each side of the centre frame, ``(RF - 1) / 2``."""
        return (self.receptive_field - 1) // 2

    @property
    def causal_shift(self) -> int:
        """How far the predicted frame sits right of the window centre (``pad`` when causal)."""
        return self.pad if self.causal else 0

    @property
    def family(self) -> str:
        return self.metadata.family

    @property
    def seq2seq(self) -> bool:
        """Whether the lifter maps clips to clips (:attr:`clip_frames` is set)."""
        return self.clip_frames is not None

    def set_clips(self, clip_frames: int, *, tail: ClipTail, shorter_clips: bool = False) -> None:
        """Declare a sequence-to-sequence lifter (in a subclass's ``__init__``); its receptive field is the clip."""
        if clip_frames < 1 or tail not in _CLIP_TAILS:
            raise ConfigError(
                f"clips: clip_frames must be >= 1 and tail one of {_CLIP_TAILS}, got {clip_frames}, {tail!r}"
            )
        self.clip_frames, self.clip_tail, self.shorter_clips = int(clip_frames), tail, bool(shorter_clips)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`ShapeError` naming expected and actual shapes if ``x`` breaks the contract."""
        expected = f"(B, T>={self.receptive_field}, {self.input_layout.num_joints}, 2)"
        if x.dim() != 4:
            raise ShapeError(f"{self.name or type(self).__name__}: expected input {expected}, got {tuple(x.shape)}")
        _, frames, joints, channels = x.shape
        if joints != self.input_layout.num_joints:
            raise ShapeError(
                f"{self.name or type(self).__name__}: expected {self.input_layout.num_joints} joints "
                f"(layout {self.input_layout.name!r}), input {expected}, got {tuple(x.shape)}"
            )
        if channels != 2:
            raise ShapeError(
                f"{self.name or type(self).__name__}: expected 2 coordinates per joint, input {expected}, "
                f"got {tuple(x.shape)}"
            )
        if self.clip_frames is not None:
            low = 1 if self.shorter_clips else self.clip_frames
            if not low <= frames <= self.clip_frames:
                wanted = f"1 to {self.clip_frames}" if self.shorter_clips else f"exactly {self.clip_frames}"
                raise ShapeError(
                    f"{self.name or type(self).__name__}: a sequence-to-sequence clip has {wanted} frames, "
                    f"got {tuple(x.shape)}; lift whole sequences through gastbench.evaluation"
                )
            return
        if frames < self.receptive_field:
            raise ShapeError(
                f"{self.name or type(self).__name__}: receptive field is {self.receptive_field} frames, "
                f"input {expected}, got {tuple(x.shape)} ({frames} frames); pad the sequence first"
            )

    def forward(self, x: torch.Tensor, mode: ForwardMode = "auto") -> torch.Tensor:
        """Lift ``(B, T, J_in, 2)`` to ``(B, T - RF + 1, J_out, 3)`` (a sequence-to-sequence lifter: ``(B, T, J_out, 3)``).

        ``mode="auto"`` takes the strided graph when every item is exactly one window
        (training batches) and the dilated graph otherwise; both give the same numbers.
        """
        self.check_input(x)
        if self.clip_frames is not None:  # one graph: a clip in, a pose per frame out
            return self.forward_dilated(x)
        if mode == "strided" or (mode == "auto" and x.shape[1] == self.receptive_field and self.receptive_field > 1):
            if x.shape[1] != self.receptive_field:
                raise ShapeError(
                    f"{self.name or type(self).__name__}: the strided graph takes exactly one window "
                    f"of {self.receptive_field} frames, got {x.shape[1]}"
                )
            return self.forward_strided(x)
        return self.forward_dilated(x)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """Whole-sequence graph; ``x`` has already been checked."""
        raise NotImplementedError

    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        """Single-window graph; frame models (RF 1) reuse the dilated one."""
        return self.forward_dilated(x)

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, receptive_field={self.receptive_field}, causal={self.causal}, "
            f"joints={self.input_layout.num_joints}->{self.output_layout.num_joints}"
        )
