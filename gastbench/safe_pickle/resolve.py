"""Swap a loaded pickle's stand-ins for their values, checking every container and array on the way."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import StandIn, UnsafePickleError, hashable, kind_of
from .numpy_values import check_plain_dtype, is_object_dtype

__all__ = ["resolve", "MAX_NESTING"]

MAX_NESTING = 64

_LEAVES = (str, bytes, int, float, complex, bool, type(None), np.generic)


def resolve(value: Any, leaves: tuple[type, ...] = (), max_nesting: int = MAX_NESTING) -> Any:
    """``value`` with every stand-in replaced by what it built, containers rebuilt, arrays checked.

    ``leaves`` names further immutable types kept as they are (a checkpoint's torch dtypes). Anything else a
    pickle could have produced -- a bare function, a cycle, nesting deeper than ``max_nesting``
    levels, an array whose dtype is not plain -- raises :class:`UnsafePickleError`.
    """
    done: dict[int, Any] = {}
    active: set[int] = set()
    keep: list[Any] = []  # keeps originals alive so that ids in ``done`` are never reused

    def visit(item: Any, depth: int) -> Any:
        if isinstance(item, _LEAVES) and not isinstance(item, StandIn):
            return item
        key = id(item)
        if key in done:
            return done[key]
        if key in active:
            raise UnsafePickleError("the data refers to itself (a cycle); data files hold trees of values")
        if depth > max_nesting:
            raise UnsafePickleError(f"the data is nested more than {max_nesting} levels deep")
        active.add(key)
        try:
            out = build(item, depth)
        finally:
            active.discard(key)
        done[key] = out
        keep.append(item)
        return out

    def build(item: Any, depth: int) -> Any:
        if isinstance(item, StandIn):
            inner = item.resolve()
            if isinstance(inner, np.ndarray):
                return visit_array(inner, depth)
            return inner
        if isinstance(item, np.ndarray):
            return visit_array(item, depth)
        if isinstance(item, dict):
            pairs = [(hashable(visit(k, depth + 1)), visit(v, depth + 1)) for k, v in item.items()]
            item.clear()
            item.update(pairs)
            extra = getattr(item, "__dict__", None)  # an OrderedDict's attributes, e.g. torch's _metadata
            if extra:
                for name in list(extra):
                    extra[name] = visit(extra[name], depth + 1)
            return item
        if isinstance(item, list):
            item[:] = [visit(v, depth + 1) for v in item]
            return item
        if isinstance(item, tuple) and type(item) is tuple:
            return tuple(visit(v, depth + 1) for v in item)
        if isinstance(item, (set, frozenset)):
            return type(item)(hashable(visit(v, depth + 1)) for v in item)
        if leaves and isinstance(item, leaves):
            return item
        raise UnsafePickleError(f"the data holds a {kind_of(item)}, which a data or weights file never needs")

    def visit_array(array: np.ndarray, depth: int) -> np.ndarray:
        if type(array) is not np.ndarray:
            raise UnsafePickleError(f"the data holds a {type(array).__name__}, not a plain ndarray")
        if is_object_dtype(array.dtype) and array.dtype.flags == np.dtype(object).flags:
            for index in np.ndindex(array.shape):
                array[index] = visit(array[index], depth + 1)
            return array
        check_plain_dtype(array.dtype)
        return array

    return visit(value, 0)
