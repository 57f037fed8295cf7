"""Baseline lifters (VideoPose3D, Martinez, SemGCN): sizes, graphs, causality, shapes, registry."""

from __future__ import annotations

import importlib.metadata

import pytest
import torch
from torch import nn

from gastbench.errors import ConfigError, ShapeError
from gastbench.registry import create_lifter, get_lifter_spec, list_lifters
from gastbench.skeleton import get_layout

torch.set_num_threads(1)

VP3D_NAMES = [
    "videopose3d-t27",
    "videopose3d-t81",
    "videopose3d-t243",
    "videopose3d-t27-causal",
    "videopose3d-t81-causal",
    "videopose3d-t243-causal",
]


def _randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm non-trivial statistics so eval-mode tests exercise them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                n = mod.num_features
                mod.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                mod.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                mod.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                mod.bias.copy_(torch.rand(n, generator=gen) - 0.5)


def _small_vp3d(name: str, layout: str = "h36m", **kw: object) -> nn.Module:
    model = create_lifter(name, layout, channels=32, **kw).eval()
    _randomize_bn(model)
    return model


# --- parameter counts (the reference models' sizes) --------------------------------------
@pytest.mark.parametrize(
    ("name", "layout", "expected"),
    [
        ("videopose3d-t27", "h36m", 8_555_571),
        ("videopose3d-t81", "h36m", 12_753_971),
        ("videopose3d-t243", "h36m", 16_952_371),
        ("videopose3d-t243-causal", "h36m", 16_952_371),
        ("videopose3d-t27", "humaneva", 8_537_133),
        ("martinez", "h36m16", 4_291_632),
        ("semgcn", "h36m16", 267_343),
        ("semgcn-nonlocal", "h36m16", 434_703),
    ],
)
def test_parameter_counts(name: str, layout: str, expected: int) -> None:
    assert create_lifter(name, layout).num_parameters() == expected


def test_default_layouts() -> None:
    assert create_lifter("martinez").input_layout.name == "h36m16"
    assert create_lifter("semgcn").input_layout.name == "h36m16"
    assert create_lifter("videopose3d-t27").input_layout.name == "h36m"


# --- VideoPose3D: two graphs, one state dict -------------------------------------------
@pytest.mark.parametrize("name", VP3D_NAMES)
def test_vp3d_strided_equals_dilated(name: str) -> None:
    model = _small_vp3d(name)
    rf = model.receptive_field
    torch.manual_seed(1)
    seq = torch.randn(1, rf + 6, 17, 2)
    windows = seq[0].unfold(0, rf, 1).permute(0, 3, 1, 2)  # (7, RF, J, 2)
    with torch.no_grad():
        dilated = model(seq, mode="dilated")[0]
        strided = model(windows, mode="strided")[:, 0]
        auto = model(windows)  # exactly one window per item -> strided graph
    assert dilated.shape == (7, 17, 3)
    assert (dilated - strided).abs().max().item() < 1e-5
    assert torch.equal(auto[:, 0], strided)


def test_vp3d_full_width_strided_equals_dilated() -> None:
    model = create_lifter("videopose3d-t27").eval()
    _randomize_bn(model)
    seq = torch.randn(1, 30, 17, 2)
    windows = seq[0].unfold(0, 27, 1).permute(0, 3, 1, 2)
    with torch.no_grad():
        diff = model(seq, mode="dilated")[0] - model(windows, mode="strided")[:, 0]
    assert diff.abs().max().item() < 1e-5


@pytest.mark.parametrize("name", ["videopose3d-t27-causal", "videopose3d-t81-causal"])
def test_vp3d_causal_future_never_changes_output(name: str) -> None:
    model = _small_vp3d(name)
    assert model.causal and model.causal_shift == model.pad
    rf, frames, j = model.receptive_field, model.receptive_field + 20, 10
    seq = torch.randn(1, frames, 17, 2)
    changed_seq = seq.clone()
    changed_seq[0, rf + j] += 5.0  # perturb input frame rf + j
    with torch.no_grad():
        changed = (model(seq) - model(changed_seq)).abs().amax(dim=(0, 2, 3)) > 0
    # Output i predicts frame i + pad + causal_shift = i + rf - 1.
    predicted = torch.arange(changed.numel()) + model.pad + model.causal_shift
    assert changed.any()
    assert not changed[predicted < rf + j].any(), "a future frame changed a past prediction"
    assert changed[predicted == rf + j].all()


def test_vp3d_noncausal_sees_the_future() -> None:
    """Control for the causal test: the symmetric model does use future frames."""
    model = _small_vp3d("videopose3d-t27")
    seq = torch.randn(1, 60, 17, 2)
    changed_seq = seq.clone()
    changed_seq[0, 40] += 5.0
    with torch.no_grad():
        changed = (model(seq) - model(changed_seq)).abs().amax(dim=(0, 2, 3)) > 0
    predicted = torch.arange(changed.numel()) + model.pad + model.causal_shift
    assert changed[predicted < 40].any()


