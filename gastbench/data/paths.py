"""Where dataset files live: ``--data-dir``, else ``$GASTBENCH_DATA``, else a cache folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import DataError

__all__ = ["ENV_VAR", "resolve_data_dir", "resolve_data_dir_with_origin", "require_file"]

ENV_VAR = "GASTBENCH_DATA"

#: How each file is obtained; shown when it is missing.
HOW_TO_GET = {
    "h36m": (
        "`gastbench data prepare h36m --from <Human3.6M release dir or h36m.zip>` writes data_3d_h36m.npz "
        "(VideoPose3D's `python prepare_data_h36m.py --from-source-cdf <dir>` gives the same arrays, less "
        "S11 Directions: https://github.com/facebookresearch/VideoPose3D/blob/main/DATASETS.md); the 2D "
        "detections (CPN, SH, Detectron) are linked there as data_2d_h36m_<input>.npz, and other tools' 2D "
        "files convert with `gastbench data import-2d`."
    ),
    "3dhp": (
        "MPI-INF-3DHP files are prepared from the official release "
        "(https://vcai.mpi-inf.mpg.de/3dhp-dataset/): `gastbench data prepare 3dhp --from <release dir>` "
        "gives data_test_3dhp.npz (and data_train_3dhp.npz); the lifting papers' already-prepared files of "
        "the same names (P-STMO's layout) are read as they are."
    ),
    "humaneva": (
        "HumanEva-I files are produced by VideoPose3D's data preparation "
        "(https://github.com/facebookresearch/VideoPose3D/blob/main/DATASETS.md, section HumanEva): "
        "`python prepare_data_humaneva.py -p <HumanEva dir> --convert-3d` and `--convert-2d`, "
        "giving data_3d_humaneva15.npz and data_2d_humaneva15_gt.npz."
    ),
}


def _platform_cache() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gastbench" / "data"


def resolve_data_dir_with_origin(data_dir: str | Path | None = None) -> tuple[Path, str]:
    """Like :func:`resolve_data_dir`, also saying how the folder was chosen."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser(), "from the data_dir argument (--data-dir)"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), f"from ${ENV_VAR}"
    return _platform_cache(), f"the default cache folder (no --data-dir given and ${ENV_VAR} unset)"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The dataset folder: ``data_dir`` if given, else ``$GASTBENCH_DATA``, else the platform cache."""
    return resolve_data_dir_with_origin(data_dir)[0]


def require_file(file_name: str, dataset: str, data_dir: str | Path | None = None) -> Path:
    """Path of ``file_name`` in the resolved data folder, or a DataError saying where and how to get it."""
    folder, origin = resolve_data_dir_with_origin(data_dir)
    path = folder / file_name
    if folder.exists() and not folder.is_dir():
        raise DataError(f"data folder {folder} ({origin}) is a file, not a folder")
    if path.is_dir():
        raise DataError(f"dataset file {path} is a directory, not a file; put {file_name!r} there instead")
    if not path.is_file():
        how = HOW_TO_GET.get(dataset, "see the dataset's preparation instructions")
        raise DataError(
            f"dataset file {file_name!r} not found: looked for {path} (data folder {folder}, {origin}). "
            f"Pass --data-dir or set ${ENV_VAR} to the folder holding it. How to obtain it: {how}"
        )
    return path
