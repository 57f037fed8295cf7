"""benchmarks/device_run.py, the GPU benchmark, end to end on a CPU (--tiny: synthetic data, small models)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from safetensors.torch import load_file

from gastbench.recipes import recipe_settings

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_run.py"
PARITY_MODELS = {"gast-t27", "gast-t81", "videopose3d-t243", "martinez", "semgcn"}
PART_FILES = ("parity", "train", "eval_throughput", "train_throughput")


def _run(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script in its own process (it sets process-wide torch flags: deterministic algorithms, dynamo limits)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--device", "cpu", "--out", str(out), *args],
                          check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("device-run") / "out"
    done = _run(out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def device_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("device_run_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _json(out: Path, name: str) -> dict:
    return json.loads((out / name).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_part_writes_its_json_and_the_log(tiny_run: Path) -> None:
    log = (tiny_run / "device_run.log").read_text(encoding="utf-8")
    assert "done in" in log and "FAILED" not in log
    for name in PART_FILES:
        record = _json(tiny_run, f"{name}.json")
        assert record["complete"] is True and record["env"]["tiny"] is True
    assert not list(tiny_run.glob("*.tmp"))  # every JSON file was written whole, then renamed


@pytest.mark.slow
def test_parity_compares_every_model_and_skips_cuda_with_a_reason(tiny_run: Path) -> None:
    record = _json(tiny_run, "parity.json")
    assert set(record["models"]) == PARITY_MODELS
    for row in record["models"].values():
        assert row["cuda"].startswith("skipped: CUDA is not available") and row["frames"] > 0
        assert row["cpu_fp32_metrics"]["mpjpe_mm"] > 0
        bf16 = row["cpu-bf16"]  # a measured difference, or the error autocast raised in that model
        assert "error" in bf16 or 0 < bf16["max_abs_prediction_m"] < 0.1


@pytest.mark.slow
def test_eval_throughput_has_rates_flops_and_shares(tiny_run: Path) -> None:
    record = _json(tiny_run, "eval_throughput.json")
    rates = record["matmul_tflops"]
    assert set(rates) == {"fp32", "tf32", "bf16"} and all(v > 0 for v in rates.values())
    assert "skipped" not in record  # no time cap unless one is asked for
    for model, row in record["models"].items():
        assert row["flops_per_frame"] > 0, model
        runs = row["runs"]
        for mode in ("fp32", "tf32", "bf16"):
            run = runs[f"eager-{mode}"]
            assert "error" in run or (run["frames_per_s"] > 0 and run["fraction_of_floor"] > 0)
        assert runs["eager-fp32"]["frames_per_s"] > 0, model
        assert runs["compile-tf32"]["skipped"].startswith("torch.compile is timed on CUDA only")
        assert sum(row["block_shares"]["result"]["share"].values()) == pytest.approx(1.0, abs=1e-6)
    gast = record["models"]["gast-t27"]
    # the fused eval path calls no module hook: its graph blocks are timed through the static method
    assert gast["block_shares"]["result"]["share"]["GraphAttentionBlock (fused)"] > 0
    assert "error" not in gast["top_ops"]["result"]


@pytest.mark.slow
def test_train_throughput_measures_the_recipes(tiny_run: Path) -> None:
    record = _json(tiny_run, "train_throughput.json")
    gast = record["recipes"]["gast-t27"]
    assert gast["windows"] > 0 and gast["variants"]["eager-fp32"]["windows_per_s"] > 0
    assert 0 <= gast["variants"]["eager-fp32"]["gather_share"] < 1
    assert gast["variants"]["compile-amp-bf16"]["skipped"].startswith("torch.compile is timed on CUDA only")


@pytest.mark.slow
def test_train_run_is_budgeted_repeatable_and_its_weights_verify(tiny_run: Path) -> None:
    record = _json(tiny_run, "train.json")
    plan = record["plan"]
    assert plan["compressed"] and plan["epochs"] < plan["paper_epochs"]
    assert len(record["history"]) == plan["epochs"] and record["probe"]["bitwise_repeatable"] is True
    config = _json(tiny_run, record["config_file"])
    assert config["epochs"] == plan["epochs"] and config["recipe"] == plan["recipe"] == "gast-net/synthetic"
    assert config["lr_decay"] == pytest.approx(plan["lr_decay"])
    weights = tiny_run / record["weights"]["file"]
    assert weights.parent == tiny_run / record["run_dir"]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == record["weights"]["sha256"]
    assert all(torch.isfinite(t.float()).all() for t in load_file(str(weights)).values())
    # the card names the recipe and the epochs run, and says so where they are not the recipe's own (the
    # budget plans against the paper's epochs, so on a slow machine it can land on the synthetic recipe's 2)
    assert f"{plan['recipe']} recipe, {plan['epochs']} epochs" in record["card_toml"]
    differs = f"differs from the recipe: epochs {plan['epochs']} instead of"
    assert (differs in record["card_toml"]) == (plan["epochs"] != recipe_settings(plan["recipe"])["epochs"])
    assert record["weights"]["sha256"] in record["card_toml"]
    assert record["final_mpjpe_mm"] > 0


@pytest.mark.slow
def test_a_budget_shorter_than_one_epoch_skips_training_with_the_reason(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run(out, "--parts", "train", "--train-minutes", "0.0001")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = _json(out, "train.json")
    assert record["skipped"].startswith("one epoch needs") and "--train-minutes" in record["skipped"]
    assert not (out / "train_run").exists()
    assert {p.name for p in out.iterdir()} == {"device_run.log", "train.json"}  # only the parts asked for


def test_flops_are_counted_on_every_gemm(device_run: ModuleType) -> None:
    import gastbench

    lifter = gastbench.create_lifter("gast-t27").eval()
    # the fused path's oneDNN GEMMs, invisible to torch's counter, are counted on the plain path, which
    # runs the same GEMMs, its temporal convolutions' in-place taps included (tests/test_flop_count.py)
    assert device_run.flops_per_frame(lifter) == 210_266_880
    assert not lifter.training


def test_unknown_part_is_a_one_line_error(device_run: ModuleType, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        device_run.parse_args(["--out", str(tmp_path / "new"), "--parts", "parity,warp"])
    assert exit_info.value.code == 2 and "unknown part(s) ['warp']" in capsys.readouterr().err


def test_parts_run_in_their_order_without_caps_unless_asked(device_run: ModuleType, tmp_path: Path) -> None:
    args = device_run.parse_args(["--out", str(tmp_path / "new"), "--parts", "train,parity"])
    assert args.parts == ["parity", "train"] and args.dataset == "h36m"
    assert set(args.caps.values()) == {None} and args.train_seconds == 60 * device_run.TRAIN_MINUTES
    assert args.eval_max_sequences == device_run.EVAL_SEQUENCES
    args = device_run.parse_args(["--out", str(tmp_path / "new"), "--tiny", "--cap-eval-throughput", "30",
                                  "--train-minutes", "2", "--eval-max-sequences", "0"])  # fmt: skip
    assert args.dataset == "synthetic" and args.caps["eval-throughput"] == 30.0 and args.train_seconds == 120.0
    assert args.eval_max_sequences == 0  # the whole test split


def test_out_must_be_new_or_empty(device_run: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    device_run.parse_args(["--out", str(tmp_path)])  # empty: fine
    (tmp_path / "parity.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        device_run.parse_args(["--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "not a new or empty folder" in capsys.readouterr().err


def test_a_spent_time_cap_skips_new_measurements_with_the_reason(device_run: ModuleType, tmp_path: Path) -> None:
    rep = device_run.Reporter(tmp_path)
    record: dict = {}
    assert not device_run.TimeCap(None).over("gast-t27/eager-fp32", record, rep, estimate_s=1e9)  # no cap
    assert device_run.TimeCap(60.0).over("gast-t27/compile-bf16", record, rep, estimate_s=device_run.COMPILE_S)
    assert device_run.TimeCap(0.0).over("semgcn", record, rep)
    assert record["skipped"] == {
        "gast-t27/compile-bf16": "time cap of 60 s reached",
        "semgcn": "time cap of 0 s reached",
    }
    assert "skipped semgcn: time cap of 0 s reached" in (tmp_path / "device_run.log").read_text(encoding="utf-8")
