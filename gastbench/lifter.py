"""The lifter contract: what every 2D-to-3D model in gastbench promises.

A lifter maps ``(B, T, J_in, 2)`` normalized 2D keypoints to ``(B, T - RF + 1, J_out, 3)``
root-relative 3D joints in metres (a valid temporal convolution; frame models have
``RF == 1``). Temporal models run two execution graphs over one state dict: a *strided*
graph for training batches of exactly one receptive-field window, and a *dilated* graph
for whole sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from .errors import ShapeError
from .skeleton import Skeleton

__all__ = ["Lifter", "LifterMetadata", "PaperConvention", "ForwardMode"]

ForwardMode = Literal["auto", "dilated", "strided"]


@dataclass(frozen=True)
class PaperConvention:
    """How a model's own paper evaluated it, so that a published row can be matched.

    Attributes:
        downsample: evaluate every n-th test frame (GAST-Net's scripts use 5).
        recenter: ``"target"`` puts the ground-truth root at the origin only;
            ``"prediction"`` also re-centres the prediction on its own predicted root.
        joints: number of joints averaged (e.g. SemGCN averages its 16).
    """

    downsample: int = 1
    recenter: Literal["target", "prediction"] = "target"
    joints: int | None = None


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
        if frames < self.receptive_field:
            raise ShapeError(
                f"{self.name or type(self).__name__}: receptive field is {self.receptive_field} frames, "
                f"input {expected}, got {tuple(x.shape)} ({frames} frames); pad the sequence first"
            )

    def forward(self, x: torch.Tensor, mode: ForwardMode = "auto") -> torch.Tensor:
        """Lift ``(B, T, J_in, 2)`` to ``(B, T - RF + 1, J_out, 3)``.

        ``mode="auto"`` takes the strided graph when every item is exactly one window
        (training batches) and the dilated graph otherwise; both give the same numbers.
        """
        self.check_input(x)
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
