"""ONNX export: every built-in family exports, runs in onnxruntime like torch, and says what it is in its sidecar.

Unit tests use synthetic sequences and reduced transformer widths; ``test_export_integration.py``
checks every family on real HumanEva-I / Human3.6M test sequences. Skipped, with the reason, when
the ``export`` extra (onnx, onnxruntime) or, for the transformer families, timm is missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gastbench.errors import ConfigError
from gastbench.registry import create_lifter, get_lifter_spec

sys.path.insert(0, str(Path(__file__).parent))
from extras import skip_without_extras  # noqa: E402


def _onnx_problem() -> str | None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"ONNX export needs the export extra ({exc}): pip install 'gastbench[export]'"
    return None


_ONNX_PROBLEM = _onnx_problem()
needs_onnx = pytest.mark.skipif(_ONNX_PROBLEM is not None, reason=_ONNX_PROBLEM or "")

#: One model per built-in family, reduced where the full model is slow to trace on CPU, and the graph kind expected.
FAMILIES: dict[str, tuple[str, dict[str, object], str]] = {
    "gast-net": ("gast-t27", {}, "sequence"),
    "videopose3d": ("videopose3d-t27", {}, "sequence"),
    "martinez": ("martinez", {}, "sequence"),
    "semgcn": ("semgcn-nonlocal", {}, "sequence"),
    "poseformer": ("poseformer-t27", {"embed_dim_ratio": 8, "depth": 2, "num_heads": 2}, "window"),
    "mixste": ("mixste-t27", {"embed_dim": 16, "depth": 2, "num_heads": 2}, "clip"),
    "motionbert": ("motionbert", {"dim_feat": 16, "dim_rep": 8, "depth": 2, "num_heads": 2}, "clip"),
}


def _sequences(joints: int, lengths: tuple[int, ...] = (70, 23)) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    base = rng.uniform(-0.4, 0.4, (1, joints, 2))
    return [
        (base + 0.05 * np.sin(np.linspace(0, 6, n))[:, None, None] + rng.normal(0, 0.01, (n, joints, 2))).astype(
            np.float32
        )
        for n in lengths
    ]


def test_every_builtin_family_is_covered() -> None:
    from gastbench.registry import list_lifters

    builtin = {
        get_lifter_spec(n).family
        for n in list_lifters()
        if get_lifter_spec(n).source.startswith(("gastbench", "gastbench_baselines"))
    }
    assert builtin == set(FAMILIES)


@needs_onnx
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_exports_and_matches_torch(family: str, tmp_path: Path) -> None:
    import onnxruntime as ort

    from gastbench.export import TOLERANCE_M, check_onnx, export_onnx, write_sidecar

    name, overrides, kind = FAMILIES[family]
    skip_without_extras(name)
    torch.manual_seed(0)
    lifter = create_lifter(name, **overrides)
    lifter.name = name
    with torch.no_grad():  # zero-initialised embeddings would hide a misplaced window or clip
        for p in lifter.parameters():
            p.add_(0.02 * torch.randn_like(p))
    result = export_onnx(lifter, tmp_path / "m.onnx")
    assert result.kind == kind and result.opset == 17
    assert result.dynamic_time == (kind == "sequence" or lifter.shorter_clips)
    assert result.input["shape"][2:] == [lifter.input_layout.num_joints, 2]
    check = check_onnx(lifter, tmp_path / "m.onnx", result, _sequences(lifter.input_layout.num_joints))
    assert check["passed"] and check["max_abs_diff_m"] <= TOLERANCE_M and check["frames"] == 93
    sidecar = json.loads(write_sidecar(result, tmp_path / "m.json").read_text())
    assert sidecar["normalisation_2d"]["formula"].startswith("x_n = x_px / w * 2 - 1")
    assert sidecar["dynamic_axes"]["keypoints_2d"]["0"] == "batch"
    if result.dynamic_time:  # really dynamic: another length than the one traced runs and agrees
        session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        frames = lifter.receptive_field + 5 if kind == "sequence" else 40
        x = (
            np.random.default_rng(1)
            .uniform(-0.5, 0.5, (3, frames, lifter.input_layout.num_joints, 2))
            .astype(np.float32)
        )
        with torch.inference_mode():
            expected = lifter.eval()(torch.from_numpy(x), mode="dilated").numpy()
        np.testing.assert_allclose(session.run(None, {"keypoints_2d": x})[0], expected, rtol=0, atol=TOLERANCE_M)
    else:
        assert "fixed" in result.time_note and sidecar["input"]["shape"][1] == lifter.receptive_field


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from gastbench.cli import main

    monkeypatch.setattr(sys, "argv", ["gastbench", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


@needs_onnx
def test_cli_writes_onnx_and_sidecar_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "martinez.onnx"
    args = [
        "export",
        "martinez",
        "--random-init",
        "--dataset",
        "synthetic",
        "--check-sequences",
        "2",
        "--onnx",
        str(out),
    ]
    code, stdout, _ = _main([*args, "--json"], monkeypatch, capsys)
    assert code == 0
    sidecar = json.loads((tmp_path / "martinez.json").read_text())
    assert json.loads(stdout) == sidecar
    assert (
        sidecar["check"]["passed"] and sidecar["check"]["synthetic"] and sidecar["weights"]["source"] == "random-init"
    )
    assert sidecar["layout"] == "h36m16" and sidecar["versions"]["onnxruntime"]
    code, _, stderr = _main(args, monkeypatch, capsys)
    assert code == 3 and "--overwrite" in stderr and len(stderr.strip().splitlines()) == 1
    code, stdout, _ = _main([*args, "--overwrite"], monkeypatch, capsys)
    assert code == 0 and "max |onnx - torch|" in stdout


@needs_onnx
def test_a_graph_that_differs_from_torch_is_refused_and_removed(tmp_path: Path) -> None:
    from gastbench.export import check_onnx, export_onnx

    lifter = create_lifter("martinez")
    result = export_onnx(lifter, tmp_path / "m.onnx")
    with torch.no_grad():
        lifter.w2.bias.add_(0.01)  # torch now differs from what was exported
    with pytest.raises(ConfigError, match="differs from torch by"):
        check_onnx(lifter, tmp_path / "m.onnx", result, _sequences(16))


def test_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from gastbench import export

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ConfigError, match=r'pip install "gastbench\[export\]"') as info:
        export.onnx_modules()
    assert "\n" not in str(info.value)
