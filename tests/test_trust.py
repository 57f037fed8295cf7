"""Results you can trust: nothing overwritten, nothing dropped silently, checks that can fail, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from conftest_eval import CentreLifter, TinyLifter  # noqa: E402

from gastbench.cli import app  # noqa: E402
from gastbench.conformance import run_model_checks  # noqa: E402
from gastbench.data import load_dataset  # noqa: E402
from gastbench.errors import ConfigError, DataError, WeightsError  # noqa: E402
from gastbench.outputs import check_distinct, check_output_dir, check_output_file  # noqa: E402
from gastbench.run_folder import prepare_run_dir  # noqa: E402

RNG = np.random.default_rng(7)
HE_META = {
    "layout_name": "humaneva15",
    "num_joints": 15,
    "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]],
}


def _humaneva_files(folder: Path, frames_3d: int = 40, frames_2d: int = 40, drop: str | None = None) -> None:
    """HumanEva files whose 3D sequences have ``frames_3d`` frames and 2D ``frames_2d``; ``drop`` leaves a subject out of 2D."""
    pos3d: dict = {}
    pos2d: dict = {}
    for prefix in ("Train", "Validate"):
        for subject in ("S1", "S2", "S3"):
            key = f"{prefix}/{subject}"
            world = RNG.normal(scale=0.3, size=(frames_3d, 15, 3)).astype(np.float32)
            pos3d[key] = {"Walking 1 chunk0": world}
            if key != drop:
                pos2d[key] = {
                    "Walking 1 chunk0": [
                        RNG.uniform(0, 480, size=(frames_2d, 15, 2)).astype(np.float32) for _ in range(3)
                    ]
                }
    np.savez_compressed(folder / "data_3d_humaneva15.npz", positions_3d=pos3d)
    np.savez_compressed(folder / "data_2d_humaneva15_gt.npz", positions_2d=pos2d, metadata=HE_META)


def _eval(tmp_path: Path, *args: str) -> object:
    runs = tmp_path / "runs"
    base = ["eval", "martinez", "--dataset", "synthetic", "--input", "gt16", "--random-init", "--no-progress",
            "--max-sequences", "1", "--runs-dir", str(runs)]  # fmt: skip
    return CliRunner().invoke(app, [*base, *args])


# --- 1. outputs -----------------------------------------------------------------------------


def test_output_rules(tmp_path: Path) -> None:
    existing = tmp_path / "a.txt"
    existing.write_text("keep me")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        check_output_file(existing, "--out")
    assert check_output_file(existing, "--out", overwrite=True) == existing
    with pytest.raises(ConfigError, match="is a directory"):
        check_output_file(tmp_path, "--out", overwrite=True)
    with pytest.raises(ConfigError, match="is an input of this run"):
        check_output_file(tmp_path / "sub" / ".." / "a.txt", "--out", overwrite=True, inputs=[existing])
    with pytest.raises(ConfigError, match="must end in .npz"):
        check_output_file(tmp_path / "preds", "--save-predictions", suffix=".npz")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_dir(existing, "--runs-dir")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_file(existing / "x.md", "--out")
    with pytest.raises(ConfigError, match="both name"):
        check_distinct([("--out", tmp_path / "x"), ("--save-predictions", tmp_path / "x")])
    assert existing.read_text() == "keep me"


def test_eval_refuses_existing_out_before_evaluating(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    out.write_text("mine")
    res = _eval(tmp_path, "--out", str(out))
    assert isinstance(res.exception, ConfigError) and "--overwrite" in str(res.exception)
    assert out.read_text() == "mine" and not (tmp_path / "runs").exists()  # nothing was evaluated
    res = _eval(tmp_path, "--out", str(out), "--overwrite")
    assert res.exit_code == 0, res.output
    assert "Protocol #1" in out.read_text()


@pytest.mark.parametrize(
    "option, target, message",
    [
        ("--out", "dir", "is a directory"),
        ("--save-predictions", "dir", "is a directory"),
        ("--save-predictions", "noext", "must end in .npz"),
        ("--runs-dir", "file", "is a file, not a folder"),
    ],
)
def test_eval_bad_output_paths_fail_first(tmp_path: Path, option: str, target: str, message: str) -> None:
    paths = {"dir": tmp_path / "folder", "file": tmp_path / "f.txt", "noext": tmp_path / "preds"}
    paths["dir"].mkdir()
    paths["file"].write_text("x")
    args = ["--runs-dir", str(paths["file"])] if option == "--runs-dir" else [option, str(paths[target])]
    res = CliRunner().invoke(
        app, ["eval", "martinez", "--dataset", "synthetic", "--input", "gt16", "--random-init", "--no-progress", *args]
    )
    assert isinstance(res.exception, ConfigError), res.output
    assert message in str(res.exception)
    assert not (tmp_path / "preds.npz").exists() and paths["file"].read_text() == "x"


def test_eval_never_writes_over_its_dataset(tmp_path: Path) -> None:
    _humaneva_files(tmp_path)
    data_file = tmp_path / "data_3d_humaneva15.npz"
    before = data_file.read_bytes()
    res = CliRunner().invoke(
        app,
        ["eval", "gast-t9", "--dataset", "humaneva", "--data-dir", str(tmp_path), "--random-init", "--no-progress",
         "--runs-dir", str(tmp_path / "runs"), "--save-predictions", str(data_file), "--overwrite"],
    )  # fmt: skip
    assert isinstance(res.exception, ConfigError) and "is an input of this run" in str(res.exception)
    assert data_file.read_bytes() == before


def test_table_out_cannot_replace_a_record_it_reads(tmp_path: Path) -> None:
    assert _eval(tmp_path).exit_code == 0
    record = next((tmp_path / "runs").glob("*.json"))
    before = record.read_text()
    res = CliRunner().invoke(app, ["table", str(record), "--out", str(record), "--overwrite"])
    assert isinstance(res.exception, ConfigError) and record.read_text() == before


def test_run_folder_is_not_replaced_without_overwrite(tmp_path: Path) -> None:
    from gastbench.run_folder import mark_run_folder, record_written

    run = tmp_path / "run"
    mark_run_folder(run)
    (run / "weights.safetensors").write_bytes(b"precious")
    (run / "log.jsonl").write_text("")
    record_written(run, run / "weights.safetensors", run / "log.jsonl")
    with pytest.raises(ConfigError, match="--overwrite"):
        prepare_run_dir(run)
    assert (run / "weights.safetensors").read_bytes() == b"precious"
    prepare_run_dir(run, overwrite=True)
    assert not run.exists()
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"x")
    with pytest.raises(ConfigError, match="refusing to delete"):
        prepare_run_dir(other, overwrite=True)
    assert (other / "cat.jpg").exists()


def test_overwrite_deletes_only_what_the_run_wrote(tmp_path: Path) -> None:
    """A folder that looks like a run (config.json, log.jsonl) is not one; a run's folder keeps the user's files."""
    from gastbench.run_folder import mark_run_folder, record_written

    thesis = tmp_path / "src"
    thesis.mkdir()
    for name, text in (("config.json", "{}"), ("log.jsonl", ""), ("thesis.tex", "\\documentclass")):
        (thesis / name).write_text(text)
    with pytest.raises(ConfigError, match="no training run's marker"):
        prepare_run_dir(thesis, overwrite=True)
    assert sorted(p.name for p in thesis.iterdir()) == ["config.json", "log.jsonl", "thesis.tex"]
    run = tmp_path / "run"
    mark_run_folder(run)
    (run / "config.json").write_text("{}")
    record_written(run, run / "config.json")
    (run / "notes.txt").write_text("mine")  # a file the user put there later
    prepare_run_dir(run, overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_train_refuses_existing_run_folder_without_checkpoint(tmp_path: Path) -> None:
    from gastbench.training import TrainConfig, train

    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    (run / "weights.safetensors").write_bytes(b"precious")
    config = TrainConfig(
        model="gast-t9", dataset="synthetic", epochs=1, runs_dir=str(tmp_path / "runs"), run_name="mine"
    )
    with pytest.raises(ConfigError, match="--overwrite"):
        train(config, progress=False, final_eval=False, write_card=False)
    assert (run / "weights.safetensors").read_bytes() == b"precious"


def test_run_name_is_a_plain_name() -> None:
    from gastbench.training import TrainConfig

    with pytest.raises(ConfigError, match="plain folder name"):
        TrainConfig(model="gast-t9", run_name="../../home")


# --- 2. trims and missing sequences -------------------------------------------------------------


def test_small_trim_is_recorded_large_trim_is_an_error(tmp_path: Path) -> None:
    _humaneva_files(tmp_path, frames_3d=40, frames_2d=43)
    ds = load_dataset("humaneva", "gt", data_dir=tmp_path)
    assert ds.notes and not ds.incomplete
    _humaneva_files(tmp_path, frames_3d=20, frames_2d=40)
    with pytest.raises(DataError, match="--allow-trim"):
        load_dataset("humaneva", "gt", data_dir=tmp_path)
    ds = load_dataset("humaneva", "gt", data_dir=tmp_path, allow_trim=True)
    assert ds.incomplete and all("beyond the trim tolerance" in why for _, _, why in ds.incomplete)


def test_large_trim_reaches_record_terminal_and_leaderboard(tmp_path: Path) -> None:
    from gastbench.leaderboard import collect_measured
    from gastbench.results import load_result

    _humaneva_files(tmp_path, frames_3d=20, frames_2d=40)
    runs = tmp_path / "runs"
    base = ["eval", "gast-t9", "--dataset", "humaneva", "--data-dir", str(tmp_path), "--no-progress",
            "--runs-dir", str(runs), "--weights"]  # fmt: skip
    from gastbench.checkpoint import save_safetensors
    from gastbench.registry import create_lifter

    weights = tmp_path / "w.safetensors"
    save_safetensors(create_lifter("gast-t9", layout="humaneva").state_dict(), weights)
    res = CliRunner().invoke(app, [*base, str(weights)])
    assert isinstance(res.exception, DataError)
    res = CliRunner().invoke(app, [*base, str(weights), "--allow-trim"])
    assert res.exit_code == 0, res.output
    assert "partial" in res.output and "beyond the trim tolerance" in res.output
    record = load_result(next(runs.glob("*.json")))
    assert record.protocol.incomplete and record.protocol.trimmed and record.partial_reasons()
    assert record.weights is not None and record.weights["path"] == "w.safetensors"  # no machine path
    assert collect_measured([runs])[0] == []
    assert len(collect_measured([runs], include_partial=True)[0]) == 1


def test_subject_missing_from_2d_is_warned_and_partial(tmp_path: Path) -> None:
    _humaneva_files(tmp_path, drop="Validate/S2")
    ds = load_dataset("humaneva", "gt", data_dir=tmp_path)
    assert [(split, subject) for split, subject, _ in ds.incomplete] == [("test", "S2")]
    from gastbench.evaluation import EvalOptions
    from gastbench.evaluation.runner import incomplete_sequences

    assert incomplete_sequences(ds, EvalOptions()) and not incomplete_sequences(ds, EvalOptions(subjects=["S1"]))


# --- 5. leaderboard -----------------------------------------------------------------------------


def _record(tmp_path: Path, name: str, **changes: object) -> None:
    from gastbench.results import EvalResult, MetricRow, ProtocolInfo

    r = EvalResult(model="gast-t27", dataset="h36m", input="cpn", timestamp=changes.pop("timestamp", "2024-01-01"),
                   weights={"source": "file", "sha256": changes.pop("sha", "a" * 64)},
                   protocol=ProtocolInfo(**changes.pop("protocol", {})),  # type: ignore[arg-type]
                   average_over_actions=MetricRow(mpjpe_mm=float(changes.pop("mm", 46.5))), **changes)  # type: ignore[arg-type]  # fmt: skip
    (tmp_path / f"{name}.json").write_text(json.dumps(r.to_dict()))


def test_leaderboard_keys_on_protocol_and_weights(tmp_path: Path) -> None:
    from gastbench.leaderboard import collect_measured

    _record(tmp_path, "measured")
    _record(tmp_path, "newer-quick-check", timestamp="2025-01-01", mm=900, protocol={"max_sequences": 1})
    _record(tmp_path, "other-weights", timestamp="2025-01-01", sha="b" * 64, mm=50)
    _record(tmp_path, "no-flip", timestamp="2025-01-01", protocol={"flip": False}, mm=47)
    (tmp_path / "config.json").write_text(json.dumps({"model": "gast-t27", "dataset": "h36m", "input": "cpn"}))
    records, warnings = collect_measured([tmp_path])
    assert sorted(r.average_over_actions.mpjpe_mm for r in records) == [46.5, 47, 50]  # type: ignore[type-var]
    assert warnings == []  # config.json is not a result: no warning


def test_old_records_with_absolute_paths_still_load(tmp_path: Path) -> None:
    from gastbench.results import load_result

    _record(tmp_path, "old")
    data = json.loads((tmp_path / "old.json").read_text())
    data["weights"]["path"] = "/home/someone/runs/x/weights.safetensors"
    del data["protocol"]["trimmed"], data["protocol"]["incomplete"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert load_result(tmp_path / "old.json").protocol.incomplete == []


# --- check can fail ---------------------------------------------------------------------------


class _MeanLeak(CentreLifter):
    """Declared causal, but adds the whole sequence's mean to every frame."""

    def __init__(self) -> None:
        super().__init__(rf=5, causal=True)

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward_dilated(x) + x.mean(dim=1, keepdim=True).mean().expand(1)


