"""Hostile keypoint files through `gastbench infer`: each is refused in one line naming the file.

A user's detector file is the least trusted input gastbench reads: frame numbers may be image ids
(or garbage), numbers may be strings, infinities or past float range, and JSON may be nested
without end. None of these may reach numpy as a traceback, nor ask for memory before a pose is lifted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile_inputs import cli, refused  # noqa: E402

FLAT = [v for j in range(17) for v in (100.0 + 10 * j, 200.0 + 5 * j, 0.9)]


def coco_results(*frames: tuple[Any, list[Any]]) -> list[dict[str, Any]]:
    return [{"image_id": image_id, "category_id": 1, "keypoints": points, "score": 0.9} for image_id, points in frames]


def mmpose(track_id: Any = None, keypoints: Any = None) -> dict[str, Any]:
    person = {"keypoints": keypoints or [[100.0 + j, 200.0 + j] for j in range(17)], "keypoint_scores": [0.9] * 17}
    if track_id is not None:
        person["track_id"] = track_id
    return {"instance_info": [{"frame_id": t, "instances": [person]} for t in range(3)]}


CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    # frame numbers that would make a clip of a trillion frames: refused before any array is made
    "image-id-not-a-frame": (json.dumps(coco_results((0, FLAT), (10**12, FLAT))), ("frame number", "outside 0..")),
    "mmpose-frame-ids-spanning-years": (
        json.dumps(
            {
                "instance_info": [
                    {"frame_id": f, "instances": mmpose()["instance_info"][0]["instances"] if f == 0 else []}
                    for f in (0, 5 * 10**9)
                ]
            }
        ),
        ("would span", "renumber"),
    ),  # fmt: skip
    "float-frame": (json.dumps(coco_results((0.5, FLAT))), ("integer",)),
    # numbers: too large for a float, strings, infinity as an id, far off any image
    "int-past-float-range": (
        '[{"image_id": 0, "keypoints": [' + ",".join(["1" + "0" * 400] * 51) + "]}]",
        ("malformed keypoint file", "OverflowError"),
    ),  # fmt: skip
    "strings-for-numbers": (json.dumps(mmpose(keypoints=[["a", "b"]] * 17)), ("must be numbers",)),
    "infinite-track-id": (json.dumps(mmpose(track_id=float("inf"))), ("malformed keypoint file",)),
    "track-id-past-int64": (json.dumps(mmpose(track_id=10**30)), ("64-bit",)),
    "coordinates-past-any-image": (
        json.dumps(coco_results(*[(t, [1e308, 1e308, 0.9] * 17) for t in range(3)])),
        ("px from the image origin",),
    ),  # fmt: skip
    "no-finite-keypoint": (
        json.dumps(coco_results(*[(t, [float("nan")] * 51) for t in range(3)])),
        ("no person detected", "without a single finite keypoint"),
    ),  # fmt: skip
    # structure
    "nested-without-end": ("[" * 100_000 + "]" * 100_000, ("nested too deeply",)),
    "not-utf8": ("\udcff", ("not a readable JSON file",)),
}


@pytest.fixture()
def weights(tmp_path: Path) -> Path:
    from gastbench.checkpoint import save_safetensors
    from gastbench.registry import create_lifter

    path = tmp_path / "weights.safetensors"
    torch.manual_seed(0)
    save_safetensors(create_lifter("martinez", layout="h36m").state_dict(), path, {"layout": "h36m"})
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_keypoint_files_are_refused_in_one_line(
    case: str, tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, phrases = CASES[case]
    keypoints = tmp_path / f"{case}.json"
    keypoints.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    code, err = cli(monkeypatch, capsys, "infer", "martinez", "--keypoints", str(keypoints), "--weights",
                    str(weights), "--width", "1000", "--height", "1000", "--out", str(tmp_path / "out"))  # fmt: skip
    refused(code, err, str(keypoints), *phrases)
    assert not (tmp_path / "out.npz").exists()


def test_a_non_zip_npz_is_one_line(
    tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keypoints = tmp_path / "clip.npz"
    keypoints.write_bytes(b"\x93NUMPY" + b"\0" * 200)
    code, err = cli(monkeypatch, capsys, "infer", "martinez", "--keypoints", str(keypoints), "--weights",
                    str(weights), "--width", "1000", "--height", "1000", "--out", str(tmp_path / "out"))  # fmt: skip
    refused(code, err, str(keypoints), "not a readable .npz file")


def test_empty_detections_are_left_out_with_a_note() -> None:
    from gastbench.keypoints.detections import DetectionsBuilder

    rows = DetectionsBuilder("clip.json", "coco-results")
    for t in range(3):
        rows.add(t, [[float("nan"), float("nan")]] * 17)
        rows.add(t, [[100.0 + j, 200.0] for j in range(17)])
    found = rows.build("coco")
    assert found.frame.tolist() == [0, 1, 2]
    assert any("3 detection(s) without a single finite keypoint" in note for note in found.notes)


@pytest.mark.parametrize(("given", "stored"), [("1" + "0" * 400, None), ("1000", 10**18), ("-5", None)])
def test_image_sizes_past_any_camera_are_refused(
    given: str, stored: int | None, tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import numpy as np

    keypoints = tmp_path / "clip.npz"
    sizes = {} if stored is None else {"width": np.array(stored), "height": np.array(1000)}
    np.savez(keypoints, keypoints=np.full((5, 17, 2), 100.0), **sizes)
    code, err = cli(monkeypatch, capsys, "infer", "martinez", "--keypoints", str(keypoints), "--weights",
                    str(weights), "--width", given, "--height", "1000", "--out", str(tmp_path / "out"))  # fmt: skip
    refused(code, err, str(keypoints), "whole number of pixels in 1..")
