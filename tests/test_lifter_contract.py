"""The contract every registered lifter keeps, whatever its family."""

from __future__ import annotations

import pytest
import torch
from extras import skip_without_extras

from gastbench import ShapeError, create_lifter, get_lifter_spec, list_lifters

ALL = list_lifters()


def _cases() -> list[tuple[str, str]]:
    return [(name, layout) for name in ALL for layout in get_lifter_spec(name).layouts]


@pytest.mark.parametrize(("name", "layout"), _cases())
def test_shape_contract(name: str, layout: str) -> None:
    skip_without_extras(name)
    torch.manual_seed(0)
    lifter = create_lifter(name, layout=layout).eval()
    rf = lifter.receptive_field
    frames = lifter.clip_frames if lifter.seq2seq else rf + 3  # a sequence-to-sequence lifter takes clips
    x = torch.randn(2, frames, lifter.input_layout.num_joints, 2) * 0.3
    with torch.inference_mode():
        y = lifter(x)
    assert y.shape == (2, frames if lifter.seq2seq else frames - rf + 1, lifter.output_layout.num_joints, 3)
    assert torch.isfinite(y).all()
    assert lifter.causal_shift == (lifter.pad if lifter.causal else 0)
    assert lifter.metadata.family == get_lifter_spec(name).family
    assert lifter.metadata.paper


@pytest.mark.parametrize("name", ALL)
def test_bad_input_names_expected_and_actual(name: str) -> None:
    skip_without_extras(name)
    lifter = create_lifter(name).eval()
    rf, joints = lifter.receptive_field, lifter.input_layout.num_joints
    with pytest.raises(ShapeError, match=rf"expected {joints} joints.*got \(1, {rf}, {joints + 1}, 2\)"):
        lifter(torch.zeros(1, rf, joints + 1, 2))
    # Four channels: MotionBERT takes a third one, the 2D detector's confidence.
    with pytest.raises(ShapeError, match=rf"expected 2 coordinates.*got \(1, {rf}, {joints}, 4\)"):
        lifter(torch.zeros(1, rf, joints, 4))
    with pytest.raises(ShapeError, match=r"expected input"):
        lifter(torch.zeros(rf, joints, 2))
    if lifter.seq2seq:
        with pytest.raises(ShapeError, match=rf"sequence-to-sequence clip has .*{lifter.clip_frames} frames"):
            lifter(torch.zeros(1, lifter.clip_frames + 1, joints, 2))
    elif rf > 1:
        with pytest.raises(ShapeError, match=rf"receptive field is {rf} frames.*got \(1, {rf - 1}, {joints}, 2\)"):
            lifter(torch.zeros(1, rf - 1, joints, 2))


@pytest.mark.parametrize("name", [n for n in ALL if get_lifter_spec(n).family in ("gast-net", "videopose3d")])
def test_strided_and_dilated_graphs_share_one_state_dict(name: str) -> None:
    skip_without_extras(name)
    torch.manual_seed(1)
    lifter = create_lifter(name).eval()
    x = torch.randn(3, lifter.receptive_field, lifter.input_layout.num_joints, 2)
    with torch.inference_mode():
        strided = lifter(x, mode="strided")
        dilated = lifter(x, mode="dilated")
    assert strided.shape == dilated.shape == (3, 1, lifter.output_layout.num_joints, 3)
    assert (strided - dilated).abs().max() < 1e-5
