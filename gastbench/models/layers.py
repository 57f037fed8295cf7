"""Small building blocks shared by GAST-Net's modules: channels-last batch norm, BN folding, temporal convs.

GAST-Net's hot path runs in a channels-last layout (``(T, B, J, C)`` for the temporal
part, ``(N, J, C)`` with ``N = T * B`` for the graph part) so that every 1x1 convolution
is one GEMM over contiguous rows and no permute copy is needed between blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..fastpath import autocast_enabled, bias_of, bn_affine, weight_of
from ._blas import gemm_sum

__all__ = [
    "BatchNormCL",
    "bn_scale_shift",
    "conv_taps",
    "temporal_conv_dilated",
    "temporal_conv_strided",
    "bias_of",
    "weight_of",
]


class BatchNormCL(nn.BatchNorm2d):
    """``BatchNorm2d`` (same parameters, buffers and state-dict keys) applied to channels-last input ``(..., C)``."""

    def _check_input_dim(self, input: torch.Tensor) -> None:  # any rank, channels last
        if input.shape[-1] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels in the last axis, got {tuple(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        flat = input.reshape(-1, self.num_features)  # (M, C): batch norm's channel axis is 1
        return super().forward(flat).view(input.shape)


#: Eval-mode batch norm as ``x * scale + shift`` (running statistics); one home for every folded path.
bn_scale_shift = bn_affine


def conv_taps(weight: torch.Tensor) -> torch.Tensor:
    """``(C_out, C_in, k, 1)`` temporal-conv weight as ``(k, C_in, C_out)`` GEMM operands."""
    return weight[..., 0].permute(2, 1, 0).contiguous()


def temporal_conv_dilated(
    x: torch.Tensor,
    taps: torch.Tensor,
    dilation: int,
    bias: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Valid dilated temporal convolution of ``x (T, B, J, C_in)`` with ``taps (k, C_in, C_out)``.

    Time is the outermost axis, so each tap's input is a contiguous row block and the
    convolution is ``k`` accumulated GEMMs without any unfold copy. ``out`` (contiguous,
    ``(T_out * B * J, C_out)``) receives the result when given; under autocast it is not used
    and a new tensor comes back.
    """
    frames, batch, joints, c_in = x.shape
    k = taps.shape[0]
    out_frames = frames - (k - 1) * dilation
    rows = out_frames * batch * joints
    step = dilation * batch * joints
    flat = x.reshape(frames * batch * joints, c_in)
    # In-place accumulation saves a buffer per tap; autocast does not cast in-place ops, so
    # under autocast each tap is added out of place (autocast casts addmm's operands).
    in_place = not autocast_enabled(x.device.type)
    if out is not None and in_place:  # the fused eval path: its GEMMs go through gemm()
        gemm_sum([(flat[tap * step : tap * step + rows], taps[tap]) for tap in range(k)], out, bias=bias)
        return out.view(out_frames, batch, joints, -1)
    out = flat[:rows] @ taps[0] if bias is None else torch.addmm(bias, flat[:rows], taps[0])
    for tap in range(1, k):
        block = flat[tap * step : tap * step + rows]
        out = out.addmm_(block, taps[tap]) if in_place else torch.addmm(out, block, taps[tap])
    return out.view(out_frames, batch, joints, -1)


def temporal_conv_strided(x: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Temporal convolution with stride = kernel width of ``x (T, B, J, C_in)``; ``T`` divisible by ``k``."""
    frames, batch, joints, c_in = x.shape
    k = taps.shape[0]
    windows = x.reshape(frames // k, k, batch, joints, c_in).permute(0, 2, 3, 1, 4).reshape(-1, k * c_in)
    weight = taps.reshape(k * c_in, -1)
    out = windows @ weight if bias is None else torch.addmm(bias, windows, weight)
    return out.view(frames // k, batch, joints, -1)
