"""Learning-rate and BatchNorm-momentum schedules, as pure functions of (epoch, step)."""

from __future__ import annotations

import math

import torch

from .config import TrainConfig

__all__ = ["LrScheduler", "bn_momentum_at"]


class LrScheduler:
    """Sets the optimizer's lr from the config's schedule; its whole state is two counters.

    ``"epoch"``: ``lr * decay**epoch`` (applied after every epoch).
    ``"step"``: ``lr * decay**floor(step / decay_steps)`` (a staircase, checked every step).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
        self.optimizer = optimizer
        self.base_lr = config.lr
        self.decay = config.lr_decay
        self.schedule = config.lr_schedule
        self.decay_steps = config.lr_decay_steps
        self.epoch = 0
        self.step_count = 0
        self._apply()

    @property
    def lr(self) -> float:
        if self.schedule == "epoch":
            return self.base_lr * self.decay**self.epoch
        return self.base_lr * self.decay ** (self.step_count // self.decay_steps)

    def _apply(self) -> None:
        lr = self.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step_batch(self) -> None:
        self.step_count += 1
        if self.schedule == "step":
            self._apply()

    def step_epoch(self) -> None:
        self.epoch += 1
        self._apply()

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "step_count": self.step_count}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self.step_count = int(state["step_count"])
        self._apply()


def bn_momentum_at(epochs_done: int, total_epochs: int, initial: float, final: float) -> float:
    """VideoPose3D's exponential decay: ``initial`` at epoch 0, ``final`` after the last epoch."""
    return initial * math.exp(-epochs_done / total_epochs * math.log(initial / final))
