"""The sequence-to-sequence engine: clip plans, every frame once, flip, streaming, the record, the strides."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gastbench.errors import ConfigError, ShapeError
from gastbench.evaluation import EvalOptions, evaluate, predict_sequences
from gastbench.evaluation.clips import iter_clip_predictions, plan_clips
from gastbench.lifter import ClipTail, Lifter, LifterMetadata, PaperConvention
from gastbench.skeleton import H36M_17

sys.path.insert(0, str(Path(__file__).parent))
from conftest_eval import fake_dataset  # noqa: E402


class ClipLifter(Lifter):
    """A seq2seq stand-in whose every output frame depends on its whole clip and its place in it."""

    def __init__(self, clip: int = 8, tail: ClipTail = "align-end", scoring: str = "once") -> None:
        super().__init__(
            input_layout=H36M_17, output_layout=H36M_17, receptive_field=clip if clip % 2 else clip + 1,
            causal=False, metadata=LifterMetadata(family="clip", paper="test", convention=PaperConvention(clip_scoring=scoring)),
        )  # fmt: skip
        self.set_clips(clip, tail=tail, shorter_clips=tail == "own-length")
        self.name = "clip"
        self.calls: list[tuple[int, ...]] = []

    def forward_dilated(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape))
        position = torch.arange(x.shape[1], dtype=x.dtype)[None, :, None, None] / 100.0
        context = x.mean(dim=1, keepdim=True)
        return torch.cat([x + context, position.expand(*x.shape[:3], 1)], dim=-1)


def test_plans_follow_the_papers_rules() -> None:
    end = plan_clips(20, 8, "align-end")
    assert end.clips == ((0, 8), (8, 16), (12, 20)) and end.pad_right == 0
    assert list(end.owner()) == [0] * 8 + [1] * 8 + [2] * 4  # overlap frames keep the earlier clip
    assert plan_clips(16, 8, "align-end").clips == ((0, 8), (8, 16))
    short = plan_clips(5, 8, "align-end")
    assert short.clips == ((0, 8),) and short.pad_right == 3
    own = plan_clips(20, 8, "own-length")
    assert own.clips == ((0, 8), (8, 16), (16, 20)) and own.pad_right == 0
    with pytest.raises(ConfigError, match="unknown clip tail"):
        plan_clips(5, 8, "repeat")  # type: ignore[arg-type]


@pytest.mark.parametrize("tail", ["align-end", "own-length"])
def test_every_frame_once_from_its_own_clip(tail: ClipTail) -> None:
    lifter = ClipLifter(8, tail)
    kp = np.random.default_rng(0).uniform(-0.5, 0.5, (20, 17, 2)).astype(np.float32)
    ((pred, frames),) = iter_clip_predictions(lifter, [kp], flip=False)
    np.testing.assert_array_equal(frames, np.arange(20))
    for start, stop in plan_clips(20, 8, tail).clips[:2]:
        clip = torch.from_numpy(kp[start:stop])[None]
        np.testing.assert_allclose(pred[start:stop], lifter(clip)[0].detach().numpy(), rtol=0, atol=1e-6)
    last = (12, 20) if tail == "align-end" else (16, 20)
    expected = lifter(torch.from_numpy(kp[last[0] : last[1]])[None])[0].detach().numpy()
    np.testing.assert_allclose(pred[16:], expected[-4:], rtol=0, atol=1e-6)


def test_scorings_lay_frames_out_as_the_authors_do() -> None:
    kp = np.random.default_rng(1).uniform(-0.5, 0.5, (20, 17, 2)).astype(np.float32)
    ((_, layout),) = iter_clip_predictions(ClipLifter(8, "align-end"), [kp], scoring="clip-layout", flip=False)
    np.testing.assert_array_equal(layout, np.r_[0:8, 8:16, 12:20])  # the overlap 12..15 twice
    ((_, padded),) = iter_clip_predictions(ClipLifter(8, "align-end"), [kp[:5]], scoring="clip-layout", flip=False)
    np.testing.assert_array_equal(padded, [0, 1, 2, 3, 4, 4, 4, 4])  # padded frames against the last target
    ((_, full),) = iter_clip_predictions(ClipLifter(8, "own-length"), [kp], scoring="full-clips", flip=False)
    np.testing.assert_array_equal(full, np.arange(16))  # the tail 16..19 is never scored
    ((_, alone),) = iter_clip_predictions(ClipLifter(8, "own-length"), [kp[:5]], scoring="full-clips", flip=False)
    np.testing.assert_array_equal(alone, np.arange(5))  # no whole clip: scored once at its own length


def test_flip_averages_each_clip_with_its_mirror() -> None:
    lifter = ClipLifter(8, "own-length")
    kp = np.random.default_rng(2).uniform(-0.5, 0.5, (11, 17, 2)).astype(np.float32)
    ((pred, _),) = iter_clip_predictions(lifter, [kp], flip=True)
    ((plain, _),) = iter_clip_predictions(lifter, [kp], flip=False)
    mirrored = H36M_17.mirror(kp)
    ((of_mirror, _),) = iter_clip_predictions(lifter, [mirrored], flip=False)
    np.testing.assert_allclose(pred, 0.5 * (plain + H36M_17.mirror(of_mirror)), rtol=0, atol=1e-6)


def test_streams_one_sequence_at_a_time() -> None:
    """Memory is flat in the number of sequences: a sequence is yielded before the next one is lifted."""
    lifter = ClipLifter(8, "align-end")
    sequences = [np.zeros((n, 17, 2), np.float32) for n in (20, 9, 30)]
    stream = iter_clip_predictions(lifter, sequences, flip=True)
    first = next(stream)
    assert first[0].shape == (20, 17, 3) and len(lifter.calls) == 3  # only the first sequence's 3 clips so far
    assert all(shape[0] == 2 for shape in lifter.calls)  # one clip and its mirror per forward on CPU
    rest = list(stream)
    assert [p.shape[0] for p, _ in rest] == [9, 30]


def test_windowed_engine_entry_points_lift_seq2seq_models_too() -> None:
    lifter = ClipLifter(8, "align-end")
    sequences = [np.random.default_rng(3).uniform(-0.5, 0.5, (n, 17, 2)).astype(np.float32) for n in (13, 3)]
    out = predict_sequences(lifter, sequences, flip=False)
    expected = [p for p, _ in iter_clip_predictions(lifter, sequences, flip=False)]
    for a, b in zip(out, expected):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ShapeError, match="expected 2D keypoints"):
        next(iter_clip_predictions(lifter, [np.zeros((4, 16, 2), np.float32)]))


def test_evaluate_records_the_clip_rule_and_refuses_strides_with_clip_layouts() -> None:
    data = fake_dataset()
    lifter = ClipLifter(8, "align-end", scoring="clip-layout")
    standard = evaluate(lifter, data, EvalOptions(device="cpu", max_sequences=3), progress=False)
    assert standard.protocol.clips == {"clip_frames": 8, "tail": "align-end", "scoring": "once"}
    frames = sum(s.frames for s in data.sequences("test")[:3])
    assert standard.frames_evaluated == frames
    paper = evaluate(lifter, data, EvalOptions(device="cpu", convention="paper", max_sequences=3), progress=False)
    assert paper.protocol.clips["scoring"] == "clip-layout"  # type: ignore[index]
    assert paper.frames_evaluated >= frames
    with pytest.raises(ConfigError, match="every frame at stride 1"):
        evaluate(
            lifter, data, EvalOptions(device="cpu", convention="paper", score_stride=2, max_sequences=1), progress=False
        )
    # A stride with the standard protocol: each phase is a sequence of its own, cut into clips.
    strided = evaluate(lifter, data, EvalOptions(device="cpu", train_stride=2, max_sequences=2), progress=False)
    assert strided.frames_evaluated == sum(s.frames for s in data.sequences("test")[:2])


def test_a_windowed_lifter_records_no_clips() -> None:
    from conftest_eval import TinyLifter

    result = evaluate(TinyLifter(), fake_dataset(), EvalOptions(device="cpu", max_sequences=1), progress=False)
    assert result.protocol.clips is None and result.protocol.output_scale == "metres"


def test_training_and_keypoint_lifting_refuse_what_they_cannot_do() -> None:
    from gastbench.data import load_dataset
    from gastbench.infer import lift_keypoints
    from gastbench.registry import register_lifter, registry_restored
    from gastbench.training.presets import resolve_config
    from gastbench.training.setup import build_lifter

    with registry_restored():
        register_lifter("clip-toy", family="clip-toy")(lambda layout, **_: ClipLifter(8, "align-end"))
        config = resolve_config("clip-toy", "synthetic", "gt", epochs=1)
        with pytest.raises(ConfigError, match="sequence-to-sequence lifter learns from whole 8-frame clips"):
            build_lifter(config, load_dataset("synthetic"))
    lifter = ClipLifter(8, "own-length")
    lifter.output_scale = "image-2.5d"
    with pytest.raises(ConfigError, match="image-2.5d"):
        lift_keypoints(lifter, np.zeros((20, 17, 2), np.float32))
