"""The restricted checkpoint reader: Python 2 legacy files built byte by byte, torch's own files, hostile files."""

from __future__ import annotations

import collections
import io
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gastbench.checkpoint.unpickle import LEGACY_MAGIC_NUMBER, load_torch_checkpoint
from gastbench.errors import WeightsError

# --- a Python 2 protocol-2 pickle, opcode by opcode -------------------------------------------

PROTO2, STOP, MARK, TUPLE, EMPTY_TUPLE = b"\x80\x02", b".", b"(", b"t", b")"
EMPTY_DICT, SETITEMS, EMPTY_LIST, APPENDS, REDUCE, BINPERSID = b"}", b"u", b"]", b"e", b"R", b"Q"
NONE, NEWTRUE, NEWFALSE = b"N", b"\x88", b"\x89"


def INT(value: int) -> bytes:  # noqa: N802 - named after the opcode; Python 2 wrote ints > 2**31 this way
    return b"I" + str(value).encode() + b"\n"


def LONG1(value: int) -> bytes:  # noqa: N802 - Python 2 ``long``
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def BININT1(value: int) -> bytes:  # noqa: N802
    return b"K" + bytes([value])


def SHORT_BINSTRING(text: str) -> bytes:  # noqa: N802 - Python 2 ``str``
    return b"U" + bytes([len(text)]) + text.encode("ascii")


def BINSTRING(text: str) -> bytes:  # noqa: N802 - Python 2 ``str`` longer than 255 bytes
    return b"T" + struct.pack("<i", len(text)) + text.encode("ascii")


def BINFLOAT(value: float) -> bytes:  # noqa: N802
    return b"G" + struct.pack(">d", value)


def GLOBAL(module: str, name: str) -> bytes:  # noqa: N802
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def dict_of(*pairs: tuple[bytes, bytes]) -> bytes:
    return EMPTY_DICT + MARK + b"".join(k + v for k, v in pairs) + SETITEMS


def ordered_dict_of(*pairs: tuple[bytes, bytes]) -> bytes:
    return (
        GLOBAL("collections", "OrderedDict")
        + EMPTY_TUPLE
        + REDUCE
        + MARK
        + b"".join(k + v for k, v in pairs)
        + SETITEMS
    )


def tensor(
    key: str, numel: int, size: tuple[int, ...], stride: tuple[int, ...], storage: str = "FloatStorage"
) -> bytes:
    storage_id = tup(SHORT_BINSTRING("storage"), GLOBAL("torch", storage), SHORT_BINSTRING(key),
                     SHORT_BINSTRING("cuda:0"), INT(numel), NONE) + BINPERSID  # fmt: skip
    return GLOBAL("torch._utils", "_rebuild_tensor_v2") + tup(
        storage_id, BININT1(0), tup(*map(BININT1, size)), tup(*map(BININT1, stride)), NEWFALSE,
        ordered_dict_of()) + REDUCE  # fmt: skip


def legacy_file(obj_pickle: bytes, storages: list[tuple[str, np.ndarray]], big_endian: bool = False) -> bytes:
    """magic, protocol version, sys_info, object, sorted key list, then count + raw bytes per storage."""
    sys_info = dict_of(
        (SHORT_BINSTRING("protocol_version"), INT(1001)),
        (SHORT_BINSTRING("little_endian"), NEWFALSE if big_endian else NEWTRUE),
        (SHORT_BINSTRING("type_sizes"), dict_of((SHORT_BINSTRING("short"), BININT1(2)),
                                                (SHORT_BINSTRING("int"), BININT1(4)),
                                                (SHORT_BINSTRING("long"), BININT1(8)))),
    )  # fmt: skip
    keys = EMPTY_LIST + MARK + b"".join(SHORT_BINSTRING(k) for k, _ in storages) + APPENDS
    out = [PROTO2 + LONG1(LEGACY_MAGIC_NUMBER) + STOP, PROTO2 + INT(1001) + STOP, PROTO2 + sys_info + STOP,
           PROTO2 + obj_pickle + STOP, PROTO2 + keys + STOP]  # fmt: skip
    for _, values in storages:
        order = ">" if big_endian else "<"
        out.append(struct.pack(order + "q", values.size) + values.astype(values.dtype.newbyteorder(order)).tobytes())
    return b"".join(out)


WEIGHT = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
STEPS = np.array([3, -(2**40)], dtype=np.int64)
OPTIMIZER_KEY = 140_234_567_890_123  # an id() used as a key, beyond 32 bits: Python 2 wrote INT


