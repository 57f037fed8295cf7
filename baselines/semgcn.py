"""SemGCN (Zhao et al., CVPR 2019): semantic graph convolutions, optionally with non-local layers.

Each :class:`SemGraphConv` learns one weight per nonzero entry of the skeleton adjacency
(bones plus self loops, row-major order), soft-maxed over each row, and uses separate
feature transforms for a joint itself (``W[0]``) and for its neighbours (``W[1]``).

The checkpoint key layout and format live in :mod:`.semgcn_checkpoint`.
With non-local layers, ``gconv_layers`` alternates residual block (even index) and
non-local block (odd index), exactly as the reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gastbench.errors import ConfigError
from gastbench.fastpath import bias_of, typed_child, use_fast_path
from gastbench.lifter import Lifter, LifterMetadata, PaperConvention
from gastbench.registry import register_lifter
from gastbench.skeleton import Skeleton

from .semgcn_checkpoint import CHECKPOINT_FORMAT
from .semgcn_fast import forward_folded

__all__ = ["SemGCN", "SemGraphConv", "GraphNonLocal", "semgcn_adjacency", "NONLOCAL_GROUPS"]

_FAMILY = "semgcn"
_PAPER = "Zhao et al., CVPR 2019"
_METADATA = LifterMetadata(
    family=_FAMILY,
    paper=_PAPER,
    url="https://github.com/garyzhao/SemGCN",
    convention=PaperConvention(
        score_stride=1,
        recenter="zero-prediction-root",
        joints=16,
        flip=False,
        precision="float32",
        note="main_gcn.py evaluate() means to re-centre the prediction on its root with an in-place "
        "`outputs_3d[:, :, :] -= outputs_3d[:, :1, :]`; the subtraction reads the view it writes, so the root "
        "becomes 0 first and the other joints subtract that 0. The published numbers are therefore 'prediction "
        "root set to zero, other joints as predicted' (the paper's text says root-relative). Do not 'fix' it: "
        "true re-centring does not reproduce the published rows (42.63 vs 42.14 mm P1 for the released "
        "checkpoint). No test-time flip, 16 joints, float32.",
    ),
)
_LAYOUTS = ("h36m16", "h36m", "humaneva")

#: Joint grouping of the non-local layers, by joint name, in the reference's order
#: (its ``h36m_skeleton_joints_group`` on 16 joints: [[2,3],[5,6],[1,4],[0,7],[8,9],[14,15],[11,12],[10,13]]).
NONLOCAL_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "h36m16": (
        ("right_knee", "right_ankle"),
        ("left_knee", "left_ankle"),
        ("right_hip", "left_hip"),
        ("pelvis", "spine"),
        ("thorax", "head"),
        ("right_elbow", "right_wrist"),
        ("left_elbow", "left_wrist"),
        ("left_shoulder", "right_shoulder"),
    ),
}


def semgcn_adjacency(layout: Skeleton) -> torch.Tensor:
    """0/1 adjacency ``(J, J)``: the skeleton's bones plus self loops (the reference's mask)."""
    adj = layout.adjacency() + np.eye(layout.num_joints, dtype=np.float32)
    return torch.from_numpy(adj)


class SemGraphConv(nn.Module):
    mask: torch.Tensor  # buffers, typed for the checker
    eye: torch.Tensor
    bias: torch.Tensor | None

    """Semantic graph convolution ``(N, J, in) -> (N, J, out)``.

    The soft-maxed adjacency is rebuilt on every call (no cache that a ``.data`` edit could
    leave stale); whole-network evaluation folds it once per forward (:mod:`.semgcn_fast`).
    """

    def __init__(self, in_features: int, out_features: int, adj: torch.Tensor, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.W = nn.Parameter(torch.zeros(2, in_features, out_features))
        nn.init.xavier_uniform_(self.W, gain=1.414)
        mask = adj > 0
        self.register_buffer("mask", mask, persistent=False)
        self.register_buffer("eye", torch.eye(adj.shape[0], dtype=torch.bool), persistent=False)
        self.e = nn.Parameter(torch.ones(1, int(mask.sum())))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))
            bound = 1.0 / math.sqrt(out_features)
            nn.init.uniform_(self.bias, -bound, bound)
        else:
            self.register_parameter("bias", None)

    def softmax_adjacency(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(self weights ``(J, 1)``, neighbour weights ``(J, J)`` with a zero diagonal)."""
        logits = torch.full(self.mask.shape, -9e15, dtype=self.e.dtype, device=self.e.device)
        # Boolean-mask assignment fills the nonzero entries in row-major order, as the reference.
        logits = logits.masked_scatter(self.mask, self.e.view(-1))
        adj = F.softmax(logits, dim=1)
        self_weight = adj.diagonal().unsqueeze(1)
        neighbour = adj.masked_fill(self.eye, 0.0)
        return self_weight, neighbour

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``diag(s) X W[0] + N X W[1] + b`` per frame ``X`` (the reference's arithmetic, so its FLOP count)."""
        n, joints, c_in = x.shape
        flat = x.reshape(n * joints, c_in)
        h0 = (flat @ self.W[0]).view(n, joints, -1)
        h1 = (flat @ self.W[1]).view(n, joints, -1)
        self_weight, neighbour = self.softmax_adjacency()
        own = h0 * self_weight if self.bias is None else torch.addcmul(self.bias, h0, self_weight)
        # the mixing as a batched GEMM over frames: no transposed copy of h1 (a 2D @ 3D matmul makes one)
        return torch.baddbmm(own, neighbour.expand(n, joints, joints), h1)

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, edges={self.e.shape[1]}"


class _GraphConv(nn.Module):
    """SemGraphConv -> BatchNorm over channels -> ReLU (dropout optional)."""

    def __init__(self, adj: torch.Tensor, input_dim: int, output_dim: int, p_dropout: float | None = None) -> None:
        super().__init__()
        self.gconv = SemGraphConv(input_dim, output_dim, adj)
        self.bn = nn.BatchNorm1d(output_dim)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p_dropout) if p_dropout is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gconv(x)
        # BatchNorm1d over (N*J, C) rows: the reference's statistics over N and J, per channel,
        # without its (N, C, J) transposes (they made every later op read strided memory and copy)
        x = self.bn(y.reshape(-1, y.shape[-1])).view(y.shape)
        if self.dropout is not None:
            x = self.dropout(self.relu(x))
        return self.relu(x)


