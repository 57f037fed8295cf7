"""MixSTE's and MotionBERT's paper conventions against their authors' evaluation code, frame by frame.

``tests/fixtures/conventions/{mixste,motionbert}/`` hold whole sequences, the stand-in model's
parameters (``make_seq2seq_conventions.toy_lift``: a frame's prediction depends on the clip it sits
in) and, from the authors' own ``evaluate`` functions, the frame each scored prediction belongs to,
its P1/P2 and their action averages. Here gastbench lifts the same sequences with the same
stand-in through its clip engine and its evaluation, under the protocol resolved from each
family's declared :class:`~gastbench.lifter.PaperConvention`, and must score the same frames, as
often, with the same errors.

Tolerances. MixSTE scores in float32 torch: its per-frame values are kept to 1e-6 mm or a few
float32 spacings of the value in metres (P2 goes through LAPACK's float32 SVD, see
``test_conventions.py``). MotionBERT's ``denormalize`` writes the prediction's absolute pixel
coordinates into a float32 array before the 2.5D factor and the root subtraction; gastbench keeps
the root-relative pose (it has no absolute image position), so the two differ by float32 rounding of
a ~2,000 mm coordinate (~2e-4 mm): 1e-3 mm is required. The action averages are compared to 1e-3 mm.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gastbench.data.cameras import load_cameras
from gastbench.data.types import PoseDataset, PoseSequence
from gastbench.evaluation import EvalOptions, evaluate
from gastbench.evaluation.clips import iter_clip_predictions
from gastbench.evaluation.protocol import resolve_protocol, score_frames
from gastbench.evaluation.scale25d import scale_image_units
from gastbench.lifter import ClipTail, Lifter, LifterMetadata, OutputScale
from gastbench.skeleton import H36M_17

FIXTURES = Path(__file__).parent / "fixtures" / "conventions"
sys.path.insert(0, str(FIXTURES))
from make_seq2seq_conventions import toy_lift  # noqa: E402  (the stand-in both sides run)

MIXSTE_TOL_MM = 1e-6
MOTIONBERT_TOL_MM = 1e-3
AVERAGE_TOL_MM = 1e-3


def _fixture(family: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    folder = FIXTURES / family
    record = json.loads((folder / "seq2seq_convention.json").read_text())
    return record, {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in record["arrays"]}


def _metadata(family: str) -> LifterMetadata:
    from gastbench_baselines import mixste, motionbert

    return {"mixste": mixste.METADATA, "motionbert": motionbert.METADATA}[family]


class ToyClipLifter(Lifter):
    """The fixture's stand-in model as a sequence-to-sequence lifter with a family's convention."""

    def __init__(
        self, family: str, params: dict[str, np.ndarray], clip: int, tail: ClipTail, output_scale: OutputScale
    ) -> None:
        meta = _metadata(family)
        super().__init__(
            input_layout=H36M_17, output_layout=H36M_17, receptive_field=clip, causal=False,
            metadata=LifterMetadata(family=f"toy-{family}", paper="test", convention=meta.convention),
        )  # fmt: skip
        self.set_clips(clip, tail=tail, shorter_clips=tail == "own-length")
        self.output_scale = output_scale
        self.params = {k: torch.from_numpy(v) for k, v in params.items()}
        self.name = f"toy-{family}"

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        if self.params["lift"].shape[0] == 3 and x.shape[-1] == 2:  # MotionBERT: confidence 1 without a detector's
            x = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)
        return toy_lift(x, self.params)


def _toy(family: str, record: dict[str, Any], data: dict[str, np.ndarray]) -> ToyClipLifter:
    params = {k[4:]: v for k, v in data.items() if k.startswith("toy_")}
    scale: OutputScale = "image-2.5d" if family == "motionbert" else "metres"
    return ToyClipLifter(family, params, int(record["clip_frames"]), record["tail"], scale)


def _spacings(values_mm: np.ndarray, n: int) -> np.ndarray:
    return n * np.spacing(np.float32(values_mm / 1000.0)).astype(np.float64) * 1000.0


def _dataset(name: str, sequences: list[PoseSequence]) -> PoseDataset:
    subjects = sorted({s.subject for s in sequences})
    return PoseDataset(
        name=name, input="gt", layout_2d=H36M_17, layout_3d=H36M_17, fps=50.0, source_2d="fixture",
        source_2d_sha256="0" * 64, skipped=[], synthetic=True, split_subjects={"test": subjects},
        build=lambda _split, subject: [s for s in sequences if s.subject == subject],
    )  # fmt: skip


def test_mixste_paper_convention_scores_the_clips_as_its_code_lays_them_out() -> None:
    record, data = _fixture("mixste")
    lifter = _toy("mixste", record, data)
    protocol = resolve_protocol(lifter, EvalOptions(convention="paper"))
    assert (protocol.clip_scoring, protocol.flip, protocol.recenter, protocol.precision) == (
        "clip-layout", True, "target", "float32"
    )  # fmt: skip
    count = len(data["lengths"])
    inputs = [data[f"input_{k}"] for k in range(count)]
    stream = iter_clip_predictions(lifter, inputs, scoring=protocol.clip_scoring, flip=protocol.flip)
    all_p1 = []
    for k, (pred, frames) in enumerate(stream):
        np.testing.assert_array_equal(frames, data[f"frame_{k}"])  # the same frames, as often (overlap twice, padding)
        got = score_frames(pred, data[f"target_{k}"][frames], protocol)
        ref1, ref2 = data[f"p1_{k}"], data[f"p2_{k}"]
        # 4 float32 spacings, as for P2: the fixture was made on one CPU, and the stand-in's float32
        # mean and matmuls round an ulp or two differently on another's SIMD width (2 on an AMD EPYC)
        tol1 = np.maximum(MIXSTE_TOL_MM, _spacings(ref1, 4))
        tol2 = np.maximum(MIXSTE_TOL_MM, _spacings(ref2, 4))
        assert np.all(np.abs(got["mpjpe_mm"] - ref1) <= tol1), (
            f"sequence {k}: P1 max diff {np.abs(got['mpjpe_mm'] - ref1).max():.3g}"
        )
        assert np.all(np.abs(got["p_mpjpe_mm"] - ref2) <= tol2), (
            f"sequence {k}: P2 max diff {np.abs(got['p_mpjpe_mm'] - ref2).max():.3g}"
        )
        all_p1.append(got["mpjpe_mm"])
    # The action's P1 weights every clip frame: overlap frames count twice, as in the authors' average.
    assert abs(np.concatenate(all_p1).mean() - record["authors_p1_mm"]) < AVERAGE_TOL_MM


def test_mixste_paper_run_through_evaluate_matches_the_authors_average() -> None:
    record, data = _fixture("mixste")
    lifter = _toy("mixste", record, data)
    sequences = [
        PoseSequence("S9", record["action"], f"{record['action']} {k}", "54138969", data[f"input_{k}"],
                     data[f"target_{k}"], np.zeros((len(data[f"target_{k}"]), 3), np.float32))
        for k in range(len(data["lengths"]))
    ]  # fmt: skip
    result = evaluate(
        lifter, _dataset("fixture", sequences), EvalOptions(convention="paper", device="cpu"), progress=False
    )
    assert result.protocol.clips == {
        "clip_frames": record["clip_frames"],
        "tail": "align-end",
        "scoring": "clip-layout",
    }
    assert result.protocol.output_scale == "metres"
    assert abs(result.per_action[record["action"]].mpjpe_mm - record["authors_p1_mm"]) < AVERAGE_TOL_MM
    assert result.frames_evaluated == sum(len(data[f"frame_{k}"]) for k in range(len(data["lengths"])))
    standard = evaluate(lifter, _dataset("fixture", sequences), EvalOptions(device="cpu"), progress=False)
    assert standard.protocol.clips["scoring"] == "once"  # type: ignore[index]
    assert standard.frames_evaluated == int(data["lengths"].sum())  # every frame once


def _motionbert_sequences(record: dict[str, Any], data: dict[str, np.ndarray]) -> list[PoseSequence]:
    """The fixture's videos as gastbench sequences whose root depth gives exactly the fixture's 2.5D factors."""
    cameras = load_cameras("h36m")
    sequences = []
    for k, (start, length) in enumerate(zip(data["video_start"], data["video_length"])):
        span = slice(int(start), int(start + length))
        subject = "S9" if k == 0 else "S11"
        camera = ["54138969", "55011271"][k]
        focal = float(np.mean(cameras.camera(subject, camera).intrinsics.focal_length))
        gt = data["target_25d_mm"][span]
        trajectory = np.zeros((int(length), 3))
        trajectory[:, 2] = data["factor_mm_per_px"][span] * focal / 1000.0  # metres, so depth / focal = factor
        sequences.append(PoseSequence(
            subject, str(data["actions"][k]), str(data["actions"][k]), camera, data["input"][span, :, :2],
            ((gt - gt[:, :1]) / 1000.0).astype(np.float32), trajectory,
        ))  # fmt: skip
    return sequences


def test_motionbert_paper_convention_drops_the_tails_and_scales_by_the_25d_factor() -> None:
    record, data = _fixture("motionbert")
    lifter = _toy("motionbert", record, data)
    protocol = resolve_protocol(lifter, EvalOptions(convention="paper"))
    assert (protocol.clip_scoring, protocol.flip, protocol.recenter) == ("full-clips", True, "zero-prediction-root")
    inputs = [data["input"][int(s) : int(s + n), :, :2] for s, n in zip(data["video_start"], data["video_length"])]
    p1, p2, frames_all = [], [], []
    for start, (pred, frames) in zip(data["video_start"], iter_clip_predictions(lifter, inputs, scoring="full-clips")):
        index = frames + int(start)
        metres = scale_image_units(pred, data["factor_mm_per_px"][index], 1000)
        gt = data["target_25d_mm"][index]
        got = score_frames(metres, (gt - gt[:, :1]) / 1000.0, protocol)
        p1.append(got["mpjpe_mm"])
        p2.append(got["p_mpjpe_mm"])
        frames_all.append(index)
    np.testing.assert_array_equal(np.concatenate(frames_all), data["frame"])  # whole clips only: tails never scored
    np.testing.assert_allclose(np.concatenate(p1), data["p1"], rtol=0, atol=MOTIONBERT_TOL_MM)
    np.testing.assert_allclose(np.concatenate(p2), data["p2"], rtol=0, atol=MOTIONBERT_TOL_MM)
    per_action = [np.mean(v) for v in p1]  # one action per video here
    assert abs(np.mean(per_action) - record["authors_p1_mm"]) < AVERAGE_TOL_MM


def test_motionbert_paper_run_through_evaluate_matches_the_authors_average() -> None:
    record, data = _fixture("motionbert")
    lifter = _toy("motionbert", record, data)
    dataset = _dataset("h36m", _motionbert_sequences(record, data))  # h36m: the factor from Human3.6M's cameras
    result = evaluate(lifter, dataset, EvalOptions(convention="paper", device="cpu"), progress=False)
    assert result.protocol.output_scale == "image-2.5d" and result.protocol.clips["scoring"] == "full-clips"  # type: ignore[index]
    assert abs(result.average_over_actions.mpjpe_mm - record["authors_p1_mm"]) < AVERAGE_TOL_MM
    assert abs(result.average_over_actions.p_mpjpe_mm - record["authors_p2_mm"]) < AVERAGE_TOL_MM
    assert result.frames_evaluated == len(data["frame"])


@pytest.mark.parametrize("family", ["mixste", "motionbert"])
def test_every_seq2seq_family_has_a_fixture_made_by_its_authors_code(family: str) -> None:
    record, _data = _fixture(family)
    assert record["family"] == family and len(record["commit"]) == 40
    assert _metadata(family).convention.clip_scoring == record["scoring"]
