"""Writing the predictions and targets an evaluation scored, for inspection or other metrics.

The ``.npz`` is written one sequence at a time (each array its own ``.npy`` member of the zip,
as ``np.savez_compressed`` lays them out), so saving does not hold every pose in memory. It is
written beside the destination and moved there only when complete: a failed run leaves no
half-written file and does not touch an existing one.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, OutputError
from .protocol import ResolvedProtocol

if TYPE_CHECKING:
    from ..data import PoseSequence

__all__ = ["PredictionWriter", "SavedPredictions", "prediction_key", "read_predictions"]

_PRED, _GT, _JOINTS = "pred/", "gt/", "joint_names"


def prediction_key(seq: PoseSequence) -> str:
    """``<subject>/<sequence>/<camera>``: the name of a sequence's arrays under ``pred/`` and ``gt/``."""
    return f"{seq.subject}/{seq.name}/{seq.camera}"


@dataclass(frozen=True)
class SavedPredictions:
    """A predictions file read back: arrays by :func:`prediction_key`, in metres, and the joints scored."""

    pred: dict[str, np.ndarray]
    gt: dict[str, np.ndarray]
    joint_names: tuple[str, ...]


def read_predictions(path: str | Path) -> SavedPredictions:
    """Read what :class:`PredictionWriter` wrote (no pickles); :class:`DataError` for anything else."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            files = list(data.files)
            if _JOINTS not in files:
                raise DataError(
                    f"{path}: not a predictions file (no {_JOINTS!r}); write one with `gastbench eval --save-predictions`"
                )
            pred = {k[len(_PRED) :]: data[k] for k in files if k.startswith(_PRED)}
            gt = {k[len(_GT) :]: data[k] for k in files if k.startswith(_GT)}
            names = tuple(str(n) for n in data[_JOINTS])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable predictions .npz: {exc}") from None
    if not pred or set(pred) != set(gt):
        raise DataError(f"{path}: expected matching '{_PRED}<subject>/<sequence>/<camera>' and '{_GT}...' arrays")
    return SavedPredictions(pred, gt, names)


class PredictionWriter:
    """``pred/<subject>/<sequence>/<camera>`` and ``gt/...`` (metres, the joints averaged) plus the joint names.

    Use as a context manager; :meth:`add` each scored sequence in turn. Keys are checked for
    clashes when the writer is made, before any work is done.
    """

    def __init__(self, path: str | Path, sequences: list[PoseSequence], protocol: ResolvedProtocol) -> None:
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

    def __enter__(self) -> PredictionWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".partial")
        self._tmp = Path(tmp)
        self._handle = os.fdopen(fd, "w+b")
        self._zip = zipfile.ZipFile(self._handle, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self._write(_JOINTS, np.array(self.joint_names))
        return self

    def _write(self, name: str, array: np.ndarray) -> None:
        assert self._zip is not None, "PredictionWriter used outside its with-block"
        try:
            with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
        except OSError as err:
            raise OutputError(f"cannot write {self.path}: {err.strerror or err}; nothing was written") from None

    def add(self, seq: PoseSequence, pred: np.ndarray, gt: np.ndarray) -> None:
        """Write one sequence's scored predictions and targets."""
        key = prediction_key(seq)
        self._write(f"{_PRED}{key}", pred)
        self._write(f"{_GT}{key}", gt)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._zip is not None and self._tmp is not None
        try:
            self._zip.close()
            self._handle.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
                return
        except OSError as err:  # a full disk shows up at the last write or the close
            self._tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write {self.path}: {err.strerror or err}; nothing was written") from None
        self._tmp.unlink(missing_ok=True)
