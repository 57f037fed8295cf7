"""What a training run produced: its config, history, files and final evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..lifter import Lifter
from .config import TrainConfig

if TYPE_CHECKING:
    from ..results import EvalResult

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """What a finished run produced (paths are None on non-main DDP ranks)."""

    config: TrainConfig
    run_dir: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    weights_path: Path | None = None
    result_path: Path | None = None
    card_path: Path | None = None
    result: EvalResult | None = None
    wall_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    lifter: Lifter | None = None
    completed: bool = True

    @property
    def final_loss(self) -> float | None:
        return self.history[-1]["loss"] if self.history else None
