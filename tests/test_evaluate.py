"""The protocol runner, result records, tables and CLI on small fake data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import H36M_16, H36M_17, HUMANEVA_15, CentreLifter, TinyLifter, fake_dataset, humaneva_dataset  # noqa: E402

from gastbench.errors import ConfigError, DataError, GastbenchError  # noqa: E402
from gastbench.evaluation import EvalOptions, evaluate, predict_sequences  # noqa: E402
from gastbench.lifter import PaperConvention  # noqa: E402
from gastbench.metrics import mpjpe  # noqa: E402
from gastbench.pretrained import WeightsInfo  # noqa: E402
from gastbench.results import EvalResult, MetricRow, load_result, save_result  # noqa: E402
from gastbench.skeleton import Skeleton  # noqa: E402
from gastbench.tables import FORMATS, humaneva_frame, render_results, results_frame  # noqa: E402

torch.set_num_threads(1)


def _naive_predict(lifter, kp: np.ndarray, flip: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """One sequence at a time, padded with np.pad(mode='edge') like the reference scripts."""
    left = lifter.pad + lifter.causal_shift
    right = lifter.pad - lifter.causal_shift
    x = torch.from_numpy(np.pad(kp, ((left, right), (0, 0), (0, 0)), mode="edge"))[None]
    with torch.inference_mode():
        y = lifter(x, mode="dilated")[0]
        if flip:
            xf = x[..., list(lifter.input_layout.flip_permutation), :].clone()
            xf[..., 0] *= -1
            yf = lifter(xf, mode="dilated")[0][..., list(lifter.output_layout.flip_permutation), :].clone()
            yf[..., 0] *= -1
            y = 0.5 * (y + yf)
    return y.numpy()


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("flip", [False, True])
def test_batched_equals_one_sequence_loop(causal: bool, flip: bool) -> None:
    lifter = TinyLifter(rf=9, causal=causal).eval()
    seqs = fake_dataset().sequences("test")[:8]
    kps = [np.asarray(s.keypoints_2d) for s in seqs]
    batched = predict_sequences(lifter, kps, chunk_frames=13, frames_per_forward=60, flip=flip)
    for kp, got in zip(kps, batched):
        ref = _naive_predict(lifter, kp, flip)
        assert got.shape == (kp.shape[0], 17, 3)
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-5)


def test_causal_padding_uses_past_only() -> None:
    # A causal "centre" lifter returns the window's last frame: the input frame itself.
    lifter = CentreLifter(rf=7, causal=True)
    kp = np.asarray(fake_dataset().sequences("test")[0].keypoints_2d)
    out = predict_sequences(lifter, [kp], flip=False)[0]
    np.testing.assert_array_equal(out[..., :2], kp)
    sym = CentreLifter(rf=7, causal=False)
    np.testing.assert_array_equal(predict_sequences(sym, [kp], flip=False)[0][..., :2], kp)


def test_flip_equivariant_model_is_unchanged_by_flip() -> None:
    ds = fake_dataset()
    a = evaluate(CentreLifter(), ds, EvalOptions(flip=True), progress=False)
    b = evaluate(CentreLifter(), ds, EvalOptions(flip=False), progress=False)
    assert a.average_over_frames.mpjpe_mm == pytest.approx(b.average_over_frames.mpjpe_mm, abs=1e-6)
    assert a.protocol.flip and not b.protocol.flip
    c = evaluate(TinyLifter(), ds, EvalOptions(flip=True), progress=False)
    d = evaluate(TinyLifter(), ds, EvalOptions(flip=False), progress=False)
    assert c.average_over_frames.mpjpe_mm != pytest.approx(d.average_over_frames.mpjpe_mm, abs=1e-3)


def test_batch_size_invariance_and_determinism() -> None:
    ds = fake_dataset()
    lifter = TinyLifter(rf=9)
    results = [evaluate(lifter, ds, EvalOptions(chunk_frames=b), progress=False) for b in (5, 64, 4096)]
    for r in results[1:]:
        for action, row in r.per_action.items():
            ref = results[0].per_action[action]
            assert row.frames == ref.frames
            for key in ("mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm", "mpjve_mm"):
                assert getattr(row, key) == pytest.approx(getattr(ref, key), abs=1e-3)
    again = evaluate(lifter, ds, EvalOptions(chunk_frames=64), progress=False)
    assert again.per_action == results[1].per_action  # same chunking: identical to the digit
    assert lifter.training  # evaluation restores the mode it found


def test_per_action_is_frame_weighted_and_averages_labelled(tmp_path: Path) -> None:
    ds = fake_dataset()
    path = tmp_path / "pred.npz"
    r = evaluate(TinyLifter(), ds, EvalOptions(save_predictions=path), progress=False)
    seqs = ds.sequences("test")
    assert r.frames_evaluated == sum(s.frames for s in seqs)
    assert set(r.per_action) == {"Directions", "Walking", "Eating"}
    assert sum(row.frames for row in r.per_action.values()) == r.frames_evaluated
    with np.load(path) as npz:
        assert "pickle" not in str(npz.files)
        assert list(npz["joint_names"]) == list(H36M_17.joint_names)
        per_action: dict[str, list[np.ndarray]] = {}
        for s in seqs:
            key = f"{s.subject}/{s.name}/{s.camera}"
            pred, gt = npz[f"pred/{key}"], npz[f"gt/{key}"]
            assert pred.shape == gt.shape == (s.frames, 17, 3)
            np.testing.assert_array_equal(gt, s.positions_3d)  # root-relative metres, as the data layer gave them
            per_action.setdefault(s.action, []).append(mpjpe(torch.from_numpy(pred), torch.from_numpy(gt)).numpy())
    for action, errors in per_action.items():
        assert r.per_action[action].mpjpe_mm == pytest.approx(np.concatenate(errors).mean() * 1000, abs=1e-6)
    all_errors = np.concatenate([e for errs in per_action.values() for e in errs]) * 1000
    assert r.average_over_frames.mpjpe_mm == pytest.approx(all_errors.mean(), abs=1e-6)
    assert r.average_over_actions.mpjpe_mm == pytest.approx(
        np.mean([row.mpjpe_mm for row in r.per_action.values()]), abs=1e-9
    )
    assert r.average_over_actions.mpjpe_mm != pytest.approx(r.average_over_frames.mpjpe_mm, abs=1e-6)
    # Subject cells partition the frames.
    assert sum(c.frames for cells in r.per_cell.values() for c in cells.values()) == r.frames_evaluated
    for row in r.per_action.values():
        assert np.isfinite([row.mpjpe_mm, row.p_mpjpe_mm, row.n_mpjpe_mm, row.mpjve_mm]).all()
        assert row.p_mpjpe_mm <= row.mpjpe_mm


def test_paper_convention() -> None:
    ds = fake_dataset(min_frames=20)
    conv = PaperConvention(score_stride=5, recenter="prediction", joints=16, flip=False)
    lifter = TinyLifter(convention=conv)
    std = evaluate(lifter, ds, EvalOptions(convention="standard"), progress=False)
    paper = evaluate(lifter, ds, EvalOptions(convention="paper"), progress=False)
    assert std.protocol.score_stride == 1 and std.protocol.recenter == "target" and len(std.protocol.joints) == 17
    assert paper.protocol.convention == "paper"
    assert paper.protocol.score_stride == 5 and paper.protocol.recenter == "prediction"
    assert paper.protocol.joints == list(H36M_16.joint_names)
    assert paper.frames_evaluated == sum(len(range(0, s.frames, 5)) for s in ds.sequences("test"))
    # The score_stride override wins over the convention.
    override = evaluate(lifter, ds, EvalOptions(convention="paper", score_stride=2), progress=False)
    assert override.protocol.score_stride == 2

    # Re-centring the prediction on its root: a constant offset no longer matters.
    class Shifted(CentreLifter):
        def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward_dilated(x) + 0.5

    shifted = Shifted()
    shifted.metadata = type(shifted.metadata)(
        family="centre", paper="t", convention=PaperConvention(recenter="prediction")
    )
    base = evaluate(CentreLifter(), ds, EvalOptions(), progress=False)
    s_std = evaluate(shifted, ds, EvalOptions(), progress=False)
    s_paper = evaluate(shifted, ds, EvalOptions(convention="paper"), progress=False)
    assert s_std.average_over_frames.mpjpe_mm > base.average_over_frames.mpjpe_mm + 100
    assert s_paper.average_over_frames.mpjpe_mm < s_std.average_over_frames.mpjpe_mm


def test_humaneva_cells_and_table3() -> None:
    ds = humaneva_dataset()
    r = evaluate(TinyLifter(layout=HUMANEVA_15), ds, EvalOptions(), progress=False)
    assert list(r.per_action) == ["Walk", "Jog", "Box"]  # Gestures is not in the protocol
    assert sorted(r.per_cell) == ["S1", "S2", "S3"]
    assert all(list(cells) == ["Walk", "Jog", "Box"] for cells in r.per_cell.values())
    frame = humaneva_frame([r])
    cells = [f"{a} {s}" for a in ("Walk", "Jog", "Box") for s in ("S1", "S2", "S3")]
    assert list(frame.columns) == [*cells, "Avg", "Params (M)", "RF"]  # Table 1's trailing columns
    assert frame.iloc[0]["Jog S2"] == pytest.approx(r.per_cell["S2"]["Jog"].p_mpjpe_mm)
    assert frame.iloc[0]["Avg"] == pytest.approx(
        np.mean([c.p_mpjpe_mm for cs in r.per_cell.values() for c in cs.values()])
    )
    assert "Walk S1" in render_results([r], 2, "markdown")


def test_layout_mismatch_and_empty_selection() -> None:
    ds = fake_dataset()
    foreign = Skeleton(name="foreign", joint_names=("pelvis", "tail"), parents=(-1, 0), joints_left=(), joints_right=())
    with pytest.raises(ConfigError, match="2D layout 'foreign'.*lacks some of its joints"):
        evaluate(TinyLifter(layout=foreign), ds, EvalOptions(), progress=False)
    with pytest.raises(ConfigError):
        evaluate(TinyLifter(), ds, EvalOptions(subjects=("S1",)), progress=False)
    with pytest.raises(DataError, match="no 'test' sequences"):
        evaluate(TinyLifter(), ds, EvalOptions(actions=("Nope",)), progress=False)
    with pytest.raises(ConfigError):
        EvalOptions(chunk_frames=0)
    with pytest.raises(ConfigError, match="CUDA"):
        if torch.cuda.is_available():
            raise ConfigError("CUDA present; nothing to check")
        evaluate(TinyLifter(), ds, EvalOptions(device="cuda"), progress=False)


def test_record_roundtrip_and_tables(tmp_path: Path) -> None:
    ds = fake_dataset()
    info = WeightsInfo(source="random-init", seed=3)
    r = evaluate(TinyLifter(), ds, EvalOptions(max_sequences=6), info, progress=False)
    assert r.sequences_evaluated == 6 and r.protocol.max_sequences == 6
    assert r.weights == info.to_dict() and r.source_2d_sha256 == "0" * 64 and r.synthetic
    assert r.protocol.skipped == ["S9/Skipped 1 (test)"] and r.receptive_field == 9
    path = save_result(r, tmp_path)
    path2 = save_result(r, tmp_path)
    assert path != path2  # never overwrites
    back = load_result(path)
    assert back == r
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["kind"] == "measured"
    data["schema_version"] = 99
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataError, match="schema_version"):
        load_result(bad)
    with pytest.raises(DataError, match="does not exist"):
        load_result(tmp_path / "missing.json")
    # A paper-reported row is the same record type.
    reported = EvalResult(
        model="Pavllo et al.", dataset="fake", input="gt", kind="reported", reference="CVPR19 Table 1",
        per_action={"Walking": MetricRow(mpjpe_mm=32.8)}, average_over_actions=MetricRow(mpjpe_mm=46.8),
        receptive_field=243, parameters=16_950_000,
    )  # fmt: skip
    assert reported.reported and reported.weights is None
    frame = results_frame([r, reported], 1)
    assert list(frame.columns[:3]) == ["Dir.", "Walk", "Avg"]  # H36M order and abbreviations
    assert frame.loc["Pavllo et al. (gt) [CVPR19 Table 1]", "Walk"] == 32.8
    for fmt in FORMATS:
        text = render_results([r, reported], 1, fmt)
        assert "Walk" in text
    assert f"{r.per_action['Walking'].mpjpe_mm:.1f}" in render_results([r], 1, "markdown")
    rows = json.loads(render_results([r], 2, "json"))["rows"]
    assert rows[0]["Walk"] == round(r.per_action["Walking"].p_mpjpe_mm, 1) and rows[0]["RF"] == 9
    with pytest.raises(ConfigError):
        render_results([r], 3, "markdown")
    with pytest.raises(ConfigError):
        render_results([r], 1, "html")


def test_cli_eval_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import gastbench.cli.evaluate as cli_eval
    from gastbench.cli import app

    ds = fake_dataset()
    calls: dict[str, object] = {}

    def fake_load(name: str, input: str, data_dir: object, **kw: object) -> object:
        if name != "fake":
            raise DataError(f"unknown dataset {name!r}")
        return ds

    def fake_resolve(name: str, **kw: object) -> tuple[TinyLifter, WeightsInfo]:
        calls.update(kw)
        return TinyLifter(), WeightsInfo(source="random-init", seed=int(kw["seed"]))  # type: ignore[arg-type]

    monkeypatch.setattr("gastbench.data.load_dataset", fake_load)
    monkeypatch.setattr("gastbench.pretrained.resolve_lifter", fake_resolve)
    runner = CliRunner()
    runs = tmp_path / "runs"
    out = tmp_path / "table.md"
    res = runner.invoke(
        app,
        ["eval", "tiny", "--dataset", "fake", "--random-init", "--seed", "4", "--no-progress", "--runs-dir", str(runs),
         "--format", "markdown", "--out", str(out), "--save-predictions", str(tmp_path / "p.npz"), "--chunk-frames", "32",
         "--causal"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert calls["random_init"] is True and calls["seed"] == 4 and calls["layout"] is ds.layout_2d
    assert calls["causal"] is True
    assert "Protocol #1" in out.read_text() and "Protocol #2" in out.read_text()
    records = sorted(runs.glob("*.json"))
    assert len(records) == 1 and (tmp_path / "p.npz").is_file()
    res = runner.invoke(app, ["table", str(records[0]), str(records[0]), "--protocol", "2", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.output.count("tiny (gt)") == 2 and "Avg" in res.output
    # Errors propagate (main() turns them into one red line and exit code 3).
    res = runner.invoke(app, ["eval", "tiny", "--dataset", "nope", "--random-init", "--runs-dir", str(runs)])
    assert isinstance(res.exception, GastbenchError)
    monkeypatch.setattr(sys, "argv", ["gastbench", "eval", "tiny", "--dataset", "nope", "--random-init"])
    with pytest.raises(SystemExit) as exit_info:
        from gastbench.cli import main

        main()
    assert exit_info.value.code == 3
    assert cli_eval  # the module is what registered the commands


# --- input stride: models trained on every s-th frame, evaluated at every frame ----------------


def _saved_predictions(path: Path, seqs: list) -> list[np.ndarray]:  # type: ignore[type-arg]
    with np.load(path) as npz:
        return [npz[f"pred/{s.subject}/{s.name}/{s.camera}"] for s in seqs]


def _phase_interleaved(lifter, kp: np.ndarray, stride: int, flip: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Reference: lift each phase ``kp[p::stride]`` alone, then put the frames back in order."""
    out = np.full((kp.shape[0], lifter.output_layout.num_joints, 3), np.nan, np.float32)
    for p in range(min(stride, kp.shape[0])):
        out[p::stride] = _naive_predict(lifter, kp[p::stride], flip)
    return out


