"""The README's own-keypoints example: a real detector's output (Stacked-Hourglass detections of Human3.6M
S9 ``Walking``, camera 54138969) in MMPose's layout, lifted by SemGCN's released weights.

Checked against the data it was made from: the committed file is what its script writes, and lifting
it through ``gastbench infer``'s path gives the poses the evaluation engine gives for the same frames
of the ``sh_pt_mpii`` dataset input, whose ground truth then scores them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from gastbench.data import load_dataset
from gastbench.infer import lift_keypoints
from gastbench.keypoints import read_people
from gastbench.people import lift_people
from gastbench.pretrained import resolve_lifter

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "own-keypoints"
FILE = EXAMPLE / "S9_Walking_sh.mmpose.json"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_h36m_example", EXAMPLE / "make_h36m_example.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.integration
def test_committed_example_is_what_its_script_writes(real_data_dir: Path) -> None:
    if not (real_data_dir / _script().SOURCE).is_file():
        pytest.skip(f"{_script().SOURCE} is not in {real_data_dir}")
    assert FILE.read_text(encoding="utf-8") == _script().example(real_data_dir)


@pytest.mark.slow
@pytest.mark.integration
def test_example_lifts_as_the_evaluation_lifts_the_same_frames(real_data_dir: Path) -> None:
    weights = Path(os.environ.get("GASTBENCH_WEIGHTS_DIR", "")) / "semgcn.h36m-gt.safetensors"
    if not weights.is_file():
        pytest.skip("semgcn.h36m-gt.safetensors is not in GASTBENCH_WEIGHTS_DIR")
    script = _script()
    lifter, info = resolve_lifter("semgcn", dataset="h36m", input="gt", layout="h36m")
    assert info.card == "semgcn.h36m-gt"
    people = read_people(FILE, width=1000, height=1002)
    assert people.format == "mmpose" and people.tracks[0].layout == "mpii" and people.frames == script.FRAMES
    (lifted,) = lift_people(lifter, people).tracks
    dataset = load_dataset("h36m", "sh_pt_mpii", real_data_dir)
    (seq,) = [
        s for s in dataset.sequences("test", subjects=["S9"]) if s.name == script.ACTION and s.camera == "54138969"
    ]
    literature = np.asarray(seq.keypoints_2d[: script.FRAMES])  # MPII's thorax as the spine
    layout = lifter.input_layout
    geometric = literature.copy()  # the spine between pelvis and thorax, as keypoint files are mapped
    geometric[:, layout.index("spine")] = (
        literature[:, layout.index("pelvis")] + literature[:, layout.index("thorax")]
    ) / 2
    reference = lift_keypoints(lifter, geometric)
    assert np.abs(lifted.poses - reference).max() < 1e-4  # the file rounds pixels to 1/1000
    target = np.asarray(seq.positions_3d[: script.FRAMES])[:, list(lifter.output_layout.indices_in(dataset.layout_3d))]
    target = target - target[:, :1]

    def mpjpe_mm(poses: np.ndarray) -> float:
        return float(1000 * np.linalg.norm(poses - target, axis=-1).mean())

    # ground-truth-trained weights on a real detector's keypoints; the spine mapping halves the error
    assert mpjpe_mm(lifted.poses) < 0.7 * mpjpe_mm(lift_keypoints(lifter, literature))
