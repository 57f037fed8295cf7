"""Training: the papers' recipes as presets and one loop (windows on the device, DDP, resumable).

``resolve_config(model, dataset, input, **overrides)`` gives a :class:`TrainConfig`; ``train(config)``
runs it and writes ``runs/<run>/`` (config, log, checkpoint, final weights, result record, zoo card).
"""

from __future__ import annotations

from .config import TrainConfig
from .loop import train
from .presets import default_recipe_note, recipe_for, resolve_config
from .result import TrainResult
from .sampler import EpochPlan, WindowSampler
from .setup import build_lifter, loss_fn, training_windows
from .windows import WindowSet, build_windows, flip_windows

__all__ = [
    "default_recipe_note",
    "EpochPlan",
    "TrainConfig",
    "TrainResult",
    "WindowSampler",
    "WindowSet",
    "build_lifter",
    "build_windows",
    "flip_windows",
    "loss_fn",
    "recipe_for",
    "resolve_config",
    "train",
    "training_windows",
]
