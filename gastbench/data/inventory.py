"""What the data folder holds: each file's dataset and role, its sha256, and the ``--input`` names offered.

A file is checked two ways. Its zip members' CRCs are verified (a truncated or corrupted
download fails here whatever the file), and its sha256 is compared with the known-good list
(``known_files.json``, package data): the hashes of files this project verified, with a note
on each. A file whose name is on the list with another hash is flagged; a file off the list is
``unknown`` (a hash depends on the writer: numpy 1 and numpy 2 pickle the same arrays
differently, so the list also gives each file's content digest,
:func:`gastbench.data.prepare.files.content_digest`, which ``gastbench data prepare`` reports).
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..hashing import file_sha256
from .paths import resolve_data_dir_with_origin

__all__ = [
    "DataFile",
    "Inventory",
    "classify",
    "known_entry",
    "known_files",
    "known_status",
    "list_data",
    "prepared_status",
]

_KNOWN_FILE = Path(__file__).with_name("known_files.json")
#: Readers' short input names -> the file's input name (so a listing shows what to type).
_SHORT_INPUTS = {
    "h36m": {"cpn_ft_h36m_dbb": "cpn", "sh_ft_h36m": "sh", "detectron_pt_coco": "detectron"},
    "humaneva": {"detectron_pt_coco": "detectron"},
}
_PATTERNS = (
    (re.compile(r"data_3d_h36m\.npz"), "h36m", "3d"),
    (re.compile(r"data_2d_h36m_(?P<input>.+)\.npz"), "h36m", "2d"),
    (re.compile(r"data_3d_humaneva15\.npz"), "humaneva", "3d"),
    (re.compile(r"data_2d_humaneva15_(?P<input>.+)\.npz"), "humaneva", "2d"),
    (re.compile(r"data_test_3dhp(?:_(?P<input>annot3))?\.npz"), "3dhp", "test"),
    (re.compile(r"data_train_3dhp(?:_(?P<input>annot3))?\.npz"), "3dhp", "train"),
)


@dataclass
class DataFile:
    """One file of the data folder."""

    name: str
    size: int
    dataset: str | None
    role: str  # "3d", "2d", "test", "train" or "other"
    input: str | None = None  # a 2D file's --input name (a 3DHP file: its annotation)
    sha256: str | None = None
    status: str = "not checked"  # "known-good", "differs from the known-good hash", "unknown", "broken: ..."
    note: str = ""


@dataclass
class Inventory:
    """The data folder, how it was chosen, its files, and the inputs each dataset offers."""

    folder: str
    origin: str
    files: list[DataFile] = field(default_factory=list)
    inputs: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def known_files() -> dict[str, list[dict[str, Any]]]:
    """File name -> the known-good versions of it (``sha256``, ``size``, ``content_sha256``, ``note``)."""
    return dict(json.loads(_KNOWN_FILE.read_text(encoding="utf-8"))["files"])


def known_status(name: str, sha256: str) -> tuple[str, str]:
    """``(status, note)`` of a file's hash against the known-good list."""
    versions = known_files().get(name, [])
    for version in versions:
        if version["sha256"] == sha256:
            return "known-good", version.get("note", "")
    if versions:
        return "differs from the known-good hash", f"known: {', '.join(v['sha256'][:12] for v in versions)}"
    return "unknown", ""


def prepared_status(name: str, sha256: str, content_sha256: str) -> str:
    """How a file gastbench just wrote compares with the known-good list (neutral when it is not on it)."""
    versions = known_files().get(name, [])
    if any(v["sha256"] == sha256 for v in versions):
        return "known-good"
    if any(v.get("content_sha256") == content_sha256 for v in versions):
        return "known-good arrays (the bytes differ: another numpy or zlib wrote them)"
    return "not on the known-good list" + (" (its arrays differ from the known file's)" if versions else "")


def classify(name: str) -> tuple[str | None, str, str | None]:
    """``(dataset, role, input)`` of a file name (``(None, "other", None)`` for files no reader uses)."""
    for pattern, dataset, role in _PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            found = match.groupdict().get("input")
            if role == "2d" and found is not None:
                found = _SHORT_INPUTS.get(dataset, {}).get(found, found)
            if dataset == "3dhp":
                found = found or "univ_annot3"
            return dataset, role, found
    return None, "other", None


def _broken(path: Path) -> str | None:
    """Why a zip (.npz) file cannot be trusted, or None when every member's CRC checks out."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        return f"broken: not a readable zip ({exc})"
    return f"broken: member {bad} fails its CRC check" if bad else None


def _inputs(files: list[DataFile]) -> dict[str, list[str]]:
    present = {(f.dataset, f.role) for f in files}
    out: dict[str, list[str]] = {}
    for dataset in ("h36m", "humaneva"):
        if (dataset, "3d") in present:
            found = sorted({f.input for f in files if f.dataset == dataset and f.role == "2d" and f.input})
            out[dataset] = (["gt"] if dataset == "h36m" and "gt" not in found else []) + found
    annotations = sorted({f.input for f in files if f.dataset == "3dhp" and f.role == "test" and f.input})
    if annotations:
        out["3dhp"] = [f"gt (annotation {a})" for a in annotations]
    return out


def list_data(data_dir: str | Path | None = None, check: bool = True) -> Inventory:
    """Every file of the data folder, classified; with ``check``, hashed and its zip CRCs verified."""
    folder, origin = resolve_data_dir_with_origin(data_dir)
    inventory = Inventory(folder=str(folder), origin=origin)
    if not folder.is_dir():
        return inventory
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        dataset, role, input_name = classify(path.name)
        entry = DataFile(path.name, path.stat().st_size, dataset, role, input_name)
        if check and path.suffix == ".npz":
            entry.sha256 = file_sha256(path, memo=True)
            broken = _broken(path)
            entry.status, entry.note = (broken, "") if broken else known_status(path.name, entry.sha256)
        elif check:
            entry.sha256 = file_sha256(path, memo=True)
            entry.status, entry.note = known_status(path.name, entry.sha256) if dataset else ("-", "")
        inventory.files.append(entry)
    inventory.inputs = _inputs(inventory.files)
    return inventory


def known_entry(path: str | Path, note: str) -> dict[str, Any]:
    """A known-good list entry measured from ``path`` (how ``known_files.json`` is made: never typed)."""
    from .prepare.files import content_digest
    from .safe_npz import load_npz

    path = Path(path)
    return {
        "sha256": file_sha256(path),
        "size": path.stat().st_size,
        "content_sha256": content_digest(load_npz(path)),
        "note": note,
    }
