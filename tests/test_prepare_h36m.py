"""``gastbench data prepare h36m``: files in the release's layouts in, VideoPose3D's file out, bit for bit."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from release_files import write_cdf_release, write_h5_archive, write_h5_folder

from gastbench.data.prepare import content_digest, prepare_h36m
from gastbench.data.prepare.h36m import positions_from_source, sequence_order
from gastbench.data.safe_npz import load_npz
from gastbench.errors import ConfigError, DataError

cdflib = pytest.importorskip("cdflib", reason="cdflib is not installed: pip install 'gastbench[prepare]'")
h5py = pytest.importorskip("h5py", reason="h5py is not installed: pip install 'gastbench[prepare]'")

SEQUENCES = {
    "S9": ["Walking", "Walking 1", "Photo", "Photo 1", "WalkDog 1", "Eating 2", "Eating"],
    "S11": ["Directions", "Directions 1", "WalkTogether", "Sitting 1"],
}


@pytest.fixture(scope="module")
def positions() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return {
        subject: {name: rng.normal(0.0, 0.5, (int(rng.integers(5, 40)), 32, 3)).astype(np.float32) for name in names}
        for subject, names in SEQUENCES.items()
    }


def _assert_same_file_content(path: Path, expected: dict[str, dict[str, np.ndarray]]) -> None:
    got = load_npz(path)["positions_3d"]
    assert list(got) == list(expected)
    for subject in expected:
        assert list(got[subject]) == sorted(expected[subject], key=sequence_order)
        for name, arr in expected[subject].items():
            assert got[subject][name].dtype == np.float32
            assert got[subject][name].tobytes() == arr.tobytes(), f"{subject}/{name} differs"


def test_cdf_release_round_trip(tmp_path: Path, positions: dict) -> None:
    write_cdf_release(tmp_path / "release", positions)
    out = tmp_path / "data_3d_h36m.npz"
    report = prepare_h36m(tmp_path / "release", out, subjects=["S9", "S11"])
    _assert_same_file_content(out, positions)
    assert report.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert report.source.startswith("cdf:")
    assert any("S9: 7 sequence files" in note for note in report.notes)
    assert "Photo 1" in report.sequences["S9"] and "WalkDog 1" in report.sequences["S9"]  # release names renamed


def test_every_source_gives_the_same_bytes(tmp_path: Path, positions: dict) -> None:
    write_cdf_release(tmp_path / "release", positions)
    write_h5_archive(tmp_path / "h36m.zip", positions)
    write_h5_folder(tmp_path / "extracted", positions)
    shas = {
        kind: prepare_h36m(source, tmp_path / f"{kind}.npz", subjects=["S9", "S11"]).sha256
        for kind, source in (
            ("cdf", tmp_path / "release"),
            ("zip", tmp_path / "h36m.zip"),
            ("folder", tmp_path / "extracted"),
        )
    }
    assert len(set(shas.values())) == 1, shas
    # and the bytes are numpy's own savez_compressed of the arrays, in file-name order
    ordered = {s: {n: positions[s][n] for n in sorted(positions[s], key=sequence_order)} for s in positions}
    np.savez_compressed(tmp_path / "numpy.npz", positions_3d=ordered)
    assert hashlib.sha256((tmp_path / "numpy.npz").read_bytes()).hexdigest() == shas["cdf"]


def test_float32_sources_divide_in_float32(tmp_path: Path, positions: dict) -> None:
    write_cdf_release(tmp_path / "release", positions, dtype=np.float32)
    out = tmp_path / "out.npz"
    prepare_h36m(tmp_path / "release", out, subjects=["S11"])
    got = load_npz(out)["positions_3d"]["S11"]["Sitting 1"]
    raw = (positions["S11"]["Sitting 1"].astype(np.float64) * 1000).astype(np.float32)
    expected = raw / np.float32(1000)  # VideoPose3D: `positions /= 1000` on the float32 array
    assert expected.dtype == np.float32 and got.tobytes() == expected.tobytes()


def test_corrupted_video_kept_unless_asked(tmp_path: Path, positions: dict) -> None:
    write_cdf_release(tmp_path / "release", positions)
    kept = prepare_h36m(tmp_path / "release", tmp_path / "a.npz", subjects=["S11"])
    dropped = prepare_h36m(tmp_path / "release", tmp_path / "b.npz", subjects=["S11"], skip_corrupted_video=True)
    assert "Directions" in kept.sequences["S11"]
    assert "Directions" not in dropped.sequences["S11"] and "Directions 1" in dropped.sequences["S11"]


def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, positions: dict) -> None:
    release = tmp_path / "release"
    write_cdf_release(release, {"S9": positions["S9"]})
    with pytest.raises(DataError, match=r"S1/MyPoseFeatures/D3_Positions: subject folder missing"):
        prepare_h36m(release, tmp_path / "o.npz", subjects=["S1", "S9"])
    with pytest.raises(ConfigError, match="unknown Human3.6M subject"):
        prepare_h36m(release, tmp_path / "o.npz", subjects=["S2"])
    from cdflib.cdfwrite import CDF

    bad = release / "S9" / "MyPoseFeatures" / "D3_Positions" / "Zebra.cdf"
    writer = CDF(str(bad))
    writer.write_var({"Variable": "Angles", "Data_Type": CDF.CDF_DOUBLE, "Num_Elements": 1, "Rec_Vary": True, "Dim_Sizes": [3, 78]},
                     var_data=np.zeros((1, 3, 78)))  # fmt: skip
    writer.close()
    with pytest.raises(DataError, match=r"Zebra\.cdf: no variable 'Pose'") as info:
        prepare_h36m(release, tmp_path / "o.npz", subjects=["S9"])
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="expected 32 joints x 3 values"):
        positions_from_source(np.zeros((1, 4, 95)), "frames-first", "x.cdf")
    with pytest.raises(DataError, match="neither"):
        prepare_h36m(tmp_path, tmp_path / "o.npz")


def test_never_written_over_without_overwrite(tmp_path: Path, positions: dict) -> None:
    write_cdf_release(tmp_path / "release", {"S11": positions["S11"]})
    out = tmp_path / "data_3d_h36m.npz"
    out.write_bytes(b"mine")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        prepare_h36m(tmp_path / "release", out, subjects=["S11"])
    assert out.read_bytes() == b"mine"
    prepare_h36m(tmp_path / "release", out, subjects=["S11"], overwrite=True)
    assert load_npz(out)["positions_3d"]["S11"]


def test_missing_reader_says_what_to_install(tmp_path: Path, positions: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cdf_release(tmp_path / "release", {"S11": positions["S11"]})
    monkeypatch.setitem(sys.modules, "cdflib", None)  # import cdflib now raises ImportError
    with pytest.raises(ConfigError, match=r"cdflib.*pip install 'gastbench\[prepare\]'"):
        prepare_h36m(tmp_path / "release", tmp_path / "o.npz", subjects=["S11"])


# Real data: the project's data_3d_h36m.npz written back into the release's layouts and prepared again.


@pytest.fixture(scope="module")
def shared_positions(real_data_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    path = real_data_dir / "data_3d_h36m.npz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return load_npz(path)["positions_3d"]


@pytest.mark.integration
@pytest.mark.slow
def test_real_subjects_round_trip_bit_for_bit(tmp_path: Path, shared_positions: dict) -> None:
    chosen = {s: shared_positions[s] for s in ("S9", "S11")}
    write_cdf_release(tmp_path / "release", chosen)
    out = tmp_path / "data_3d_h36m.npz"
    prepare_h36m(tmp_path / "release", out, subjects=list(chosen))
    got = load_npz(out)["positions_3d"]
    for subject, sequences in chosen.items():
        assert list(got[subject]) == list(sequences)  # the shared file's own order
        for name, arr in sequences.items():
            assert got[subject][name].tobytes() == arr.tobytes(), f"{subject}/{name}"


@pytest.mark.integration
@pytest.mark.slow
def test_all_subjects_reproduce_the_shared_file_sha256(
    tmp_path: Path, shared_positions: dict, real_data_dir: Path
) -> None:
    """The shared file was written by numpy 2 (its pickle names ``numpy._core``) with zip members stamped
    1980-01-01, as ``savez_compressed`` does: the same arrays in the same order give the same bytes."""
    if int(np.__version__.split(".")[0]) < 2:
        pytest.skip(
            f"numpy {np.__version__} pickles arrays as numpy.core, numpy 2 (which wrote the shared file) as numpy._core"
        )
    write_h5_archive(tmp_path / "h36m.zip", shared_positions)
    report = prepare_h36m(tmp_path / "h36m.zip", tmp_path / "data_3d_h36m.npz")
    (tmp_path / "h36m.zip").unlink()
    shared = real_data_dir / "data_3d_h36m.npz"
    assert report.content_sha256 == content_digest(
        {"positions_3d": shared_positions}
    )  # the arrays, whatever the writer
    assert report.sha256 == hashlib.sha256(shared.read_bytes()).hexdigest()  # and the bytes
