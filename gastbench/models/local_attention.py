"""Local attention: two channel-wise semantic graph convolutions (symmetry and connection kernels).

Mirrors the reference ``model/local_attention.py`` (``SemCHGraphConv``, ``LocalGraph``)
parameter for parameter; attribute names are kept so state-dict keys map 1:1.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._blas import gemm, gemm_threads
from ._fast import Workspace, use_fast_path
from .layers import BatchNormCL, bn_scale_shift

__all__ = ["SemCHGraphConv", "LocalGraph", "LocalFolded"]

#: The reference fills masked logits with this value before the softmax.
_MASKED_LOGIT = -9e15


class SemCHGraphConv(nn.Module):
    mask: torch.Tensor  # buffers, typed for the checker: (J, J) bool, (J, J) bool, (E,) flat positions
    eye: torch.Tensor
    edge_index: torch.Tensor

    """Channel-wise semantic graph convolution: one learnable softmaxed adjacency per output channel.

    Parameters (reference names): ``W (2, C_in, C_out)`` (``W[0]`` self, ``W[1]`` neighbours)
    and ``e (C_out, nnz)``, the logits of the nonzero entries of ``mask`` in row-major order.
    No bias (the reference builds it with ``bias=False``).
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        joints = mask.shape[0]
        self.register_buffer("mask", mask.to(torch.bool).clone(), persistent=False)
        self.register_buffer("eye", torch.eye(joints, dtype=torch.bool), persistent=False)
        # Flat positions of the mask's nonzeros, found once: a per-forward ``nonzero`` would make
        # the host wait for the device (a sync per layer on CUDA) and break torch.compile graphs.
        self.register_buffer("edge_index", torch.nonzero(self.mask.reshape(-1)).flatten(), persistent=False)
        self.W = nn.Parameter(torch.empty(2, in_features, out_features))
        self.e = nn.Parameter(torch.ones(out_features, int(self.mask.sum())))
        nn.init.xavier_uniform_(self.W, gain=1.414)

    def kernel(self) -> torch.Tensor:
        """Softmaxed adjacency ``(C_out, J, J)``; masked entries are exactly zero."""
        joints = self.mask.shape[0]
        flat = self.e.new_full((self.out_features, joints * joints), _MASKED_LOGIT)
        logits = flat.scatter(1, self.edge_index.expand(self.out_features, -1), self.e)
        return F.softmax(logits.view(self.out_features, joints, joints), dim=2)

    def split_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(diag (J, C_out), off (C_out, J, J))``: the self weights and the neighbour weights."""
        k = self.kernel()
        return k.diagonal(dim1=1, dim2=2).t(), k.masked_fill(self.eye, 0.0)

    @staticmethod
    def aggregate(h0: torch.Tensor, h1: torch.Tensor, diag: torch.Tensor, off: torch.Tensor) -> torch.Tensor:
        """``out[n, i, c] = diag[i, c] h0[n, i, c] + sum_j off[c, i, j] h1[n, j, c]`` for ``(N, J, C)`` inputs."""
        return torch.einsum("cij,njc->nic", off, h1).addcmul_(h0, diag)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C_in) -> (N, J, C_out)``."""
        diag, off = self.split_kernel()
        return self.aggregate(x @ self.W[0], x @ self.W[1], diag, off)

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, edges={int(self.mask.sum())}"


class LocalFolded(NamedTuple):
    """A :class:`LocalGraph` folded for one eval forward (BN scales inside the weights, kernels softmaxed)."""

    weight: torch.Tensor  # (C_in, 4C): [self sym | self con | neighbours sym | neighbours con]
    diag: torch.Tensor  # (2C, 1, J): self weights, channels first
    off_t: torch.Tensor  # (2C, J_j, J_i): neighbour weights, transposed for a row-vector bmm
    shift: torch.Tensor  # (2C, 1, 1)
    w_cat: torch.Tensor  # (2C, C) fusing 1x1 conv, BN folded
    shift_cat: torch.Tensor  # (C,)


