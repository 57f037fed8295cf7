"""One exception family per kind of failure, so callers can catch what they can handle.

Every message says what was expected, what was found and what to do about it.
"""

from __future__ import annotations


class GastbenchError(Exception):
    """Base class of every error gastbench raises on purpose."""


class ConfigError(GastbenchError, ValueError):
    """A name, option or combination of options that does not exist or does not fit."""


class ShapeError(GastbenchError, ValueError):
    """A tensor or array whose shape does not match the contract."""


class DataError(GastbenchError):
    """A dataset file that is missing, malformed or unsafe to load."""


class WeightsError(GastbenchError):
    """Weights that cannot be found, verified or loaded into a model."""


class OutputError(GastbenchError):
    """An output that cannot be written: a read-only folder, a full disk."""


def not_a_file(path: object) -> str:
    """Why ``path`` cannot be read as a file: ``"is a directory, not a file"`` or ``"does not exist"``."""
    from pathlib import Path

    return "is a directory, not a file" if Path(str(path)).is_dir() else "does not exist"


def all_problems(problems: list[GastbenchError]) -> GastbenchError:
    """Several independent problems as one error, numbered, each with what to do (the first one's type)."""
    if len(problems) == 1:
        return problems[0]
    text = "; ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
    return type(problems[0])(f"{len(problems)} things are missing or wrong: {text}")
