"""The one door in: ``load_dataset(name, input, data_dir)``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .types import PoseDataset

__all__ = ["DATASETS", "load_dataset"]

DATASETS = ("h36m", "humaneva", "3dhp", "synthetic")


def load_dataset(
    name: str = "h36m",
    input: str = "gt",
    data_dir: str | Path | None = None,
    allow_trim: bool = False,
    annotation: str | None = None,
) -> PoseDataset:
    """Load a dataset with one 2D input.

    Args:
        name: ``"h36m"``, ``"humaneva"``, ``"3dhp"`` (MPI-INF-3DHP) or ``"synthetic"``.
        input: 2D input: ``"gt"``, ``"cpn"``, ``"sh"``, ``"detectron"`` or any ``data_2d_<dataset>_<input>.npz``.
        data_dir: folder with the files; else ``$GASTBENCH_DATA``; else the cache folder.
        allow_trim: accept 2D and 3D frame counts that differ beyond the small tolerance of
            :data:`gastbench.data.assemble.TRIM_TOLERANCE_FRAMES` (the result is then partial).
        annotation: MPI-INF-3DHP's 3D annotation, ``"univ_annot3"`` (default) or ``"annot3"``.
    """
    if annotation is not None and name != "3dhp":
        raise ConfigError(f"annotation={annotation!r} applies to MPI-INF-3DHP (3dhp) only, not {name!r}")
    if name == "h36m":
        from .h36m import load_h36m

        return load_h36m(input, data_dir, allow_trim=allow_trim)
    if name == "humaneva":
        from .humaneva import load_humaneva

        return load_humaneva(input, data_dir, allow_trim=allow_trim)
    if name == "3dhp":
        from .mpi3dhp import DEFAULT_ANNOTATION, load_mpi3dhp

        return load_mpi3dhp(input, data_dir, annotation or DEFAULT_ANNOTATION, allow_trim=allow_trim)
    if name == "synthetic":
        from .synthetic import load_synthetic

        return load_synthetic(input)
    raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
