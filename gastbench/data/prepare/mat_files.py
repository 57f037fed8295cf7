"""MATLAB ``.mat`` files of either kind, read into MATLAB's own dimension order.

MPI-INF-3DHP ships MATLAB v5 files (``S*/Seq*/annot.mat``, read with ``scipy.io``) and v7.3 files
(``TS*/annot_data.mat``: HDF5 with a 512-byte MATLAB header, read with ``h5py``). HDF5 stores
MATLAB arrays with their dimensions reversed and cell arrays as references; both are undone
here, so a variable reads the same from either kind: a ``3x17x1xn`` array as ``(3, 17, 1, n)``,
a ``14x1`` cell as an object array ``(14, 1)`` of arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from .files import optional_module

__all__ = ["mat_version", "read_mat"]

_V5 = b"MATLAB 5.0 MAT-file"
_V73 = b"MATLAB 7.3 MAT-file"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def mat_version(path: Path) -> str:
    """``"v5"`` (v4 is not used by the datasets) or ``"v7.3"``; DataError for anything else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(520)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head.startswith(_V73) or head[512:520] == _HDF5_SIGNATURE or head.startswith(_HDF5_SIGNATURE):
        return "v7.3"
    if head.startswith(_V5):
        return "v5"
    raise DataError(f"{path}: not a MATLAB .mat file (header {head[:20]!r})")


def _from_scipy(path: Path, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    scipy_io = optional_module("scipy.io", f"reading {path} (a MATLAB v5 .mat file)")
    try:
        available = [entry[0] for entry in scipy_io.whosmat(str(path))]
        found = scipy_io.loadmat(str(path), variable_names=names)
    except Exception as exc:  # scipy raises ValueError/TypeError/MatReadError for damaged files
        raise DataError(f"{path}: not a readable MATLAB v5 file ({type(exc).__name__}: {exc})") from None
    return {k: v for k, v in found.items() if not k.startswith("__")}, available


def _h5_value(h5py: Any, hf: Any, node: Any) -> Any:
    data = node[()]
    if isinstance(data, np.ndarray) and data.dtype == object:  # a cell array: references to its elements
        cells = np.empty(data.shape[::-1], dtype=object)
        for index, ref in np.ndenumerate(data.T):
            cells[index] = _h5_value(h5py, hf, hf[ref])
        return cells
    return np.asarray(data).T


def _from_h5py(path: Path, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    h5py = optional_module("h5py", f"reading {path} (a MATLAB v7.3 / HDF5 .mat file)")
    try:
        with h5py.File(path, "r") as hf:
            available = [k for k in hf if not k.startswith("#")]
            return {name: _h5_value(h5py, hf, hf[name]) for name in names if name in hf}, available
    except OSError as exc:
        raise DataError(f"{path}: not a readable MATLAB v7.3 (HDF5) file ({exc})") from None


def read_mat(path: str | Path, names: list[str], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """Variables ``names`` (and those of ``optional`` present) of a v5 or v7.3 file, in MATLAB order.

    Raises:
        DataError: not a .mat file, unreadable, or a variable of ``names`` missing (naming the file).
        ConfigError: the reader the file needs (scipy or h5py) is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    wanted = [*names, *optional]
    found, available = _from_scipy(path, wanted) if mat_version(path) == "v5" else _from_h5py(path, wanted)
    missing = [n for n in names if n not in found]
    if missing:
        raise DataError(f"{path}: variable(s) {missing} missing; the file holds {sorted(available)}")
    return found
