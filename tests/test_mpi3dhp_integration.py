"""A Human3.6M-trained model's cross-dataset row, end to end, on Human3.6M poses laid out as MPI-INF-3DHP.

No MPI-INF-3DHP file exists here, so real Human3.6M S9 poses (camera 54138969) are written in the
lifting papers' 3DHP layout: camera-space millimetres in the official 17-joint order, 2D at the
test set's image sizes. A model trained on Human3.6M must then give exactly the errors it gives
on the same poses as Human3.6M: a wrong joint mapping, image size or root would show.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gastbench.cli import app
from gastbench.data.cameras import image_coordinates, load_cameras
from gastbench.data.h36m import read_3d
from gastbench.data.mpi3dhp import IMAGE_SIZES
from gastbench.evaluation.inference import predict_sequences
from gastbench.evaluation.predictions import read_predictions
from gastbench.metrics_pck import joint_errors_mm, pck
from gastbench.pretrained import resolve_lifter
from gastbench.results import load_result
from gastbench.skeleton import H36M_17, MPI3DHP_17

pytestmark = pytest.mark.integration
ACTIONS = ("Walking", "Greeting", "Sitting", "Eating", "Posing", "Purchases")
FRAMES = 150


@pytest.fixture(scope="module")
def weights() -> Path:
    folder = os.environ.get("GASTBENCH_WEIGHTS_DIR")
    path = Path(folder or "") / "semgcn.h36m-gt.safetensors"
    if not folder or not path.is_file():
        pytest.skip("GASTBENCH_WEIGHTS_DIR with semgcn.h36m-gt.safetensors is needed")
    return path


@pytest.fixture(scope="module")
def h36m_as_3dhp(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """data_test_3dhp.npz of S9 poses, and the Human3.6M screen-normalized 2D of the same frames."""
    if not (real_data_dir / "data_3d_h36m.npz").is_file():
        pytest.skip("data_3d_h36m.npz is absent")
    world = read_3d(real_data_dir / "data_3d_h36m.npz")["S9"]
    camera = load_cameras("h36m").cameras("S9")[0]
    to_3dhp = list(MPI3DHP_17.indices_in(H36M_17))
    data, h36m_2d = {}, {}
    for sequence, action in zip(IMAGE_SIZES, ACTIONS):
        cam = camera.world_to_camera(world[action][:FRAMES].astype(np.float64))
        normalized = camera.project(cam, normalized=True)
        h36m_2d[sequence] = normalized.astype(np.float32)
        valid = np.ones(FRAMES)
        valid[::7] = 0
        data[sequence] = {
            "data_2d": image_coordinates(normalized, *IMAGE_SIZES[sequence])[:, to_3dhp],
            "data_3d": cam[:, to_3dhp] * 1000.0,
            "valid": valid,
        }
    folder = tmp_path_factory.mktemp("h36m_as_3dhp")
    np.savez_compressed(
        folder / "data_test_3dhp.npz", data=data, metadata={"layout_name": "mpi3dhp", "annotation": "univ_annot3"}
    )
    return folder, h36m_2d


@pytest.mark.slow
def test_semgcn_cross_dataset_row_matches_its_human36m_errors(
    h36m_as_3dhp: tuple, weights: Path, tmp_path: Path
) -> None:
    folder, h36m_2d = h36m_as_3dhp
    res = CliRunner().invoke(
        app,
        ["eval", "semgcn", "--dataset", "3dhp", "--data-dir", str(folder), "--weights", str(weights), "--no-flip",
         "--runs-dir", str(tmp_path / "runs"), "--save-predictions", str(tmp_path / "p.npz"), "--format", "json",
         "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = load_result(next((tmp_path / "runs").glob("*.json")))
    saved = read_predictions(tmp_path / "p.npz")
    lifter, _ = resolve_lifter("semgcn", dataset="h36m", input="gt", layout=H36M_17, weights=weights)
    h36m16 = list(lifter.input_layout.indices_in(H36M_17))
    direct = predict_sequences(lifter, [kp[:, h36m16] for kp in h36m_2d.values()], flip=False)
    errors = []
    for (sequence, _), pred in zip(h36m_2d.items(), direct):
        valid = np.ones(FRAMES, bool)
        valid[::7] = False
        key = f"{sequence}/{sequence}/{'ts1-4' if sequence in ('TS1', 'TS2', 'TS3', 'TS4') else 'ts5-6'}"
        np.testing.assert_allclose(saved.pred[key], pred[valid], atol=2e-5)  # same input up to float32 rounding
        errors.append(joint_errors_mm(saved.pred[key], saved.gt[key]))
    pooled = np.concatenate(errors)
    assert record.average_over_frames.pck == pytest.approx(pck(pooled), abs=1e-9)
    assert record.average_over_frames.pck > 90.0  # SemGCN's ~42 mm MPJPE on Human3.6M's own poses
    assert record.average_over_frames.mpjpe_mm < 60.0
    assert json.loads(res.stdout[res.stdout.index("[") :])[0]["rows"][0]["PCK"] == round(
        record.average_over_frames.pck, 1
    )


def test_trained_on_resolves_another_datasets_card(h36m_as_3dhp: tuple, tmp_path: Path) -> None:
    folder, _ = h36m_as_3dhp
    mirror = Path(os.environ.get("GASTBENCH_WEIGHTS_DIR", "")) / "gast-t27.humaneva-gt.safetensors"
    if not mirror.is_file():
        pytest.skip("GASTBENCH_WEIGHTS_DIR with gast-t27.humaneva-gt.safetensors is needed")
    res = CliRunner().invoke(
        app,
        ["eval", "gast-t27", "--dataset", "3dhp", "--trained-on", "humaneva/gt", "--data-dir", str(folder),
         "--runs-dir", str(tmp_path / "runs"), "--max-sequences", "1", "--no-progress", "--offline"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = load_result(next((tmp_path / "runs").glob("*.json")))
    assert record.weights["card"] == "gast-t27.humaneva-gt" and record.protocol.joints[0] == "pelvis"
    assert len(record.protocol.joints) == 15  # HumanEva-I's joints, found by name among the 3DHP ones
