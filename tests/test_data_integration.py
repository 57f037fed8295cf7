"""gastbench.data against the real files found through $GASTBENCH_DATA (skipped when absent)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from gastbench.data import PoseDataset, load_cameras, load_dataset
from gastbench.data.h36m import KEPT_JOINTS
from gastbench.data.safe_npz import load_npz
from gastbench.skeleton import H36M_16, H36M_17, HUMANEVA_15

pytestmark = pytest.mark.integration


def _data_dir(*files: str) -> Path:
    env = os.environ.get("GASTBENCH_DATA")
    if not env:
        pytest.skip("GASTBENCH_DATA is not set: the real dataset files are needed")
    folder = Path(env)
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        pytest.skip(f"dataset files {missing} not found in $GASTBENCH_DATA={folder}")
    return folder


@pytest.fixture(scope="module")
def humaneva() -> PoseDataset:
    return load_dataset("humaneva", "gt", data_dir=_data_dir("data_3d_humaneva15.npz", "data_2d_humaneva15_gt.npz"))


@pytest.fixture(scope="module")
def h36m_gt() -> PoseDataset:
    folder = _data_dir("data_3d_h36m.npz")
    start = time.perf_counter()
    ds = load_dataset("h36m", "gt", data_dir=folder)
    print(f"\nh36m gt (projected) load: {time.perf_counter() - start:.2f} s")
    return ds


def test_humaneva_validate_split(humaneva: PoseDataset) -> None:
    folder = _data_dir("data_3d_humaneva15.npz")
    raw = load_npz(folder / "data_3d_humaneva15.npz")["positions_3d"]
    assert humaneva.layout_2d is HUMANEVA_15 and humaneva.layout_3d is HUMANEVA_15 and humaneva.fps == 60.0
    assert humaneva.subjects("test") == ["S1", "S2", "S3"]
    assert humaneva.actions("test") == ["Walk", "Jog", "Box"]
    assert set(humaneva.all_actions("test")) == {"Walk", "Jog", "Box", "Gestures", "ThrowCatch"}
    seqs = humaneva.sequences("test")
    expected = sum(a.shape[0] for k, acts in raw.items() if k.startswith("Validate/") for a in acts.values())
    assert sum(s.frames for s in seqs) == 3 * expected  # three cameras, nothing trimmed in these files
    for s in seqs:
        assert s.keypoints_2d.shape == (s.frames, 15, 2) and s.positions_3d.shape == (s.frames, 15, 3)
        assert np.all(s.positions_3d[:, 0] == 0) and s.camera in ("C1", "C2", "C3")
    walk = humaneva.sequences("test", subjects=["S1"], actions=["Walk"])
    assert {s.name for s in walk} == {"Walking 1 chunk0", "Walking 1 chunk2", "Walking 1 chunk4"}


def test_humaneva_extrinsics_explain_the_2d_file(humaneva: PoseDataset) -> None:
    """cameras.json has no HumanEva intrinsics: fit focal, centre and radial distortion from the
    camera-space 3D (our extrinsics) and the file's 2D; a tight fit shows the extrinsics and
    their convention are right (a wrong rotation or translation would leave errors of many pixels)."""
    worst = 0.0
    for subject in ("S1", "S2", "S3"):
        for cam in ("C1", "C2", "C3"):
            seqs = [s for split in ("train", "test") for s in humaneva.sequences(split, [subject]) if s.camera == cam]
            xyz = (
                np.concatenate([s.positions_3d + s.trajectory[:, None] for s in seqs]).reshape(-1, 3).astype(np.float64)
            )
            uv = np.concatenate([(s.keypoints_2d + [1.0, 480 / 640]) * 320 for s in seqs]).reshape(-1, 2)
            x = xyz[:, :2] / xyz[:, 2:]
            r2 = np.sum(x**2, axis=1)
            residual = []
            for d in range(2):
                design = np.stack([x[:, d], x[:, d] * r2, x[:, d] * r2**2, np.ones(len(x))], axis=1)
                coef, *_ = np.linalg.lstsq(design, uv[:, d], rcond=None)
                residual.append(design @ coef - uv[:, d])
            err = np.hypot(*residual)
            print(f"\n{subject} {cam}: fitted projection error mean {err.mean():.3f} px, max {err.max():.2f} px")
            assert err.mean() < 0.5 and err.max() < 5.0
            worst = max(worst, float(err.max()))
    print(f"worst HumanEva reprojection error: {worst:.2f} px")


def test_h36m_gt_projection(h36m_gt: PoseDataset) -> None:
    folder = _data_dir("data_3d_h36m.npz")
    assert h36m_gt.source_2d == "projected:data_3d_h36m.npz" and len(h36m_gt.source_2d_sha256) == 64
    assert h36m_gt.layout_2d is H36M_17 and h36m_gt.fps == 50.0
    assert h36m_gt.skipped == ["S11/Directions (corrupted video)"]
    assert h36m_gt.subjects("test") == ["S9", "S11"] and len(h36m_gt.actions("test")) == 15
    raw = load_npz(folder / "data_3d_h36m.npz")["positions_3d"]
    cams = load_cameras("h36m")
    for subject, name in (("S9", "Walking 1"), ("S11", "Photo")):
        world = raw[subject][name][:, list(KEPT_JOINTS)].astype(np.float64)
        seqs = [s for s in h36m_gt.sequences("test", [subject]) if s.name == name]
        assert [s.camera for s in seqs] == cams.ids
        for s in seqs:
            cam = cams.camera(subject, s.camera)
            xyz = cam.world_to_camera(world)
            assert s.frames == world.shape[0]
            np.testing.assert_allclose(s.positions_3d, xyz - xyz[:, :1], atol=1e-5)
            np.testing.assert_allclose(s.trajectory, xyz[:, 0], atol=1e-5)
            px = (s.keypoints_2d + [1.0, cam.res_h / cam.res_w]) * cam.res_w / 2
            np.testing.assert_allclose(px, cam.project(xyz, normalized=False), atol=1e-3)
            assert 2.0 < xyz[:, 0, 2].min() and np.abs(s.keypoints_2d[..., 0]).max() < 1.0
    assert not any(s.name == "Directions" for s in h36m_gt.sequences("test", ["S11"]))


def test_h36m_sh_maps_to_16_joints(h36m_gt: PoseDataset) -> None:
    folder = _data_dir("data_3d_h36m.npz", "data_2d_h36m_sh_pt_mpii.npz")
    start = time.perf_counter()
    sh = load_dataset("h36m", "sh_pt_mpii", data_dir=folder)
    print(f"\nh36m sh_pt_mpii load: {time.perf_counter() - start:.2f} s")
    assert sh.layout_2d is H36M_16 and sh.source_2d == "data_2d_h36m_sh_pt_mpii.npz"
    gt_seqs = {(s.name, s.camera): s for s in h36m_gt.sequences("test", ["S9"])}
    select = list(H36M_16.indices_in(H36M_17))
    flip = list(H36M_16.flip_permutation)
    own_d, mirror_d = [], []  # per frame and joint: pixel distance to the same / the mirrored gt joint
    for s in sh.sequences("test", ["S9"]):
        gt = gt_seqs[(s.name, s.camera)]
        assert s.frames == gt.frames
        gt16 = gt.keypoints_2d[:, select]
        own_d.append(np.linalg.norm(s.keypoints_2d - gt16, axis=-1) * 500)  # pixels (width 1000)
        mirror_d.append(np.linalg.norm(s.keypoints_2d - gt16[:, flip], axis=-1) * 500)
    own_med = np.median(np.concatenate(own_d), axis=0)
    mirror_med = np.median(np.concatenate(mirror_d), axis=0)
    own = {name: float(own_med[j]) for j, name in enumerate(H36M_16.joint_names)}
    print("median pixel distance SH vs projected gt (S9):", {k: round(v, 1) for k, v in own.items()})
    for name in ("pelvis", "left_hip", "right_hip", "left_wrist", "right_wrist", "left_shoulder", "right_shoulder"):
        assert own[name] < 15.0, (name, own[name])
    # left and right are the right way round: nearer the own side than the mirror side
    # (the detector does swap sides in some frames, so compare medians over all of S9)
    for j in H36M_16.joints_left + H36M_16.joints_right:
        assert own_med[j] < mirror_med[j], (H36M_16.joint_names[j], own_med[j], mirror_med[j])
