"""Checking plain dataclass records (configs, recipes, result records) against their type hints.

Files are read from outside: a ``"no"`` where a bool belongs, a string where a number belongs or
an infinite float must be refused by name, not silently taken for something else.
"""

from __future__ import annotations

import math
from dataclasses import fields
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import ConfigError

__all__ = ["check_field_types", "matches"]


def check_field_types(obj: Any, where: str, cls: type | None = None, error: type[Exception] = ConfigError) -> None:
    """A :class:`ConfigError` naming the field, the expected type and the value given (for ``cls``'s fields)."""
    hints = get_type_hints(cls or type(obj))
    for f in fields(cls or obj):
        value = getattr(obj, f.name)
        if not matches(value, hints[f.name]):
            hint = hints[f.name]
            expected = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
            raise error(f"{where}: {f.name} must be {expected}, got {_brief(value)} ({type(value).__name__})")


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the type ``hint`` (the simple types a config holds)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return value in args
    if origin in (Union, UnionType):
        return any(matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        try:
            return math.isfinite(value)
        except OverflowError:  # an int too large for a float (10**400)
            return False
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and all(matches(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    return True


def _brief(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
