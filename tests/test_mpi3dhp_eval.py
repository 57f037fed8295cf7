"""MPI-INF-3DHP through the evaluation: valid frames only, PCK/AUC per sequence and scene, tables, leaderboard, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest_eval import TinyLifter
from typer.testing import CliRunner

from gastbench.cli import app
from gastbench.data import load_dataset
from gastbench.data.mpi3dhp import IMAGE_SIZES
from gastbench.evaluation import EvalOptions, evaluate
from gastbench.evaluation.predictions import read_predictions
from gastbench.leaderboard import leaderboard_frame
from gastbench.metrics_pck import auc, joint_errors_mm, pck
from gastbench.results import load_result, save_result
from gastbench.skeleton import H36M_17, MPI3DHP_17
from gastbench.tables import render_results

FRAMES = {"TS1": 30, "TS2": 24, "TS3": 26, "TS4": 20, "TS5": 28, "TS6": 22}


def write_3dhp(folder: Path, annotation: str = "univ_annot3", seed: int = 0) -> None:
    """A data_test_3dhp.npz in the lifting papers' layout: camera-space mm poses, their perspective 2D, valid masks."""
    rng = np.random.default_rng(seed)
    data = {}
    for name, frames in FRAMES.items():
        w, h = IMAGE_SIZES[name]
        pose = rng.normal(0.0, 250.0, (frames, 17, 3)) + [0.0, 0.0, 4500.0]
        xy = pose[..., :2] / pose[..., 2:] * 1500.0 + [w / 2, h / 2]
        valid = np.ones(frames)
        valid[rng.choice(frames, frames // 4, replace=False)] = 0
        data[name] = {"data_2d": xy, "data_3d": pose, "valid": valid}
    meta = {"layout_name": "mpi3dhp", "annotation": annotation}
    suffix = "" if annotation == "univ_annot3" else f"_{annotation}"
    np.savez_compressed(folder / f"data_test_3dhp{suffix}.npz", data=data, metadata=meta)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    write_3dhp(tmp_path)
    return tmp_path


def test_h36m_model_scored_on_valid_frames_by_joint_name(data_dir: Path, tmp_path: Path) -> None:
    dataset = load_dataset("3dhp", "gt", data_dir)
    lifter = TinyLifter(layout=H36M_17, rf=9)  # a Human3.6M-layout model: joints matched by name
    result = evaluate(lifter, dataset, EvalOptions(save_predictions=tmp_path / "p.npz", flip=False), progress=False)
    saved = read_predictions(tmp_path / "p.npz")
    assert saved.joint_names == H36M_17.joint_names
    errors = []
    for seq in dataset.sequences():
        key = f"{seq.subject}/{seq.name}/{seq.camera}"
        target = seq.positions_3d[seq.scored][:, list(H36M_17.indices_in(MPI3DHP_17))]
        np.testing.assert_array_equal(saved.gt[key], target)
        errors.append(joint_errors_mm(saved.pred[key], saved.gt[key]))
        cell = result.per_cell[seq.subject][seq.action]
        assert cell.frames == int(seq.scored.sum())
        assert cell.pck == pytest.approx(pck(errors[-1]), abs=1e-9)
        assert cell.auc == pytest.approx(auc(errors[-1]), abs=1e-9)
    pooled = np.concatenate(errors)
    assert result.frames_evaluated == pooled.shape[0] == sum(int(s.scored.sum()) for s in dataset.sequences())
    assert result.average_over_frames.pck == pytest.approx(pck(pooled), abs=1e-9)
    assert result.average_over_frames.auc == pytest.approx(auc(pooled), abs=1e-9)
    assert result.average_over_frames.mpjpe_mm == pytest.approx(pooled.mean(), rel=1e-9)
    gs = np.concatenate(errors[:2])  # TS1, TS2: the green-screen scene
    assert result.per_action["GS"].pck == pytest.approx(pck(gs), abs=1e-9)
    assert list(result.per_action) == ["GS", "noGS", "Outdoor"]
    assert result.protocol.annotation_3d == "univ_annot3"


def test_tables_and_leaderboard(data_dir: Path, tmp_path: Path) -> None:
    dataset = load_dataset("3dhp", "gt", data_dir)
    runs = tmp_path / "runs"
    records = []
    for seed in (0, 1):
        lifter = TinyLifter(layout=H36M_17, rf=9, seed=seed)
        lifter.name = f"tiny{seed}"
        records.append(load_result(save_result(evaluate(lifter, dataset, EvalOptions(), progress=False), runs)))
    table = json.loads(render_results(records, 1, "json"))
    assert table["unit"].startswith("%")
    row = table["rows"][0]
    assert row["PCK"] == round(records[0].average_over_frames.pck, 1)
    assert row["PCK GS"] == round(records[0].per_action["GS"].pck, 1) and "MPJPE" in row
    sequences = json.loads(render_results(records, "sequences", "json"))["rows"]
    assert len(sequences) == 12 and sequences[5]["Sequence"] == "TS6" and sequences[5]["Scene"] == "Outdoor"
    assert sequences[5]["AUC"] == round(records[0].per_cell["TS6"]["Outdoor"].auc, 1)
    assert "PCK Outdoor" in render_results(records, 1, "markdown")
    frame, warnings = leaderboard_frame("3dhp", "gt", runs_dirs=[runs], cards=[])
    assert not warnings and len(frame) == 2
    assert list(frame["PCK"]) == sorted(frame["PCK"], reverse=True)  # best PCK first


def test_annotation_is_recorded_and_tagged(tmp_path: Path) -> None:
    write_3dhp(tmp_path, "annot3", seed=3)
    dataset = load_dataset("3dhp", "gt", tmp_path, annotation="annot3")
    result = evaluate(TinyLifter(layout=H36M_17, rf=9), dataset, EvalOptions(max_sequences=2), progress=False)
    assert result.protocol.annotation_3d == "annot3"
    assert "[annot3]" in render_results([result], 1, "markdown")


def test_cli_eval_3dhp(data_dir: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    res = CliRunner().invoke(
        app,
        ["eval", "videopose3d-t27", "--dataset", "3dhp", "--data-dir", str(data_dir), "--random-init",
         "--runs-dir", str(runs), "--format", "json", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    tables = json.loads(res.stdout[res.stdout.index("[") :])
    assert [t["title"].endswith("per test sequence") for t in tables] == [False, True]
    record = load_result(next(runs.glob("*.json")))
    assert record.dataset == "3dhp" and record.average_over_frames.pck is not None
    assert record.protocol.joints == list(H36M_17.joint_names)  # built at its native Human3.6M layout
    res = CliRunner().invoke(app, ["eval", "videopose3d-t27", "--dataset", "3dhp", "--data-dir", str(data_dir),
                                   "--annotation", "annot3", "--random-init", "--runs-dir", str(runs)])  # fmt: skip
    assert "data_test_3dhp_annot3.npz" in str(res.exception)


def test_cli_trained_on_picks_the_card_of_another_dataset(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gastbench.pretrained import WeightsInfo

    calls: list[dict] = []

    def fake_resolve(name: str, **kw: object) -> tuple[TinyLifter, WeightsInfo]:
        calls.append(kw)
        return TinyLifter(layout=H36M_17), WeightsInfo(source="file", sha256="0" * 64)

    monkeypatch.setattr("gastbench.pretrained.resolve_lifter", fake_resolve)
    monkeypatch.setattr("gastbench.pretrained.weights_problem", lambda *args: None)  # 'tiny' has no card
    base = [
        "eval",
        "tiny",
        "--dataset",
        "3dhp",
        "--data-dir",
        str(data_dir),
        "--runs-dir",
        str(tmp_path),
        "--max-sequences",
        "1",
    ]
    for extra, expected in (
        (["--trained-on", "h36m/cpn"], ("h36m", "cpn")),
        (["--trained-on", "h36m"], ("h36m", "gt")),
        ([], ("3dhp", "gt")),
    ):
        res = CliRunner().invoke(app, [*base, *extra, "--no-progress"])
        assert res.exit_code == 0, res.output
        assert (calls[-1]["dataset"], calls[-1]["input"]) == expected
        assert calls[-1]["layout"] is MPI3DHP_17
