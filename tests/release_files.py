"""Writers of small files in the official releases' layouts, for the preparation tests.

- Human3.6M: D3_Positions CDF files (``Pose``: ``(1, frames, 96)`` mm, cdflib's writer) and
  Martinez's ``h36m.zip`` (``3D_positions``: ``(96, frames)`` mm, h5py), under the release's
  file names (``TakingPhoto``, ``WalkingDog`` in the CDF release).
- MPI-INF-3DHP: MATLAB v5 files (scipy's ``savemat``) and v7.3 files (HDF5 with MATLAB's
  512-byte header, dimensions reversed, cells as references to ``#refs#``), test
  (``annot_data.mat``) and training (``annot.mat``) kinds.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

RELEASE_NAMES = {"Photo": "TakingPhoto", "WalkDog": "WalkingDog"}


def release_name(sequence: str) -> str:
    base, space, take = sequence.partition(" ")
    return RELEASE_NAMES.get(base, base) + space + take


def millimetres(positions_m: np.ndarray) -> np.ndarray:
    """float32 metres -> float64 millimetres, exactly (a float32 times 1000 fits a float64's mantissa)."""
    return positions_m.astype(np.float64) * 1000.0


def write_cdf_release(root: Path, positions: dict[str, dict[str, np.ndarray]], dtype: Any = np.float64) -> None:
    from cdflib.cdfwrite import CDF

    for subject, sequences in positions.items():
        folder = root / subject / "MyPoseFeatures" / "D3_Positions"
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in sequences.items():
            pose = millimetres(arr).reshape(1, arr.shape[0], 96).astype(dtype)
            kind = CDF.CDF_DOUBLE if pose.dtype == np.float64 else CDF.CDF_FLOAT
            writer = CDF(str(folder / f"{release_name(name)}.cdf"))
            spec = {"Variable": "Pose", "Data_Type": kind, "Num_Elements": 1, "Rec_Vary": True,
                    "Dim_Sizes": [arr.shape[0], 96], "Compress": 0}  # fmt: skip
            writer.write_var(spec, var_data=pose)
            writer.close()


def _h5_bytes(arr: np.ndarray, dataset: str = "3D_positions") -> bytes:
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as hf:
        hf.create_dataset(dataset, data=millimetres(arr).transpose(1, 2, 0).reshape(96, -1))
    return buffer.getvalue()


def write_h5_archive(path: Path, positions: dict[str, dict[str, np.ndarray]]) -> None:
    """Martinez's h36m.zip: h36m/<subject>/MyPoses/3D_positions/<sequence>.h5 (stored, not deflated: quick)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for subject, sequences in positions.items():
            for name, arr in sequences.items():
                archive.writestr(f"h36m/{subject}/MyPoses/3D_positions/{name}.h5", _h5_bytes(arr))


def write_h5_folder(root: Path, positions: dict[str, dict[str, np.ndarray]]) -> None:
    for subject, sequences in positions.items():
        folder = root / "h36m" / subject / "MyPoses" / "3D_positions"
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in sequences.items():
            (folder / f"{name}.h5").write_bytes(_h5_bytes(arr))


# MPI-INF-3DHP ------------------------------------------------------------------------------------

_HEADER_73 = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970 HDF5 schema 1.00 ."


def _h5_write(hf: Any, name: str, value: Any) -> None:
    """One MATLAB variable into a v7.3 file: arrays transposed, object arrays as cells of references."""
    import h5py

    if isinstance(value, np.ndarray) and value.dtype == object:
        refs = hf.require_group("#refs#")
        stored = np.empty(value.shape[::-1], dtype=h5py.ref_dtype)
        for index, item in np.ndenumerate(value):
            cell = refs.create_dataset(f"{name}_{'_'.join(map(str, index))}", data=np.asarray(item).T)
            stored[index[::-1]] = cell.ref
        dataset = hf.create_dataset(name, data=stored, dtype=h5py.ref_dtype)
        dataset.attrs["MATLAB_class"] = np.bytes_("cell")
    else:
        hf.create_dataset(name, data=np.asarray(value).T)


def write_mat(path: Path, variables: dict[str, Any], version: str) -> None:
    """``variables`` in MATLAB dimension order, as a v5 (scipy) or v7.3 (HDF5) file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if version == "v5":
        from scipy.io import savemat

        savemat(str(path), variables)
        return
    import h5py

    with h5py.File(path, "w", userblock_size=512) as hf:
        for name, value in variables.items():
            _h5_write(hf, name, value)
    with open(path, "r+b") as handle:
        handle.write(_HEADER_73.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM")


def ts_annotations(frames: int, seed: int, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A TS<n>/annot_data.mat's variables (MATLAB order): 2x17x1xn pixels, 3x17x1xn mm, valid_frame."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 300.0, (3, 17, 1, frames)) + np.array([0.0, 0.0, 4000.0])[:, None, None, None]
    return {
        "annot2": rng.uniform(100.0, 1800.0, (2, 17, 1, frames)),
        "annot3": pose * 1.1,
        "univ_annot3": pose,
        "valid_frame": (np.ones(frames) if valid is None else valid).reshape(1, frames),
        "activity_annotation": rng.integers(1, 8, (frames, 1)).astype(np.float64),
    }


def seq_annotations(frames: int, seed: int, cameras: int = 14) -> dict[str, Any]:
    """An S<n>/Seq<m>/annot.mat's variables: one frames x 56 / x 84 array per camera, in cells."""
    rng = np.random.default_rng(seed)

    def cells(width: int, scale: float) -> np.ndarray:
        out = np.empty((cameras, 1), dtype=object)
        for c in range(cameras):
            out[c, 0] = rng.normal(0.0, scale, (frames, width))
        return out

    univ = cells(84, 300.0)
    own = np.empty_like(univ)
    for c in range(cameras):
        own[c, 0] = univ[c, 0] * 1.1
    return {"annot2": cells(56, 500.0), "annot3": own, "univ_annot3": univ,
            "cameras": np.arange(cameras).reshape(1, cameras), "frames": np.arange(frames).reshape(frames, 1)}  # fmt: skip
