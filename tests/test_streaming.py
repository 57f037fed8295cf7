"""Live lifting equals offline causal lifting, frame for frame; models that cannot run live say why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import gastbench
from gastbench.data import load_dataset
from gastbench.errors import ConfigError, ShapeError
from gastbench.infer import lift_keypoints
from gastbench.process_state import process_state_restored
from gastbench.skeleton import H36M_16, H36M_17

TOLERANCE_M = 1e-5


@pytest.fixture(scope="module")
def keypoints() -> np.ndarray:
    return np.asarray(load_dataset("synthetic", "gt").sequences("test")[0].keypoints_2d[:40], dtype=np.float32)


@pytest.mark.parametrize(
    ("name", "layout", "stride", "flip"),
    [("gast-t27-causal", "h36m", 1, True), ("gast-t27-causal", "h36m", 3, False), ("videopose3d-t27-causal", "h36m", 1, True),
     ("videopose3d-t81-causal", "h36m", 2, True), ("semgcn", "h36m16", 1, True)],
)  # fmt: skip
def test_streamed_poses_equal_the_offline_causal_ones(
    keypoints: np.ndarray, name: str, layout: str, stride: int, flip: bool
) -> None:
    torch.manual_seed(0)
    lifter = gastbench.create_lifter(name, layout=layout)
    kp = keypoints[:, list(H36M_16.indices_in(H36M_17))] if layout == "h36m16" else keypoints
    offline = lift_keypoints(lifter, kp, train_stride=stride, flip=flip)
    live = gastbench.StreamingLifter(lifter, train_stride=stride, flip=flip)
    with process_state_restored(threads=1):  # one small window per call: a second thread only waits on a busy machine
        streamed = np.stack([live.push(frame) for frame in kp])
    assert streamed.shape == offline.shape and live.frames_seen == len(kp)
    assert np.abs(streamed - offline).max() <= TOLERANCE_M
    assert np.abs(offline).max() > 1e-3  # poses, not zeros
    live.reset()
    np.testing.assert_allclose(live.push(kp[0]), offline[0], atol=TOLERANCE_M)  # a new clip starts afresh


@pytest.mark.parametrize("name", ["gast-t27", "videopose3d-t243"])
def test_non_causal_models_cannot_run_live_and_say_why(name: str) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"not causal: its output for frame t needs \d+ later frames; use its causal variant \({name}-causal\)",
    ):
        gastbench.StreamingLifter(gastbench.create_lifter(name, layout="h36m"))


def test_a_frame_must_be_one_complete_pose() -> None:
    live = gastbench.StreamingLifter(gastbench.create_lifter("videopose3d-t27-causal", layout="h36m"))
    with pytest.raises(ShapeError, match=r"\(17, 2\)"):
        live.push(np.zeros((16, 2)))
    frame = np.zeros((17, 2))
    frame[3] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        live.push(frame)


@pytest.mark.slow
def test_cli_causal_reports_frames_per_second_and_latency(tmp_path: Path, keypoints: np.ndarray) -> None:
    from typer.testing import CliRunner

    from gastbench.cli import app
    from gastbench.data.cameras import image_coordinates

    np.savez(tmp_path / "k.npz", keypoints=image_coordinates(keypoints[:30].astype(np.float64), 1000, 1002), width=1000,
             height=1002, layout="h36m")  # fmt: skip
    args = [
        "infer",
        "gast-t27-causal",
        "--keypoints",
        str(tmp_path / "k.npz"),
        "--random-init",
        "--causal",
        "--threads",
        "1",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (
        "live (causal, frame by frame)" in result.output
        and "ms median" in result.output
        and "frames/s" in result.output
    )
    refused = CliRunner().invoke(app, ["infer", "gast-t27", *args[2:], "--out", str(tmp_path / "x")])
    assert refused.exit_code != 0 and "not causal" in str(refused.exception)
