"""``data_2d_<dataset>_<name>.npz`` from other tools' 2D files, with where they came from.

The output is VideoPose3D's 2D layout (``positions_2d``: ``{subject: {sequence: [one (T, J, 2|3)
array per camera]}}``, pixels; a third channel is a confidence the readers drop) plus its
``metadata`` (``layout_name``, ``num_joints``, ``keypoints_symmetry``) and three more keys:
``source`` (the file's name), ``source_sha256`` and ``importer``. ``--input <name>`` then reads it.

Sources (:data:`IMPORTERS`): ``mmpose`` and ``motionbert`` (:mod:`.import_tools`), and
``arrays``: an ``.npz`` of plain arrays named ``<subject>/<sequence>``, each ``(cameras, T, J,
2|3)`` in a joint order named by ``layout`` (:func:`gastbench.data.layouts2d.file_layout_names`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError
from ...hashing import file_sha256
from ...outputs import check_output_file
from ..cameras import load_cameras
from ..layouts2d import layout_metadata
from ..paths import resolve_data_dir
from .files import PreparedFile, content_digest, write_npz
from .import_tools import read_mmpose, read_motionbert

__all__ = ["DATASET_PREFIXES", "IMPORTERS", "import_2d", "import_names", "read_arrays", "two_d_file_name"]

IMPORTERS = ("mmpose", "motionbert", "arrays")
#: Dataset -> the name part of its files (VideoPose3D's HumanEva files say ``humaneva15``).
DATASET_PREFIXES = {"h36m": "h36m", "humaneva": "humaneva15"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def two_d_file_name(dataset: str, name: str) -> str:
    """``data_2d_h36m_<name>.npz``: the file ``--input <name>`` reads."""
    if dataset not in DATASET_PREFIXES:
        raise ConfigError(f"2D files can be imported for {sorted(DATASET_PREFIXES)}, not {dataset!r}")
    if not _NAME.fullmatch(name) or name == "gt":
        raise ConfigError(f"input name {name!r}: use letters, digits, '_', '-' or '.', and not 'gt' (ground truth)")
    return f"data_2d_{DATASET_PREFIXES[dataset]}_{name}.npz"


def read_arrays(path: str | Path, joints: int, cameras: int) -> dict[str, dict[str, list[np.ndarray]]]:
    """An ``.npz`` of ``<subject>/<sequence>`` -> ``(cameras, T, joints, 2|3)`` plain arrays, regrouped (the
    sequence is after the last ``/``)."""
    path = Path(path)
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            members = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz of plain arrays ({exc})") from None
    for key, arr in members.items():
        subject, slash, sequence = key.rpartition("/")  # HumanEva-I's subjects hold a slash: "Validate/S1"
        if not slash or not subject or not sequence:
            raise DataError(f"{path}: member {key!r} is not named <subject>/<sequence>")
        if arr.ndim != 4 or arr.shape[0] != cameras or arr.shape[2] != joints or arr.shape[3] not in (2, 3):
            raise DataError(f"{path}: {key!r}: expected ({cameras}, T, {joints}, 2|3), found {arr.shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise DataError(f"{path}: {key!r}: expected float pixel coordinates, found dtype {arr.dtype}")
        out.setdefault(subject, {})[sequence] = [np.ascontiguousarray(view, dtype=np.float32) for view in arr]
    if not out:
        raise DataError(f"{path}: no arrays")
    return out


def _reference_3d(data_dir: str | Path | None) -> dict[str, dict[str, np.ndarray]]:
    from ..h36m import FILE_3D, read_3d
    from ..paths import require_file

    return read_3d(require_file(FILE_3D, "h36m", data_dir))


def import_2d(
    importer: str,
    source: str | Path,
    name: str,
    *,
    dataset: str = "h36m",
    layout: str | None = None,
    detections: str | Path | None = None,
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> PreparedFile:
    """Write ``data_2d_<dataset>_<name>.npz`` (in the data folder, or ``out``) from ``source``.

    ``layout``: the joint order of ``arrays`` files (MMPose and MotionBERT files are Human3.6M's
    17 joints). ``detections``: MMPose's CPN ``.npy`` beside its annotation file. MotionBERT's
    takes are named through the 3D file (``data_3d_h36m.npz`` in the data folder).
    """
    if importer not in IMPORTERS:
        raise ConfigError(f"unknown 2D source {importer!r}; sources are {list(IMPORTERS)}")
    if importer != "arrays" and dataset != "h36m":
        raise ConfigError(f"{importer} files hold Human3.6M keypoints; --dataset must be h36m, not {dataset!r}")
    if importer != "arrays" and layout not in (None, "h36m"):
        raise ConfigError(f"{importer} files are in Human3.6M's 17-joint order; --layout does not apply")
    if importer == "arrays" and layout is None:
        raise ConfigError("arrays files need --layout: the joint order of their keypoints")
    if detections is not None and importer != "mmpose":
        raise ConfigError("--detections applies to mmpose (its CPN .npy beside the annotation file)")
    source = Path(source)
    if not source.is_file():
        raise DataError(f"{source}: file not found")
    target = Path(out) if out is not None else resolve_data_dir(data_dir) / two_d_file_name(dataset, name)
    check_output_file(
        target, "--out", overwrite=overwrite, inputs=[source, *([detections] if detections else [])], suffix=".npz"
    )
    meta = layout_metadata(layout or "h36m")
    notes: list[str] = []
    if importer == "mmpose":
        grouped = read_mmpose(source, detections)
    elif importer == "motionbert":
        grouped, notes = read_motionbert(source, _reference_3d(data_dir))
    else:
        grouped = read_arrays(source, meta["num_joints"], len(load_cameras(dataset).ids))
    origin = Path(detections) if detections is not None else source
    meta.update(
        {"source": origin.name, "source_sha256": file_sha256(origin), "importer": importer,
         "channels": sorted({int(v.shape[-1]) for a in grouped.values() for views in a.values() for v in views})}
    )  # fmt: skip
    members: dict[str, Any] = {"positions_2d": grouped, "metadata": meta}
    sha = write_npz(target, members, overwrite=overwrite, inputs=[source, origin])
    frames = sum(v.shape[0] for a in grouped.values() for views in a.values() for v in views)
    return PreparedFile(str(target), sha, content_digest(members), f"{importer}:{origin.name}",
                        {s: list(a) for s, a in grouped.items()}, frames, notes)  # fmt: skip


def import_names(dataset: str, files: Sequence[str]) -> list[str]:
    """The ``--input`` names the 2D files among ``files`` offer for ``dataset``."""
    prefix = f"data_2d_{DATASET_PREFIXES.get(dataset, dataset)}_"
    return sorted(f[len(prefix) : -len(".npz")] for f in files if f.startswith(prefix) and f.endswith(".npz"))
