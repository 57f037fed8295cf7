"""The example plugin (examples/gastbench-tmlp) goes through every command a contributor uses.

It is made visible as an installed distribution (its own pyproject's entry points, see
``plugin_install``), then driven in-process: models, check, train (1 short epoch on the synthetic
dataset), eval, its card, zoo and leaderboard.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gastbench import recipes as recipe_table
from gastbench import registry
from gastbench.cli import app
from gastbench.errors import ConfigError
from gastbench.training import presets as recipes

sys.path.insert(0, str(Path(__file__).parent))
from plugin_install import installed_example  # noqa: E402


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example installed into a temporary site folder; the registry is restored afterwards."""
    with installed_example(tmp_path_factory.mktemp("site")) as site:
        yield site


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"gastbench {' '.join(args)} -> {result.exit_code}\n{result.output}"
    return result.output


@pytest.mark.slow
def test_the_example_plugin_goes_through_every_command(
    plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GASTBENCH_ZOO_DIR", raising=False)
    monkeypatch.delenv("GASTBENCH_WEIGHTS_DIR", raising=False)
    assert "tmlp-t27" in _run("models", "tmlp*")
    assert "tmlp-t27.humaneva-gt" in _run("zoo", "list", "tmlp*")  # the card the package ships

    checked = _run("check", "tmlp-t27", "--layout", "humaneva", "--json")
    assert '"passed": true' in checked and "284,973 parameters = card tmlp-t27.humaneva-gt" in checked

    runs = tmp_path / "runs"
    trained = _run(
        "train", "tmlp-t27", "--dataset", "synthetic", "--epochs", "1", "--batch-size", "1024", "--threads", "1",
        "--no-progress", "--validate-every", "0", "--runs-dir", str(runs), "--run-name", "tmlp",
    )  # fmt: skip
    run = runs / "tmlp"
    assert "final_loss_mm:" in trained and (run / "weights.safetensors").is_file()
    assert '"recipe": "tmlp/synthetic"' in (run / "config.json").read_text()
    card = run / "tmlp-t27.synthetic-gt.toml"
    assert 'status = "local"' in card.read_text()

    table = _run(
        "eval", "tmlp-t27", "--dataset", "synthetic", "--weights", str(run / "weights.safetensors"),
        "--runs-dir", str(tmp_path / "evals"), "--no-progress", "--format", "csv", "--max-sequences", "4",
    )  # fmt: skip
    assert "tmlp-t27 (gt) [synthetic data]" in table

    # A local card: its file is verified where it is found, skipped with the reason where it is not.
    monkeypatch.setenv("GASTBENCH_ZOO_DIR", str(run))
    assert "tmlp-t27.synthetic-gt" in _run("zoo")
    beside = _run("check", "tmlp-t27", "--dataset", "synthetic", "--input", "gt", "--json")
    assert '"status": "pass"' in beside and "verify and load strictly" in beside
    alone = tmp_path / "cards"
    alone.mkdir()
    shutil.copy(card, alone)
    monkeypatch.setenv("GASTBENCH_ZOO_DIR", str(alone))
    skipped = _run("check", "tmlp-t27", "--dataset", "synthetic", "--input", "gt", "--json")
    assert "pass --weights FILE to check it" in skipped and '"passed": true' in skipped

    board = _run(
        "leaderboard",
        "--dataset",
        "synthetic",
        "--input",
        "gt",
        "--runs-dir",
        str(tmp_path / "evals"),
        "--include-partial",
    )  # synthetic rows are partial: shown only when asked
    assert "tmlp-t27 (gt)" in board


def test_a_family_without_a_recipe_trains_with_the_named_default(plugin: Path) -> None:
    @registry.register_lifter("norecipe-t27", family="norecipe", layouts=("h36m", "humaneva"))
    def norecipe_t27(layout, **overrides):  # type: ignore[no-untyped-def]
        """A throwaway lifter of a family that registered no recipe."""
        from gastbench_tmlp import TemporalMLP

        return TemporalMLP(layout, receptive_field=27, **overrides)

    name, settings = recipes.recipe_for("norecipe-t27", "humaneva")
    assert name == "default/humaneva" and settings["optimizer"] == "amsgrad"
    note = recipes.default_recipe_note(name)
    assert note is not None and "default recipe" in note and "register_recipe" in note
    assert recipes.default_recipe_note("tmlp/humaneva") is None
    assert recipes.recipe_for("tmlp-t27", "humaneva") == (
        "tmlp/humaneva",
        {"optimizer": "adam", "lr": 1e-3, "lr_schedule": "epoch", "loss": "mpjpe", "epochs": 100, "batch_size": 256,
         "lr_decay": 0.98, "dropout": 0.1},
    )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown setting"):
        recipe_table.register_recipe("tmlp", "h36m", {"epoch": 3})

    dry = CliRunner().invoke(
        app, ["train", "norecipe-t27", "--dataset", "humaneva", "--dry-run"], catch_exceptions=False
    )
    assert dry.exit_code == 0 and '"recipe": "default/humaneva"' in dry.output
    assert "default recipe (optimizer=amsgrad" in dry.output  # the note (stderr is mixed in by CliRunner)


def test_a_plugin_that_registers_nothing_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shadowing_pkg").mkdir()  # a folder without __init__.py, e.g. the project folder itself
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("shadowing_pkg")
    with pytest.warns(UserWarning, match=r"registered no lifter: 'shadowing_pkg' resolved to the folder .*no __init__"):
        registry._warn_if_nothing_registered("shadow", "shadowing_pkg")
    with pytest.warns(UserWarning, match="registered no lifter: 'json' was imported from"):
        registry._warn_if_nothing_registered("json-plugin", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registry._warn_if_nothing_registered("baselines", "gastbench_baselines")
