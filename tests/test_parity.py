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

from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.convert import extract_state_dict, map_state_dict
from gastbench.registry import checkpoint_formats
from gastbench.registry import create_lifter

from extras import skip_without_extras

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
