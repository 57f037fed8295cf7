"""gastbench-tmlp: a temporal MLP lifter, registered with gastbench through an entry point.

Importing this package registers the lifter ``tmlp-t27`` (family ``tmlp``) and its training
recipe; its zoo card lives in ``gastbench_tmlp/zoo/``.
"""

from __future__ import annotations

from gastbench import Skeleton, register_lifter, register_recipe

from .model import TemporalMLP

__all__ = ["TemporalMLP", "tmlp_t27"]


@register_lifter("tmlp-t27", family="tmlp", paper="gastbench example plugin", layouts=("h36m", "h36m16", "humaneva"))
def tmlp_t27(layout: Skeleton, *, hidden: int = 256, dropout: float = 0.1) -> TemporalMLP:
    """Temporal MLP over a 27-frame window (a contributed-model example)."""
    return TemporalMLP(layout, receptive_field=27, hidden=hidden, dropout=dropout)


# Settings shared by every dataset, then the dataset's own; keys are gastbench.recipes.Recipe fields.
register_recipe("tmlp", "common", {"optimizer": "adam", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe"})
register_recipe("tmlp", "humaneva", {"epochs": 100, "batch_size": 256, "lr_decay": 0.98, "dropout": 0.1})
