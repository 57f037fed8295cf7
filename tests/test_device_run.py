"""benchmarks/device_run.py end to end on CPU (--tiny, synthetic data): the files a device run returns."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "device_run.py"
PARITY_MODELS = {"gast-t27", "gast-t81", "videopose3d-t243", "martinez", "semgcn"}
EXPECTED = {"device_run.log", "parity.json", "eval_throughput.json", "train_throughput.json", "train.json",
            "train_config.json"}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One subprocess run (it sets process-wide torch flags: deterministic algorithms, dynamo limits)."""
    out = tmp_path_factory.mktemp("device-run")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _json(out: Path, name: str) -> dict:
    return json.loads((out / name).read_text(encoding="utf-8"))


def test_returns_at_most_eight_small_files(tiny_run: Path) -> None:
    files = {p.name: p.stat().st_size for p in tiny_run.iterdir()}
    assert EXPECTED <= set(files) and any(n.startswith("weights.safetensors.part-") for n in files)
    assert len(files) <= 8 and max(files.values()) <= 16 * 2**20  # the device tool's limits on $OUT
    log = (tiny_run / "device_run.log").read_text(encoding="utf-8")
    assert "done in" in log and "FAILED" not in log
    for name in ("parity", "eval_throughput", "train_throughput", "train"):
        assert _json(tiny_run, f"{name}.json")["complete"] is True


def test_parity_compares_every_model_and_skips_cuda_with_a_reason(tiny_run: Path) -> None:
    record = _json(tiny_run, "parity.json")
    assert set(record["models"]) == PARITY_MODELS
    for row in record["models"].values():
        assert row["cuda"].startswith("skipped") and row["frames"] > 0
        assert row["cpu_fp32_metrics"]["mpjpe_mm"] > 0
        bf16 = row["cpu-bf16"]  # a measured difference, or the error autocast raised in that model
        assert "error" in bf16 or 0 < bf16["max_abs_prediction_m"] < 0.1


def test_eval_throughput_has_rates_flops_and_shares(tiny_run: Path) -> None:
    record = _json(tiny_run, "eval_throughput.json")
    rates = record["matmul_tflops"]
    assert set(rates) == {"fp32", "tf32", "bf16"} and all(v > 0 for v in rates.values())
    for model, row in record["models"].items():
        assert row["flops_per_frame"] > 0, model
        runs = row["runs"]
        if "eager-fp32" in runs:
            assert runs["eager-fp32"]["frames_per_s"] > 0 and 0 < runs["eager-fp32"]["fraction_of_floor"]
        assert runs["compile-tf32"]["skipped"].startswith("torch.compile is timed on CUDA only")
        if "block_shares" in row:
            assert sum(row["block_shares"]["result"]["share"].values()) == pytest.approx(1.0, abs=1e-6)
    assert "eager-fp32" in record["models"]["gast-t27"]["runs"]  # the first measurement always runs
    gast = record["models"]["gast-t27"]
    # the fused eval path calls no module hook: its graph blocks are timed through the static method
    assert gast["block_shares"]["result"]["share"]["GraphAttentionBlock (fused)"] > 0
    assert "error" not in gast["top_ops"]["result"]


def test_flops_are_counted_on_every_gemm() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from device_run import flops_per_frame

    import gastbench

    lifter = gastbench.create_lifter("gast-t27").eval()
    # 188 MFLOP/frame (README): the fused path's out= GEMMs, invisible to FlopCounterMode, counted too
    assert flops_per_frame(lifter) == pytest.approx(188e6, rel=0.01)


def test_a_budget_shorter_than_one_epoch_skips_training_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--out", str(tmp_path), "--parts", "train",
                           "--cap-train", "0.01"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = _json(tmp_path, "train.json")
    assert record["skipped"].startswith("one epoch needs") and "--cap-train" in record["skipped"]
    assert not list(tmp_path.glob("weights.safetensors.part-*"))


def test_train_throughput_measures_the_recipes(tiny_run: Path) -> None:
    record = _json(tiny_run, "train_throughput.json")
    gast = record["recipes"]["gast-t27"]
    assert gast["windows"] > 0 and gast["variants"]["eager-fp32"]["windows_per_s"] > 0
    assert 0 <= gast["variants"]["eager-fp32"]["gather_share"] < 1
    assert gast["variants"]["compile-amp-bf16"]["skipped"]


def test_train_run_is_budgeted_repeatable_and_its_weights_join(tiny_run: Path) -> None:
    record = _json(tiny_run, "train.json")
    plan = record["plan"]
    assert plan["compressed"] and plan["recipe"].endswith(f"@budget-{plan['epochs']}ep")
    assert len(record["history"]) == plan["epochs"] and record["probe"]["bitwise_repeatable"] is True
    config = _json(tiny_run, "train_config.json")
    assert config["epochs"] == plan["epochs"] and config["recipe"] == plan["recipe"]
    assert config["lr_decay"] == pytest.approx(plan["lr_decay"])
    parts = sorted(tiny_run.glob("weights.safetensors.part-*"))
    assert [p.name for p in parts] == [p["file"] for p in record["weights"]["parts"]]
    joined = tiny_run / "joined.safetensors"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    assert hashlib.sha256(joined.read_bytes()).hexdigest() == record["weights"]["sha256"]
    tensors = load_file(str(joined))
    assert all(torch.isfinite(t.float()).all() for t in tensors.values())
    joined.unlink()


def test_split_file_cuts_and_names_parts(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from device_train import split_file

    source = tmp_path / "w.bin"
    source.write_bytes(bytes(range(256)) * 10)
    out = tmp_path / "out"
    out.mkdir()
    parts = split_file(source, out, part_bytes=1000)
    assert [p["bytes"] for p in parts] == [1000, 1000, 560]
    assert b"".join((out / p["file"]).read_bytes() for p in parts) == source.read_bytes()


def test_unknown_part_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from device_run import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--out", "unused", "--parts", "parity,warp"])
    assert exit_info.value.code == 2 and "unknown part(s) ['warp']" in capsys.readouterr().err
    args = parse_args(["--out", "unused", "--parts", "train,parity", "--tiny"])
    assert args.parts == ["parity", "train"] and args.dataset == "synthetic" and args.caps["train"] == 8.0
