"""Other tools' Human3.6M 2D keypoints, regrouped per subject, sequence and camera.

- MMPose's ``annotation_body3d/fps50/h36m_<split>.npz``: flat per-frame arrays; ``imgname``
  (``S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg``: subject, sequence with
  ``_`` for space, camera, 1-based frame) and ``part`` ``(N, 17, 3)`` (ground-truth 2D from the
  release's D2_Positions, x, y, visibility) in Human3.6M's 17-joint order. Its CPN detections,
  ``joint_2d_det_files/cpn_ft_h36m_dbb_<split>.npy``, are ``(N, 17, 3)`` (x, y, score) aligned
  row for row with that annotation file. A strided file (``fps10``) is refused: lifting needs
  every frame.
- MotionBERT's ``h36m_sh_conf_cam_source_final.pkl`` (from LCN's preparation): ``{"train"|"test":
  {"joint_2d": (N, 17, 2), "confidence": (N, 17, 1), "camera_name": (N,), "source": (N,), ...}}``
  with ``source`` like ``s_09_act_02_subact_01_ca_01`` (Human3.6M's ``metadata.xml`` numbering:
  actions 2..16, two sub-actions, cameras 1..4). Sub-actions are numbers, not take names, so
  each is matched to the take of the 3D file with its frame count; the pickle is read by
  gastbench's restricted unpickler.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError
from ...safe_pickle import BufferReader, MalformedPickleError, UnsafePickleError, pickle_end, resolve
from ..assemble import TRIM_TOLERANCE_FRACTION, TRIM_TOLERANCE_FRAMES
from ..safe_npz import RestrictedUnpickler
from .h36m import canonical_action, sequence_order

__all__ = ["H36M_CAMERAS", "METADATA_ACTIONS", "read_mmpose", "read_motionbert"]

H36M_CAMERAS = ("54138969", "55011271", "58860488", "60457274")
#: Human3.6M ``metadata.xml`` action numbers (1 is "_ALL") -> the names VideoPose3D's files use.
METADATA_ACTIONS = {
    2: "Directions", 3: "Discussion", 4: "Eating", 5: "Greeting", 6: "Phoning", 7: "Posing", 8: "Purchases",
    9: "Sitting", 10: "SittingDown", 11: "Smoking", 12: "Photo", 13: "Waiting", 14: "Walking", 15: "WalkDog",
    16: "WalkTogether",
}  # fmt: skip
Grouped = dict[str, dict[str, list[np.ndarray]]]


def _plain_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz of plain arrays ({exc})") from None


def _group(rows: dict[tuple[str, str, str], list[tuple[int, int]]], keypoints: np.ndarray, path: Path) -> Grouped:
    """(subject, sequence, camera) -> [(frame, row)] into VideoPose3D's {subject: {sequence: [4 cameras]}}."""
    out: Grouped = {}
    by_sequence: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for (subject, name, camera), frames in sorted(rows.items()):
        frames.sort()
        numbers = [f for f, _ in frames]
        if numbers != list(range(1, len(numbers) + 1)):
            raise DataError(
                f"{path}: {subject}/{name}/{camera}: frames {numbers[:3]}... are not 1, 2, 3, ...: a strided "
                "(fps10) or partial file; import MMPose's fps50 annotation, which has every frame"
            )
        by_sequence.setdefault((subject, name), {})[camera] = keypoints[[r for _, r in frames]]
    for (subject, name), cameras in by_sequence.items():
        missing = [c for c in H36M_CAMERAS if c not in cameras]
        if missing:
            raise DataError(f"{path}: {subject}/{name} has no frames of camera(s) {missing}")
        out.setdefault(subject, {})[name] = [cameras[c] for c in H36M_CAMERAS]
    return {
        s: {n: out[s][n] for n in sorted(out[s], key=sequence_order)} for s in sorted(out, key=lambda s: int(s[1:]))
    }


