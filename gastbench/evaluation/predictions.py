"""Writing the predictions and targets an evaluation scored, for inspection or other metrics.

The ``.npz`` is written one sequence at a time (each array its own ``.npy`` member of the zip,
as ``np.savez_compressed`` lays them out), so saving does not hold every pose in memory. It is
written beside the destination and moved there only when complete: a failed run leaves no
half-written file and does not touch an existing one.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .protocol import ResolvedProtocol

if TYPE_CHECKING:
    from ..data import Sequence

__all__ = ["PredictionWriter", "prediction_key"]


def prediction_key(seq: "Sequence") -> str:
    """``<subject>/<sequence>/<camera>``: the name of a sequence's arrays under ``pred/`` and ``gt/``."""
    return f"{seq.subject}/{seq.name}/{seq.camera}"


class PredictionWriter:
    """``pred/<subject>/<sequence>/<camera>`` and ``gt/...`` (metres, the joints averaged) plus the joint names.

    Use as a context manager; :meth:`add` each scored sequence in turn. Keys are checked for
    clashes when the writer is made, before any work is done.
    """

    def __init__(self, path: str | Path, sequences: list["Sequence"], protocol: ResolvedProtocol) -> None:
        seen: set[str] = set()
        for seq in sequences:
            key = prediction_key(seq)
            if key in seen:
                raise DataError(f"save_predictions: two sequences share the key {key!r}")
            seen.add(key)
        self.path = Path(path)
        self.joint_names = list(protocol.joints.joint_names)
        self._zip: zipfile.ZipFile | None = None
        self._tmp: Path | None = None

    def __enter__(self) -> "PredictionWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._zip = zipfile.ZipFile(self._tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self._write("joint_names", np.array(self.joint_names))
        return self

    def _write(self, name: str, array: np.ndarray) -> None:
        assert self._zip is not None, "PredictionWriter used outside its with-block"
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)

    def add(self, seq: "Sequence", pred: np.ndarray, gt: np.ndarray) -> None:
        """Write one sequence's scored predictions and targets."""
        key = prediction_key(seq)
        self._write(f"pred/{key}", pred)
        self._write(f"gt/{key}", gt)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._zip is not None and self._tmp is not None
        self._zip.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)
