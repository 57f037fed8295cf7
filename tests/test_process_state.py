"""A library call leaves the process as it found it: global RNGs, torch's thread count, BLAS threads."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

import gastbench
from gastbench.conformance import run_checks
from gastbench.evaluation import EvalOptions, evaluate
from gastbench.infer import lift_keypoints
from gastbench.pretrained import resolve_lifter
from gastbench.training import resolve_config, train

sys.path.insert(0, str(Path(__file__).parent))


def _state() -> tuple[Any, ...]:
    blas = tuple((lib["filepath"], lib["num_threads"]) for lib in threadpool_info())
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate(), torch.get_num_threads(), blas)


def _same(before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
    assert torch.equal(before[0], after[0]), "torch's global RNG moved"
    assert np.array_equal(before[1], after[1]), "numpy's global RNG moved"
    assert before[2] == after[2], "Python's global RNG moved"
    assert before[3] == after[3], f"torch threads {before[3]} -> {after[3]}"
    assert before[4] == after[4], f"BLAS/OpenMP threads {before[4]} -> {after[4]}"


def _random_init() -> None:
    resolve_lifter("gast-t27", dataset="synthetic", input="gt", layout="h36m", random_init=True, seed=7)


def _evaluate() -> None:
    lifter, info = resolve_lifter("gast-t27", dataset="synthetic", input="gt", layout="h36m", random_init=True)
    evaluate(lifter, gastbench.load_dataset("synthetic"), EvalOptions(max_sequences=2), info, progress=False)


def _checks() -> None:
    run_checks("videopose3d-t27")


def _infer() -> None:
    lifter, _ = resolve_lifter("gast-t27", dataset="synthetic", input="gt", layout="h36m", random_init=True)
    lift_keypoints(lifter, np.random.default_rng(0).uniform(-1, 1, (40, 17, 2)).astype(np.float32))


CALLS: dict[str, Callable[[], None]] = {
    "resolve_lifter": _random_init, "evaluate": _evaluate, "run_checks": _checks, "infer": _infer,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CALLS))
def test_public_calls_leave_rngs_and_threads_as_they_were(name: str) -> None:
    torch.manual_seed(123), np.random.seed(4), random.seed(5)
    before = _state()
    CALLS[name]()
    _same(before, _state())


def test_train_leaves_rngs_and_threads_as_they_were(tmp_path: Path) -> None:
    config = resolve_config("videopose3d-t27", "synthetic", "gt", epochs=1, batch_size=256, seed=3, num_threads=1,
                            train_subjects=["S1"], validate_every=0, model_overrides={"channels": 16},
                            runs_dir=str(tmp_path), run_name="run")  # fmt: skip
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    before = _state()
    train(config, progress=False, final_eval=True, write_card=False)
    _same(before, _state())


def test_train_restores_them_when_it_fails(tmp_path: Path) -> None:
    config = resolve_config("videopose3d-t27", "synthetic", "gt", epochs=1, num_threads=1, train_subjects=["nobody"],
                            runs_dir=str(tmp_path), run_name="run")  # fmt: skip
    before = _state()
    with pytest.raises(gastbench.GastbenchError, match="nobody"):
        train(config, progress=False, final_eval=False, write_card=False)
    _same(before, _state())