def python2_checkpoint(big_endian: bool = False) -> bytes:
    obj = dict_of(
        (SHORT_BINSTRING("state_dict"), ordered_dict_of(
            (SHORT_BINSTRING("w1.weight"), tensor("94001", 6, (2, 3), (3, 1))),
            (SHORT_BINSTRING("w1.bias"), tensor("94001", 6, (3,), (1,))),  # shares the storage
            (SHORT_BINSTRING("bn.num_batches_tracked"), tensor("94002", 2, (2,), (1,), "LongStorage")))),
        (SHORT_BINSTRING("epoch"), BININT1(200)),
        (SHORT_BINSTRING("lr"), BINFLOAT(2.5e-4)),
        (SHORT_BINSTRING("err"), LONG1(2**70)),
        (SHORT_BINSTRING("note"), BINSTRING("x" * 300)),
        (SHORT_BINSTRING("optimizer"), dict_of(
            (SHORT_BINSTRING("state"), dict_of((INT(OPTIMIZER_KEY), dict_of((SHORT_BINSTRING("step"), INT(5)))))),
            (SHORT_BINSTRING("param_groups"), EMPTY_LIST))),
    )  # fmt: skip
    return legacy_file(obj, [("94001", WEIGHT.ravel()), ("94002", STEPS)], big_endian)


def write(tmp_path: Path, data: bytes, name: str = "ckpt.pth.tar") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("big_endian", [False, True])
def test_python2_legacy_file_built_byte_by_byte(tmp_path: Path, big_endian: bool) -> None:
    ckpt = load_torch_checkpoint(write(tmp_path, python2_checkpoint(big_endian)))
    state = ckpt["state_dict"]
    assert isinstance(state, collections.OrderedDict) and list(state) == [
        "w1.weight",
        "w1.bias",
        "bn.num_batches_tracked",
    ]
    assert torch.equal(state["w1.weight"], torch.from_numpy(WEIGHT))
    assert torch.equal(state["w1.bias"], torch.from_numpy(WEIGHT.ravel()[:3]))
    assert state["bn.num_batches_tracked"].dtype == torch.int64
    assert state["bn.num_batches_tracked"].tolist() == STEPS.tolist()
    assert (ckpt["epoch"], ckpt["lr"], ckpt["err"], ckpt["note"]) == (200, 2.5e-4, 2**70, "x" * 300)
    assert ckpt["optimizer"]["state"] == {OPTIMIZER_KEY: {"step": 5}}


def test_python2_file_matches_torch_own_reader(tmp_path: Path) -> None:
    """The byte-built file is a real checkpoint: torch's unrestricted reader agrees (safe: we wrote it)."""
    path = write(tmp_path, python2_checkpoint())
    ours, theirs = load_torch_checkpoint(path), torch.load(path, map_location="cpu", weights_only=False)
    for key, value in theirs["state_dict"].items():
        assert torch.equal(ours["state_dict"][key], value)
    assert ours["optimizer"] == theirs["optimizer"]


def _sample_checkpoint() -> dict[str, Any]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    return {
        "epoch": 3,
        "lr": np.float64(1e-3),
        "model_pos": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "random_state": np.random.RandomState(1).get_state(),
        "half": torch.ones(3, dtype=torch.float16),
        "strided": torch.arange(10.0)[2:8:2],
    }


def _assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, torch.Tensor) and ours.dtype == theirs.dtype and torch.equal(ours, theirs), where
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), where
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{where}/{key}")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, np.ndarray):
        assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype, where
    else:
        assert ours == theirs and type(ours) is type(theirs), where


@pytest.mark.parametrize(
    "options",
    [{}, {"_use_new_zipfile_serialization": False}, {"_use_new_zipfile_serialization": False, "pickle_protocol": 2}],
    ids=["zip", "legacy", "legacy-protocol2"],
)
def test_torch_save_files_load_identically(tmp_path: Path, options: dict[str, Any]) -> None:
    path = tmp_path / "epoch_3.bin"
    torch.save(_sample_checkpoint(), path, **options)
    _assert_same(load_torch_checkpoint(path), torch.load(path, weights_only=False))


# --- hostile and broken files -------------------------------------------------------------------


class _Payload:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {self.target}",)


def _refused(path: Path, culprit: str) -> None:
    with pytest.raises(WeightsError) as info:
        load_torch_checkpoint(path)
    message = str(info.value)
    assert message.startswith("refused: ") and culprit in message and "a pickle can run code" in message, message


def _unparsable(path: Path, why: str) -> None:
    with pytest.raises(WeightsError) as info:
        load_torch_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"cannot parse {path} as a PyTorch checkpoint: ") and why in message, message


