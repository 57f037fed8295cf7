"""The wall-clock training budget: epochs that fit, and the recipe's schedule compressed to them."""

from __future__ import annotations

import math
import time

import pytest

from gastbench.errors import ConfigError
from gastbench.training import resolve_config
from gastbench.training.budget import EpochBudget, compress_schedule, epochs_that_fit, plan_budget


def test_epoch_budget_says_whether_another_epoch_fits() -> None:
    budget = EpochBudget(max_seconds=10.0, safety=1.0, started=time.perf_counter() - 7.0)
    assert 2.9 < budget.remaining() <= 3.0
    assert budget.fits_another(2.5)
    assert not budget.fits_another(3.5)
    assert not EpochBudget(max_seconds=10.0, safety=1.5, started=time.perf_counter() - 7.0).fits_another(2.5)
    budget.restart()
    assert budget.fits_another(9.0) and not budget.expired()
    assert EpochBudget.minutes(2).max_seconds == 120.0


@pytest.mark.parametrize("kwargs", [{"max_seconds": 0}, {"max_seconds": math.inf}, {"max_seconds": 5, "safety": 0.5}])
def test_epoch_budget_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="budget"):
        EpochBudget(**kwargs)


def test_epochs_that_fit_is_clamped() -> None:
    assert epochs_that_fit(100.0, 10.0, 60, safety=1.0) == 10
    assert epochs_that_fit(100.0, 10.0, 60, safety=1.1) == 9
    assert epochs_that_fit(1e6, 10.0, 60) == 60
    assert epochs_that_fit(1.0, 10.0, 60) == 1  # a budget shorter than one epoch still trains one
    with pytest.raises(ConfigError, match="seconds_per_epoch"):
        epochs_that_fit(100.0, 0.0, 60)


def test_epoch_schedule_keeps_first_and_last_learning_rate() -> None:
    paper = resolve_config("gast-t27", "h36m")  # 60 epochs, lr 1e-3 * 0.95**epoch
    short = compress_schedule(paper, 6)
    assert short.epochs == 6 and short.recipe == "gast-net/h36m@budget-6ep"
    last = lambda c: c.lr * c.lr_decay ** (c.epochs - 1)  # noqa: E731
    assert short.lr == paper.lr
    assert last(short) == pytest.approx(last(paper), rel=1e-12)
    assert short.batch_size == paper.batch_size and short.train_stride == paper.train_stride
    assert compress_schedule(paper, 1).lr_decay == 1.0
    assert compress_schedule(short, 3).recipe == "gast-net/h36m@budget-3ep"  # the tag is not stacked


def test_step_schedule_keeps_the_number_of_decays() -> None:
    paper = resolve_config("martinez", "h36m")  # 200 epochs, 0.96 every 100k steps
    short = compress_schedule(paper, 20)
    assert short.lr_decay == paper.lr_decay and short.lr_decay_steps == 10_000


def test_a_recipe_that_fits_is_unchanged() -> None:
    paper = resolve_config("gast-t27", "synthetic")
    same = compress_schedule(paper, paper.epochs + 5)
    assert same.to_dict() == paper.to_dict()
    with pytest.raises(ConfigError, match="epochs"):
        compress_schedule(paper, 0)


def test_plan_budget_records_the_deviation() -> None:
    paper = resolve_config("gast-t27", "h36m")
    config, plan = plan_budget(paper, max_seconds=200.0, seconds_per_epoch=30.0, safety=1.1)
    assert config.epochs == plan.epochs == 6 and plan.compressed
    assert plan.final_lr == pytest.approx(1e-3 * 0.95**59)
    record = plan.to_dict()
    assert record["deviation"].startswith("wall-clock budget of 200 s: 6 epochs instead of the paper's 60")
    assert record["recipe"] == config.recipe
    _, fits = plan_budget(paper, max_seconds=1e5, seconds_per_epoch=30.0)
    assert not fits.compressed and fits.deviation.startswith("none")
