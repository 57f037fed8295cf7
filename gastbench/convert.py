"""Import the authors' original checkpoints into gastbench safetensors, strictly.

Original files are pickles. They are read with ``torch.load(weights_only=True)`` and an
allow-list of exactly the numpy globals those files contain (numpy scalars for epoch/lr/loss,
numpy arrays in ``random_state``); anything else in the pickle (e.g. an ``os.system``
reduce) is refused with a :class:`WeightsError`, never executed.

Layouts (see the docstrings of the lifter modules for the key tables):

========== ============== ======================================================
``--from``  container      key mapping
========== ============== ======================================================
gastnet     ``model_pos``  identical (gastbench keeps the reference names)
videopose3d ``model_pos``  identical
semgcn      ``state_dict`` ``.nonlocal.`` -> ``.non_local.`` (Python keyword)
martinez    ``state_dict`` identical
poseformer  ``model_pos``  ``Spatial_*``/``blocks.``/``head.{0,1}`` -> snake_case names
========== ============== ======================================================

A DataParallel ``module.`` prefix is stripped. Every tensor of the checkpoint must be used
and every tensor of the model filled with the same shape; anything else is one error
listing the keys. Architecture facts (width, number of blocks) are compared first, so a
128-channel checkpoint converted into 64-channel ``gast-t81`` says exactly that.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from .errors import ConfigError, WeightsError
from .lifter import Lifter
from .weights import state_dict_mismatches

__all__ = ["FORMATS", "ConversionReport", "safe_torch_load", "convert_checkpoint", "map_state_dict", "numpy_safe_globals"]


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


# --- formats --------------------------------------------------------------------------------


def _identity(key: str) -> str:
    return key


def _semgcn_key(key: str) -> str:
    return key.replace(".nonlocal.", ".non_local.")


def _count_blocks(keys: set[str], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in keys if (m := rx.match(k))})


def _shape(state: dict[str, torch.Tensor], key: str, dim: int) -> int | None:
    t = state.get(key)
    return int(t.shape[dim]) if t is not None and t.dim() > dim else None


def _gastnet_facts(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "channels": _shape(state, "expand_conv.weight", 0),
        "graph blocks": _count_blocks(set(state), r"layers_graph_conv\.(\d+)\."),
        "first filter width": _shape(state, "expand_conv.weight", 2),
    }


def _videopose3d_facts(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "channels": _shape(state, "expand_conv.weight", 0),
        "input channels (2 x joints)": _shape(state, "expand_conv.weight", 1),
        "temporal blocks": _count_blocks(set(state), r"layers_conv\.(\d+)\.") // 2,
        "output channels (3 x joints)": _shape(state, "shrink.weight", 0),
    }


def _martinez_facts(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "hidden units": _shape(state, "w1.weight", 0),
        "inputs (2 x joints)": _shape(state, "w1.weight", 1),
        "stages": _count_blocks(set(state), r"linear_stages\.(\d+)\."),
        "outputs (3 x joints)": _shape(state, "w2.weight", 0),
    }


def _semgcn_facts(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    return {
        "hidden width": _shape(state, "gconv_input.0.gconv.W", 2),
        "non-local layers": any(".non_local." in k for k in state),
        "graph layers": _count_blocks(set(state), r"gconv_layers\.(\d+)\."),
    }


def _poseformer_key(key: str) -> str:
    from gastbench_baselines.poseformer import poseformer_checkpoint_key  # the family owns its key table

    return poseformer_checkpoint_key(key)


def _poseformer_facts(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    from gastbench_baselines.poseformer import poseformer_facts

    return poseformer_facts(state)


@dataclass(frozen=True)
class Format:
    """How one original repository stores a model."""

    name: str
    families: tuple[str, ...]
    containers: tuple[str, ...]
    rename: Callable[[str], str]
    facts: Callable[[dict[str, torch.Tensor]], dict[str, Any]]
    repository: str


FORMATS: dict[str, Format] = {
    "gastnet": Format("gastnet", ("gast-net", "gastnet"), ("model_pos",), _identity, _gastnet_facts,
                      "fabro66/GAST-Net-3DPoseEstimation"),
    "videopose3d": Format("videopose3d", ("videopose3d",), ("model_pos",), _identity, _videopose3d_facts,
                          "facebookresearch/VideoPose3D"),
    "semgcn": Format("semgcn", ("semgcn",), ("state_dict",), _semgcn_key, _semgcn_facts, "garyzhao/SemGCN"),
    "martinez": Format("martinez", ("martinez",), ("state_dict",), _identity, _martinez_facts,
                       "weigq/3d_pose_baseline_pytorch"),
    "poseformer": Format("poseformer", ("poseformer",), ("model_pos",), _poseformer_key, _poseformer_facts,
                         "zczcwh/PoseFormer"),
}  # fmt: skip


@dataclass
class ConversionReport:
    """What a conversion did: every key accounted for."""

    source: str
    output: str
    format: str
    model: str
    layout: str
    tensors: int = 0
    renamed: list[str] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)
    ignored_entries: list[str] = field(default_factory=list)
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(f"unknown checkpoint format {name!r}; supported: {', '.join(FORMATS)}") from None


def extract_state_dict(obj: Any, fmt: Format, origin: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The model tensors of a loaded checkpoint, and the other top-level entries it ignored."""
    if isinstance(obj, dict):
        for key in fmt.containers:
            if key in obj:
                inner = obj[key]
                ignored = sorted(str(k) for k in obj if k != key)
                break
        else:
            if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
                inner, ignored = obj, []  # a bare state dict
            else:
                raise WeightsError(
                    f"checkpoint {origin} has no {' or '.join(repr(c) for c in fmt.containers)} entry "
                    f"(a {fmt.name} checkpoint from {fmt.repository} has one); top-level keys: "
                    f"{sorted(map(str, obj))[:10]}"
                )
    else:
        raise WeightsError(f"checkpoint {origin} holds a {type(obj).__name__}, not a dict of tensors")
    if not isinstance(inner, dict):
        raise WeightsError(f"checkpoint {origin}: the model entry is a {type(inner).__name__}, not a state dict")
    bad = [str(k) for k, v in inner.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"checkpoint {origin}: entries that are not tensors: {bad[:5]}")
    return dict(inner), ignored


