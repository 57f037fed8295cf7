"""Terminal tables shared by the CLI commands."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

#: Width used when output is not a terminal (logs, pipes): wide enough that ids never wrap.
_PIPE_WIDTH = 200


def console() -> Console:
    probe = Console()
    return probe if probe.is_terminal else Console(width=_PIPE_WIDTH)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str] = ()) -> None:
    """A rich table whose first column (a model or card id) never wraps or truncates."""
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, no_wrap=i == 0, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    console().print(table)
