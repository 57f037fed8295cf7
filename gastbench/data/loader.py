"""The one door in: ``load_dataset(name, input, data_dir)``."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .types import PoseDataset

__all__ = ["DATASETS", "list_datasets", "load_dataset"]

DATASETS = ("h36m", "humaneva", "synthetic")


def list_datasets() -> list[str]:
    return list(DATASETS)


def load_dataset(
    name: str = "h36m", input: str = "gt", data_dir: str | Path | None = None, allow_trim: bool = False
) -> PoseDataset:
    """Load a dataset with one 2D input.

    Args:
        name: ``"h36m"``, ``"humaneva"`` or ``"synthetic"``.
        input: 2D input: ``"gt"``, ``"cpn"``, ``"sh"``, ``"detectron"`` or any ``data_2d_<dataset>_<input>.npz``.
        data_dir: folder with the files; else ``$GASTBENCH_DATA``; else the cache folder.
        allow_trim: accept 2D and 3D frame counts that differ beyond the small tolerance of
            :data:`gastbench.data.assemble.TRIM_TOLERANCE_FRAMES` (the result is then partial).
    """
    if name == "h36m":
        from .h36m import load_h36m

        return load_h36m(input, data_dir, allow_trim=allow_trim)
    if name == "humaneva":
        from .humaneva import load_humaneva

        return load_humaneva(input, data_dir, allow_trim=allow_trim)
    if name == "synthetic":
        from .synthetic import load_synthetic

        return load_synthetic(input)
    raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
