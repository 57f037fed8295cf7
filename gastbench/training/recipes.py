"""The papers' training recipes as presets: ``resolve_config(model, dataset, ...)``.

Sources (facts only):

- GAST-Net (seed paper, section 4): Amsgrad, lr 1e-3 decayed by 0.95 per epoch on Human3.6M
  (0.98 on HumanEva-I), batch 128 (32), dropout 0.05 (0.5), 60 (200) epochs, horizontal flip
  at train time, Human3.6M downsampled from 50 to 10 fps.
- VideoPose3D (README, DOCUMENTATION.md, run.py): Amsgrad, lr 1e-3, decay 0.95 per epoch, batch
  1024, dropout 0.25, 80 epochs on Human3.6M; HumanEva-I ``-b 128 -e 1000 -lrd 0.996 -a Walk,Jog,Box``;
  BatchNorm momentum decayed exponentially from 0.1 to 0.001 over the run; flip augmentation.
- Martinez et al. (PyTorch port's ``opt.py``): Adam, lr 1e-3 times 0.96 every 100k steps, batch 64,
  200 epochs, dropout 0.5, gradient norm clipped to 1 ("max-norm"), MSE loss.
- SemGCN (``main_gcn.py``, README): Adam, lr 1e-3 times 0.96 every 100k steps, batch 64, 50 epochs
  (30 with non-local blocks), gradient norm clipped to 1, MSE loss, no dropout.

HumanEva-I trains and tests on Walk, Jog and Box only (VideoPose3D's ``-a Walk,Jog,Box``). The
``synthetic`` dataset takes the HumanEva-I preset with 2 epochs (a pipeline check, not a recipe).
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ..errors import ConfigError
from ..model_id import parse_model_id
from .config import TrainConfig

__all__ = ["RECIPES", "recipe_for", "resolve_config", "list_recipes"]

_HUMANEVA_ACTIONS = ["Walk", "Jog", "Box"]

_STEP_DECAY = {"optimizer": "adam", "lr": 1e-3, "lr_decay": 0.96, "lr_schedule": "step", "lr_decay_steps": 100_000}

#: family -> dataset -> settings; a recipe is the family's common part updated by the dataset part.
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "gast-net": {
        "common": {"optimizer": "amsgrad", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True},
        "h36m": {"epochs": 60, "batch_size": 128, "lr_decay": 0.95, "dropout": 0.05, "train_stride": 5},
        "humaneva": {"epochs": 200, "batch_size": 32, "lr_decay": 0.98, "dropout": 0.5, "actions": _HUMANEVA_ACTIONS},
    },
    "videopose3d": {
        "common": {
            "optimizer": "amsgrad", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True,
            "dropout": 0.25, "bn_momentum": [0.1, 0.001],
        },
        "h36m": {"epochs": 80, "batch_size": 1024, "lr_decay": 0.95},
        "humaneva": {"epochs": 1000, "batch_size": 128, "lr_decay": 0.996, "actions": _HUMANEVA_ACTIONS},
    },
    "martinez": {
        "common": {**_STEP_DECAY, "epochs": 200, "batch_size": 64, "dropout": 0.5, "grad_clip_norm": 1.0,
                   "loss": "mse", "flip_augment": False},
        "h36m": {},
        "humaneva": {"actions": _HUMANEVA_ACTIONS},
    },
    "semgcn": {
        "common": {**_STEP_DECAY, "epochs": 50, "batch_size": 64, "grad_clip_norm": 1.0, "loss": "mse",
                   "flip_augment": False},
        "h36m": {},
        "humaneva": {"actions": _HUMANEVA_ACTIONS},
    },
    "semgcn-nonlocal": {
        "common": {**_STEP_DECAY, "epochs": 30, "batch_size": 64, "grad_clip_norm": 1.0, "loss": "mse",
                   "flip_augment": False},
        "h36m": {},
        "humaneva": {"actions": _HUMANEVA_ACTIONS},
    },
}  # fmt: skip

# Registry-name patterns -> recipe family (first match wins).
_FAMILY_PATTERNS = (
    ("gast-*", "gast-net"),
    ("videopose3d*", "videopose3d"),
    ("martinez*", "martinez"),
    ("semgcn-nonlocal*", "semgcn-nonlocal"),
    ("semgcn*", "semgcn"),
)


def _family_of(model: str) -> str:
    base = parse_model_id(model).lifter
    for pattern, family in _FAMILY_PATTERNS:
        if fnmatch.fnmatchcase(base, pattern):
            return family
    known = ", ".join(p for p, _ in _FAMILY_PATTERNS)
    raise ConfigError(f"no training recipe for model {model!r}; recipes exist for {known}")


def list_recipes() -> list[str]:
    """``"family/dataset"`` names of every preset."""
    return [f"{fam}/{ds}" for fam, per in RECIPES.items() for ds in per if ds != "common"] + [
        f"{fam}/synthetic" for fam in RECIPES
    ]


def recipe_for(model: str, dataset: str) -> tuple[str, dict[str, Any]]:
    """The preset's name and settings for ``model`` trained on ``dataset``."""
    family = _family_of(model)
    per = RECIPES[family]
    if dataset == "synthetic":
        settings = {**per["common"], **per["humaneva"], "epochs": 2}
        settings.pop("actions", None)  # synthetic data has its own action names
        return f"{family}/synthetic", settings
    if dataset not in per:
        raise ConfigError(
            f"no {family} training recipe for dataset {dataset!r}; presets: "
            f"{', '.join(d for d in per if d != 'common')}, synthetic"
        )
    return f"{family}/{dataset}", {**per["common"], **per[dataset]}


def resolve_config(model: str, dataset: str = "synthetic", input: str = "gt", **overrides: Any) -> TrainConfig:
    """The recipe for ``model`` on ``dataset`` with ``overrides`` applied (``None`` means "not given")."""
    name, settings = recipe_for(model, dataset)
    base = TrainConfig(model=model, dataset=dataset, input=input, recipe=name, **settings)
    return base.with_overrides(**overrides)
