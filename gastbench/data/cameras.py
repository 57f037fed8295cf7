"""Camera calibration from the package's ``cameras.json``: world <-> camera, projection, screen normalization.

Conventions follow VideoPose3D (the source of every usual ``.npz`` file):

* extrinsics per subject: orientation quaternion ``(w, x, y, z)`` rotating camera axes into
  world axes, and the camera centre in world coordinates (millimetres in the file, metres here);
  ``X_cam = R^T (X_world - t)`` and ``X_world = R X_cam + t``;
* projection: ``xy = clip(X[:2] / Z, -1, 1)``, ``r2 = |xy|^2``,
  ``d = xy * (1 + k1 r2 + k2 r2^2 + k3 r2^3 + p . xy) + p * r2``, pixels ``= f * d + c``
  (this is VideoPose3D's tangential term, kept as is so that projected ground truth matches the
  usual ``data_2d_h36m_gt.npz``);
* screen normalization: ``x / w * 2 - 1``, ``y / w * 2 - h / w``.

Everything is batched numpy over any leading dimensions, computed in float64.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, ShapeError

__all__ = [
    "Intrinsics",
    "Extrinsics",
    "Camera",
    "CameraSet",
    "load_cameras",
    "quaternion_to_matrix",
    "normalize_screen_coordinates",
    "image_coordinates",
]

_DATASET_KEYS = {"h36m": "human36m", "human36m": "human36m", "synthetic": "human36m", "humaneva": "humaneva"}


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix ``(3, 3)`` of a quaternion ``(w, x, y, z)`` (normalized first): ``v -> v + 2w(u x v) + 2u x (u x v)``."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (4,):
        raise ShapeError(f"quaternion must have shape (4,), got {q.shape}")
    norm = np.linalg.norm(q)
    if not norm > 0:
        raise ShapeError("quaternion has zero length")
    # The calibration is stored in float32; renormalizing keeps R orthonormal so that
    # world -> camera -> world round-trips exactly (the change is ~1e-7, far below a pixel).
    q = q / norm
    w, u = q[0], q[1:]
    k = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    return np.eye(3) + 2.0 * w * k + 2.0 * (k @ k)


def _check_last(x: np.ndarray, size: int, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] != size:
        raise ShapeError(f"{what} must have shape (..., {size}), got {x.shape}")
    return x


def normalize_screen_coordinates(xy_px: np.ndarray, res_w: int, res_h: int) -> np.ndarray:
    """Pixels -> screen-normalized coordinates (``x/w*2-1``, ``y/w*2-h/w``), any leading shape."""
    xy_px = _check_last(xy_px, 2, "pixel coordinates")
    return xy_px / res_w * 2.0 - np.array([1.0, res_h / res_w])


def image_coordinates(xy_norm: np.ndarray, res_w: int, res_h: int) -> np.ndarray:
    """Inverse of :func:`normalize_screen_coordinates`."""
    xy_norm = _check_last(xy_norm, 2, "normalized coordinates")
    return (xy_norm + np.array([1.0, res_h / res_w])) * res_w / 2.0


@dataclass(frozen=True)
class Intrinsics:
    """One camera's intrinsics in pixels. HumanEva files carry none (only id and resolution)."""

    id: str
    res_w: int
    res_h: int
    center: tuple[float, float] | None = None
    focal_length: tuple[float, float] | None = None
    radial_distortion: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tangential_distortion: tuple[float, float] = (0.0, 0.0)
    azimuth: float = 0.0

    @property
    def can_project(self) -> bool:
        return self.center is not None and self.focal_length is not None


@dataclass(frozen=True)
class Extrinsics:
    """Camera pose for one subject: orientation ``(w, x, y, z)`` (camera -> world) and centre in metres."""

    orientation: tuple[float, float, float, float]
    translation_m: tuple[float, float, float]

    @property
    def rotation(self) -> np.ndarray:
        """``(3, 3)`` camera -> world rotation."""
        return quaternion_to_matrix(np.array(self.orientation))


