"""PoseFormer: registered without timm, built from timm, reference parameter counts, reference parity."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gastbench.checkpoint.unpickle import load_torch_checkpoint
from gastbench.convert import convert_checkpoint, extract_state_dict, map_state_dict
from gastbench.errors import ConfigError, WeightsError
from gastbench.registry import checkpoint_formats, create_lifter, get_lifter_spec, list_lifters

FIXTURE = Path(__file__).parent / "fixtures" / "parity" / "poseformer"

#: ``sum(p.numel())`` of the reference ``PoseTransformer`` (zczcwh/PoseFormer ``common/model_poseformer.py``)
#: built as its run script builds it, read by running it (see the fixture README).
REFERENCE_PARAMETERS = {"poseformer-t9": 9_563_645, "poseformer-t27": 9_573_455, "poseformer-t81": 9_602_885}


def _timm_problem() -> str | None:
    # A torchvision built for another torch fails inside ``import timm`` with a RuntimeError, not an ImportError.
    try:
        import timm.models.vision_transformer  # noqa: F401
    except Exception as exc:
        return f"timm cannot be imported ({type(exc).__name__}: {exc}); pip install 'gastbench[transformers]'"
    return None


_TIMM_PROBLEM = _timm_problem()
needs_timm = pytest.mark.skipif(_TIMM_PROBLEM is not None, reason=_TIMM_PROBLEM or "")


def test_registered_without_building() -> None:
    assert list_lifters("poseformer*") == ["poseformer-t9", "poseformer-t27", "poseformer-t81"]
    spec = get_lifter_spec("poseformer-t81")
    assert spec.family == "poseformer" and "transformer" in spec.tags and spec.paper == "Zheng et al., ICCV 2021"


def test_building_without_timm_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "timm", None)  # makes every ``import timm...`` raise ImportError
    with pytest.raises(ConfigError) as info:
        create_lifter("poseformer-t27")
    message = str(info.value)
    assert 'pip install "gastbench[transformers]"' in message
    assert "torch==2.14.1" in message and "torchvision==0.29.1" in message and "\n" not in message


@needs_timm
@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMETERS))
def test_parameter_count_equals_reference(name: str) -> None:
    lifter = create_lifter(name)
    assert lifter.num_parameters() == REFERENCE_PARAMETERS[name]
    assert lifter.receptive_field == int(name.rsplit("t", 1)[1]) and not lifter.causal


@needs_timm
def test_built_from_timm_blocks() -> None:
    from timm.layers import DropPath, Mlp
    from timm.models.vision_transformer import Attention, Block

    lifter = create_lifter("poseformer-t9")
    assert all(isinstance(b, Block) for b in (*lifter.spatial_blocks, *lifter.temporal_blocks))
    assert isinstance(lifter.temporal_blocks[0].attn, Attention) and isinstance(lifter.temporal_blocks[0].mlp, Mlp)
    # The run script's stochastic depth: 0 for the first block rising linearly to 0.1 for the last.
    assert isinstance(lifter.temporal_blocks[-1].drop_path1, DropPath)
    assert lifter.temporal_blocks[-1].drop_path1.drop_prob == pytest.approx(0.1)


@needs_timm
def test_dilated_graph_is_every_sliding_window() -> None:
    torch.manual_seed(0)
    lifter = create_lifter("poseformer-t9", embed_dim_ratio=8, depth=2).eval()
    with torch.no_grad():
        for p in lifter.parameters():  # zero positional embeddings would hide a window misalignment
            p.add_(0.1 * torch.randn_like(p))
    x = torch.rand(2, 30, 17, 2) * 2 - 1
    with torch.inference_mode():
        whole = lifter(x, mode="dilated")
        windows = torch.cat([lifter(x[:, i : i + 9], mode="strided") for i in range(22)], dim=1)
    lifter.windows_per_pass = 5  # grouping of windows must not change a number beyond rounding
    grouped = lifter(x, mode="dilated").detach()  # autograd on: the plain graph, in groups of 5
    assert whole.shape == (2, 22, 17, 3)
    torch.testing.assert_close(whole, windows, rtol=0, atol=1e-5)
    torch.testing.assert_close(whole, grouped, rtol=0, atol=1e-5)


@needs_timm
@pytest.mark.parametrize("threads", [1, 2])
def test_eval_streams_equal_the_plain_graph(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Output frames split over streams and small passes (three sequences, two streams: one stream
    ends inside the middle sequence) give the plain graph's numbers; the thread count is left as found."""
    import gastbench_baselines.poseformer as poseformer

    torch.manual_seed(0)
    lifter = create_lifter("poseformer-t9", embed_dim_ratio=8, depth=2).eval()
    with torch.no_grad():
        for p in lifter.parameters():
            p.add_(0.1 * torch.randn_like(p))
    monkeypatch.setattr(poseformer, "_PASS_BYTES", 4 * 9 * 272 * 7)  # 7 windows a pass (MLP width 2 * 8 * 17)
    streams: list[int] = []
    real_run_streams = poseformer.run_streams
    monkeypatch.setattr(poseformer, "run_streams", lambda tasks: streams.append(len(tasks)) or real_run_streams(tasks))
    x = torch.rand(3, 40, 17, 2) * 2 - 1
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            streamed = lifter(x, mode="dilated")
        assert torch.get_num_threads() == threads
        assert streams == [threads]  # the eval path ran, one stream per thread
    finally:
        torch.set_num_threads(before)
    plain = lifter(x, mode="dilated").detach()
    assert streamed.shape == plain.shape == (3, 32, 17, 3)
    torch.testing.assert_close(streamed, plain, rtol=0, atol=1e-5)
    with torch.no_grad():
        lifter.temporal_blocks[1].mlp.fc2.weight.data.mul_(-1.0)  # no derived state: an edit shows at once
        edited = lifter(x, mode="dilated")
    assert (edited - streamed).abs().max() > 1e-3
    torch.testing.assert_close(edited, lifter(x, mode="dilated").detach(), rtol=0, atol=1e-5)


