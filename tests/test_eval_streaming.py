"""Streaming evaluation: one sequence at a time, with the numbers of an all-at-once evaluation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import TinyLifter, fake_dataset  # noqa: E402

from gastbench.data import load_dataset  # noqa: E402
from gastbench.evaluation import EvalOptions, evaluate  # noqa: E402
from gastbench.evaluation.aggregate import RowAccumulator  # noqa: E402
from gastbench.evaluation.inference import auto_chunking, iter_predictions, sequence_chunks  # noqa: E402
from gastbench.metrics import mpjpe, n_mpjpe, p_mpjpe  # noqa: E402
from gastbench.results import MetricRow  # noqa: E402

torch.set_num_threads(1)


def _reference_rows(seqs, preds, gts, group_of):  # type: ignore[no-untyped-def]
    """All frames at once: per-frame errors of the concatenation, then one bincount per group."""
    pred, gt = torch.from_numpy(np.concatenate(preds)), torch.from_numpy(np.concatenate(gts))
    seq_of_frame = np.repeat(np.arange(len(seqs)), [p.shape[0] for p in preds])
    errors = {
        "mpjpe_mm": mpjpe(pred, gt).numpy() * 1000.0,
        "p_mpjpe_mm": p_mpjpe(pred, gt).numpy() * 1000.0,
        "n_mpjpe_mm": n_mpjpe(pred, gt).numpy() * 1000.0,
    }
    pairs = np.nonzero(seq_of_frame[1:] == seq_of_frame[:-1])[0]
    dp = torch.from_numpy(pred.numpy()[pairs + 1].astype(np.float64) - pred.numpy()[pairs])
    dt = torch.from_numpy(gt.numpy()[pairs + 1].astype(np.float64) - gt.numpy()[pairs])
    velocity = mpjpe(dp, dt).numpy() * 1000.0
    groups = np.array([group_of(s) for s in seqs])[seq_of_frame]
    n = int(groups.max()) + 1
    frames = np.bincount(groups, minlength=n)
    pair_frames = np.bincount(groups[pairs], minlength=n)
    means = {k: np.bincount(groups, weights=v, minlength=n) / frames for k, v in errors.items()}
    vel = np.bincount(groups[pairs], weights=velocity, minlength=n)
    return [
        MetricRow(
            mpjpe_mm=float(means["mpjpe_mm"][g]),
            p_mpjpe_mm=float(means["p_mpjpe_mm"][g]),
            n_mpjpe_mm=float(means["n_mpjpe_mm"][g]),
            mpjve_mm=float(vel[g] / pair_frames[g]) if pair_frames[g] else None,
            frames=int(frames[g]),
            velocity_frames=int(pair_frames[g]),
        )
        for g in range(n)
    ]


def test_streaming_rows_equal_all_at_once_aggregation() -> None:
    ds = load_dataset("synthetic")
    seqs = ds.sequences("test")
    rng = np.random.default_rng(0)
    gts = [np.array(s.positions_3d, dtype=np.float32) for s in seqs]
    preds = [(g + rng.normal(0, 0.05, g.shape)).astype(np.float32) for g in gts]
    accumulator = RowAccumulator(seqs, ds.subjects("test"), ds.actions("test"))
    for pred, gt in zip(preds, gts):
        accumulator.add(pred, gt)
    rows = accumulator.result()
    actions, subjects = rows.actions, rows.subjects
    by_action = _reference_rows(seqs, preds, gts, lambda s: actions.index(s.action))
    assert rows.per_action == dict(zip(actions, by_action))  # to the last bit, not approximately
    by_cell = _reference_rows(
        seqs, preds, gts, lambda s: subjects.index(s.subject) * len(actions) + actions.index(s.action)
    )
    cells = {s: {a: by_cell[i * len(actions) + j] for j, a in enumerate(actions)} for i, s in enumerate(subjects)}
    assert rows.per_cell == {s: {a: r for a, r in row.items() if r.frames} for s, row in cells.items()}
    assert rows.average_over_frames == _reference_rows(seqs, preds, gts, lambda s: 0)[0]
    assert rows.frames == sum(p.shape[0] for p in preds)
    # Velocity pairs never straddle two sequences.
    assert rows.average_over_frames.velocity_frames == sum(p.shape[0] - 1 for p in preds)


def test_evaluate_equals_reference_aggregation_of_its_saved_predictions(tmp_path: Path) -> None:
    ds = load_dataset("synthetic")
    path = tmp_path / "p.npz"
    result = evaluate(TinyLifter(rf=9), ds, EvalOptions(chunk_frames=64, save_predictions=path), progress=False)
    seqs = ds.sequences("test")
    with np.load(path) as npz:
        preds = [npz[f"pred/{s.subject}/{s.name}/{s.camera}"] for s in seqs]
        gts = [npz[f"gt/{s.subject}/{s.name}/{s.camera}"] for s in seqs]
    actions = result.protocol.actions
    assert result.per_action == dict(zip(actions, _reference_rows(seqs, preds, gts, lambda s: actions.index(s.action))))
    assert result.average_over_frames == _reference_rows(seqs, preds, gts, lambda s: 0)[0]
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("length", [1, 2, 15, 16, 17, 31, 100, 2356])
@pytest.mark.parametrize("chunk_frames", [1, 16, 416])
def test_sequence_chunks_cover_each_frame_with_equal_chunks(length: int, chunk_frames: int) -> None:
    chunk, starts = sequence_chunks(length, chunk_frames)
    assert len(starts) == -(-length // chunk_frames) and chunk <= chunk_frames
    covered = np.zeros(length, dtype=int)
    for start in starts:
        assert 0 <= start <= length - chunk
        covered[start : start + chunk] += 1
    assert covered.min() == 1
    assert covered.sum() - length < len(starts)  # the overlap is fewer frames than there are chunks
    with pytest.raises(ValueError):
        sequence_chunks(0, chunk_frames)


class _StartRecordingLifter(TinyLifter):
    """Records every forward's batch so a test can see that no window crosses two sequences."""

    def __init__(self) -> None:
        super().__init__(rf=9)
        self.inputs: list[torch.Tensor] = []

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.clone())
        return super().forward_dilated(x)


