"""Parity with the authors' own code: their checkpoint in, their eval-mode output out, within 1e-5.

Each fixture under ``tests/fixtures/parity/<family>/`` was made by running the authors' public
code (``make_<family>.py --repo ...``, see the README there): a reduced-width model with random
weights and random batch-norm statistics, saved in that repository's own checkpoint format, an
input and the reference output. Here the checkpoint is read by gastbench's restricted reader,
mapped onto the registry's model through the conversion's strict key/shape mapping, and run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from extras import skip_without_extras

from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.convert import extract_state_dict, map_state_dict
from gastbench.registry import checkpoint_formats, create_lifter

PARITY = Path(__file__).parent / "fixtures" / "parity"
TOLERANCE = 1e-5


def _fixtures() -> list[Any]:
    cases = []
    for manifest in sorted(PARITY.glob("*/manifest.json")):
        for name, entry in sorted(json.loads(manifest.read_text()).items()):
            cases.append(pytest.param(manifest.parent, entry, id=f"{manifest.parent.name}-{name}"))
    return cases


FIXTURES = _fixtures()


def test_every_family_has_a_fixture() -> None:
    families = {entry["format"] for _, entry in (case.values for case in FIXTURES)}
    formats = checkpoint_formats()
    assert families == set(formats), f"parity fixtures cover {sorted(families)}, formats are {sorted(formats)}"


def _converted_lifter(folder: Path, entry: dict[str, Any]) -> torch.nn.Module:
    skip_without_extras(entry["model"])
    checkpoint = folder / entry["checkpoint"]
    fmt = checkpoint_formats()[entry["format"]]
    state, _ignored = extract_state_dict(load_torch_checkpoint(checkpoint), fmt, str(checkpoint))
    lifter = create_lifter(entry["model"], layout=entry["layout"], **entry["overrides"])
    tensors, _renamed, _filled = map_state_dict(state, fmt, lifter, str(checkpoint))
    lifter.load_state_dict(tensors, strict=True)
    return lifter.eval()


def _as_reference(output: np.ndarray, shape: str) -> np.ndarray:
    """gastbench's ``(B, T, J, 3)`` in the shape the authors' model returns (the manifest's ``reference_shape``)."""
    if shape == "sequence":  # (B, T, J, 3), as gastbench
        return output
    if shape == "frame-joints":  # one frame per item: (B, J, 3)
        return output[:, 0]
    if shape == "frame-flat-nonroot":  # (B, 3 * (J - 1)): every joint but the root, x/y/z per joint
        return output[:, 0, 1:].reshape(output.shape[0], -1)
    raise AssertionError(f"unknown reference_shape {shape!r} in a parity manifest")


@pytest.mark.parametrize("folder, entry", FIXTURES)
def test_converted_checkpoint_reproduces_the_authors_output(folder: Path, entry: dict[str, Any]) -> None:
    lifter = _converted_lifter(folder, entry)
    x = torch.from_numpy(np.load(folder / entry["input"]))
    expected = np.load(folder / entry["output"])
    with torch.no_grad():
        got = _as_reference(lifter(x).numpy(), entry["reference_shape"])
    assert got.shape == expected.shape, f"{entry['model']}: output {got.shape}, reference {expected.shape}"
    err = float(np.abs(got - expected).max())
    assert err <= TOLERANCE, f"{entry['model']}: max |gastbench - reference| = {err:.3g} > {TOLERANCE}"


@pytest.mark.parametrize("size", [(1000, 1000), (1000, 1002)])
def test_martinez_with_statistics_takes_screen_coordinates_and_returns_metres(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """Converted with its statistics, Martinez maps gastbench's normalised 2D to metres (the reference in mm / 1000)."""
    from gastbench.checkpoint import load_safetensors_strict
    from gastbench.convert import convert_checkpoint
    from gastbench.data.cameras import normalize_screen_coordinates
    from gastbench.pretrained import recorded_layout

    folder = PARITY / "martinez"
    entry = json.loads((folder / "manifest.json").read_text())["martinez"]
    stats = entry["statistics"]
    out = tmp_path / "martinez.safetensors"
    convert_checkpoint(
        "martinez", folder / entry["checkpoint"], out, "martinez", layout="h36m16", overrides=entry["overrides"],
        statistics={"stat_3d": folder / stats["stat_3d"], "stat_2d": folder / stats["stat_2d"]}, image_size=size,
    )  # fmt: skip
    assert recorded_layout(out) == "h36m16"
    lifter = create_lifter("martinez", layout="h36m16", **entry["overrides"]).eval()
    load_safetensors_strict(lifter, out)
    pixels = np.load(folder / stats["input_pixels"])  # (F, 16, 2), h36m16 order
    x = torch.from_numpy(normalize_screen_coordinates(pixels, *size).astype(np.float32))[:, None]
    with torch.no_grad():
        got = lifter(x)[:, 0].numpy()
    expected_m = np.load(folder / stats["output_mm_17"]) / 1000.0
    err = float(np.abs(got - expected_m).max())
    assert err <= TOLERANCE, f"martinez folded: max |gastbench - reference| = {err:.3g} m > {TOLERANCE}"


def test_martinez_conversion_refuses_without_its_statistics(tmp_path: Path) -> None:
    from gastbench.convert import convert_checkpoint
    from gastbench.errors import ConfigError

    folder = PARITY / "martinez"
    with pytest.raises(ConfigError, match=r"needs the statistics stat_2d \(--stats-2d"):
        convert_checkpoint("martinez", folder / "ckpt_best.pth.tar", tmp_path / "m.safetensors", "martinez",
                           overrides={"hidden": 64}, statistics={"stat_3d": folder / "stat_3d.pth.tar"})  # fmt: skip
    assert not (tmp_path / "m.safetensors").exists()
