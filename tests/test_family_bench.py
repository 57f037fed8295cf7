"""benchmarks/family_throughput.py: its model choice, and its tables' numbers hang together (no timing asserted)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from gastbench.data import load_dataset

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("family_throughput_bench", BENCHMARKS / "family_throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _args(**kw: Any) -> argparse.Namespace:
    defaults = {"frames": 150, "repeats": 1, "train_steps": 1, "train_subjects": None}
    return argparse.Namespace(**{**defaults, **kw})


def test_default_models_are_the_yardstick_and_one_per_architecture(bench: Any) -> None:
    from _families import default_models

    models = default_models()
    assert models[0] == "videopose3d-t243"
    # the most zoo cards, ties to the smaller receptive field; never a causal variant
    assert {"gast-t27", "martinez", "semgcn", "semgcn-nonlocal", "poseformer-t27"} <= set(models)
    assert not any(m.endswith("-causal") for m in models) and len(models) == len(set(models))
    assert not any(m.startswith("videopose3d") for m in models[1:])


def test_eval_table_rates_follow_from_frames_and_flops(bench: Any) -> None:
    dataset = load_dataset("synthetic", "gt", None)
    header, rows, info = bench.eval_table(_args(), dataset, ["videopose3d-t243", "semgcn"])
    assert header[0] == "model" and [r.cells[0] for r in rows] == ["videopose3d-t243", "semgcn"]
    frames = info["frames"]
    assert frames >= 150
    for m in info["models"].values():
        assert m["mflop_per_frame"] > 0 and m["frames_per_s"] > 0
        # GFLOP/s = frames/s x MFLOP/frame x 2 (the flipped copy)
        assert m["gflop_per_s"] == pytest.approx(m["frames_per_s"] * m["mflop_per_frame"] * 2 / 1e3)
    vp, sem = info["models"]["videopose3d-t243"], info["models"]["semgcn"]
    assert vp["share"] == 1.0 and sem["share"] == pytest.approx(sem["gflop_per_s"] / vp["gflop_per_s"])
    assert 33.0 < vp["mflop_per_frame"] < 35.0 and 8.5 < sem["mflop_per_frame"] < 9.5  # the 33.9 and 9.0


def test_train_table_counts_forward_and_backward(bench: Any) -> None:
    dataset = load_dataset("synthetic", "gt", None)
    _, rows, info = bench.train_table(_args(), dataset, ["semgcn"])
    m = info["models"]["semgcn"]
    assert m["batch_size"] == 64 and m["windows_per_s"] > 0
    # forward + backward: about three forwards' work (9.0 MFLOP a frame forward)
    assert 2.5 * 9.0 < m["mflop_per_window"] < 3.5 * 9.0
    assert m["share"] is None  # no yardstick in this run
    assert rows[0].cells[1] == "64"
