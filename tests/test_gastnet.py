"""GAST-Net specifics: exact sizes, graph kernels, both execution graphs, causality, eval cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from gast_helpers import randomize_gastnet

from gastbench.models.gastnet import GASTNet
from gastbench.models.graph import connection_mask, symmetry_mask
from gastbench.registry import create_lifter, list_lifters
from gastbench.skeleton import H36M_16, H36M_17, HUMANEVA_15, get_layout

torch.set_num_threads(1)

VARIANTS = ["gast-t9", "gast-t27", "gast-t81", "gast-t243"]
ALL_NAMES = VARIANTS + [f"{n}-causal" for n in VARIANTS]


def _build(name: str, layout: str = "h36m", seed: int = 0) -> GASTNet:
    torch.manual_seed(seed)
    return randomize_gastnet(create_lifter(name, layout), seed)


@pytest.fixture(scope="module")
def naive():
    """The benchmark's independent re-implementation of the reference computation."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gast_layers.py"
    spec = importlib.util.spec_from_file_location("gast_layers_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.naive_forward


def test_registered_names_and_metadata() -> None:
    assert set(list_lifters("gast-*")) == set(ALL_NAMES)
    assert set(list_lifters(family="gast-net")) == set(ALL_NAMES)
    model = create_lifter("gast-t27")
    assert model.metadata.family == "gast-net"
    assert model.metadata.paper == "Liu et al., GAST-Net, WACV 2021"
    assert model.metadata.convention.score_stride == 5
    assert model.metadata.convention.recenter == "target"
    assert create_lifter("gast-t27-causal").causal and create_lifter("gast-t27", causal=True).causal
    assert not create_lifter("gast-t27").causal
    assert create_lifter("gast-t9", channels=32).channels == 32


@pytest.mark.parametrize(
    ("name", "layout", "expected"),
    [
        ("gast-t9", "h36m", 1_617_164),
        ("gast-t27", "h36m", 6_915_984),
        ("gast-t81", "h36m", 7_054_612),
        ("gast-t243", "h36m", 7_091_736),
        ("gast-t27", "humaneva", 6_907_152),
    ],
)
def test_parameter_counts_match_reference(name: str, layout: str, expected: int) -> None:
    model = create_lifter(name, layout)
    assert model.num_parameters() == expected
    assert create_lifter(f"{name}-causal", layout).num_parameters() == expected


@pytest.mark.parametrize(("name", "rf"), [("gast-t9", 9), ("gast-t27", 27), ("gast-t81", 81), ("gast-t243", 243)])
def test_receptive_fields_and_widths(name: str, rf: int) -> None:
    model = create_lifter(name)
    assert model.receptive_field == rf
    assert model.shrink.weight.shape[1] == (512 if name == "gast-t9" else 1024)


def test_connection_kernel_distal_edges_are_one_way() -> None:
    con = connection_mask(H36M_17)
    ankle, knee, hip = H36M_17.index("right_ankle"), H36M_17.index("right_knee"), H36M_17.index("right_hip")
    assert con[ankle, hip] and con[ankle, knee] and con[ankle, ankle]
    assert not con[hip, ankle]  # the hip's row does not gain the ankle
    wrist, shoulder = H36M_17.index("left_wrist"), H36M_17.index("left_shoulder")
    assert con[wrist, shoulder] and not con[shoulder, wrist]
    # an ordinary joint keeps exactly self + bones
    knee_row = {j for j in range(17) if con[knee, j]}
    assert knee_row == {knee, hip, ankle}
    # humaneva: the head is not distal in the reference graph
    head, thorax = HUMANEVA_15.index("head"), HUMANEVA_15.index("thorax")
    assert {j for j in range(15) if connection_mask(HUMANEVA_15)[head, j]} == {head, thorax}


def test_symmetry_kernel_pairs_left_and_right() -> None:
    sym = symmetry_mask(H36M_16)
    assert int(sym.sum()) == 16 + 2 * len(H36M_16.joints_left)
    for left, right in H36M_16.symmetric_pairs:
        assert sym[left, right] and sym[right, left]
    assert torch.equal(sym, sym.t())


@pytest.mark.parametrize("layout", ["h36m", "h36m16", "humaneva"])
def test_edge_weights_one_per_nonzero_and_masks_not_persisted(layout: str) -> None:
    model = create_lifter("gast-t9", layout)
    block = model.layers_graph_conv[1].local_graph_layer
    for conv in (block.gcn_sym, block.gcn_con):
        assert conv.e.shape == (conv.out_features, int(conv.mask.sum()))
    skeleton = get_layout(layout)
    assert torch.equal(block.gcn_con.mask, connection_mask(skeleton))
    keys = set(model.state_dict())
    assert not any(k.endswith((".mask", ".eye")) for k in keys)
    # reference key names, unchanged
    assert "layers_graph_conv.1.global_graph_layer.attentions.3.concat_project.0.weight" in keys
    assert "layers_graph_conv.0.local_graph_layer.gcn_con.e" in keys
    assert "layers_conv.1.weight" in keys and "layers_bn.1.num_batches_tracked" in keys


def test_learned_weights_follow_row_major_order() -> None:
    model = create_lifter("gast-t9")
    conv = model.layers_graph_conv[0].local_graph_layer.gcn_con
    with torch.no_grad():
        conv.e.zero_()
        conv.e[:, 0] = 50.0  # first nonzero in row-major order: row 0's first neighbour
    kernel = conv.kernel()
    first = torch.nonzero(conv.mask)[0].tolist()
    assert kernel[:, first[0], first[1]].min() > 0.99
    assert torch.all(kernel[:, ~conv.mask] == 0)


@pytest.mark.parametrize("layout", ["h36m", "h36m16", "humaneva"])
@pytest.mark.parametrize("name", ["gast-t9", "gast-t27-causal"])
def test_shape_contract(name: str, layout: str) -> None:
    model = _build(name, layout)
    joints = get_layout(layout).num_joints
    x = torch.randn(2, model.receptive_field + 4, joints, 2)
    with torch.no_grad():
        assert model(x).shape == (2, 5, joints, 3)
        assert model(x[:, : model.receptive_field]).shape == (2, 1, joints, 3)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_strided_equals_dilated(name: str) -> None:
    model = _build(name)
    x = torch.randn(2, model.receptive_field, 17, 2)
    with torch.no_grad():
        strided = model(x, mode="strided")
        dilated = model(x, mode="dilated")
    assert strided.shape == dilated.shape == (2, 1, 17, 3)
    assert (strided - dilated).abs().max() < 1e-5


def test_strided_equals_dilated_on_the_autograd_path() -> None:
    model = _build("gast-t27-causal")
    x = torch.randn(2, 27, 17, 2)
    strided, dilated = model(x, mode="strided"), model(x, mode="dilated")
    assert (strided - dilated).abs().max() < 1e-5


@pytest.mark.parametrize("name", ["gast-t27", "gast-t27-causal", "gast-t9"])
def test_matches_naive_reference_computation(name: str, naive) -> None:
    model = _build(name, seed=3)
    x = torch.randn(2, model.receptive_field + 6, 17, 2)
    with torch.no_grad():
        ours, ref = model(x), naive(model, x)
    assert ours.shape == ref.shape
    assert (ours - ref).abs().max() < 1e-5


@pytest.mark.parametrize("name", ["gast-t9-causal", "gast-t27-causal"])
def test_causal_outputs_never_see_the_future(name: str) -> None:
    model = _build(name)
    rf = model.receptive_field
    frames = 12
    seq = torch.randn(1, frames, 17, 2)
    # causal padding as an evaluator does it: pad + causal_shift frames on the left, the rest on the right
    left, right = model.pad + model.causal_shift, model.pad - model.causal_shift
    assert (left, right) == (rf - 1, 0)

    def run(s: torch.Tensor) -> torch.Tensor:
        padded = torch.cat((s[:, :1].expand(-1, left, -1, -1), s), dim=1)
        with torch.no_grad():
            return model(padded)

    base = run(seq)
    assert base.shape[1] == frames
    for t in (0, 5, frames - 2):
        changed = seq.clone()
        changed[:, t + 1 :] += torch.randn_like(changed[:, t + 1 :])
        assert torch.equal(run(changed)[:, : t + 1], base[:, : t + 1])
    # the same probe on the non-causal model does see the future (the test has teeth)
    sym = _build(name.removesuffix("-causal"))
    x = torch.randn(1, sym.receptive_field + 3, 17, 2)
    with torch.no_grad():
        y = sym(x)
        x2 = x.clone()
        x2[:, sym.pad + 1 :] += 1.0
        assert not torch.allclose(sym(x2)[:, 0], y[:, 0])


def test_folded_kernels_equal_training_mode_computation() -> None:
    model = _build("gast-t9")
    local = model.layers_graph_conv[1].local_graph_layer
    with torch.no_grad():
        folded = local.fold()
    d1, o1 = local.gcn_sym.split_kernel()
    d2, o2 = local.gcn_con.split_kernel()
    assert torch.equal(folded.diag[:, 0].t(), torch.cat((d1, d2), dim=1))
    assert torch.equal(folded.off_t.transpose(1, 2), torch.cat((o1, o2)))
    full = local.gcn_con.kernel()
    assert torch.allclose(full.sum(-1), torch.ones(()))
    assert torch.equal(full.diagonal(dim1=1, dim2=2).t(), d2)


def test_eval_fast_path_equals_uncached_path_and_tracks_parameter_changes() -> None:
    model = _build("gast-t27")
    x = torch.randn(2, 33, 17, 2)
    with torch.no_grad():
        fast = model(x)
    slow = model(x).detach()  # eval mode with autograd on: nothing cached, nothing folded
    assert (fast - slow).abs().max() < 1e-5
    # an in-place parameter change (optimizer step, load_state_dict) invalidates the cache
    with torch.no_grad():
        model.layers_graph_conv[2].local_graph_layer.gcn_con.e.mul_(-2.0)
        model.layers_graph_conv[0].global_graph_layer.attentions[1].C_k.add_(0.3)
        model.layers_bn[0].running_var.mul_(3.0)
        changed_fast = model(x)
    changed_slow = model(x).detach()
    assert (changed_fast - fast).abs().max() > 1e-3
    assert (changed_fast - changed_slow).abs().max() < 1e-5
    state = {k: v.clone() for k, v in _build("gast-t27", seed=7).state_dict().items()}
    model.load_state_dict(state)
    with torch.no_grad():
        loaded_fast = model(x)
    assert (loaded_fast - model(x).detach()).abs().max() < 1e-5


def test_training_step_reaches_graph_parameters() -> None:
    torch.manual_seed(0)
    model = create_lifter("gast-t9", dropout=0.1).train()
    x = torch.randn(4, 9, 17, 2)
    out = model(x)
    assert out.shape == (4, 1, 17, 3)
    out.square().mean().backward()
    layer = model.layers_graph_conv[1]
    for p in (layer.local_graph_layer.gcn_sym.e, layer.global_graph_layer.attentions[0].C_k, model.init_bn.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert int(model.init_bn.num_batches_tracked) == 1
