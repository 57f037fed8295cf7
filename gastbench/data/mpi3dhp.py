"""MPI-INF-3DHP reader: the lifting papers' ``data_test_3dhp.npz`` / ``data_train_3dhp.npz`` layout.

Those files (made by P-STMO's scripts and reused by MixSTE, PoseFormerV2, MotionAGFormer, ...;
``gastbench data prepare 3dhp`` writes the same layout from the official release, plus a
``metadata`` member) hold the 17 joints in the official test order (:data:`MPI3DHP_17`):

- test: ``{"data": {"TS1": {"data_2d": (T, 17, 2) px, "data_3d": (T, 17, 3) mm, "valid": (T,)}, ...}}``;
- train: ``{"data": {"S1 Seq1": [{"<camera>": {"data_2d": ..., "data_3d": ...}}, fps], ...}}``.

The 3D positions are camera coordinates; which annotation they are, ``univ_annot3`` (scaled to
Human3.6M's universal skeleton, the papers' default) or ``annot3`` (the subject's own size), is
in the metadata (``annotation``); a file without metadata is the community's, whose scripts
write ``univ_annot3``. The two give different numbers, so the dataset records which one it used.

The test set's convention, as the official evaluation applies it: only frames with
``valid_frame`` set are scored (the model still sees every frame); targets are root-relative on
the pelvis; images are 2048x2048 for TS1-TS4 (studio) and 1920x1080 for TS5-TS6 (outdoor);
TS1-TS2 are the green-screen scene, TS3-TS4 the studio without green screen, TS5-TS6 outdoor.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..hashing import file_sha256
from ..skeleton import MPI3DHP_17
from .assemble import readonly
from .cameras import normalize_screen_coordinates
from .paths import require_file, resolve_data_dir
from .safe_npz import load_npz
from .types import PoseDataset, PoseSequence
from .validate import check_keypoints, check_mapping, check_positions

__all__ = [
    "ANNOTATIONS", "DEFAULT_ANNOTATION", "IMAGE_SIZES", "SCENES", "SCENE_ORDER", "TRAIN_IMAGE_SIZE", "load_mpi3dhp",
    "test_file_name", "train_file_name",
]  # fmt: skip

ANNOTATIONS = ("univ_annot3", "annot3")
DEFAULT_ANNOTATION = "univ_annot3"
#: Test sequence -> (width, height) in pixels.
IMAGE_SIZES = {"TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
               "TS5": (1920, 1080), "TS6": (1920, 1080)}  # fmt: skip
TRAIN_IMAGE_SIZE = (2048, 2048)
#: Test sequence -> scene, as the papers' tables group them.
SCENES = {"TS1": "GS", "TS2": "GS", "TS3": "noGS", "TS4": "noGS", "TS5": "Outdoor", "TS6": "Outdoor"}
SCENE_ORDER = ("GS", "noGS", "Outdoor")
#: The two physical cameras of the test set (``ts1-4cameras.calib``, ``ts5-6cameras.calib``).
_TEST_CAMERAS = {"TS1": "ts1-4", "TS2": "ts1-4", "TS3": "ts1-4", "TS4": "ts1-4", "TS5": "ts5-6", "TS6": "ts5-6"}
_ROOT = MPI3DHP_17.root


def test_file_name(annotation: str = DEFAULT_ANNOTATION) -> str:
    """``data_test_3dhp.npz`` for ``univ_annot3`` (the community's name), ``data_test_3dhp_annot3.npz`` otherwise."""
    return (
        "data_test_3dhp.npz"
        if _check_annotation(annotation) == DEFAULT_ANNOTATION
        else f"data_test_3dhp_{annotation}.npz"
    )


def train_file_name(annotation: str = DEFAULT_ANNOTATION) -> str:
    """``data_train_3dhp.npz`` (``univ_annot3``) or ``data_train_3dhp_annot3.npz``."""
    return test_file_name(annotation).replace("_test_", "_train_")


def _check_annotation(annotation: str) -> str:
    if annotation not in ANNOTATIONS:
        raise ConfigError(f"unknown MPI-INF-3DHP annotation {annotation!r}; choose one of {list(ANNOTATIONS)}")
    return annotation


def _metadata(path: Path, data: dict[str, Any], annotation: str) -> dict[str, Any]:
    """The file's metadata, checked against the annotation asked for ({} for a community file)."""
    meta = data.get("metadata")
    if meta is None:
        if annotation != DEFAULT_ANNOTATION:
            raise DataError(
                f"{path.name}: no 'metadata' key, so it is a community file of univ_annot3, not {annotation}"
            )
        return {}
    meta = check_mapping(meta, path.name, "metadata")
    if meta.get("annotation") != annotation:
        raise DataError(f"{path.name}: metadata says annotation {meta.get('annotation')!r}, expected {annotation!r}")
    if meta.get("layout_name", MPI3DHP_17.name) != MPI3DHP_17.name:
        raise DataError(f"{path.name}: metadata layout_name {meta.get('layout_name')!r}, expected {MPI3DHP_17.name!r}")
    return meta


def _load(path: Path, annotation: str) -> tuple[dict[str, Any], dict[str, Any]]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        keys = ["data", *(["metadata"] if "metadata.npy" in zf.namelist() else [])]
    data = load_npz(path, keys)
    return check_mapping(data["data"], path.name, "data"), _metadata(path, data, annotation)


def _sequence(
    subject: str,
    action: str,
    name: str,
    camera: str,
    kp_px: np.ndarray,
    pos_mm: np.ndarray,
    size: tuple[int, int],
    valid: np.ndarray | None,
) -> PoseSequence:
    pos_m = pos_mm.astype(np.float64) / 1000.0
    root = pos_m[:, _ROOT]
    return PoseSequence(
        subject=subject,
        action=action,
        name=name,
        camera=camera,
        keypoints_2d=readonly(normalize_screen_coordinates(kp_px.astype(np.float64), *size)),
        positions_3d=readonly(pos_m - root[:, None]),
        trajectory=readonly(root),
        scored=None if valid is None else _readonly_mask(valid),
    )


def _readonly_mask(mask: np.ndarray) -> np.ndarray:
    out = np.array(mask, dtype=bool)
    out.setflags(write=False)
    return out


def _pair(entry: Any, file: str, subject: str, name: str, camera: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    where = f"data[{subject!r}]" + (f"[{camera!r}]" if camera else "")
    entry = check_mapping(entry, file, where)
    missing = [k for k in ("data_2d", "data_3d") if k not in entry]
    if missing:
        raise DataError(f"{file}: {where} lacks {missing}; expected data_2d (T, 17, 2) and data_3d (T, 17, 3)")
    joints = MPI3DHP_17.num_joints
    kp = check_keypoints(entry["data_2d"], joints, file, subject, name, camera)
    pos = check_positions(entry["data_3d"], 3, joints, file, subject, name, camera, targets=True)
    if kp.shape[0] != pos.shape[0]:
        raise DataError(f"{file}: {where}: data_2d has {kp.shape[0]} frames, data_3d {pos.shape[0]}")
    return kp, pos


def _test_sequences(path: Path, seqs: dict[str, Any], meta: dict[str, Any]) -> dict[str, PoseSequence]:
    sizes = {k: _size(s, path.name) for k, s in (meta.get("image_size") or IMAGE_SIZES).items()}
    out: dict[str, PoseSequence] = {}
    for name in sorted(seqs, key=lambda n: (len(n), n)):
        kp, pos = _pair(seqs[name], path.name, name, name)
        if "valid" not in check_mapping(seqs[name], path.name, f"data[{name!r}]"):
            raise DataError(f"{path.name}: data[{name!r}] lacks 'valid' (the test set's valid_frame mask)")
        valid = np.asarray(seqs[name]["valid"]).reshape(-1)
        if valid.shape[0] != kp.shape[0] or not (np.issubdtype(valid.dtype, np.number) or valid.dtype == bool):
            raise DataError(
                f"{path.name}: data[{name!r}]['valid'] must be {kp.shape[0]} numbers, found {valid.shape} {valid.dtype}"
            )
        if not valid.any():
            raise DataError(f"{path.name}: sequence {name} has no valid frames (valid_frame is 0 everywhere)")
        if name not in sizes or name not in SCENES:
            raise DataError(f"{path.name}: unknown test sequence {name!r}; MPI-INF-3DHP's are {sorted(SCENES)}")
        out[name] = _sequence(name, SCENES[name], name, _TEST_CAMERAS[name], kp, pos, sizes[name], valid != 0)
    if not out:
        raise DataError(f"{path.name}: no test sequences in key 'data'")
    return out


def _train_sequences(path: Path, seqs: dict[str, Any]) -> dict[str, list[PoseSequence]]:
    out: dict[str, list[PoseSequence]] = {}
    for key in sorted(seqs):
        subject, _, name = key.partition(" ")
        entry = seqs[key]
        cams = entry[0] if isinstance(entry, (list, tuple)) and entry else entry
        for camera, views in sorted(check_mapping(cams, path.name, f"data[{key!r}]").items(), key=lambda c: int(c[0])):
            kp, pos = _pair(views, path.name, subject, name, str(camera))
            out.setdefault(subject, []).append(
                _sequence(subject, name, name, str(camera), kp, pos, TRAIN_IMAGE_SIZE, None)
            )
    return out


def load_mpi3dhp(
    input: str = "gt",
    data_dir: str | Path | None = None,
    annotation: str = DEFAULT_ANNOTATION,
    allow_trim: bool = False,
) -> PoseDataset:
    """MPI-INF-3DHP's test set (and training set when its file is present) with ground-truth 2D.

    ``annotation``: ``"univ_annot3"`` (default) or ``"annot3"``, the file the 3D targets come from.
    ``allow_trim`` is accepted for a uniform signature: 3DHP's 2D and 3D come from one file.
    """
    if input != "gt":
        raise ConfigError(f"MPI-INF-3DHP offers --input gt (the annotations' own 2D) only, not {input!r}")
    _check_annotation(annotation)
    path = require_file(test_file_name(annotation), "3dhp", data_dir)
    seqs, meta = _load(path, annotation)
    test = _test_sequences(path, seqs, meta)
    files = [str(path.resolve())]
    train: dict[str, list[PoseSequence]] = {}
    train_path = resolve_data_dir(data_dir) / train_file_name(annotation)
    if train_path.is_file():
        train = _train_sequences(train_path, _load(train_path, annotation)[0])
        files.append(str(train_path.resolve()))
    subjects = {"test": list(test), **({"train": list(train)} if train else {})}

    def build(split: str, subject: str) -> list[PoseSequence]:
        return [test[subject]] if split == "test" else list(train[subject])

    return PoseDataset(
        name="3dhp",
        input=input,
        layout_2d=MPI3DHP_17,
        layout_3d=MPI3DHP_17,
        fps=math.nan,  # 25 or 50 fps depending on the sequence: no single rate
        source_2d=path.name,
        source_2d_sha256=file_sha256(path, memo=True),
        skipped=[],
        synthetic=False,
        table_actions=SCENE_ORDER,
        files=files,
        split_subjects=subjects,
        build=build,
        annotation_3d=annotation,
        extra_metrics=("pck", "auc"),
    )


def _size(value: object, file: str) -> tuple[int, int]:
    """An image size ``(width, height)`` from a file's metadata."""
    try:
        width, height = (int(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise DataError(f"{file}: metadata image_size {value!r} is not (width, height)") from None
    return width, height
