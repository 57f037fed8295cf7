"""Each tool's keypoint file, written in the tests in that tool's exact layout, read back person by person.

Every reader must give the same people, in the same pixels, as the arrays the file was written from;
track ids come from the file when it has them (AlphaPose ``idx``, MMPose ``track_id``), else from the
documented linking rule (OpenPose without tracking, GAST-Net's demo, which drops its SORT ids).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from people_helpers import (
    joint_set_array,
    named_people,
    write_alphapose,
    write_gastnet,
    write_mmpose,
    write_openpose,
    write_videopose3d_custom,
)  # fmt: skip

from gastbench.data.layouts2d import MPII_TO_H36M16
from gastbench.errors import DataError, ShapeError
from gastbench.keypoints import JOINT_SETS, read_detections, read_people, to_layout
from gastbench.skeleton import H36M_16, H36M_17

W, H, T = 640, 360, 10


@pytest.fixture(scope="module")
def named() -> dict[str, np.ndarray]:
    return named_people(2, T, W, H)


def _same_people(people, expected: np.ndarray, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Tracks ``ids`` hold ``expected[p]`` (people, frames, J, 2) where detected."""
    assert [c.track_id for c in people.tracks] == ids
    for clip, want in zip(people.tracks, expected):
        seen = np.isfinite(clip.keypoints).all(axis=-1)
        frames = np.arange(clip.first_frame, clip.first_frame + clip.frames)
        np.testing.assert_allclose(clip.keypoints[seen], want[frames][seen], atol=1e-3)


def test_gastnet_demo_json_and_its_whole_body_variant(tmp_path: Path, named: dict[str, np.ndarray]) -> None:
    coco = joint_set_array(named, "coco")
    write_gastnet(tmp_path / "body.json", coco, skip={3, 9})  # frame 9 (the last) unseen: the clip may end early
    write_gastnet(tmp_path / "whole.json", coco, whole_body=True)
    with pytest.raises(DataError, match="image size missing.*--width and --height, or --video"):
        read_people(tmp_path / "body.json")
    people = read_people(tmp_path / "body.json", width=W, height=H)
    assert people.format == "gastnet-demo" and not people.frames_listed and people.frames == T - 1
    _same_people(people, coco, [0, 1])  # linked across the frame nobody was detected in
    assert all(np.isnan(c.keypoints[3 - c.first_frame]).all() for c in people.tracks)
    whole = read_people(tmp_path / "whole.json", width=W, height=H)
    assert whole.tracks[0].layout == "coco" and any("COCO-WholeBody" in n for n in whole.notes)
    _same_people(whole, coco, [0, 1])


def test_mmpose_predictions_use_their_track_ids(tmp_path: Path, named: dict[str, np.ndarray]) -> None:
    coco = joint_set_array(named, "coco")
    write_mmpose(tmp_path / "tracked.json", coco, track_ids=[5, 2])
    people = read_people(tmp_path / "tracked.json", width=W, height=H)
    assert people.linking.startswith("track ids from the file")
    _same_people(people, coco[[1, 0]], [2, 5])
    write_mmpose(tmp_path / "plain.json", coco)
    assert read_people(tmp_path / "plain.json", width=W, height=H).linking.startswith("linked")


@pytest.mark.parametrize("joint_set", ["coco", "halpe26"])
def test_alphapose_results_coco_and_halpe(tmp_path: Path, named: dict[str, np.ndarray], joint_set: str) -> None:
    points = joint_set_array(named, joint_set)
    write_alphapose(tmp_path / "tracked.json", points, idx=[7, 3])
    people = read_people(tmp_path / "tracked.json", width=W, height=H)
    assert people.format == "alphapose" and people.tracks[0].layout == joint_set
    _same_people(people, points[[1, 0]], [3, 7])
    write_alphapose(tmp_path / "untracked.json", points, idx=None)  # idx 0 for everyone: not an identity
    untracked = read_people(tmp_path / "untracked.json", width=W, height=H)
    assert untracked.linking.startswith("linked") and any("repeat within a frame" in n for n in untracked.notes)
    _same_people(untracked, points, [0, 1])


@pytest.mark.parametrize("joint_set", ["openpose_body25", "openpose_coco18"])
def test_openpose_folder_links_people_listed_in_any_order(
    tmp_path: Path, named: dict[str, np.ndarray], joint_set: str
) -> None:
    points = joint_set_array(named, joint_set)
    write_openpose(tmp_path / "frames", points)
    people = read_people(tmp_path / "frames", width=W, height=H)
    assert people.format == "openpose" and people.tracks[0].layout == joint_set and people.frames == T
    _same_people(people, points, [0, 1])  # the same person keeps one id though the files swap the order
    assert np.isnan(people.tracks[0].keypoints[:, 3]).all()  # the joint written as 0, 0, 0 is missing


