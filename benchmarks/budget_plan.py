"""A paper's training recipe compressed to the epochs that fit a wall-clock budget.

``device_run.py``'s train part measures how long one epoch takes, then trains the epochs that fit
its budget instead of the recipe's full count. Fewer epochs alone would stop the learning rate
early, high up its schedule, so :func:`compress_schedule` squeezes the schedule to the same end
points: the rate still starts at the recipe's value and ends at the value the recipe reaches in
its last epoch, only in fewer, larger steps. For the ``"epoch"`` schedule (GAST-Net, VideoPose3D:
``lr * decay**e``) the per-epoch decay becomes ``decay ** ((E_paper - 1) / (E - 1))``; for the
``"step"`` staircase (Martinez, SemGCN) the steps per decay shrink by ``E / E_paper`` so the run
sees as many decays. VideoPose3D's BatchNorm-momentum decay is already relative to the run's epochs.

This deviates from the paper (fewer passes over the data). The config keeps its recipe's name, so
the run's card names the recipe and lists the settings that differ from it (epochs, decay), as for
any run that changes a recipe; :attr:`BudgetPlan.deviation` says the same in one line for the log.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from gastbench.errors import ConfigError
from gastbench.training import TrainConfig

__all__ = ["BudgetPlan", "compress_schedule", "epochs_that_fit", "plan_budget"]


def epochs_that_fit(seconds: float, seconds_per_epoch: float, max_epochs: int, safety: float = 1.1) -> int:
    """How many whole epochs of ``seconds_per_epoch`` fit in ``seconds`` (at least 1, at most ``max_epochs``)."""
    if seconds_per_epoch <= 0 or not math.isfinite(seconds_per_epoch):
        raise ConfigError(f"budget: seconds_per_epoch must be a positive number, got {seconds_per_epoch!r}")
    if max_epochs < 1:
        raise ConfigError(f"budget: max_epochs must be >= 1, got {max_epochs!r}")
    return max(1, min(max_epochs, int(seconds // (seconds_per_epoch * safety))))


def compress_schedule(config: TrainConfig, epochs: int) -> TrainConfig:
    """``config`` shortened to ``epochs`` with its learning-rate schedule squeezed to the same end points.

    ``epochs >= config.epochs`` returns an unchanged copy (the recipe fits as it is).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"budget: epochs must be an integer >= 1, got {epochs!r}")
    if epochs >= config.epochs:
        return config.with_overrides()
    changes: dict[str, Any] = {"epochs": epochs}
    if config.lr_schedule == "epoch":
        # lr at epoch e is lr * decay**e (e = 0 .. E-1): match the last epoch's lr of the paper's run.
        changes["lr_decay"] = config.lr_decay ** ((config.epochs - 1) / (epochs - 1)) if epochs > 1 else 1.0
    else:
        changes["lr_decay_steps"] = max(1, round(config.lr_decay_steps * epochs / config.epochs))
    return config.with_overrides(**changes)


@dataclass(frozen=True)
class BudgetPlan:
    """What a budget did to a recipe, for the train part's record (``train.json["plan"]``)."""

    max_seconds: float
    seconds_per_epoch: float
    paper_epochs: int
    epochs: int
    paper_lr_decay: float
    lr_decay: float
    paper_lr_decay_steps: int
    lr_decay_steps: int
    final_lr: float
    recipe: str

    @property
    def compressed(self) -> bool:
        return self.epochs < self.paper_epochs

    @property
    def deviation(self) -> str:
        if not self.compressed:
            return f"none: the recipe's {self.paper_epochs} epochs fit the {self.max_seconds:.0f} s budget"
        if self.lr_decay != self.paper_lr_decay:
            schedule = f"lr decay {self.lr_decay:.6g}/epoch instead of {self.paper_lr_decay:.6g}"
        else:
            schedule = f"lr decayed every {self.lr_decay_steps} steps instead of {self.paper_lr_decay_steps}"
        return (
            f"wall-clock budget of {self.max_seconds:.0f} s: {self.epochs} epochs instead of the paper's "
            f"{self.paper_epochs}, {schedule} (same first and last learning rate, {self.final_lr:.3g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "compressed": self.compressed, "deviation": self.deviation}


def _final_lr(config: TrainConfig, steps_per_epoch: int) -> float:
    if config.lr_schedule == "epoch":
        return config.lr * config.lr_decay ** (config.epochs - 1)
    last_step = config.epochs * steps_per_epoch - 1
    return config.lr * config.lr_decay ** (last_step // config.lr_decay_steps)


def plan_budget(
    config: TrainConfig, max_seconds: float, seconds_per_epoch: float, safety: float = 1.1, steps_per_epoch: int = 1
) -> tuple[TrainConfig, BudgetPlan]:
    """The recipe compressed to the epochs of ``seconds_per_epoch`` that fit ``max_seconds``, and its record."""
    epochs = epochs_that_fit(max_seconds, seconds_per_epoch, config.epochs, safety)
    short = compress_schedule(config, epochs)
    plan = BudgetPlan(
        max_seconds=float(max_seconds),
        seconds_per_epoch=float(seconds_per_epoch),
        paper_epochs=config.epochs,
        epochs=short.epochs,
        paper_lr_decay=config.lr_decay,
        lr_decay=short.lr_decay,
        paper_lr_decay_steps=config.lr_decay_steps,
        lr_decay_steps=short.lr_decay_steps,
        final_lr=_final_lr(short, steps_per_epoch),
        recipe=short.recipe,
    )
    return short, plan