class LocalGraph(nn.Module):
    """Symmetry and connection graph convolutions, each BN+ReLU, fused by concat + 1x1 conv + BN + ReLU + dropout."""

    def __init__(
        self, sym_mask: torch.Tensor, con_mask: torch.Tensor, input_dim: int, output_dim: int, dropout: float | None
    ) -> None:
        super().__init__()
        self.output_dim = output_dim
        self.gcn_sym = SemCHGraphConv(input_dim, output_dim, sym_mask)
        self.bn_1 = BatchNormCL(output_dim, momentum=0.1)
        self.gcn_con = SemCHGraphConv(input_dim, output_dim, con_mask)
        self.bn_2 = BatchNormCL(output_dim, momentum=0.1)
        self.cat_conv = nn.Conv2d(2 * output_dim, output_dim, 1, bias=False)
        self.cat_bn = BatchNormCL(output_dim, momentum=0.1)
        self.dropout = nn.Dropout(dropout) if dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C_in) -> (N, J, C_out)``."""
        if use_fast_path(self):
            with gemm_threads(x.device):
                return self.fused(self.fold(), x)
        a = F.relu(self.bn_1(self.gcn_sym(x)))
        b = F.relu(self.bn_2(self.gcn_con(x)))
        out = F.relu(self.cat_bn(torch.cat((a, b), dim=-1) @ self.cat_conv.weight[:, :, 0, 0].t()))
        return self.dropout(out) if self.dropout is not None else out

    def fold(self) -> LocalFolded:
        """Both convolutions as one GEMM, BN scales folded in (valid because aggregation is channel-wise linear).

        Laid out channels-first: the GEMM yields ``(4C, N*J)`` directly (the input enters
        as a transposed view), so the per-channel ``J x J`` products are one ``bmm`` with
        ``N`` as the long axis, and the fusing 1x1 conv reads the result transposed.
        """
        s1, t1 = bn_scale_shift(self.bn_1)
        s2, t2 = bn_scale_shift(self.bn_2)
        scale = torch.cat((s1, s2, s1, s2))
        weight = torch.cat((self.gcn_sym.W[0], self.gcn_con.W[0], self.gcn_sym.W[1], self.gcn_con.W[1]), dim=1)
        d1, o1 = self.gcn_sym.split_kernel()
        d2, o2 = self.gcn_con.split_kernel()
        sc, tc = bn_scale_shift(self.cat_bn)
        return LocalFolded(
            weight.mul_(scale),
            torch.cat((d1, d2), dim=1).t().unsqueeze(1).contiguous(),
            torch.cat((o1, o2), dim=0).transpose(1, 2).contiguous(),
            torch.cat((t1, t2)).view(-1, 1, 1),
            (self.cat_conv.weight[:, :, 0, 0] * sc[:, None]).t(),  # a transposed view: BLAS reads it as is
            tc,
        )

    @staticmethod
    def fused(f: LocalFolded, x: torch.Tensor, ws: Workspace | None = None) -> torch.Tensor:
        """Eval forward ``(N, J, C_in) -> (N, J, C_out)`` from folded tensors (scratch from ``ws``)."""
        ws = ws if ws is not None else Workspace(x)
        n, j, _ = x.shape
        c2 = f.diag.shape[0]
        rows = n * j
        # (4C, N*J), channels first
        h = gemm(f.weight.t(), x.reshape(rows, -1).t(), ws.take("local.h", 2 * c2, rows))
        # neighbours: per channel (N, J) @ (J, J)
        z = torch.bmm(h[c2:].view(c2, n, j), f.off_t, out=ws.take("local.z", c2, n, j))
        z = z.addcmul_(h[:c2].view(c2, n, j), f.diag).add_(f.shift).relu_()
        out = ws.take("local.out", rows, f.w_cat.shape[1])
        return gemm(z.view(c2, rows).t(), f.w_cat, out, bias=f.shift_cat).relu_().view(n, j, -1)