def test_train_stride_one_is_unchanged(tmp_path: Path) -> None:
    ds = fake_dataset()
    lifter = TinyLifter(rf=9)
    default = evaluate(lifter, ds, EvalOptions(chunk_frames=64, save_predictions=tmp_path / "a.npz"), progress=False)
    options = EvalOptions(chunk_frames=64, train_stride=1, save_predictions=tmp_path / "b.npz")
    one = evaluate(lifter, ds, options, progress=False)
    assert one.per_action == default.per_action and one.per_cell == default.per_cell
    assert one.protocol.train_stride == default.protocol.train_stride == 1
    seqs = ds.sequences("test")
    whole = predict_sequences(lifter, [np.asarray(s.keypoints_2d) for s in seqs], chunk_frames=64)
    for got, ref in zip(_saved_predictions(tmp_path / "b.npz", seqs), whole):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("downsample", [None, 2])
@pytest.mark.parametrize("flip", [False, True])
def test_train_stride_equals_lifting_each_phase(tmp_path: Path, flip: bool, downsample: int | None) -> None:
    ds = fake_dataset(min_frames=1, max_frames=12)
    seqs = ds.sequences("test")
    assert min(s.frames for s in seqs) < 3  # some sequences have fewer frames than phases
    lifter = TinyLifter(rf=9).eval()
    path = tmp_path / "p.npz"
    options = EvalOptions(train_stride=3, score_stride=downsample, flip=flip, chunk_frames=11, save_predictions=path)
    r = evaluate(lifter, ds, options, progress=False)
    step = downsample or 1
    assert r.protocol.train_stride == 3 and r.protocol.score_stride == step
    for s, got in zip(seqs, _saved_predictions(path, seqs)):
        ref = _phase_interleaved(lifter, np.asarray(s.keypoints_2d), 3, flip)[::step]
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-5)
    # Lifting the phases changes the numbers: the model sees another time scale.
    plain = evaluate(lifter, ds, EvalOptions(score_stride=downsample, flip=flip), progress=False)
    assert r.average_over_frames.mpjpe_mm != pytest.approx(plain.average_over_frames.mpjpe_mm, abs=1e-3)


