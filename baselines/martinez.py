"""Martinez et al. (ICCV 2017) "simple yet effective baseline": a residual MLP per frame.

The paper's setting lifts the 16 Stacked-Hourglass joints (layout ``"h36m16"``) to the
16 non-root joints of the 17-joint layout; this lifter pads a zero root so that it returns
the full ``"h36m"`` layout like every other lifter. HumanEva: 15 in, 14 + zero root out.

Original checkpoints (the PyTorch port weigq/3d_pose_baseline_pytorch) use this module's
key names; :data:`CHECKPOINT_FORMAT` says how ``gastbench convert`` reads them. Output rows
of ``w2`` are the non-root joints of the output layout in layout order, ``(x, y, z)`` per joint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from gastbench.cpu_gemm import linear
from gastbench.errors import ConfigError
from gastbench.fastpath import (
    bias_of,
    bn_affine,
    chunk_rows,
    cpu_streams,
    share_chunks,
    typed_child,
    use_fast_path,
    weight_of,
)
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.registry import CheckpointFormat, count_indexed_blocks, dim_size, register_lifter
from gastbench.skeleton import H36M_17, HUMANEVA_15, Skeleton

from .martinez_fold import STATISTICS, fold_martinez_statistics

__all__ = ["Martinez", "martinez_output_layout"]

_FAMILY = "martinez"
_PAPER = "Martinez et al., ICCV 2017"
_METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url="https://github.com/una-dinosauria/3d-pose-baseline",
    convention=PaperConvention(
        score_stride=1,
        recenter="target",
        joints=17,
        flip=False,
        precision="float64",
        note="main.py test() of the PyTorch port: no flip; un-normalised mm poses in float64 whose roots are "
        "both 0; 17 joints averaged INCLUDING the root (error always 0: P1 is 16/17 of the 16-joint mean), "
        "and P2's Procrustes is fitted on those 17 joints.",
    ),
)
_LAYOUTS = ("h36m16", "h36m", "humaneva")
_OUTPUT_LAYOUTS: dict[str, Skeleton] = {"h36m16": H36M_17, "h36m": H36M_17, "humaneva": HUMANEVA_15}


def martinez_output_layout(input_layout: Skeleton) -> Skeleton:
    """The 3D layout predicted from a 2D input layout; :class:`ConfigError` if unsupported."""
    try:
        return _OUTPUT_LAYOUTS[input_layout.name]
    except KeyError:
        raise ConfigError(
            f"martinez: unsupported input layout {input_layout.name!r}; supported: {', '.join(_LAYOUTS)}"
        ) from None


class _LinearStage(nn.Module):
    """Residual stage: two (Linear -> BN -> ReLU -> Dropout) layers and a skip connection."""

    def __init__(self, size: int, p_dropout: float) -> None:
        super().__init__()
        self.w1 = nn.Linear(size, size)
        self.batch_norm1 = nn.BatchNorm1d(size)
        self.w2 = nn.Linear(size, size)
        self.batch_norm2 = nn.BatchNorm1d(size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        y = self.dropout(self.relu(self.batch_norm2(self.w2(y))))
        return x + y


class Martinez(Lifter):
    """Frame lifter ``(B, T, J_in, 2) -> (B, T, J_out, 3)`` with an exactly-zero root joint.

    Args:
        input_layout: 2D joint layout of the input.
        output_layout: 3D layout returned; the network predicts all its joints but the root.
        hidden: width of every linear layer (the paper's 1024).
        num_stage: number of residual stages (the paper's 2).
        dropout: dropout probability (the paper's 0.5).
    """

    def __init__(
        self,
        *,
        input_layout: Skeleton,
        output_layout: Skeleton,
        hidden: int = 1024,
        num_stage: int = 2,
        dropout: float = 0.5,
    ) -> None:
        if not isinstance(hidden, int) or hidden < 1:
            raise ConfigError(f"martinez: hidden must be a positive integer, got {hidden!r}")
        if not isinstance(num_stage, int) or num_stage < 0:
            raise ConfigError(f"martinez: num_stage must be a non-negative integer, got {num_stage!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"martinez: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            input_layout=input_layout,
            output_layout=output_layout,
            receptive_field=1,
            causal=False,
            metadata=_METADATA,
        )
        self.linear_size = hidden
        self.num_stage = num_stage
        self.input_size = input_layout.num_joints * 2
        self.output_size = (output_layout.num_joints - 1) * 3

        self.w1 = nn.Linear(self.input_size, hidden)
        self.batch_norm1 = nn.BatchNorm1d(hidden)
        self.linear_stages = nn.ModuleList(_LinearStage(hidden, float(dropout)) for _ in range(num_stage))
        self.w2 = nn.Linear(hidden, self.output_size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(float(dropout))

        non_root = [j for j in range(output_layout.num_joints) if j != output_layout.root]
        self.register_buffer("non_root", torch.tensor(non_root, dtype=torch.long), persistent=False)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, J_in, 2) -> (B, T, J_out, 3)``; every frame independently.

        In evaluation (:func:`~gastbench.fastpath.use_fast_path`) the batch norms are folded into
        the linear layers before them and chunks of frames go through one single-threaded stream
        per core (:func:`~gastbench.fastpath.share_chunks`), each layer one GEMM with its ReLU fused
        (:func:`gastbench.cpu_gemm.linear`); the same function as the plain path (tests: 1e-5 m).
        """
        if use_fast_path(self):
            return self._forward_folded(x)
        batch, frames = x.shape[:2]
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x.reshape(batch * frames, self.input_size)))))
        for stage in self.linear_stages:
            y = stage(y)
        y = self.w2(y).view(batch * frames, -1, 3)
        out = y.new_zeros(batch * frames, self.output_layout.num_joints, 3)
        out[:, self.non_root] = y  # the root stays exactly zero
        return out.view(batch, frames, self.output_layout.num_joints, 3)

    def _forward_folded(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[:2]
        flat = x.reshape(batch * frames, self.input_size)
        joints = self.output_layout.num_joints
        first = _fold(self.w1, self.batch_norm1)
        stages = [
            (_fold(s.w1, s.batch_norm1), _fold(s.w2, s.batch_norm2))
            for s in (typed_child(self.linear_stages, i, _LinearStage) for i in range(len(self.linear_stages)))
        ]
        head_w, head_b = weight_of(self.w2), bias_of(self.w2)
        out = flat.new_zeros(flat.shape[0], joints, 3)  # the root stays exactly zero
        non_root = self.non_root
        assert isinstance(non_root, torch.Tensor)

        def lift(a: int, b: int) -> None:
            y = linear(flat[a:b], *first, activation="relu")
            for (w1, b1), (w2, b2) in stages:
                y = linear(linear(y, w1, b1, activation="relu"), w2, b2, activation="relu").add_(y)
            out[a:b, non_root] = linear(y, head_w, head_b).view(b - a, -1, 3)

        share_chunks(
            flat.shape[0], chunk_rows(1, self.linear_size, flat.device), cpu_streams(flat.device), lambda: lift
        )
        return out.view(batch, frames, joints, 3)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, hidden={self.linear_size}, num_stage={self.num_stage}"


def _fold(layer: nn.Linear, bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """``bn(layer(x))`` at evaluation as one linear layer's ``(weight, bias)``."""
    scale, shift = bn_affine(bn)
    return weight_of(layer) * scale[:, None], bias_of(layer) * scale + shift


def _checkpoint_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "hidden units": dim_size(state, "w1.weight", 0),
        "inputs (2 x joints)": dim_size(state, "w1.weight", 1),
        "stages": count_indexed_blocks(state, r"linear_stages\.(\d+)\."),
        "outputs (3 x joints)": dim_size(state, "w2.weight", 0),
    }


#: weigq/3d_pose_baseline_pytorch saves ``{"state_dict": ...}`` with this module's key names.
CHECKPOINT_FORMAT = CheckpointFormat(
    name="martinez",
    repository="weigq/3d_pose_baseline_pytorch",
    containers=("state_dict",),
    facts=_checkpoint_facts,
    statistics=STATISTICS,  # its checkpoints take z-scored pixels and return z-scored mm
    fold=fold_martinez_statistics,
)


@register_lifter(
    "martinez",
    family=_FAMILY,
    paper=_PAPER,
    default_layout="h36m16",
    layouts=_LAYOUTS,
    tags=("frame",),
    checkpoint_format=CHECKPOINT_FORMAT,
)
def martinez(
    layout: Skeleton, *, hidden: int = 1024, num_stage: int = 2, dropout: float = 0.5, **unknown: Any
) -> Martinez:
    """Martinez simple baseline: residual MLP per frame, 1024 units, 2 stages, zero root."""
    if unknown:
        raise ConfigError(f"martinez: unknown override(s) {sorted(unknown)}; supported: hidden, num_stage, dropout")
    return Martinez(
        input_layout=layout,
        output_layout=martinez_output_layout(layout),
        hidden=hidden,
        num_stage=num_stage,
        dropout=dropout,
    )
