"""The per-epoch checkpoint: model, optimizer, schedule, every RNG state, read back by the restricted loader.

RNG states are stored as tensors (numpy's and Python's tuples are flattened), so the file holds
only tensors, numbers, strings, lists and dicts and never needs a full unpickle: it is read by
:func:`gastbench.checkpoint.unpickle.load_torch_checkpoint`, the same allow-list reader as any
released checkpoint (a run folder may come from someone else).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint.unpickle import load_torch_checkpoint
from ..errors import ConfigError, WeightsError, not_a_file
from .config import TrainConfig

__all__ = [
    "CHECKPOINT_VERSION", "capture_rng", "check_resume_config", "load_checkpoint", "restore_rng", "rewrite_log",
    "save_checkpoint",
]  # fmt: skip

CHECKPOINT_VERSION = 1


def capture_rng() -> dict[str, Any]:
    """torch (CPU and every CUDA device), numpy and Python RNG states, as tensors."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
        "numpy_meta": [str(np_name), int(np_pos), int(np_has_gauss), float(np_gauss)],
        "python_state": torch.tensor(py_state, dtype=torch.int64),
        "python_meta": [int(py_version), py_gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, pos, has_gauss, gauss = state["numpy_meta"]
    np.random.set_state((name, state["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, gauss_next = state["python_meta"]
    random.setstate((version, tuple(int(v) for v in state["python_state"].tolist()), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically (a fresh temporary file, then a rename), so a kill mid-write leaves the previous
    checkpoint intact."""
    from ..outputs import replacing

    path = Path(path)
    with replacing(path, "wb") as handle:
        torch.save({"version": CHECKPOINT_VERSION, **payload}, handle)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint through the restricted loader; :class:`WeightsError` if missing, unsafe or foreign."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint {path} {not_a_file(path)}; nothing to resume (run without --resume)")
    data = load_torch_checkpoint(path)
    if not isinstance(data, dict) or data.get("version") != CHECKPOINT_VERSION:
        raise WeightsError(
            f"checkpoint {path}: expected a gastbench training checkpoint version {CHECKPOINT_VERSION}, "
            f"got version {data.get('version') if isinstance(data, dict) else type(data).__name__!r}"
        )
    return data


#: Settings that may differ between a run and its resumption (they do not change the numbers on CPU).
_RESUMABLE_CHANGES = frozenset({"device", "num_threads", "validate_every", "data_dir", "runs_dir"})


def check_resume_config(saved: TrainConfig, given: TrainConfig) -> None:
    a, b = saved.to_dict(), given.to_dict()
    diff = sorted(k for k in a if k not in _RESUMABLE_CHANGES and a[k] != b.get(k))
    if diff:
        details = ", ".join(f"{k}: run {a[k]!r} vs now {b.get(k)!r}" for k in diff)
        raise ConfigError(f"--resume: the settings differ from the run being resumed ({details})")


def rewrite_log(path: Path, keep_epochs: int) -> list[dict[str, Any]]:
    """Keep the log lines of the epochs the checkpoint holds (a killed run may have logged one more)."""
    if not path.is_file():
        return []
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("epoch", 0) <= keep_epochs:
                kept.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    return kept
