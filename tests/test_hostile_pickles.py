"""Hand-built hostile pickles against both restricted readers (dataset ``.npz`` and checkpoints).

The central case is the one numpy's own allow-listed names make possible: an object dtype
given flags 0 through pickle's BUILD step, then an "object" array whose data are raw bytes,
i.e. pointers the file chose (0x4141414141414141 here). Reading such an array's elements
dereferences them. Every reader must refuse it before anything is built from those bytes.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from numpy.lib import format as npy_format

from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.data.safe_npz import load_npz
from gastbench.errors import DataError, GastbenchError, WeightsError

try:
    from numpy._core import multiarray as _ma
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _ma  # type: ignore[no-redef]

POINTER = b"A" * 8  # 0x4141414141414141 read as an object pointer


class Reduced:
    """Pickles as ``func(*args)`` followed by ``BUILD(state)``: any construction a file could spell."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


def dtype(spec: str, state: tuple[Any, ...] | None = None, align: bool = False) -> Reduced:
    return Reduced(np.dtype, (spec, align, True), state)


def array(shape: tuple[int, ...], dt: Any, data: Any) -> Reduced:
    return Reduced(_ma._reconstruct, (np.ndarray, (0,), b"b"), (1, shape, dt, False, data))


def object_array_from_bytes() -> Reduced:
    """The exploit: an object dtype stripped of its flags, filled from raw pointer bytes."""
    return array((1,), dtype("O8", (3, "|", None, None, None, 8, 8, 0)), POINTER)


#: Each hostile value and a phrase its refusal must contain.
HOSTILE: dict[str, tuple[Callable[[], Any], str]] = {
    "object-dtype-flags-0": (object_array_from_bytes, "numpy writes (3, '|', None, None, None, -1, -1, 63)"),
    "object-dtype-bytes-data": (lambda: array((1,), np.dtype(object), POINTER), "instead of a list of 1 values"),
    "float-dtype-object-flags": (
        lambda: array((1,), dtype("f8", (3, "<", None, None, None, -1, -1, 63)), POINTER),
        "only the byte order may differ",
    ),
    "structured-by-build": (
        lambda: array(
            (1,),
            dtype(
                "V16", (3, "|", None, ("a", "b"), {"a": (np.dtype(object), 0), "b": (np.dtype(object), 8)}, 16, 1, 63)
            ),
            POINTER * 2,
        ),
        "dtype 'V16'",
    ),
    "void-spec": (lambda: array((1,), dtype("V8"), POINTER), "dtype 'V8'"),
    "structured-spec": (lambda: array((1,), dtype("f8,O"), POINTER * 2), "dtype 'f8,O'"),
    "subarray-spec": (lambda: array((1,), dtype("(2,)f8"), POINTER * 2), "dtype '(2,)f8'"),
    "datetime-spec": (lambda: array((1,), dtype("M8[ns]"), POINTER), "datetime"),
    "aligned-dtype": (lambda: array((1,), dtype("f8", align=True), POINTER), "alignment"),
    "wrong-byte-order": (
        lambda: array((1,), dtype("f8", (3, "|", None, None, None, -1, -1, 0)), POINTER),
        "byte order '|'",
    ),
    "short-data": (lambda: array((10**6,), np.dtype("f8"), POINTER), "needs 8000000 bytes of data, the pickle has 8"),
    "object-scalar": (lambda: Reduced(_ma.scalar, (np.dtype(object), POINTER)), "object dtype"),
    "scalar-wrong-size": (lambda: Reduced(_ma.scalar, (np.dtype("f8"), b"AAAA")), "needs 8 bytes, the pickle has 4"),
    "array-of-a-subclass": (lambda: Reduced(_ma._reconstruct, (np.recarray, (0,), b"b")), "numpy.rec"),
    "bare-ndarray-class": (lambda: {"w": np.ndarray}, "appears in the data as a value"),
    "ndarray-called-directly": (lambda: Reduced(np.ndarray, ((1,), "O", POINTER)), "only pass to _reconstruct"),
}


def _self_referencing() -> list[Any]:
    loop: list[Any] = [np.float32(1)]
    loop.append(loop)
    return loop


def _nested(depth: int) -> Any:
    value: Any = np.float64(1.0)
    for _ in range(depth):
        value = [value]
    return value


STRUCTURE: dict[str, tuple[Callable[[], Any], str]] = {
    "cycle": (_self_referencing, "refers to itself"),
    "deep-nesting": (lambda: _nested(200), "nested more than 64 levels deep"),
}


