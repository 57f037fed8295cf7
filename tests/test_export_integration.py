"""Every built-in family exported to ONNX and checked against torch on real test sequences.

HumanEva-I (ground-truth 2D) for the families that take its layout, Human3.6M (ground-truth 2D
projected through the cameras) for SemGCN's released weights and MotionBERT (17 Human3.6M joints,
whose 2.5D output is brought to metres with the cameras' focal lengths). The project's trained weights
are used where ``GASTBENCH_WEIGHTS_DIR`` holds them, random-init weights otherwise: the check is that
the ONNX graph computes what torch computes, within 1e-4 m on every frame of the sequences.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from extras import skip_without_extras  # noqa: E402
from test_export import needs_onnx  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_onnx]

FILES = {
    "humaneva": ("data_3d_humaneva15.npz", "data_2d_humaneva15_gt.npz"),
    "h36m": ("data_3d_h36m.npz",),
}
#: family -> (model, dataset, weights file in GASTBENCH_WEIGHTS_DIR or None for random-init)
CASES = {
    "gast-net": ("gast-t27", "humaneva", "gast-t27.humaneva-gt.safetensors"),
    "videopose3d": ("videopose3d-t27", "humaneva", None),
    "martinez": ("martinez", "humaneva", None),
    "semgcn": ("semgcn", "h36m", "semgcn.h36m-gt.safetensors"),
    "poseformer": ("poseformer-t27", "humaneva", None),
    "mixste": ("mixste-t27", "humaneva", None),
    "motionbert": ("motionbert-lite", "h36m", None),
}


def _data_dir(dataset: str) -> Path:
    env = os.environ.get("GASTBENCH_DATA")
    if not env:
        pytest.skip("GASTBENCH_DATA is not set; it must point at the folder with the real dataset files")
    missing = [f for f in FILES[dataset] if not (Path(env) / f).is_file()]
    if missing:
        pytest.skip(f"{dataset} files {missing} not found in GASTBENCH_DATA={env}")
    return Path(env)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(CASES))
def test_family_exports_and_checks_on_real_sequences(family: str, tmp_path: Path) -> None:
    from gastbench.export import TOLERANCE_M, export_model

    model, dataset, weights_file = CASES[family]
    skip_without_extras(model)
    data_dir = _data_dir(dataset)
    weights = None
    if weights_file and os.environ.get("GASTBENCH_WEIGHTS_DIR"):
        candidate = Path(os.environ["GASTBENCH_WEIGHTS_DIR"]) / weights_file
        weights = candidate if candidate.is_file() else None
    result, sidecar = export_model(
        model, tmp_path / f"{model}.onnx", weights=weights, random_init=weights is None, dataset=dataset, input="gt",
        data_dir=data_dir, check_sequences=2,
    )  # fmt: skip
    record = json.loads(sidecar.read_text())
    assert record["check"]["passed"] and record["check"]["max_abs_diff_m"] <= TOLERANCE_M
    assert record["check"]["frames"] > 100 and not record["check"]["synthetic"]
    assert record["weights"]["source"] == ("file" if weights else "random-init")
    assert (tmp_path / f"{model}.onnx").stat().st_size > 0 and record["opset"] == result.opset
