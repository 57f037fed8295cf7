"""Several synthetic people as a 2D detector would see them, and writers of each tool's file layout.

People are the synthetic dataset's walking sequences projected into a ``width`` x ``height`` image,
side by side, in COCO-17 (face points made around the head, as in ``test_infer.py``), with a few
extra joints for the formats that have them (BODY_25's mid-hip and feet, Halpe's head top, neck
and hip). Each writer follows the layout its tool's own code writes (see the reader modules).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gastbench.data import load_dataset
from gastbench.data.cameras import image_coordinates
from gastbench.keypoints import COCO_17_NAMES, JOINT_SETS
from gastbench.skeleton import H36M_17


def named_people(people: int, frames: int, width: int = 640, height: int = 360) -> dict[str, np.ndarray]:
    """Joint name -> ``(people, frames, 2)`` pixels, every name any joint set uses (scores are 0.9)."""
    sequences = load_dataset("synthetic", "gt").sequences("test")
    out: dict[str, list[np.ndarray]] = {}
    for p in range(people):
        seq = sequences[p % len(sequences)]
        px = image_coordinates(np.asarray(seq.keypoints_2d[:frames], dtype=np.float64), 1000, 1002)
        px = (px - [500.0, 501.0]) * (0.45 * height / 1000) + [(p + 0.5) * width / people, height / 2]
        joint = {name: px[:, H36M_17.index(name)] for name in H36M_17.joint_names}
        nose, head = joint["neck"], joint["head"]
        made = {"nose": (nose + head) / 2}
        for name, dx in (("left_eye", 3), ("right_eye", -3), ("left_ear", 6), ("right_ear", -6)):
            made[name] = made["nose"] + [dx, 0]
        for side in ("left", "right"):
            made[f"{side}_big_toe"] = joint[f"{side}_ankle"] + [4, 6]
            made[f"{side}_small_toe"] = joint[f"{side}_ankle"] + [-4, 6]
            made[f"{side}_heel"] = joint[f"{side}_ankle"] + [0, 3]
        made.update(head_top=joint["head"], neck=joint["thorax"], mid_hip=joint["pelvis"], pelvis=joint["pelvis"],
                    mpii_thorax=joint["spine"], upper_neck=joint["thorax"])  # fmt: skip
        for name in {n for names in JOINT_SETS.values() for n in names}:
            out.setdefault(name, []).append(made.get(name, joint.get(name)))
    return {name: np.stack(v) for name, v in out.items()}


def joint_set_array(named: dict[str, np.ndarray], joint_set: str) -> np.ndarray:
    """``(people, frames, J, 2)`` in a joint set's order."""
    return np.stack([named[n] for n in JOINT_SETS[joint_set]], axis=2)


def box(points: np.ndarray) -> list[float]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]


def write_gastnet(path: Path, coco: np.ndarray, skip: set[int] = frozenset(), whole_body: bool = False) -> None:
    """GAST-Net's demo JSON; frames in ``skip`` have no detection (left out, as the demo does)."""
    data = []
    for t in range(coco.shape[1]):
        if t in skip:
            continue
        people = []
        for p in range(coco.shape[0]):
            pose = coco[p, t].tolist()
            if whole_body:  # COCO-WholeBody: the body, then 116 foot, face and hand points
                pose += [[1.0, 1.0]] * 116
            people.append({"pose": pose, "score": [[0.9]] * len(pose), "bbox": box(coco[p, t])})
        data.append({"frame_index": t + 1, "skeleton": people})
    path.write_text(json.dumps({"label": "walking", "label_index": 0, "data": data}))


def write_mmpose(path: Path, coco: np.ndarray, track_ids: list[int] | None = None) -> None:
    frames = []
    for t in range(coco.shape[1]):
        instances = []
        for p in range(coco.shape[0]):
            inst = {
                "keypoints": coco[p, t].tolist(),
                "keypoint_scores": [0.9] * 17,
                "bbox": box(coco[p, t]),
                "bbox_score": 0.95,
            }
            if track_ids is not None:
                inst["track_id"] = track_ids[p]
            instances.append(inst)
        frames.append({"frame_id": t + 1, "instances": instances})
    meta = {"dataset_name": "coco", "keypoint_id2name": {str(i): n for i, n in enumerate(COCO_17_NAMES)}}
    path.write_text(json.dumps({"meta_info": meta, "instance_info": frames}))


def write_alphapose(path: Path, points: np.ndarray, idx: list[int] | None) -> None:
    """AlphaPose's results: image names ``<t>.jpg``, ``box`` as x, y, w, h, ``idx`` when tracked."""
    items = []
    for t in range(points.shape[1]):
        for p in range(points.shape[0]):
            flat = np.concatenate([points[p, t], np.full((points.shape[2], 1), 0.9)], axis=1).reshape(-1)
            x1, y1, x2, y2 = box(points[p, t])
            item = {"image_id": f"{t}.jpg", "category_id": 1, "keypoints": flat.tolist(), "score": 2.5,
                    "box": [x1, y1, x2 - x1, y2 - y1], "idx": 0 if idx is None else idx[p]}  # fmt: skip
            items.append(item)
    path.write_text(json.dumps(items))


def write_openpose(folder: Path, points: np.ndarray, order_flips: bool = True) -> None:
    """OpenPose --write_json: one file per frame; people listed in a different order every other frame."""
    folder.mkdir()
    for t in range(points.shape[1]):
        order = list(range(points.shape[0]))[:: -1 if order_flips and t % 2 else 1]
        people = []
        for p in order:
            flat = np.concatenate([points[p, t], np.full((points.shape[2], 1), 0.9)], axis=1)
            flat[3] = 0.0  # one joint not found: OpenPose writes 0, 0, 0
            people.append({"person_id": [-1], "pose_keypoints_2d": flat.reshape(-1).tolist(), "face_keypoints_2d": []})
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))


def write_videopose3d_custom(path: Path, coco: np.ndarray, size: tuple[int, int]) -> None:
    """``data_2d_custom_<name>.npz`` as VideoPose3D's prepare_data_2d_custom.py saves it (pickled dicts)."""
    positions = {f"video{p}.mp4": {"custom": [coco[p].astype("float32")]} for p in range(coco.shape[0])}
    metadata = {
        "layout_name": "coco", "num_joints": 17,
        "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
        "video_metadata": {name: {"w": size[0], "h": size[1]} for name in positions},
    }  # fmt: skip
    np.savez_compressed(path, positions_2d=positions, metadata=metadata)  # type: ignore[arg-type]
