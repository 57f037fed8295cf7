"""``gastbench data import-2d``: MMPose, MotionBERT and plain array files into 2D inputs the readers find."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from gastbench.data import load_dataset
from gastbench.data.cameras import load_cameras
from gastbench.data.prepare import import_2d
from gastbench.data.safe_npz import load_npz
from gastbench.errors import ConfigError, DataError

CAMERAS = ("54138969", "55011271", "58860488", "60457274")
SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
#: (subject, sequence as the 3D file names it, as MMPose's imgname spells it, frames)
SEQUENCES = [(s, "Directions 1", "Directions_1", 12) for s in SUBJECTS] + [("S9", "Photo", "TakingPhoto", 9)]


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A small data_3d_h36m.npz: every subject the reader needs, the sequences of :data:`SEQUENCES`."""
    rng = np.random.default_rng(0)
    positions: dict[str, dict[str, np.ndarray]] = {}
    for subject, name, _, frames in SEQUENCES:
        positions.setdefault(subject, {})[name] = rng.normal(0, 0.4, (frames, 32, 3)).astype(np.float32)
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=positions)
    return tmp_path


def _mmpose_files(folder: Path, step: int = 1) -> tuple[Path, Path, dict]:
    rng = np.random.default_rng(1)
    names, parts, expected = [], [], {}
    for subject, name, spelled, frames in SEQUENCES:
        for camera in CAMERAS:
            kp = rng.uniform(0, 1000, (frames, 17, 2))
            expected[(subject, name, camera)] = kp
            for f in range(0, frames, step):
                names.append(f"{subject}/{subject}_{spelled}.{camera}/{subject}_{spelled}.{camera}_{f + 1:06d}.jpg")
                parts.append(np.concatenate([kp[f], np.ones((17, 1))], axis=1))
    order = rng.permutation(len(names))  # the importer must not depend on the row order
    annotation = folder / "h36m_test.npz"
    np.savez(annotation, imgname=np.array(names)[order], part=np.array(parts)[order], S=np.zeros((len(names), 17, 4)))
    detections = np.array(parts)[order]
    detections[..., 2] = rng.uniform(0.2, 1.0, detections.shape[:2])
    np.save(folder / "cpn_ft_h36m_dbb_test.npy", detections)
    return annotation, folder / "cpn_ft_h36m_dbb_test.npy", expected


def test_mmpose_ground_truth_and_cpn(data_dir: Path, tmp_path: Path) -> None:
    annotation, detections, expected = _mmpose_files(tmp_path)
    report = import_2d("mmpose", annotation, "mmgt", data_dir=data_dir)
    written = load_npz(data_dir / "data_2d_h36m_mmgt.npz")
    meta = written["metadata"]
    assert meta["layout_name"] == "h36m" and meta["importer"] == "mmpose" and meta["channels"] == [2]
    assert (
        meta["source_sha256"] == hashlib.sha256(annotation.read_bytes()).hexdigest()
        and meta["source"] == annotation.name
    )
    for (subject, name, camera), kp in expected.items():
        got = written["positions_2d"][subject][name][CAMERAS.index(camera)]
        np.testing.assert_array_equal(got, kp.astype(np.float32))
    assert report.sequences["S9"] == ["Directions 1", "Photo"]  # TakingPhoto renamed, file-name order

    import_2d("mmpose", annotation, "mmcpn", detections=detections, data_dir=data_dir)
    cpn = load_npz(data_dir / "data_2d_h36m_mmcpn.npz")
    assert cpn["metadata"]["channels"] == [3] and cpn["metadata"]["source"] == detections.name
    dataset = load_dataset("h36m", "mmcpn", data_dir)  # the reader finds it by --input <name>
    seq = dataset.sequences("test", subjects=["S9"], actions=["Photo"])[0]
    raw = cpn["positions_2d"]["S9"]["Photo"][0]
    camera = load_cameras("h36m").cameras("S9")[0]
    np.testing.assert_allclose(seq.keypoints_2d, camera.normalize(raw[..., :2]), rtol=1e-6)


def test_mmpose_refuses_strided_and_partial_files(data_dir: Path, tmp_path: Path) -> None:
    annotation, _, _ = _mmpose_files(tmp_path, step=5)
    with pytest.raises(DataError, match=r"h36m_test.npz: S1/Directions 1/54138969: frames \[1, 6, 11\].*fps50"):
        import_2d("mmpose", annotation, "x", data_dir=data_dir)
    annotation, _, _ = _mmpose_files(tmp_path)
    with np.load(annotation) as data:
        keep = np.char.find(data["imgname"], "60457274") < 0  # every camera's rows but one
        np.savez(tmp_path / "three.npz", imgname=data["imgname"][keep], part=data["part"][keep])
    with pytest.raises(DataError, match=r"no frames of camera\(s\) \['60457274'\]"):
        import_2d("mmpose", tmp_path / "three.npz", "x", data_dir=data_dir)


