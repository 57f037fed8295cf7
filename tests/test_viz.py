"""Pictures: written, sized and frame-counted, headless; attention maps of a random-init GAST-Net."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gastbench.data import load_dataset
from gastbench.errors import ConfigError, DataError, ShapeError
from gastbench.results import EvalResult, MetricRow
from gastbench.skeleton import H36M_17
from gastbench.viz import animate
from gastbench.viz.animate import Keypoints2D, PoseTrack, render_animation, render_frame
from gastbench.viz.style import LEFT, RIGHT, bone_colors, camera_to_plot


@pytest.fixture(scope="module")
def seq():  # type: ignore[no-untyped-def]
    return load_dataset("synthetic", "gt").sequences("test")[0]


def _panels(seq, frames: int = 12) -> tuple[Keypoints2D, list[PoseTrack]]:  # type: ignore[no-untyped-def]
    gt = np.asarray(seq.positions_3d[:frames])
    err = np.linspace(10.0, 30.0, frames)
    tracks = [PoseTrack("shifted", gt + 0.03, H36M_17, err), PoseTrack("ground truth", gt, H36M_17)]
    return Keypoints2D(np.asarray(seq.keypoints_2d[:frames]), H36M_17), tracks


def test_gif_has_every_frame(seq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs, tracks = _panels(seq, 12)
    report = render_animation(inputs, tracks, tmp_path / "a.gif", fps=10, dpi=40)
    assert report.writer == "pillow" and report.frames == 12
    with Image.open(report.path) as gif:
        assert gif.n_frames == 12
        assert gif.size[0] > 3 * gif.size[1] / 2  # three panels side by side
        first = np.asarray(gif.convert("RGB"))
        gif.seek(11)
        last = np.asarray(gif.convert("RGB"))
    assert not np.array_equal(first, last)  # the skeleton moved


def test_png_frame_and_no_silent_overwrite(seq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs, tracks = _panels(seq)
    out = tmp_path / "f.png"
    render_frame(inputs, tracks, out, 3)
    assert out.stat().st_size > 5_000
    with Image.open(out) as png:  # readable by default: at least 960 px wide, even sides (H.264 needs them)
        assert png.size[0] >= 960 and png.size[0] % 2 == 0 and png.size[1] % 2 == 0
    with pytest.raises(ConfigError, match="--overwrite"):
        render_frame(inputs, tracks, out, 3, dpi=50)


def test_mp4_without_ffmpeg_falls_back_to_gif(seq, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(animate, "find_ffmpeg", lambda: False)
    inputs, tracks = _panels(seq, 4)
    report = render_animation(inputs, tracks, tmp_path / "a.mp4", dpi=30)
    assert report.path.suffix == ".gif" and "no ffmpeg" in report.note and report.path.is_file()


def test_bad_panels_are_one_line_errors(seq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inputs, tracks = _panels(seq, 6)
    broken = np.array(tracks[0].poses)
    broken[2, 3] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        render_frame(inputs, [PoseTrack("x", broken, H36M_17)], tmp_path / "x.png", 0)
    with pytest.raises(ShapeError, match="frame count"):
        render_frame(inputs, [PoseTrack("x", tracks[1].poses[:5], H36M_17)], tmp_path / "x.png", 0)
    with pytest.raises(ShapeError, match="17, 3"):
        render_frame(None, [PoseTrack("x", tracks[1].poses[:, :16], H36M_17)], tmp_path / "x.png", 0)


def test_colours_and_axes_come_from_the_layout() -> None:
    colors = bone_colors(H36M_17)
    for (child, _), color in zip(H36M_17.edges, colors):
        expected = LEFT if child in H36M_17.joints_left else RIGHT if child in H36M_17.joints_right else None
        assert color == expected or (expected is None and color not in (LEFT, RIGHT))
    # camera y points down: a head above the pelvis (smaller y) must plot higher
    pose = np.zeros((1, 2, 3))
    pose[0, 1, 1] = -0.5
    assert camera_to_plot(pose)[0, 1, 2] == 0.5


def _record(model: str, values: dict[str, float]) -> EvalResult:
    rows = {a: MetricRow(mpjpe_mm=v, p_mpjpe_mm=v * 0.7, frames=10) for a, v in values.items()}
    mean = float(np.mean(list(values.values())))
    return EvalResult(model=model, dataset="synthetic", input="gt", per_action=rows,
                      average_over_actions=MetricRow(mpjpe_mm=mean, p_mpjpe_mm=mean * 0.7))  # fmt: skip


def _predictions(path: Path, seq, offset: float) -> Path:  # type: ignore[no-untyped-def]
    gt = np.asarray(seq.positions_3d, dtype=np.float32)
    key = f"{seq.subject}/{seq.name}/{seq.camera}"
    np.savez(path, joint_names=np.array(H36M_17.joint_names), **{f"pred/{key}": gt + offset, f"gt/{key}": gt})
    return path


def test_result_plots(seq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gastbench.viz.plots import plot_actions, plot_joints, plot_sequence_errors, plot_training

    records = [_record("a", {"Walking": 50.0, "Eating": 60.0}), _record("b", {"Walking": 40.0, "Sitting": 70.0})]
    for path in (
        plot_actions(records, tmp_path / "actions.png", metric="p_mpjpe_mm"),
        plot_joints(
            [_predictions(tmp_path / "p1.npz", seq, 0.01), _predictions(tmp_path / "p2.npz", seq, 0.02)],
            tmp_path / "joints.png",
        ),
        plot_sequence_errors([tmp_path / "p1.npz"], tmp_path / "seq.png", fps=50.0),
    ):
        assert path.stat().st_size > 5_000
    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"epoch": e, "loss": 0.1 / e, "loss_unit": "m", "val_mpjpe_mm": 90.0 / e, "val_p_mpjpe_mm": 60.0 / e}
        for e in (1, 2, 3)
    ]
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert plot_training([run], tmp_path / "train.png").stat().st_size > 5_000
    with pytest.raises(DataError, match="no training log"):
        plot_training([tmp_path], tmp_path / "t2.png")
    with pytest.raises(DataError, match="no sequence"):
        plot_sequence_errors([tmp_path / "p1.npz"], tmp_path / "s2.png", sequence="S1/none/0")


def test_attention_maps_of_a_random_init_gastnet(seq, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from gastbench import create_lifter
    from gastbench.viz.attention import attention_maps, plot_attention

    torch.manual_seed(0)
    lifter = create_lifter("gast-t27", layout="h36m")
    maps = attention_maps(lifter, np.asarray(seq.keypoints_2d[:40]))
    assert len(maps.connection) == len(maps.symmetry) == len(maps.global_) == len(lifter.layers_graph_conv)
    for con, sym, glob in zip(maps.connection, maps.symmetry, maps.global_):
        for mat in (con, sym, glob):
            assert mat.shape == (17, 17)
            np.testing.assert_allclose(mat.sum(axis=1), 1.0, atol=1e-5)  # softmax rows (C_k starts at zero)
        mask = lifter.layers_graph_conv[0].local_graph_layer.gcn_con.mask.numpy()
        assert np.all(con[~mask] == 0.0)  # only bones (and 2nd-order distal edges) carry weight
    out = plot_attention(maps, tmp_path / "att.png", title="random init")
    assert out.stat().st_size > 20_000
    with pytest.raises(ConfigError, match="gast"):
        attention_maps(create_lifter("videopose3d-t27", layout="h36m"))


def test_cli_viz_gif_on_synthetic(tmp_path: Path) -> None:
    from gastbench.cli import app

    out = tmp_path / "v.gif"
    args = [
        "viz",
        "gast-t27",
        "--random-init",
        "--dataset",
        "synthetic",
        "--frames",
        "5",
        "--stride",
        "3",
        "--dpi",
        "30",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.n_frames == 5
    assert "wrote" in result.output
    again = CliRunner().invoke(app, args)
    assert isinstance(again.exception, ConfigError)


@pytest.mark.parametrize("panels", ["2d+3d", "3d", "2d-normalised+3x3d"])
def test_figures_are_readable_fitted_and_unclipped(seq, panels: str) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    from gastbench.viz.figure import DEFAULT_DPI, build_figure, labels_outside
    from gastbench.viz.sources import pixels

    gt = np.asarray(seq.positions_3d[:20]) + [0.4, -0.2, 4.5]  # off the origin: the axes must follow the poses
    kp = np.asarray(seq.keypoints_2d[:20])
    inputs = {"2d+3d": Keypoints2D(pixels(kp, (1000, 1002)), H36M_17, (1000, 1002), "a long title for the 2D panel"),
              "3d": None, "2d-normalised+3x3d": Keypoints2D(kp, H36M_17)}[panels]  # fmt: skip
    tracks = [PoseTrack(f"track {k}", gt, H36M_17) for k in range(3 if panels.endswith("3x3d") else 1)]
    built = build_figure(inputs, tracks, DEFAULT_DPI)
    try:
        width, height = built.fig.canvas.get_width_height()
        assert width >= 960 and width % 2 == 0 and height % 2 == 0
        assert not labels_outside(built.fig)  # every tick label, axis label and title inside the canvas
        for ax in built.fig.axes[len(built.fig.axes) - len(tracks) :]:
            limits = np.array([ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d()])
            spans = limits[:, 1] - limits[:, 0]
            np.testing.assert_allclose(spans, spans[0])  # one range on every axis: equal aspect
            plot = camera_to_plot(gt).reshape(-1, 3)
            inside = np.mean((plot >= limits[:, 0]) & (plot <= limits[:, 1]))
            assert inside > 0.99 and spans[0] < 2.5  # fitted to the poses, not a fixed +-1 m box around 0
    finally:
        plt.close(built.fig)
