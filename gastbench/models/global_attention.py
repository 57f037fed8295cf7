"""Global attention: K heads of non-local graph attention, fused by a 1x1 conv.

Mirrors the reference ``model/global_attention.py`` (``GlobalGraph``, ``MultiGlobalGraph``)
parameter for parameter; attribute names are kept so state-dict keys map 1:1.

Per head, ``B_k[n, i, j] = softmax_j(LeakyReLU_0.2(w_theta . theta(x_i) + w_phi . phi(x_j)))``
(the reference's 1x1 conv over the concatenation ``[theta_i, phi_j]`` is exactly that sum),
the adjacency is ``B_k + C_k`` with ``C_k`` a learnable ``(J, J)`` matrix starting at zero,
and the head outputs ``(B_k + C_k) g(x)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._blas import gemm, gemm_sum, gemm_threads
from ._fast import Workspace, use_fast_path
from .layers import BatchNormCL, bias_of, bn_scale_shift

__all__ = ["GlobalGraph", "MultiGlobalGraph", "GlobalFolded"]

_SLOPE = 0.2


class GlobalGraph(nn.Module):
    """One attention head: ``g``, ``theta``, ``phi`` 1x1 convs (with bias), ``concat_project``, ``C_k``."""

    def __init__(self, num_joints: int, in_channels: int, inter_channels: int) -> None:
        super().__init__()
        if inter_channels <= 0:
            raise ValueError(f"inter_channels must be positive, got {inter_channels}")
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        # the reference widens g to the full input width only in the (unused) C/2 case
        self.g_channels = in_channels if inter_channels == in_channels // 2 else inter_channels
        self.g = nn.Conv1d(in_channels, self.g_channels, kernel_size=1)
        self.theta = nn.Conv1d(in_channels, inter_channels, kernel_size=1)
        self.phi = nn.Conv1d(in_channels, inter_channels, kernel_size=1)
        self.C_k = nn.Parameter(torch.zeros(num_joints, num_joints))
        self.concat_project = nn.Sequential(nn.Conv2d(2 * inter_channels, 1, 1, bias=False))
        for conv in (self.g, self.theta, self.phi):
            nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(bias_of(conv))
        nn.init.kaiming_normal_(self.project_conv.weight)

    @property
    def project_conv(self) -> nn.Conv2d:
        """``concat_project``'s one convolution (a Sequential only for the original checkpoints' key names)."""
        conv = self.concat_project[0]
        assert isinstance(conv, nn.Conv2d)
        return conv

    def projections(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``theta``/``phi`` folded through ``concat_project``: vectors ``(C,)`` and scalar biases.

        ``w_theta . (W_theta x + b_theta) = (W_theta^T w_theta) . x + w_theta . b_theta``.
        """
        w = self.project_conv.weight.view(2, self.inter_channels)
        u_theta = w[0] @ self.theta.weight[:, :, 0]
        u_phi = w[1] @ self.phi.weight[:, :, 0]
        return u_theta, w[0] @ bias_of(self.theta), u_phi, w[1] @ bias_of(self.phi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C) -> (N, J, g_channels)``."""
        g = F.linear(x, self.g.weight[:, :, 0], self.g.bias)
        u_theta, c_theta, u_phi, c_phi = self.projections()
        a = x @ u_theta + c_theta  # (N, J): the theta half, indexed by row joint i
        b = x @ u_phi + c_phi  # (N, J): the phi half, indexed by column joint j
        logits = F.leaky_relu(a[:, :, None] + b[:, None, :], _SLOPE)
        attention = F.softmax(logits, dim=-1) + self.C_k
        return attention @ g


class GlobalFolded(NamedTuple):
    """A :class:`MultiGlobalGraph` folded for one eval forward (heads stacked, BN folded)."""

    w_g: torch.Tensor  # (C, K * g_channels): every head's g
    b_g: torch.Tensor  # (K * g_channels,)
    u: torch.Tensor  # (C, 2K): theta then phi projections through concat_project
    c: torch.Tensor  # (2K,)
    c_k: torch.Tensor  # (K, J, J)
    w_cat: torch.Tensor  # (K * g_channels, C) fusing 1x1 conv, BN folded
    shift: torch.Tensor  # (C,)


class MultiGlobalGraph(nn.Module):
    """``in_channels // inter_channels`` heads concatenated, then 1x1 conv + BN + ReLU + dropout."""

    def __init__(self, num_joints: int, in_channels: int, inter_channels: int, dropout: float | None = None) -> None:
        super().__init__()
        self.num_non_local = in_channels // inter_channels
        self.attentions = nn.ModuleList(
            GlobalGraph(num_joints, in_channels, inter_channels) for _ in range(self.num_non_local)
        )
        self.cat_conv = nn.Conv2d(in_channels, in_channels, 1, bias=False)
        self.cat_bn = BatchNormCL(in_channels, momentum=0.1)
        self.dropout = nn.Dropout(dropout) if dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C) -> (N, J, C)``, every head in one batched op (a head loop costs 4x the kernels)."""
        if use_fast_path(self):
            with gemm_threads(x.device):
                return self.fused(self.fold(), x)
        n, j, _ = x.shape
        w_g, b_g, u, c, c_k = self.stacked()
        k = c_k.shape[0]
        ab = (x @ u + c).transpose(1, 2)  # (N, 2K, J): theta halves, then phi halves
        logits = F.leaky_relu(ab[:, :k, :, None] + ab[:, k:, None, :], _SLOPE)  # (N, K, J, J)
        attention = F.softmax(logits, dim=-1) + c_k
        g = F.linear(x, w_g, b_g).view(n, j, k, -1).transpose(1, 2)  # (N, K, J, g_channels)
        y = (attention @ g).transpose(1, 2).reshape(n, j, -1)  # heads side by side, in order
        y = F.relu(self.cat_bn(y @ self.cat_conv.weight[:, :, 0, 0].t()))
        return self.dropout(y) if self.dropout is not None else y

    def stacked(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every head's parameters stacked (autograd-friendly, a few ops whatever K):

        ``w_g (K*g_channels, C)``, ``b_g (K*g_channels,)``, ``u (C, 2K)`` and ``c (2K,)`` (the theta
        then the phi projections through ``concat_project``, see :meth:`GlobalGraph.projections`),
        ``c_k (K, J, J)``.
        """
        heads = [h for h in self.attentions if isinstance(h, GlobalGraph)]
        inter = heads[0].inter_channels
        project = torch.stack([h.project_conv.weight for h in heads]).view(len(heads), 2, inter)
        theta = torch.stack([h.theta.weight for h in heads])[..., 0]  # (K, inter, C)
        phi = torch.stack([h.phi.weight for h in heads])[..., 0]
        u_theta = torch.einsum("ki,kic->ck", project[:, 0], theta)
        u_phi = torch.einsum("ki,kic->ck", project[:, 1], phi)
        c = torch.cat(
            (
                (project[:, 0] * torch.stack([bias_of(h.theta) for h in heads])).sum(-1),
                (project[:, 1] * torch.stack([bias_of(h.phi) for h in heads])).sum(-1),
            )
        )
        w_g = torch.cat([h.g.weight for h in heads])[..., 0]
        b_g = torch.cat([bias_of(h.g) for h in heads])
        return w_g, b_g, torch.cat((u_theta, u_phi), 1), c, torch.stack([h.C_k for h in heads])

    def fold(self) -> GlobalFolded:
        w_g, b_g, u, c, c_k = self.stacked()
        scale, shift = bn_scale_shift(self.cat_bn)
        return GlobalFolded(
            w_g.t(),  # a transposed view: BLAS reads it as is
            b_g,
            u.contiguous(),
            c,
            c_k,
            (self.cat_conv.weight[:, :, 0, 0] * scale[:, None]).t(),
            shift,
        )

    @staticmethod
    def fused(f: GlobalFolded, x: torch.Tensor, ws: Workspace | None = None) -> torch.Tensor:
        """Eval forward ``(N, J, C) -> (N, J, C)`` from folded tensors (scratch from ``ws``)."""
        ws = ws if ws is not None else Workspace(x)
        n, j, ch = x.shape
        k = f.c_k.shape[0]
        rows = n * j
        flat = x.reshape(rows, ch)
        g = gemm(flat, f.w_g, ws.take("global.g", rows, f.w_g.shape[1]), bias=f.b_g).view(n, j, k, -1)
        ab = gemm(flat, f.u, ws.take("global.ab", rows, 2 * k), bias=f.c).view(n, j, 2 * k).transpose(1, 2)
        logits = torch.add(ab[:, :k, :, None], ab[:, k:, None, :], out=ws.take("global.logits", n, k, j, j))
        F.leaky_relu_(logits, _SLOPE)  # (N, K, J, J)
        attention = torch.softmax(logits, dim=-1, out=ws.take("global.attention", n, k, j, j)).add_(f.c_k)
        width = g.shape[-1]
        out = ws.take("global.out", rows, ch)
        terms = []
        for head in range(k):  # K = 4 heads; each head's output feeds its rows of the fusing conv
            y = torch.bmm(attention[:, head], g[:, :, head], out=ws.take(f"global.head{head}", n, j, width))
            terms.append((y.view(rows, width), f.w_cat[head * width : (head + 1) * width]))
        gemm_sum(terms, out, bias=f.shift)
        return out.relu_().view(n, j, ch)