def test_vp3d_causal_override_and_state_dict_shared() -> None:
    plain = create_lifter("videopose3d-t27", channels=16)
    causal = create_lifter("videopose3d-t27", causal=True, channels=16)
    assert causal.causal and not plain.causal
    assert list(plain.state_dict()) == list(causal.state_dict())
    causal.load_state_dict(plain.state_dict())


def test_vp3d_reference_keys() -> None:
    keys = set(create_lifter("videopose3d-t27", channels=8).state_dict())
    assert {"expand_conv.weight", "expand_bn.running_var", "layers_conv.3.weight", "shrink.bias"} <= keys
    assert "layers_bn.3.num_batches_tracked" in keys and "layers_conv.4.weight" not in keys


@pytest.mark.parametrize(("layout", "j_in", "j_out"), [("h36m", 17, 17), ("h36m16", 16, 17), ("humaneva", 15, 15)])
def test_vp3d_shapes(layout: str, j_in: int, j_out: int) -> None:
    model = _small_vp3d("videopose3d-t27", layout)
    with torch.no_grad():
        out = model(torch.randn(2, 40, j_in, 2))
    assert out.shape == (2, 14, j_out, 3)
    assert model.output_layout.num_joints == j_out


def test_vp3d_train_mode_runs_and_backprops() -> None:
    model = create_lifter("videopose3d-t27", channels=16).train()
    out = model(torch.randn(4, 27, 17, 2))
    out.square().mean().backward()
    assert model.expand_conv.weight.grad is not None


# --- Martinez ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layout", "j_in", "out_layout"), [("h36m16", 16, "h36m"), ("h36m", 17, "h36m"), ("humaneva", 15, "humaneva")]
)
def test_martinez_shapes_and_zero_root(layout: str, j_in: int, out_layout: str) -> None:
    model = create_lifter("martinez", layout, hidden=64).eval()
    _randomize_bn(model)
    out_skel = get_layout(out_layout)
    assert model.output_layout == out_skel
    assert model.w2.out_features == (out_skel.num_joints - 1) * 3
    with torch.no_grad():
        out = model(torch.randn(3, 5, j_in, 2))
    assert out.shape == (3, 5, out_skel.num_joints, 3)
    assert torch.all(out[:, :, out_skel.root] == 0)
    assert out[:, :, 1:].abs().sum() > 0


def test_martinez_frames_independent() -> None:
    model = create_lifter("martinez", hidden=64).eval()
    x = torch.randn(2, 4, 16, 2)
    with torch.no_grad():
        whole = model(x)
        single = model(x[1:2, 2:3])
    assert torch.allclose(whole[1:2, 2:3], single, atol=1e-6)


def test_martinez_reference_keys() -> None:
    keys = set(create_lifter("martinez", hidden=8).state_dict())
    assert {"w1.weight", "batch_norm1.running_mean", "linear_stages.1.batch_norm2.bias", "w2.bias"} <= keys
    assert not any("non_root" in k for k in keys)


# --- SemGCN ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "layout", "joints"),
    [("semgcn", "h36m16", 16), ("semgcn", "h36m", 17), ("semgcn", "humaneva", 15), ("semgcn-nonlocal", "h36m16", 16)],
)
def test_semgcn_shapes(name: str, layout: str, joints: int) -> None:
    model = create_lifter(name, layout, hidden=16).eval()
    assert model.output_layout.name == layout
    with torch.no_grad():
        out = model(torch.randn(2, 3, joints, 2))
    assert out.shape == (2, 3, joints, 3)


def test_semgcn_edge_weights_one_per_nonzero_entry() -> None:
    model = create_lifter("semgcn")
    # 16 self loops + 2 * 15 bones.
    assert model.gconv_output.e.shape == (1, 46)
    assert not any(k.endswith(("mask", "eye")) for k in model.state_dict())


@pytest.mark.parametrize("which", ["output", "input", "hidden"])  # narrowing, widening, equal widths
def test_sem_graph_conv_matches_dense_definition(which: str) -> None:
    """Masked row softmax over the edge weights (row-major), W[0] on the diagonal, W[1] off it."""
    model = create_lifter("semgcn", hidden=8)
    layer = {"output": model.gconv_output, "input": model.gconv_input[0].gconv,
             "hidden": model.gconv_layers[0].gconv1.gconv}[which]  # fmt: skip
    with torch.no_grad():
        layer.e.copy_(torch.randn_like(layer.e))
    x = torch.randn(5, 16, layer.in_features)
    mask = layer.mask
    logits = torch.full(mask.shape, float("-inf"))
    rows, cols = mask.nonzero(as_tuple=True)  # row-major order
    logits[rows, cols] = layer.e[0]
    adj = torch.softmax(logits, dim=1)
    eye = torch.eye(16)
    expected = (adj * eye) @ (x @ layer.W[0]) + (adj * (1 - eye)) @ (x @ layer.W[1]) + layer.bias
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_semgcn_gradients_reach_edge_weights_in_eval() -> None:
    model = create_lifter("semgcn", hidden=8).eval()
    model(torch.randn(2, 1, 16, 2)).sum().backward()
    assert model.gconv_output.e.grad is not None and model.gconv_output.e.grad.abs().sum() > 0