def _motionbert_pickle(path: Path, frames: dict[tuple[str, int, int], int]) -> dict:
    rng = np.random.default_rng(2)
    expected, blocks = {}, {"train": [], "test": []}
    for (subject, act, sub), count in frames.items():
        split = "test" if subject in ("S9", "S11") else "train"
        for cam in range(1, 5):
            kp, conf = rng.uniform(0, 1000, (count, 17, 2)), rng.uniform(0, 1, (count, 17, 1))
            expected[(subject, act, sub, cam)] = np.concatenate([kp, conf], axis=-1).astype(np.float32)
            blocks[split].append(
                (kp, conf, [f"s_{int(subject[1:]):02d}_act_{act:02d}_subact_{sub:02d}_ca_{cam:02d}"] * count)
            )
    data = {
        split: {"joint_2d": np.concatenate([b[0] for b in bs]), "confidence": np.concatenate([b[1] for b in bs]),
                "source": [s for b in bs for s in b[2]], "camera_name": np.array([CAMERAS[0]] * sum(len(b[2]) for b in bs))}
        for split, bs in blocks.items()
    }  # fmt: skip
    path.write_bytes(pickle.dumps(data, protocol=4))
    return expected


def test_motionbert_takes_named_by_frame_count(data_dir: Path, tmp_path: Path) -> None:
    reference = load_npz(data_dir / "data_3d_h36m.npz")["positions_3d"]
    reference["S9"]["Directions"] = np.random.default_rng(0).normal(size=(20, 32, 3)).astype(np.float32)
    np.savez_compressed(data_dir / "data_3d_h36m.npz", positions_3d=reference)
    frames = {(s, 2, 1): 12 for s in SUBJECTS}
    frames[("S9", 2, 2)] = 20  # the other take: "Directions", 20 frames
    frames[("S9", 12, 1)] = 9  # Photo (action 12)
    frames[("S9", 12, 2)] = 40  # no take of the 3D file has 40 frames: left out, noted
    expected = _motionbert_pickle(tmp_path / "h36m_sh_conf_cam_source_final.pkl", frames)
    report = import_2d("motionbert", tmp_path / "h36m_sh_conf_cam_source_final.pkl", "mb_sh", data_dir=data_dir)
    written = load_npz(data_dir / "data_2d_h36m_mb_sh.npz")["positions_2d"]
    np.testing.assert_array_equal(written["S9"]["Directions"][2], expected[("S9", 2, 2, 3)])  # x, y, confidence
    np.testing.assert_array_equal(written["S9"]["Directions 1"][0], expected[("S9", 2, 1, 1)])
    np.testing.assert_array_equal(written["S9"]["Photo"][3], expected[("S9", 12, 1, 4)])
    assert any("subact 2" in n and "left out" in n for n in report.notes)
    assert load_dataset("h36m", "mb_sh", data_dir).sequences("test", subjects=["S9"])


def test_motionbert_pickle_goes_through_the_restricted_unpickler(data_dir: Path, tmp_path: Path) -> None:
    import os

    class Boom:
        def __reduce__(self) -> tuple:
            return (os.system, ("echo pwned",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"train": Boom()}, protocol=4))
    with pytest.raises(DataError, match=r"evil.pkl: refused or unreadable pickle"):
        import_2d("motionbert", tmp_path / "evil.pkl", "evil", data_dir=data_dir)
    assert not (data_dir / "data_2d_h36m_evil.npz").exists()


def test_plain_arrays_with_a_named_layout(data_dir: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    arrays = {f"{s}/Directions 1": rng.uniform(0, 1000, (4, 12, 17, 3)).astype(np.float32) for s in SUBJECTS}
    np.savez(tmp_path / "mine.npz", **arrays)
    import_2d("arrays", tmp_path / "mine.npz", "mycoco", layout="coco", data_dir=data_dir)
    dataset = load_dataset("h36m", "mycoco", data_dir)  # COCO-17 mapped onto Human3.6M's joints by the reader
    assert dataset.layout_2d.name == "h36m" and len(dataset.sequences("test")) == 8
    with pytest.raises(ConfigError, match="need --layout"):
        import_2d("arrays", tmp_path / "mine.npz", "x", data_dir=data_dir)
    np.savez(tmp_path / "bad.npz", **{"S9/Walking": np.zeros((3, 5, 17, 2))})
    with pytest.raises(DataError, match=r"bad.npz: 'S9/Walking': expected \(4, T, 17, 2\|3\)"):
        import_2d("arrays", tmp_path / "bad.npz", "x", layout="h36m", data_dir=data_dir)


def test_names_and_overwrite(data_dir: Path, tmp_path: Path) -> None:
    annotation, _, _ = _mmpose_files(tmp_path)
    with pytest.raises(ConfigError, match="not 'gt'"):
        import_2d("mmpose", annotation, "gt", data_dir=data_dir)
    with pytest.raises(ConfigError, match="unknown 2D source"):
        import_2d("openpose", annotation, "x", data_dir=data_dir)
    target = data_dir / "data_2d_h36m_mm.npz"
    target.write_bytes(b"mine")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        import_2d("mmpose", annotation, "mm", data_dir=data_dir)
    assert target.read_bytes() == b"mine"
    import_2d("mmpose", annotation, "mm", data_dir=data_dir, overwrite=True)
    assert load_npz(target)["metadata"]["importer"] == "mmpose"


def test_humaneva_arrays_keep_slashed_subjects(tmp_path: Path) -> None:
    arrays = {"Validate/S1/Walking 1 chunk0": np.random.default_rng(4).uniform(0, 600, (3, 8, 15, 2))}
    np.savez(tmp_path / "he.npz", **arrays)
    report = import_2d(
        "arrays", tmp_path / "he.npz", "mine", dataset="humaneva", layout="humaneva15", data_dir=tmp_path
    )
    assert Path(report.path).name == "data_2d_humaneva15_mine.npz"
    written = load_npz(report.path)["positions_2d"]
    assert len(written["Validate/S1"]["Walking 1 chunk0"]) == 3