def test_train_stride_scores_every_frame() -> None:
    ds = fake_dataset(min_frames=1, max_frames=12)
    seqs = ds.sequences("test")
    r = evaluate(TinyLifter(rf=5), ds, EvalOptions(train_stride=5), progress=False)
    assert r.frames_evaluated == sum(s.frames for s in seqs)
    assert r.average_over_frames.velocity_frames == sum(s.frames - 1 for s in seqs)
    for action, row in r.per_action.items():
        assert row.frames == sum(s.frames for s in seqs if s.action == action)
        assert np.isfinite([row.mpjpe_mm, row.p_mpjpe_mm, row.n_mpjpe_mm]).all()
    for subject, cells in r.per_cell.items():
        for action, row in cells.items():
            assert row.frames == sum(s.frames for s in seqs if s.subject == subject and s.action == action)


def test_train_stride_causal_model(tmp_path: Path) -> None:
    class FirstOfWindow(CentreLifter):
        """Returns the first frame of each window: shows which frames the model saw."""

        def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
            first = x[:, : x.shape[1] - self.receptive_field + 1]
            return torch.cat([first, torch.zeros_like(first[..., :1])], dim=-1)

    ds = fake_dataset(min_frames=15)
    seqs = ds.sequences("test")[:6]
    path = tmp_path / "p.npz"
    rf, stride = 5, 3
    evaluate(FirstOfWindow(rf=rf, causal=True), ds, EvalOptions(train_stride=stride, flip=False, max_sequences=6,
             save_predictions=path), progress=False)  # fmt: skip
    for s, got in zip(seqs, _saved_predictions(path, seqs)):
        t = np.arange(s.frames)
        # The window of frame t is t-(rf-1)*stride, ..., t-stride, t: the past at the training rate,
        # its first frame clamped to the phase's first frame (edge padding).
        source = np.maximum(t - (rf - 1) * stride, t % stride)
        np.testing.assert_array_equal(got[..., :2], np.asarray(s.keypoints_2d)[source])
    tiny = TinyLifter(rf=5, causal=True).eval()
    path2 = tmp_path / "q.npz"
    r = evaluate(tiny, ds, EvalOptions(train_stride=stride, chunk_frames=7, save_predictions=path2), progress=False)
    assert r.protocol.causal and r.protocol.train_stride == stride
    for s, got in zip(ds.sequences("test"), _saved_predictions(path2, ds.sequences("test"))):
        np.testing.assert_allclose(got, _phase_interleaved(tiny, np.asarray(s.keypoints_2d), stride, True), atol=1e-5)


