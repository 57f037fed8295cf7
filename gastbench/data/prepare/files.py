"""What every preparation step shares: optional readers, the ``.npz`` writer, a content digest.

The writer is numpy's own ``savez_compressed`` (VideoPose3D's files are written by it), into a
temporary file beside the target that is renamed over it when complete: a prepared file is
whole or absent, and an existing one is replaced only with ``overwrite``. numpy stamps every
member with the zip epoch (1980-01-01), so the bytes depend only on the arrays, their order,
numpy's pickle of them (``numpy._core`` since numpy 2, ``numpy.core`` before) and zlib; the
digest of :func:`content_digest` depends on the arrays alone (names, dtypes, shapes, values).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError
from ...hashing import file_sha256
from ...outputs import check_output_file

__all__ = ["EXTRA", "PreparedFile", "content_digest", "optional_module", "write_npz"]

#: The optional extra that installs the readers of the official releases.
EXTRA = "prepare"


@dataclass
class PreparedFile:
    """What a preparation wrote: the file, its hashes, and what it holds."""

    path: str
    sha256: str
    content_sha256: str
    source: str
    sequences: dict[str, list[str]] = field(default_factory=dict)
    frames: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optional_module(name: str, purpose: str) -> ModuleType:
    """Import ``name`` (cdflib, h5py, scipy.io) or stop with one line saying what to install."""
    try:
        return importlib.import_module(name)
    except ImportError:
        package = name.split(".")[0]
        raise ConfigError(
            f"{purpose} needs the Python package {package!r}, which is not installed: pip install 'gastbench[{EXTRA}]'"
        ) from None


def write_npz(path: str | Path, members: dict[str, Any], *, overwrite: bool, inputs: Iterable[str | Path] = ()) -> str:
    """Write ``members`` as ``np.savez_compressed`` does, atomically; return the file's sha256.

    Raises:
        ConfigError: ``path`` exists and ``overwrite`` is False, is one of ``inputs``, or does not end in ``.npz``.
        DataError: the file cannot be written (the target is left as it was).
    """
    path = check_output_file(path, "--out", overwrite=overwrite, inputs=inputs, suffix=".npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
        os.close(handle)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        np.savez_compressed(tmp, **members)
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}; nothing was written") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return file_sha256(path)


def _walk(node: Any, key: str) -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for name in sorted(node, key=str):
            yield from _walk(node[name], f"{key}/{name}")
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield from _walk(item, f"{key}[{index}]")
    else:
        yield key, node


def content_digest(members: dict[str, Any]) -> str:
    """sha256 of a file's arrays (dict keys sorted): the same for any writer, numpy or zlib version.

    Each leaf contributes its key path, dtype, shape and bytes (arrays) or its ``repr`` (numbers,
    strings), so two files with equal digests hold equal arrays to the last bit.
    """
    digest = hashlib.sha256()
    for key, leaf in _walk(members, ""):
        digest.update(key.encode("utf-8") + b"\0")
        if isinstance(leaf, np.ndarray) and not leaf.dtype.hasobject:
            arr = np.ascontiguousarray(leaf)
            digest.update(f"{arr.dtype.str}{arr.shape}".encode("ascii") + b"\0")
            digest.update(arr.tobytes())
        else:
            digest.update(repr(leaf).encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
