"""The parts every restricted unpickler shares: errors, the opcode check, stand-ins and guarded callables."""

from __future__ import annotations

import pickletools
import reprlib
from collections.abc import Callable
from typing import Any

__all__ = [
    "UnsafePickleError", "MalformedPickleError", "pickle_end", "BufferReader", "StandIn", "Constructor", "refuse_call",
    "kind_of", "short",
]  # fmt: skip


class UnsafePickleError(ValueError):
    """The pickle asks for a value outside what a data or weights file needs, or states it wrongly."""


class MalformedPickleError(ValueError):
    """The bytes are not a well-formed pickle (truncated, oversized lengths, runaway memo indices)."""


class BufferReader:
    """A read-only file over a buffer, without the copy ``io.BytesIO`` makes of a ``bytearray``.

    Reads are bounded by what remains, so a length field of 2**62 in a file asks for nothing.
    """

    def __init__(self, buffer: bytes | bytearray | memoryview, start: int = 0) -> None:
        self._view = memoryview(buffer).cast("B")
        self._pos = start

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        chunk = self._view[self._pos : end].tobytes()
        self._pos = max(self._pos, end)
        return chunk

    def readinto(self, target: Any) -> int:
        chunk = self._view[self._pos : self._pos + len(target)]
        target[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def readline(self, size: int = -1) -> bytes:
        stop = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        pos = self._pos
        while pos < stop:  # searched in pieces: a file without newlines is never copied whole
            piece_end = min(stop, pos + 4096)
            found = self._view[pos:piece_end].tobytes().find(b"\n")
            if found >= 0:
                return self.read(pos + found + 1 - self._pos)
            pos = piece_end
        return self.read(stop - self._pos)

    def tell(self) -> int:
        return self._pos


def pickle_end(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """Offset just after the pickle starting at ``start``; every opcode is checked, none is run.

    A truncated file, an oversized length or a memo index beyond the opcodes seen so far (which
    would make the C unpickler allocate a memo of that size) is a :class:`MalformedPickleError`
    before anything is built.
    """
    stream = BufferReader(data, start)
    ops = 0
    try:
        for opcode, arg, pos in pickletools.genops(stream):  # type: ignore[arg-type]  # any object with read/readline/tell
            ops += 1
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"):
                if not isinstance(arg, int) or not 0 <= arg <= ops:
                    raise MalformedPickleError(f"memo index {arg!r} at byte {pos} is out of range")
            elif opcode.name in ("EXT1", "EXT2", "EXT4"):
                raise MalformedPickleError(f"opcode {opcode.name} at byte {pos} uses the copyreg extension registry")
            elif opcode.name == "STOP":
                return stream.tell()
    except ValueError as exc:  # pickletools' wording: truncation, oversized lengths, unknown opcodes
        if isinstance(exc, MalformedPickleError):
            raise
        raise MalformedPickleError(str(exc)) from None
    raise MalformedPickleError(f"the pickle starting at byte {start} has no STOP opcode (truncated file?)")


class StandIn:
    """What a pickle gets instead of a real object: it accepts only the state it expects."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise UnsafePickleError(f"the pickle sets a state on {self.describe()}, which takes none")

    def describe(self) -> str:
        return type(self).__name__

    def resolve(self) -> Any:
        """The value this stand-in built; its containers are resolved by :func:`resolve`."""
        raise UnsafePickleError(f"{self.describe()} appears in the data as a value; a file holds values, not functions")


class Constructor(StandIn):
    """An allow-listed callable as the pickle sees it: callable, with no state to set."""

    __slots__ = ("name", "_build", "_value")

    def __init__(self, name: str, build: Callable[..., Any], value: Any = None) -> None:
        self.name = name
        self._build = build
        self._value = value  # what the name stands for when it appears as a value (a class), if allowed

    def __call__(self, *args: Any) -> Any:
        return self._build(*args)

    def describe(self) -> str:
        return self.name

    def resolve(self) -> Any:
        if self._value is None:
            return super().resolve()
        return self._value


def refuse_call(name: str, why: str) -> Callable[..., Any]:
    def refuse(*_args: Any) -> Any:
        raise UnsafePickleError(f"the pickle calls {name}, {why}")

    return refuse


def hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        raise UnsafePickleError(f"a {kind_of(value)} is used as a dictionary key or set member") from None
    return value


def kind_of(value: Any) -> str:
    if isinstance(value, StandIn):
        return value.describe()
    return type(value).__name__


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother, _BRIEF.maxtuple = 3, 40, 40, 10


def short(value: Any) -> str:
    """A bounded description of a value from a file: never the whole of a huge or deeply nested one."""
    return value.describe() if isinstance(value, StandIn) else _BRIEF.repr(value)