# --- writing the hostile values into each reader's container ---------------------------------


def npz_with(tmp_path: Path, value: Any, key: str = "metadata") -> Path:
    """A VideoPose3D-style file whose ``key`` member is a 0-d object array holding ``value``."""
    outer = Reduced(_ma._reconstruct, (np.ndarray, (0,), b"b"), (1, (), np.dtype(object), False, [value]))
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    pickle.dump(outer, buf, protocol=3)
    path = tmp_path / "data_2d_humaneva15_gt.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{key}.npy", buf.getvalue())
    return path


def checkpoint_with(tmp_path: Path, value: Any, legacy: bool) -> Path:
    path = tmp_path / ("legacy.pth.tar" if legacy else "zip.pth.tar")
    torch.save({"state_dict": {"w": torch.ones(2)}, "stats": value}, path, _use_new_zipfile_serialization=not legacy)
    return path


def _refusal(load: Callable[[], Any], family: type[GastbenchError]) -> str:
    with pytest.raises(family) as info:
        load()
    message = str(info.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize("case", sorted({**HOSTILE, **STRUCTURE}))
def test_npz_reader_refuses_before_building_from_bytes(tmp_path: Path, case: str) -> None:
    make, phrase = {**HOSTILE, **STRUCTURE}[case]
    path = npz_with(tmp_path, {"layout_name": "h36m", "hostile": make()})
    message = _refusal(lambda: load_npz(path), DataError)
    assert str(path) in message and "'metadata'" in message and phrase in message, message


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("case", sorted({**HOSTILE, **STRUCTURE}))
def test_checkpoint_reader_refuses_before_building_from_bytes(tmp_path: Path, case: str, legacy: bool) -> None:
    make, phrase = {**HOSTILE, **STRUCTURE}[case]
    path = checkpoint_with(tmp_path, make(), legacy)
    message = _refusal(lambda: load_torch_checkpoint(path), WeightsError)
    assert str(path) in message and phrase in message, message


def test_the_plain_values_beside_them_still_load(tmp_path: Path) -> None:
    plain = {
        "f8": np.arange(6.0).reshape(2, 3), "big-endian": np.arange(4, dtype=">i4"), "fortran": np.asfortranarray(np.ones((2, 3))),
        "bool": np.array([True, False]), "c16": np.array([1 + 2j]), "text": np.array(["ab", "c"]), "bytes": np.array([b"xy"]),
        "scalar": np.float32(2.5), "nested": [{"a": (np.int64(3), "s")}], "objects": np.array([{"k": 1}, [1, 2]], dtype=object),
    }  # fmt: skip
    for loaded in (
        load_npz(npz_with(tmp_path, plain))["metadata"],
        load_torch_checkpoint(checkpoint_with(tmp_path, plain, legacy=False))["stats"],
        load_torch_checkpoint(checkpoint_with(tmp_path, plain, legacy=True))["stats"],
    ):
        for key, want in plain.items():
            got = loaded[key]
            if isinstance(want, np.ndarray) and want.dtype != object:
                assert got.dtype == want.dtype and got.flags.c_contiguous == want.flags.c_contiguous, key
                np.testing.assert_array_equal(got, want)
        assert loaded["scalar"] == np.float32(2.5) and type(loaded["scalar"]) is np.float32
        assert loaded["nested"] == [{"a": (3, "s")}]
        assert loaded["objects"][0] == {"k": 1} and loaded["objects"][1] == [1, 2]


# --- BUILD on objects that take no state ------------------------------------------------------

PROTO2, STOP, MARK, TUPLE, BUILD, REDUCE, EMPTY_DICT = b"\x80\x02", b".", b"(", b"t", b"b", b"R", b"}"


def GLOBAL(module: str, name: str) -> bytes:  # noqa: N802 - named after the opcode
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def BINUNICODE(text: str) -> bytes:  # noqa: N802
    return b"X" + struct.pack("<I", len(text)) + text.encode()


def _npz_raw(tmp_path: Path, pickled: bytes) -> Path:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    path = tmp_path / "raw.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.npy", buf.getvalue() + pickled)
    return path


@pytest.mark.parametrize(
    "target", [("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"), ("builtins", "dict")], ids=lambda t: t[1]
)
def test_build_on_an_allowed_name_is_refused(tmp_path: Path, target: tuple[str, str]) -> None:
    """BUILD on the callable itself would change gastbench's allow-list for every later file."""
    pickled = PROTO2 + GLOBAL(*target) + EMPTY_DICT + BUILD + STOP
    message = _refusal(lambda: load_npz(_npz_raw(tmp_path, pickled)), DataError)
    assert "which takes none" in message, message


