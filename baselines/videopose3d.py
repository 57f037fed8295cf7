"""VideoPose3D (Pavllo et al., CVPR 2019): dilated temporal convolutions over 2D keypoints.

One set of weights, two execution graphs:

- *dilated* (:meth:`VideoPose3D.forward_dilated`, the reference ``TemporalModel``): whole
  sequences, each layer a dilated convolution, one output frame per input window;
- *strided* (:meth:`VideoPose3D.forward_strided`, the reference ``TemporalModelOptimized1f``):
  exactly one receptive-field window per batch item, every convolution strided by its
  own width, so no frame is computed that the single output does not need.

Checkpoint key layout (reference ``common/model.py`` -> this module): identical, key for key::

    expand_conv.weight                      -> expand_conv.weight
    expand_bn.{weight,bias,running_mean,running_var,num_batches_tracked}
                                            -> expand_bn.{...}
    layers_conv.{2i}.weight   (width-w conv) -> layers_conv.{2i}.weight
    layers_conv.{2i+1}.weight (1x1 conv)     -> layers_conv.{2i+1}.weight
    layers_bn.{k}.{...}                     -> layers_bn.{k}.{...}
    shrink.{weight,bias}                    -> shrink.{weight,bias}

VideoPose3D's own checkpoints keep these under ``ckpt["model_pos"]`` (``model_traj`` is the
trajectory model, not used here). The dilated and strided reference models share this
layout, so either one's checkpoint loads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gastbench.errors import ConfigError
from gastbench.fastpath import weight_of
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.registry import CheckpointFormat, count_indexed_blocks, dim_size, register_lifter
from gastbench.skeleton import H36M_17, HUMANEVA_15, Skeleton

__all__ = ["VideoPose3D", "videopose3d_output_layout"]

_FAMILY = "videopose3d"
_PAPER = "Pavllo et al., CVPR 2019"
_URL = "https://github.com/facebookresearch/VideoPose3D"
_METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url=_URL,
    convention=PaperConvention(
        score_stride=1,
        recenter="target",
        flip=True,
        precision="float32",
        note="run.py evaluate(): flip-averaged, ground-truth root set to 0, prediction not re-centred, all 17 "
        "joints, float32 torch (P1) / numpy (P2).",
    ),
)
_LAYOUTS = ("h36m", "h36m16", "humaneva")

# Stacked-Hourglass detections have 16 joints, but the model still predicts all 17.
_OUTPUT_LAYOUTS: dict[str, Skeleton] = {"h36m": H36M_17, "h36m16": H36M_17, "humaneva": HUMANEVA_15}


def videopose3d_output_layout(input_layout: Skeleton) -> Skeleton:
    """The 3D layout predicted from a 2D input layout; :class:`ConfigError` if unsupported."""
    try:
        return _OUTPUT_LAYOUTS[input_layout.name]
    except KeyError:
        raise ConfigError(
            f"videopose3d: unsupported input layout {input_layout.name!r}; supported: {', '.join(_LAYOUTS)}"
        ) from None


class VideoPose3D(Lifter):
    """Temporal convolutional lifter ``(B, T, J_in, 2) -> (B, T - RF + 1, J_out, 3)``.

    Args:
        input_layout: 2D joint layout of the input.
        output_layout: 3D joint layout predicted.
        filter_widths: odd kernel width of each temporal block; RF is their product.
        causal: predict the last frame of each window instead of its centre.
        dropout: dropout probability after every ReLU.
        channels: width of every hidden convolution.
    """

    def __init__(
        self,
        *,
        input_layout: Skeleton,
        output_layout: Skeleton,
        filter_widths: tuple[int, ...],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
    ) -> None:
        if not filter_widths or any(int(w) != w or w < 1 or w % 2 == 0 for w in filter_widths):
            raise ConfigError(f"videopose3d: filter widths must be odd positive integers, got {filter_widths}")
        if not isinstance(channels, int) or channels < 1:
            raise ConfigError(f"videopose3d: channels must be a positive integer, got {channels!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"videopose3d: dropout must be in [0, 1), got {dropout!r}")
        super().__init__(
            input_layout=input_layout,
            output_layout=output_layout,
            receptive_field=math.prod(filter_widths),
            causal=bool(causal),
            metadata=_METADATA,
        )
        self.filter_widths = tuple(int(w) for w in filter_widths)
        self.channels = channels

        self.expand_conv = nn.Conv1d(input_layout.num_joints * 2, channels, self.filter_widths[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        self.layers_conv = nn.ModuleList()
        self.layers_bn = nn.ModuleList()
        # Per block: (width, dilation) — the dilated graph's geometry; the strided graph needs only the width.
        self._blocks: list[tuple[int, int]] = []
        dilation = self.filter_widths[0]
        for width in self.filter_widths[1:]:
            self.layers_conv.append(nn.Conv1d(channels, channels, width, dilation=dilation, bias=False))
            self.layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
            self.layers_conv.append(nn.Conv1d(channels, channels, 1, bias=False))
            self.layers_bn.append(nn.BatchNorm1d(channels, momentum=0.1))
            self._blocks.append((width, dilation))
            dilation *= width
        self.shrink = nn.Conv1d(channels, output_layout.num_joints * 3, 1)

        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(float(dropout))

    # --- layout plumbing ----------------------------------------------------------
    def _to_channels(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[:2]
        return x.reshape(batch, frames, -1).transpose(1, 2)  # (B, J*2, T)

    def _from_channels(self, y: torch.Tensor) -> torch.Tensor:
        batch, _, frames = y.shape
        return y.transpose(1, 2).reshape(batch, frames, self.output_layout.num_joints, 3)

    def _block(self, x: torch.Tensor, conv: nn.Module, bn: nn.Module, stride: int | None) -> torch.Tensor:
        # conv -> BN -> ReLU -> dropout; the strided graph reuses the dilated conv's weight with stride = width.
        if stride is None:
            y = conv(x)
        else:
            y = F.conv1d(x, weight_of(conv), conv.bias if isinstance(conv.bias, torch.Tensor) else None, stride=stride)
        return self.drop(self.relu(bn(y)))

    # --- graphs -------------------------------------------------------------------
    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """Whole sequences: ``(B, T, J_in, 2) -> (B, T - RF + 1, J_out, 3)``."""
        h = self._block(self._to_channels(x), self.expand_conv, self.expand_bn, stride=None)
        for i, (width, dilation) in enumerate(self._blocks):
            pad = (width - 1) * dilation // 2
            shift = pad if self.causal else 0
            # Residual = the frame each output is centred on (or ends at, when causal).
            res = h[:, :, pad + shift : h.shape[2] - pad + shift]
            h = self._block(h, self.layers_conv[2 * i], self.layers_bn[2 * i], stride=None)
            h = res + self._block(h, self.layers_conv[2 * i + 1], self.layers_bn[2 * i + 1], stride=None)
        return self._from_channels(self.shrink(h))

    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        """One window per item: ``(B, RF, J_in, 2) -> (B, 1, J_out, 3)``."""
        h = self._block(self._to_channels(x), self.expand_conv, self.expand_bn, stride=self.filter_widths[0])
        for i, (width, _) in enumerate(self._blocks):
            start = (width - 1) if self.causal else width // 2
            res = h[:, :, start::width]
            h = self._block(h, self.layers_conv[2 * i], self.layers_bn[2 * i], stride=width)
            h = res + self._block(h, self.layers_conv[2 * i + 1], self.layers_bn[2 * i + 1], stride=None)
        return self._from_channels(self.shrink(h))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, filter_widths={self.filter_widths}, channels={self.channels}"


def _build(
    layout: Skeleton,
    filter_widths: tuple[int, ...],
    *,
    causal: bool,
    dropout: float,
    channels: int,
    **unknown: Any,
) -> VideoPose3D:
    if unknown:
        raise ConfigError(f"videopose3d: unknown override(s) {sorted(unknown)}; supported: causal, dropout, channels")
    return VideoPose3D(
        input_layout=layout,
        output_layout=videopose3d_output_layout(layout),
        filter_widths=filter_widths,
        causal=causal,
        dropout=dropout,
        channels=channels,
    )


def _checkpoint_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "channels": dim_size(state, "expand_conv.weight", 0),
        "input channels (2 x joints)": dim_size(state, "expand_conv.weight", 1),
        "temporal blocks": count_indexed_blocks(state, r"layers_conv\.(\d+)\.") // 2,
        "output channels (3 x joints)": dim_size(state, "shrink.weight", 0),
    }


#: facebookresearch/VideoPose3D saves ``{"model_pos": state_dict, ...}`` with this module's key names.
CHECKPOINT_FORMAT = CheckpointFormat(
    name="videopose3d", repository="facebookresearch/VideoPose3D", containers=("model_pos",), facts=_checkpoint_facts
)


def _register(name: str, tags: tuple[str, ...]) -> Any:
    return register_lifter(
        name, family=_FAMILY, paper=_PAPER, default_layout="h36m", layouts=_LAYOUTS, tags=tags,
        checkpoint_format=CHECKPOINT_FORMAT,
    )  # fmt: skip


@_register("videopose3d-t27", tags=("temporal",))
def videopose3d_t27(
    layout: Skeleton, *, causal: bool = False, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, 27-frame receptive field (widths 3,3,3), 1024 channels."""
    return _build(layout, (3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)


@_register("videopose3d-t81", tags=("temporal",))
def videopose3d_t81(
    layout: Skeleton, *, causal: bool = False, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, 81-frame receptive field (widths 3,3,3,3), 1024 channels."""
    return _build(layout, (3, 3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)


@_register("videopose3d-t243", tags=("temporal",))
def videopose3d_t243(
    layout: Skeleton, *, causal: bool = False, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, 243-frame receptive field (widths 3,3,3,3,3), 1024 channels."""
    return _build(layout, (3, 3, 3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)


@_register("videopose3d-t27-causal", tags=("temporal", "causal"))
def videopose3d_t27_causal(
    layout: Skeleton, *, causal: bool = True, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, causal (predicts each window's last frame), 27-frame receptive field."""
    return _build(layout, (3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)


@_register("videopose3d-t81-causal", tags=("temporal", "causal"))
def videopose3d_t81_causal(
    layout: Skeleton, *, causal: bool = True, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, causal (predicts each window's last frame), 81-frame receptive field."""
    return _build(layout, (3, 3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)


@_register("videopose3d-t243-causal", tags=("temporal", "causal"))
def videopose3d_t243_causal(
    layout: Skeleton, *, causal: bool = True, dropout: float = 0.25, channels: int = 1024, **unknown: Any
) -> VideoPose3D:
    """VideoPose3D, causal (predicts each window's last frame), 243-frame receptive field."""
    return _build(layout, (3, 3, 3, 3, 3), causal=causal, dropout=dropout, channels=channels, **unknown)
