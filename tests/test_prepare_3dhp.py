"""``gastbench data prepare 3dhp`` and the MPI-INF-3DHP reader, on small files in the release's layouts.

No MPI-INF-3DHP file can be downloaded here: the tests write MATLAB files of both versions (v5,
v7.3) and both annotations in the documented layouts, and the lifting papers' npz layout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from release_files import seq_annotations, ts_annotations, write_mat

from gastbench.data import load_dataset
from gastbench.data.prepare import prepare_3dhp
from gastbench.data.prepare.mpi3dhp import SEQUENCE_INFO, TRAIN_CAMERAS, TRAIN_JOINTS, read_test_sequence
from gastbench.data.safe_npz import load_npz
from gastbench.errors import ConfigError, DataError
from gastbench.skeleton import MPI3DHP_17

pytest.importorskip("scipy.io", reason="scipy is not installed: pip install 'gastbench[prepare]'")
pytest.importorskip("h5py", reason="h5py is not installed: pip install 'gastbench[prepare]'")

TEST_FRAMES = {"TS1": 14, "TS2": 9, "TS3": 11, "TS4": 8, "TS5": 12, "TS6": 10}


def test_valid(name: str) -> np.ndarray:
    valid = np.ones(TEST_FRAMES[name])
    valid[1::4] = 0  # some frames the evaluation does not score
    return valid


test_valid.__test__ = False  # a helper, not a test


def write_release(root: Path, train: bool = True) -> dict[str, dict]:
    """TS1-TS3 as v7.3 files (as released), TS4-TS6 as v5; training files v5, S8/Seq2 v7.3."""
    written: dict[str, dict] = {}
    for i, (name, frames) in enumerate(TEST_FRAMES.items()):
        written[name] = ts_annotations(frames, seed=i, valid=test_valid(name))
        write_mat(root / name / "annot_data.mat", written[name], "v7.3" if i < 3 else "v5")
    if train:
        for i, (subject, sequence) in enumerate(SEQUENCE_INFO):
            written[f"{subject} {sequence}"] = seq_annotations(6, seed=100 + i)
            version = "v7.3" if (subject, sequence) == ("S8", "Seq2") else "v5"
            write_mat(root / subject / sequence / "annot.mat", written[f"{subject} {sequence}"], version)
    return written


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    root = tmp_path_factory.mktemp("mpi_inf_3dhp")
    return root, write_release(root)


@pytest.fixture(scope="module")
def prepared(release: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    prepare_3dhp(release[0], out)
    prepare_3dhp(release[0], out, annotation="annot3")
    return out


def test_test_split_holds_the_annotations(release: tuple[Path, dict], prepared: Path) -> None:
    _, mats = release
    data = load_npz(prepared / "data_test_3dhp.npz")
    assert data["metadata"]["annotation"] == "univ_annot3" and data["metadata"]["layout_name"] == "mpi3dhp"
    assert data["metadata"]["image_size"]["TS5"] == [1920, 1080]
    for name in TEST_FRAMES:
        seq = data["data"][name]
        np.testing.assert_array_equal(seq["data_3d"], mats[name]["univ_annot3"][:, :, 0, :].T)
        np.testing.assert_array_equal(seq["data_2d"], mats[name]["annot2"][:, :, 0, :].T)
        np.testing.assert_array_equal(seq["valid"], test_valid(name))
    annot3 = load_npz(prepared / "data_test_3dhp_annot3.npz")
    assert annot3["metadata"]["annotation"] == "annot3"
    np.testing.assert_array_equal(annot3["data"]["TS2"]["data_3d"], mats["TS2"]["annot3"][:, :, 0, :].T)


def test_train_split_keeps_the_papers_cameras_and_joints(release: tuple[Path, dict], prepared: Path) -> None:
    _, mats = release
    data = load_npz(prepared / "data_train_3dhp.npz")["data"]
    assert len(data) == 16
    for key in ("S1 Seq2", "S8 Seq2"):  # a v5 and a v7.3 file
        cams, fps = data[key]
        assert fps == SEQUENCE_INFO[tuple(key.split())][1]
        assert sorted(cams, key=int) == [str(c) for c in TRAIN_CAMERAS]
        raw = mats[key]["univ_annot3"][4, 0].reshape(6, 28, 3)
        np.testing.assert_array_equal(cams["4"]["data_3d"], raw[:, list(TRAIN_JOINTS)])
        assert cams["4"]["data_2d"].shape == (6, 17, 2)


def test_reader_scores_valid_frames_in_the_official_order(prepared: Path) -> None:
    dataset = load_dataset("3dhp", "gt", prepared)
    assert dataset.layout_2d is MPI3DHP_17 and dataset.annotation_3d == "univ_annot3"
    assert dataset.extra_metrics == ("pck", "auc")
    assert dataset.subjects("test") == list(TEST_FRAMES)
    assert dataset.actions() == ["GS", "noGS", "Outdoor"]
    ts5 = dataset.sequences("test", subjects=["TS5"])[0]
    assert ts5.action == "Outdoor" and ts5.frames == TEST_FRAMES["TS5"]
    np.testing.assert_array_equal(ts5.scored, test_valid("TS5") != 0)
    assert np.all(ts5.positions_3d[:, MPI3DHP_17.root] == 0)
    raw = load_npz(prepared / "data_test_3dhp.npz")["data"]["TS5"]["data_2d"]
    np.testing.assert_allclose(ts5.keypoints_2d[..., 0], raw[..., 0] / 1920 * 2 - 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ts5.keypoints_2d[..., 1], raw[..., 1] / 1920 * 2 - 1080 / 1920, rtol=1e-6, atol=1e-6)
    assert len(dataset.sequences("train", subjects=["S3"])) == 2 * len(TRAIN_CAMERAS)
    assert load_dataset("3dhp", "gt", prepared, annotation="annot3").annotation_3d == "annot3"
    with pytest.raises(ConfigError, match="only"):
        load_dataset("3dhp", "cpn", prepared)
    with pytest.raises(ConfigError, match="applies to MPI-INF-3DHP"):
        load_dataset("h36m", "gt", prepared, annotation="annot3")


def test_community_files_are_read_as_they_are(release: tuple[Path, dict], tmp_path: Path) -> None:
    """P-STMO's data_to_npz_3dhp_test.py layout: no metadata, float64 arrays, valid as read from the file."""
    _, mats = release
    community = {
        name: {"data_2d": mats[name]["annot2"][:, :, 0, :].T, "data_3d": mats[name]["univ_annot3"][:, :, 0, :].T,
               "valid": mats[name]["valid_frame"].reshape(-1)}
        for name in TEST_FRAMES
    }  # fmt: skip
    np.savez_compressed(tmp_path / "data_test_3dhp.npz", data=community)
    dataset = load_dataset("3dhp", "gt", tmp_path)
    assert dataset.annotation_3d == "univ_annot3" and len(dataset.sequences()) == 6
    (tmp_path / "data_test_3dhp_annot3.npz").write_bytes((tmp_path / "data_test_3dhp.npz").read_bytes())
    with pytest.raises(DataError, match="community file of univ_annot3"):
        load_dataset("3dhp", "gt", tmp_path, annotation="annot3")


