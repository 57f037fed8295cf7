"""The CLI as a reader meets it: every option shown whole at 80 columns, and one exit code per kind of failure."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from gastbench.cli import app


def _commands() -> list[tuple[list[str], Any]]:
    """Every leaf command (typer vendors its own click: its groups are told by their ``commands``)."""
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((path, command))

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize(("path", "command"), _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_option_is_shown_whole_with_help_at_80_columns(path: list[str], command: Any) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for param in command.params:
        assert param.name != "help"
        if param.param_type_name == "option":
            assert getattr(param, "help", None), f"gastbench {' '.join(path)}: {param.opts} has no help"
            for opt in param.opts + param.secondary_opts:
                assert opt in result.output, f"gastbench {' '.join(path)} --help at 80 columns lacks {opt}"


def test_usage_errors_and_gastbench_errors_have_their_own_exit_codes(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from gastbench.cli import main

    codes = []
    for argv in (
        ["eval", "gast-t27", "--no-such-option"],
        ["eval", "gast-t27", "--dataset", "nowhere", "--random-init"],
    ):
        monkeypatch.setattr(sys, "argv", ["gastbench", *argv])
        with pytest.raises(SystemExit) as info:
            main()
        codes.append(info.value.code)
    assert codes == [2, 3]
    assert "error: unknown dataset" in capsys.readouterr().err