@dataclass(frozen=True)
class Camera:
    """A calibrated camera as placed for one subject."""

    intrinsics: Intrinsics
    extrinsics: Extrinsics
    subject: str

    @property
    def id(self) -> str:
        return self.intrinsics.id

    @property
    def res_w(self) -> int:
        return self.intrinsics.res_w

    @property
    def res_h(self) -> int:
        return self.intrinsics.res_h

    def world_to_camera(self, x_world: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world metres -> camera metres."""
        x = _check_last(x_world, 3, "world positions")
        # (X - t) R == (R^T (X - t)^T)^T
        return (x - np.asarray(self.extrinsics.translation_m)) @ self.extrinsics.rotation

    def camera_to_world(self, x_cam: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera metres -> world metres."""
        x = _check_last(x_cam, 3, "camera positions")
        return x @ self.extrinsics.rotation.T + np.asarray(self.extrinsics.translation_m)

    def project(self, x_cam: np.ndarray, normalized: bool = True) -> np.ndarray:
        """``(..., 3)`` camera coordinates -> ``(..., 2)`` image points with distortion.

        Args:
            x_cam: points in camera coordinates (any unit; only ratios matter).
            normalized: screen-normalized output if True, pixels otherwise.
        """
        intr = self.intrinsics
        if not intr.can_project:
            raise ConfigError(
                f"camera {intr.id!r} has no intrinsics (focal length, centre) in cameras.json; "
                "it cannot project 3D points (HumanEva's 2D comes from the dataset's own calibration)"
            )
        x = _check_last(x_cam, 3, "camera positions")
        xy = np.clip(x[..., :2] / x[..., 2:], -1.0, 1.0)
        r2 = np.sum(xy**2, axis=-1, keepdims=True)
        k = np.asarray(intr.radial_distortion)
        p = np.asarray(intr.tangential_distortion)
        radial = 1.0 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
        tangential = np.sum(p * xy, axis=-1, keepdims=True)
        distorted = xy * (radial + tangential) + p * r2
        pixels = np.asarray(intr.focal_length) * distorted + np.asarray(intr.center)
        return normalize_screen_coordinates(pixels, intr.res_w, intr.res_h) if normalized else pixels

    def normalize(self, xy_px: np.ndarray) -> np.ndarray:
        """Pixels -> screen-normalized for this camera's resolution."""
        return normalize_screen_coordinates(xy_px, self.res_w, self.res_h)


@dataclass(frozen=True)
class CameraSet:
    """All cameras of one dataset: shared intrinsics, extrinsics per subject."""

    dataset: str
    intrinsics: tuple[Intrinsics, ...]
    extrinsics: dict[str, tuple[Extrinsics, ...]]

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.intrinsics]

    @property
    def subjects(self) -> list[str]:
        return list(self.extrinsics)

    def cameras(self, subject: str) -> list[Camera]:
        """The cameras placed for ``subject`` (``"S9"``; a HumanEva ``"Validate/S1"`` is accepted too)."""
        key = subject.rsplit("/", 1)[-1]
        if key not in self.extrinsics or not self.extrinsics[key]:
            raise ConfigError(
                f"{self.dataset} cameras: no extrinsics for subject {subject!r}; known subjects {self.subjects}"
            )
        return [Camera(i, e, key) for i, e in zip(self.intrinsics, self.extrinsics[key])]

    def camera(self, subject: str, camera: str | int) -> Camera:
        """One camera by id (``"54138969"``) or index."""
        cams = self.cameras(subject)
        if isinstance(camera, int):
            if not 0 <= camera < len(cams):
                raise ConfigError(f"{self.dataset} has {len(cams)} cameras, index {camera} is out of range")
            return cams[camera]
        for cam in cams:
            if cam.id == camera:
                return cam
        raise ConfigError(f"{self.dataset} has no camera {camera!r}; cameras are {self.ids}")


def _floats(value: Any, n: int, where: str) -> tuple[float, ...]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise DataError(f"cameras.json: {where} must be {n} finite numbers, got {value!r}")
    return tuple(float(v) for v in arr)


def _parse(raw: dict[str, Any], key: str, source: str) -> CameraSet:
    try:
        block = raw[key]
        intr_raw, extr_raw = block["intrinsic"], block["extrinsic"]
    except (KeyError, TypeError):
        raise DataError(f"{source}: expected '{key}' with 'intrinsic' and 'extrinsic' entries") from None
    intrinsics = []
    for i, c in enumerate(intr_raw):
        where = f"{key} intrinsic[{i}]"
        has = "focal_length" in c
        intrinsics.append(
            Intrinsics(
                id=str(c["id"]),
                res_w=int(c["res_w"]),
                res_h=int(c["res_h"]),
                center=_floats(c["center"], 2, where + ".center") if has else None,  # type: ignore[arg-type]
                focal_length=_floats(c["focal_length"], 2, where + ".focal_length") if has else None,  # type: ignore[arg-type]
                radial_distortion=_floats(c.get("radial_distortion", [0, 0, 0]), 3, where + ".radial"),  # type: ignore[arg-type]
                tangential_distortion=_floats(c.get("tangential_distortion", [0, 0]), 2, where + ".tangential"),  # type: ignore[arg-type]
                azimuth=float(c.get("azimuth", 0.0)),
            )
        )
    extrinsics: dict[str, tuple[Extrinsics, ...]] = {}
    for subject, cams in extr_raw.items():
        if not all(cams):  # HumanEva S4 has no calibration
            continue
        if len(cams) != len(intrinsics):
            raise DataError(
                f"{source}: {key} subject {subject} has {len(cams)} extrinsics for {len(intrinsics)} cameras"
            )
        extrinsics[subject] = tuple(
            Extrinsics(
                orientation=_floats(c["orientation"], 4, f"{key} {subject} orientation"),  # type: ignore[arg-type]
                translation_m=tuple(v / 1000.0 for v in _floats(c["translation"], 3, f"{key} {subject} translation")),  # type: ignore[arg-type]
            )
            for c in cams
        )
    return CameraSet(dataset=key, intrinsics=tuple(intrinsics), extrinsics=extrinsics)


@cache
def _package_json() -> dict[str, Any]:
    text = resources.files("gastbench.data").joinpath("cameras.json").read_text(encoding="utf-8")
    return json.loads(text)


def package_cameras_file() -> str:
    """Where the package's ``cameras.json`` is on disk: a file every dataset reads, so no output may replace it."""
    return str(resources.files("gastbench.data").joinpath("cameras.json"))


def load_cameras(dataset: str = "h36m", path: str | Path | None = None) -> CameraSet:
    """Cameras of ``"h36m"`` (alias ``"human36m"``, ``"synthetic"``) or ``"humaneva"``.

    Args:
        dataset: which dataset's calibration.
        path: a ``cameras.json`` to read instead of the package's copy.
    """
    if dataset not in _DATASET_KEYS:
        raise ConfigError(f"no cameras for dataset {dataset!r}; known: {sorted(_DATASET_KEYS)}")
    if path is None:
        raw, source = _package_json(), "gastbench/data/cameras.json"
    else:
        try:
            raw, source = json.loads(Path(path).read_text(encoding="utf-8")), str(path)
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: cannot read camera calibration: {exc}") from None
    return _parse(raw, _DATASET_KEYS[dataset], source)
