"""The ``gastbench`` command: Typer commands over the Python API.

Each command group lives in its own module exposing ``register(app)``. A command parses its
options, calls the library, and formats what it returns (tables, JSON, one-line errors); the
computation is the library's, so a script gets the same results without the CLI. Library
modules log through :mod:`logging`; the CLI shows the ``gastbench`` loggers' INFO lines on
stderr through rich.

Exit codes: 0 success; 1 the command ran and its verdict is negative (``gastbench check`` found a
failing check); 2 a usage error (an unknown option or a malformed value, reported by Typer);
3 a gastbench error (a file, weights, model or setting that does not fit), one line on stderr.
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
    # plain help: rich's panels cut long option names and words at 80 columns, click's wraps them
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


def _show_library_logs() -> None:
    """Route the ``gastbench`` loggers' INFO lines to stderr through rich (once per process)."""
    import logging

    logger = logging.getLogger("gastbench")
    if any(getattr(h, "_gastbench_cli", False) for h in logger.handlers):
        return
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, show_level=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._gastbench_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the gastbench version and exit.", is_eager=True, callback=_print_version
    ),
) -> None:
    """Benchmark and model zoo for 2D-to-3D human pose lifting."""
    _show_library_logs()


def _register_commands() -> None:
    from . import check, convert, data, evaluate, export, infer, leaderboard, models, site, train, viz, zoo

    for module in (models, evaluate, zoo, convert, export, check, leaderboard, site, train, viz, infer, data):
        module.register(app)


_register_commands()


#: A gastbench error (data, weights, a setting that does not fit): not Typer's usage error (2).
EXIT_GASTBENCH_ERROR = 3


def main() -> None:
    """Console entry point: a deliberate gastbench error is one red line and exit code 3."""
    try:
        app(standalone_mode=True)
    except GastbenchError as exc:
        from rich.console import Console
        from rich.markup import escape

        # Escaped: messages quote install commands such as 'gastbench[transformers]'.
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_GASTBENCH_ERROR)
