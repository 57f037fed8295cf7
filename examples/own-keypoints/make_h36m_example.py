"""Write the README's own-keypoints example: real detector output in MMPose's saved-predictions layout.

The keypoints are Stacked-Hourglass detections (an MPII-trained 2D detector, the ``sh_pt_mpii`` input
VideoPose3D distributes, ``data_2d_h36m_sh_pt_mpii.npz``) of Human3.6M subject S9, ``Walking``, camera
54138969 (1000 x 1002 pixels), the first 250 frames (5 s at 50 fps). They are written as MMPose's
``topdown_demo_with_mmdet.py --save-predictions`` writes an MPII model's output: ``meta_info`` naming
the MPII joints, ``instance_info`` with one entry per frame (``frame_id`` from 1) holding the person's
``keypoints`` and ``keypoint_scores``. The detections carry no confidences, so every score is 1.0; MMPose
would also write a ``bbox``, which these detections do not have (gastbench boxes the keypoints).

    python examples/own-keypoints/make_h36m_example.py --data-dir "$GASTBENCH_DATA" --out examples/own-keypoints/S9_Walking_sh.mmpose.json

The same data give the same bytes, so the committed file can be checked against its source
(``tests/test_own_keypoints_example.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gastbench.data.safe_npz import load_npz

SUBJECT, ACTION, CAMERA_INDEX, FRAMES = "S9", "Walking", 0, 250
SOURCE = "data_2d_h36m_sh_pt_mpii.npz"
#: MMPose's MPII joint names, in MPII order (its ``mpii.py`` dataset meta).
MPII_NAMES = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)  # fmt: skip


def example(data_dir: Path) -> str:
    """The example file's text, from the Stacked-Hourglass detections in ``data_dir``."""
    positions = load_npz(data_dir / SOURCE, ["positions_2d"])["positions_2d"]
    keypoints = np.asarray(positions[SUBJECT][ACTION][CAMERA_INDEX][:FRAMES], dtype=np.float64)
    frames = [
        {"frame_id": t + 1, "instances": [{"keypoints": np.round(kp, 3).tolist(), "keypoint_scores": [1.0] * len(kp)}]}
        for t, kp in enumerate(keypoints)
    ]
    meta = {"dataset_name": "mpii", "keypoint_id2name": {str(i): name for i, name in enumerate(MPII_NAMES)}}
    return json.dumps({"meta_info": meta, "instance_info": frames}, separators=(",", ":")) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help=f"folder holding {SOURCE}")
    parser.add_argument("--out", type=Path, required=True, help="the .json file to write")
    args = parser.parse_args()
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; remove it first")
    args.out.write_text(example(args.data_dir), encoding="utf-8")


if __name__ == "__main__":
    main()
