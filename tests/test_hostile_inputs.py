"""Hostile files, folders and models through the commands: what each refuses, and that nothing is lost.

Every case builds its hostile input itself, runs the command a user would, and checks the one-line
error (exit code 3, no traceback) and that every file that existed before is byte-identical after.
Pickles are covered in ``test_hostile_pickles.py``.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gastbench.errors import ConfigError, DataError, GastbenchError, OutputError, WeightsError

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import CentreLifter, TinyLifter, fake_dataset  # noqa: E402

RNG = np.random.default_rng(7)
HE_META = {"layout_name": "humaneva15", "num_joints": 15,
           "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]]}  # fmt: skip


def humaneva_folder(folder: Path, *, collapse: bool = False, empty_view: bool = False) -> Path:
    """A minimal HumanEva-I folder in VideoPose3D's layout (3 subjects x 2 splits, one chunk each)."""
    folder.mkdir(parents=True, exist_ok=True)
    pos3d: dict[str, Any] = {}
    pos2d: dict[str, Any] = {}
    for prefix in ("Train", "Validate"):
        for subject in ("S1", "S2", "S3"):
            key = f"{prefix}/{subject}"
            world = RNG.normal(scale=0.3, size=(40, 15, 3)).astype(np.float32)
            if collapse and key == "Validate/S2":
                world[7] = world[7, :1]  # every joint at the root in one frame
            views = [RNG.uniform(0, 480, size=(40, 15, 2)).astype(np.float32) for _ in range(3)]
            if empty_view and key == "Validate/S3":  # a short chunk, one of its views empty (within the trim tolerance)
                world, views = world[:4], [v[:4] for v in views]
                views[1] = views[1][:0]
            pos3d[key] = {"Walking 1 chunk0": world}
            pos2d[key] = {"Walking 1 chunk0": views}
    np.savez_compressed(folder / "data_3d_humaneva15.npz", positions_3d=pos3d)
    np.savez_compressed(folder / "data_2d_humaneva15_gt.npz", positions_2d=pos2d, metadata=HE_META)
    return folder