class _JointsOutOfOrder(CentreLifter):
    """Output joints shifted by one: the declared layout does not describe them, so mirroring mixes limbs."""

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(super().forward_dilated(x), 1, dims=-2)


class _WrongJoints(TinyLifter):
    """Declares 17 output joints, gives 5."""

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward_dilated(x)[:, :, :5]


def _status(results: list, name: str) -> str:
    return {r.name: r.status for r in results}[name]


def test_locality_catches_a_causal_model_reading_the_whole_sequence() -> None:
    with torch.inference_mode():
        assert _status(run_model_checks(CentreLifter(rf=5, causal=True).eval()), "locality") == "pass"
        results = run_model_checks(_MeanLeak().eval())
    assert _status(results, "locality") == "fail"
    assert "future frames" in {r.name: r.detail for r in results}["locality"]


def test_flip_check_catches_a_non_equivariant_model() -> None:
    with torch.inference_mode():
        assert _status(run_model_checks(CentreLifter(rf=1).eval(), trained=True), "flip") == "pass"
        assert _status(run_model_checks(_JointsOutOfOrder(rf=1).eval(), trained=True), "flip") == "fail"


def test_wrong_joint_count_is_a_fail_row_not_a_traceback() -> None:
    with torch.inference_mode():
        results = run_model_checks(_WrongJoints().eval(), trained=True)
    assert _status(results, "shape") == "fail"
    assert all(r.status in ("pass", "fail", "skip") for r in results)


