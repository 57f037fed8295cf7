"""benchmarks/budget_plan.py: a recipe compressed to the epochs that fit, same first and last learning rate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gastbench.errors import ConfigError
from gastbench.training import resolve_config

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "budget_plan.py"


@pytest.fixture(scope="module")
def plan() -> ModuleType:
    spec = importlib.util.spec_from_file_location("budget_plan_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_epochs_that_fit_is_clamped(plan: ModuleType) -> None:
    assert plan.epochs_that_fit(100.0, 10.0, 60, safety=1.0) == 10
    assert plan.epochs_that_fit(100.0, 10.0, 60, safety=1.1) == 9
    assert plan.epochs_that_fit(1e6, 10.0, 60) == 60
    assert plan.epochs_that_fit(1.0, 10.0, 60) == 1  # a budget shorter than one epoch still trains one
    with pytest.raises(ConfigError, match="seconds_per_epoch"):
        plan.epochs_that_fit(100.0, 0.0, 60)


def test_epoch_schedule_keeps_first_and_last_learning_rate(plan: ModuleType) -> None:
    paper = resolve_config("gast-t27", "h36m")  # 60 epochs, lr 1e-3 * 0.95**epoch
    short = plan.compress_schedule(paper, 6)
    assert short.epochs == 6 and short.recipe == paper.recipe == "gast-net/h36m"
    last = lambda c: c.lr * c.lr_decay ** (c.epochs - 1)  # noqa: E731
    assert short.lr == paper.lr
    assert last(short) == pytest.approx(last(paper), rel=1e-12)
    assert short.batch_size == paper.batch_size and short.train_stride == paper.train_stride
    assert plan.compress_schedule(paper, 1).lr_decay == 1.0
    assert last(plan.compress_schedule(short, 3)) == pytest.approx(last(paper), rel=1e-12)  # compressing again


def test_step_schedule_keeps_the_number_of_decays(plan: ModuleType) -> None:
    paper = resolve_config("martinez", "h36m")  # 200 epochs, 0.96 every 100k steps
    short = plan.compress_schedule(paper, 20)
    assert short.lr_decay == paper.lr_decay and short.lr_decay_steps == 10_000
    steps_per_epoch = 1_000
    decays = lambda c: (c.epochs * steps_per_epoch - 1) // c.lr_decay_steps  # noqa: E731
    assert decays(short) == decays(paper)


def test_a_recipe_that_fits_is_unchanged(plan: ModuleType) -> None:
    paper = resolve_config("gast-t27", "synthetic")
    same = plan.compress_schedule(paper, paper.epochs + 5)
    assert same.to_dict() == paper.to_dict()
    with pytest.raises(ConfigError, match="epochs"):
        plan.compress_schedule(paper, 0)


def test_plan_budget_records_the_deviation(plan: ModuleType) -> None:
    paper = resolve_config("gast-t27", "h36m")
    config, record = plan.plan_budget(paper, max_seconds=200.0, seconds_per_epoch=30.0, safety=1.1)
    assert config.epochs == record.epochs == 6 and record.compressed
    assert record.final_lr == pytest.approx(1e-3 * 0.95**59)
    as_dict = record.to_dict()
    assert as_dict["deviation"].startswith("wall-clock budget of 200 s: 6 epochs instead of the paper's 60")
    assert as_dict["recipe"] == config.recipe
    _, fits = plan.plan_budget(paper, max_seconds=1e5, seconds_per_epoch=30.0)
    assert not fits.compressed and fits.deviation.startswith("none")


def test_plan_budget_final_lr_of_a_step_schedule(plan: ModuleType) -> None:
    paper = resolve_config("martinez", "h36m")
    config, record = plan.plan_budget(paper, max_seconds=100.0, seconds_per_epoch=10.0, safety=1.0,
                                      steps_per_epoch=1_000)  # fmt: skip
    assert config.epochs == 10 and config.lr_decay_steps == 5_000
    assert record.final_lr == pytest.approx(paper.lr * paper.lr_decay ** ((10 * 1_000 - 1) // 5_000))
    assert "lr decayed every 5000 steps instead of 100000" in record.deviation