def test_no_forward_window_spans_two_sequences() -> None:
    # each sequence is a constant pose, distinct per sequence: a window mixing two would hold two values
    kps = [np.full((t, 17, 2), float(k), dtype=np.float32) for k, t in enumerate((5, 40, 1, 23))]
    lifter = _StartRecordingLifter()
    outs = list(iter_predictions(lifter, kps, chunk_frames=16, frames_per_forward=100, flip=False))
    assert [o.shape[0] for o in outs] == [5, 40, 1, 23]
    for x in lifter.inputs:
        for window in x:
            assert torch.unique(window).numel() == 1
    assert sum(x.shape[0] for x in lifter.inputs) == sum(len(sequence_chunks(k.shape[0], 16)[1]) for k in kps)


class _CountingLifter(TinyLifter):
    def __init__(self) -> None:
        super().__init__(rf=9)
        self.forwards = 0

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        self.forwards += 1
        return super().forward_dilated(x)


def test_a_lifters_own_chunk_length_replaces_the_default_and_changes_nothing_else() -> None:
    kps = [np.asarray(s.keypoints_2d) for s in fake_dataset().sequences("test")]
    default = _StartRecordingLifter()
    reference = list(iter_predictions(default, kps, flip=True))
    own = _StartRecordingLifter()
    own.eval_chunk_frames = 7
    outs = list(iter_predictions(own, kps, flip=True))
    # every forward holds one 7-frame-or-shorter chunk (and its mirror), windows RF-1 = 8 frames longer
    assert all(x.shape[0] == 2 and x.shape[1] <= 7 + 8 for x in own.inputs)
    assert len(own.inputs) == sum(len(sequence_chunks(k.shape[0], 7)[1]) for k in kps) > len(default.inputs)
    for got, want in zip(outs, reference):
        np.testing.assert_allclose(got, want, atol=1e-6)
    own.inputs.clear()
    list(iter_predictions(own, kps[:1], chunk_frames=16, flip=False))  # the caller's length wins
    assert max(x.shape[1] for x in own.inputs) == sequence_chunks(kps[0].shape[0], 16)[0] + 8
    assert auto_chunking(1, torch.device("cpu"), 8192) == (8192, 8192)
    assert auto_chunking(1, torch.device("cpu")) == (2048, 2048)
    with pytest.raises(ValueError, match="must be >= 1"):
        auto_chunking(9, torch.device("cpu"), 0)


def test_sequences_are_handed_over_as_soon_as_lifted() -> None:
    lifter = _CountingLifter()
    kps = [np.asarray(s.keypoints_2d) for s in fake_dataset().sequences("test")]
    stream = iter_predictions(lifter, kps, chunk_frames=16, frames_per_forward=24, flip=False)
    first = next(stream)
    assert first.shape == (kps[0].shape[0], 17, 3)
    assert lifter.forwards <= kps[0].shape[0] // 16 + 2  # not the whole stream's forwards
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()  # nothing leaks at a yield
    rest = list(stream)
    assert len(rest) == len(kps) - 1 and [r.shape[0] for r in rest] == [k.shape[0] for k in kps[1:]]


def test_failed_run_leaves_an_existing_predictions_file_alone(tmp_path: Path) -> None:
    class Failing(TinyLifter):
        def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

    path = tmp_path / "p.npz"
    path.write_bytes(b"earlier")
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(Failing(), fake_dataset(), EvalOptions(save_predictions=path), progress=False)
    assert path.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]
