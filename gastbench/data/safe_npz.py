"""Read VideoPose3D-style ``.npz`` files without trusting their pickles.

The files hold object arrays (dicts and lists of float arrays), which numpy stores as a
pickle. ``np.load(allow_pickle=True)`` would run whatever callable a crafted file names, and
even numpy's own array and dtype names can be abused through their ``__setstate__`` (see
:mod:`gastbench.safe_pickle`). Here each object member is unpickled by
:class:`RestrictedUnpickler`, whose few allowed names resolve to gastbench's stand-ins; dicts,
lists, strings and numbers are built by pickle opcodes and need no name lookups at all. Plain
members must declare a plain dtype in their header.
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
from ..safe_pickle import (
    BufferReader,
    MalformedPickleError,
    UnsafePickleError,
    builtin_globals,
    check_plain_dtype,
    numpy_globals,
    pickle_end,
    resolve,
)

__all__ = ["ALLOWED_GLOBALS", "RestrictedUnpickler", "load_npz"]

_STAND_INS: dict[tuple[str, str], Any] = {
    **numpy_globals(),
    **{key: value for key, value in builtin_globals().items() if key[0] == "builtins"},
}

#: (module, name) pairs an object member's pickle may reference (numpy 1 and numpy 2 spellings).
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(_STAND_INS)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dicts, lists and strings, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _STAND_INS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused persistent id: not part of a numpy array pickle")


def _read_all(fp: Any, size: int) -> bytearray:
    """The rest of a zip member in one buffer of its known size (chunked: one huge zlib call is slower)."""
    buffer = bytearray(size)
    view, filled = memoryview(buffer), 0
    while filled < size and (got := fp.readinto(view[filled : filled + (1 << 20)])):
        filled += got
    del view
    buffer[filled:] = b""
    return buffer


def _read_member(fp: Any, size: int) -> Any:
    version = npy_format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        if dtype != np.dtype(object):
            raise UnsafePickleError(f"the header declares dtype {dtype!r}; object members must be plain object arrays")
        pickled = _read_all(fp, size)
        pickle_end(pickled)  # every opcode checked before the unpickler allocates anything
        value = resolve(RestrictedUnpickler(BufferReader(pickled)).load())
        if not isinstance(value, np.ndarray):
            raise ValueError(f"object member unpickled to {type(value).__name__}, expected a numpy array")
        return value
    check_plain_dtype(dtype, "the member")
    # Plain member: the header says exactly how many bytes follow.
    count = int(np.prod(shape, dtype=np.int64))
    data = fp.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"truncated array data: expected {count * dtype.itemsize} bytes, got {len(data)}")
    arr = np.frombuffer(data, dtype=dtype, count=count)
    return arr.reshape(shape[::-1]).T.copy() if fortran else arr.reshape(shape).copy()


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
                    fp = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[type-var]  # a ZipExtFile is a raw stream
                    arr = _read_member(fp, zf.getinfo(members[key]).file_size)
            except (pickle.UnpicklingError, UnsafePickleError, MalformedPickleError) as exc:
                raise DataError(f"{path}: key {key!r} is unsafe or malformed and was not loaded: {exc}") from None
            except Exception as exc:  # any parse failure of an untrusted file becomes one clear error
                raise DataError(f"{path}: key {key!r} could not be read: {type(exc).__name__}: {exc}") from None
            out[key] = arr.item() if arr.dtype.hasobject and arr.shape == () else arr
    return out
