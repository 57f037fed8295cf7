"""Recipes and the training loop (the implementation lives in :mod:`gastbench.training`)."""

from __future__ import annotations

from .training import (
    RECIPES,
    TrainConfig,
    TrainResult,
    WindowSampler,
    WindowSet,
    build_windows,
    flip_windows,
    list_recipes,
    naive_gather,
    recipe_for,
    resolve_config,
    train,
)

__all__ = [
    "RECIPES",
    "TrainConfig",
    "TrainResult",
    "WindowSampler",
    "WindowSet",
    "build_windows",
    "flip_windows",
    "list_recipes",
    "naive_gather",
    "recipe_for",
    "resolve_config",
    "train",
]
