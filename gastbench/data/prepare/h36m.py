"""``data_3d_h36m.npz`` from Human3.6M's official release (CDF) or Martinez's ``h36m.zip`` (HDF5).

The layout facts, as VideoPose3D's ``data/prepare_data_h36m.py`` applies them:

- subjects S1, S5, S6, S7, S8, S9, S11, each with 30 sequence files (15 actions x 2 takes);
- a sequence's name is its file name without the extension, with the release's
  ``TakingPhoto`` and ``WalkingDog`` renamed ``Photo`` and ``WalkDog`` (Martinez's names);
- each frame is 96 numbers, 32 joints x (x, y, z) in millimetres, world coordinates; the file
  keeps all 32 joints in metres as float32, divided by 1000 in the source's own dtype first;
- S11 ``Directions``: the video of camera 54138969 is corrupted. Its 3D positions are sound, so
  they are kept (gastbench's readers leave the sequence out of every protocol,
  :data:`gastbench.data.h36m.EXCLUDED`); ``skip_corrupted_video`` drops it as VideoPose3D's
  script does.

The file is ``{"positions_3d": {subject: {sequence: float32 (frames, 32, 3)}}}``, subjects in the
order above, each subject's sequences in the order of their file names (``"Walking 1.cdf"``
before ``"Walking.cdf"``), so the same release gives the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ...errors import ConfigError, DataError
from ...outputs import check_output_file
from .files import PreparedFile, content_digest, write_npz
from .h36m_sources import cdf_files, detect_source, h5_files

__all__ = [
    "CORRUPTED_VIDEO", "FILES_PER_SUBJECT", "JOINTS", "SUBJECTS", "canonical_action", "positions_from_source",
    "prepare_h36m", "read_positions", "sequence_order",
]  # fmt: skip

log = logging.getLogger(__name__)

SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
FILES_PER_SUBJECT = 30
JOINTS = 32
#: Release spellings -> the names VideoPose3D's files (and Martinez's archive) use.
RENAMES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}
CORRUPTED_VIDEO = ("S11", "Directions")


def canonical_action(file_name: str) -> str:
    """``"TakingPhoto 1.cdf"`` -> ``"Photo 1"``: the sequence name a file holds."""
    stem = file_name.split(".", 1)[0]
    base, space, take = stem.partition(" ")
    return RENAMES.get(base, base) + space + take


def sequence_order(name: str) -> str:
    """Sort key of sequence names: their file names' order (``"Eating 2.cdf"`` before ``"Eating.cdf"``)."""
    return name + "."


def positions_from_source(raw: np.ndarray, layout: str, where: str) -> np.ndarray:
    """A source array in millimetres -> float32 ``(frames, 32, 3)`` metres.

    ``layout``: ``"frames-first"`` (a CDF ``Pose``: ``(1, frames, 96)``) or ``"joints-first"``
    (an h5 ``3D_positions``: ``(96, frames)``). The division happens in the source's dtype, as
    in VideoPose3D's script, so a float32 source gives the same bits as there.
    """
    raw = np.asarray(raw)
    if not np.issubdtype(raw.dtype, np.floating):
        raise DataError(f"{where}: expected floating-point positions, found dtype {raw.dtype}")
    if raw.size == 0 or raw.size % (JOINTS * 3):
        raise DataError(f"{where}: expected {JOINTS} joints x 3 values per frame, found an array of shape {raw.shape}")
    if layout == "frames-first":
        if raw.shape[-1] != JOINTS * 3:
            raise DataError(f"{where}: expected (1, frames, {JOINTS * 3}), found {raw.shape}")
        positions = raw.reshape(-1, JOINTS, 3)
    else:
        if raw.ndim != 2 or raw.shape[0] != JOINTS * 3:
            raise DataError(f"{where}: expected ({JOINTS * 3}, frames), found {raw.shape}")
        positions = raw.reshape(JOINTS, 3, -1).transpose(2, 0, 1)
    positions = positions / 1000  # metres; numpy keeps the source's float dtype
    if not np.isfinite(positions).all():
        raise DataError(f"{where}: non-finite (NaN/inf) positions")
    return positions.astype(np.float32)


def _source_files(kind: str, root: Path, subject: str) -> Iterator[tuple[str, np.ndarray]]:
    return cdf_files(root, subject) if kind == "cdf" else h5_files(kind, root, subject)


def _check_subjects(subjects: Sequence[str] | None) -> tuple[str, ...]:
    if subjects is None:
        return SUBJECTS
    unknown = [s for s in subjects if s not in SUBJECTS]
    if unknown or not subjects:
        raise ConfigError(f"unknown Human3.6M subject(s) {unknown or '(none given)'}; subjects are {list(SUBJECTS)}")
    return tuple(s for s in SUBJECTS if s in subjects)


def read_positions(
    source: str | Path, subjects: Sequence[str] | None = None, skip_corrupted_video: bool = False
) -> tuple[dict[str, dict[str, np.ndarray]], str, list[str]]:
    """``({subject: {sequence: (frames, 32, 3)}}, source kind, notes)`` read from a release or archive."""
    chosen = _check_subjects(subjects)
    kind, root = detect_source(Path(source), chosen)
    layout = "frames-first" if kind == "cdf" else "joints-first"
    out: dict[str, dict[str, np.ndarray]] = {}
    notes: list[str] = []
    for subject in chosen:
        found: dict[str, np.ndarray] = {}
        files = 0
        for file_name, raw in _source_files(kind, root, subject):
            files += 1
            name = canonical_action(file_name)
            where = f"{root}/{subject}/{file_name}"
            if name in found:
                raise DataError(f"{where}: a second file for sequence {name!r} (after renaming {RENAMES})")
            if skip_corrupted_video and (subject, name) == CORRUPTED_VIDEO:
                notes.append(f"{subject}/{name} left out (corrupted video, as VideoPose3D's script does)")
                continue
            found[name] = positions_from_source(raw, layout, where)
        if files != FILES_PER_SUBJECT:
            notes.append(f"{subject}: {files} sequence files, the release has {FILES_PER_SUBJECT}")
            log.warning("Human3.6M %s: %d sequence files found, the release has %d", subject, files, FILES_PER_SUBJECT)
        out[subject] = {name: found[name] for name in sorted(found, key=sequence_order)}
    return out, kind, notes


def prepare_h36m(
    source: str | Path,
    out: str | Path,
    *,
    subjects: Sequence[str] | None = None,
    overwrite: bool = False,
    skip_corrupted_video: bool = False,
) -> PreparedFile:
    """Write ``out`` (``data_3d_h36m.npz``) from the release folder or Martinez archive ``source``.

    Raises:
        ConfigError: ``out`` exists without ``overwrite``; an unknown subject; a reader not installed.
        DataError: a missing subject folder, an unreadable file, a file without the expected variable.
    """
    out = check_output_file(out, "--out", overwrite=overwrite, inputs=[source], suffix=".npz")
    positions, kind, notes = read_positions(source, subjects, skip_corrupted_video)
    members = {"positions_3d": positions}
    sha = write_npz(out, members, overwrite=overwrite, inputs=[source])
    frames = sum(a.shape[0] for actions in positions.values() for a in actions.values())
    log.info("wrote %s: %d sequences, %d frames (sha256 %s)", out, sum(map(len, positions.values())), frames, sha)
    return PreparedFile(
        path=str(out),
        sha256=sha,
        content_sha256=content_digest(members),
        source=f"{kind}:{Path(source).name}",
        sequences={s: list(a) for s, a in positions.items()},
        frames=frames,
        notes=notes,
    )
