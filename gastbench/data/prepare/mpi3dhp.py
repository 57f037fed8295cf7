"""MPI-INF-3DHP from its official release into the lifting papers' ``.npz`` layout.

The release's facts (its README and ``util``/``test_util`` MATLAB code):

- test set: ``TS1``..``TS6``, each ``TS<n>/annot_data.mat`` (MATLAB v7.3) with ``annot2``
  (``2x17x1xn`` pixels), ``annot3`` and ``univ_annot3`` (``3x17x1xn`` mm, camera coordinates),
  ``valid_frame`` (frames the evaluation scores) and ``activity_annotation``; the 17 joints in
  the order of ``mpii_get_joints('relevant')`` (:data:`gastbench.skeleton.MPI3DHP_17`);
- training set: ``S1``..``S8`` x ``Seq1``, ``Seq2``, each ``annot.mat`` (MATLAB v5) with cells of
  one ``frames x (28*2|28*3)`` array per camera (``annot2``, ``annot3``, ``univ_annot3``) and
  ``cameras``; the 28 joints of the ``'all'`` set, of which the relevant 17 are taken; the
  lifting papers keep the 8 cameras 0, 1, 2, 4, 5, 6, 7, 8 and cut each sequence to its video's
  frame count (``mpii_get_sequence_info``), which also gives its frame rate.

``univ_annot3`` (the poses rescaled to Human3.6M's universal skeleton) is the papers' default;
``annot3`` on request. Each output names its annotation in its ``metadata`` and in its file
name (:func:`gastbench.data.mpi3dhp.test_file_name`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError
from ...hashing import file_sha256
from ...outputs import check_output_file
from ...skeleton import MPI3DHP_17
from ..mpi3dhp import ANNOTATIONS, DEFAULT_ANNOTATION, IMAGE_SIZES, TRAIN_IMAGE_SIZE, test_file_name, train_file_name
from .files import PreparedFile, content_digest, write_npz
from .mat_files import read_mat

__all__ = [
    "SEQUENCE_INFO",
    "TRAIN_CAMERAS",
    "TRAIN_JOINTS",
    "prepare_3dhp",
    "read_test_sequence",
    "read_train_sequence",
]

log = logging.getLogger(__name__)

TEST_SEQUENCES = tuple(IMAGE_SIZES)
#: (subject, sequence) -> (video frames, frames per second), from ``mpii_get_sequence_info``.
SEQUENCE_INFO = {
    ("S1", "Seq1"): (6416, 25), ("S1", "Seq2"): (12430, 50), ("S2", "Seq1"): (6502, 25), ("S2", "Seq2"): (6081, 25),
    ("S3", "Seq1"): (12488, 50), ("S3", "Seq2"): (12283, 50), ("S4", "Seq1"): (6171, 25), ("S4", "Seq2"): (6675, 25),
    ("S5", "Seq1"): (12820, 50), ("S5", "Seq2"): (12312, 50), ("S6", "Seq1"): (6188, 25), ("S6", "Seq2"): (6145, 25),
    ("S7", "Seq1"): (6239, 25), ("S7", "Seq2"): (6320, 25), ("S8", "Seq1"): (6468, 25), ("S8", "Seq2"): (6054, 25),
}  # fmt: skip
TRAIN_CAMERAS = (0, 1, 2, 4, 5, 6, 7, 8)
#: The relevant 17 joints' indices among the training annotations' 28 (0-based ``mpii_get_joints``).
TRAIN_JOINTS = (7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6)
_ALL_JOINTS = 28


def _check_annotation(annotation: str) -> str:
    if annotation not in ANNOTATIONS:
        raise ConfigError(f"unknown MPI-INF-3DHP annotation {annotation!r}; choose one of {list(ANNOTATIONS)}")
    return annotation


def _frames_first(arr: Any, channels: int, path: Path, name: str) -> np.ndarray:
    """A ``C x 17 x 1 x n`` test annotation -> ``(n, 17, C)``."""
    arr = np.asarray(arr)
    if (
        arr.ndim != 4
        or arr.shape[:3] != (channels, MPI3DHP_17.num_joints, 1)
        or not np.issubdtype(arr.dtype, np.number)
    ):
        raise DataError(f"{path}: variable {name!r} must be {channels}x17x1xn numbers, found {arr.shape} {arr.dtype}")
    return np.ascontiguousarray(arr[:, :, 0, :].transpose(2, 1, 0))


def read_test_sequence(path: str | Path, annotation: str = DEFAULT_ANNOTATION) -> dict[str, np.ndarray]:
    """One ``TS<n>/annot_data.mat`` -> ``{"data_2d", "data_3d", "valid"[, "activity"]}`` (frames first)."""
    path = Path(path)
    found = read_mat(path, ["annot2", _check_annotation(annotation), "valid_frame"], optional=("activity_annotation",))
    data_2d = _frames_first(found["annot2"], 2, path, "annot2")
    data_3d = _frames_first(found[annotation], 3, path, annotation)
    valid = np.asarray(found["valid_frame"]).reshape(-1)
    if data_2d.shape[0] != data_3d.shape[0] or valid.shape[0] != data_3d.shape[0]:
        raise DataError(
            f"{path}: frame counts differ: annot2 {data_2d.shape[0]}, {annotation} {data_3d.shape[0]}, "
            f"valid_frame {valid.shape[0]}"
        )
    if not np.any(valid != 0):
        raise DataError(
            f"{path}: no valid frames (valid_frame is 0 everywhere): nothing of this sequence can be scored"
        )
    out = {"data_2d": data_2d, "data_3d": data_3d, "valid": valid}
    if "activity_annotation" in found:
        out["activity"] = np.asarray(found["activity_annotation"]).reshape(-1)
    return out


def _cells(value: Any) -> list[np.ndarray]:
    """A cell array (one entry per camera) as a list of arrays."""
    return [np.asarray(c) for c in np.asarray(value, dtype=object).reshape(-1)]


def read_train_sequence(
    path: str | Path,
    subject: str,
    sequence: str,
    annotation: str = DEFAULT_ANNOTATION,
    cameras: Sequence[int] = TRAIN_CAMERAS,
) -> dict[str, dict[str, np.ndarray]]:
    """One ``S<n>/Seq<m>/annot.mat`` -> ``{camera: {"data_2d": (T, 17, 2), "data_3d": (T, 17, 3)}}``."""
    path = Path(path)
    found = read_mat(path, ["annot2", _check_annotation(annotation), "cameras"])
    listed = [int(c) for c in np.asarray(found["cameras"]).reshape(-1)]
    frames = SEQUENCE_INFO.get((subject, sequence), (None, None))[0]
    views_2d, views_3d = _cells(found["annot2"]), _cells(found[annotation])
    if len(views_2d) != len(listed) or len(views_3d) != len(listed):
        raise DataError(
            f"{path}: {len(listed)} cameras listed, annot2 has {len(views_2d)}, {annotation} {len(views_3d)}"
        )
    out: dict[str, dict[str, np.ndarray]] = {}
    for camera in cameras:
        if camera not in listed:
            raise DataError(f"{path}: camera {camera} not in the file's cameras {listed}")
        index = listed.index(camera)
        pair = {}
        for key, view, channels, name in (
            ("data_2d", views_2d[index], 2, "annot2"),
            ("data_3d", views_3d[index], 3, annotation),
        ):
            if view.ndim != 2 or view.shape[1] != _ALL_JOINTS * channels:
                raise DataError(
                    f"{path}: {name} of camera {camera} must be frames x {_ALL_JOINTS * channels}, found {view.shape}"
                )
            pair[key] = np.ascontiguousarray(
                view.reshape(view.shape[0], _ALL_JOINTS, channels)[:frames, list(TRAIN_JOINTS)]
            )
        out[str(camera)] = pair
    return out


def _split_folders(root: Path, kind: str) -> dict[tuple[str, str], Path]:
    """Annotation files of one split, all of them, or {} when the release holds none of that split."""
    if kind == "test":
        bases = [root, root / "mpi_inf_3dhp_test_set"]
        base = next((b for b in bases if any((b / ts).is_dir() for ts in TEST_SEQUENCES)), None)
        wanted = {(ts, ""): (base or root) / ts / "annot_data.mat" for ts in TEST_SEQUENCES}
    else:
        base = root if any((root / s).is_dir() for s, _ in SEQUENCE_INFO) else None
        wanted = {(s, q): root / s / q / "annot.mat" for s, q in SEQUENCE_INFO}
    if base is None:
        return {}
    for path in wanted.values():
        if not path.parent.is_dir():
            raise DataError(f"{path.parent}: folder missing (the {kind} split needs every one of its sequences)")
        if not path.is_file():
            raise DataError(f"{path}: file missing")
    return wanted


def prepare_3dhp(
    source: str | Path,
    out_dir: str | Path,
    *,
    annotation: str = DEFAULT_ANNOTATION,
    splits: Sequence[str] = ("test", "train"),
    cameras: Sequence[int] = TRAIN_CAMERAS,
    overwrite: bool = False,
) -> list[PreparedFile]:
    """Write ``data_test_3dhp*.npz`` and ``data_train_3dhp*.npz`` into ``out_dir`` from the release ``source``.

    A split of ``splits`` whose folders are all absent is skipped (a download of the test set
    alone is common); one with some of its folders absent is an error naming the first missing.
    """
    _check_annotation(annotation)
    root, out_dir = Path(source), Path(out_dir)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (give the MPI-INF-3DHP release folder)")
    unknown = [s for s in splits if s not in ("test", "train")]
    if unknown:
        raise ConfigError(f"unknown split(s) {unknown}; splits are test and train")
    names = {"test": test_file_name(annotation), "train": train_file_name(annotation)}
    folders = {split: _split_folders(root, split) for split in splits}
    if not any(folders.values()):
        raise DataError(f"{root}: neither TS1..TS6/annot_data.mat (test) nor S1..S8/Seq1..2/annot.mat (train) found")
    for split in (s for s in splits if folders[s]):  # before any file is read: a refusal costs nothing
        check_output_file(out_dir / names[split], "--out-dir", overwrite=overwrite, suffix=".npz")
    written = []
    for split, files in folders.items():
        if not files:
            log.warning("MPI-INF-3DHP: no %s folders in %s; %s not written", split, root, names[split])
            continue
        data: dict[str, Any] = {}
        for (first, second), path in files.items():
            if split == "test":
                data[first] = read_test_sequence(path, annotation)
            else:
                data[f"{first} {second}"] = [
                    read_train_sequence(path, first, second, annotation, cameras),
                    SEQUENCE_INFO[(first, second)][1],
                ]
        meta = {
            "layout_name": MPI3DHP_17.name,
            "joints": list(MPI3DHP_17.joint_names),
            "annotation": annotation,
            "units": {"data_2d": "px", "data_3d": "mm"},
            "image_size": {k: list(v) for k, v in IMAGE_SIZES.items()} if split == "test" else list(TRAIN_IMAGE_SIZE),
            "source": {str(p.relative_to(root)): file_sha256(p) for p in files.values()},
        }
        members = {"data": data, "metadata": meta}
        target = out_dir / names[split]
        sha = write_npz(target, members, overwrite=overwrite, inputs=list(files.values()))
        frames = (
            sum(v["data_3d"].shape[0] for v in data.values())
            if split == "test"
            else sum(c["data_3d"].shape[0] for v in data.values() for c in v[0].values())
        )
        sequences: dict[str, list[str]] = {}
        for first, second in files:
            sequences.setdefault(first, []).append(second or first)
        written.append(PreparedFile(str(target), sha, content_digest(members), f"mpi_inf_3dhp:{split}", sequences,
                                    frames, [f"annotation {annotation}"]))  # fmt: skip
        log.info("wrote %s: %d sequences, %d frames (sha256 %s)", target, len(data), frames, sha)
    return written