def read_mmpose(annotation: str | Path, detections: str | Path | None = None) -> Grouped:
    """MMPose's annotation file (its GT 2D, x and y) or, with ``detections``, its CPN ``.npy`` (x, y, score)."""
    annotation = Path(annotation)
    data = _plain_npz(annotation)
    if "imgname" not in data or "part" not in data:
        raise DataError(f"{annotation}: expected MMPose's keys 'imgname' and 'part', found {sorted(data)}")
    names = data["imgname"]
    if detections is not None:
        detections = Path(detections)
        try:
            keypoints = np.load(detections, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{detections}: not a readable .npy of plain numbers ({exc})") from None
        where = detections
    else:
        keypoints, where = data["part"][..., :2], annotation  # ground truth: the visibility column is all ones
    if (
        keypoints.ndim != 3
        or keypoints.shape[0] != names.shape[0]
        or keypoints.shape[1] != 17
        or keypoints.shape[2] not in (2, 3)
    ):
        raise DataError(
            f"{where}: expected ({names.shape[0]}, 17, 2|3) keypoints, one per imgname row, found {keypoints.shape}"
        )
    rows: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for row, imgname in enumerate(names):
        base = str(imgname).replace("\\", "/").rsplit("/", 1)[-1]
        match = re.fullmatch(r"(S\d+)_(.+)\.(\d+)_(\d+)\.\w+", base)
        if match is None:
            raise DataError(f"{annotation}: imgname {str(imgname)!r} is not <subject>_<sequence>.<camera>_<frame>.jpg")
        subject, sequence, camera, frame = match.groups()
        rows.setdefault((subject, canonical_action(sequence.replace("_", " ")), camera), []).append((int(frame), row))
    return _group(rows, np.asarray(keypoints, dtype=np.float32), where)


def _load_pickle(path: Path) -> Any:
    try:
        data = path.read_bytes()
        pickle_end(data)
        return resolve(RestrictedUnpickler(BufferReader(data)).load())
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (pickle.UnpicklingError, UnsafePickleError, MalformedPickleError, ValueError, TypeError, EOFError) as exc:
        raise DataError(f"{path}: refused or unreadable pickle ({type(exc).__name__}: {exc})") from None


def _take_by_frames(subject: str, action: str, frames: int, reference: dict[str, dict[str, np.ndarray]]) -> str | None:
    """The 3D file's take of ``action`` with ``frames`` frames (within the trim tolerance), None if none."""
    takes = [n for n in reference.get(subject, {}) if canonical_action(n).split(" ")[0] == action]
    tolerance = max(TRIM_TOLERANCE_FRAMES, TRIM_TOLERANCE_FRACTION * frames)
    close = [n for n in takes if abs(reference[subject][n].shape[0] - frames) <= tolerance]
    if len(close) > 1:
        exact = [n for n in close if reference[subject][n].shape[0] == frames]
        if len(exact) != 1:
            raise DataError(
                f"{subject} {action}: takes {close} of the 3D file all have about {frames} frames; cannot tell them apart"
            )
        return exact[0]
    return close[0] if close else None


def read_motionbert(path: str | Path, reference: dict[str, dict[str, np.ndarray]]) -> tuple[Grouped, list[str]]:
    """MotionBERT's pickle -> ``{subject: {sequence: [4 x (T, 17, 3)]}}`` (x, y, confidence) and notes.

    ``reference``: the 3D file's ``{subject: {sequence: array}}``, whose frame counts name the takes.
    """
    path = Path(path)
    data = _load_pickle(path)
    if not isinstance(data, dict) or not any(k in data for k in ("train", "test")):
        raise DataError(f"{path}: expected MotionBERT's dict with 'train' and 'test' splits")
    rows: dict[tuple[str, int, int, str], list[int]] = {}
    parts: list[np.ndarray] = []
    offset = 0
    for split in ("train", "test"):
        block = data.get(split)
        if not isinstance(block, dict) or not {"joint_2d", "source"} <= set(block):
            raise DataError(f"{path}: split {split!r} lacks 'joint_2d' and 'source'")
        joint_2d = np.asarray(block["joint_2d"], dtype=np.float32)[..., :2]
        conf = np.asarray(block.get("confidence", np.ones(joint_2d.shape[:2])), dtype=np.float32).reshape(
            joint_2d.shape[:2]
        )
        if joint_2d.ndim != 3 or joint_2d.shape[1] != 17 or len(block["source"]) != joint_2d.shape[0]:
            raise DataError(f"{path}: {split}: expected joint_2d (N, 17, 2) and N sources, found {joint_2d.shape}")
        parts.append(np.concatenate([joint_2d, conf[..., None]], axis=-1))
        for row, source in enumerate(block["source"]):
            match = re.fullmatch(r"s_(\d+)_act_(\d+)_subact_(\d+)_ca_(\d+)", str(source))
            if match is None or int(match.group(2)) not in METADATA_ACTIONS or not 1 <= int(match.group(4)) <= 4:
                raise DataError(
                    f"{path}: {split} source {str(source)!r} is not s_<subject>_act_<2..16>_subact_<n>_ca_<1..4>"
                )
            s, act, sub, cam = (int(g) for g in match.groups())
            rows.setdefault((f"S{s}", act, sub, H36M_CAMERAS[cam - 1]), []).append(offset + row)
        offset += joint_2d.shape[0]
    keypoints = np.concatenate(parts)
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    notes: list[str] = []
    for (subject, act, sub, camera), index in rows.items():
        action = METADATA_ACTIONS[act]
        take = _take_by_frames(subject, action, len(index), reference)
        if take is None:
            notes.append(
                f"{subject} act {act} subact {sub} ({action}, {len(index)} frames): no take of the 3D file matches; left out"
            )
            continue
        cams = out.setdefault(subject, {}).setdefault(take, {})
        if camera in cams:
            raise DataError(f"{path}: {subject} {action}: sub-actions both match the 3D file's {take!r}")
        cams[camera] = keypoints[index]
    grouped: Grouped = {}
    for subject in sorted(out, key=lambda s: int(s[1:])):
        for take in sorted(out[subject], key=sequence_order):
            cams = out[subject][take]
            if len(cams) != len(H36M_CAMERAS):
                raise DataError(
                    f"{path}: {subject}/{take} has cameras {sorted(cams)}, expected all of {list(H36M_CAMERAS)}"
                )
            grouped.setdefault(subject, {})[take] = [cams[c] for c in H36M_CAMERAS]
    return grouped, sorted(set(notes))
