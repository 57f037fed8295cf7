"""GAST-Net (Liu et al., WACV 2021): graph attention spatio-temporal convolutional lifter.

Layer for layer the reference ``model/gast_net.py`` (``SpatioTemporalModel`` and
``SpatioTemporalModelOptimized1f``), as ONE module whose single state dict runs two
execution graphs: :meth:`GASTNet.forward_dilated` (whole sequences, dilation) and
:meth:`GASTNet.forward_strided` (one receptive-field window, stride = kernel width).

State-dict keys equal the reference's (strip a DataParallel ``module.`` prefix); every
tensor has the reference's shape. Graph masks are non-persistent buffers rebuilt from the
:class:`~gastbench.skeleton.Skeleton` (the reference never saved them either).

=====================================================================  ==========================================
reference key (``i`` graph block, ``k`` head, ``m`` temporal conv)      shape (``C`` block input width, ``J`` joints)
=====================================================================  ==========================================
``init_bn.{weight,bias,running_mean,running_var,num_batches_tracked}``  ``(2,)``
``expand_conv.weight``                                                  ``(channels, 2, fw[0], 1)``
``expand_bn.*``                                                         ``(channels,)``
``layers_conv.{2m}.weight`` (dilated/strided ``fw[m+1]`` x 1)           ``(2^(m+1) ch, 2^(m+1) ch, fw[m+1], 1)``
``layers_conv.{2m+1}.weight`` (1x1)                                     ``(2^(m+1) ch, 2^(m+1) ch, 1, 1)``
``layers_bn.{2m,2m+1}.*``                                               ``(2^(m+1) ch,)``
``layers_graph_conv.{i}.local_graph_layer.gcn_sym.W``                   ``(2, C, C)``
``layers_graph_conv.{i}.local_graph_layer.gcn_sym.e``                   ``(C, nnz(symmetry mask))``
``layers_graph_conv.{i}.local_graph_layer.gcn_con.W`` / ``.e``          ``(2, C, C)`` / ``(C, nnz(connection mask))``
``layers_graph_conv.{i}.local_graph_layer.bn_1.*`` / ``bn_2.*``         ``(C,)``
``layers_graph_conv.{i}.local_graph_layer.cat_conv.weight``             ``(C, 2C, 1, 1)``
``layers_graph_conv.{i}.local_graph_layer.cat_bn.*``                    ``(C,)``
``layers_graph_conv.{i}.global_graph_layer.attentions.{k}.g.{weight,bias}``  ``(C/4, C, 1)`` / ``(C/4,)``
``layers_graph_conv.{i}.global_graph_layer.attentions.{k}.theta.*``    ``(C/4, C, 1)`` / ``(C/4,)``
``layers_graph_conv.{i}.global_graph_layer.attentions.{k}.phi.*``      ``(C/4, C, 1)`` / ``(C/4,)``
``layers_graph_conv.{i}.global_graph_layer.attentions.{k}.C_k``        ``(J, J)``
``layers_graph_conv.{i}.global_graph_layer.attentions.{k}.concat_project.0.weight``  ``(1, C/2, 1, 1)``
``layers_graph_conv.{i}.global_graph_layer.cat_conv.weight``           ``(C, C, 1, 1)``
``layers_graph_conv.{i}.global_graph_layer.cat_bn.*``                  ``(C,)``
``layers_graph_conv.{i}.cat_conv.weight``                               ``(2C, 3C, 1, 1)``
``layers_graph_conv.{i}.cat_bn.*``                                      ``(2C,)``
``shrink.weight``                                                       ``(3, 2^len(fw) ch, 1, 1)``
=====================================================================  ==========================================

Non-persistent buffers (absent from checkpoints, rebuilt from the layout):
``...gcn_sym.mask``, ``...gcn_sym.eye``, ``...gcn_con.mask``, ``...gcn_con.eye``.
``e`` holds one logit per nonzero mask entry in row-major order, exactly the reference's
``adj[mask] = e.view(-1)`` order. HumanEva-I's distal joints are the reference's
``[4, 7, 10, 13]`` (wrists and ankles; not the head).

Eval with autograd off takes a fused path (softmaxed kernels, folded BN, one GEMM per
1x1 conv in a channels-last layout, each level in cache-sized chunks of frames), with
every derived tensor re-derived on each call so that no weight edit can leave it stale;
training and autograd take the plain path. Both compute the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..fastpath import stream_parts
from ..lifter import Lifter, LifterMetadata, PaperConvention
from ..skeleton import Skeleton
from ._blas import cpu_streams, gemm, gemm_sum, gemm_threads, run_streams
from ._fast import Workspace, use_fast_path
from .global_attention import GlobalFolded, MultiGlobalGraph
from .graph import connection_mask, symmetry_mask
from .layers import (
    BatchNormCL,
    bn_scale_shift,
    conv_taps,
    temporal_conv_dilated,
    temporal_conv_strided,
    weight_of,
)
from .local_attention import LocalFolded, LocalGraph

__all__ = ["GraphAttentionBlock", "GASTNet", "GASTNET_METADATA"]

#: Bytes of a fused level's widest intermediate (4C floats per row, inside the local attention)
#: per chunk. On a CPU a chunk is sized to stay in cache (~8 MiB, a share of L3). On a GPU chunks
#: only bound memory: cache-sized ones multiply kernel launches until the device waits on the host,
#: so a chunk there is 512 MiB.
_CHUNK_BYTES_CPU = 1 << 23
_CHUNK_BYTES_ACCELERATOR = 1 << 29


def _chunk_frames(rows_per_frame: int, width: int, device: torch.device) -> int:
    """Output frames per chunk of a fused level whose graph block emits ``width`` channels."""
    budget = _CHUNK_BYTES_CPU if device.type == "cpu" else _CHUNK_BYTES_ACCELERATOR
    rows = max(256, budget // (4 * 2 * width))
    return max(1, rows // rows_per_frame)


GASTNET_METADATA = LifterMetadata(
    family="gast-net",
    paper="Liu et al., GAST-Net, WACV 2021",
    url="https://github.com/fabro66/GAST-Net-3DPoseEstimation",
    convention=PaperConvention(
        score_stride=5,
        recenter="target",
        flip=True,
        precision="float32",
        note="main.py evaluate(): flip-averaged, ground-truth root set to 0, prediction not re-centred, all 17 "
        "joints, float32 torch (P1) / numpy (P2); the reference scripts score every 5th test frame.",
    ),
)

#: The reference sets the global attention's inner width to a quarter of the input: K = 4 heads.
NUM_HEADS = 4


class BlockFolded(NamedTuple):
    """A :class:`GraphAttentionBlock` folded for one eval forward."""

    local: LocalFolded
    glob: GlobalFolded
    w_x: torch.Tensor  # (C, 2C): the fusing conv's rows for the input, ...
    w_l: torch.Tensor  # (C, 2C): ... for the local branch,
    w_g: torch.Tensor  # (C, 2C): ... for the global branch (BN folded into all three)
    shift: torch.Tensor  # (2C,)


class GraphAttentionBlock(nn.Module):
    """Local + global attention on ``(N, J, C)``, concatenated with the input, 1x1 conv to ``2C`` + BN + ReLU."""

    def __init__(self, skeleton: Skeleton, channels: int, dropout: float | None) -> None:
        super().__init__()
        if channels % NUM_HEADS:
            raise ConfigError(f"GAST-Net graph block width must be divisible by {NUM_HEADS}, got {channels}")
        self.channels = channels
        self.local_graph_layer = LocalGraph(
            symmetry_mask(skeleton), connection_mask(skeleton), channels, channels, dropout
        )
        self.global_graph_layer = MultiGlobalGraph(skeleton.num_joints, channels, channels // NUM_HEADS, dropout)
        self.cat_conv = nn.Conv2d(3 * channels, 2 * channels, 1, bias=False)
        self.cat_bn = BatchNormCL(2 * channels, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C) -> (N, J, 2C)``."""
        if use_fast_path(self):
            with gemm_threads(x.device):
                return self.fused(self.fold(), x)
        local = self.local_graph_layer(x)
        glob = self.global_graph_layer(x)
        y = torch.cat((x, local, glob), dim=-1) @ self.cat_conv.weight[:, :, 0, 0].t()
        return F.relu(self.cat_bn(y))

    def fold(self) -> BlockFolded:
        scale, shift = bn_scale_shift(self.cat_bn)
        w = (self.cat_conv.weight[:, :, 0, 0] * scale[:, None]).t()  # (3C, 2C), a transposed view
        c = self.channels
        return BlockFolded(
            self.local_graph_layer.fold(), self.global_graph_layer.fold(), w[:c], w[c : 2 * c], w[2 * c :], shift
        )

    @staticmethod
    def fused(
        f: BlockFolded, x: torch.Tensor, out: torch.Tensor | None = None, ws: Workspace | None = None
    ) -> torch.Tensor:
        """Eval forward ``(N, J, C) -> (N, J, 2C)``; ``out`` (``(N*J, 2C)``, contiguous) receives the result."""
        ws = ws if ws is not None else Workspace(x)
        n, j, c = x.shape
        local = LocalGraph.fused(f.local, x, ws)
        glob = MultiGlobalGraph.fused(f.glob, x, ws)
        # concat + 1x1 conv as three accumulated GEMMs: no (N, J, 3C) copy
        if out is None:
            out = x.new_empty(n * j, 2 * c)
        gemm_sum(
            [(x.reshape(n * j, c), f.w_x), (local.view(n * j, c), f.w_l), (glob.view(n * j, c), f.w_g)],
            out,
            bias=f.shift,
        )
        return out.relu_().view(n, j, 2 * c)


