"""The torch values a checkpoint pickle may build: storages, tensors, sizes; as checked stand-ins.

A rebuilt tensor is a stand-in until the whole pickle is read (``Tensor.__setstate__`` calls
``set_`` with whatever it is given, so a real tensor must never be handed a file's state).
"""

from __future__ import annotations

from typing import Any

import torch

from ..safe_pickle import StandIn

__all__ = [
    "STORAGE_DTYPES", "TORCH_DTYPES", "ParseError", "Storage", "StorageType", "TensorStandIn", "as_int_tuple",
    "latin1_bytes", "rebuild_parameter", "rebuild_tensor", "rebuild_tensor_v3", "torch_size",
]  # fmt: skip

STORAGE_DTYPES: dict[str, torch.dtype] = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
    "UntypedStorage": torch.uint8,
}

TORCH_DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, name)
    for name in ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
}


class ParseError(Exception):
    """Malformed content; turned into one "cannot parse" message by the caller."""


class StorageType(StandIn):
    """Stand-in for ``torch.FloatStorage`` & co.: only its element type is ever used."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: torch.dtype) -> None:
        self.name, self.dtype = name, dtype

    def describe(self) -> str:
        return f"torch.{self.name}"


class Storage(StandIn):
    """A storage's elements as a flat tensor (possibly a slice of a legacy root storage)."""

    __slots__ = ("flat",)

    def __init__(self, flat: torch.Tensor) -> None:
        self.flat = flat

    def describe(self) -> str:
        return "a storage outside any tensor"


class TensorStandIn(StandIn):
    """A rebuilt tensor; unlike ``torch.Tensor`` it takes no state (``Tensor.__setstate__`` calls ``set_``)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def describe(self) -> str:
        return f"a tensor of shape {tuple(self.tensor.shape)}"

    def resolve(self) -> torch.Tensor:
        return self.tensor


def as_int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, torch.Size):
        value = tuple(value)
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ParseError(f"tensor {what} is {value!r}, not a tuple of integers")
    return value


def rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_ignored: Any) -> TensorStandIn:
    """The tensor ``torch._utils._rebuild_tensor[_v2]`` would build, checked against its storage."""
    if not isinstance(storage, Storage):
        raise ParseError(f"a tensor is built on {type(storage).__name__}, not on a storage")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise ParseError(f"tensor storage offset {storage_offset!r} is not a non-negative integer")
    size_t, stride_t = as_int_tuple(size, "size"), as_int_tuple(stride, "stride")
    if len(size_t) != len(stride_t) or any(s < 0 for s in size_t) or any(s < 0 for s in stride_t):
        raise ParseError(f"tensor size {size_t} and stride {stride_t} do not fit together")
    available = storage.flat.numel()
    if all(size_t):
        last = storage_offset + sum((n - 1) * s for n, s in zip(size_t, stride_t))
        if last >= available:
            raise ParseError(
                f"tensor of size {size_t}, stride {stride_t} at offset {storage_offset} reaches element {last} "
                f"of a storage holding {available}"
            )
    return TensorStandIn(storage.flat.as_strided(size_t, stride_t, storage.flat.storage_offset() + storage_offset))


def rebuild_tensor_v3(
    storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any, dtype: Any, *_: Any
) -> TensorStandIn:
    if not isinstance(storage, Storage) or not isinstance(dtype, torch.dtype):
        raise ParseError("a tensor (v3) is built on something that is not a storage and a dtype")
    if storage.flat.dtype != dtype:
        if storage.flat.dtype != torch.uint8 or storage.flat.numel() % torch.empty(0, dtype=dtype).element_size():
            raise ParseError(f"a {dtype} tensor is built on a {storage.flat.dtype} storage")
        storage = Storage(storage.flat.view(dtype))
    return rebuild_tensor(storage, storage_offset, size, stride)


def rebuild_parameter(data: Any, *_ignored: Any) -> TensorStandIn:
    """Parameters come back as plain tensors: conversion needs the values, not autograd state."""
    if not isinstance(data, TensorStandIn):
        raise ParseError(f"a parameter wraps {type(data).__name__}, not a tensor")
    return data


def torch_size(*args: Any) -> tuple[int, ...]:
    return as_int_tuple(tuple(args[0]) if args else (), "torch.Size")


def latin1_bytes(text: Any, encoding: Any = "utf-8", *_: Any) -> bytes:
    """Protocol 2 spells ``bytes`` as ``_codecs.encode(text, "latin1")``; only that use is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ParseError(f"_codecs.encode is used with {type(text).__name__} and {encoding!r}, not to spell bytes")
    return text.encode("latin1")
