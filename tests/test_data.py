"""Fast unit tests of gastbench.data: cameras, the restricted npz loader, validation, paths, synthetic data."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from gastbench.data import fold_action, load_cameras, load_dataset, resolve_data_dir
from gastbench.data.cameras import image_coordinates, normalize_screen_coordinates
from gastbench.data.h36m import KEPT_JOINTS
from gastbench.data.layouts2d import MPII_TO_H36M16, resolve_file_layout
from gastbench.data.safe_npz import load_npz
from gastbench.data.synthetic import _generate, generate_world_motion
from gastbench.data.validate import check_positions
from gastbench.errors import ConfigError, DataError
from gastbench.keypoints import coco_to_layout
from gastbench.skeleton import H36M_16, H36M_17, HUMANEVA_15

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- cameras


def test_world_camera_round_trip() -> None:
    for dataset in ("h36m", "humaneva"):
        cams = load_cameras(dataset)
        x = RNG.normal(size=(7, 5, 3))
        for subject in cams.subjects:
            for cam in cams.cameras(subject):
                back = cam.camera_to_world(cam.world_to_camera(x))
                np.testing.assert_allclose(back, x, atol=1e-9)


def _qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Quaternion rotation written out independently: v + 2w(u x v) + 2u x (u x v)."""
    u = np.broadcast_to(q[1:], v.shape)
    uv = np.cross(u, v)
    return v + 2.0 * (q[0] * uv + np.cross(u, uv))


def test_projection_matches_float64_rederivation() -> None:
    cams = load_cameras("h36m")
    intr = cams.intrinsics
    for subject in ("S1", "S9", "S11"):
        for i, cam in enumerate(cams.cameras(subject)):
            q = np.array(cam.extrinsics.orientation)
            q = q / np.linalg.norm(q)
            t = np.array(cam.extrinsics.translation_m)
            world = RNG.uniform(-1.0, 1.0, size=(11, 17, 3)) + [0.0, 0.0, 1.0]
            q_inv = q * [1.0, -1.0, -1.0, -1.0]
            cam_xyz = _qrot(q_inv, world - t)
            np.testing.assert_allclose(cam.world_to_camera(world), cam_xyz, atol=1e-9)
            # Distorted pinhole, component by component (VideoPose3D's model).
            x = cam_xyz[..., 0] / cam_xyz[..., 2]
            y = cam_xyz[..., 1] / cam_xyz[..., 2]
            x, y = np.clip(x, -1, 1), np.clip(y, -1, 1)
            r2 = x * x + y * y
            k1, k2, k3 = intr[i].radial_distortion
            p1, p2 = intr[i].tangential_distortion
            radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
            tan = p1 * x + p2 * y
            u = intr[i].focal_length[0] * (x * (radial + tan) + p1 * r2) + intr[i].center[0]
            v = intr[i].focal_length[1] * (y * (radial + tan) + p2 * r2) + intr[i].center[1]
            px = cam.project(cam_xyz, normalized=False)
            np.testing.assert_allclose(px, np.stack([u, v], -1), atol=1e-9)
            w, h = intr[i].res_w, intr[i].res_h
            norm = np.stack([u / w * 2 - 1, v / w * 2 - h / w], -1)
            np.testing.assert_allclose(cam.project(cam_xyz), norm, atol=1e-12)
            np.testing.assert_allclose(image_coordinates(normalize_screen_coordinates(px, w, h), w, h), px, atol=1e-9)


def test_camera_lookup_errors() -> None:
    cams = load_cameras("h36m")
    assert cams.ids == ["54138969", "55011271", "58860488", "60457274"]
    assert cams.camera("S9", 2).id == "58860488"
    with pytest.raises(ConfigError, match="no camera"):
        cams.camera("S9", "C9")
    with pytest.raises(ConfigError, match="no extrinsics"):
        cams.cameras("S99")
    he = load_cameras("humaneva")
    assert he.camera("Validate/S1", "C1").subject == "S1"
    with pytest.raises(ConfigError, match="no intrinsics"):
        he.camera("S1", 0).project(np.ones((1, 3)))


# ---------------------------------------------------------------- restricted npz loader


def _write_member(zf: zipfile.ZipFile, key: str, payload: bytes) -> None:
    import io

    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    zf.writestr(f"{key}.npy", buf.getvalue() + payload)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - the payload a crafted file would carry
        return (os.system, (f"touch {self.marker}",))


