"""The rules every command follows before it writes a file or a folder.

- An existing file is replaced only with ``--overwrite``.
- An output never resolves to an input of the run (a dataset file, a weights file, a record
  being read), not even with ``--overwrite``: that would destroy what the numbers came from.
- Two outputs of one command never share a path.
- A file option pointed at a folder, or a folder option pointed at a file, is refused.
- Nothing is renamed behind the user's back: a path whose suffix a writer would change
  (numpy appends ``.npz``) must carry that suffix.
- A folder an output goes to must be writable; that is tried (a temporary file made and
  removed) before the work, not discovered after it.
- Files are written through :func:`replacing`: a uniquely named temporary file created
  exclusively in the target folder (never through a link that happens to sit at a fixed
  name), renamed over the target when complete, removed on any failure. A full disk is a
  one-line :class:`~gastbench.errors.OutputError` and leaves nothing behind.

Commands call these checks before the work starts, so a bad path costs nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError, OutputError

__all__ = [
    "check_distinct", "check_output_dir", "check_output_file", "check_writable", "replacing",
    "replacing_path", "same_file", "write_new_file", "write_text_file",
]  # fmt: skip


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` name the same file (through links and ``..``), existing or not."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.expanduser().resolve() == b.expanduser().resolve()


def _check_parents(path: Path, option: str) -> None:
    for parent in path.expanduser().resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder")
            check_writable(parent, f"{option} {path}")
            return


def check_writable(folder: str | Path, what: str) -> None:
    """Try creating (and removing) a file in ``folder``: a read-only or full disk is found before the work."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".gastbench-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {folder} ({exc.strerror or exc})") from None


@contextmanager
def replacing(path: str | Path, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """A file to write ``path`` through: a fresh temporary beside it, renamed over ``path`` on success.

    The temporary is created exclusively (``mkstemp``: ``O_CREAT | O_EXCL``, a random name), so a
    link planted at a predictable name cannot redirect the write; any failure (a full disk
    included) removes it and leaves ``path`` as it was. OSErrors become one-line OutputErrors.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; nothing was written") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def replacing_path(path: str | Path) -> Iterator[Path]:
    """Like :func:`replacing`, for writers that need a path (an ffmpeg process, ``savez``): a fresh,
    exclusively created file with ``path``'s suffix beside it, renamed over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; nothing was written") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_file(path: str | Path, text: str) -> Path:
    """``text`` written to ``path`` through :func:`replacing` (UTF-8)."""
    with replacing(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_new_file(folder: str | Path, stem: str, suffix: str, text: str) -> Path:
    """``text`` as a new file ``<stem><suffix>`` in ``folder`` (``<stem>-1<suffix>``... when taken), never
    replacing one: written to a temporary file, then linked to the first free name (a link fails
    if the name exists, so two processes saving at once each get their own file)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".draft")
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        for counter in range(100_000):
            candidate = folder / (f"{stem}{suffix}" if counter == 0 else f"{stem}-{counter}{suffix}")
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                continue
        raise OutputError(f"no free file name for {stem}{suffix} in {folder}")
    except OSError as exc:
        raise OutputError(
            f"cannot write {folder / (stem + suffix)}: {exc.strerror or exc}; nothing was written"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_output_file(
    path: str | Path,
    option: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    suffix: str | None = None,
) -> Path:
    """Refuse writing ``path`` (named by ``option`` in messages) unless it is a safe new or replaceable file.

    Args:
        overwrite: an existing file may be replaced.
        inputs: files the run reads; ``path`` may never be one of them.
        suffix: the suffix ``path`` must have (e.g. ``".npz"``), because the writer would add it.
    """
    path = Path(path)
    for source in inputs:
        if same_file(path, source):
            raise ConfigError(f"{option} {path} is an input of this run ({source}); choose another output path")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a directory; give a file path")
    if suffix is not None and path.suffix != suffix:
        raise ConfigError(f"{option} {path} must end in {suffix}")
    if path.exists() and not overwrite:
        raise ConfigError(f"{option} {path} exists; pass --overwrite to replace it")
    _check_parents(path, option)
    return path


def check_output_dir(path: str | Path, option: str) -> Path:
    """Refuse a folder option that names an existing file (or sits below one), or a folder not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file, not a folder")
    if path.is_dir():
        check_writable(path, f"{option} {path}")
    else:
        _check_parents(path, option)
    return path


def check_distinct(outputs: Sequence[tuple[str, str | Path | None]]) -> None:
    """Refuse two options of one command writing the same file."""
    given = [(option, Path(p)) for option, p in outputs if p is not None]
    for i, (first, a) in enumerate(given):
        for second, b in given[i + 1 :]:
            if same_file(a, b):
                raise ConfigError(f"{first} and {second} both name {a}; give each output its own path")