def snapshot(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file() and not p.is_symlink()}


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the console entry point as a user would: exit code and stderr, on one line."""
    from gastbench.cli import main

    monkeypatch.setattr(sys, "argv", ["gastbench", *argv])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    return code, " ".join(err.split())


def refused(code: int, err: str, *phrases: str) -> None:
    assert code == 3, err
    assert err.startswith("error:") and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err


@pytest.fixture()
def weights(tmp_path: Path) -> Path:
    from gastbench.checkpoint import save_safetensors
    from gastbench.registry import create_lifter

    path = tmp_path / "run" / "weights.safetensors"
    torch.manual_seed(0)
    save_safetensors(create_lifter("martinez", layout="humaneva").state_dict(), path, {"layout": "humaneva"})
    (tmp_path / "run" / "config.json").write_text(json.dumps({"train_stride": 1}))
    return path


# --- data loss ---------------------------------------------------------------------------------


def test_infer_never_writes_over_what_it_reads(tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    keypoints = tmp_path / "clip.npz"
    np.savez(keypoints, keypoints=RNG.uniform(0, 500, size=(30, 17, 2)).astype(np.float32))
    link = tmp_path / "out.npz"
    link.symlink_to(weights)
    before = snapshot(tmp_path)
    base = ["infer", "martinez", "--keypoints", str(keypoints), "--weights", str(weights), "--dataset", "humaneva",
            "--width", "1000", "--height", "1000", "--overwrite"]  # fmt: skip
    refused(*cli(monkeypatch, capsys, *base, "--out", str(keypoints.with_suffix(""))), "is an input of this run")
    refused(*cli(monkeypatch, capsys, *base, "--out", str(link)), "is an input of this run")
    refused(*cli(monkeypatch, capsys, *base, "--out", str(tmp_path / "x"), "--animate", str(weights)), "input")
    assert snapshot(tmp_path) == before


def test_viz_and_plots_never_write_over_what_they_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    data = humaneva_folder(tmp_path / "data")
    from gastbench import evaluate, load_dataset
    from gastbench.evaluation import EvalOptions
    from gastbench.results import save_result

    record = save_result(evaluate(TinyLifter(layout=load_dataset("humaneva", data_dir=data).layout_2d),
                                  load_dataset("humaneva", data_dir=data), EvalOptions(), progress=False),
                         tmp_path / "runs")  # fmt: skip
    before = snapshot(tmp_path)
    refused(*cli(monkeypatch, capsys, "plot", "results", str(record), "--out", str(record), "--overwrite"), "input")
    target = data / "data_2d_humaneva15_gt.npz"
    refused(*cli(monkeypatch, capsys, "viz", "--dataset", "humaneva", "--data-dir", str(data), "--out", str(target),
                 "--overwrite"), "input")  # fmt: skip
    assert snapshot(tmp_path) == before


def test_a_planted_link_at_a_temporary_name_is_never_written_through(tmp_path: Path, weights: Path) -> None:
    """Temporary files are fresh random names created exclusively: a link at the old fixed name stays a link."""
    from gastbench.cards import write_card
    from gastbench.checkpoint import save_safetensors
    from gastbench.training.checkpoint import save_checkpoint

    victim = tmp_path / "dataset.npz"
    victim.write_bytes(b"precious")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("w.safetensors.tmp", "checkpoint.pt.tmp", "semgcn.h36m-gt.toml.tmp", "table.md.tmp"):
        (out / name).symlink_to(victim)
    save_safetensors({"a": torch.ones(2)}, out / "w.safetensors")
    save_checkpoint(out / "checkpoint.pt", {"epoch": 1})
    from gastbench.cards import find_card

    write_card(find_card("semgcn.h36m-gt", require_weights=False), out)
    from gastbench.outputs import write_text_file

    write_text_file(out / "table.md", "| a |\n")
    assert victim.read_bytes() == b"precious"
    assert sorted(p.name for p in out.iterdir() if not p.is_symlink()) == [
        "checkpoint.pt", "semgcn.h36m-gt.toml", "table.md", "w.safetensors"]  # fmt: skip


def test_train_overwrite_deletes_nothing_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    thesis = tmp_path / "runs" / "src"
    thesis.mkdir(parents=True)
    (thesis / "config.json").write_text("{}")
    (thesis / "thesis.tex").write_text("\\documentclass{article}")
    before = snapshot(tmp_path)
    code, err = cli(monkeypatch, capsys, "train", "videopose3d-t27", "--dataset", "synthetic", "--epochs", "1",
                    "--runs-dir", str(tmp_path / "runs"), "--run-name", "src", "--overwrite", "--no-progress")  # fmt: skip
    refused(code, err, "no training run's marker", "refusing to delete")
    assert snapshot(tmp_path) == before


def test_eval_outputs_never_replace_a_file_it_read(tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from gastbench.data.cameras import package_cameras_file

    data = humaneva_folder(tmp_path / "data")
    cameras = Path(package_cameras_file())
    cameras_before = cameras.read_bytes()
    before = snapshot(tmp_path)
    base = ["eval", "martinez", "--dataset", "humaneva", "--data-dir", str(data), "--weights", str(weights),
            "--runs-dir", str(tmp_path / "records"), "--no-progress", "--overwrite"]  # fmt: skip
    for target in (weights.parent / "config.json", cameras, data / "data_3d_humaneva15.npz", weights):
        refused(*cli(monkeypatch, capsys, *base, "--out", str(target)), "is an input of this run")
    assert snapshot(tmp_path) == before and cameras.read_bytes() == cameras_before


def test_leaderboard_never_replaces_a_record_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    committed = Path(__file__).resolve().parent.parent / "zoo" / "results" / "gast-t27.humaneva-gt.json"
    before = committed.read_bytes()
    refused(*cli(monkeypatch, capsys, "leaderboard", "--dataset", "humaneva", "--input", "gt", "--out", str(committed),
                 "--overwrite", "--runs-dir", str(tmp_path)), "is an input of this run")  # fmt: skip
    assert committed.read_bytes() == before


def test_records_saved_at_once_are_all_kept(tmp_path: Path) -> None:
    from gastbench import evaluate
    from gastbench.evaluation import EvalOptions
    from gastbench.results import save_result

    record = evaluate(TinyLifter(), fake_dataset(), EvalOptions(max_sequences=1), progress=False)
    paths: list[Path] = []
    lock = threading.Lock()

    def save() -> None:
        path = save_result(record, tmp_path)  # same model, data and timestamp: the same file name first
        with lock:
            paths.append(path)

    workers = [threading.Thread(target=save) for _ in range(24)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(paths)) == 24 and len(list(tmp_path.glob("*.json"))) == 24
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_an_unwritable_output_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, err = cli(monkeypatch, capsys, "eval", "gast-t27", "--dataset", "synthetic", "--random-init",
                    "--runs-dir", "/proc/gastbench-records", "--no-progress")  # fmt: skip
    refused(code, err, "cannot write in /proc")


def test_a_full_disk_leaves_nothing_behind(tmp_path: Path) -> None:
    from gastbench.outputs import replacing

    target = tmp_path / "table.md"
    target.write_text("before")
    with pytest.raises(OutputError, match="No space left on device"):
        with replacing(target) as handle:
            handle.write("partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_text() == "before" and [p.name for p in tmp_path.iterdir()] == ["table.md"]


# --- silent wrong numbers ------------------------------------------------------------------------


def test_check_fails_a_model_that_ignores_its_input() -> None:
    from gastbench.conformance import run_model_checks
    from gastbench.registry import create_lifter

    model = create_lifter("videopose3d-t27").eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.running_var.fill_(float("inf"))
    with torch.inference_mode():
        results = {r.name: r for r in run_model_checks(model, trained=True)}
    assert results["locality"].status == "fail" and "ignores its input" in results["locality"].detail


def test_check_fails_a_centre_predictor_that_declares_itself_causal() -> None:
    from gastbench.conformance import run_model_checks

    class LyingCausal(CentreLifter):
        def __init__(self) -> None:
            super().__init__(rf=9, causal=True)

        def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:  # declared causal, predicts its window's centre
            centre = x[:, self.pad : x.shape[1] - self.pad]
            return torch.cat([centre, torch.zeros_like(centre[..., :1])], dim=-1)

    with torch.inference_mode():
        results = {r.name: r for r in run_model_checks(LyingCausal().eval(), trained=False)}
    assert results["locality"].status == "fail" and "declared causal" in results["locality"].detail
    with torch.inference_mode():
        honest = {r.name: r for r in run_model_checks(CentreLifter(rf=9, causal=True).eval(), trained=False)}
    assert honest["locality"].status == "pass"


def _plugin(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(body)
    info = tmp_path / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[gastbench.lifters]\n{name} = {name}\n")


def test_a_plugin_never_takes_a_built_in_name_nor_silences_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gastbench import registry

    _plugin(tmp_path, "aaa_thief", (
        "from gastbench import register_lifter\n"
        "@register_lifter('thief-ok', family='thief')\n"
        "def ok(layout, **kw):\n    raise RuntimeError('never built')\n"
        "@register_lifter('videopose3d-t27', family='thief')\n"
        "def stolen(layout, **kw):\n    raise RuntimeError('never built')\n"
    ))  # fmt: skip
    _plugin(tmp_path, "aab_exits", "raise SystemExit(0)\n")
    _plugin(tmp_path, "aac_broken", (
        "from gastbench import register_lifter\n"
        "@register_lifter('broken-factory', family='broken')\n"
        "def broken(layout, **kw):\n    raise ZeroDivisionError('oops')\n"
    ))  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    with registry.registry_restored():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            registry.load_plugins(force=True)
        said = " ".join(str(w.message) for w in caught)
        assert "aaa_thief" in said and "videopose3d-t27" in said and "already registered" in said
        assert "aab_exits" in said and "SystemExit" in said
        assert registry.get_lifter_spec("videopose3d-t27").source.startswith("gastbench_baselines")
        assert "thief-ok" not in registry.list_lifters()  # nothing of a refused plugin stays
        with pytest.raises(ConfigError, match="broken-factory.*failed to build: ZeroDivisionError: oops"):
            registry.create_lifter("broken-factory")
        from gastbench.cli.models import model_rows

        rows = {r["name"]: r for r in model_rows("*")}
        assert "error" in rows["broken-factory"] and rows["gast-t27"]["params"]
    for module in ("aaa_thief", "aab_exits", "aac_broken"):
        sys.modules.pop(module, None)


def test_degenerate_ground_truth_is_refused(tmp_path: Path) -> None:
    from gastbench import load_dataset

    data = humaneva_folder(tmp_path, collapse=True)
    dataset = load_dataset("humaneva", data_dir=data)
    with pytest.raises(DataError, match="every joint at one point, first at frame 7"):
        dataset.sequences("test")


def test_a_view_with_no_frames_makes_the_record_partial(tmp_path: Path) -> None:
    from gastbench import evaluate, load_dataset
    from gastbench.evaluation import EvalOptions

    dataset = load_dataset("humaneva", data_dir=humaneva_folder(tmp_path, empty_view=True))
    result = evaluate(TinyLifter(layout=dataset.layout_2d), dataset, EvalOptions(), progress=False)
    assert any("no frames" in why for why in result.partial_reasons())


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda d: d["average_over_actions"].update(mpjpe_mm=-1.0), "mpjpe_mm must be >= 0"),
        (lambda d: d["average_over_actions"].update(mpjpe_mm=float("nan")), "mpjpe_mm must be"),
        (lambda d: d["protocol"].update(flip="no"), "flip must be bool"),
        (lambda d: d.update(parameters="many"), "parameters must be"),
        (lambda d: d["per_action"].update({"Walk": {"mpjpe_mm": "fast"}}), "per_action['Walk']: mpjpe_mm must be"),
    ],
    ids=["negative", "nan", "string-bool", "string-number", "string-metric"],
)
def test_malformed_records_are_refused_and_skipped_by_name(tmp_path: Path, change: Any, phrase: str) -> None:
    from gastbench import evaluate
    from gastbench.evaluation import EvalOptions
    from gastbench.leaderboard import collect_measured
    from gastbench.results import load_result, save_result

    path = save_result(evaluate(TinyLifter(), fake_dataset(), EvalOptions(), progress=False), tmp_path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as info:
        load_result(path)
    assert phrase in str(info.value) and "\n" not in str(info.value)
    records, said = collect_measured([tmp_path], include_partial=True)
    assert not records and len(said) == 1 and str(path) in said[0]


def test_the_compute_settings_are_recorded() -> None:
    from gastbench import evaluate
    from gastbench.evaluation import EvalOptions

    result = evaluate(TinyLifter(), fake_dataset(), EvalOptions(chunk_frames=32), progress=False)
    assert result.compute["chunk_frames"] == 32 and result.compute["torch_threads"] == torch.get_num_threads()
    assert result.compute["fused_path_blas"]


def test_non_finite_predictions_are_one_line_errors() -> None:
    from gastbench import evaluate
    from gastbench.evaluation import EvalOptions

    model = TinyLifter()
    with torch.no_grad():
        model.out.bias.fill_(float("nan"))
    with pytest.raises(WeightsError, match="predicts NaN or inf"):
        evaluate(model, fake_dataset(), EvalOptions(), progress=False)


def test_causal_model_on_non_causal_weights_is_partial(tmp_path: Path) -> None:
    from gastbench import evaluate, load_dataset
    from gastbench.checkpoint import save_safetensors
    from gastbench.evaluation import EvalOptions
    from gastbench.pretrained import resolve_lifter
    from gastbench.registry import create_lifter

    path = tmp_path / "w.safetensors"
    save_safetensors(create_lifter("videopose3d-t27").state_dict(), path, {"layout": "h36m", "causal": "false"})
    lifter, info = resolve_lifter("videopose3d-t27", dataset="synthetic", input="gt", layout="h36m", weights=path,
                                  causal=True)  # fmt: skip
    result = evaluate(lifter, load_dataset("synthetic"), EvalOptions(max_sequences=1), info, progress=False)
    assert "a causal model on weights trained non-causal" in result.partial_reasons()


# --- tracebacks ------------------------------------------------------------------------------------


def test_unreadable_cards_and_records_are_one_line_errors(tmp_path: Path) -> None:
    from gastbench.cards import load_card
    from gastbench.results import load_result

    card = tmp_path / "semgcn.h36m-gt.toml"
    card.write_bytes(b'id = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_card(card)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="deep"):
        load_result(deep)


def test_resume_refusal_is_one_line(tmp_path: Path) -> None:
    from gastbench.training import resolve_config, train

    config = resolve_config("videopose3d-t27", "synthetic", "gt", epochs=2, batch_size=256, train_subjects=["S1"],
                            validate_every=0, model_overrides={"channels": 16}, runs_dir=str(tmp_path), run_name="run")  # fmt: skip
    train(config, progress=False, final_eval=False, write_card=False, on_epoch_end=lambda epoch: epoch >= 1)
    wider = config.with_overrides(model_overrides={"channels": 32})
    (tmp_path / "run" / "config.json").write_text(wider.to_json())  # the run's own record says 32 now
    with pytest.raises(GastbenchError) as info:
        train(wider, resume=True, progress=False, final_eval=False, write_card=False)
    assert "\n" not in str(info.value) and "checkpoint.pt" in str(info.value)
