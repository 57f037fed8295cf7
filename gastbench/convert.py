"""Import the authors' original checkpoints into gastbench safetensors, strictly.

Each family declares its original format next to its model (a
:class:`~gastbench.registry.CheckpointFormat` given to ``register_lifter``: the containers
the state dict sits in, a key mapping, architecture facts); this module only dispatches on
the ``--from`` name, so a plugin's family converts like a built-in one. Original files are
pickles, read by :func:`gastbench.checkpoint.unpickle.load_torch_checkpoint` (nothing executes).

A DataParallel ``module.`` prefix is stripped. Every tensor of the checkpoint must be used
and every tensor of the model filled with the same shape; anything else is one error
listing the keys. Architecture facts (width, number of blocks) are compared first, so a
128-channel checkpoint converted into 64-channel ``gast-t81`` says exactly that. The output
is byte-deterministic: the same checkpoint always gives the same sha256.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checkpoint import file_sha256, load_safetensors_strict, save_safetensors, state_dict_mismatches
from .checkpoint.unpickle import load_torch_checkpoint
from .errors import ConfigError, WeightsError
from .lifter import Lifter
from .outputs import check_output_file
from .registry import CheckpointFormat, checkpoint_formats, create_lifter, get_lifter_spec, list_lifters

__all__ = ["ConversionReport", "convert_checkpoint", "extract_state_dict", "map_state_dict"]


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


def _get_format(name: str) -> CheckpointFormat:
    formats = checkpoint_formats()
    try:
        return formats[name]
    except KeyError:
        raise ConfigError(f"unknown checkpoint format {name!r}; supported: {', '.join(formats)}") from None


def extract_state_dict(obj: Any, fmt: CheckpointFormat, origin: str) -> tuple[dict[str, torch.Tensor], list[str]]:
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
    state: dict[str, torch.Tensor], fmt: CheckpointFormat, lifter: Lifter, origin: str
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Rename ``state`` onto ``lifter``'s keys, checking every key and shape; return (tensors, renamed, filled)."""
    renamed: list[str] = []
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        new = key[len("module.") :] if key.startswith("module.") else key
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
    differ = [
        f"{k}: checkpoint {theirs[k]}, model {ours[k]}" for k in ours if ours[k] is not None and theirs[k] != ours[k]
    ]
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


_STATISTICS_FLAGS = {"stat_3d": "--stats stat_3d.pth.tar", "stat_2d": "--stats-2d FILE"}


def _load_statistics(fmt: CheckpointFormat, paths: Mapping[str, str | Path | None]) -> dict[str, Any]:
    """The statistics files ``fmt`` needs, read without executing anything; a ConfigError names any missing."""
    missing = [name for name in fmt.statistics if paths.get(name) is None]
    if missing:
        flags = ", ".join(_STATISTICS_FLAGS.get(name, name) for name in missing)
        raise ConfigError(
            f"--from {fmt.name}: its checkpoints work in the original pipeline's normalised units, so converting "
            f"needs the statistics {', '.join(missing)} ({flags}) to fold into the weights"
        )
    loaded: dict[str, Any] = {}
    for name in fmt.statistics:
        path = Path(str(paths[name]))
        if not path.is_file():
            raise ConfigError(f"--from {fmt.name}: statistics file {path} ({name}) does not exist")
        loaded[name] = load_torch_checkpoint(path)
    return loaded


def convert_checkpoint(
    source_format: str,
    src: str | Path,
    out: str | Path,
    model: str,
    layout: str | None = None,
    overwrite: bool = False,
    statistics: Mapping[str, str | Path | None] | None = None,
    image_size: tuple[int, int] = (1000, 1000),
    overrides: Mapping[str, Any] | None = None,
) -> ConversionReport:
    """Convert an original checkpoint ``src`` into a verified safetensors file ``out`` for ``model``.

    A format that declares ``statistics`` (Martinez: ``stat_3d``, ``stat_2d``) needs those files
    (``statistics={name: path}``); they are read by the restricted unpickler and folded into the
    weights for images of ``image_size`` (width, height), and the file's metadata says so.
    ``overrides`` build a reduced model (e.g. ``{"hidden": 64}``), as for the parity fixtures; they are
    recorded in the file (metadata ``model_overrides``), so ``--weights`` rebuilds that model.
    """

    fmt = _get_format(source_format)
    spec = get_lifter_spec(model)
    if spec.checkpoint_format is None or spec.checkpoint_format.name != fmt.name:
        families = sorted({s.family for s in map(get_lifter_spec, list_lifters()) if s.checkpoint_format == fmt})
        raise ConfigError(
            f"--from {fmt.name} checkpoints convert into {'/'.join(families)} lifters, but {model!r} is a "
            f"{spec.family} lifter"
        )
    out = check_output_file(out, "output", overwrite=overwrite, inputs=[src], suffix=".safetensors")
    src = Path(src)
    stats = _load_statistics(fmt, statistics or {})
    obj = load_torch_checkpoint(src)
    state, ignored = extract_state_dict(obj, fmt, str(src))
    lifter = create_lifter(model, layout=layout, **dict(overrides or {}))
    tensors, renamed, filled = map_state_dict(state, fmt, lifter, str(src))
    fold_metadata: dict[str, str] = {}
    if fmt.fold is not None and fmt.statistics:
        tensors, fold_metadata = fmt.fold(tensors, stats, image_size)
        fold_metadata.update({f"{name}_sha256": file_sha256(Path(str(statistics[name]))) for name in fmt.statistics})  # type: ignore[index]
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        **fold_metadata,
        "gastbench_model": spec.name,
        "layout": lifter.input_layout.name,
        "causal": str(bool(lifter.causal)).lower(),
        "source_format": fmt.name,
        "source_file": src.name,
        "source_sha256": file_sha256(src),
    }
    if overrides:  # a reduced model (parity fixtures): loading the file rebuilds it the same way
        metadata["model_overrides"] = json.dumps(dict(overrides), sort_keys=True)
    save_safetensors(tensors, out, metadata)
    # Prove the file loads strictly into a fresh model before calling it done.
    check = create_lifter(model, layout=layout, **dict(overrides or {}))
    sha = load_safetensors_strict(check, out)
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
