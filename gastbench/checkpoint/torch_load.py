"""Reading the authors' original (pickled) checkpoints without running their code.

They are read with ``torch.load(weights_only=True)`` and an allow-list of exactly the numpy
globals those files contain (numpy scalars for epoch/lr/loss, numpy arrays in
``random_state``); anything else in the pickle (e.g. an ``os.system`` reduce) is refused
with a :class:`WeightsError`, never executed.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError

__all__ = ["numpy_safe_globals", "safe_torch_load"]


def numpy_safe_globals() -> list[Any]:
    """Exactly the numpy globals the original checkpoints pickle, under old and new module names."""
    import numpy as np

    try:  # numpy >= 2
        from numpy._core import multiarray as ma
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
    allowed: list[Any] = [np.ndarray, np.dtype, ma.scalar, ma._reconstruct]
    # Files written under numpy 1.x name ``numpy.core.multiarray``; under 2.x ``numpy._core.multiarray``.
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed += [(ma.scalar, f"{module}.scalar"), (ma._reconstruct, f"{module}._reconstruct")]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:  # numpy >= 1.25 rebuilds dtypes as these classes
        for name in ("Float16DType", "Float32DType", "Float64DType", "Int8DType", "Int16DType", "Int32DType",
                     "Int64DType", "UInt8DType", "UInt16DType", "UInt32DType", "UInt64DType", "BoolDType",
                     "LongDType", "ULongDType", "LongLongDType", "ULongLongDType"):  # fmt: skip
            if hasattr(dtypes, name):
                allowed.append(getattr(dtypes, name))
    return allowed


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load`` that can only build tensors, containers and plain numpy values."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)", message) or re.search(r"got <class '([\w.]+)'>", message)
        culprit = f" (it asks for {found.group(1)})" if found else ""
        raise WeightsError(
            f"refusing to unpickle {path}{culprit}: only tensors, containers and numpy values are allowed, "
            "because a pickle can run arbitrary code; if the file is really a checkpoint of a supported model, "
            "re-save its state dict with torch.save(state_dict) and convert that"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise WeightsError(f"cannot read checkpoint {path}: {exc}") from None
