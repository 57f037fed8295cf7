"""The wall-clock budget of ``gastbench train --max-minutes``: stop after the last epoch that fits.

:class:`EpochBudget` is a clock started with the run; ``fits_another(epoch_seconds)`` says whether
one more epoch of that length still ends inside the budget. The loop asks it after every epoch
(through :func:`out_of_budget`, which makes every DDP rank take the same decision) and stops
cleanly: weights of the last finished epoch, nothing half-done.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .distributed import DistContext

__all__ = ["EpochBudget", "out_of_budget"]


@dataclass
class EpochBudget:
    """A wall-clock allowance of ``max_seconds``, counted from construction.

    ``safety`` scales the next epoch's expected length: epochs vary a little (validation, a slow
    first epoch with ``torch.compile``), and overshooting a hard limit loses the whole run.
    """

    max_seconds: float
    safety: float = 1.1
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        if not (self.max_seconds > 0 and math.isfinite(self.max_seconds)):
            raise ConfigError(f"budget: max_seconds must be a positive number, got {self.max_seconds!r}")
        if self.safety < 1.0:
            raise ConfigError(f"budget: safety must be >= 1, got {self.safety!r}")

    @classmethod
    def minutes(cls, max_minutes: float, safety: float = 1.1) -> EpochBudget:
        return cls(max_seconds=60.0 * max_minutes, safety=safety)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def remaining(self) -> float:
        return max(0.0, self.max_seconds - self.elapsed())

    def fits_another(self, epoch_seconds: float) -> bool:
        """Whether one more epoch of ``epoch_seconds`` (times the safety factor) ends inside the budget."""
        return epoch_seconds * self.safety <= self.remaining()


def out_of_budget(budget: EpochBudget, epoch_seconds: float, ctx: DistContext) -> bool:
    """Whether another epoch of ``epoch_seconds`` would overrun ``budget``; under DDP every rank
    takes the same decision (any rank out of time stops them all), so none waits for the others."""
    import torch

    from .distributed import all_reduce_sum

    over = torch.tensor([0.0 if budget.fits_another(epoch_seconds) else 1.0], device=ctx.device)
    return bool(all_reduce_sum(over, ctx).item() > 0)