class _ResGraphConv(nn.Module):
    def __init__(self, adj: torch.Tensor, hid_dim: int, p_dropout: float | None) -> None:
        super().__init__()
        self.gconv1 = _GraphConv(adj, hid_dim, hid_dim, p_dropout)
        self.gconv2 = _GraphConv(adj, hid_dim, hid_dim, p_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gconv2(self.gconv1(x))


class GraphNonLocal(nn.Module):
    """Non-local block over graph nodes ``(N, C, J) -> (N, C, J)`` with max-pooled keys/values.

    Same parameters and function as the reference. The pairwise term is its "concatenation"
    form ``ReLU(w . [theta_i; phi_j])``; since the 1x1 projection is linear it is computed as
    ``ReLU(a_i + b_j)`` without materialising the ``(N, 2C', J, J/s)`` concatenation, and the
    1x1 convolutions run as linear maps in the ``(N, J, C)`` layout the network keeps.
    """

    def __init__(self, in_channels: int, sub_sample: int = 1, inter_channels: int | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.inter_channels = inter_channels if inter_channels is not None else max(in_channels // 2, 1)
        self.sub_sample = sub_sample
        c, ci = in_channels, self.inter_channels
        g, theta, phi = nn.Conv1d(c, ci, 1), nn.Conv1d(c, ci, 1), nn.Conv1d(c, ci, 1)
        for conv in (g, theta, phi):
            nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(bias_of(conv))
        # Keys and values are max-pooled within each joint group (keys ``g.0`` / ``phi.0`` then).
        pooled = sub_sample > 1
        self.g: nn.Module = nn.Sequential(g, nn.MaxPool1d(sub_sample)) if pooled else g
        self.theta = theta
        self.phi: nn.Module = nn.Sequential(phi, nn.MaxPool1d(sub_sample)) if pooled else phi
        self.concat_project = nn.Sequential(nn.Conv2d(2 * ci, 1, 1, bias=False), nn.ReLU())
        nn.init.kaiming_normal_(self.project_conv.weight)
        self.W = nn.Sequential(nn.Conv1d(ci, c, 1), nn.BatchNorm1d(c))
        nn.init.kaiming_normal_(self.out_conv.weight)
        nn.init.zeros_(bias_of(self.out_conv))
        # Zero-initialised output BN: the block starts as the identity.
        nn.init.zeros_(self.out_bn.weight)
        nn.init.zeros_(self.out_bn.bias)

    @property
    def project_conv(self) -> nn.Conv2d:
        """``concat_project``'s convolution (Sequentials keep the reference's key names)."""
        return typed_child(self.concat_project, 0, nn.Conv2d)

    @property
    def out_conv(self) -> nn.Conv1d:
        return typed_child(self.W, 0, nn.Conv1d)

    @property
    def out_bn(self) -> nn.BatchNorm1d:
        return typed_child(self.W, 1, nn.BatchNorm1d)

    def projection(self, name: str) -> nn.Conv1d:
        """The 1x1 convolution ``g``, ``theta`` or ``phi`` (without its pooling)."""
        module = getattr(self, name)
        conv = module[0] if isinstance(module, nn.Sequential) else module
        if not isinstance(conv, nn.Conv1d):
            raise TypeError(f"non-local projection {name} is {type(conv).__name__}")
        return conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, J) -> (N, C, J)``, the reference's layout."""
        return self.forward_nodes(x.transpose(1, 2)).transpose(1, 2)

    def forward_nodes(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, J, C) -> (N, J, C)``: every 1x1 convolution as one linear map over channels."""
        n, j, c = x.shape
        ci, s = self.inter_channels, self.sub_sample
        g, theta, phi = self.projection("g"), self.projection("theta"), self.projection("phi")
        w_theta, w_phi = self.project_conv.weight.view(2, ci)
        # One matmul yields values g, keys phi and the query term a = w_theta . theta(x)
        # (theta is only ever used through that dot product, so it folds into one column).
        weight = torch.cat(
            [g.weight.view(ci, c), phi.weight.view(ci, c), (w_theta @ theta.weight.view(ci, c)).unsqueeze(0)]
        )
        bias = torch.cat([bias_of(g), bias_of(phi), (w_theta @ bias_of(theta)).view(1)])
        proj = F.linear(x, weight, bias)  # (N, J, 2C' + 1)
        a = proj[:, :, 2 * ci]  # (N, J)
        values_keys = proj[:, :, : 2 * ci]
        if s > 1:  # max-pool each group of s consecutive joints (MaxPool1d drops a remainder)
            k = j // s
            values_keys = values_keys[:, : k * s].reshape(n, k, s, 2 * ci).amax(dim=2)
        g_x, phi_x = values_keys[..., :ci], values_keys[..., ci:]
        b = phi_x @ w_phi  # (N, J/s)
        f = F.relu(a.unsqueeze(2) + b.unsqueeze(1))  # (N, J, J/s)
        y = torch.matmul(f / f.shape[-1], g_x)  # (N, J, C')
        z = F.linear(y, self.out_conv.weight.view(c, ci), self.out_conv.bias)
        z = self.out_bn(z.reshape(n * j, c)).view(n, j, c)  # BN over channels, statistics over N and J
        return z + x


class _GraphNonLocal(nn.Module):
    grouped_order: torch.Tensor  # buffers, typed for the checker
    restored_order: torch.Tensor

    """Reorders joints into groups, applies :class:`GraphNonLocal`, restores the order."""

    def __init__(self, hid_dim: int, grouped_order: list[int], group_size: int) -> None:
        super().__init__()
        self.non_local = GraphNonLocal(hid_dim, sub_sample=group_size)
        restored = [grouped_order.index(j) for j in range(len(grouped_order))]
        self.register_buffer("grouped_order", torch.tensor(grouped_order, dtype=torch.long), persistent=False)
        self.register_buffer("restored_order", torch.tensor(restored, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.non_local.forward_nodes(x.index_select(1, self.grouped_order))
        return out.index_select(1, self.restored_order)


def _grouped_order(layout: Skeleton) -> tuple[list[int], int]:
    groups = NONLOCAL_GROUPS.get(layout.name)
    if groups is None:
        raise ConfigError(
            f"semgcn-nonlocal: no non-local joint grouping for layout {layout.name!r}; "
            f"available: {', '.join(NONLOCAL_GROUPS)}"
        )
    order = [layout.index(name) for group in groups for name in group]
    if sorted(order) != list(range(layout.num_joints)):
        raise ConfigError(f"semgcn-nonlocal: grouping for {layout.name!r} does not cover every joint once")
    return order, len(groups[0])


class SemGCN(Lifter):
    """Frame lifter ``(B, T, J, 2) -> (B, T, J, 3)`` on the input layout's own graph.

    Args:
        layout: joint layout of input and output.
        hidden: channels of every hidden graph convolution (the paper's 128).
        num_layers: residual blocks (the paper's 4).
        non_local: add the non-local layers (needs a grouping in :data:`NONLOCAL_GROUPS`).
        dropout: dropout after each hidden graph convolution (``None``: none, as the paper).
    """

    def __init__(
        self,
        *,
        layout: Skeleton,
        hidden: int = 128,
        num_layers: int = 4,
        non_local: bool = False,
        dropout: float | None = None,
    ) -> None:
        if not isinstance(hidden, int) or hidden < 2:
            raise ConfigError(f"semgcn: hidden must be an integer >= 2, got {hidden!r}")
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ConfigError(f"semgcn: num_layers must be a non-negative integer, got {num_layers!r}")
        if dropout is not None and not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"semgcn: dropout must be None or in [0, 1), got {dropout!r}")
        super().__init__(
            input_layout=layout,
            output_layout=layout,
            receptive_field=1,
            causal=False,
            metadata=_METADATA,
        )
        self.hidden = hidden
        self.use_non_local = non_local
        adj = semgcn_adjacency(layout)
        p = None if dropout is None else float(dropout)

        gconv_input: list[nn.Module] = [_GraphConv(adj, 2, hidden, p)]
        gconv_layers: list[nn.Module] = []
        if non_local:
            order, group_size = _grouped_order(layout)
            gconv_input.append(_GraphNonLocal(hidden, order, group_size))
            for _ in range(num_layers):
                gconv_layers.append(_ResGraphConv(adj, hidden, p))
                gconv_layers.append(_GraphNonLocal(hidden, order, group_size))
        else:
            gconv_layers = [_ResGraphConv(adj, hidden, p) for _ in range(num_layers)]
        self.gconv_input = nn.Sequential(*gconv_input)
        self.gconv_layers = nn.Sequential(*gconv_layers)
        self.gconv_output = SemGraphConv(hidden, 3, adj)

    # The folded path cuts a forward into cache-sized pieces itself; a whole sequence per forward
    # pays the per-forward costs (fold, stream start, the streams' last pieces) once per sequence
    # instead of once per 2,048-frame chunk.
    eval_chunk_frames = 8192

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, J, 2) -> (B, T, J, 3)``; every frame independently (folded in eval without autograd)."""
        if use_fast_path(self):
            return forward_folded(self, x)
        batch, frames, joints = x.shape[:3]
        h = self.gconv_layers(self.gconv_input(x.reshape(batch * frames, joints, 2)))
        return self.gconv_output(h).view(batch, frames, joints, 3)


def _check_overrides(name: str, unknown: dict[str, Any]) -> None:
    if unknown:
        raise ConfigError(f"{name}: unknown override(s) {sorted(unknown)}; supported: hidden, num_layers, dropout")


@register_lifter(
    "semgcn", family=_FAMILY, paper=_PAPER, default_layout="h36m16", layouts=_LAYOUTS, tags=("frame", "graph"),
    checkpoint_format=CHECKPOINT_FORMAT,
)  # fmt: skip
def semgcn(
    layout: Skeleton, *, hidden: int = 128, num_layers: int = 4, dropout: float | None = None, **unknown: Any
) -> SemGCN:
    """SemGCN: semantic graph convolutions, 128 channels, 4 residual blocks."""
    _check_overrides("semgcn", unknown)
    if layout.name not in _LAYOUTS:
        raise ConfigError(f"semgcn: unsupported layout {layout.name!r}; supported: {', '.join(_LAYOUTS)}")
    return SemGCN(layout=layout, hidden=hidden, num_layers=num_layers, non_local=False, dropout=dropout)


@register_lifter(
    "semgcn-nonlocal",
    family=_FAMILY,
    paper=_PAPER,
    default_layout="h36m16",
    layouts=("h36m16",),
    tags=("frame", "graph"),
    checkpoint_format=CHECKPOINT_FORMAT,
)
def semgcn_nonlocal(
    layout: Skeleton, *, hidden: int = 128, num_layers: int = 4, dropout: float | None = None, **unknown: Any
) -> SemGCN:
    """SemGCN with non-local layers (the paper's full model), 16 joints."""
    _check_overrides("semgcn-nonlocal", unknown)
    return SemGCN(layout=layout, hidden=hidden, num_layers=num_layers, non_local=True, dropout=dropout)
