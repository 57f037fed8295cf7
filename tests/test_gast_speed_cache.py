"""GAST-Net's fused eval path: it equals the plain path after every kind of weight change, and across chunks.

The fused path re-derives folded batch norms and softmaxed kernels on every call, so no
route by which weights change (state-dict loads, ``.data`` edits, ``.to()``, parameter
replacement, running statistics, train/eval switches, optimizer steps) can leave it stale.
Each test changes the weights one way, checks that the output moved (the test has teeth)
and that the fused output equals the plain one (eval mode, autograd on).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from gast_helpers import randomize_gastnet
from torch import nn

from gastbench.models.gastnet import GASTNet
from gastbench.registry import create_lifter

torch.set_num_threads(1)

TOL = 1e-5


def _model(name: str = "gast-t9", seed: int = 0) -> GASTNet:
    torch.manual_seed(seed)
    return randomize_gastnet(create_lifter(name), seed)


def _fast(model: GASTNet, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def _plain(model: GASTNet, x: torch.Tensor) -> torch.Tensor:
    return model(x).detach()  # eval mode, autograd on: the unfused path


def _check_change(model: GASTNet, x: torch.Tensor, change: Callable[[GASTNet], None]) -> None:
    before = _fast(model, x)  # a fused forward first: anything it could keep is now "warm"
    change(model)
    model.eval()
    after = _fast(model, x)
    assert (after - before).abs().max() > 1e-3, "the change did not move the output: the test has no teeth"
    assert (after - _plain(model, x)).abs().max() < TOL


@pytest.fixture()
def x() -> torch.Tensor:
    return torch.randn(2, 15, 17, 2, generator=torch.Generator().manual_seed(1))


def test_issue_reproducer_data_edits(x: torch.Tensor) -> None:
    def edit(m: GASTNet) -> None:
        m.expand_bn.running_var.data.mul_(4.0)
        m.layers_conv[0].weight.data.mul_(0.5)

    _check_change(_model(), x, edit)


def test_data_edits_of_graph_kernels(x: torch.Tensor) -> None:
    def edit(m: GASTNet) -> None:
        block = m.layers_graph_conv[1]
        block.local_graph_layer.gcn_con.e.data.mul_(-2.0)
        block.local_graph_layer.gcn_sym.W.data[1].mul_(1.5)
        block.global_graph_layer.attentions[2].C_k.data.add_(0.3)
        block.global_graph_layer.attentions[0].theta.weight.data.mul_(3.0)

    _check_change(_model(), x, edit)


def test_load_state_dict(x: torch.Tensor) -> None:
    other = _model(seed=7).state_dict()
    _check_change(_model(), x, lambda m: m.load_state_dict(other))


def test_in_place_optimizer_step(x: torch.Tensor) -> None:
    def step(m: GASTNet) -> None:
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        m(x).square().mean().backward()
        opt.step()

    _check_change(_model(), x, step)


def test_parameter_replacement(x: torch.Tensor) -> None:
    def replace(m: GASTNet) -> None:
        m.layers_conv[1].weight = nn.Parameter(m.layers_conv[1].weight.detach() * -1.0)
        head = m.layers_graph_conv[0].global_graph_layer.attentions[1]
        head.C_k = nn.Parameter(torch.full_like(head.C_k, 0.2))

    _check_change(_model(), x, replace)


def test_running_statistics_updated_by_a_training_forward(x: torch.Tensor) -> None:
    def train_forward(m: GASTNet) -> None:
        m.train()
        with torch.no_grad():
            m(x * 3.0 + 1.0)  # BN running statistics move; no parameter does

    _check_change(_model(), x, train_forward)


def test_train_eval_switches_never_mix_paths(x: torch.Tensor) -> None:
    model = _model()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.0  # a training forward then leaves the running statistics as they are
    fast = _fast(model, x)
    model.train()
    with torch.no_grad():
        trained = model(x)  # batch statistics: a different function
    model.eval()
    assert (trained - fast).abs().max() > 1e-3
    assert (_fast(model, x) - fast).abs().max() < TOL
    assert (_plain(model, x) - fast).abs().max() < TOL


def test_to_dtype_and_back(x: torch.Tensor) -> None:
    model = _model()
    fast32 = _fast(model, x)
    model.to(torch.float64)
    fast64 = _fast(model, x.double())
    assert fast64.dtype == torch.float64
    assert (fast64 - _plain(model, x.double())).abs().max() < 1e-10
    assert (fast64.float() - fast32).abs().max() < TOL
    with torch.no_grad():
        model.layers_conv[0].weight.mul_(0.5)  # changed while in float64 ...
    model.to(torch.float32)  # ... and converted back: new tensors throughout
    after = _fast(model, x)
    assert (after - fast32).abs().max() > 1e-3
    assert (after - _plain(model, x)).abs().max() < TOL


def test_fused_path_keeps_no_derived_state(x: torch.Tensor) -> None:
    model = _model()
    before = {name: set(vars(m)) for name, m in model.named_modules()}
    _fast(model, x)
    assert {name: set(vars(m)) for name, m in model.named_modules()} == before


@pytest.mark.parametrize(("name", "frames"), [("gast-t27", 140), ("gast-t81", 30), ("gast-t27-causal", 70)])
def test_chunked_fused_path_equals_plain_path_on_long_sequences(name: str, frames: int) -> None:
    """Long enough that every level runs several chunks (the chunk edges must not show)."""
    model = _model(name, seed=3)
    x = torch.randn(2, model.receptive_field - 1 + frames, 17, 2, generator=torch.Generator().manual_seed(2))
    fast, plain = _fast(model, x), _plain(model, x)
    assert fast.shape == plain.shape == (2, frames, 17, 3)
    assert (fast - plain).abs().max() < TOL
    strided_x = x[:, : model.receptive_field]
    assert (_fast(model, strided_x) - _fast(model, strided_x)).abs().max() == 0
    with torch.no_grad():
        assert (model(strided_x, mode="strided") - _plain(model, strided_x)).abs().max() < TOL