def test_graph_non_local_matches_concatenation_form() -> None:
    block = create_lifter("semgcn-nonlocal", hidden=16).gconv_input[1].non_local.eval()
    _randomize_bn(block)
    x = torch.randn(3, 16, 16)  # (N, C, J) in grouped order
    ci = block.inter_channels
    g_x = block.g(x).transpose(1, 2)
    theta = block.theta(x).unsqueeze(3).expand(-1, -1, -1, 8)
    phi = block.phi(x).unsqueeze(2).expand(-1, -1, 16, -1)
    f = block.concat_project(torch.cat([theta, phi], dim=1)).squeeze(1)  # (N, J, J/2)
    y = (f / f.shape[-1]) @ g_x
    expected = block.W(y.transpose(1, 2).contiguous().view(3, ci, 16)) + x
    with torch.no_grad():
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_semgcn_nonlocal_grouping_and_keys() -> None:
    model = create_lifter("semgcn-nonlocal")
    nl = model.gconv_input[1]
    order = nl.grouped_order.tolist()
    assert order == [2, 3, 5, 6, 1, 4, 0, 7, 8, 9, 14, 15, 11, 12, 10, 13]
    assert nl.grouped_order[nl.restored_order].tolist() == list(range(16))
    keys = set(model.state_dict())
    assert "gconv_layers.1.non_local.phi.0.weight" in keys
    assert "gconv_layers.0.gconv1.gconv.W" in keys and "gconv_output.e" in keys


def test_semgcn_nonlocal_rejects_other_layouts() -> None:
    with pytest.raises(ConfigError, match="h36m16"):
        create_lifter("semgcn-nonlocal", "h36m")
    from gastbench_baselines.semgcn import semgcn_nonlocal

    with pytest.raises(ConfigError, match="grouping"):
        semgcn_nonlocal(get_layout("humaneva"))


# --- errors and registry -----------------------------------------------------------------
def test_bad_overrides_and_inputs_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="dropout"):
        create_lifter("videopose3d-t27", dropout=1.5)
    with pytest.raises(ConfigError, match="override"):
        create_lifter("martinez", causal=True)
    with pytest.raises(ConfigError, match="channels"):
        create_lifter("videopose3d-t27", channels=0)
    with pytest.raises(ShapeError, match="16 joints"):
        create_lifter("martinez", hidden=8)(torch.randn(1, 1, 17, 2))
    with pytest.raises(ShapeError, match="receptive field"):
        create_lifter("videopose3d-t27", channels=8)(torch.randn(1, 20, 17, 2))


def test_factories_reject_unsupported_layouts_directly() -> None:
    from gastbench.skeleton import Skeleton
    from gastbench_baselines.martinez import martinez
    from gastbench_baselines.videopose3d import videopose3d_t27

    odd = Skeleton("toy3", ("a", "b", "c"), (-1, 0, 1), (), ())
    with pytest.raises(ConfigError, match="toy3"):
        videopose3d_t27(odd)
    with pytest.raises(ConfigError, match="toy3"):
        martinez(odd)


def test_entry_point_and_registry() -> None:
    eps = importlib.metadata.entry_points(group="gastbench.lifters")
    assert "baselines" in eps.names
    assert eps["baselines"].value == "gastbench_baselines"
    assert set(list_lifters("videopose3d-*")) == set(VP3D_NAMES)
    assert list_lifters("videopose3d-*", family="videopose3d")[0] == "videopose3d-t27"
    assert {"martinez", "semgcn", "semgcn-nonlocal"} <= set(list_lifters())
    spec = get_lifter_spec("videopose3d-t243")
    assert spec.family == "videopose3d" and spec.paper == "Pavllo et al., CVPR 2019"
    assert spec.source.startswith("gastbench_baselines.")
    assert get_lifter_spec("martinez").default_layout == "h36m16"
    assert get_lifter_spec("semgcn-nonlocal").layouts == ("h36m16",)


def test_metadata_conventions() -> None:
    vp = create_lifter("videopose3d-t27", channels=8).metadata
    mz = create_lifter("martinez", hidden=8).metadata
    sg = create_lifter("semgcn", hidden=8).metadata
    assert (vp.family, vp.convention.recenter, vp.convention.score_stride, vp.convention.flip) == (
        "videopose3d", "target", 1, True
    )  # fmt: skip
    assert (mz.paper, mz.convention.joints, mz.convention.recenter, mz.convention.flip) == (
        "Martinez et al., ICCV 2017", 17, "target", False
    )  # fmt: skip
    assert (sg.paper, sg.convention.joints, sg.convention.recenter, sg.convention.flip) == (
        "Zhao et al., CVPR 2019", 16, "zero-prediction-root", False
    )  # fmt: skip


def test_vp3d_receptive_fields() -> None:
    for name, rf in [("videopose3d-t27", 27), ("videopose3d-t81", 81), ("videopose3d-t243-causal", 243)]:
        assert create_lifter(name, channels=8).receptive_field == rf
