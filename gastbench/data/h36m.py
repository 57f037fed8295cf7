"""Human3.6M reader: VideoPose3D's ``data_3d_h36m.npz`` plus one 2D input (file or projected ground truth)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..hashing import file_sha256
from ..skeleton import H36M_16, H36M_17
from .actions import H36M_ACTIONS, fold_action
from .assemble import check_view_trims, make_sequence
from .cameras import load_cameras, package_cameras_file
from .layouts2d import FileLayout, resolve_file_layout
from .paths import require_file, resolve_data_dir_with_origin
from .safe_npz import load_npz
from .types import PoseDataset, PoseSequence
from .validate import check_keypoints, check_mapping, check_positions

__all__ = ["FILE_3D", "FILES_2D", "SPLITS", "EXCLUDED", "KEPT_JOINTS", "file_2d_name", "load_h36m", "read_3d"]

FILE_3D = "data_3d_h36m.npz"
FILES_2D = {
    "gt": "data_2d_h36m_gt.npz",
    "cpn": "data_2d_h36m_cpn_ft_h36m_dbb.npz",
    "sh": "data_2d_h36m_sh_ft_h36m.npz",
    "detectron": "data_2d_h36m_detectron_pt_coco.npz",
}
SPLITS = {"train": ["S1", "S5", "S6", "S7", "S8"], "test": ["S9", "S11"]}
#: Sequences every protocol leaves out, and why.
EXCLUDED = {("S11", "Directions"): "corrupted video"}
#: Of the 32 mocap joints, the 17 used ones (VideoPose3D drops 4,5,9,10,11,16,20,21,22,23,24,28,29,30,31).
_DROPPED = {4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31}
KEPT_JOINTS = tuple(j for j in range(32) if j not in _DROPPED)
FPS = 50.0


def file_2d_name(input: str) -> str:
    """File name of a 2D input (``"cpn"`` -> ``data_2d_h36m_cpn_ft_h36m_dbb.npz``)."""
    return FILES_2D.get(input, f"data_2d_h36m_{input}.npz")


@lru_cache(maxsize=1)
def _read_3d_cached(path: str, size: int, mtime_ns: int) -> dict[str, dict[str, np.ndarray]]:
    raw = check_mapping(load_npz(path, ["positions_3d"])["positions_3d"], FILE_3D, "positions_3d")
    out: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in raw.items():
        out[subject] = {}
        for action, arr in check_mapping(actions, FILE_3D, f"positions_3d[{subject!r}]").items():
            arr = check_positions(arr, 3, 32, FILE_3D, subject, action, targets=True)
            kept = np.ascontiguousarray(arr[:, KEPT_JOINTS])
            kept.setflags(write=False)
            out[subject][action] = kept
    return out


def read_3d(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{subject: {action: (T, 17, 3) world metres}}``, validated; the last file read stays cached."""
    st = path.stat()
    return _read_3d_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _read_2d(path: Path) -> tuple[dict[str, Any], FileLayout]:
    data = load_npz(path, ["positions_2d", "metadata"]) if _has_metadata(path) else None
    if data is None:
        raise DataError(f"{path.name}: no 'metadata' key; cannot tell its joint order (layout_name, num_joints)")
    layout = resolve_file_layout(data["metadata"], path.name, allowed=(H36M_17, H36M_16))
    return check_mapping(data["positions_2d"], path.name, "positions_2d"), layout


def _has_metadata(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return "metadata.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz (zip) file: {exc}") from None


def load_h36m(input: str = "gt", data_dir: str | Path | None = None, allow_trim: bool = False) -> PoseDataset:
    """Human3.6M with 2D input ``input``; ``"gt"`` falls back to projecting the 3D file when no gt file exists.

    ``allow_trim``: accept 2D/3D frame counts differing beyond the tolerance (see :func:`check_trim`).
    """
    path_3d = require_file(FILE_3D, "h36m", data_dir)
    folder, _ = resolve_data_dir_with_origin(data_dir)
    file_2d = file_2d_name(input)
    projected = input == "gt" and not (folder / file_2d).is_file()
    world = read_3d(path_3d)
    cameras = load_cameras("h36m")
    ids = cameras.ids

    keypoints: dict[str, Any] | None = None
    files = [str(path_3d.resolve()), package_cameras_file()]
    layout = FileLayout("h36m", H36M_17, None)
    if projected:
        source, sha = f"projected:{FILE_3D}", file_sha256(path_3d, memo=True)
    else:
        path_2d = require_file(file_2d, "h36m", data_dir)
        keypoints, layout = _read_2d(path_2d)
        source, sha = file_2d, file_sha256(path_2d, memo=True)
        files.append(str(path_2d.resolve()))

    skipped: list[str] = []
    notes: list[str] = []
    incomplete: list[tuple[str, str, str]] = []
    plan: dict[str, list[str]] = {}  # subject -> sequence names to build
    for split, subjects in SPLITS.items():
        for subject in subjects:
            if subject not in world:
                raise DataError(f"{FILE_3D}: subject {subject} missing; the file holds {sorted(world)}")
            plan[subject] = []
            for name in world[subject]:
                why = EXCLUDED.get((subject, name))
                if why:
                    skipped.append(f"{subject}/{name} ({why})")
                    continue
                if keypoints is not None:
                    views = check_mapping(keypoints.get(subject, {}), file_2d, f"positions_2d[{subject!r}]").get(name)
                    if views is None:
                        skipped.append(f"{subject}/{name} (not in {file_2d})")
                        incomplete.append((split, subject, f"{subject}/{name} is not in {file_2d}"))
                        continue
                    if not isinstance(views, (list, tuple)) or len(views) != len(ids):
                        raise DataError(
                            f"{file_2d}: subject {subject}, action {name!r}: expected a list of {len(ids)} camera "
                            f"arrays, found {type(views).__name__} of length {len(views) if hasattr(views, '__len__') else '?'}"
                        )
                    counts = [getattr(view, "shape", (0,))[0] for view in views]
                    trims, beyond = check_view_trims(
                        file_2d, subject, name, ids, counts, world[subject][name].shape[0], allow_trim
                    )
                    notes += trims
                    incomplete += [(split, subject, why) for why in beyond]
                    if min(counts) == 0:
                        skipped.append(f"{subject}/{name} (a camera view with no frames in {file_2d})")
                        incomplete.append((split, subject, f"{subject}/{name} has a view with no frames in {file_2d}"))
                        continue
                plan[subject].append(name)

    def build(split: str, subject: str) -> list[PoseSequence]:
        seqs: list[PoseSequence] = []
        cams = cameras.cameras(subject)
        for name in plan[subject]:
            pos = world[subject][name]
            for index, cam in enumerate(cams):
                kp = None
                n = pos.shape[0]
                if keypoints is not None:
                    raw = keypoints[subject][name][index]
                    raw = check_keypoints(raw, layout.file_joints, file_2d, subject, name, cam.id)
                    n = min(n, raw.shape[0])  # 2D files can run a few frames past the mocap
                    kp = cam.normalize(layout.apply(raw[:n]))
                seqs.append(make_sequence(subject, fold_action(name, "h36m"), name, cam, pos[:n], kp))
        return seqs

    return PoseDataset(
        name="h36m",
        input=input,
        layout_2d=layout.layout,
        layout_3d=H36M_17,
        fps=FPS,
        source_2d=source,
        source_2d_sha256=sha,
        skipped=skipped,
        synthetic=False,
        table_actions=H36M_ACTIONS,
        notes=notes,
        incomplete=incomplete,
        files=files,
        split_subjects={k: list(v) for k, v in SPLITS.items()},
        build=build,
    )
