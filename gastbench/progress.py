"""The one progress display of the project, shared by evaluation and training.

On a terminal: a transient rich bar. Elsewhere (a log file, CI, a pipe): a line on the
``gastbench.progress`` logger every 10% of the work, so a long run still says how far it got.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from types import TracebackType
from typing import Any

__all__ = ["progress_bar"]

_LOG = logging.getLogger("gastbench.progress")


class _LoggedProgress:
    """The part of rich's ``Progress`` this project uses, reporting through logging instead of drawing."""

    def __init__(self, step: float = 0.1) -> None:
        self._tasks: dict[int, dict[str, Any]] = {}
        self._step = step

    def __enter__(self) -> _LoggedProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        task = len(self._tasks)
        self._tasks[task] = {"description": description, "total": total, "done": 0.0, "next": self._step,
                             "started": time.perf_counter(), "fields": dict(fields)}  # fmt: skip
        return task

    def update(self, task: int, *, advance: float = 0.0, completed: float | None = None, **fields: Any) -> None:
        state = self._tasks[task]
        state["done"] = completed if completed is not None else state["done"] + advance
        state["fields"].update({k: v for k, v in fields.items() if k not in ("description", "total")})
        total = state["total"]
        if not total:
            return
        fraction = state["done"] / total
        if fraction + 1e-9 >= state["next"]:
            while state["next"] <= fraction + 1e-9:
                state["next"] += self._step
            elapsed = time.perf_counter() - state["started"]
            info = state["fields"].get("info")
            _LOG.info("%s: %d%% (%g/%g, %.0f s)%s", state["description"], round(100 * min(fraction, 1.0)),
                      state["done"], total, elapsed, f" {info}" if info else "")  # fmt: skip

    def remove_task(self, task: int) -> None:
        self._tasks.pop(task, None)


def _rich_progress() -> Any:
    """rich's progress module; its first import draws from Python's global RNG (rich.style seeds its
    link ids), so the caller's random stream is put back as it was."""
    state = random.getstate()
    try:
        from rich import progress
    finally:
        random.setstate(state)
    return progress


def progress_bar(enabled: bool, *, elapsed: bool = False, info: bool = False) -> Any:
    """A transient rich ``Progress`` (description, bar, n/m, time remaining or elapsed) on a terminal,
    log lines every 10% otherwise; nothing when not ``enabled``.

    ``info=True`` adds a free text column filled from the task's ``info`` field (e.g. the loss).
    """
    if enabled and not sys.stderr.isatty():
        return _LoggedProgress()
    rp = _rich_progress()
    columns: list[Any] = [
        rp.TextColumn("[progress.description]{task.description}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TimeElapsedColumn() if elapsed else rp.TimeRemainingColumn(),
    ]
    if info:
        columns.append(rp.TextColumn("{task.fields[info]}"))
    return rp.Progress(*columns, disable=not enabled, transient=True)
