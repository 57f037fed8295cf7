"""The ``gastbench`` command: thin Typer commands over the Python API.

Each command group lives in its own module exposing ``register(app)``; none holds logic
that the library lacks.
"""

from __future__ import annotations

import sys

import typer

from ..errors import GastbenchError

app = typer.Typer(
    name="gastbench",
    help="Benchmark and model zoo for 2D-to-3D human pose lifting.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the gastbench version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Benchmark and model zoo for 2D-to-3D human pose lifting."""


def _register_commands() -> None:
    from . import check, convert, evaluate, leaderboard, models, train, viz, zoo

    for module in (models, evaluate, zoo, convert, check, leaderboard, train, viz):
        module.register(app)


_register_commands()


def main() -> None:
    """Console entry point: a deliberate gastbench error is one red line and exit code 2."""
    try:
        app(standalone_mode=True)
    except GastbenchError as exc:
        from rich.console import Console
        from rich.markup import escape

        # Escaped: messages quote install commands such as 'gastbench[transformers]'.
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
