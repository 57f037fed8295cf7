"""GAST-Net's learned spatial attention, as the paper draws it (Figs. 4 and 5).

* Local kernels (Fig. 4): each graph block's connection and symmetry convolutions hold one
  softmaxed ``J x J`` adjacency per channel; the figure shows their mean over channels.
* Global attention (Fig. 5): per head ``B_k + C_k``, where ``B_k`` depends on the input (a
  softmax over joint pairs of the block's features) and ``C_k`` is learned; the map shown is
  the mean over heads and over the frames of a 2D sequence run through the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, ShapeError
from ..skeleton import Skeleton
from .style import use_agg

__all__ = ["AttentionMaps", "attention_maps", "plot_attention"]


@dataclass(frozen=True)
class AttentionMaps:
    """Per graph block, ``(J, J)`` maps: row joint i attends to column joint j."""

    layout: Skeleton
    connection: list[np.ndarray]
    symmetry: list[np.ndarray]
    global_: list[np.ndarray]  # empty when no 2D input was given


def _blocks(lifter: Any) -> list[Any]:
    blocks = getattr(lifter, "layers_graph_conv", None)
    if blocks is None or not all(hasattr(b, "local_graph_layer") for b in blocks):
        raise ConfigError(
            f"{getattr(lifter, 'name', None) or type(lifter).__name__} has no GAST-Net graph attention blocks; use a gast-* model"
        )
    return list(blocks)


def _global_map(layer: Any, x: torch.Tensor) -> np.ndarray:
    """Mean over heads and frames of ``softmax(LeakyReLU(theta_i + phi_j)) + C_k`` for block input ``x (N, J, C)``."""
    total = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for head in layer.attentions:
        u_theta, c_theta, u_phi, c_phi = head.projections()
        a, b = x @ u_theta + c_theta, x @ u_phi + c_phi
        attention = F.softmax(F.leaky_relu(a[:, :, None] + b[:, None, :], 0.2), dim=-1).mean(dim=0) + head.C_k
        total += attention.double()
    return (total / len(layer.attentions)).numpy()


def attention_maps(lifter: Any, keypoints: np.ndarray | None = None, *, max_frames: int = 512) -> AttentionMaps:
    """Local kernels of every block and, given normalised 2D keypoints ``(T, J, 2)``, the global maps."""
    blocks = _blocks(lifter)
    with torch.no_grad():
        connection = [b.local_graph_layer.gcn_con.kernel().mean(dim=0).double().numpy() for b in blocks]
        symmetry = [b.local_graph_layer.gcn_sym.kernel().mean(dim=0).double().numpy() for b in blocks]
    global_: list[np.ndarray] = []
    if keypoints is not None:
        kp = np.array(keypoints, dtype=np.float32)  # a writable copy for torch
        j = lifter.input_layout.num_joints
        if kp.ndim != 3 or kp.shape[1:] != (j, 2):
            raise ShapeError(f"attention: keypoints must be (T, {j}, 2), got {tuple(kp.shape)}")
        rf = lifter.receptive_field
        kp = kp[:max_frames]
        if kp.shape[0] < rf:  # edge-pad short clips to one full window
            kp = np.concatenate([kp, np.repeat(kp[-1:], rf - kp.shape[0], axis=0)])
        inputs: list[torch.Tensor] = []
        hooks = [
            b.global_graph_layer.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach()))
            for b in blocks
        ]
        was_training = lifter.training
        lifter.eval()
        try:
            # Autograd on: the fused eval path computes the blocks without calling the global
            # layers' modules, so only the plain path lets the pre-hooks see their inputs.
            with torch.enable_grad():
                lifter(torch.from_numpy(kp)[None], mode="dilated")
            with torch.no_grad():
                global_ = [_global_map(b.global_graph_layer, x) for b, x in zip(blocks, inputs)]
        finally:
            for h in hooks:
                h.remove()
            lifter.train(was_training)
    return AttentionMaps(lifter.input_layout, connection, symmetry, global_)


def plot_attention(
    maps: AttentionMaps, out: str | Path, *, title: str = "", overwrite: bool = False, dpi: int = 110
) -> Path:
    """Rows: connection kernel, symmetry kernel, global attention; columns: graph blocks."""
    use_agg()
    import matplotlib.pyplot as plt

    rows = [("local: connection", maps.connection), ("local: symmetry", maps.symmetry)]
    if maps.global_:
        rows.append(("global: B_k + C_k", maps.global_))
    cols = len(maps.connection)
    names = [n.replace("_", " ") for n in maps.layout.joint_names]
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.9 * cols + 0.6, 2.9 * len(rows)), squeeze=False)
    for r, (label, mats) in enumerate(rows):
        for c, mat in enumerate(mats):
            ax = axes[r, c]
            image = ax.imshow(mat, cmap="viridis", interpolation="nearest")
            ax.set_xticks(range(len(names)), names, rotation=90, fontsize=4.5)
            ax.set_yticks(range(len(names)), names, fontsize=4.5)
            ax.set_title(f"block {c + 1} - {label}", fontsize=7)
            if c == 0:
                ax.set_ylabel("joint i (row)", fontsize=6)
            if r == len(rows) - 1:
                ax.set_xlabel("joint j (column)", fontsize=6)
            bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
            bar.ax.tick_params(labelsize=5)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(out)
    if out.exists() and not overwrite:
        plt.close(fig)
        raise ConfigError(f"{out} already exists; pass --overwrite to replace it")
    from ..outputs import replacing_path

    try:
        with replacing_path(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=out.suffix.lstrip(".") or None)
    finally:
        plt.close(fig)
    return out