def test_check_exits_1_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import gastbench.registry as registry

    real = registry.create_lifter
    monkeypatch.setattr(
        registry, "create_lifter", lambda name, **kw: _MeanLeak() if name == "leaky" else real(name, **kw)
    )
    res = CliRunner().invoke(app, ["check", "leaky", "--json"])
    assert res.exit_code == 1, res.output
    assert json.loads(res.output)["passed"] is False


# --- one-line errors ----------------------------------------------------------------------------


def test_set_with_a_wrong_type_names_the_key() -> None:
    from gastbench.cli.train import build_config

    with pytest.raises(ConfigError, match="lr must be float, got 'abc'"):
        build_config("gast-t9", "synthetic", "gt", {}, sets=["lr=abc"])


def test_directory_in_place_of_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "data_3d_humaneva15.npz").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        load_dataset("humaneva", "gt", data_dir=tmp_path)
    from gastbench.checkpoint import load_safetensors_strict

    (tmp_path / "w.safetensors").mkdir()
    with pytest.raises(WeightsError, match="is a directory"):
        load_safetensors_strict(CentreLifter(), tmp_path / "w.safetensors")


@pytest.mark.parametrize("content", [b"hello, I am text\n", b"truncated"])
def test_convert_garbage_is_one_line(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "ckpt.bin"
    src.write_bytes(content)
    res = CliRunner().invoke(
        app, ["convert", str(src), "--from", "gastnet", "--model", "gast-t27", "--out", str(tmp_path / "o.safetensors")]
    )
    assert isinstance(res.exception, WeightsError), res.exception


def test_truncated_safetensors_is_one_line(tmp_path: Path) -> None:
    from gastbench.checkpoint import load_safetensors_strict, save_safetensors

    path = tmp_path / "w.safetensors"
    save_safetensors(CentreLifter().state_dict() | {"x": torch.zeros(100)}, path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(WeightsError, match="not a readable safetensors"):
        load_safetensors_strict(CentreLifter(), path)


def test_local_card_hash_failure_is_not_told_to_download(tmp_path: Path) -> None:
    from gastbench.cards import Card
    from gastbench.hub import verify_weights

    path = tmp_path / "w.safetensors"
    path.write_bytes(b"12345678")
    card = Card(id="gast-t9.h36m-gt", lifter="gast-t9", layout="h36m", dataset="h36m", input="gt", status="local",
                repo_id="gastbench/x", filename="w.safetensors", sha256="0" * 64, size=8)  # fmt: skip
    with pytest.raises(WeightsError) as err:
        verify_weights(card, path)
    assert "gastbench download" not in str(err.value).replace("`gastbench download` cannot", "")
    assert "re-train" in str(err.value)


# --- items 3 and 6, already on main: proved here --------------------------------------------------


def test_convert_twice_gives_the_same_sha256(tmp_path: Path) -> None:
    from gastbench.convert import convert_checkpoint
    from gastbench.registry import create_lifter

    torch.manual_seed(0)
    state = {f"module.{k}": v for k, v in create_lifter("gast-t9").state_dict().items()}
    src = tmp_path / "orig.bin"
    torch.save({"model_pos": state}, src)
    first = convert_checkpoint("gastnet", src, tmp_path / "a.safetensors", "gast-t9")
    second = convert_checkpoint("gastnet", src, tmp_path / "b.safetensors", "gast-t9")
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


@pytest.mark.slow
def test_cli_eval_and_training_final_eval_use_one_protocol(tmp_path: Path) -> None:
    from dataclasses import asdict

    from gastbench.results import load_result
    from gastbench.training import resolve_config, train

    config = resolve_config("gast-t9", "synthetic", "gt", runs_dir=str(tmp_path), run_name="run", epochs=1,
                            batch_size=256, train_stride=2, validate_every=0, device="cpu", seed=1,
                            train_subjects=["S1"], actions=["Directions"])  # fmt: skip
    trained = train(config, progress=False, final_eval=True, write_card=False)
    assert trained.result is not None
    runs = tmp_path / "records"
    res = CliRunner().invoke(app, ["eval", "gast-t9", "--dataset", "synthetic", "--weights", str(tmp_path / "run" / "weights.safetensors"),
                                   "--runs-dir", str(runs), "--no-progress", "--device", "cpu"])  # fmt: skip
    assert res.exit_code == 0, res.output
    cli = load_result(next(runs.glob("*.json")))
    assert asdict(cli.protocol) == asdict(trained.result.protocol) and cli.protocol.train_stride == 2
    assert cli.average_over_actions == trained.result.average_over_actions
