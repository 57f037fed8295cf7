"""numpy's pickled dtypes, arrays and scalars, rebuilt by gastbench from checked states and bytes."""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .base import Constructor, StandIn, UnsafePickleError, kind_of, refuse_call, short

__all__ = [
    "check_plain_dtype",
    "is_object_dtype",
    "DTypeStandIn",
    "ArrayStandIn",
    "ScalarStandIn",
    "numpy_globals",
    "builtin_globals",
]

_PLAIN_KINDS = frozenset("biufcSU")  # bool, int, uint, float, complex, bytes, unicode
_MAX_STRING_ITEMSIZE = 1 << 16
_MAX_DIMS = 32


def check_plain_dtype(dtype: np.dtype, what: str = "an array") -> None:
    """Raise :class:`UnsafePickleError` unless ``dtype`` is a plain, pointer-free dtype numpy itself would build."""
    kind = dtype.kind
    if kind not in _PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
        raise UnsafePickleError(
            f"{what} has dtype {dtype!r}; only booleans, integers, floats, complex numbers and fixed-width "
            "strings are read (structured, void, object and datetime dtypes are refused)"
        )
    canonical = np.dtype(dtype.str)
    if type(dtype) is not type(canonical) or dtype.flags != canonical.flags or dtype.metadata is not None:
        raise UnsafePickleError(f"{what} has a dtype {dtype.str} whose flags or metadata differ from numpy's own")
    if kind in "SU" and not 0 < dtype.itemsize <= _MAX_STRING_ITEMSIZE:
        raise UnsafePickleError(f"{what} has strings of {dtype.itemsize} bytes each")


def is_object_dtype(dtype: np.dtype) -> bool:
    return dtype == np.dtype(object)


def _text(value: Any, what: str) -> str:
    """Python 2 pickles carry ``str`` as bytes decoded as latin1; Python 3 ones as ``str`` or ``bytes``."""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    raise UnsafePickleError(f"{what} is a {type(value).__name__}, not text")


def _flag(value: Any, what: str) -> bool:
    if type(value) is bool or (type(value) is int and value in (0, 1)):
        return bool(value)
    raise UnsafePickleError(f"{what} is {value!r}, not a boolean")


def _dtype_from_spec(spec: Any) -> np.dtype:
    text = _text(spec, "a dtype's type code")
    if len(text) > 12 or not text.isascii():
        raise UnsafePickleError(f"dtype type code {text[:20]!r} is not a plain type code")
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, SyntaxError) as exc:
        raise UnsafePickleError(f"dtype type code {text!r} is not understood by numpy ({exc})") from None
    if not is_object_dtype(dtype):
        check_plain_dtype(dtype, f"dtype {text!r}")
    return dtype


class DTypeStandIn(StandIn):
    """``numpy.dtype(spec, align, copy)`` followed by the state numpy writes for exactly that dtype."""

    __slots__ = ("dtype", "_built")

    def __init__(self, spec: Any, align: Any = False, copy: Any = True, *extra: Any) -> None:
        if extra or _flag(align, "dtype argument 'align'"):
            raise UnsafePickleError("a dtype is built with alignment or extra arguments; plain dtypes need neither")
        _flag(copy, "dtype argument 'copy'")
        self.dtype = _dtype_from_spec(spec)
        self._built = False

    def describe(self) -> str:
        return f"dtype {self.dtype.str}"

    def __setstate__(self, state: Any) -> None:
        if self._built:
            raise UnsafePickleError(f"the pickle sets the state of {self.describe()} twice")
        expected = self.dtype.__reduce__()[2]
        if not isinstance(state, tuple) or len(state) != len(expected):
            raise UnsafePickleError(f"{self.describe()} gets the state {short(state)}; numpy writes {expected}")
        endian = _text(state[1], "a dtype's byte order")
        if state[0] != expected[0] or type(state[0]) is not int:
            raise UnsafePickleError(
                f"{self.describe()} has state version {short(state[0])}; numpy writes {expected[0]}"
            )
        # Everything but the byte order (subarray, names, fields, sizes, flags) must be numpy's own.
        for got, want in zip(state[2:], expected[2:]):
            if type(got) is not type(want) or got != want:
                raise UnsafePickleError(
                    f"{self.describe()} gets the state {short(state)}; numpy writes {expected} "
                    "(only the byte order may differ)"
                )
        single_byte = expected[1] == "|"
        if (single_byte and endian != "|") or (not single_byte and endian not in ("<", ">", "=")):
            raise UnsafePickleError(f"{self.describe()} has byte order {endian!r}")
        if endian == "<":
            self.dtype = self.dtype.newbyteorder("<")
        elif endian == ">":
            self.dtype = self.dtype.newbyteorder(">")
        self._built = True

    def resolve(self) -> np.dtype:
        return self.dtype


def _dtype_of(value: Any, what: str) -> np.dtype:
    if not isinstance(value, DTypeStandIn):
        raise UnsafePickleError(f"{what} is a {kind_of(value)}, not a dtype")
    return value.dtype


# --- arrays and scalars -------------------------------------------------------------------------


