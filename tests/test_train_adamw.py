"""PoseFormer's training preset (AdamW with weight decay) and the optimizer the trainer builds from it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from gastbench.cli import app
from gastbench.errors import ConfigError
from gastbench.registry import create_lifter, get_lifter_spec
from gastbench.skeleton import H36M_17
from gastbench.training import TrainConfig, recipe_for, resolve_config
from gastbench.training.finish import _recipe_for_card
from gastbench.training.setup import make_optimizer


@pytest.fixture
def no_model_building(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to construct a PoseFormer: resolving a recipe must not need timm or the model."""
    import importlib

    module = importlib.import_module(get_lifter_spec("poseformer-t81").factory.__module__)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("resolving a recipe built the model")

    monkeypatch.setattr(module.PoseFormer, "__init__", refuse)


@pytest.mark.usefixtures("no_model_building")
def test_poseformer_preset_is_the_reference_run_script_recipe() -> None:
    config = resolve_config("poseformer-t81", "h36m", "cpn")
    assert config.recipe == "poseformer/h36m"
    assert (config.optimizer, config.weight_decay, config.lr, config.lr_decay, config.lr_schedule) == (
        "adamw", 0.1, 1e-4, 0.99, "epoch")  # fmt: skip
    assert (config.epochs, config.batch_size, config.loss, config.dropout) == (200, 512, "mpjpe", 0.0)
    assert config.flip_augment and config.eval_flip and config.train_stride == 1
    assert recipe_for("poseformer-t9", "h36m")[0] == "poseformer/h36m"
    # the README's 27-frame CPN command: the same recipe at lr 4e-5
    name, t27 = recipe_for("poseformer-t27", "h36m")
    assert name == "poseformer-t27/h36m" and t27["lr"] == 4e-5
    assert (t27["optimizer"], t27["weight_decay"], t27["epochs"], t27["batch_size"]) == ("adamw", 0.1, 200, 512)
    with pytest.raises(ConfigError, match="no poseformer training recipe for dataset 'humaneva'"):
        recipe_for("poseformer-t81", "humaneva")


@pytest.mark.usefixtures("no_model_building")
def test_poseformer_dry_run_prints_the_preset() -> None:
    result = CliRunner().invoke(app, ["train", "poseformer-t81", "--dataset", "h36m", "--input", "cpn", "--dry-run"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["optimizer"], printed["weight_decay"], printed["lr"], printed["recipe"]) == (
        "adamw", 0.1, 1e-4, "poseformer/h36m")  # fmt: skip
    changed = CliRunner().invoke(
        app, ["train", "poseformer-t81", "--dataset", "h36m", "--input", "cpn", "--weight-decay", "0.05", "--dry-run"]
    )
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["weight_decay"] == 0.05


def test_adamw_optimizer_carries_the_weight_decay() -> None:
    lifter = create_lifter("gast-t27", layout=H36M_17, channels=16)
    optimizer = make_optimizer(TrainConfig(model="gast-t27", optimizer="adamw", weight_decay=0.1, lr=1e-4), lifter)
    assert type(optimizer) is torch.optim.AdamW
    assert all(g["weight_decay"] == 0.1 and g["lr"] == 1e-4 and not g["amsgrad"] for g in optimizer.param_groups)
    # a recipe without weight decay keeps the Adam it always had
    amsgrad = make_optimizer(TrainConfig(model="gast-t27"), lifter)
    assert type(amsgrad) is torch.optim.Adam
    assert all(g["weight_decay"] == 0.0 and g["amsgrad"] for g in amsgrad.param_groups)


def test_weight_decay_is_validated_and_recorded() -> None:
    with pytest.raises(ConfigError, match="weight_decay must be a finite number >= 0"):
        TrainConfig(model="m", optimizer="adamw", weight_decay=-0.1)
    with pytest.raises(ConfigError, match="weight_decay must be float"):
        TrainConfig(model="m", weight_decay="0.1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"optimizer must be Literal\['adam', 'amsgrad', 'adamw'\], got 'sgd'"):
        TrainConfig.from_dict({"model": "m", "optimizer": "sgd"})
    config = TrainConfig(model="m", optimizer="adamw", weight_decay=0.1)
    assert json.loads(config.to_json())["weight_decay"] == 0.1
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config
    assert _recipe_for_card(config)["weight_decay"] == 0.1
    # a card names its recipe and only the settings the run changed
    assert _recipe_for_card(resolve_config("gast-t27", "humaneva")) == {"name": "gast-net/humaneva"}
    assert _recipe_for_card(resolve_config("gast-t27", "humaneva", epochs=3)) == {
        "name": "gast-net/humaneva",
        "epochs": 3,
    }
