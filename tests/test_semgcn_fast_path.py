"""SemGCN's folded eval path equals the plain path, after every kind of weight change, across chunks.

The folded path re-derives its adjacencies and folded batch norms on every call, so no route by
which weights change (``.data`` edits, which bump no version counter, state-dict loads,
optimizer steps, parameter replacement, running statistics, dtype moves) can leave it stale.
Each change test first checks that the output moved (the test has teeth), then that the folded
output (eval, autograd off) equals the plain one (eval, autograd on) to 1e-5 m.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

import gastbench_baselines.semgcn as semgcn_module
from gastbench.registry import create_lifter

TOL = 1e-5
CASES = [("semgcn", "h36m16"), ("semgcn", "h36m"), ("semgcn", "humaneva"), ("semgcn-nonlocal", "h36m16")]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models: a second thread only adds barrier waits (seconds per test on a loaded 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial edge logits, batch-norm statistics and non-local output norms; eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".e"):
                p.copy_(torch.randn(p.shape, generator=gen))
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))  # the non-local output BN starts at zero
                m.bias.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))
        # Outputs of about a metre, as a trained model's: the 1e-5 m tolerance is then ~1e-5 relative.
        model.eval()
        probe = model(torch.randn(4, 8, model.input_layout.num_joints, 2, generator=gen))
        scale = 1.0 / probe.abs().amax().clamp_min(1e-6)
        model.gconv_output.W.mul_(scale)
        model.gconv_output.bias.mul_(scale)
    return model


def _model(name: str = "semgcn-nonlocal", layout: str = "h36m16", seed: int = 0, **kw: object) -> nn.Module:
    torch.manual_seed(seed)
    return randomize(create_lifter(name, layout, **kw), seed)


def _fast(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():  # as the evaluator runs it
        return model(x)


def _plain(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x).detach()  # eval mode, autograd on: the training graph


def _x(joints: int = 16, frames: int = 7, seed: int = 1) -> torch.Tensor:
    return torch.randn(2, frames, joints, 2, generator=torch.Generator().manual_seed(seed))


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts folded forwards, so that a comparison cannot silently compare the plain path with itself."""
    seen: list[int] = []
    real = semgcn_module.forward_folded

    def counting(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[0])
        return real(model, x)

    monkeypatch.setattr(semgcn_module, "forward_folded", counting)
    return seen


@pytest.mark.parametrize(("name", "layout"), CASES)
def test_folded_equals_plain_across_chunks(name: str, layout: str, calls: list[int]) -> None:
    """Long enough that a forward runs several cache-sized chunks (and a short last one)."""
    model = _model(name, layout)
    x = _x(model.input_layout.num_joints, frames=301)
    calls.clear()
    fast = _fast(model, x)
    assert calls, "the folded path did not run"
    assert fast.shape == (2, 301, model.output_layout.num_joints, 3)
    assert (fast - _plain(model, x)).abs().max() < TOL
    assert len(calls) == 1  # the plain forward did not take it


def _check_change(model: nn.Module, x: torch.Tensor, change: Callable[[nn.Module], None]) -> None:
    before = _fast(model, x)  # a folded forward first: anything it could keep is now "warm"
    change(model)
    model.eval()
    after = _fast(model, x)
    assert (after - before).abs().max() > 1e-3, "the change did not move the output: the test has no teeth"
    plain = _plain(model, x)
    assert plain.abs().max() < 10.0, "outputs far beyond a body's size: the tolerance would be meaningless"
    assert (after - plain).abs().max() < TOL


def test_data_edits_are_seen(calls: list[int]) -> None:
    def edit(m: nn.Module) -> None:
        m.gconv_layers[0].gconv1.gconv.e.data.mul_(-2.0)  # .data: no version counter moves
        m.gconv_input[0].gconv.W.data[1].mul_(1.2)
        m.gconv_layers[2].gconv2.bn.running_var.data.mul_(1.5)
        m.gconv_layers[1].non_local.W[1].weight.data.mul_(0.5)
        m.gconv_layers[3].non_local.phi[0].weight.data.mul_(-1.0)

    model = _model()
    calls.clear()
    _check_change(model, _x(), edit)
    assert len(calls) == 2  # before and after the edit; the plain forward did not take it


def test_load_state_dict() -> None:
    other = _model(seed=7).state_dict()
    _check_change(_model(), _x(), lambda m: m.load_state_dict(other))


def test_in_place_optimizer_step() -> None:
    x = _x()

    def step(m: nn.Module) -> None:
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=0.01)
        m(x).square().mean().backward()
        opt.step()

    _check_change(_model(), x, step)


def test_parameter_replacement() -> None:
    def replace(m: nn.Module) -> None:
        conv = m.gconv_output
        conv.e = nn.Parameter(torch.linspace(-1.0, 1.0, conv.e.numel()).view_as(conv.e))
        m.gconv_layers[0].gconv2.gconv.bias = nn.Parameter(torch.full((128,), 0.1))

    _check_change(_model(), _x(), replace)


def test_running_statistics_updated_by_a_training_forward() -> None:
    x = _x()

    def train_forward(m: nn.Module) -> None:
        m.train()
        with torch.no_grad():
            m(x * 3.0 + 1.0)  # BN running statistics move; no parameter does

    _check_change(_model(), x, train_forward)


def test_training_mode_and_autocast_take_the_plain_path(calls: list[int]) -> None:
    model = _model("semgcn", "h36m16")
    x = _x()
    calls.clear()
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(x)
    assert not calls


def test_to_dtype_and_back() -> None:
    model = _model()
    x = _x()
    fast32 = _fast(model, x)
    model.to(torch.float64)
    fast64 = _fast(model, x.double())
    assert fast64.dtype == torch.float64
    assert (fast64 - _plain(model, x.double())).abs().max() < 1e-10
    assert (fast64.float() - fast32).abs().max() < TOL
    with torch.no_grad():
        model.gconv_input[0].gconv.W.mul_(0.5)  # changed while in float64 ...
    model.to(torch.float32)  # ... and converted back
    after = _fast(model, x)
    assert (after - fast32).abs().max() > 1e-3
    assert (after - _plain(model, x)).abs().max() < TOL


def test_folded_path_keeps_no_derived_state() -> None:
    model = _model()
    before = {name: set(vars(m)) for name, m in model.named_modules()}
    _fast(model, _x())
    assert {name: set(vars(m)) for name, m in model.named_modules()} == before


def test_other_widths_and_depths() -> None:
    """Narrow hidden layers (the input layer then mixes first on both sides) and no residual blocks."""
    for kw in ({"hidden": 8, "num_layers": 2}, {"hidden": 16, "num_layers": 0}):
        model = _model("semgcn-nonlocal", "h36m16", **kw)
        x = _x(frames=33)
        assert (_fast(model, x) - _plain(model, x)).abs().max() < TOL


def test_streams_split_frames_and_leave_the_thread_count_as_found(calls: list[int]) -> None:
    """With two torch threads the folded forward runs as two single-threaded streams sharing its chunks;
    whichever stream takes a chunk, it is computed alike, so forwards repeat bit for bit."""
    model = _model()
    x = _x(frames=301)
    torch.set_num_threads(2)
    try:
        fast = _fast(model, x)
        again = [_fast(model, x) for _ in range(3)]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert calls
    assert (fast - _plain(model, x)).abs().max() < TOL
    assert all(torch.equal(fast, other) for other in again)
    assert torch.equal(fast, _fast(model, x))  # and as one single-threaded stream