def test_train_stride_paper_convention() -> None:
    ds = fake_dataset(min_frames=20)
    lifter = TinyLifter(convention=PaperConvention(score_stride=5))
    paper = evaluate(lifter, ds, EvalOptions(convention="paper"), progress=False)
    assert paper.protocol.score_stride == 5 and paper.protocol.train_stride == 5
    assert paper.frames_evaluated == sum(len(range(0, s.frames, 5)) for s in ds.sequences("test"))
    same = evaluate(lifter, ds, EvalOptions(convention="paper", train_stride=5), progress=False)
    assert same.per_action == paper.per_action
    with pytest.raises(ConfigError, match=r"frame stride 5.*train_stride=3"):
        evaluate(lifter, ds, EvalOptions(convention="paper", train_stride=3), progress=False)
    with pytest.raises(ConfigError, match="score_stride override 2"):
        evaluate(lifter, ds, EvalOptions(convention="paper", score_stride=2, train_stride=5), progress=False)
    # The standard protocol with the paper's stride scores every frame, not every 5th.
    std = evaluate(lifter, ds, EvalOptions(train_stride=5), progress=False)
    assert std.frames_evaluated == sum(s.frames for s in ds.sequences("test"))
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ConfigError, match="train_stride"):
            EvalOptions(train_stride=bad)  # type: ignore[arg-type]


