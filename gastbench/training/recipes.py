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
- PoseFormer (zczcwh/PoseFormer ``run_poseformer.py`` and ``common/arguments.py``): AdamW with
  weight decay 0.1, lr 1e-4 times 0.99 per epoch, batch 512, 200 epochs, MPJPE loss, flip at
  train and test time, no dropout (stochastic depth 0.1 is the model factory's default); the
  README's 27-frame CPN command sets lr 4e-5. Human3.6M only.

HumanEva-I trains and tests on Walk, Jog and Box only (VideoPose3D's ``-a Walk,Jog,Box``). The
``synthetic`` dataset takes the HumanEva-I preset with 2 epochs (a pipeline check, not a recipe).

A recipe is found by the lifter's registered family (``register_lifter(..., family=...)``); a
plugin declares its own with :func:`register_recipe`, and a family without one trains with
:data:`DEFAULT_RECIPE`, which the run names (``default/<dataset>``).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..errors import ConfigError
from ..model_id import parse_model_id
from .config import TrainConfig

__all__ = [
    "DEFAULT_RECIPE",
    "RECIPES",
    "default_recipe_note",
    "list_recipes",
    "recipe_for",
    "register_recipe",
    "resolve_config",
]

_HUMANEVA_ACTIONS = ["Walk", "Jog", "Box"]

_STEP_DECAY = {"optimizer": "adam", "lr": 1e-3, "lr_decay": 0.96, "lr_schedule": "step", "lr_decay_steps": 100_000}

_POSEFORMER = {"optimizer": "adamw", "weight_decay": 0.1, "lr": 1e-4, "lr_decay": 0.99, "lr_schedule": "epoch",
               "loss": "mpjpe", "flip_augment": True, "eval_flip": True, "dropout": 0.0}  # fmt: skip
_POSEFORMER_H36M = {"epochs": 200, "batch_size": 512}

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
    "poseformer": {"common": _POSEFORMER, "h36m": _POSEFORMER_H36M},
    "poseformer-t27": {"common": _POSEFORMER, "h36m": {**_POSEFORMER_H36M, "lr": 4e-5}},
}  # fmt: skip

#: The recipe of a registered family that declares none: VideoPose3D's optimiser and schedule at
#: GAST-Net's batch sizes (a sensible start, not any paper's recipe; the run says it used it).
DEFAULT_RECIPE: dict[str, dict[str, Any]] = {
    "common": {"optimizer": "amsgrad", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True},
    "h36m": {"epochs": 60, "batch_size": 128, "lr_decay": 0.95},
    "humaneva": {"epochs": 200, "batch_size": 32, "lr_decay": 0.98, "actions": _HUMANEVA_ACTIONS},
}
DEFAULT_RECIPE_NAME = "default"

def register_recipe(family: str, dataset: str, settings: dict[str, Any]) -> None:
    """Declare the training recipe of a registered family (or one lifter name) on ``dataset``.

    ``dataset`` is ``"common"`` (settings every dataset shares), ``"h36m"``, ``"humaneva"`` or
    another dataset name; a recipe is its ``common`` part updated by the dataset's part. Keys are
    :class:`TrainConfig` fields (``epochs``, ``batch_size``, ``lr``, ``lr_decay``, ``optimizer``,
    ``loss``, ``dropout``, ...). Call it next to :func:`gastbench.register_lifter` in a plugin.
    """
    known = {f.name for f in fields(TrainConfig)} - {"model", "dataset", "input", "recipe"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"recipe {family}/{dataset}: unknown setting(s) {unknown}; settings are {', '.join(sorted(known))}"
        )
    RECIPES.setdefault(family, {}).setdefault("common", {})
    RECIPES[family].setdefault(dataset, {}).update(settings)


def _recipe_family(model: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The recipe of the lifter's own name if it has one, else its registered family's, else the default."""
    from ..registry import get_lifter_spec

    spec = get_lifter_spec(model)  # loads the plugins first: their recipes are registered on import
    base = parse_model_id(model).lifter
    if base in RECIPES:  # a lifter whose recipe differs from its family's (SemGCN with non-local blocks)
        return base, RECIPES[base]
    if spec.family in RECIPES:
        return spec.family, RECIPES[spec.family]
    return DEFAULT_RECIPE_NAME, DEFAULT_RECIPE


def list_recipes() -> list[str]:
    """``"family/dataset"`` names of every preset (registered plugins included)."""
    from ..registry import load_plugins

    load_plugins()
    return [f"{fam}/{ds}" for fam, per in RECIPES.items() for ds in per if ds != "common"] + [
        f"{fam}/synthetic" for fam in RECIPES
    ]


def recipe_for(model: str, dataset: str) -> tuple[str, dict[str, Any]]:
    """The preset's name and settings for ``model`` trained on ``dataset``.

    A family with no registered recipe gets :data:`DEFAULT_RECIPE` (named ``default/<dataset>``).
    """
    family, per = _recipe_family(model)
    if dataset == "synthetic":
        settings = {**per.get("common", {}), **per.get("humaneva", {}), "epochs": 2}
        settings.pop("actions", None)  # synthetic data has its own action names
        return f"{family}/synthetic", settings
    if dataset not in per:
        raise ConfigError(
            f"no {family} training recipe for dataset {dataset!r}; presets: "
            f"{', '.join(d for d in per if d != 'common')}, synthetic "
            f"(add one with gastbench.register_recipe({family!r}, {dataset!r}, {{...}}))"
        )
    return f"{family}/{dataset}", {**per.get("common", {}), **per[dataset]}


def default_recipe_note(recipe: str) -> str | None:
    """A sentence saying which defaults a run took when its family registered no recipe (else None)."""
    family, _, dataset = recipe.partition("/")
    if family != DEFAULT_RECIPE_NAME:
        return None
    per = DEFAULT_RECIPE
    settings = {**per["common"], **per.get("humaneva" if dataset == "synthetic" else dataset, {})}
    shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "actions")
    return (
        f"no training recipe registered for this family: using gastbench's default recipe ({shown}); "
        "declare one with gastbench.register_recipe(family, dataset, settings)"
    )


def resolve_config(model: str, dataset: str = "synthetic", input: str = "gt", **overrides: Any) -> TrainConfig:
    """The recipe for ``model`` on ``dataset`` with ``overrides`` applied (``None`` means "not given")."""
    name, settings = recipe_for(model, dataset)
    base = TrainConfig(model=model, dataset=dataset, input=input, recipe=name, **settings)
    return base.with_overrides(**overrides)