def test_global_os_system_in_a_python2_file_is_refused(tmp_path: Path) -> None:
    evil = dict_of((SHORT_BINSTRING("state_dict"), GLOBAL("os", "system") + tup(SHORT_BINSTRING("true")) + REDUCE))
    _refused(write(tmp_path, legacy_file(evil, [])), "os.system")


@pytest.mark.parametrize("module", ["builtins", "__builtin__"])
def test_eval_is_refused(tmp_path: Path, module: str) -> None:
    evil = GLOBAL(module, "eval") + tup(SHORT_BINSTRING("1+1")) + REDUCE
    _refused(write(tmp_path, legacy_file(evil, [])), f"{module}.eval")


@pytest.mark.parametrize("options", [{}, {"_use_new_zipfile_serialization": False}], ids=["zip", "legacy"])
def test_reduce_payload_is_refused_and_never_runs(tmp_path: Path, options: dict[str, Any]) -> None:
    canary = tmp_path / "canary"
    path = tmp_path / "evil.pth.tar"
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": _Payload(canary)}, path, **options)
    _refused(path, ".system")  # posix.system on Linux, nt.system on Windows
    assert not canary.exists()


def test_a_whole_pickled_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2), path)
    _refused(path, "torch.nn.modules.linear.Linear")


def test_hostile_header_pickle_is_refused(tmp_path: Path) -> None:
    data = PROTO2 + GLOBAL("os", "system") + tup(SHORT_BINSTRING("true")) + REDUCE + STOP
    _refused(write(tmp_path, data), "os.system")


def test_oversized_string_length_is_a_parse_error(tmp_path: Path) -> None:
    huge = b"T" + struct.pack("<i", 0x7FFFFFFF) + b"abc"
    _unparsable(
        write(tmp_path, legacy_file(dict_of((SHORT_BINSTRING("k"), huge)), [])),
        "expected 2147483647 bytes in a string4",
    )


def test_oversized_bytes8_length_is_a_parse_error(tmp_path: Path) -> None:
    data = b"\x80\x04\x8e" + struct.pack("<Q", 2**62) + b"x" + STOP
    _unparsable(write(tmp_path, data), "bytes8")


def test_oversized_storage_element_count_is_a_parse_error(tmp_path: Path) -> None:
    obj = ordered_dict_of((SHORT_BINSTRING("w"), tensor("1", 10**15, (1,), (1,))))
    _unparsable(write(tmp_path, legacy_file(obj, [("1", np.zeros(1, np.float32))])), "claims 1000000000000000 elements")


def test_tensor_beyond_its_storage_is_a_parse_error(tmp_path: Path) -> None:
    obj = ordered_dict_of((SHORT_BINSTRING("w"), tensor("1", 2, (3,), (1,))))
    _unparsable(write(tmp_path, legacy_file(obj, [("1", np.zeros(2, np.float32))])), "reaches element 2")


def test_runaway_memo_index_is_a_parse_error(tmp_path: Path) -> None:
    data = PROTO2 + EMPTY_DICT + b"r" + struct.pack("<I", 0xFFFFFFF0) + STOP  # LONG_BINPUT
    _unparsable(write(tmp_path, data), "memo index")


@pytest.mark.parametrize("cut", [20, 200, -5])
def test_truncated_legacy_files_are_parse_errors(tmp_path: Path, cut: int) -> None:
    data = python2_checkpoint()
    _unparsable(write(tmp_path, data[:cut]), "")


def test_truncated_storage_data_says_so(tmp_path: Path) -> None:
    _unparsable(write(tmp_path, python2_checkpoint()[:-5]), "truncated")


def test_truncated_zip_is_a_parse_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(_sample_checkpoint(), buffer)
    _unparsable(write(tmp_path, buffer.getvalue()[: len(buffer.getvalue()) // 2]), "zip")


def test_zip_with_a_short_storage_record_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "short.bin"
    tensor_pickle = PROTO2 + ordered_dict_of((SHORT_BINSTRING("w"), tensor("0", 4, (4,), (1,)))) + STOP
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", tensor_pickle)
        archive.writestr("archive/data/0", b"\x00" * 3)
    _unparsable(path, "holds 3 bytes, its id says 16")


def test_text_file_bad_magic_and_empty_file(tmp_path: Path) -> None:
    _unparsable(write(tmp_path, b"# not a checkpoint\n", "notes.txt"), "neither a zip archive nor a legacy checkpoint")
    _unparsable(write(tmp_path, PROTO2 + LONG1(12345) + STOP, "bad.pth"), "bad magic number")
    _unparsable(write(tmp_path, b"", "empty.pth"), "empty")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="does not exist"):
        load_torch_checkpoint(tmp_path / "absent.pth.tar")
