"""Global attention: K heads of non-local graph attention, fused by a 1x1 conv.

Mirrors the reference ``model/global_attention.py`` (``GlobalGraph``, ``MultiGlobalGraph``)
parameter for parameter; attribute names are kept so state-dict keys map 1:1.

Per head, ``B_k[n, i, j] = softmax_j(LeakyReLU_0.2(w_theta . theta(x_i) + w_phi . phi(x_j)))``
(the reference's 1x1 conv over the concatenation ``[theta_i, phi_j]`` is exactly that sum),
the adjacency is ``B_k + C_k`` with ``C_k`` a learnable ``(J, J)`` matrix starting at zero,
and the head outputs ``(B_k + C_k) g(x)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._cache import CachedModule, use_cache
from .layers import BatchNormCL, bn_scale_shift, bn_tensors

__all__ = ["GlobalGraph", "MultiGlobalGraph"]

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
            nn.init.zeros_(conv.bias)
        nn.init.kaiming_normal_(self.concat_project[0].weight)

    def projections(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``theta``/``phi`` folded through ``concat_project``: vectors ``(C,)`` and scalar biases.

        ``w_theta . (W_theta x + b_theta) = (W_theta^T w_theta) . x + w_theta . b_theta``.
        """
        w = self.concat_project[0].weight.view(2, self.inter_channels)
        u_theta = w[0] @ self.theta.weight[:, :, 0]
        u_phi = w[1] @ self.phi.weight[:, :, 0]
        return u_theta, w[0] @ self.theta.bias, u_phi, w[1] @ self.phi.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C) -> (N, J, g_channels)``."""
        g = F.linear(x, self.g.weight[:, :, 0], self.g.bias)
        u_theta, c_theta, u_phi, c_phi = self.projections()
        a = x @ u_theta + c_theta  # (N, J): the theta half, indexed by row joint i
        b = x @ u_phi + c_phi  # (N, J): the phi half, indexed by column joint j
        logits = F.leaky_relu(a[:, :, None] + b[:, None, :], _SLOPE)
        attention = F.softmax(logits, dim=-1) + self.C_k
        return attention @ g


class MultiGlobalGraph(CachedModule):
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
        """``(N, J, C) -> (N, J, C)``."""
        if use_cache(self):
            return self._forward_fast(x)
        y = torch.cat([head(x) for head in self.attentions], dim=-1)
        y = F.relu(self.cat_bn(y @ self.cat_conv.weight[:, :, 0, 0].t()))
        return self.dropout(y) if self.dropout is not None else y

    def _fused(self) -> tuple[torch.Tensor, ...]:
        heads = list(self.attentions)
        w_g = torch.cat([h.g.weight[:, :, 0] for h in heads]).t().contiguous()  # (C, K * g_channels)
        b_g = torch.cat([h.g.bias for h in heads])
        proj = [h.projections() for h in heads]
        u = torch.stack([p[0] for p in proj] + [p[2] for p in proj], dim=1).contiguous()  # (C, 2K)
        c = torch.stack([p[1] for p in proj] + [p[3] for p in proj])
        c_k = torch.stack([h.C_k for h in heads])  # (K, J, J)
        scale, shift = bn_scale_shift(self.cat_bn)
        w_cat = (self.cat_conv.weight[:, :, 0, 0] * scale[:, None]).t().contiguous()
        return w_g, b_g, u, c, c_k, w_cat, shift

    def _forward_fast(self, x: torch.Tensor) -> torch.Tensor:
        params = [self.cat_conv.weight, *bn_tensors(self.cat_bn)]
        for h in self.attentions:
            params += [h.g.weight, h.g.bias, h.theta.weight, h.theta.bias, h.phi.weight, h.phi.bias]
            params += [h.C_k, h.concat_project[0].weight]
        w_g, b_g, u, c, c_k, w_cat, shift = self.cached("fused", tuple(params), self._fused)
        n, j, ch = x.shape
        k = self.num_non_local
        flat = x.reshape(n * j, ch)
        g = torch.addmm(b_g, flat, w_g).view(n, j, k, -1)
        ab = torch.addmm(c, flat, u).view(n, j, 2 * k).transpose(1, 2)  # (N, 2K, J)
        logits = F.leaky_relu(ab[:, :k, :, None] + ab[:, k:, None, :], _SLOPE)  # (N, K, J, J)
        attention = torch.softmax(logits, dim=-1).add_(c_k)
        out = shift.expand(n * j, ch).contiguous()
        width = g.shape[-1]
        for head in range(k):  # K = 4 heads; each head's output feeds its rows of the fusing conv
            y = torch.bmm(attention[:, head], g[:, :, head])
            out.addmm_(y.view(n * j, width), w_cat[head * width : (head + 1) * width])
        return out.relu_().view(n, j, ch)
