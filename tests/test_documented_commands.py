"""Every ``gastbench ...`` command a card, README.md or CONTRIBUTING.md shows parses, and training
commands resolve their configuration (``--dry-run``) without running anything heavy.

The example plugin is installed first, so the guide's ``tmlp-t27`` commands resolve too.
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gastbench.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from plugin_install import EXAMPLE, installed_example  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _commands_in_text(text: str) -> list[list[str]]:
    """``gastbench`` invocations in the fenced code blocks of a Markdown text (continuations joined)."""
    found: list[list[str]] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for part in " ".join(shlex.quote(w) for w in words).split(" '&&' "):
                argv = [w for w in shlex.split(part) if w != "&&"]
                while argv and _ENV_ASSIGNMENT.match(argv[0]):
                    argv = argv[1:]
                if argv and argv[0] == "gastbench":
                    found.append(argv[1:])
    return found


def _documented() -> list[tuple[str, list[str]]]:
    cards = [*sorted((ROOT / "zoo").glob("*.toml")), *sorted((EXAMPLE / "gastbench_tmlp" / "zoo").glob("*.toml"))]
    out = []
    for card in cards:
        command = tomllib.loads(card.read_text(encoding="utf-8")).get("command", "")
        if command:
            argv = shlex.split(command)
            assert argv[0] == "gastbench", f"{card.name}: command does not start with gastbench: {command}"
            out.append((card.relative_to(ROOT).as_posix(), argv[1:]))
    for doc in ("README.md", "CONTRIBUTING.md"):
        out += [(doc, argv) for argv in _commands_in_text((ROOT / doc).read_text(encoding="utf-8"))]
    return out


DOCUMENTED = _documented()


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with installed_example(tmp_path_factory.mktemp("site")) as site:
        yield site


def _parse(argv: list[str]) -> None:
    """Parse ``argv`` down to the leaf command (options, arguments, choices), executing nothing.

    Typer may bundle its own click, so groups are recognised by ``resolve_command``, not by class.
    """
    command = typer.main.get_command(app)
    args, name = list(argv), "gastbench"
    while True:
        ctx = command.make_context(name, list(args))
        if not hasattr(command, "resolve_command"):
            return
        protected = getattr(ctx, "_protected_args", None)
        rest = [*(ctx.protected_args if protected is None else protected), *ctx.args]
        if not rest:
            return
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"no command {rest[0]!r}"
        command = sub


def _usage_error(exc: Exception) -> str | None:
    """The message of a click usage error (whichever click raised it), else None."""
    return exc.format_message() if hasattr(exc, "format_message") else None


def test_documents_show_commands() -> None:
    sources = {source.split("/")[0] for source, _ in DOCUMENTED}
    assert {"README.md", "CONTRIBUTING.md", "zoo", "examples"} <= sources
    assert any(argv[0] == "train" for _, argv in DOCUMENTED)


@pytest.mark.parametrize(("source", "argv"), DOCUMENTED, ids=[f"{s}: {' '.join(a)[:60]}" for s, a in DOCUMENTED])
def test_documented_command_runs(source: str, argv: list[str], plugin: Path, tmp_path: Path) -> None:
    if argv[0] == "train":
        result = CliRunner().invoke(app, [*argv, "--dry-run"], catch_exceptions=False)
        assert result.exit_code == 0, f"{source}: gastbench {' '.join(argv)} --dry-run\n{result.output}"
        assert '"model"' in result.output
        return
    try:
        _parse(argv)
    except Exception as exc:  # noqa: BLE001 - click's UsageError, from typer's bundled click or the real one
        message = _usage_error(exc)
        if message is None:
            raise
        pytest.fail(f"{source}: `gastbench {' '.join(argv)}` does not parse: {message}")
