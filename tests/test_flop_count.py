"""gastbench.flop_count: in-place matrix products and fused CPU attention are charged like the products they
compute, and one output frame of every kind of lifter is charged what it costs."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gastbench.flop_count import flop_counter, flops_per_frame
from gastbench.models.gastnet import GASTNet
from gastbench.models.layers import temporal_conv_dilated
from gastbench.registry import create_lifter

_A, _B = torch.randn(5, 7), torch.randn(7, 3)
_BA, _BB = torch.randn(2, 5, 7), torch.randn(2, 7, 3)


def _counted(run: Callable[[], object], counter: FlopCounterMode) -> int:
    with counter:
        run()
    return int(counter.get_total_flops())


@pytest.mark.parametrize(
    ("in_place", "twin"),
    [
        (lambda: torch.zeros(5, 3).addmm_(_A, _B), lambda: torch.addmm(torch.zeros(5, 3), _A, _B)),
        (lambda: torch.zeros(2, 5, 3).baddbmm_(_BA, _BB), lambda: torch.baddbmm(torch.zeros(2, 5, 3), _BA, _BB)),
        (lambda: torch.zeros(5, 3).addbmm_(_BA, _BB), lambda: torch.bmm(_BA, _BB)),
        (lambda: torch.addbmm(torch.zeros(5, 3), _BA, _BB), lambda: torch.bmm(_BA, _BB)),
    ],
    ids=["addmm_", "baddbmm_", "addbmm_", "addbmm"],
)
def test_in_place_products_cost_what_their_twins_do(in_place: Callable[[], object], twin: Callable[[], object]) -> None:
    expected = _counted(twin, FlopCounterMode(display=False))
    assert expected > 0
    assert _counted(in_place, FlopCounterMode(display=False)) == 0  # why this module exists; drop it when torch counts
    assert _counted(in_place, flop_counter()) == expected


def test_a_temporal_convolution_costs_what_the_convolution_does() -> None:
    x, taps = torch.randn(20, 2, 3, 8), torch.randn(3, 8, 6)  # (T, B, J, C_in), (k, C_in, C_out)
    weight = taps.permute(2, 1, 0)  # conv1d's (C_out, C_in, k)
    conv = _counted(lambda: F.conv1d(x.permute(1, 2, 3, 0).reshape(6, 8, 20), weight, dilation=2), flop_counter())
    assert _counted(lambda: temporal_conv_dilated(x, taps, 2), flop_counter()) == conv


def _gast_flops_per_frame(model: GASTNet) -> int:
    """GAST-Net's multiply-adds per output frame, x2, from its architecture (``J`` joints, block width ``C``)."""
    joints = model.input_layout.num_joints
    j = joints

    def block(c: int) -> int:
        local = 4 * c * c + 2 * c * j + 2 * c * c  # both kernels' self/neighbour GEMMs, their J x J mixing, 2C -> C
        heads = c * c + 2 * 4 * c + j * c + c * c  # g, theta/phi through concat_project, attention @ g, C -> C
        return local + heads + 3 * c * 2 * c  # [x | local | global] -> 2C

    c = model.channels
    total = 2 * c * model.filter_widths[0] + block(c)
    for level, width in enumerate(model.filter_widths[1:], start=1):
        c = 2**level * model.channels
        total += c * c * width + c * c + block(c)  # dilated conv, 1x1 conv, graph block
    return 2 * joints * (total + 2 * c * 3)  # the shrink conv reads the last block's 2C channels


@pytest.mark.parametrize("name", ["gast-t27", "gast-t81"])
def test_gast_net_is_charged_every_tap_of_its_temporal_convolutions(name: str) -> None:
    lifter = create_lifter(name)
    assert isinstance(lifter, GASTNet)
    assert flops_per_frame(lifter) == _gast_flops_per_frame(lifter)
    if name == "gast-t27":
        assert flops_per_frame(lifter) == 210_266_880  # 188.0 M with torch's counter alone


# --- fused CPU attention (timm's blocks: the transformers extra; CI runs this file in that environment too) --

needs_timm = pytest.mark.skipif(
    importlib.util.find_spec("timm") is None, reason="timm is not installed (the transformers extra)"
)


def _timm_attention_flops(attention: nn.Module, x: torch.Tensor, *, fused: bool, backward: bool) -> int:
    attention.fused_attn = fused
    with flop_counter() as counter:
        y = attention(x)
        if backward:
            y.sum().backward()
    return int(counter.get_total_flops())


@needs_timm
@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward+backward"])
def test_fused_cpu_attention_costs_what_its_matmuls_do(backward: bool) -> None:
    from timm.models.vision_transformer import Attention

    attention = Attention(dim=16, num_heads=4)
    x = torch.randn(3, 10, 16, requires_grad=True)
    unfused = _timm_attention_flops(attention, x, fused=False, backward=backward)
    assert _timm_attention_flops(attention, x, fused=True, backward=backward) == unfused
    attention.fused_attn = True
    with FlopCounterMode(display=False) as plain:  # torch's counter alone: the fused kernel is free
        attention(x)
    assert plain.get_total_flops() < _timm_attention_flops(attention, x, fused=False, backward=False)


@contextmanager
def _unfused(lifter: nn.Module) -> Iterator[None]:
    """timm's attention as explicit matmuls, the route torch's counter always knew."""
    modules = [m for m in lifter.modules() if hasattr(m, "fused_attn")]
    assert modules, "the model has no timm attention"
    for module in modules:
        module.fused_attn = False
    try:
        yield
    finally:
        for module in modules:
            module.fused_attn = True


@needs_timm
def test_a_window_transformer_is_charged_its_attention() -> None:
    lifter = create_lifter("poseformer-t9", embed_dim_ratio=8, depth=2)
    rf, joints = lifter.receptive_field, lifter.input_layout.num_joints

    def unfused_count(frames: int) -> int:
        with _unfused(lifter), torch.enable_grad(), flop_counter() as counter:
            lifter(torch.zeros(1, rf - 1 + frames, joints, 2), mode="dilated")
        return int(counter.get_total_flops())

    assert flops_per_frame(lifter) == unfused_count(2) - unfused_count(1)


@needs_timm
def test_a_sequence_to_sequence_lifter_is_charged_one_clip_per_clip_of_frames() -> None:
    lifter = create_lifter("mixste-t27", embed_dim=32, depth=2, num_heads=4).train()
    assert lifter.clip_frames == 27
    with _unfused(lifter), torch.enable_grad(), flop_counter() as counter:
        lifter.eval()(torch.zeros(1, 27, lifter.input_layout.num_joints, 2))
    lifter.train()
    assert flops_per_frame(lifter) == counter.get_total_flops() / 27  # a window's difference would raise here
    assert lifter.training  # left as it was found
