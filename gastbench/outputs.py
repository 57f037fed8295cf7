"""The rules every command follows before it writes a file or a folder.

- An existing file is replaced only with ``--overwrite``.
- An output never resolves to an input of the run (a dataset file, a weights file, a record
  being read), not even with ``--overwrite``: that would destroy what the numbers came from.
- Two outputs of one command never share a path.
- A file option pointed at a folder, or a folder option pointed at a file, is refused.
- Nothing is renamed behind the user's back: a path whose suffix a writer would change
  (numpy appends ``.npz``) must carry that suffix.

Commands call these checks before the work starts, so a bad path costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from .errors import ConfigError

__all__ = ["check_output_file", "check_output_dir", "check_distinct", "prepare_run_dir", "same_file"]


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
            return


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
    """Refuse a folder option that names an existing file (or sits below one)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path} is a file, not a folder")
    _check_parents(path, option)
    return path


def check_distinct(outputs: Sequence[tuple[str, str | Path | None]]) -> None:
    """Refuse two options of one command writing the same file."""
    given = [(option, Path(p)) for option, p in outputs if p is not None]
    for i, (first, a) in enumerate(given):
        for second, b in given[i + 1 :]:
            if same_file(a, b):
                raise ConfigError(f"{first} and {second} both name {a}; give each output its own path")


def prepare_run_dir(run_dir: str | Path, *, overwrite: bool = False, remove: bool = True) -> Path:
    """Make sure a new training run may write ``run_dir``: absent, empty, or replaced with ``overwrite``.

    ``overwrite`` deletes what an earlier run wrote there, as its marker lists it
    (:mod:`gastbench.run_folder`), and nothing else; a folder without the marker is never
    touched, whatever it holds. ``remove=False`` checks without deleting (the other processes
    of a distributed run).
    """
    from .run_folder import MARKER, is_run_folder, remove_run

    run_dir = Path(run_dir)
    check_output_dir(run_dir, "run folder")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return run_dir
    if not overwrite:
        raise ConfigError(
            f"run folder {run_dir} already exists and is not empty; choose another --run-name, pass --resume to "
            "continue a checkpointed run, or --overwrite to replace it"
        )
    if not is_run_folder(run_dir):
        raise ConfigError(
            f"run folder {run_dir} holds files but no training run's marker ({MARKER}); refusing to delete anything "
            "in it even with --overwrite; choose another --run-name"
        )
    if remove:
        remove_run(run_dir)
    return run_dir