class GASTNet(Lifter):
    """GAST-Net temporal lifter: ``(B, T, J, 2) -> (B, T - RF + 1, J, 3)`` on the input's own layout."""

    def __init__(
        self,
        layout: Skeleton,
        filter_widths: Sequence[int],
        *,
        channels: int = 64,
        causal: bool = False,
        dropout: float = 0.25,
    ) -> None:
        filter_widths = tuple(int(fw) for fw in filter_widths)
        if not filter_widths or any(fw < 1 or fw % 2 == 0 for fw in filter_widths):
            raise ConfigError(f"GAST-Net filter widths must be odd positive integers, got {filter_widths}")
        if channels <= 0 or channels % NUM_HEADS:
            raise ConfigError(f"GAST-Net channels must be a positive multiple of {NUM_HEADS}, got {channels}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"GAST-Net dropout must be in [0, 1), got {dropout}")
        pads, shifts, dilations = [filter_widths[0] // 2], [filter_widths[0] // 2 if causal else 0], [1]
        next_dilation = filter_widths[0]
        for fw in filter_widths[1:]:
            pads.append((fw - 1) * next_dilation // 2)
            shifts.append(fw // 2 * next_dilation if causal else 0)
            dilations.append(next_dilation)
            next_dilation *= fw
        super().__init__(
            input_layout=layout,
            output_layout=layout,
            receptive_field=1 + 2 * sum(pads),
            causal=causal,
            metadata=GASTNET_METADATA,
        )
        self.filter_widths = filter_widths
        self.channels = channels
        self.dropout_p = dropout
        self._pads = tuple(pads)
        self._shifts = tuple(shifts)  # dilated graph: residual offset of each temporal block
        self._dilations = tuple(dilations)

        self.drop = nn.Dropout(dropout)
        self.init_bn = BatchNormCL(2, momentum=0.1)
        self.expand_conv = nn.Conv2d(2, channels, (filter_widths[0], 1), bias=False)
        nn.init.kaiming_normal_(self.expand_conv.weight)
        self.expand_bn = BatchNormCL(channels, momentum=0.1)
        layers_conv: list[nn.Module] = []
        layers_bn: list[nn.Module] = []
        blocks = [GraphAttentionBlock(layout, channels, dropout)]
        for i, fw in enumerate(filter_widths[1:], start=1):
            width = 2**i * channels
            layers_conv.append(nn.Conv2d(width, width, (fw, 1), dilation=(dilations[i], 1), bias=False))
            layers_bn.append(BatchNormCL(width, momentum=0.1))
            layers_conv.append(nn.Conv2d(width, width, 1, bias=False))
            layers_bn.append(BatchNormCL(width, momentum=0.1))
            blocks.append(GraphAttentionBlock(layout, width, dropout))
        self.layers_conv = nn.ModuleList(layers_conv)
        self.layers_bn = nn.ModuleList(layers_bn)
        self.layers_graph_conv = nn.ModuleList(blocks)
        self.shrink = nn.Conv2d(2 ** len(filter_widths) * channels, 3, 1, bias=False)

    # --- execution graphs ------------------------------------------------------------
    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, strided=False)

    def forward_strided(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, strided=True)

    def _run(self, x: torch.Tensor, *, strided: bool) -> torch.Tensor:
        """Shared body of both graphs on the time-major layout ``(T, B, J, C)``."""
        if use_fast_path(self):
            return self._run_fused(x, strided=strided)
        h = self.init_bn(x.permute(1, 0, 2, 3).contiguous())
        w = conv_taps(self.expand_conv.weight)
        h = temporal_conv_strided(h, w) if strided else temporal_conv_dilated(h, w, 1)
        h = F.relu(self.expand_bn(h))
        h = self._graph(0, h)
        for i in range(1, len(self.filter_widths)):
            res = self._residual(h, i, strided)
            conv, bn = self.layers_conv[2 * i - 2], self.layers_bn[2 * i - 2]
            w = conv_taps(weight_of(conv))
            h = temporal_conv_strided(h, w) if strided else temporal_conv_dilated(h, w, self._dilations[i])
            h = F.relu(bn(h))
            w = weight_of(self.layers_conv[2 * i - 1])[:, :, 0, 0].t()
            h = res + self.drop(F.relu(self.layers_bn[2 * i - 1](h @ w)))
            h = self._graph(i, h)
        out = h @ self.shrink.weight[:, :, 0, 0].t()
        return out.permute(1, 0, 2, 3)

    def _residual(self, h: torch.Tensor, i: int, strided: bool) -> torch.Tensor:
        """The frames of level ``i``'s input that its temporal block adds back (a view)."""
        fw = self.filter_widths[i]
        if strided:
            return h[(fw // 2 if self.causal else 0) + fw // 2 :: fw]
        start = self._pads[i] + self._shifts[i]
        return h[start : h.shape[0] - self._pads[i] + self._shifts[i]]

    def _graph(self, i: int, h: torch.Tensor) -> torch.Tensor:
        t, b, j, c = h.shape
        block: nn.Module = self.layers_graph_conv[i]
        return block(h.reshape(t * b, j, c)).view(t, b, j, -1)

    # --- the fused eval path -----------------------------------------------------------
    def _run_fused(self, x: torch.Tensor, *, strided: bool) -> torch.Tensor:
        """Eval forward from tensors folded afresh on this call, one level at a time in cache-sized chunks.

        On a CPU whose GEMMs run through OpenBLAS the input is cut into independent parts (its
        sequences, or overlapping stretches of time), one single-threaded stream per core.
        """
        taps = self._folded_taps()
        blocks = [block.fold() for block in self.layers_graph_conv if isinstance(block, GraphAttentionBlock)]
        parts = stream_parts(x.shape[0], x.shape[1], self.receptive_field, strided, cpu_streams(x.device))
        if len(parts) == 1:
            with gemm_threads(x.device):
                return self._run_folded(x, taps, blocks, strided)

        def part(b: slice, t: slice) -> Callable[[], torch.Tensor]:
            return lambda: self._run_folded(x[b, t], taps, blocks, strided)

        outs = run_streams([part(b, t) for b, t, _ in parts])
        # dilated parts split time too: the output spans every part's frames
        out_frames = outs[0].shape[1] if strided else x.shape[1] - self.receptive_field + 1
        out = x.new_empty(x.shape[0], out_frames, *outs[0].shape[2:])
        for (b, _, t_out), y in zip(parts, outs):
            out[b, t_out] = y
        return out

    def _run_folded(
        self, x: torch.Tensor, taps: list[tuple[torch.Tensor, torch.Tensor]], blocks: list[BlockFolded], strided: bool
    ) -> torch.Tensor:
        """The fused forward of ``x (B, T, J, 2)`` from folded tensors, with its own scratch buffers."""
        ws = Workspace(x)
        h = x.permute(1, 0, 2, 3).contiguous()
        shrink = self.shrink.weight[:, :, 0, 0].t()
        last = len(blocks) - 1
        for i, block in enumerate(blocks):
            h = self._fused_level(i, h, taps, block, strided, ws, shrink if i == last else None)
        return h.permute(1, 0, 2, 3)

    def _fused_level(
        self,
        i: int,
        h: torch.Tensor,
        taps: list[tuple[torch.Tensor, torch.Tensor]],
        block: BlockFolded,
        strided: bool,
        ws: Workspace,
        shrink: torch.Tensor | None,
    ) -> torch.Tensor:
        """Level ``i`` (temporal block, then graph block) of ``h (T, B, J, C)``, computed in chunks of output frames.

        Every op of a level is local in time, so a chunk's intermediates (up to ``4C`` wide
        inside the local attention) stay in cache between ops, in scratch buffers reused
        from chunk to chunk; only the level's output is written to memory. Given
        ``shrink`` (the final 1x1 conv, ``(C_out, 3)``), the last level applies it per
        chunk and returns ``(T, B, J, 3)`` without ever holding its wide output. Chunks
        change which rows a GEMM sees, not any sum's order.
        """
        fw, dilation = self.filter_widths[i], self._dilations[i]
        frames, batch, joints, _ = h.shape
        w1, b1 = taps[2 * i - 1] if i else taps[0]
        c = w1.shape[-1]
        out_frames = frames // fw if strided else frames - (fw - 1) * dilation
        c_out = block.shift.shape[0]
        out = h.new_empty(out_frames, batch, joints, c_out if shrink is None else shrink.shape[1])
        res = self._residual(h, i, strided) if i else None
        step = out_frames if strided else _chunk_frames(batch * joints, c_out, h.device)
        for a in range(0, out_frames, step):
            e = min(a + step, out_frames)
            rows = (e - a) * batch * joints
            if strided:
                y = temporal_conv_strided(h[a * fw : e * fw], w1, b1)
            else:
                window = h[a : e + (fw - 1) * dilation]
                y = temporal_conv_dilated(window, w1, dilation, b1, out=ws.take("level.conv", rows, c))
            y = y.relu_().view(-1, c)
            if res is not None:
                w2, b2 = taps[2 * i]
                y = gemm(y, w2[0], ws.take("level.pointwise", rows, c), bias=b2).relu_()
                y.view(e - a, batch, joints, c).add_(res[a:e])
            wide = out[a:e].view(rows, c_out) if shrink is None else ws.take("level.block", rows, c_out)
            GraphAttentionBlock.fused(block, y.view(-1, joints, c), out=wide, ws=ws)
            if shrink is not None:
                gemm(wide, shrink, out[a:e].view(rows, -1))
        return out

    # --- eval-time folding -----------------------------------------------------------
    def _folded_taps(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every temporal conv as ``(taps (k, C_in, C_out), bias)`` with its BN (and the input BN) folded in."""
        s_in, t_in = bn_scale_shift(self.init_bn)
        taps = conv_taps(self.expand_conv.weight)  # (k, 2, C)
        s, t = bn_scale_shift(self.expand_bn)
        # conv(x * s_in + t_in) = conv'(x) + sum over taps and inputs of W * t_in (no padding, so exact)
        bias = (t_in[None, :, None] * taps).sum(dim=(0, 1)) * s + t
        folded = [((taps * s_in[None, :, None] * s).contiguous(), bias)]
        for conv, bn in zip(self.layers_conv, self.layers_bn):
            s, t = bn_scale_shift(bn)
            folded.append(((conv_taps(weight_of(conv)) * s).contiguous(), t))
        return folded

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, filter_widths={self.filter_widths}, channels={self.channels}"
