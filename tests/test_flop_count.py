"""gastbench.flop_count: in-place matrix products are charged like their out-of-place twins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from gastbench.flop_count import flop_counter
from gastbench.models.gastnet import GASTNet
from gastbench.models.layers import temporal_conv_dilated
from gastbench.registry import create_lifter
from gastbench.site import flops_per_frame

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
