"""HumanEva-I reader: VideoPose3D's 15-joint files, Train/Validate splits, chunks, 3 cameras."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..hashing import file_sha256
from ..skeleton import HUMANEVA_15
from .actions import HUMANEVA_ACTIONS, HUMANEVA_SUBJECTS, fold_action
from .assemble import check_view_trims, make_sequence
from .cameras import load_cameras, package_cameras_file
from .layouts2d import resolve_file_layout
from .paths import require_file
from .safe_npz import load_npz
from .types import PoseDataset, PoseSequence
from .validate import check_keypoints, check_mapping, check_positions

__all__ = ["FILE_3D", "INPUT_ALIASES", "SPLITS", "file_2d_name", "load_humaneva"]

FILE_3D = "data_3d_humaneva15.npz"
#: split -> file prefix; the usual protocol trains on Train/S1-S3 and tests on Validate/S1-S3.
SPLITS = {"train": "Train", "test": "Validate"}
SUBJECTS = list(HUMANEVA_SUBJECTS)
FPS = 60.0


#: Short names of 2D inputs -> their file's input name (Detectron files hold COCO-17 keypoints).
INPUT_ALIASES = {"detectron": "detectron_pt_coco"}


def file_2d_name(input: str) -> str:
    """File name of a 2D input (``"detectron"`` -> ``data_2d_humaneva15_detectron_pt_coco.npz``)."""
    return f"data_2d_humaneva15_{INPUT_ALIASES.get(input, input)}.npz"


def load_humaneva(input: str = "gt", data_dir: str | Path | None = None, allow_trim: bool = False) -> PoseDataset:
    """HumanEva-I (15 joints) with 2D input ``input`` (``"gt"`` -> ``data_2d_humaneva15_gt.npz``).

    ``"detectron"`` (or ``"detectron_pt_coco"``) reads COCO-17 detections, mapped onto the 15 joints.

    ``allow_trim``: accept 2D/3D frame counts differing beyond the tolerance (see :func:`check_trim`).
    """
    input = INPUT_ALIASES.get(input, input)  # results name the file's input, whichever name was typed
    path_3d = require_file(FILE_3D, "humaneva", data_dir)
    file_2d = file_2d_name(input)
    path_2d = require_file(file_2d, "humaneva", data_dir)
    world = check_mapping(load_npz(path_3d, ["positions_3d"])["positions_3d"], FILE_3D, "positions_3d")
    data_2d = load_npz(path_2d, ["positions_2d", "metadata"])
    layout = resolve_file_layout(data_2d["metadata"], file_2d, allowed=(HUMANEVA_15,))
    keypoints = check_mapping(data_2d["positions_2d"], file_2d, "positions_2d")
    cameras = load_cameras("humaneva")
    ids = cameras.ids

    skipped: list[str] = []
    notes: list[str] = []
    incomplete: list[tuple[str, str, str]] = []
    plan: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (split, subject) -> [(name, frames)]
    for split, prefix in SPLITS.items():
        for subject in SUBJECTS:
            key = f"{prefix}/{subject}"
            if key not in world:
                raise DataError(f"{FILE_3D}: group {key!r} missing; the file holds {sorted(world)}")
            plan[(split, subject)] = []
            kp_subject = check_mapping(keypoints.get(key, {}), file_2d, f"positions_2d[{key!r}]")
            for name, pos in check_mapping(world[key], FILE_3D, f"positions_3d[{key!r}]").items():
                views = kp_subject.get(name)
                if views is None:
                    skipped.append(f"{key}/{name} (not in {file_2d})")
                    incomplete.append((split, subject, f"{key}/{name} is not in {file_2d}"))
                    continue
                if not isinstance(views, (list, tuple)) or len(views) != len(ids):
                    raise DataError(
                        f"{file_2d}: subject {key}, action {name!r}: expected a list of {len(ids)} camera arrays"
                    )
                t3 = getattr(pos, "shape", (0,))[0]
                counts = [getattr(v, "shape", (0,))[0] for v in views]
                frames = min([t3, *counts])
                trims, beyond = check_view_trims(file_2d, key, name, ids, counts, t3, allow_trim)
                notes += trims
                incomplete += [(split, subject, why) for why in beyond]
                if frames == 0:
                    skipped.append(f"{key}/{name} (no frames)")
                    incomplete.append((split, subject, f"{key}/{name} has a view with no frames in {file_2d}"))
                    continue
                plan[(split, subject)].append((name, frames))

    def build(split: str, subject: str) -> list[PoseSequence]:
        key = f"{SPLITS[split]}/{subject}"
        seqs: list[PoseSequence] = []
        cams = cameras.cameras(subject)
        for name, frames in plan[(split, subject)]:
            pos = check_positions(world[key][name], 3, HUMANEVA_15.num_joints, FILE_3D, key, name, targets=True)[
                :frames
            ]
            for index, cam in enumerate(cams):
                raw = check_keypoints(keypoints[key][name][index], layout.file_joints, file_2d, key, name, cam.id)
                kp = cam.normalize(layout.apply(raw[:frames]))
                seqs.append(make_sequence(subject, fold_action(name, "humaneva"), name, cam, pos, kp))
        return seqs

    return PoseDataset(
        name="humaneva",
        input=input,
        layout_2d=layout.layout,
        layout_3d=HUMANEVA_15,
        fps=FPS,
        source_2d=file_2d,
        source_2d_sha256=file_sha256(path_2d, memo=True),
        skipped=skipped,
        synthetic=False,
        table_actions=HUMANEVA_ACTIONS,
        notes=notes,
        incomplete=incomplete,
        files=[str(path_3d.resolve()), str(path_2d.resolve()), package_cameras_file()],
        split_subjects={split: list(SUBJECTS) for split in SPLITS},
        build=build,
    )
