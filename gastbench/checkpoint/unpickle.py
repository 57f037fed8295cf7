"""Read PyTorch checkpoints as released, without ``torch.load`` and without running their code.

Two containers exist in the wild:

- **zip** (torch >= 1.6): ``<prefix>/data.pkl`` is the object pickle, each storage is the raw
  record ``<prefix>/data/<key>``, and ``<prefix>/byteorder`` says ``little`` or ``big``.
- **legacy** (before 1.6, and what most 2017-2020 repositories released): five things back to
  back -- the magic number pickle, the protocol version pickle (1001), a ``sys_info`` pickle
  (byte order, type sizes), the object pickle whose storages are persistent ids
  ``("storage", type, key, location, numel, view)``, the sorted storage key list, and then for
  each key an int64 element count followed by the storage's raw bytes.

Both are read by :class:`RestrictedUnpickler`, whose ``find_class`` hands out gastbench's own
stand-ins (:mod:`gastbench.safe_pickle`) for an allow-list of names (tensors, storages,
``OrderedDict``, torch dtypes, plain numpy values) and refuses every other global. A stand-in
accepts only the state its real class would be given by torch or numpy itself, so neither
numpy's ``__setstate__`` nor ``Tensor.set_`` ever runs on the file's values. Python 2 pickles
(protocol 2 with ``INT``, ``LONG1``, ``BINSTRING``...) load too: their ``str`` is decoded as
latin1, the only decoding that lets numpy rebuild arrays from Python 2 bytes (ASCII key names
read the same either way).

Every pickle is first walked opcode by opcode with :mod:`pickletools` (nothing executed), so a
truncated file, an oversized length or a runaway memo index is a parse error before the C
unpickler allocates anything for it.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import WeightsError, not_a_file
from ..safe_pickle import (
    Constructor,
    MalformedPickleError,
    UnsafePickleError,
    builtin_globals,
    numpy_globals,
    pickle_end,
    resolve,
)
from .torch_values import (
    STORAGE_DTYPES,
    TORCH_DTYPES,
    ParseError,
    Storage,
    StorageType,
    latin1_bytes,
    rebuild_parameter,
    rebuild_tensor,
    rebuild_tensor_v3,
    torch_size,
)

__all__ = ["load_torch_checkpoint", "RestrictedUnpickler", "LEGACY_MAGIC_NUMBER", "LEGACY_PROTOCOL_VERSION"]

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001


def _allowed_globals() -> dict[tuple[str, str], Any]:
    calls: dict[tuple[str, str], Callable[..., Any]] = {
        ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v3"): rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
        ("torch.nn.parameter", "Parameter"): rebuild_parameter,
        ("torch", "Size"): torch_size,
        ("_codecs", "encode"): latin1_bytes,
    }
    allowed: dict[tuple[str, str], Any] = {key: Constructor(".".join(key), call) for key, call in calls.items()}
    allowed[("collections", "OrderedDict")] = builtin_globals()[("collections", "OrderedDict")]
    for name, dtype in STORAGE_DTYPES.items():
        for module in ("torch", "torch.cuda", "torch.storage"):
            allowed[(module, name)] = StorageType(name, dtype)
    for name, dtype in TORCH_DTYPES.items():
        allowed[("torch", name)] = dtype  # immutable: no __setstate__, no __dict__
    allowed.update(numpy_globals())
    return allowed


_ALLOWED = _allowed_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only build the allow-listed values; storages come from ``load_storage``."""

    def __init__(self, data: bytes, origin: str, load_storage: Callable[[tuple[Any, ...]], Storage] | None) -> None:
        super().__init__(io.BytesIO(data), encoding="latin1")
        self._origin = origin
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise WeightsError(
                f"refused: the file {self._origin} asks for {module}.{name} (not allowed: a pickle can run code); "
                "a checkpoint needs only tensors, containers and plain numpy values"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        if self._load_storage is None:
            raise ParseError("a header pickle refers to a storage")
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise ParseError(f"unknown persistent id {str(pid)[:80]!r} (only storages are expected)")
        return self._load_storage(pid)


def _unpickle(
    data: bytes, start: int, origin: str, load_storage: Callable[[tuple[Any, ...]], Storage] | None = None
) -> tuple[Any, int]:
    try:
        end = pickle_end(data, start)
    except MalformedPickleError as exc:
        raise ParseError(str(exc)) from None
    try:
        value = resolve(RestrictedUnpickler(data[start:end], origin, load_storage).load(), leaves=(torch.dtype,))
    except (WeightsError, ParseError):
        raise
    except UnsafePickleError as exc:
        raise WeightsError(f"refused: the file {origin} is unsafe and was not loaded: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            UnicodeError, OverflowError, MemoryError, RecursionError, RuntimeError, struct.error) as exc:  # fmt: skip
        raise ParseError(f"{type(exc).__name__}: {exc}") from None
    return value, end


def _storage_type_of(pid: tuple[Any, ...]) -> StorageType:
    if len(pid) < 5 or not isinstance(pid[1], StorageType):
        raise ParseError(f"storage id {str(pid)[:80]} does not name a storage type")
    return pid[1]


def _flat_from_bytes(raw: bytes, dtype: torch.dtype, big_endian: bool) -> torch.Tensor:
    size = torch.empty(0, dtype=dtype).element_size()
    array = np.frombuffer(raw, dtype=np.uint8)
    if big_endian and size > 1:
        unit = size // 2 if dtype.is_complex else size
        array = array.reshape(-1, unit)[:, ::-1]
    return torch.from_numpy(array.reshape(-1).copy()).view(dtype)


def _load_zip(data: bytes, origin: str) -> Any:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ParseError(f"damaged zip container ({exc})") from None
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise ParseError(f"a zip container needs exactly one <dir>/data.pkl; found {pickles or 'none'}")
    prefix = pickles[0][: -len("data.pkl")]
    big_endian = False
    if f"{prefix}byteorder" in names:
        order = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise ParseError(f"byteorder record says {order!r}")
        big_endian = order == "big"
    loaded: dict[str, Storage] = {}

    def load_storage(pid: tuple[Any, ...]) -> Storage:
        storage_type = _storage_type_of(pid)
        key, numel = pid[2], pid[4]
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ParseError(f"storage id {str(pid)[:80]} has a bad key or element count")
        if key not in loaded:
            record = f"{prefix}data/{key}"
            try:
                info = archive.getinfo(record)
            except KeyError:
                raise ParseError(f"storage record {record} is missing") from None
            nbytes = numel * torch.empty(0, dtype=storage_type.dtype).element_size()
            if info.file_size != nbytes:
                raise ParseError(f"storage record {record} holds {info.file_size} bytes, its id says {nbytes}")
            try:
                raw = archive.read(record)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ParseError(f"storage record {record} is damaged ({exc})") from None
            loaded[key] = Storage(_flat_from_bytes(raw, storage_type.dtype, big_endian))
        storage = loaded[key]
        if storage.flat.dtype != storage_type.dtype and storage_type.dtype != torch.uint8:
            raise ParseError(f"storage {key} is read as {storage.flat.dtype} and as {storage_type.dtype}")
        return storage

    try:
        pickled = archive.read(pickles[0])
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ParseError(f"{pickles[0]} is damaged ({exc})") from None
    value, _ = _unpickle(pickled, 0, origin, load_storage)
    return value


def _load_legacy(data: bytes, origin: str) -> Any:
    try:
        magic, offset = _unpickle(data, 0, origin)
    except ParseError as exc:
        raise ParseError(f"neither a zip archive nor a legacy checkpoint (no magic number: {exc})") from None
    if magic != LEGACY_MAGIC_NUMBER:
        raise ParseError(
            f"bad magic number {str(magic)[:40]!r} (a legacy checkpoint starts with {LEGACY_MAGIC_NUMBER:#x})"
        )
    version, offset = _unpickle(data, offset, origin)
    if version != LEGACY_PROTOCOL_VERSION:
        raise ParseError(f"legacy protocol version {version!r}, expected {LEGACY_PROTOCOL_VERSION}")
    sys_info, offset = _unpickle(data, offset, origin)
    if not isinstance(sys_info, dict):
        raise ParseError(f"sys_info is a {type(sys_info).__name__}, not a dict")
    big_endian = sys_info.get("little_endian", True) is False
    roots: dict[str, torch.Tensor] = {}

    def load_storage(pid: tuple[Any, ...]) -> Storage:
        storage_type = _storage_type_of(pid)
        key, numel = pid[2], pid[4]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ParseError(f"storage id {str(pid)[:80]} has a bad key or element count")
        nbytes = numel * torch.empty(0, dtype=storage_type.dtype).element_size()
        if nbytes > len(data):
            raise ParseError(f"storage {key} claims {numel} elements ({nbytes} bytes) in a {len(data)}-byte file")
        if key not in roots:
            roots[key] = torch.zeros(numel, dtype=storage_type.dtype)
        root = roots[key]
        if root.dtype != storage_type.dtype:
            raise ParseError(f"storage {key} is read as {root.dtype} and as {storage_type.dtype}")
        if view is None:
            return Storage(root)
        if not (isinstance(view, tuple) and len(view) == 3 and all(isinstance(v, int) for v in view[1:])):
            raise ParseError(f"storage view {str(view)[:80]} is malformed")
        _, start, length = view
        if start < 0 or length < 0 or start + length > root.numel():
            raise ParseError(f"storage view [{start}, {start + length}) exceeds storage {key} of {root.numel()}")
        return Storage(root[start : start + length])

    value, offset = _unpickle(data, offset, origin, load_storage)
    keys, offset = _unpickle(data, offset, origin)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ParseError("the storage key list is not a list of strings")
    count_format = ">q" if big_endian else "<q"
    for key in keys:
        if key not in roots:
            raise ParseError(f"storage key {key!r} is listed but no tensor uses it")
        root = roots[key]
        if offset + 8 > len(data):
            raise ParseError(f"the file ends before storage {key}'s element count (truncated at byte {len(data)})")
        (count,) = struct.unpack_from(count_format, data, offset)
        if count != root.numel():
            raise ParseError(f"storage {key} holds {count} elements, its id says {root.numel()}")
        nbytes = count * root.element_size()
        start, offset = offset + 8, offset + 8 + nbytes
        if offset > len(data):
            raise ParseError(f"storage {key} needs {nbytes} bytes, only {len(data) - start} remain (truncated file)")
        root.copy_(_flat_from_bytes(data[start:offset], root.dtype, big_endian))
    missing = sorted(set(roots) - set(keys))
    if missing:
        raise ParseError(f"storages {missing[:5]} are used but their data is not in the file")
    return value


def load_torch_checkpoint(path: str | Path) -> Any:
    """The object a PyTorch checkpoint holds, built only from tensors, containers and numpy values.

    Reads the zip container and the legacy (pre-1.6) container, Python 3 and Python 2 pickles,
    CPU and CUDA storages (always loaded to the CPU). Raises :class:`WeightsError`:
    ``"refused: the file ... asks for module.name ..."`` when the pickle names anything outside
    the allow-list, ``"cannot parse FILE as a PyTorch checkpoint: why"`` when it is malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} {not_a_file(path)}")
    data = path.read_bytes()
    origin = str(path)
    try:
        if not data:
            raise ParseError("the file is empty")
        if data[:4] == b"PK\x03\x04":
            return _load_zip(data, origin)
        if data[257:262] == b"ustar":
            raise ParseError("a tar container (torch < 0.1.10) is not supported; re-save it with a newer torch")
        return _load_legacy(data, origin)
    except ParseError as exc:
        raise WeightsError(f"cannot parse {path} as a PyTorch checkpoint: {exc}") from None
