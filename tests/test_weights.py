"""Weights provenance: local files, run folders and the frame stride they were trained at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import save_file
from typer.testing import CliRunner

from gastbench.cli import app
from gastbench.errors import WeightsError
from gastbench.pretrained import resolve_lifter
from gastbench.registry import create_lifter
from gastbench.results import load_result


def _write_weights(folder: Path, name: str = "martinez", layout: str = "h36m") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in create_lifter(name, layout=layout).state_dict().items()}, str(path))
    return path


def test_plain_file_has_no_training_stride(tmp_path: Path) -> None:
    path = _write_weights(tmp_path)
    _, info = resolve_lifter("martinez", dataset="synthetic", input="gt", layout="h36m", weights=path)
    assert info.source == "file" and len(info.sha256 or "") == 64
    assert info.train_stride is None


def test_run_folder_config_gives_the_training_stride(tmp_path: Path) -> None:
    path = _write_weights(tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text(json.dumps({"train_stride": 3}))
    _, info = resolve_lifter("martinez", dataset="synthetic", input="gt", layout="h36m", weights=path)
    assert info.train_stride == 3


def test_foreign_config_json_is_ignored(tmp_path: Path) -> None:
    path = _write_weights(tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text("[1, 2, 3]")
    _, info = resolve_lifter("martinez", dataset="synthetic", input="gt", layout="h36m", weights=path)
    assert info.train_stride is None


def test_weights_and_random_init_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="either --weights or --random-init"):
        resolve_lifter("martinez", dataset="synthetic", input="gt", weights=_write_weights(tmp_path), random_init=True)


def test_eval_feeds_the_run_folders_stride_unless_told_otherwise(tmp_path: Path) -> None:
    path = _write_weights(tmp_path / "run")
    (tmp_path / "run" / "config.json").write_text(json.dumps({"train_stride": 3}))
    runner = CliRunner()
    # Two sequences prove the wiring; an explicit --train-stride wins over the run folder's.
    for extra, expected in (([], 3), (["--train-stride", "1"], 1)):
        runs = tmp_path / f"records{expected}"
        args = ["eval", "martinez", "--dataset", "synthetic", "--weights", str(path), "--runs-dir", str(runs),
                "--no-progress", "--format", "json", "--max-sequences", "2", *extra]  # fmt: skip
        outcome = runner.invoke(app, args)
        assert outcome.exit_code == 0, outcome.output
        (record,) = runs.glob("*.json")
        result = load_result(record)
        assert result.protocol.train_stride == expected
        assert result.weights is not None and result.weights["train_stride"] == 3
        assert result.frames_evaluated == sum(s.frames for s in _synthetic_test()[:2])


def _synthetic_test():  # type: ignore[no-untyped-def]
    from gastbench.data import load_dataset

    return load_dataset("synthetic", "gt").sequences("test")