def test_videopose3d_custom_npz_through_the_restricted_loader(tmp_path: Path, named: dict[str, np.ndarray]) -> None:
    coco = joint_set_array(named, "coco")
    path = tmp_path / "data_2d_custom_myvideos.npz"
    write_videopose3d_custom(path, coco, (W, H))
    with pytest.raises(DataError, match=r"holds 2 videos.*--sequence"):
        read_people(path)
    people = read_people(path, sequence="video1.mp4")
    assert people.format == "videopose3d-custom" and (people.tracks[0].width, people.tracks[0].height) == (W, H)
    _same_people(people, coco[1:], [0])


def test_plain_coco_results_stay_readable(tmp_path: Path, named: dict[str, np.ndarray]) -> None:
    coco = joint_set_array(named, "coco")
    items = [{"image_id": 100 + t, "category_id": 1, "keypoints": np.c_[coco[0, t], np.full(17, 0.9)].reshape(-1).tolist(), "score": 0.9}
             for t in range(T)]  # fmt: skip
    (tmp_path / "d2.json").write_text(json.dumps(items))
    people = read_people(tmp_path / "d2.json", width=W, height=H)
    assert people.format == "coco-results" and people.frames == T
    _same_people(people, coco[:1], [0])


def test_joint_sets_map_by_name_using_their_own_joints(named: dict[str, np.ndarray]) -> None:
    def h36m(joint_set: str, layout=H36M_17) -> np.ndarray:  # type: ignore[no-untyped-def]
        points = joint_set_array(named, joint_set)[0]
        return to_layout(points, np.full(points.shape[:2], 0.9), joint_set, layout)[0]

    coco, body25, halpe = h36m("coco"), h36m("openpose_body25"), h36m("halpe26")
    truth = {n: named[n][0] for n in ("mid_hip", "neck", "head_top", "left_knee")}
    np.testing.assert_allclose(body25[:, H36M_17.index("pelvis")], truth["mid_hip"])  # BODY_25 MidHip
    np.testing.assert_allclose(body25[:, H36M_17.index("thorax")], truth["neck"])  # OpenPose Neck
    np.testing.assert_allclose(halpe[:, H36M_17.index("head")], truth["head_top"])  # Halpe Head
    np.testing.assert_allclose(coco[:, H36M_17.index("left_knee")], truth["left_knee"])
    np.testing.assert_allclose(coco[:, H36M_17.index("neck")], named["nose"][0])  # H36M's neck/nose marker
    mpii = joint_set_array(named, "mpii")[0]
    expected = mpii[:, list(MPII_TO_H36M16)]  # as the SH dataset files map, but for the spine (joint_sets' doc)
    expected[:, H36M_16.index("spine")] = (named["pelvis"][0] + named["upper_neck"][0]) / 2
    np.testing.assert_allclose(h36m("mpii", H36M_16), expected)
    with pytest.raises(DataError, match=r"mpii keypoints cannot give \['neck'\].*h36m16"):
        h36m("mpii", H36M_17)
    assert len(JOINT_SETS["openpose_body25"]) == 25 and len(JOINT_SETS["halpe26"]) == 26


def test_unknown_layouts_and_joint_orders_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "odd.json").write_text(json.dumps({"frames": [{"persons": []}]}))
    with pytest.raises(DataError) as info:
        read_detections(tmp_path / "odd.json")
    message = str(info.value)
    assert "odd.json: unknown key layout" in message and "GAST-Net" in message and "\n" not in message
    (tmp_path / "frame.json").write_text(json.dumps({"version": 1.3, "people": []}))
    with pytest.raises(DataError, match="one OpenPose frame file; pass the folder"):
        read_detections(tmp_path / "frame.json")
    np.savez(tmp_path / "pickled.npz", keypoints=np.zeros((3, 17, 2)), extra=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="pickled objects, which are not loaded"):
        read_detections(tmp_path / "pickled.npz")
    items = [{"image_id": 0, "keypoints": [1.0, 2.0, 0.9] * 15}]
    (tmp_path / "fifteen.json").write_text(json.dumps(items))
    with pytest.raises(DataError, match="15 keypoints; COCO results hold COCO-17's 17"):
        read_detections(tmp_path / "fifteen.json")
    np.save(tmp_path / "k.npy", np.zeros((3, 25, 2)))
    with pytest.raises(ShapeError, match="25 joints per frame, but layout 'coco' has 17; pass --layout"):
        read_detections(tmp_path / "k.npy")
    assert read_detections(tmp_path / "k.npy", layout="openpose_body25").joint_set == "openpose_body25"
