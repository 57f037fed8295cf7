"""What a run is built from: the seeded model, its training windows, the loss and the optimizer."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..lifter import Lifter
from .config import TrainConfig
from .windows import WindowSet, build_windows

if TYPE_CHECKING:
    from ..data import PoseDataset

__all__ = ["build_lifter", "loss_fn", "make_optimizer", "set_bn_momentum", "set_seed", "training_windows"]


def set_seed(seed: int) -> None:
    """Seed torch, numpy and Python alike."""
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    random.seed(seed)


def build_lifter(config: TrainConfig, dataset: PoseDataset) -> Lifter:
    """The model of ``config`` for the dataset's 2D layout (its native layout when inside it), with the recipe's dropout."""
    from ..registry import create_lifter, get_lifter_spec, native_layout

    overrides = dict(config.model_overrides)
    if config.dropout is not None:
        overrides["dropout"] = config.dropout
    lifter = create_lifter(config.model, layout=native_layout(config.model, dataset.layout_2d), **overrides)
    if lifter.seq2seq:  # training samples one window per output frame; these models learn from whole clips
        fmt = get_lifter_spec(config.model).checkpoint_format
        raise ConfigError(
            f"{config.model}: a sequence-to-sequence lifter learns from whole {lifter.clip_frames}-frame clips, which "
            f"gastbench's training (one window per output frame) does not do yet; convert the authors' checkpoint "
            f"instead (gastbench convert --from {fmt.name if fmt else lifter.family})"
        )
    return lifter


def training_windows(
    config: TrainConfig, dataset: PoseDataset, lifter: Lifter, device: torch.device | str = "cpu"
) -> WindowSet:
    """All training windows of the config's subjects/actions, as one padded tensor on ``device``."""
    sequences = dataset.sequences("train", subjects=config.train_subjects, actions=config.actions)
    if not sequences:
        raise ConfigError(
            f"no training sequences in {dataset.name} ({dataset.input}) for subjects {config.train_subjects} "
            f"and actions {config.actions}"
        )
    joints_2d = list(lifter.input_layout.indices_in(dataset.layout_2d))  # the model's own joints of the 2D
    same = joints_2d == list(range(dataset.layout_2d.num_joints))
    return build_windows(
        [np.asarray(s.keypoints_2d) if same else np.asarray(s.keypoints_2d)[:, joints_2d] for s in sequences],
        [np.asarray(s.positions_3d) for s in sequences],
        receptive_field=lifter.receptive_field,
        causal_shift=lifter.causal_shift,
        joints_3d=lifter.output_layout.indices_in(dataset.layout_3d),
        train_stride=config.train_stride,
        device=device,
        mirror_layouts=(lifter.input_layout, lifter.output_layout) if config.flip_augment else None,
    )


def loss_fn(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``"mpjpe"``: mean Euclidean joint error (metres); ``"mse"``: mean squared coordinate error."""
    if name == "mpjpe":
        return lambda pred, target: torch.linalg.vector_norm(pred - target, dim=-1).mean()
    if name == "mse":
        return nn.functional.mse_loss
    raise ConfigError(f"unknown loss {name!r}; use mpjpe or mse")


def set_bn_momentum(model: nn.Module, momentum: float) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = momentum


def make_optimizer(config: TrainConfig, lifter: Lifter) -> torch.optim.Optimizer:
    """Adam (``"adam"``, ``"amsgrad"``) or AdamW (``"adamw"``) over every parameter, with the config's weight decay."""
    if config.optimizer == "adamw":  # torch's AdamW default decay is 0.01: always pass the recipe's
        return torch.optim.AdamW(lifter.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(
        lifter.parameters(), lr=config.lr, amsgrad=config.optimizer == "amsgrad", weight_decay=config.weight_decay
    )
