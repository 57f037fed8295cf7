"""The project's one file hash (sha256), at the bottom layer so that data files and weights share it.

:mod:`gastbench.checkpoint` re-exports it as ``file_sha256``; nothing else hashes files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_sha256"]

_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path, *, memo: bool = False, chunk_bytes: int = 1 << 22) -> str:
    """sha256 hex digest of a file.

    ``memo=True`` reuses the digest of the same path, size and mtime within the process: for
    large dataset files read again and again; weights are always hashed afresh, because
    verifying them is the point.
    """
    path = Path(path)
    key: tuple[str, int, int] | None = None
    if memo:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key in _MEMO:
            return _MEMO[key]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    if key is not None:
        _MEMO[key] = digest.hexdigest()
    return digest.hexdigest()