def test_restricted_loader_reads_legit_npz(tmp_path: Path) -> None:
    arr = RNG.normal(size=(4, 3, 2)).astype(np.float32)
    path = tmp_path / "legit.npz"
    np.savez_compressed(
        path,
        positions_2d={"S1": {"Walking 1": [arr, arr * 2]}},
        metadata={"layout_name": "h36m", "num_joints": 17},
        plain=np.arange(6, dtype=np.int64).reshape(2, 3),
    )
    data = load_npz(path)
    np.testing.assert_array_equal(data["positions_2d"]["S1"]["Walking 1"][1], arr * 2)
    assert data["metadata"] == {"layout_name": "h36m", "num_joints": 17}
    np.testing.assert_array_equal(data["plain"], np.arange(6).reshape(2, 3))
    with pytest.raises(DataError, match="missing key"):
        load_npz(path, ["positions_3d"])


def test_restricted_loader_refuses_crafted_pickle(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as zf:
        _write_member(zf, "positions_3d", pickle.dumps(_Evil(marker), protocol=4))
    with pytest.raises(DataError) as err:
        load_npz(path)
    msg = str(err.value)
    assert str(path) in msg and "'positions_3d'" in msg and "system" in msg and "refused" in msg
    assert not marker.exists()


def test_restricted_loader_refuses_other_globals(tmp_path: Path) -> None:
    path = tmp_path / "evil2.npz"
    with zipfile.ZipFile(path, "w") as zf:
        _write_member(zf, "metadata", pickle.dumps({"f": np.float64(1.0).__class__}, protocol=4))
        _write_member(zf, "junk", b"not a pickle")
    with pytest.raises(DataError, match="metadata.*refused"):
        load_npz(path, ["metadata"])
    with pytest.raises(DataError, match="'junk'"):
        load_npz(path, ["junk"])
    (tmp_path / "notzip.npz").write_bytes(b"hello")
    with pytest.raises(DataError, match="not a readable"):
        load_npz(tmp_path / "notzip.npz")


# ---------------------------------------------------------------- validation


def test_validation_errors_name_file_subject_action_camera() -> None:
    good = np.zeros((5, 17, 2), np.float32)
    assert check_positions(good, 2, 17, "f.npz", "S9", "Walking 1", "54138969").dtype == np.float32
    cases = [
        (np.zeros((5, 16, 2), np.float32), r"expected shape \(T, 17, 2\), found \(5, 16, 2\)"),
        (np.zeros((5, 17), np.float32), "expected shape"),
        (np.zeros((5, 17, 2), np.int32), "float array"),
        (np.zeros((0, 17, 2), np.float32), "no frames"),
        ([[0.0]], "numpy array"),
    ]
    bad = good.copy()
    bad[3, 7, 1] = np.nan
    cases.append((bad, "NaN/inf.*frame 3, joint 7"))
    for arr, pattern in cases:
        with pytest.raises(DataError, match=pattern) as err:
            check_positions(arr, 2, 17, "f.npz", "S9", "Walking 1", "54138969")
        assert "f.npz: subject S9, action 'Walking 1', camera 54138969" in str(err.value)


HUMANEVA_META = {
    "layout_name": "humaneva15",
    "num_joints": 15,
    "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]],
}
COCO_META = {
    "layout_name": "coco",
    "num_joints": 17,
    "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
}


def _tiny_humaneva(
    folder: Path,
    nan_at: tuple[str, str, int] | None = None,
    short: int = 0,
    input: str = "gt",
    meta: dict = HUMANEVA_META,
    joints_2d: int = 15,
) -> dict:
    """Minimal HumanEva files (both splits, 3 subjects, one chunk each) in VideoPose3D's layout; returns the 2D."""
    pos3d: dict = {}
    pos2d: dict = {}
    for prefix in ("Train", "Validate"):
        for subject in ("S1", "S2", "S3"):
            key = f"{prefix}/{subject}"
            world = RNG.normal(scale=0.3, size=(6, 15, 3)).astype(np.float32)
            views = [
                RNG.uniform(0, 480, size=(6 - (short if i == 1 else 0), joints_2d, 2)).astype(np.float32)
                for i in range(3)
            ]
            if nan_at and nan_at[0] == key:
                views[nan_at[2]][2, 4, 0] = np.inf
            pos3d[key] = {"Walking 1 chunk0": world, "Box 1 chunk0": world[:4]}
            pos2d[key] = {"Walking 1 chunk0": views, "Box 1 chunk0": [v[:4] for v in views]}
    np.savez_compressed(folder / "data_3d_humaneva15.npz", positions_3d=pos3d)
    np.savez_compressed(folder / f"data_2d_humaneva15_{input}.npz", positions_2d=pos2d, metadata=meta)
    return pos2d


def test_reader_errors_name_file_subject_action_camera(tmp_path: Path) -> None:
    _tiny_humaneva(tmp_path, nan_at=("Validate/S2", "Walking 1 chunk0", 2))
    ds = load_dataset("humaneva", "gt", data_dir=tmp_path)
    assert len(ds.sequences("test", subjects=["S1"])) == 6
    with pytest.raises(DataError) as err:
        ds.sequences("test", subjects=["S2"])
    assert "data_2d_humaneva15_gt.npz: subject Validate/S2, action 'Walking 1 chunk0', camera C3" in str(err.value)


def test_humaneva_reader_trims_and_folds(tmp_path: Path) -> None:
    _tiny_humaneva(tmp_path, short=1)
    ds = load_dataset("humaneva", "gt", data_dir=tmp_path)
    assert ds.layout_2d is HUMANEVA_15 and ds.fps == 60.0 and not ds.synthetic
    assert ds.subjects("train") == ["S1", "S2", "S3"]
    assert ds.actions("test") == ["Walk", "Box"]
    seqs = ds.sequences("train", actions=["Walk"])
    assert {s.name for s in seqs} == {"Walking 1 chunk0"} and {s.camera for s in seqs} == {"C1", "C2", "C3"}
    # camera C2's 2D is one frame short: every view of that chunk is trimmed to 5 frames
    assert all(s.frames == 5 and s.keypoints_2d.shape == (5, 15, 2) for s in seqs)
    assert any("Train/S1/Walking 1 chunk0/C2: 2D has 5 frames, 3D has 6" in n for n in ds.notes)


def test_humaneva_reads_detectron_coco_through_the_coco_mapping(tmp_path: Path) -> None:
    pos2d = _tiny_humaneva(tmp_path, input="detectron_pt_coco", meta=COCO_META, joints_2d=17)
    for typed in ("detectron", "detectron_pt_coco"):
        ds = load_dataset("humaneva", typed, data_dir=tmp_path)
        assert ds.layout_2d is HUMANEVA_15 and ds.input == "detectron_pt_coco"
        assert ds.source_2d == "data_2d_humaneva15_detectron_pt_coco.npz"
    seq = next(s for s in ds.sequences("test", subjects=["S2"]) if s.name == "Box 1 chunk0" and s.camera == "C2")
    cam = load_cameras("humaneva").camera("S2", "C2")
    expected, _ = coco_to_layout(pos2d["Validate/S2"]["Box 1 chunk0"][1], HUMANEVA_15)
    assert seq.keypoints_2d.shape == (4, 15, 2)
    np.testing.assert_allclose(seq.keypoints_2d, cam.normalize(expected), atol=1e-5)
    # pelvis is computed (mid-hips), not a reordered COCO joint
    assert not any(
        np.allclose(expected[:, HUMANEVA_15.index("pelvis")], pos2d["Validate/S2"]["Box 1 chunk0"][1][:, j])
        for j in range(17)
    )


def test_detectron_coco_with_wrong_joint_count_is_one_line_error(tmp_path: Path) -> None:
    _tiny_humaneva(tmp_path, input="detectron_pt_coco", meta=COCO_META, joints_2d=15)
    ds = load_dataset("humaneva", "detectron", data_dir=tmp_path)
    with pytest.raises(DataError) as err:
        ds.sequences("train", subjects=["S1"])
    message = str(err.value)
    assert "\n" not in message and "data_2d_humaneva15_detectron_pt_coco.npz: subject Train/S1, action" in message
    assert "expected shape (T, 17, 2), found (6, 15, 2)" in message


def _tiny_h36m(folder: Path) -> dict:
    pos3d = {
        s: {"Directions": RNG.normal(scale=0.3, size=(5, 32, 3)).astype(np.float32) + [0, 0, 1],
            "Walking 1": RNG.normal(scale=0.3, size=(4, 32, 3)).astype(np.float32) + [0, 0, 1]}
        for s in ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
    }  # fmt: skip
    np.savez_compressed(folder / "data_3d_h36m.npz", positions_3d=pos3d)
    return pos3d


def test_h36m_reader_projects_gt_and_maps_sh(tmp_path: Path) -> None:
    pos3d = _tiny_h36m(tmp_path)
    gt = load_dataset("h36m", "gt", data_dir=tmp_path)
    assert gt.source_2d == "projected:data_3d_h36m.npz" and gt.layout_2d is H36M_17
    assert gt.skipped == ["S11/Directions (corrupted video)"]
    s9 = gt.sequences("test", subjects=["S9"], actions=["Walking"])
    assert [s.camera for s in s9] == load_cameras("h36m").ids
    cam = load_cameras("h36m").camera("S9", s9[1].camera)
    world = pos3d["S9"]["Walking 1"][:, list(KEPT_JOINTS)].astype(np.float64)
    np.testing.assert_allclose(s9[1].keypoints_2d, cam.project(cam.world_to_camera(world)), atol=1e-6)
    np.testing.assert_allclose(s9[1].positions_3d + s9[1].trajectory[:, None], cam.world_to_camera(world), atol=1e-5)
    assert np.all(s9[1].positions_3d[:, 0] == 0)

    # A Stacked-Hourglass file in MPII order, 2 frames longer than the mocap, one sequence missing.
    sh = {s: {a: [] for a in acts} for s, acts in pos3d.items()}
    for s, acts in pos3d.items():
        for a, arr in acts.items():
            sh[s][a] = [RNG.uniform(0, 1000, size=(arr.shape[0] + 2, 16, 2)).astype(np.float32) for _ in range(4)]
    del sh["S9"]["Directions"]
    meta = {
        "layout_name": "sh_mpii",
        "num_joints": 16,
        "keypoints_symmetry": [[3, 4, 5, 13, 14, 15], [0, 1, 2, 10, 11, 12]],
    }
    np.savez_compressed(tmp_path / "data_2d_h36m_sh_pt_mpii.npz", positions_2d=sh, metadata=meta)
    ds = load_dataset("h36m", "sh_pt_mpii", data_dir=tmp_path)
    assert ds.layout_2d is H36M_16 and ds.source_2d == "data_2d_h36m_sh_pt_mpii.npz" and len(ds.source_2d_sha256) == 64
    assert "S9/Directions (not in data_2d_h36m_sh_pt_mpii.npz)" in ds.skipped
    seq = ds.sequences("test", subjects=["S9"])[0]
    raw = sh["S9"]["Walking 1"][0]
    assert seq.name == "Walking 1" and seq.frames == 4 and seq.keypoints_2d.shape == (4, 16, 2)
    expected = normalize_screen_coordinates(raw[:4], 1000, 1002)
    np.testing.assert_allclose(seq.keypoints_2d[:, H36M_16.index("right_hip")], expected[:, 2], atol=1e-6)
    np.testing.assert_allclose(seq.keypoints_2d[:, H36M_16.index("left_wrist")], expected[:, 15], atol=1e-6)
    np.testing.assert_allclose(seq.keypoints_2d[:, H36M_16.index("pelvis")], expected[:, 6], atol=1e-6)
    with pytest.raises(ValueError):
        seq.keypoints_2d[0, 0, 0] = 1.0  # shared arrays are read-only


def test_sh_layout_metadata_is_validated() -> None:
    good = {
        "layout_name": "sh_mpii",
        "num_joints": 16,
        "keypoints_symmetry": [[3, 4, 5, 13, 14, 15], [0, 1, 2, 10, 11, 12]],
    }
    layout = resolve_file_layout(good, "x.npz", allowed=(H36M_17, H36M_16))
    assert layout.layout is H36M_16 and layout.permutation == MPII_TO_H36M16
    swapped = dict(good, keypoints_symmetry=[[0, 1, 2, 10, 11, 12], [3, 4, 5, 13, 14, 15]])
    for meta, pattern in [
        (swapped, "keypoints_symmetry"),
        (dict(good, num_joints=17), "num_joints"),
        (dict(good, layout_name="openpose25"), "unsupported 2D joint order"),
        (dict(good, layout_name="coco"), "coco.*17 joints.*num_joints=16"),
        ([1, 2], "must be a dict"),
    ]:
        with pytest.raises(DataError, match=pattern):
            resolve_file_layout(meta, "x.npz", allowed=(H36M_17, H36M_16))
    with pytest.raises(DataError, match="cannot use"):
        resolve_file_layout(good, "x.npz", allowed=(HUMANEVA_15,))
    coco = resolve_file_layout(COCO_META, "x.npz", allowed=(HUMANEVA_15,))
    assert coco.layout is HUMANEVA_15 and coco.coco and coco.file_joints == 17
    with pytest.raises(DataError, match="keypoints_symmetry"):
        resolve_file_layout(dict(COCO_META, keypoints_symmetry=[[1, 2], [3, 4]]), "x.npz", allowed=(HUMANEVA_15,))


# ---------------------------------------------------------------- paths


def test_missing_file_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GASTBENCH_DATA", raising=False)
    with pytest.raises(DataError) as err:
        load_dataset("h36m", "cpn", data_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "data_3d_h36m.npz") in msg and "--data-dir" in msg and "VideoPose3D" in msg
    assert "data_dir argument" in msg
    _tiny_h36m(tmp_path)
    with pytest.raises(DataError, match="data_2d_h36m_cpn_ft_h36m_dbb.npz.*prepare"):
        load_dataset("h36m", "cpn", data_dir=tmp_path)
    monkeypatch.setenv("GASTBENCH_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"\$GASTBENCH_DATA.*HumanEva"):
        load_dataset("humaneva")
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset("mpi-inf-3dhp")


def test_data_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GASTBENCH_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("GASTBENCH_DATA")
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert resolve_data_dir() == tmp_path / "cache" / "gastbench" / "data"
    assert resolve_data_dir().parts[-2:] == ("gastbench", "data")


# ---------------------------------------------------------------- synthetic data and actions


def test_synthetic_dataset_shapes_and_invariants() -> None:
    ds = load_dataset("synthetic")
    assert ds.synthetic and ds.source_2d == "synthetic" and ds.name == "synthetic" and ds.fps == 50.0
    assert ds.subjects("train") == ["S1", "S5"] and ds.subjects("test") == ["S9", "S11"]
    assert len(ds.actions("test")) >= 3 and set(ds.actions("test")) <= set(ds.table_actions)
    cams = load_cameras("h36m")
    for split in ("train", "test"):
        seqs = ds.sequences(split)
        assert len(seqs) == len(ds.subjects(split)) * len(ds.actions(split)) * 4
        for s in seqs:
            assert 100 <= s.frames <= 300
            assert s.keypoints_2d.shape == (s.frames, 17, 2) and s.positions_3d.shape == (s.frames, 17, 3)
            assert s.trajectory.shape == (s.frames, 3) and s.keypoints_2d.dtype == np.float32
            assert np.all(s.positions_3d[:, 0] == 0.0)
            assert np.all(np.abs(s.keypoints_2d[..., 0]) < 1.0)  # inside the image
    s = ds.sequences("test", subjects=["S11"], actions=["Walking"])[2]
    cam = cams.camera("S11", s.camera)
    absolute = s.positions_3d.astype(np.float64) + s.trajectory[:, None]
    np.testing.assert_allclose(cam.project(absolute), s.keypoints_2d, atol=1e-5)
    bones = np.linalg.norm(s.positions_3d[:, 1:] - s.positions_3d[:, list(H36M_17.parents[1:])], axis=-1)
    assert np.ptp(bones, axis=0).max() < 1e-5 and 0.05 < bones.min() and bones.max() < 0.6
    gt16 = load_dataset("synthetic", "gt16").sequences("test", subjects=["S9"])[0]
    assert gt16.keypoints_2d.shape[1] == 16
    with pytest.raises(ConfigError):
        load_dataset("synthetic", "cpn")
    with pytest.raises(ConfigError, match="no split"):
        ds.sequences("val")


def test_synthetic_is_deterministic() -> None:
    first = load_dataset("synthetic")
    _generate.cache_clear()
    second = load_dataset("synthetic")
    assert first.source_2d_sha256 == second.source_2d_sha256
    a, b = first.sequences("train")[5], second.sequences("train")[5]
    assert a is not b and np.array_equal(a.keypoints_2d, b.keypoints_2d)
    np.testing.assert_array_equal(generate_world_motion("S9", "Eating", 50), generate_world_motion("S9", "Eating", 50))
    assert not np.array_equal(generate_world_motion("S9", "Eating", 50), generate_world_motion("S11", "Eating", 50))


def test_action_folding() -> None:
    assert fold_action("Walking 1") == "Walking"
    assert fold_action("WalkDog 1") == "WalkDog"
    assert fold_action("Directions") == "Directions"
    assert fold_action("TakingPhoto 1") == "Photo"
    assert fold_action("Walking 1 chunk0", "humaneva") == "Walk"
    assert fold_action("Box 1 chunk3", "humaneva") == "Box"