def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "release"
    write_release(root, train=False)
    dead = ts_annotations(5, seed=9, valid=np.zeros(5))
    write_mat(root / "TS4" / "annot_data.mat", dead, "v5")
    with pytest.raises(DataError, match=r"TS4/annot_data.mat: no valid frames"):
        prepare_3dhp(root, tmp_path / "out")
    (root / "TS4" / "annot_data.mat").unlink()
    (root / "TS4").rmdir()
    with pytest.raises(DataError, match=r"TS4: folder missing"):
        prepare_3dhp(root, tmp_path / "out")
    no_annotation = {k: v for k, v in ts_annotations(5, seed=3).items() if k != "univ_annot3"}
    write_mat(tmp_path / "x" / "annot_data.mat", no_annotation, "v5")
    with pytest.raises(DataError, match=r"annot_data.mat: variable\(s\) \['univ_annot3'\] missing"):
        read_test_sequence(tmp_path / "x" / "annot_data.mat")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ConfigError, match=r"TS1/annot_data.mat \(a MATLAB v7.3 / HDF5 .mat file\) needs .*'h5py'"):
        read_test_sequence(root / "TS1" / "annot_data.mat")


def test_never_written_over_without_overwrite(release: tuple[Path, dict], tmp_path: Path) -> None:
    (tmp_path / "data_test_3dhp.npz").write_bytes(b"mine")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        prepare_3dhp(release[0], tmp_path, splits=["test"])
    assert (tmp_path / "data_test_3dhp.npz").read_bytes() == b"mine"
    written = prepare_3dhp(release[0], tmp_path, splits=["test"], overwrite=True)
    assert [Path(w.path).name for w in written] == ["data_test_3dhp.npz"]
