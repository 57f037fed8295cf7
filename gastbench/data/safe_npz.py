"""Read VideoPose3D-style ``.npz`` files without trusting their pickles.

The files hold object arrays (dicts and lists of float arrays), which numpy stores as a
pickle. ``np.load(allow_pickle=True)`` would run whatever callable a crafted file names;
here each object member is unpickled by :class:`RestrictedUnpickler`, which resolves only
the few numpy names that rebuilding an ``ndarray`` needs. Dicts, lists, strings and
numbers are built by pickle opcodes and need no name lookups at all.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ..errors import DataError

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "load_npz"]

#: (module, name) pairs a numpy array pickle may reference; both numpy 1 and numpy 2 spellings.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "str"),
    }
)

# Resolved directly, so that numpy 1 spellings load under numpy 2 without importing the
# deprecated ``numpy.core`` shim (and without pickle's generic import machinery).
_RESOLVED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "str"): str,
}


def _multiarray() -> Any:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dicts, lists and strings, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy array reconstruction is allowed"
            )
        if (module, name) in _RESOLVED:
            return _RESOLVED[(module, name)]
        return getattr(_multiarray(), name)

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused persistent id: not part of a numpy array pickle")


def _read_member(fp: Any) -> np.ndarray:
    version = npy_format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if not dtype.hasobject:
        # Plain numeric member: the header says exactly how many bytes follow.
        count = int(np.prod(shape, dtype=np.int64))
        data = fp.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"truncated array data: expected {count * dtype.itemsize} bytes, got {len(data)}")
        arr = np.frombuffer(data, dtype=dtype, count=count)
        return arr.reshape(shape[::-1]).T.copy() if fortran else arr.reshape(shape).copy()
    obj = RestrictedUnpickler(fp).load()
    if not isinstance(obj, np.ndarray):
        raise ValueError(f"object member unpickled to {type(obj).__name__}, expected a numpy array")
    return obj


def load_npz(path: str | Path, keys: list[str] | None = None) -> dict[str, Any]:
    """Members of an ``.npz`` file, object arrays unpickled safely; 0-d object arrays are unwrapped.

    Args:
        path: the ``.npz`` file.
        keys: member names to read (without ``.npy``); all when None.

    Raises:
        DataError: the file is missing, not a zip, lacks a key, or a member is malformed or unsafe.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {'is a directory, not a file' if path.is_dir() else 'file not found'}")
    out: dict[str, Any] = {}
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz (zip) file: {exc}") from None
    with zf:
        members = {n[: -len(".npy")]: n for n in zf.namelist() if n.endswith(".npy")}
        wanted = list(members) if keys is None else list(keys)
        missing = [k for k in wanted if k not in members]
        if missing:
            raise DataError(f"{path}: missing key(s) {missing}; the file holds {sorted(members)}")
        for key in wanted:
            try:
                with zf.open(members[key]) as raw:
                    fp = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
                    arr = _read_member(fp)
            except pickle.UnpicklingError as exc:
                raise DataError(f"{path}: key {key!r} is unsafe or malformed and was not loaded: {exc}") from None
            except Exception as exc:  # any parse failure of an untrusted file becomes one clear error
                raise DataError(f"{path}: key {key!r} could not be read: {type(exc).__name__}: {exc}") from None
            out[key] = arr.item() if arr.dtype.hasobject and arr.shape == () else arr
    return out
