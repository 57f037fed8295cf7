"""Models whose native layout is inside the dataset's (h36m16 in h36m) run at it, in eval and training."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gastbench.checkpoint import save_safetensors
from gastbench.cli import app
from gastbench.data import load_dataset
from gastbench.errors import WeightsError
from gastbench.pretrained import recorded_layout, resolve_lifter
from gastbench.registry import create_lifter, native_layout
from gastbench.results import load_result
from gastbench.skeleton import H36M_16, H36M_17

sys.path.insert(0, str(Path(__file__).parent))
from test_train import TINY  # noqa: E402

from gastbench.training import build_lifter, resolve_config, training_windows  # noqa: E402


def _converted_like(path: Path, name: str, layout: str) -> Path:
    """A weights file as ``gastbench convert`` writes it: metadata records the layout."""
    torch.manual_seed(1)
    lifter = create_lifter(name, layout=layout)
    save_safetensors(lifter.state_dict(), path, {"gastbench_model": name, "layout": layout})
    return path


def test_native_layout_rule() -> None:
    assert native_layout("semgcn", "h36m") == H36M_16
    assert native_layout("martinez", "h36m") == H36M_16
    assert native_layout("gast-t27", "h36m") == H36M_17
    assert native_layout("gast-t27", "h36m16") == H36M_16  # h36m is not inside h36m16: the data's layout
    assert native_layout("semgcn", "humaneva").name == "humaneva"


def test_16_joint_semgcn_file_evaluates_on_17_joint_ground_truth(tmp_path: Path) -> None:
    path = _converted_like(tmp_path / "semgcn.safetensors", "semgcn", "h36m16")
    assert recorded_layout(path) == "h36m16"
    runs = tmp_path / "runs"
    args = ["eval", "semgcn", "--dataset", "synthetic", "--input", "gt", "--weights", str(path), "--runs-dir",
            str(runs), "--no-progress", "--format", "json", "--max-sequences", "2"]  # fmt: skip
    for convention in ("standard", "paper"):
        outcome = CliRunner().invoke(app, [*args, "--convention", convention])
        assert outcome.exit_code == 0, outcome.output
    standard, paper = sorted(
        (load_result(p) for p in runs.glob("*.json")), key=lambda r: r.protocol.convention == "paper"
    )
    # Standard protocol on a 16-joint model: its own 16 joints are scored, and the record says so.
    assert standard.protocol.joints == list(H36M_16.joint_names) and standard.protocol.flip
    assert paper.protocol.recenter == "zero-prediction-root" and not paper.protocol.flip
    assert paper.protocol.precision == "float32"
    assert np.isfinite(standard.average_over_actions.mpjpe_mm)


def test_recorded_layout_decides_and_a_foreign_one_is_refused(tmp_path: Path) -> None:
    path = _converted_like(tmp_path / "semgcn17.safetensors", "semgcn", "h36m")
    lifter, _ = resolve_lifter("semgcn", dataset="synthetic", input="gt", layout="h36m", weights=path)
    assert lifter.input_layout == H36M_17  # a 17-joint file stays 17-joint
    with pytest.raises(WeightsError, match="for layout 'h36m'.*lacks \\['neck'\\]"):
        resolve_lifter("semgcn", dataset="synthetic", input="gt16", layout="h36m16", weights=path)


def test_unrecorded_file_is_built_at_the_layout_its_tensors_fit(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    for layout in ("h36m16", "h36m"):
        path = tmp_path / f"{layout}.safetensors"
        save_file({k: v.contiguous() for k, v in create_lifter("martinez", layout=layout).state_dict().items()}, path)
        lifter, _ = resolve_lifter("martinez", dataset="synthetic", input="gt", layout="h36m", weights=path)
        assert lifter.input_layout.name == layout


def test_training_builds_the_native_layout_and_maps_the_2d(tmp_path: Path) -> None:
    dataset = load_dataset("synthetic", "gt")
    config = resolve_config("semgcn", "synthetic", "gt", **{**TINY, "model_overrides": {}})
    lifter = build_lifter(config, dataset)
    assert lifter.input_layout == H36M_16 and lifter.output_layout == H36M_16
    windows = training_windows(config, dataset, lifter)
    first = dataset.sequences("train", subjects=["S1"], actions=["Directions"])[0]
    index = list(H36M_16.indices_in(H36M_17))
    assert windows.targets.shape[1:] == (16, 3)
    assert torch.equal(windows.targets[0], torch.from_numpy(np.asarray(first.positions_3d[0][index])))
    assert windows.padded.shape[1] == 16  # RF 1: no padding, the first row is the first frame
    assert torch.equal(windows.padded[0], torch.from_numpy(np.asarray(first.keypoints_2d[0][index], np.float32)))
