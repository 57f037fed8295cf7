"""The video under the skeleton: frames decoded by ffmpeg (imageio-ffmpeg), drawn behind the 2D panel.

Needs the ``video`` extra; without imageio-ffmpeg these tests skip and say what to install. The
video is made here: solid frames whose colour changes every frame, so a drawn frame shows which
video frame it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from people_helpers import joint_set_array, named_people, write_mmpose
from typer.testing import CliRunner

from gastbench.errors import DataError

imageio_ffmpeg = pytest.importorskip(
    "imageio_ffmpeg", reason="the video extra is not installed: pip install 'gastbench[video]'"
)

W, H, T = 320, 240, 12


def _colour(t: int) -> np.ndarray:
    return np.array([20 * t + 10, 200 - 10 * t, 90], dtype=np.uint8)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (W, H), fps=25, macro_block_size=8, quality=9)
    writer.send(None)  # start ffmpeg
    for t in range(T):
        writer.send(np.broadcast_to(_colour(t), (H, W, 3)).copy())
    writer.close()
    return path


def test_probe_and_frames_in_order(clip: Path) -> None:
    from gastbench.viz.video import VideoFrames, probe_video

    info = probe_video(clip)
    assert (info.frames, info.width, info.height) == (T, W, H) and info.fps == pytest.approx(25.0)
    frames = VideoFrames(info, size=(160, 120))
    for t in (0, 1, 5, 3, 11):  # forward, and back (decoding restarts)
        frame = frames.get(t)
        assert frame.shape == (120, 160, 3)
        assert np.abs(frame[60, 80].astype(int) - _colour(t)).max() < 12
    frames.close()
    with pytest.raises(DataError, match="frame 12 is outside 0..11"):
        frames.get(T)
    (clip.parent / "not-a-video.mp4").write_text("hello")
    with pytest.raises(DataError, match="ffmpeg cannot read it as a video"):
        probe_video(clip.parent / "not-a-video.mp4")


@pytest.mark.slow
def test_cli_draws_the_skeleton_over_the_video(clip: Path, tmp_path: Path) -> None:
    from gastbench.cli import app
    from gastbench.viz.video import VideoFrames, probe_video

    write_mmpose(tmp_path / "k.json", joint_set_array(named_people(1, T, W, H), "coco"))
    base = ["infer", "videopose3d-t27", "--keypoints", str(tmp_path / "k.json"), "--random-init", "--video", str(clip)]
    result = CliRunner().invoke(app, [*base, "--animate", str(tmp_path / "out.mp4"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["animation"]["writer"] == "ffmpeg" and summary["animation"]["frames"] == T
    out = probe_video(tmp_path / "out.mp4")
    assert out.frames == T and out.width >= 960  # readable by default
    drawn = VideoFrames(out)
    for t in (0, T - 1):  # the 2D panel shows that frame's video colour
        pixels = drawn.get(t).reshape(-1, 3).astype(int)
        share = np.mean(np.abs(pixels - _colour(t)).max(axis=1) < 16)
        assert share > 0.05, f"frame {t}: the video's colour covers {share:.1%} of the picture"
    drawn.close()
    (tmp_path / "short.json").unlink(missing_ok=True)
    write_mmpose(tmp_path / "short.json", joint_set_array(named_people(1, T - 2, W, H), "coco"))
    short = CliRunner().invoke(app, [*base[:3], str(tmp_path / "short.json"), *base[4:], "--out", str(tmp_path / "s")])
    message = str(short.exception)
    assert isinstance(short.exception, DataError) and "\n" not in message
    assert message.startswith(f"{tmp_path / 'short.json'}: keypoints cover 10 frames, but {clip} has 12")
