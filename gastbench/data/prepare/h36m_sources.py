"""The two places Human3.6M's 3D positions come from, read one sequence file at a time.

- The official release: ``<root>/<subject>/MyPoseFeatures/D3_Positions/<action>.cdf``
  (the ``Poses_D3_Positions_S*.tgz`` archives extracted into one folder), each file's variable
  ``Pose`` holding ``(1, frames, 96)`` millimetres, 32 joints x (x, y, z). Read with ``cdflib``.
- Martinez et al.'s ``h36m.zip`` (3d-pose-baseline): ``h36m/<subject>/MyPoses/3D_positions/<action>.h5``,
  dataset ``3D_positions`` holding ``(96, frames)`` millimetres. Read with ``h5py`` from the zip
  itself or from its extracted folder.

Each reader yields ``(file name, raw array)`` per sequence file of one subject, in file-name
order; the layout facts (renames, order, units) are applied by :mod:`.h36m`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...errors import DataError
from .files import optional_module

__all__ = ["SourceKind", "cdf_files", "detect_source", "h5_files"]

SourceKind = str  # "cdf" | "h5-folder" | "h5-zip"

CDF_FOLDER = ("MyPoseFeatures", "D3_Positions")
CDF_VARIABLE = "Pose"
H5_FOLDER = ("MyPoses", "3D_positions")
H5_DATASET = "3D_positions"


def detect_source(source: Path, subjects: tuple[str, ...]) -> tuple[SourceKind, Path]:
    """Which layout ``source`` is in, and the folder (or zip) holding the subject folders."""
    if source.is_file():
        if zipfile.is_zipfile(source):
            return "h5-zip", source
        raise DataError(f"{source}: not a folder and not a zip archive; give the Human3.6M release folder or h36m.zip")
    if not source.is_dir():
        raise DataError(f"{source}: no such folder or file")
    for base in (source, source / "h36m"):
        for subject in subjects:
            if (base / subject).joinpath(*CDF_FOLDER).is_dir():
                return "cdf", base
            if (base / subject).joinpath(*H5_FOLDER).is_dir():
                return "h5-folder", base
    raise DataError(
        f"{source}: found neither <subject>/{'/'.join(CDF_FOLDER)}/*.cdf (the official release) nor "
        f"<subject>/{'/'.join(H5_FOLDER)}/*.h5 (Martinez's h36m.zip, extracted) for subjects {list(subjects)}"
    )


def _subject_folder(root: Path, subject: str, parts: tuple[str, ...], suffix: str) -> list[Path]:
    folder = (root / subject).joinpath(*parts)
    if not folder.is_dir():
        raise DataError(f"{folder}: subject folder missing (expected the {subject} *{suffix} files there)")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(suffix) and p.is_file())
    if not files:
        raise DataError(f"{folder}: no *{suffix} files")
    return files


def cdf_files(root: Path, subject: str) -> Iterator[tuple[str, np.ndarray]]:
    """``(file name, Pose array)`` of every D3_Positions CDF of ``subject``."""
    cdflib = optional_module("cdflib", "reading the Human3.6M release's CDF files")
    for path in _subject_folder(root, subject, CDF_FOLDER, ".cdf"):
        try:
            cdf = cdflib.CDF(str(path))
            info = cdf.cdf_info()
        except Exception as exc:  # cdflib raises OSError/ValueError/struct errors for a damaged file
            raise DataError(f"{path}: not a readable CDF file ({type(exc).__name__}: {exc})") from None
        names = [*info.zVariables, *info.rVariables]
        if CDF_VARIABLE not in names:
            raise DataError(
                f"{path}: no variable {CDF_VARIABLE!r} (the file holds {names}); is it a D3_Positions file?"
            )
        yield path.name, np.asarray(cdf.varget(CDF_VARIABLE))


def _h5_array(handle: object, where: str) -> np.ndarray:
    h5py = optional_module("h5py", "reading Martinez's h36m.zip (HDF5 files)")
    try:
        with h5py.File(handle, "r") as hf:
            if H5_DATASET not in hf:
                raise DataError(f"{where}: no dataset {H5_DATASET!r} (the file holds {sorted(hf)})")
            return np.asarray(hf[H5_DATASET][()])
    except OSError as exc:
        raise DataError(f"{where}: not a readable HDF5 file ({exc})") from None


def h5_files(kind: SourceKind, root: Path, subject: str) -> Iterator[tuple[str, np.ndarray]]:
    """``(file name, 3D_positions array)`` of every Martinez h5 file of ``subject`` (zip or folder)."""
    if kind == "h5-folder":
        for path in _subject_folder(root, subject, H5_FOLDER, ".h5"):
            yield path.name, _h5_array(str(path), str(path))
        return
    prefixes = [f"{base}{subject}/{'/'.join(H5_FOLDER)}/" for base in ("h36m/", "")]
    try:
        archive = zipfile.ZipFile(root)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{root}: not a readable zip archive ({exc})") from None
    with archive:
        members = sorted(
            n
            for n in archive.namelist()
            for p in prefixes
            if n.startswith(p) and n.endswith(".h5") and "/" not in n[len(p) :]
        )
        if not members:
            raise DataError(f"{root}: no {prefixes[0]}*.h5 files (subject {subject} missing from the archive)")
        for name in members:
            data = archive.read(name)
            yield name.rsplit("/", 1)[-1], _h5_array(io.BytesIO(data), f"{root}:{name}")
