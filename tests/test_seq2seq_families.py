"""MixSTE and MotionBERT: registered without timm, built from timm, reference parameter counts, reference parity."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.convert import convert_checkpoint, extract_state_dict, map_state_dict
from gastbench.errors import ConfigError, ShapeError, WeightsError
from gastbench.evaluation.clips import iter_clip_predictions
from gastbench.registry import checkpoint_formats, create_lifter, get_lifter_spec, list_lifters

PARITY = Path(__file__).parent / "fixtures" / "parity"

#: ``sum(p.numel())`` of the reference models built as their run scripts build them, read by running them
#: (JinluZhang1126/MixSTE ``MixSTE2(embed_dim_ratio=512, depth=8, num_heads=8, mlp_ratio=2, qkv_bias=True)``;
#: Walter0807/MotionBERT ``load_backbone`` with configs/pose3d/MB_train_h36m.yaml and configs/pretrain/MB_lite.yaml).
REFERENCE_PARAMETERS = {
    "mixste-t27": 33_673_219,
    "mixste-t81": 33_700_867,
    "mixste-t243": 33_783_811,
    "motionbert": 42_466_317,
    "motionbert-lite": 16_001_549,
}
FAMILIES = {"mixste": "mixste-t243", "motionbert": "motionbert"}


def _timm_problem() -> str | None:
    try:
        import timm.models.vision_transformer  # noqa: F401
    except Exception as exc:
        return f"timm cannot be imported ({type(exc).__name__}: {exc}); pip install 'gastbench[transformers]'"
    return None


_TIMM_PROBLEM = _timm_problem()
needs_timm = pytest.mark.skipif(_TIMM_PROBLEM is not None, reason=_TIMM_PROBLEM or "")


def _manifest(family: str) -> tuple[str, dict[str, Any]]:
    ((name, entry),) = json.loads((PARITY / family / "manifest.json").read_text()).items()
    return name, entry


def _converted(family: str) -> Any:
    """The fixture's reference checkpoint through gastbench's conversion path into a fresh model."""
    name, entry = _manifest(family)
    ckpt = PARITY / family / entry["checkpoint"]
    fmt = checkpoint_formats()[family]
    state, ignored = extract_state_dict(load_torch_checkpoint(ckpt), fmt, str(ckpt))
    assert {"epoch", "lr", "optimizer", "min_loss"} <= set(ignored)
    assert all(k.startswith("module.") for k in state)  # saved from DataParallel, as the run scripts do
    lifter = create_lifter(name, layout=entry["layout"], **entry["overrides"])
    tensors, renamed, filled = map_state_dict(state, fmt, lifter, str(ckpt))
    assert len(tensors) == len(state) and not filled
    lifter.load_state_dict(tensors, strict=True)
    return lifter.eval()


def test_registered_without_building() -> None:
    assert list_lifters("mixste*") == ["mixste-t27", "mixste-t81", "mixste-t243"]
    assert list_lifters("motionbert*") == ["motionbert", "motionbert-lite"]
    for name in REFERENCE_PARAMETERS:
        spec = get_lifter_spec(name)
        assert "seq2seq" in spec.tags and "transformer" in spec.tags and spec.requires == ("timm",)
        assert spec.checkpoint_format is not None and spec.checkpoint_format.containers == ("model_pos",)


@pytest.mark.parametrize("name", ["mixste-t243", "motionbert-lite"])
def test_building_without_timm_says_what_to_install(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "timm", None)  # makes every ``import timm...`` raise ImportError
    with pytest.raises(ConfigError) as info:
        create_lifter(name)
    message = str(info.value)
    assert 'pip install "gastbench[transformers]"' in message
    assert "torch==2.14.1" in message and "torchvision==0.29.1" in message and "\n" not in message


@needs_timm
@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMETERS))
def test_parameter_count_equals_reference(name: str) -> None:
    lifter = create_lifter(name)
    assert lifter.num_parameters() == REFERENCE_PARAMETERS[name]
    assert lifter.seq2seq and lifter.receptive_field == lifter.clip_frames and not lifter.causal


@needs_timm
def test_built_from_timm_layers() -> None:
    from timm.layers import DropPath, Mlp
    from timm.models.vision_transformer import Attention, Block

    mixste = create_lifter("mixste-t27", embed_dim=32, depth=3, num_heads=4)
    assert all(isinstance(b, Block) for b in (*mixste.spatial_blocks, *mixste.temporal_blocks))
    assert isinstance(mixste.temporal_blocks[0].attn, Attention) and isinstance(mixste.temporal_blocks[0].mlp, Mlp)
    # run.py trains with drop_path_rate 0.1: 0 for the first level rising linearly to 0.1 for the last.
    assert isinstance(mixste.temporal_blocks[-1].drop_path1, DropPath)
    assert mixste.temporal_blocks[-1].drop_path1.drop_prob == pytest.approx(0.1)
    mb = create_lifter("motionbert-lite", dim_feat=32, dim_rep=16, depth=2, num_heads=4)
    halves = [h for level in (*mb.blocks_st, *mb.blocks_ts) for h in (level.spatial, level.temporal)]
    assert len(halves) == 8 and all(isinstance(h, Block) and isinstance(h.attn, Attention) for h in halves)
    assert mb.output_scale == "image-2.5d" and mb.shorter_clips and mb.clip_tail == "own-length"
    assert mixste.output_scale == "metres" and not mixste.shorter_clips and mixste.clip_tail == "align-end"


@needs_timm
def test_mixste_parity_with_the_authors_model_and_clips() -> None:
    """The authors' MixSTE2 on their eval_data_prepare clips, random weights in their checkpoint format: within 1e-5."""
    name, entry = _manifest("mixste")
    lifter = _converted("mixste")
    folder = PARITY / "mixste"
    clips = torch.from_numpy(np.load(folder / entry["input"], allow_pickle=False))
    expected = np.load(folder / entry["output"], allow_pickle=False)
    with torch.inference_mode():
        out = lifter(clips).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    # gastbench's engine cuts the sequence into the same clips (the last aligned to the end) and lays them out alike.
    sequence = np.load(folder / entry["sequence"], allow_pickle=False)[0]
    ((pred, frames),) = iter_clip_predictions(lifter, [sequence], scoring="clip-layout", flip=False)
    np.testing.assert_allclose(pred, expected.reshape(-1, 17, 3), rtol=0, atol=1e-5)
    starts = frames.reshape(len(clips), -1)[:, 0]
    np.testing.assert_array_equal(clips.numpy()[:, 0], sequence[starts])
    # Scored once: every frame keeps the first clip's prediction (the authors' own export does the same).
    ((once, frames),) = iter_clip_predictions(lifter, [sequence], scoring="once", flip=False)
    tail = len(sequence) - clips.shape[1]
    np.testing.assert_array_equal(frames, np.arange(len(sequence)))
    np.testing.assert_allclose(once[: clips.shape[1]], expected[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(once[clips.shape[1] :], expected[1][-tail:], rtol=0, atol=1e-5)


@needs_timm
def test_motionbert_parity_with_the_authors_model() -> None:
    """The authors' DSTformer, clips as its infer_wild.py cuts them, confidence as the third channel: within 1e-5."""
    name, entry = _manifest("motionbert")
    lifter = _converted("motionbert")
    folder = PARITY / "motionbert"
    x = np.load(folder / entry["sequence"], allow_pickle=False)[0]  # (T, 17, 3): x, y, confidence
    expected = np.load(folder / entry["sequence_output"], allow_pickle=False)[0]
    clip = lifter.clip_frames
    with torch.inference_mode():
        out = np.concatenate(
            [lifter(torch.from_numpy(x[None, s : s + clip]))[0].numpy() for s in range(0, len(x), clip)]
        )
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    # Two channels: confidence 1, as the authors' reader fills it for a source without one; the last clip at its own length.
    ((pred, frames),) = iter_clip_predictions(lifter, [x[..., :2]], scoring="once", flip=False)
    conf1 = np.load(folder / entry["sequence_output_confidence_1"], allow_pickle=False)[0]
    np.testing.assert_allclose(pred, conf1, rtol=0, atol=1e-5)
    assert np.abs(conf1 - expected).max() > 1e-3  # the confidence channel matters


@needs_timm
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_checkpoint_of_another_size_is_one_clear_error(family: str, tmp_path: Path) -> None:
    name, entry = _manifest(family)
    expected = {"mixste": r"embed dim: checkpoint 16, model 512", "motionbert": r"dim feat: checkpoint 16, model 512"}[
        family
    ]
    with pytest.raises(WeightsError, match=expected):
        convert_checkpoint(family, PARITY / family / entry["checkpoint"], tmp_path / "x.safetensors", FAMILIES[family])
    assert not (tmp_path / "x.safetensors").exists()


@needs_timm
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_converted_checkpoint_loads_strictly(family: str, tmp_path: Path) -> None:
    name, entry = _manifest(family)
    report = convert_checkpoint(
        family, PARITY / family / entry["checkpoint"], tmp_path / "w.safetensors", name, overrides=entry["overrides"]
    )
    assert report.tensors == len(create_lifter(name, **entry["overrides"]).state_dict())
    assert "model_pos" not in report.ignored_entries and "optimizer" in report.ignored_entries


def test_reference_key_names_map_onto_ours() -> None:
    from gastbench_baselines.mixste import mixste_checkpoint_key
    from gastbench_baselines.motionbert import motionbert_checkpoint_key

    mixste = {
        "module.Spatial_patch_to_embedding.weight": "spatial_embed.weight",
        "Spatial_pos_embed": "spatial_pos_embed",
        "module.Temporal_pos_embed": "temporal_pos_embed",
        "STEblocks.7.attn.qkv.bias": "spatial_blocks.7.attn.qkv.bias",
        "module.TTEblocks.0.mlp.fc2.weight": "temporal_blocks.0.mlp.fc2.weight",
        "Spatial_norm.weight": "spatial_norm.weight",
        "Temporal_norm.bias": "temporal_norm.bias",
        "head.0.weight": "head_norm.weight",
        "module.head.1.bias": "head.bias",
        "some_extra.weight": "some_extra.weight",
    }
    assert {k: mixste_checkpoint_key(k) for k in mixste} == mixste
    motionbert = {
        "module.joints_embed.weight": "joints_embed.weight",
        "module.blocks_st.4.norm1_s.weight": "blocks_st.4.spatial.norm1.weight",
        "blocks_ts.0.attn_t.qkv.bias": "blocks_ts.0.temporal.attn.qkv.bias",
        "blocks_st.1.mlp_t.fc2.weight": "blocks_st.1.temporal.mlp.fc2.weight",
        "blocks_ts.2.norm2_s.bias": "blocks_ts.2.spatial.norm2.bias",
        "module.ts_attn.3.weight": "ts_attn.3.weight",
        "pre_logits.fc.weight": "pre_logits.fc.weight",
        "temp_embed": "temp_embed",
    }
    assert {k: motionbert_checkpoint_key(k) for k in motionbert} == motionbert


@needs_timm
@pytest.mark.parametrize(
    ("name", "overrides"),
    [("mixste-t27", {"embed_dim": 16, "depth": 2, "num_heads": 2}), ("motionbert", {"dim_feat": 16, "dim_rep": 8, "depth": 2, "num_heads": 2})],
)  # fmt: skip
def test_evaluation_lifts_the_clips_in_streams_with_the_plain_paths_outputs(
    name: str, overrides: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gastbench.fastpath as fastpath

    torch.manual_seed(0)
    lifter = create_lifter(name, **overrides).eval()
    frames = lifter.clip_frames if name.startswith("mixste") else 40
    x = torch.rand(3, frames, 17, 2)
    plain = lifter(x).detach()  # autograd on: the plain path, the whole batch in one forward
    calls: list[int] = []
    real = fastpath.run_streams

    def spy(tasks: Any) -> Any:
        calls.append(len(tasks))
        return real(tasks)

    monkeypatch.setattr(fastpath, "run_streams", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            streamed = lifter(x)
            alone = lifter(x[:1])  # a batch of one runs as it is
    finally:
        torch.set_num_threads(before)
    assert calls == [2]
    torch.testing.assert_close(streamed, plain, rtol=0, atol=1e-6)
    torch.testing.assert_close(alone, plain[:1], rtol=0, atol=1e-6)


@needs_timm
def test_clip_contract_and_training_step() -> None:
    torch.manual_seed(0)
    mixste = create_lifter("mixste-t27", embed_dim=16, depth=2, num_heads=2, dropout=0.1).train()
    y = mixste(torch.rand(3, 27, 17, 2))
    assert y.shape == (3, 27, 17, 3)
    y.square().mean().backward()
    assert all(p.grad is not None for p in mixste.parameters())
    with pytest.raises(ShapeError, match="exactly 27 frames"):
        mixste(torch.rand(1, 30, 17, 2))
    mb = create_lifter("motionbert", dim_feat=16, dim_rep=8, depth=1, num_heads=2).eval()
    assert mb(torch.rand(2, 40, 17, 2)).shape == (2, 40, 17, 3)  # shorter clips are fine
    with pytest.raises(ShapeError, match="1 to 243 frames"):
        mb(torch.rand(1, 244, 17, 2))
    with pytest.raises(ConfigError, match="unknown override"):
        create_lifter("mixste-t27", channels=3)
    with pytest.raises(ConfigError, match="num_heads 5 must divide"):
        create_lifter("motionbert", num_heads=5)


def _main(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from gastbench.cli import main

    monkeypatch.setattr(sys, "argv", ["gastbench", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


@needs_timm
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_authors_checkpoint_converts_and_evaluates_through_the_cli(
    family: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture's checkpoint (the authors' format, DataParallel keys) -> convert -> eval, both conventions."""
    from gastbench.results import load_result

    name, entry = _manifest(family)
    weights = tmp_path / "converted.safetensors"
    model_args = [arg for k, v in entry["overrides"].items() for arg in ("--model-arg", f"{k}={v}")]
    code, out, err = _main(
        ["convert", str(PARITY / family / entry["checkpoint"]), "--from", family, "--out", str(weights), "--model", name,
         *model_args, "--json"], monkeypatch, capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["renamed"] and "optimizer" in json.loads(out)["ignored_entries"]
    runs = tmp_path / "runs"
    for convention in ("standard", "paper"):
        code, out, err = _main(
            ["eval", name, "--dataset", "synthetic", "--weights", str(weights), "--convention", convention,
             "--max-sequences", "2", "--format", "json", "--runs-dir", str(runs), "--no-progress"], monkeypatch, capsys,
        )  # fmt: skip
        assert code == 0, err
    records = sorted((load_result(p) for p in runs.glob("*.json")), key=lambda r: r.protocol.convention)
    paper, standard = records
    assert standard.weights["source"] == "file" and standard.parameters == entry["reference_parameters"]
    assert standard.protocol.clips == {
        "clip_frames": 243,
        "tail": "align-end" if family == "mixste" else "own-length",
        "scoring": "once",
    }
    assert paper.protocol.clips["scoring"] == ("clip-layout" if family == "mixste" else "full-clips")
    assert standard.protocol.output_scale == ("image-2.5d" if family == "motionbert" else "metres")
    for record in records:
        assert record.average_over_actions.mpjpe_mm is not None and record.average_over_actions.mpjpe_mm > 0


@needs_timm
def test_gastbench_check_runs_the_clip_checks() -> None:
    from gastbench.conformance import run_checks, run_model_checks

    results = {r.name: r for r in run_checks("mixste-t27")}
    assert all(r.ok for r in results.values()), [r.detail for r in results.values() if not r.ok]
    assert {"shape", "clip_length", "context", "determinism"} <= {n for n, r in results.items() if r.status == "pass"}
    assert results["flip"].status == "skip"  # random weights: only the mirror permutations are checked
    lifter = create_lifter("motionbert", dim_feat=16, dim_rep=8, depth=1, num_heads=2).eval()
    with torch.inference_mode():
        rows = {r.name: r for r in run_model_checks(lifter)}
    assert rows["clip_length"].status == "pass" and "1 to 243" in rows["clip_length"].detail
