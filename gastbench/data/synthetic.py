"""A small built-in dataset in the Human3.6M layout: procedural motion seen by the real H36M cameras.

For tests, demos and smoke runs without the real files. A 17-joint skeleton (subject-specific
bone lengths) swings its limbs sinusoidally per action while its root moves; the world-space
joints are projected through the Human3.6M calibration (with distortion), exactly as
ground-truth 2D is made for the real data. Fully deterministic (fixed seed), generated in
milliseconds. Labelled ``synthetic=True``: never mix its numbers with real results.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np

from ..errors import ConfigError
from ..skeleton import H36M_16, H36M_17
from .actions import H36M_ACTIONS
from .assemble import make_sequence, readonly
from .cameras import load_cameras, package_cameras_file
from .types import PoseDataset, PoseSequence

__all__ = ["SYNTHETIC_SPLITS", "SYNTHETIC_ACTIONS", "generate_world_motion", "load_synthetic"]

SYNTHETIC_SPLITS = {"train": ["S1", "S5"], "test": ["S9", "S11"]}
SYNTHETIC_ACTIONS = ("Directions", "Eating", "Sitting", "Walking")
FPS = 50.0
SEED = 20240611
_INPUTS = {"gt": H36M_17, "gt16": H36M_16}


def _rng(subject: str, action: str) -> np.random.Generator:
    # A stable per-sequence seed (Python's hash() of str is salted per process).
    digest = hashlib.sha256(f"{SEED}/{subject}/{action}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _limb(start: np.ndarray, fwd: np.ndarray, up: np.ndarray, length: float, angle: np.ndarray) -> np.ndarray:
    """End of a segment hanging from ``start``, swung forward by ``angle`` (0 = straight down)."""
    return start + length * (np.sin(angle)[:, None] * fwd - np.cos(angle)[:, None] * up)


def generate_world_motion(subject: str, action: str, frames: int) -> np.ndarray:
    """``(frames, 17, 3)`` world-space joints in metres (z up) in H36M_17 order."""
    rng = _rng(subject, action)
    scale = rng.uniform(0.92, 1.08)
    thigh, shin = 0.45 * scale, 0.44 * scale
    upper_arm, forearm = 0.28 * scale, 0.25 * scale
    hip_w, shoulder_w = 0.13 * scale, 0.16 * scale
    t = np.arange(frames) / FPS
    phase = rng.uniform(0, 2 * np.pi)
    freq = rng.uniform(0.8, 1.2)
    w = 2 * np.pi * freq * t + phase
    sin, cos = np.sin, np.cos

    yaw = np.full(frames, rng.uniform(-np.pi, np.pi))
    centre = rng.uniform(-0.5, 0.5, size=2)
    pelvis_h = np.full(frames, thigh + shin + 0.02)
    lean = np.zeros(frames)
    hip_l = hip_r = knee_l = knee_r = np.zeros(frames)
    sh_l = sh_r = np.full(frames, 0.05)
    el_l = el_r = np.full(frames, 0.15)
    xy = np.repeat(centre[None], frames, axis=0)

    if action == "Walking":
        radius = rng.uniform(0.9, 1.3)
        ang = 0.35 * w / (2 * np.pi * freq) + phase  # slow progress around a circle inside the capture area
        xy = 0.4 * centre + radius * np.stack([cos(ang), sin(ang)], axis=1)
        yaw = ang + np.pi / 2
        hip_l, hip_r = 0.4 * sin(w), -0.4 * sin(w)
        knee_l, knee_r = 0.5 * np.clip(sin(w + 1.2), 0, None), 0.5 * np.clip(-sin(w + 1.2), 0, None)
        sh_l, sh_r = -0.35 * sin(w), 0.35 * sin(w)
        pelvis_h = pelvis_h - 0.02 * (1 - cos(2 * w))
        lean = np.full(frames, 0.08)
    elif action == "Eating":
        sh_r = 0.6 + 0.25 * sin(w)
        el_r = 1.8 + 0.4 * sin(w)
        sh_l, el_l = np.full(frames, 0.3), np.full(frames, 1.3)
        lean = 0.05 + 0.03 * sin(0.5 * w)
        yaw = yaw + 0.1 * sin(0.3 * w)
    elif action == "Sitting":
        pelvis_h = np.full(frames, 0.5 * scale)
        hip_l = hip_r = np.full(frames, np.pi / 2)
        knee_l = knee_r = np.full(frames, np.pi / 2)
        sh_l, sh_r = 0.3 + 0.2 * sin(w), 0.3 + 0.2 * sin(w + 2.0)
        el_l, el_r = 0.9 + 0.3 * sin(w), 0.9 + 0.3 * sin(w + 1.0)
        lean = 0.1 + 0.05 * sin(0.5 * w)
    elif action == "Directions":
        sh_r = 1.2 + 0.4 * sin(w)  # pointing
        el_r = 0.2 + 0.1 * sin(w)
        sh_l = 0.2 * sin(0.5 * w)
        yaw = yaw + 0.6 * sin(0.4 * w)
        xy = centre + 0.3 * np.stack([sin(0.3 * w), cos(0.2 * w)], axis=1)
    else:
        raise ConfigError(f"synthetic dataset has no action {action!r}; actions are {list(SYNTHETIC_ACTIONS)}")

    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (frames, 3))
    fwd = np.stack([cos(yaw), sin(yaw), np.zeros(frames)], axis=1)
    left = np.stack([-sin(yaw), cos(yaw), np.zeros(frames)], axis=1)
    trunk = cos(lean)[:, None] * up + sin(lean)[:, None] * fwd  # torso axis, leaning forward
    trunk_fwd = cos(lean)[:, None] * fwd - sin(lean)[:, None] * up

    pelvis = np.concatenate([xy, pelvis_h[:, None]], axis=1)
    joints = np.zeros((frames, 17, 3))
    joints[:, 0] = pelvis
    for hip, knee_j, ankle_j, side, a_hip, a_knee in (
        (1, 2, 3, -1.0, hip_r, knee_r),
        (4, 5, 6, 1.0, hip_l, knee_l),
    ):
        joints[:, hip] = pelvis + side * hip_w * left
        joints[:, knee_j] = _limb(joints[:, hip], fwd, up, thigh, a_hip)
        joints[:, ankle_j] = _limb(joints[:, knee_j], fwd, up, shin, a_hip - a_knee)
    joints[:, 7] = pelvis + 0.23 * scale * trunk
    joints[:, 8] = pelvis + 0.48 * scale * trunk
    joints[:, 9] = joints[:, 8] + 0.11 * scale * trunk + 0.05 * scale * trunk_fwd
    joints[:, 10] = joints[:, 8] + 0.20 * scale * trunk + 0.02 * scale * trunk_fwd
    for sh, el, wr, side, a_sh, a_el in ((11, 12, 13, 1.0, sh_l, el_l), (14, 15, 16, -1.0, sh_r, el_r)):
        joints[:, sh] = joints[:, 8] + side * shoulder_w * left - 0.02 * trunk
        joints[:, el] = _limb(joints[:, sh], trunk_fwd, trunk, upper_arm, a_sh)
        joints[:, wr] = _limb(joints[:, el], trunk_fwd, trunk, forearm, a_sh + a_el)
    return joints


def _frames(subject: str, action: str) -> int:
    return int(_rng(subject, action + "/frames").integers(100, 301))


@cache
def _generate(input: str) -> tuple[dict[str, list[PoseSequence]], str]:
    cameras = load_cameras("h36m")
    layout = _INPUTS[input]
    select = list(layout.indices_in(H36M_17))
    per_subject: dict[str, list[PoseSequence]] = {}
    digest = hashlib.sha256()
    for subjects in SYNTHETIC_SPLITS.values():
        for subject in subjects:
            seqs = []
            for action in SYNTHETIC_ACTIONS:
                world = generate_world_motion(subject, action, _frames(subject, action))
                for cam in cameras.cameras(subject):
                    seq = make_sequence(subject, action, action, cam, world, None)
                    if input != "gt":
                        seq = PoseSequence(
                            seq.subject, seq.action, seq.name, seq.camera,
                            readonly(seq.keypoints_2d[:, select]), seq.positions_3d, seq.trajectory,
                        )  # fmt: skip
                    for arr in (seq.keypoints_2d, seq.positions_3d, seq.trajectory):
                        digest.update(arr.tobytes())
                    seqs.append(seq)
            per_subject[subject] = seqs
    return per_subject, digest.hexdigest()


def load_synthetic(input: str = "gt") -> PoseDataset:
    """The synthetic dataset; ``input`` ``"gt"`` (17 joints) or ``"gt16"`` (16 joints, no neck)."""
    if input not in _INPUTS:
        raise ConfigError(f"synthetic dataset has inputs {sorted(_INPUTS)}, not {input!r}")
    per_subject, sha = _generate(input)
    return PoseDataset(
        name="synthetic",
        input=input,
        layout_2d=_INPUTS[input],
        layout_3d=H36M_17,
        fps=FPS,
        source_2d="synthetic",
        source_2d_sha256=sha,
        skipped=[],
        synthetic=True,
        table_actions=tuple(a for a in H36M_ACTIONS if a in SYNTHETIC_ACTIONS),
        split_subjects={k: list(v) for k, v in SYNTHETIC_SPLITS.items()},
        files=[package_cameras_file()],
        build=lambda split, subject: per_subject[subject],
    )
