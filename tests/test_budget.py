"""The wall-clock training budget of ``gastbench train --max-minutes``: whether another epoch fits."""

from __future__ import annotations

import math
import time

import pytest

from gastbench.errors import ConfigError
from gastbench.training.budget import EpochBudget


def test_epoch_budget_says_whether_another_epoch_fits() -> None:
    budget = EpochBudget(max_seconds=10.0, safety=1.0, started=time.perf_counter() - 7.0)
    assert 2.9 < budget.remaining() <= 3.0 and 7.0 <= budget.elapsed() < 7.1
    assert budget.fits_another(2.5)
    assert not budget.fits_another(3.5)
    assert not EpochBudget(max_seconds=10.0, safety=1.5, started=time.perf_counter() - 7.0).fits_another(2.5)
    spent = EpochBudget(max_seconds=10.0, started=time.perf_counter() - 12.0)
    assert spent.remaining() == 0.0 and not spent.fits_another(0.001)
    assert EpochBudget.minutes(2).max_seconds == 120.0


@pytest.mark.parametrize("kwargs", [{"max_seconds": 0}, {"max_seconds": math.inf}, {"max_seconds": 5, "safety": 0.5}])
def test_epoch_budget_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="budget"):
        EpochBudget(**kwargs)