def _shape(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or len(value) > _MAX_DIMS:
        raise UnsafePickleError(f"{what} is {short(value)}, not a tuple of at most {_MAX_DIMS} sizes")
    if not all(type(n) is int and n >= 0 for n in value):
        raise UnsafePickleError(f"{what} {short(value)} holds something other than non-negative integers")
    return value


def _raw_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # Python 2's str, decoded as latin1 by the unpickler: its bytes again
        try:
            return value.encode("latin1")
        except UnicodeEncodeError:
            raise UnsafePickleError(f"{what} is text that no byte string decodes to") from None
    raise UnsafePickleError(f"{what} is a {kind_of(value)}, not bytes")


class ArrayStandIn(StandIn):
    """``_reconstruct(ndarray, (0,), b"b")`` followed by ``(version, shape, dtype, fortran, data)``."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def describe(self) -> str:
        return "an array" if self.array is None else f"an array of shape {self.array.shape}"

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise UnsafePickleError("the pickle sets the state of an array twice")
        if isinstance(state, tuple) and len(state) == 5:
            if type(state[0]) is not int or state[0] != 1:
                raise UnsafePickleError(f"array state version {short(state[0])}; numpy writes 1")
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise UnsafePickleError(
                f"an array gets the state {short(state)}; numpy writes (1, shape, dtype, fortran, data)"
            )
        shape = _shape(state[0], "an array's shape")
        dtype = _dtype_of(state[1], "an array's dtype")
        order: Literal["C", "F"] = "F" if _flag(state[2], "an array's Fortran flag") else "C"
        count = math.prod(shape)
        data = state[3]
        if is_object_dtype(dtype):
            # numpy pickles object arrays as a list of the elements; never as bytes.
            if not isinstance(data, list) or len(data) != count:
                raise UnsafePickleError(
                    f"an object array of shape {shape} comes with {kind_of(data)} instead of a list of {count} values"
                )
            flat = np.empty(count, dtype=object)
            for index, element in enumerate(data):
                flat[index] = element
            self.array = flat.reshape(shape, order=order)
            return
        raw = _raw_bytes(data, f"the data of a {dtype.str} array of shape {shape}")
        if len(raw) != count * dtype.itemsize:
            raise UnsafePickleError(
                f"a {dtype.str} array of shape {shape} needs {count * dtype.itemsize} bytes of data, the pickle has {len(raw)}"
            )
        self.array = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order=order).copy(order="K")

    def resolve(self) -> np.ndarray:
        if self.array is None:
            raise UnsafePickleError("an array is created but never given its data")
        return self.array


class ScalarStandIn(StandIn):
    """``numpy.core.multiarray.scalar(dtype, data)``: one plain value from its bytes."""

    __slots__ = ("value",)

    def __init__(self, dtype: Any, data: Any = None, *extra: Any) -> None:
        resolved = _dtype_of(dtype, "a numpy scalar's dtype")
        if extra or is_object_dtype(resolved):
            raise UnsafePickleError("a numpy scalar is built from an object dtype or extra arguments")
        raw = _raw_bytes(data, f"the data of a {resolved.str} scalar")
        if len(raw) != resolved.itemsize:
            raise UnsafePickleError(
                f"a {resolved.str} scalar needs {resolved.itemsize} bytes, the pickle has {len(raw)}"
            )
        self.value = np.frombuffer(raw, dtype=resolved, count=1)[0]

    def describe(self) -> str:
        return "a numpy scalar"

    def resolve(self) -> Any:
        return self.value


def _reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b", *extra: Any) -> ArrayStandIn:
    if cls is not _NDARRAY or extra:
        raise UnsafePickleError(f"numpy's _reconstruct is asked for {kind_of(cls)}; only a plain ndarray is rebuilt")
    _shape(shape, "_reconstruct's shape")
    _text(typecode, "_reconstruct's type code")
    return ArrayStandIn()


_NDARRAY = Constructor("numpy.ndarray", refuse_call("numpy.ndarray", "which numpy's pickles only pass to _reconstruct"))


def _dtype_class(name: str, dtype_class: type) -> Constructor:
    def build(*args: Any) -> DTypeStandIn:
        if args:
            raise UnsafePickleError(f"numpy.dtypes.{name} is called with arguments")
        return DTypeStandIn(np.dtype(dtype_class).str)

    return Constructor(f"numpy.dtypes.{name}", build, value=dtype_class)


def numpy_globals() -> dict[tuple[str, str], Any]:
    """The numpy names a pickle of plain arrays and scalars uses (numpy 1.x and 2.x paths), as stand-ins."""
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): Constructor("numpy.dtype", DTypeStandIn),
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = Constructor(f"{module}._reconstruct", _reconstruct)
        allowed[(module, "scalar")] = Constructor(f"{module}.scalar", ScalarStandIn)
    dtypes = getattr(np, "dtypes", None)
    for name in dir(dtypes) if dtypes is not None else ():
        dtype_class = getattr(dtypes, name)
        if not (name.endswith("DType") and isinstance(dtype_class, type)):
            continue
        try:
            check_plain_dtype(np.dtype(dtype_class))
        except (UnsafePickleError, TypeError, ValueError):
            continue  # object, void, datetime, string-of-variable-width classes: never needed for plain data
        allowed[("numpy.dtypes", name)] = _dtype_class(name, dtype_class)
    return allowed


def builtin_globals() -> dict[tuple[str, str], Any]:
    """``dict``, ``list``, ``str`` and ``OrderedDict`` called by name (old protocols do): plain constructors."""

    def container(kind: type) -> Callable[..., Any]:
        def build(*args: Any) -> Any:
            if len(args) > 1 or (args and not isinstance(args[0], (list, tuple, dict, str, bytes))):
                raise UnsafePickleError(f"{kind.__name__} is called with {short(args)}")
            return kind(*args)

        return build

    allowed: dict[tuple[str, str], Any] = {}
    for module in ("builtins", "__builtin__"):
        for kind in (dict, list, str):
            allowed[(module, kind.__name__)] = Constructor(f"{module}.{kind.__name__}", container(kind))
    allowed[("collections", "OrderedDict")] = Constructor("collections.OrderedDict", container(collections.OrderedDict))
    return allowed