@needs_timm
def test_reference_parity_from_its_checkpoint() -> None:
    """The authors' model (random weights, its own checkpoint format) and gastbench agree within 1e-5."""
    ((name, entry),) = json.loads((FIXTURE / "manifest.json").read_text()).items()
    ckpt = FIXTURE / entry["checkpoint"]
    state, ignored = extract_state_dict(load_torch_checkpoint(ckpt), checkpoint_formats()["poseformer"], str(ckpt))
    assert {"epoch", "lr", "optimizer", "random_state"} <= set(ignored)
    assert all(k.startswith("module.") for k in state)  # saved from DataParallel, as its run script does
    lifter = create_lifter(name, layout=entry["layout"], **entry["overrides"])
    tensors, renamed, filled = map_state_dict(state, checkpoint_formats()["poseformer"], lifter, str(ckpt))
    assert len(tensors) == len(state) and not filled and len(renamed) == len(state)
    lifter.load_state_dict(tensors, strict=True)
    lifter.eval()
    x = torch.from_numpy(np.load(FIXTURE / entry["input"], allow_pickle=False))
    expected = torch.from_numpy(np.load(FIXTURE / entry["output"], allow_pickle=False))
    with torch.inference_mode():
        dilated = lifter(x, mode="dilated")
        strided = torch.cat([lifter(x[:, i : i + lifter.receptive_field]) for i in range(expected.shape[1])], dim=1)
    assert dilated.shape == expected.shape
    torch.testing.assert_close(dilated, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(strided, expected, rtol=0, atol=1e-5)


@needs_timm
def test_checkpoint_of_another_size_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"frames: checkpoint 27, model 81; embed dim ratio: checkpoint 4, model 32"):
        convert_checkpoint(
            "poseformer", FIXTURE / "reference_checkpoint.bin", tmp_path / "x.safetensors", "poseformer-t81"
        )
    assert not (tmp_path / "x.safetensors").exists()


def test_reference_key_names_map_onto_ours() -> None:
    from gastbench_baselines.poseformer import poseformer_checkpoint_key, poseformer_checkpoint_keys

    pairs = {
        "module.Spatial_patch_to_embedding.weight": "spatial_embed.weight",
        "Spatial_pos_embed": "spatial_pos_embed",
        "module.Temporal_pos_embed": "temporal_pos_embed",
        "Spatial_blocks.3.attn.qkv.bias": "spatial_blocks.3.attn.qkv.bias",
        "module.blocks.0.mlp.fc2.weight": "temporal_blocks.0.mlp.fc2.weight",
        "Spatial_norm.weight": "spatial_norm.weight",
        "Temporal_norm.bias": "temporal_norm.bias",
        "weighted_mean.weight": "weighted_mean.weight",
        "head.0.weight": "head_norm.weight",
        "module.head.1.bias": "head.bias",
        "some_extra.weight": "some_extra.weight",  # unknown keys pass through for the strict check to name
    }
    assert {k: poseformer_checkpoint_key(k) for k in pairs} == pairs
    with pytest.raises(WeightsError, match="both map onto 'head.bias'"):
        poseformer_checkpoint_keys({"head.1.bias": torch.zeros(1), "module.head.1.bias": torch.zeros(1)})


@needs_timm
def test_training_step_and_overrides() -> None:
    torch.manual_seed(0)
    lifter = create_lifter("poseformer-t9", dropout=0.1, drop_path_rate=0.2, embed_dim_ratio=8, depth=2).train()
    y = lifter(torch.rand(4, 9, 17, 2))  # one window per item: the strided graph
    assert y.shape == (4, 1, 17, 3)
    y.square().mean().backward()
    assert all(p.grad is not None for p in lifter.parameters())
    with pytest.raises(ConfigError, match="unknown override"):
        create_lifter("poseformer-t9", channels=3)
    with pytest.raises(ConfigError, match="num_heads 5 must divide"):
        create_lifter("poseformer-t9", num_heads=5)


@needs_timm
def test_gastbench_check_passes() -> None:
    from gastbench.conformance import run_checks

    results = {r.name: r for r in run_checks("poseformer-t27")}
    assert all(r.ok for r in results.values()), [r.detail for r in results.values() if not r.ok]
    assert results["params"].status == "pass"  # the card's exact count
    assert {"shape", "receptive_field", "locality", "determinism"} <= {
        n for n, r in results.items() if r.status == "pass"
    }
    assert results["flip"].status == "skip"  # random weights: only the mirror permutations are checked
