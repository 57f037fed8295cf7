"""The site's output folder, under :mod:`gastbench.outputs`' rules.

A folder is written only when it is absent or empty, or when ``overwrite`` is given and the folder
holds the marker an earlier ``gastbench site`` left (``.gastbench-site.json``, listing every file it
wrote). Replacing a site deletes exactly those files, never anything else; a non-empty folder
without the marker is refused even with ``overwrite``. The folder may not hold a file the site reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import ConfigError
from ..outputs import check_output_dir

__all__ = ["SITE_MARKER", "check_site_dir", "prepare_site_dir", "site_files", "write_marker"]

SITE_MARKER = ".gastbench-site.json"


def _relative(name: object) -> bool:
    """A plain relative path inside the folder (no root, no ``..``)."""
    if not isinstance(name, str) or not name or "\\" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and path.parts != (".",)


def site_files(out_dir: Path) -> list[str]:
    """The files an earlier site recorded writing into ``out_dir`` (empty without a marker)."""
    marker = out_dir / SITE_MARKER
    if not marker.is_file():
        return []
    try:
        names = json.loads(marker.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"site folder {out_dir}: {SITE_MARKER} is damaged; delete the folder by hand if it is yours"
        ) from None
    return [n for n in names if _relative(n)]


def write_marker(out_dir: Path, files: Iterable[str]) -> None:
    """Record the files this site writes (before writing them, so an interrupted run can be replaced)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{SITE_MARKER}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"files": sorted(set(files))}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / SITE_MARKER)


def _remove_previous(out_dir: Path) -> None:
    """Delete the files the marker lists (links as links), then the folders they leave empty."""
    folders: set[Path] = set()
    for name in site_files(out_dir):
        path = out_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        folders.update(p for p in path.parents if out_dir in p.parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
    (out_dir / SITE_MARKER).unlink(missing_ok=True)


def check_site_dir(
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    planned: Iterable[str] = (),
    read_folders: Iterable[str | Path] = (),
) -> Path:
    """Refuse an ``out_dir`` the site may not write (nothing is changed on disk).

    ``inputs``: files the site reads (none may lie inside the folder). ``read_folders``: folders
    records are read from recursively (the site, which holds record copies, may not lie inside
    one). ``planned``: the relative paths about to be written; one that exists and the earlier site
    did not write (someone's own file beside the site) is refused.
    """
    out_dir = check_output_dir(out_dir, "OUT_DIR")
    root = out_dir.expanduser().resolve()
    for source in inputs:
        resolved = Path(source).expanduser().resolve()
        if root == resolved or root in resolved.parents:
            raise ConfigError(f"OUT_DIR {out_dir} holds {source}, which the site reads; choose another folder")
    for folder in read_folders:
        resolved = Path(folder).expanduser().resolve()
        if root == resolved or resolved in root.parents:
            raise ConfigError(
                f"OUT_DIR {out_dir} is inside {folder}, a folder records are read from (its record copies would be "
                "read back); choose a folder outside it"
            )
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return out_dir
    marked = (out_dir / SITE_MARKER).is_file()
    if not overwrite:
        what = "an earlier site" if marked else "files"
        raise ConfigError(
            f"OUT_DIR {out_dir} is not empty (it holds {what}); pass --overwrite to replace a site gastbench wrote there"
        )
    if not marked:
        raise ConfigError(
            f"OUT_DIR {out_dir} holds files but no gastbench site marker ({SITE_MARKER}); refusing to write into it "
            "even with --overwrite; choose an empty or new folder"
        )
    ours = set(site_files(out_dir))
    theirs = [name for name in planned if name not in ours and (out_dir / name).exists()]
    if theirs:
        raise ConfigError(
            f"OUT_DIR {out_dir}: {theirs[0]} exists and the earlier site did not write it; refusing to replace it"
        )
    return out_dir


def prepare_site_dir(
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    planned: Iterable[str] = (),
    read_folders: Iterable[str | Path] = (),
) -> Path:
    """:func:`check_site_dir`, then delete what an earlier site wrote there (``overwrite``) and mark the folder."""
    planned = list(planned)
    out_dir = check_site_dir(out_dir, overwrite=overwrite, inputs=inputs, planned=planned, read_folders=read_folders)
    if (out_dir / SITE_MARKER).is_file():
        _remove_previous(out_dir)
    write_marker(out_dir, planned)
    return out_dir
