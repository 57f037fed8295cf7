"""A temporal MLP: the 2D poses of a window, flattened, through a small MLP to the centre frame's 3D pose."""

from __future__ import annotations

import torch
from torch import nn

from gastbench import Lifter, LifterMetadata, Skeleton


class TemporalMLP(Lifter):
    """``(B, T, J, 2)`` -> ``(B, T - RF + 1, J, 3)``: a window of RF frames lifts its centre frame.

    The first layer is a temporal convolution with kernel RF, so whole sequences (the dilated
    graph) and single windows (the strided graph) share one state dict.
    """

    def __init__(self, layout: Skeleton, *, receptive_field: int, hidden: int = 256, dropout: float = 0.1) -> None:
        super().__init__(
            input_layout=layout,
            output_layout=layout,  # predicts the joints it is given, root-relative, in metres
            receptive_field=receptive_field,
            causal=False,
            metadata=LifterMetadata(family="tmlp", paper="gastbench example plugin"),
        )
        joints = layout.num_joints
        self.expand = nn.Conv1d(joints * 2, hidden, kernel_size=receptive_field)
        self.body = nn.Sequential(
            nn.ReLU(), nn.Dropout(dropout), nn.Conv1d(hidden, hidden, 1), nn.ReLU(), nn.Dropout(dropout)
        )
        self.head = nn.Conv1d(hidden, joints * 3, 1)

    def _lift(self, features: torch.Tensor, batch: int) -> torch.Tensor:
        """``(B, hidden, T_out)`` -> ``(B, T_out, J, 3)``."""
        out = self.head(self.body(features))
        return out.permute(0, 2, 1).reshape(batch, out.shape[-1], self.output_layout.num_joints, 3)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[:2]
        return self._lift(self.expand(x.reshape(batch, frames, -1).permute(0, 2, 1)), batch)

    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        # One window: the temporal convolution is one matrix product over the flattened window.
        batch = x.shape[0]
        flat = x.reshape(batch, self.receptive_field, -1).permute(0, 2, 1).reshape(batch, -1)
        weight = self.expand.weight.reshape(self.expand.out_channels, -1)
        return self._lift(nn.functional.linear(flat, weight, self.expand.bias).unsqueeze(-1), batch)
