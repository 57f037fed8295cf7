"""Your own keypoints: COCO-17 mapping joint by joint, readers, gap filling, lifting and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gastbench import create_lifter
from gastbench.data import load_dataset
from gastbench.data.cameras import image_coordinates
from gastbench.errors import DataError, ShapeError
from gastbench.keypoints import COCO_17_NAMES, coco_to_h36m, coco_to_layout, fill_gaps, read_keypoints, read_people
from gastbench.keypoints.coco import HEAD_EXTRAPOLATION
from gastbench.skeleton import H36M_17, HUMANEVA_15

RNG = np.random.default_rng(7)


def _c(kp: np.ndarray, name: str) -> np.ndarray:
    return kp[:, COCO_17_NAMES.index(name)]


def test_coco_to_h36m_joint_by_joint() -> None:
    coco = RNG.uniform(0, 1000, (5, 17, 2))
    scores = RNG.uniform(0, 1, (5, 17))
    out, conf = coco_to_h36m(coco, scores)

    def h(name: str) -> np.ndarray:
        return out[:, H36M_17.index(name)]

    for name in H36M_17.joint_names:
        if name in COCO_17_NAMES:  # hips, knees, ankles, shoulders, elbows, wrists: copied
            np.testing.assert_array_equal(h(name), _c(coco, name))
            np.testing.assert_array_equal(conf[:, H36M_17.index(name)], scores[:, COCO_17_NAMES.index(name)])
    pelvis = (_c(coco, "left_hip") + _c(coco, "right_hip")) / 2
    thorax = (_c(coco, "left_shoulder") + _c(coco, "right_shoulder")) / 2
    face = np.mean([_c(coco, n) for n in ("left_eye", "right_eye", "left_ear", "right_ear")], axis=0)
    np.testing.assert_allclose(h("pelvis"), pelvis)
    np.testing.assert_allclose(h("thorax"), thorax)
    np.testing.assert_allclose(h("spine"), (pelvis + thorax) / 2)
    np.testing.assert_allclose(h("neck"), _c(coco, "nose"))
    np.testing.assert_allclose(h("head"), face + HEAD_EXTRAPOLATION * (face - thorax))
    i = COCO_17_NAMES.index
    np.testing.assert_allclose(
        conf[:, H36M_17.index("pelvis")], np.minimum(scores[:, i("left_hip")], scores[:, i("right_hip")])
    )
    # left stays left: every H36M left joint comes from COCO left joints only
    assert all(H36M_17.joint_names[j].startswith("left_") for j in H36M_17.joints_left)


def test_coco_to_humaneva_selects_by_name() -> None:
    coco = RNG.uniform(0, 1000, (3, 17, 2))
    he, _ = coco_to_layout(coco, HUMANEVA_15)
    full, _ = coco_to_h36m(coco)
    for j, name in enumerate(HUMANEVA_15.joint_names):
        np.testing.assert_array_equal(he[:, j], full[:, H36M_17.index(name)])
    with pytest.raises(ShapeError, match="17, 2"):
        coco_to_h36m(coco[:, :16])


def test_fill_gaps_interpolates_and_holds_edges() -> None:
    kp = np.zeros((6, 2, 2))
    kp[:, 0, 0] = np.arange(6) * 10.0
    scores = np.ones((6, 2))
    scores[[0, 2, 3], 0] = 0.1  # frame 0 is an edge, 2-3 an interior gap
    kp[3, 0] = np.nan
    filled, was = fill_gaps(kp, scores, min_score=0.3)
    np.testing.assert_allclose(filled[:, 0, 0], [10, 10, 20, 30, 40, 50])
    assert was[:, 0].tolist() == [True, False, True, True, False, False] and not was[:, 1].any()
    scores[:, 1] = 0.0
    with pytest.raises(DataError, match="knee.*all 6 frames"):
        fill_gaps(kp, scores, joint_names=("hip", "knee"))
    scores[:, 1] = 1.0
    scores[3, 0] = 0.9
    with pytest.raises(DataError, match="frame 3.*NaN"):
        fill_gaps(kp, scores)


def _coco_from_sequence(frames: int = 60) -> tuple[np.ndarray, int, int]:
    """COCO-17 pixels made from a synthetic H36M sequence (face points around the head)."""
    seq = load_dataset("synthetic", "gt").sequences("test")[0]
    w, h = 1000, 1002
    px = image_coordinates(np.asarray(seq.keypoints_2d[:frames], dtype=np.float64), w, h)
    coco = np.zeros((frames, 17, 3))
    coco[..., 2] = 0.9
    for name in COCO_17_NAMES:
        if name in H36M_17.joint_names:
            coco[:, COCO_17_NAMES.index(name), :2] = px[:, H36M_17.index(name)]
    nose, head = px[:, H36M_17.index("neck")], px[:, H36M_17.index("head")]
    for name, dx in (("nose", 0), ("left_eye", 8), ("right_eye", -8), ("left_ear", 15), ("right_ear", -15)):
        coco[:, COCO_17_NAMES.index(name), :2] = (nose + head) / 2 + [dx, 0]
    return coco, w, h


def test_readers_agree_and_keep_every_person(tmp_path: Path) -> None:
    coco, w, h = _coco_from_sequence(8)
    np.savez(tmp_path / "k.npz", keypoints=coco, width=w, height=h)
    np.save(tmp_path / "k.npy", coco)
    frames = []
    for t in range(8):
        people = [] if t == 4 else [
            {"keypoints": (coco[t, :, :2] + 50).tolist(), "keypoint_scores": [0.2] * 17, "bbox_score": 0.3},
            {"keypoints": coco[t, :, :2].tolist(), "keypoint_scores": coco[t, :, 2].tolist(), "bbox_score": 0.95},
        ]  # fmt: skip
        frames.append({"frame_id": t, "instances": people})
    (tmp_path / "mmpose.json").write_text(json.dumps(frames))
    results = [
        {"image_id": t, "category_id": 1, "keypoints": coco[t].reshape(-1).tolist(), "score": 0.9} for t in range(8)
    ]
    (tmp_path / "d2.json").write_text(json.dumps(results))
    a = read_keypoints(tmp_path / "k.npz")
    b = read_keypoints(tmp_path / "k.npy", width=w, height=h)
    d = read_keypoints(tmp_path / "d2.json", width=w, height=h)
    for clip in (b, d):
        np.testing.assert_allclose(clip.keypoints, a.keypoints)
        np.testing.assert_allclose(clip.scores, a.scores)
    assert (a.width, a.height, a.layout) == (w, h, "coco")
    with pytest.raises(DataError, match="holds 2 people"):  # one person per frame is no longer picked silently
        read_keypoints(tmp_path / "mmpose.json", width=w, height=h)
    people = read_people(tmp_path / "mmpose.json", width=w, height=h)
    assert [c.track_id for c in people.tracks] == [0, 1] and people.frames == 8
    offset, main = people.tracks  # each person stays one track across the empty frame 4
    keep = [t for t in range(8) if t != 4]
    np.testing.assert_allclose(main.keypoints[keep], a.keypoints[keep])
    np.testing.assert_allclose(offset.keypoints[keep], a.keypoints[keep] + 50)
    assert np.isnan(main.keypoints[4]).all() and (main.scores[4] == 0).all()


def test_bad_keypoint_files_are_one_line_errors(tmp_path: Path) -> None:
    coco, w, h = _coco_from_sequence(4)
    np.save(tmp_path / "k.npy", coco)
    with pytest.raises(DataError, match="image size missing"):
        read_keypoints(tmp_path / "k.npy")
    np.save(tmp_path / "j18.npy", np.zeros((4, 18, 2)))
    with pytest.raises(ShapeError, match="18 joints per frame, but layout 'coco' has 17"):
        read_keypoints(tmp_path / "j18.npy", width=w, height=h)
    np.savez(tmp_path / "odd.npz", poses=coco)
    with pytest.raises(DataError, match="unknown key layout"):
        read_keypoints(tmp_path / "odd.npz", width=w, height=h)
    (tmp_path / "odd.json").write_text(json.dumps({"persons": []}))
    with pytest.raises(DataError, match="unknown key layout"):
        read_keypoints(tmp_path / "odd.json", width=w, height=h)
    with pytest.raises(DataError, match="unknown keypoint layout 'openpose'"):
        read_keypoints(tmp_path / "k.npy", width=w, height=h, layout="openpose")
    for message in ("\n",):
        with pytest.raises(DataError) as info:
            read_keypoints(tmp_path / "k.npy")
        assert message not in str(info.value)


def test_lift_is_batched_and_interleaves_strides() -> None:
    from gastbench.evaluation import predict_sequences
    from gastbench.infer import lift_keypoints

    torch.manual_seed(0)
    lifter = create_lifter("gast-t27", layout="h36m")
    kp = np.asarray(load_dataset("synthetic", "gt").sequences("test")[0].keypoints_2d[:50], dtype=np.float32)
    out = lift_keypoints(lifter, kp, train_stride=2)
    ref = predict_sequences(lifter, [kp[0::2], kp[1::2]])
    np.testing.assert_allclose(out[0::2], ref[0] - ref[0][:, :1], atol=1e-6)
    np.testing.assert_allclose(out[1::2], ref[1] - ref[1][:, :1], atol=1e-6)
    assert np.all(out[:, H36M_17.root] == 0.0)
    bad = kp.copy()
    bad[3, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        lift_keypoints(lifter, bad)
    with pytest.raises(ShapeError, match="17, 2"):
        lift_keypoints(lifter, kp[:, :15])


def test_cli_infer_writes_npz_json_and_animation(tmp_path: Path) -> None:
    from gastbench.cli import app

    coco, w, h = _coco_from_sequence(40)
    coco[10:14, COCO_17_NAMES.index("left_wrist"), 2] = 0.05  # a short dropout, filled along time
    np.savez(tmp_path / "clip.npz", keypoints=coco, width=w, height=h)
    out = tmp_path / "lifted"
    args = ["infer", "gast-t27", "--keypoints", str(tmp_path / "clip.npz"), "--random-init", "--out", str(out),
            "--animate", str(tmp_path / "clip.gif")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 joint positions filled" in result.output
    with np.load(tmp_path / "lifted.npz") as data:
        poses = data["poses_3d"]  # (people, frames, joints, 3): one person here, track 0
        assert poses.shape == (1, 40, 17, 3) and np.all(poses[0, :, 0] == 0)
        assert data["filled"].sum() == 4 and list(data["track_ids"]) == [0] and data["present"].all()
    record = json.loads((tmp_path / "lifted.json").read_text())
    assert record["format"] == "gastbench-infer/2" and record["frames"] == 40
    assert record["joint_names"] == list(H36M_17.joint_names) and record["source_format"] == "arrays"
    assert "metres" in record["coordinates"] and record["weights"]["source"] == "random-init"
    (track,) = record["tracks"]
    assert (track["track_id"], track["first_frame"], track["frames"]) == (0, 0, 40)
    np.testing.assert_allclose(np.array(track["poses_3d"]), poses[0], atol=1e-5)
    from PIL import Image

    with Image.open(tmp_path / "clip.gif") as gif:
        assert gif.n_frames == 40
    again = CliRunner().invoke(app, args)
    assert "--overwrite" in str(again.exception)
