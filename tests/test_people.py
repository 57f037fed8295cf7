"""Several people: the linking rule, choosing tracks, lifting each alone, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from people_helpers import joint_set_array, named_people, write_gastnet, write_mmpose
from typer.testing import CliRunner

from gastbench import create_lifter
from gastbench.errors import ConfigError, DataError
from gastbench.infer import lift_clip
from gastbench.keypoints import LinkRule, read_people
from gastbench.people import lift_people, match_video, parse_person, select_tracks

W, H = 640, 360


@pytest.fixture(scope="module")
def coco() -> np.ndarray:
    return joint_set_array(named_people(3, 30, W, H), "coco")


def test_a_gap_within_max_gap_keeps_the_track_a_longer_one_starts_a_new_one(tmp_path: Path, coco: np.ndarray) -> None:
    write_gastnet(tmp_path / "gap.json", coco[:1], skip={10, 11, 12, 13})  # missed in 4 frames in a row
    kept = read_people(tmp_path / "gap.json", width=W, height=H, link=LinkRule(max_gap=4))
    assert [(c.track_id, c.first_frame, c.frames) for c in kept.tracks] == [(0, 0, 30)]
    split = read_people(tmp_path / "gap.json", width=W, height=H, link=LinkRule(max_gap=3))
    assert [(c.track_id, c.first_frame, c.frames) for c in split.tracks] == [(0, 0, 10), (1, 14, 16)]
    assert "gaps up to 3 frames" in split.linking


def test_each_track_is_lifted_on_its_own(tmp_path: Path, coco: np.ndarray) -> None:
    write_mmpose(tmp_path / "three.json", coco)
    people = read_people(tmp_path / "three.json", width=W, height=H)
    assert len(people.tracks) == 3
    lifter = create_lifter("videopose3d-t27", layout="h36m")
    lifted = lift_people(lifter, people)
    for track, clip in zip(lifted.tracks, people.tracks):  # the same as lifting that person alone
        alone = lift_clip(lifter, clip)
        np.testing.assert_allclose(track.poses, alone.poses, atol=1e-6)
        assert track.inputs.track_id == clip.track_id
    one = lift_people(lifter, people, person=1)
    assert [t.inputs.track_id for t in one.tracks] == [1]
    np.testing.assert_allclose(one.tracks[0].poses, lifted.tracks[1].poses, atol=1e-6)


def test_a_track_of_one_frame_is_left_out_or_refused_with_the_fix(tmp_path: Path, coco: np.ndarray) -> None:
    frames = []
    for t in range(30):
        instances = [{"keypoints": coco[0, t].tolist(), "keypoint_scores": [0.9] * 17}]
        if t == 17:  # a spurious detection in one frame, far from the person
            instances.append({"keypoints": (coco[2, t] + [0, 0]).tolist(), "keypoint_scores": [0.9] * 17})
        frames.append({"frame_id": t, "instances": instances})
    (tmp_path / "blip.json").write_text(json.dumps(frames))
    people = read_people(tmp_path / "blip.json", width=W, height=H)
    chosen, left_out = select_tracks(people, "all")
    assert [c.track_id for c in chosen] == [0] and left_out == [
        "track 1: 1 frame (frame 17), shorter than --min-track-frames 2"
    ]
    with pytest.raises(DataError) as info:
        select_tracks(people, 1)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'blip.json'}: track 1: 1 frame (frame 17)") and "--person" in message
    assert "\n" not in message
    with pytest.raises(DataError, match="every person is a track of fewer than 31 frames"):
        select_tracks(people, "all", min_frames=31)
    with pytest.raises(DataError, match="no person with track id 9"):
        select_tracks(people, 9)
    with pytest.raises(ConfigError, match="'all' or a track id"):
        parse_person("first")


def test_video_and_keypoints_must_agree(tmp_path: Path, coco: np.ndarray) -> None:
    write_mmpose(tmp_path / "k.json", coco[:1])  # MMPose lists every frame: 30
    people = read_people(tmp_path / "k.json", fallback_size=(W, H))
    with pytest.raises(DataError) as info:
        match_video(people, "clip.mp4", 31, (W, H))
    assert "cover 30 frames, but clip.mp4 has 31" in str(info.value) and "same video" in str(info.value)
    with pytest.raises(DataError, match="keypoints are for 640x360 images, but clip.mp4 is 1280x720"):
        match_video(people, "clip.mp4", 30, (1280, 720))
    write_gastnet(tmp_path / "g.json", coco[:1], skip={28, 29})  # the demo leaves out the last, empty frames
    short = read_people(tmp_path / "g.json", fallback_size=(W, H))
    assert short.frames == 28 and match_video(short, "clip.mp4", 30, (W, H)).frames == 30
    with pytest.raises(DataError, match="cover 28 frames, but clip.mp4 has 27"):
        match_video(short, "clip.mp4", 27, (W, H))


@pytest.mark.slow
def test_cli_infer_every_person_with_track_ids_in_the_outputs(tmp_path: Path, coco: np.ndarray) -> None:
    from gastbench.cli import app

    write_mmpose(tmp_path / "three.json", coco, track_ids=[4, 0, 9])
    args = ["infer", "videopose3d-t27", "--keypoints", str(tmp_path / "three.json"), "--width", str(W), "--height", str(H),
            "--random-init", "--out", str(tmp_path / "out"), "--json", "--animate", str(tmp_path / "a.png")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [t["track_id"] for t in summary["tracks"]] == [0, 4, 9] and summary["frames"] == 30
    with np.load(tmp_path / "out.npz") as data:
        assert list(data["track_ids"]) == [0, 4, 9] and data["poses_3d"].shape == (3, 30, 17, 3)
    record = json.loads((tmp_path / "out.json").read_text())
    assert [t["track_id"] for t in record["tracks"]] == [0, 4, 9] and record["people"].startswith(
        "track ids from the file"
    )
    from PIL import Image

    with Image.open(tmp_path / "a.png") as png:  # the 2D panel and one 3D panel per person, readable
        assert png.size[0] >= 960
    single = CliRunner().invoke(app, [*args[:-5], "--out", str(tmp_path / "p9"), "--person", "9"])
    assert single.exit_code == 0, single.output
    with np.load(tmp_path / "p9.npz") as data:
        assert list(data["track_ids"]) == [9]
