"""How the GAST-Net authors' repository stores a model (fabro66/GAST-Net-3DPoseEstimation).

The state dict sits under ``model_pos`` with gastbench's own key names (gastbench keeps the
reference names), so no key is renamed; the facts compare width, graph blocks and the first
filter width before any key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..registry import CheckpointFormat, count_indexed_blocks, dim_size

__all__ = ["GASTNET_CHECKPOINT"]


def _facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "channels": dim_size(state, "expand_conv.weight", 0),
        "graph blocks": count_indexed_blocks(state, r"layers_graph_conv\.(\d+)\."),
        "first filter width": dim_size(state, "expand_conv.weight", 2),
    }


GASTNET_CHECKPOINT = CheckpointFormat(
    name="gastnet",
    repository="fabro66/GAST-Net-3DPoseEstimation",
    containers=("model_pos",),
    facts=_facts,
)
