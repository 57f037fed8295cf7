"""Training recipes: the one vocabulary of training settings, and the papers' recipes by name.

:class:`Recipe` names every setting a recipe may hold; a run's :class:`~gastbench.training.TrainConfig`
extends it with where and how to run, and a zoo card's ``[recipe]`` table names a recipe and
the settings its run changed (:func:`effective_recipe`). One vocabulary, checked everywhere:
an unknown key is an error naming where it was found.

Recipes are named ``"<family>/<dataset>"``. Sources of the built-in ones (facts only):

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
``synthetic`` dataset takes the HumanEva-I recipe with 2 epochs (a pipeline check, not a recipe).
A family without a recipe of its own trains with :data:`DEFAULT_RECIPE` (named ``default/<dataset>``);
a plugin declares its own with :func:`register_recipe`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Literal

from .data.actions import HUMANEVA_ACTIONS
from .errors import ConfigError
from .typecheck import check_field_types

__all__ = [
    "DEFAULT_RECIPE_FAMILY",
    "LossName",
    "LrSchedule",
    "OptimizerName",
    "RECIPE_KEYS",
    "Recipe",
    "check_field_types",
    "check_settings",
    "effective_recipe",
    "has_recipe",
    "recipe_datasets",
    "recipe_settings",
    "recipes_restored",
    "register_recipe",
]

OptimizerName = Literal["adam", "amsgrad", "adamw"]
LossName = Literal["mpjpe", "mse"]
LrSchedule = Literal["epoch", "step"]

DEFAULT_RECIPE_FAMILY = "default"
_HUMANEVA_ACTIONS = list(HUMANEVA_ACTIONS)


@dataclass(kw_only=True)
class Recipe:
    """Every setting a training recipe may hold (the one vocabulary; see the module docstring).

    Attributes:
        epochs: passes over the training windows.
        batch_size: windows per optimizer step (split evenly across DDP ranks).
        lr: initial learning rate.
        lr_decay: multiplicative decay factor.
        lr_schedule: ``"epoch"``: ``lr * decay**epoch`` (VideoPose3D, GAST-Net);
            ``"step"``: ``lr * decay**floor(step / lr_decay_steps)`` (Martinez, SemGCN).
        lr_decay_steps: optimizer steps per decay for the ``"step"`` schedule.
        optimizer: ``"amsgrad"`` (Adam with AMSGrad), ``"adam"`` or ``"adamw"`` (decoupled weight decay).
        weight_decay: ``"adamw"``: the decoupled decay (PoseFormer: 0.1); ``"adam"``/``"amsgrad"``:
            torch's L2 penalty added to the gradient. 0.0: none.
        loss: ``"mpjpe"`` (mean joint distance) or ``"mse"`` (mean squared coordinate error).
        grad_clip_norm: clip the gradient norm to this (the "max-norm" of Martinez/SemGCN); None: off.
        dropout: passed to the model factory; None keeps the factory's default.
        bn_momentum: ``[initial, final]`` BatchNorm momentum, decayed exponentially over the
            epochs (VideoPose3D); None leaves it alone.
        flip_augment: flip half of every training batch horizontally (train-time augmentation).
        eval_flip: test-time flip augmentation in validation and the final evaluation.
        train_stride: keep every n-th training frame (GAST-Net: Human3.6M 50 -> 10 fps); the
            weights are then evaluated on video at the same stride.
        actions: training actions; None: the dataset's protocol.
        seed: seeds model init, dropout, the window order and the flip choice.
        amp: bf16 autocast for the forward pass.
    """

    epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: float = 1.0
    lr_schedule: LrSchedule = "epoch"
    lr_decay_steps: int = 100_000
    optimizer: OptimizerName = "amsgrad"
    weight_decay: float = 0.0
    loss: LossName = "mpjpe"
    grad_clip_norm: float | None = None
    dropout: float | None = None
    bn_momentum: list[float] | None = None
    flip_augment: bool = True
    eval_flip: bool = True
    train_stride: int = 1
    actions: list[str] | None = None
    seed: int = 0
    amp: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, where: str = "training config") -> None:
        """Raise :class:`ConfigError` naming the first setting of the wrong type or out of range."""
        check_field_types(self, where, Recipe)
        checks: list[tuple[bool, str]] = [
            (self.epochs >= 1, f"epochs must be an integer >= 1, got {self.epochs!r}"),
            (self.batch_size >= 1, f"batch_size must be an integer >= 1, got {self.batch_size!r}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr!r}"),
            (0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay!r}"),
            (self.lr_decay_steps >= 1, f"lr_decay_steps must be >= 1, got {self.lr_decay_steps!r}"),
            (
                math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}",
            ),
            (
                self.grad_clip_norm is None or self.grad_clip_norm > 0,
                f"grad_clip_norm must be > 0 or None, got {self.grad_clip_norm!r}",
            ),
            (
                self.dropout is None or 0.0 <= self.dropout < 1.0,
                f"dropout must be in [0, 1) or None, got {self.dropout!r}",
            ),
            (
                self.bn_momentum is None or (len(self.bn_momentum) == 2 and all(0 < m <= 1 for m in self.bn_momentum)),
                f"bn_momentum must be [initial, final] in (0, 1], got {self.bn_momentum!r}",
            ),
            (self.train_stride >= 1, f"train_stride must be an integer >= 1, got {self.train_stride!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{where}: {message}")


#: The names a recipe (and a card's ``[recipe]`` table, beside ``name``) may use.
RECIPE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Recipe))

_STEP_DECAY = {"optimizer": "adam", "lr": 1e-3, "lr_decay": 0.96, "lr_schedule": "step", "lr_decay_steps": 100_000}
_POSEFORMER = {"optimizer": "adamw", "weight_decay": 0.1, "lr": 1e-4, "lr_decay": 0.99, "lr_schedule": "epoch",
               "loss": "mpjpe", "flip_augment": True, "eval_flip": True, "dropout": 0.0}  # fmt: skip
_POSEFORMER_H36M = {"epochs": 200, "batch_size": 512}

#: family -> dataset -> settings; a recipe is the family's ``common`` part updated by the dataset's.
_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
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
    # A registered family that declares none: VideoPose3D's optimiser and schedule at GAST-Net's
    # batch sizes (a sensible start, not any paper's recipe; the run says it used it).
    DEFAULT_RECIPE_FAMILY: {
        "common": {"optimizer": "amsgrad", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe", "flip_augment": True},
        "h36m": {"epochs": 60, "batch_size": 128, "lr_decay": 0.95},
        "humaneva": {"epochs": 200, "batch_size": 32, "lr_decay": 0.98, "actions": _HUMANEVA_ACTIONS},
    },
}  # fmt: skip


def check_settings(settings: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` naming ``where`` and the key for an unknown, mistyped or out-of-range setting."""
    unknown = sorted(set(settings) - set(RECIPE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}; recipe settings are {', '.join(RECIPE_KEYS)}")
    recipe = Recipe.__new__(Recipe)  # built without __post_init__, so the error names ``where``
    for f in fields(Recipe):
        setattr(recipe, f.name, settings.get(f.name, f.default))
    recipe.validate(where)


def register_recipe(family: str, dataset: str, settings: Mapping[str, Any]) -> None:
    """Declare the training recipe of a registered family (or one lifter name) on ``dataset``.

    ``dataset`` is ``"common"`` (settings every dataset shares), ``"h36m"``, ``"humaneva"`` or
    another dataset name; a recipe is its ``common`` part updated by the dataset's part. Keys are
    :data:`RECIPE_KEYS`. Call it next to :func:`gastbench.register_lifter` in a plugin.
    """
    if not family or "/" in family or not dataset or "/" in dataset:
        raise ConfigError(f"recipe {family}/{dataset}: family and dataset must be plain names without '/'")
    per = _RECIPES.setdefault(family, {"common": {}})
    per.setdefault("common", {})
    merged = {**per["common"], **per.get(dataset, {}), **settings}
    check_settings(merged, f"recipe {family}/{dataset}")
    per.setdefault(dataset, {}).update(settings)


@contextmanager
def recipes_restored() -> Iterator[None]:
    """Undo every :func:`register_recipe` made inside the block (see :func:`gastbench.registry.registry_restored`)."""
    saved = copy.deepcopy(_RECIPES)
    try:
        yield
    finally:
        _RECIPES.clear()
        _RECIPES.update(saved)


def has_recipe(family: str) -> bool:
    """Whether ``family`` (or a lifter name) has a recipe of its own."""
    return family in _RECIPES


def recipe_datasets(family: str) -> list[str]:
    """The datasets ``family`` has a recipe for (``synthetic`` always)."""
    return [d for d in _RECIPES.get(family, {}) if d != "common"] + ["synthetic"]


def recipe_settings(name: str, where: str = "") -> dict[str, Any]:
    """The settings of the recipe ``"<family>/<dataset>"`` (``synthetic``: the HumanEva-I one, 2 epochs)."""
    family, sep, dataset = name.partition("/")
    per = _RECIPES.get(family)
    prefix = f"{where}: " if where else ""
    if not sep or per is None:
        known = ", ".join(f"{f}/{d}" for f in _RECIPES for d in recipe_datasets(f))
        raise ConfigError(f"{prefix}unknown recipe {name!r}; recipes: {known}")
    if dataset == "synthetic":
        settings = {**per.get("common", {}), **per.get("humaneva", {}), "epochs": 2}
        settings.pop("actions", None)  # synthetic data has its own action names
        return settings
    if dataset not in per or dataset == "common":
        raise ConfigError(
            f"{prefix}no {family} training recipe for dataset {dataset!r}; recipes: "
            f"{', '.join(recipe_datasets(family))} (add one with gastbench.register_recipe({family!r}, {dataset!r}, {{...}}))"
        )
    return {**per.get("common", {}), **per[dataset]}


def effective_recipe(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A card's ``[recipe]`` table resolved: every setting of the named recipe (:class:`Recipe`'s
    defaults where it sets none), updated by the table's others.

    Without ``name`` the table lists the settings itself (a run without a preset).
    """
    name = table.get("name")
    base: dict[str, Any] = {}
    if isinstance(name, str) and name:
        base = {**{f.name: f.default for f in fields(Recipe)}, **recipe_settings(name, where)}
    return {**base, **{k: v for k, v in table.items() if k != "name"}}
