"""SemGCN checkpoints as garyzhao/SemGCN saves them, and how their keys map onto :mod:`.semgcn`.

Checkpoint key layout (garyzhao/SemGCN ``models/sem_gcn.py`` -> this module)::

    gconv_input.0.gconv.{W,e,bias}                  -> same
    gconv_input.0.bn.{...}                          -> same
    gconv_layers.{k}.gconv{1,2}.gconv.{W,e,bias}    -> same
    gconv_layers.{k}.gconv{1,2}.bn.{...}            -> same
    gconv_output.{W,e,bias}                         -> same
    # non-local variant only (``nonlocal`` is a Python keyword, hence the rename):
    gconv_input.1.nonlocal.<rest>                   -> gconv_input.1.non_local.<rest>
    gconv_layers.{2i+1}.nonlocal.<rest>             -> gconv_layers.{2i+1}.non_local.<rest>
        <rest> = g.0.{weight,bias}, theta.{weight,bias}, phi.0.{weight,bias},
                 concat_project.0.weight, W.0.{weight,bias}, W.1.{BN keys}

The reference stores its adjacency as a plain attribute, so no adjacency key exists in
its checkpoints (``{"state_dict": ..., "epoch", "lr", "step", "optimizer", "error"}``);
here it is a non-persistent buffer rebuilt from :mod:`gastbench.skeleton`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from gastbench.registry import CheckpointFormat, count_indexed_blocks, dim_size

__all__ = ["CHECKPOINT_FORMAT"]


def _checkpoint_facts(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "hidden width": dim_size(state, "gconv_input.0.gconv.W", 2),
        "non-local layers": any(".non_local." in k for k in state),
        "graph layers": count_indexed_blocks(state, r"gconv_layers\.(\d+)\."),
    }


def _checkpoint_key(key: str) -> str:
    return key.replace(".nonlocal.", ".non_local.")  # ``nonlocal`` is a Python keyword here


#: garyzhao/SemGCN saves ``{"state_dict": ...}``; only the non-local blocks' name differs.
CHECKPOINT_FORMAT = CheckpointFormat(
    name="semgcn", repository="garyzhao/SemGCN", containers=("state_dict",), facts=_checkpoint_facts,
    rename=_checkpoint_key,
)  # fmt: skip