def test_train_stride_record_roundtrip(tmp_path: Path) -> None:
    ds = fake_dataset()
    r = evaluate(TinyLifter(), ds, EvalOptions(train_stride=3, max_sequences=4), progress=False)
    back = load_result(save_result(r, tmp_path))
    assert back == r and back.protocol.train_stride == 3
    # Schema version 1 has one name per field: a record spelling a stride otherwise is refused, by name.
    data = r.to_dict()
    data["protocol"]["downsample"] = data["protocol"].pop("score_stride")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    with pytest.raises(DataError, match="downsample"):
        load_result(old)
    data["protocol"] = "not a mapping"
    old.write_text(json.dumps(data))
    with pytest.raises(DataError, match="protocol must be an object"):
        load_result(old)


def test_cli_train_stride(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from gastbench.cli import app

    ds = fake_dataset()
    monkeypatch.setattr("gastbench.data.load_dataset", lambda name, input, data_dir, **options: ds)
    monkeypatch.setattr(
        "gastbench.pretrained.resolve_lifter",
        lambda name, **kw: (TinyLifter(), WeightsInfo(source="random-init", seed=0)),
    )
    runner = CliRunner()
    runs = tmp_path / "runs"
    res = runner.invoke(app, ["eval", "tiny", "--dataset", "fake", "--random-init", "--no-progress", "--runs-dir",
                              str(runs), "--format", "csv", "--train-stride", "4", "--max-sequences", "3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    (record,) = runs.glob("*.json")
    loaded = load_result(record)
    assert loaded.protocol.train_stride == 4
    assert loaded.frames_evaluated == sum(s.frames for s in ds.sequences("test")[:3])
    res = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "240"})
    assert "--train-stride" in res.output
    res = runner.invoke(app, ["eval", "tiny", "--dataset", "fake", "--random-init", "--train-stride", "0"])
    assert res.exit_code != 0


def test_native_subset_layout_is_fed_its_own_joints_and_scores_them() -> None:
    """A 16-joint model on 17-joint data: its joints of the 2D go in, its 16 joints are scored."""
    ds = fake_dataset()
    lifter = TinyLifter(layout=H36M_16).eval()
    r = evaluate(lifter, ds, EvalOptions(flip=False), progress=False)
    assert r.protocol.joints == list(H36M_16.joint_names)
    index = list(H36M_16.indices_in(H36M_17))
    seqs = ds.sequences("test")
    preds = predict_sequences(lifter, [np.asarray(s.keypoints_2d)[:, index] for s in seqs], flip=False)
    errors = [
        mpjpe(torch.from_numpy(p), torch.from_numpy(np.asarray(s.positions_3d)[:, index])).numpy() * 1000
        for p, s in zip(preds, seqs)
    ]
    assert r.average_over_frames.mpjpe_mm == pytest.approx(np.concatenate(errors).mean(), abs=1e-6)
