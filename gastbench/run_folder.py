"""A training run's folder: the names of what a run writes there, and the mark that makes it a run's.

``gastbench train`` writes ``config.json``, ``log.jsonl``, ``checkpoint.pt``, ``weights.safetensors``,
``summary.json``, its result record and its zoo card into ``runs/<run>/``, and lists each file it
wrote in the marker ``.gastbench-run.json``. Replacing a run (``--overwrite``) deletes exactly the
files the marker lists, and only in a folder that has one: a folder that merely holds a file
called ``config.json`` is never taken for a run.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import ConfigError
from .outputs import check_output_dir, write_text_file

__all__ = [
    "CHECKPOINT", "CONFIG", "LOG", "MARKER", "SUMMARY", "WEIGHTS",
    "is_run_folder", "mark_run_folder", "prepare_run_dir", "record_written", "remove_run", "written_files",
]  # fmt: skip

CONFIG = "config.json"
LOG = "log.jsonl"
CHECKPOINT = "checkpoint.pt"
WEIGHTS = "weights.safetensors"
SUMMARY = "summary.json"
MARKER = ".gastbench-run.json"


def is_run_folder(run_dir: str | Path) -> bool:
    """Whether a training run marked ``run_dir`` as its own."""
    return (Path(run_dir) / MARKER).is_file()


def written_files(run_dir: str | Path) -> list[str]:
    """The names a run recorded writing into ``run_dir`` (empty when it is not a run folder)."""
    marker = Path(run_dir) / MARKER
    if not marker.is_file():
        return []
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        names = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"run folder {run_dir}: {MARKER} is damaged; delete the folder by hand if it is yours"
        ) from None
    return [n for n in names if isinstance(n, str) and _plain_name(n)]


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


def _write_marker(run_dir: Path, names: list[str]) -> None:
    write_text_file(run_dir / MARKER, json.dumps({"files": sorted(set(names))}, indent=1) + "\n")


def mark_run_folder(run_dir: str | Path) -> None:
    """Create ``run_dir`` and mark it as a training run's (keeping what an earlier mark listed)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_marker(run_dir, written_files(run_dir))


def record_written(run_dir: str | Path, *paths: str | Path) -> None:
    """Add files the run wrote (inside ``run_dir``) to its marker."""
    run_dir = Path(run_dir)
    names = written_files(run_dir)
    for path in paths:
        name = Path(path).name
        if Path(path).parent.resolve() != run_dir.resolve() or not _plain_name(name):
            raise ConfigError(f"run folder {run_dir}: {path} is not a file directly inside it")
        names.append(name)
    _write_marker(run_dir, names)


def remove_run(run_dir: str | Path) -> list[Path]:
    """Delete the files the run listed (links as links, never what they point at), then the marker,
    then the folder if nothing else is left; return what was deleted."""
    run_dir = Path(run_dir)
    removed: list[Path] = []
    for name in written_files(run_dir):
        path = run_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
            removed.append(path)
    (run_dir / MARKER).unlink(missing_ok=True)
    if not any(run_dir.iterdir()):
        run_dir.rmdir()
    return removed


def prepare_run_dir(run_dir: str | Path, *, overwrite: bool = False, remove: bool = True) -> Path:
    """Make sure a new training run may write ``run_dir``: absent, empty, or replaced with ``overwrite``.

    ``overwrite`` deletes what an earlier run wrote there, as its marker lists it
    (above), and nothing else; a folder without the marker is never
    touched, whatever it holds. ``remove=False`` checks without deleting (the other processes
    of a distributed run).
    """
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