def test_runaway_memo_index_in_an_npz_member_is_refused(tmp_path: Path) -> None:
    pickled = PROTO2 + EMPTY_DICT + b"r" + struct.pack("<I", 0xFFFFFFF0) + STOP  # LONG_BINPUT
    message = _refusal(lambda: load_npz(_npz_raw(tmp_path, pickled)), DataError)
    assert "memo index" in message


def test_tensor_set_through_build_is_refused(tmp_path: Path) -> None:
    """``Tensor.__setstate__`` calls ``set_``: a file could point one tensor at another's storage, any size."""
    buffer = io.BytesIO()
    torch.save({"a": torch.zeros(2), "b": torch.zeros(1)}, buffer)
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
    pickled = archive.read(name)
    # After the last tensor: BUILD it with (the first tensor, offset 0, size (50_000_000,), stride (1,)).
    first_tensor_memo = pickled[pickled.index(b"R") + 2]  # the BINPUT right after the first REDUCE
    inject = (
        MARK
        + b"h"
        + bytes([first_tensor_memo])
        + b"K\x00J"
        + struct.pack("<i", 50_000_000)
        + b"\x85K\x01\x85"
        + TUPLE
        + BUILD
    )
    cut = pickled.rindex(b"u.")
    path = tmp_path / "set.pt"
    with zipfile.ZipFile(path, "w") as out:
        for member in archive.namelist():
            out.writestr(member, pickled[:cut] + inject + pickled[cut:] if member == name else archive.read(member))
    message = _refusal(lambda: load_torch_checkpoint(path), WeightsError)
    assert "takes none" in message and "tensor" in message, message


# --- plain .npz members ------------------------------------------------------------------------


@pytest.mark.parametrize("descr", [[("a", "<f8"), ("b", "<i4")], "|V8", "<M8[ns]", [("p", "|O")]], ids=str)
def test_plain_member_headers_with_other_dtypes_are_refused(tmp_path: Path, descr: Any) -> None:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": (1,)})
    path = tmp_path / "plain.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("positions_3d.npy", buf.getvalue() + POINTER * 2)
    message = _refusal(lambda: load_npz(path), DataError)
    assert "'positions_3d'" in message and "dtype" in message, message


# --- through the commands a user runs ------------------------------------------------------------


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from gastbench.cli import main

    monkeypatch.setattr(sys, "argv", ["gastbench", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0), " ".join(capsys.readouterr().err.split())


def test_eval_refuses_a_2d_file_with_a_hostile_metadata_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    views = [rng.normal(size=(6, 15, 2)).astype(np.float32) for _ in range(3)]
    poses = {"Validate/S1": {"Walking 1 chunk0": rng.normal(size=(6, 15, 3)).astype(np.float32)}}
    np.savez_compressed(tmp_path / "data_3d_humaneva15.npz", positions_3d=poses)
    path = npz_with(tmp_path, {"layout_name": "humaneva15", "num_joints": 15, "video": object_array_from_bytes()})
    with zipfile.ZipFile(path, "a") as archive:  # the 2D keypoints themselves are fine
        buf = io.BytesIO()
        np.save(buf, np.array({"Validate/S1": {"Walking 1 chunk0": views}}, dtype=object), allow_pickle=True)
        archive.writestr("positions_2d.npy", buf.getvalue())
    code, err = _cli(monkeypatch, capsys, "eval", "videopose3d-t27", "--dataset", "humaneva", "--input", "gt",
                     "--data-dir", str(tmp_path), "--random-init")  # fmt: skip
    assert code != 0 and "Traceback" not in err and str(path) in err and "'metadata'" in err and "unsafe" in err, err


def test_convert_refuses_hostile_martinez_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = Path(__file__).parent / "fixtures" / "parity" / "martinez"
    stats_2d = tmp_path / "stat_2d.pth.tar"
    torch.save({"mean": object_array_from_bytes(), "std": np.ones(32)}, stats_2d)
    out = tmp_path / "m.safetensors"
    code, err = _cli(monkeypatch, capsys, "convert", "--from", "martinez", str(fixtures / "ckpt_best.pth.tar"),
                     "--out", str(out), "--model", "martinez", "--stats", str(fixtures / "stat_3d.pth.tar"),
                     "--stats-2d", str(stats_2d))  # fmt: skip
    assert code != 0 and "Traceback" not in err and str(stats_2d) in err and "refused" in err, err
    assert not out.exists()
