"""Writing the predictions and targets an evaluation scored, for inspection or other metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .protocol import ResolvedProtocol

if TYPE_CHECKING:
    from ..data import Sequence

__all__ = ["save_predictions"]


def save_predictions(
    path: str | Path,
    sequences: list["Sequence"],
    preds: list[np.ndarray],
    gts: list[np.ndarray],
    protocol: ResolvedProtocol,
) -> None:
    """``pred/<subject>/<sequence>/<camera>`` and ``gt/...`` (metres, the joints averaged) plus the joint names."""
    arrays: dict[str, np.ndarray] = {"joint_names": np.array(protocol.joints.joint_names)}
    for seq, pred, gt in zip(sequences, preds, gts):
        key = f"{seq.subject}/{seq.name}/{seq.camera}"
        if f"pred/{key}" in arrays:
            raise DataError(f"save_predictions: two sequences share the key {key!r}")
        arrays[f"pred/{key}"] = pred
        arrays[f"gt/{key}"] = gt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