def map_state_dict(
    state: dict[str, torch.Tensor], fmt: Format, lifter: Lifter, origin: str
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Rename ``state`` onto ``lifter``'s keys, checking every key and shape; return (tensors, renamed, filled)."""
    renamed: list[str] = []
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        new = key[len("module."):] if key.startswith("module.") else key
        new = fmt.rename(new)
        if new != key:
            renamed.append(f"{key} -> {new}")
        if new in mapped:
            raise WeightsError(f"checkpoint {origin}: two keys map onto {new!r}")
        mapped[new] = tensor
    expected = lifter.state_dict()
    model_name = lifter.name or type(lifter).__name__
    # Compare architecture facts first: one precise sentence beats a list of 200 shape mismatches.
    ours, theirs = fmt.facts(expected), fmt.facts(mapped)
    differ = [f"{k}: checkpoint {theirs[k]}, model {ours[k]}" for k in ours if ours[k] is not None and theirs[k] != ours[k]]
    if differ:
        raise WeightsError(
            f"checkpoint {origin} does not fit {model_name} (layout {lifter.input_layout.name!r}, "
            f"RF {lifter.receptive_field}): " + "; ".join(differ) + ". Choose the --model/--layout that was trained"
        )
    filled: list[str] = []
    # Checkpoints older than torch 0.4.1 lack BatchNorm's counter; it only matters with momentum=None.
    for key, value in expected.items():
        if key.endswith("num_batches_tracked") and key not in mapped:
            mapped[key] = value.clone()
            filled.append(key)
    problems = state_dict_mismatches(expected, mapped, source="checkpoint")
    if problems:
        raise WeightsError(f"checkpoint {origin} does not fit {model_name}: " + "; ".join(problems))
    out = {k: mapped[k].detach().to(dtype=expected[k].dtype).contiguous().clone() for k in expected}
    return out, renamed, filled


def convert_checkpoint(
    source_format: str,
    src: str | Path,
    out: str | Path,
    model: str,
    layout: str | None = None,
    overwrite: bool = False,
) -> ConversionReport:
    """Convert an original checkpoint ``src`` into a verified safetensors file ``out`` for ``model``."""
    from safetensors.torch import save_file

    from .registry import create_lifter, get_lifter_spec
    from .weights import file_sha256, load_weights_file

    fmt = _get_format(source_format)
    spec = get_lifter_spec(model)
    if spec.family not in fmt.families:
        raise ConfigError(
            f"--from {fmt.name} checkpoints convert into {'/'.join(fmt.families)} lifters, but {model!r} is a "
            f"{spec.family} lifter"
        )
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ConfigError(f"output {out} must end in .safetensors")
    if out.exists() and not overwrite:
        raise ConfigError(f"output {out} exists; pass --overwrite to replace it")
    src = Path(src)
    obj = safe_torch_load(src)
    state, ignored = extract_state_dict(obj, fmt, str(src))
    lifter = create_lifter(model, layout=layout)
    tensors, renamed, filled = map_state_dict(state, fmt, lifter, str(src))
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "gastbench_model": spec.name,
        "layout": lifter.input_layout.name,
        "source_format": fmt.name,
        "source_file": src.name,
        "source_sha256": file_sha256(src),
    }
    save_file(tensors, str(out), metadata=metadata)
    # Prove the file loads strictly into a fresh model before calling it done.
    check = create_lifter(model, layout=layout)
    sha = load_weights_file(check, out)
    return ConversionReport(
        source=str(src),
        output=str(out),
        format=fmt.name,
        model=spec.name,
        layout=lifter.input_layout.name,
        tensors=len(tensors),
        renamed=renamed,
        filled=filled,
        ignored_entries=ignored,
        sha256=sha,
    )
