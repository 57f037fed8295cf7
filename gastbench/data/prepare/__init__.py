"""Dataset files from their sources: the official releases in, the layouts gastbench reads out.

- :func:`prepare_h36m`: ``data_3d_h36m.npz`` from Human3.6M's D3_Positions CDF files or
  Martinez's ``h36m.zip`` (:mod:`.h36m`, :mod:`.h36m_sources`);
- :func:`prepare_3dhp`: ``data_test_3dhp.npz`` / ``data_train_3dhp.npz`` from MPI-INF-3DHP's
  MATLAB files, v5 or v7.3 (:mod:`.mpi3dhp`, :mod:`.mat_files`);
- :func:`import_2d`: ``data_2d_<dataset>_<name>.npz`` from MMPose's, MotionBERT's or plain
  array files (:mod:`.import_2d`, :mod:`.import_tools`).

The readers of the releases (``cdflib``, ``h5py``, ``scipy``) come with the ``prepare`` extra
and are imported only when a file needs them. A prepared file is never written over without
``overwrite``; bad input is a one-line error naming the file.
"""

from __future__ import annotations

from .files import PreparedFile, content_digest
from .h36m import prepare_h36m
from .import_2d import IMPORTERS, import_2d
from .mpi3dhp import prepare_3dhp

__all__ = ["IMPORTERS", "PreparedFile", "content_digest", "import_2d", "prepare_3dhp", "prepare_h36m"]
