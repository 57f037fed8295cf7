"""The one progress bar of the project (rich), shared by evaluation and training."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


def progress_bar(enabled: bool, *, elapsed: bool = False, info: bool = False) -> Any:
    """A transient rich ``Progress``: description, bar, n/m, then time remaining (or elapsed).

    ``info=True`` adds a free text column filled from the task's ``info`` field (e.g. the loss).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns: list[Any] = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn() if elapsed else TimeRemainingColumn(),
    ]
    if info:
        columns.append(TextColumn("{task.fields[info]}"))
    return Progress(*columns, disable=not enabled, transient=True)
