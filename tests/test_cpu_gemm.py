"""Which library runs the folded paths' CPU GEMMs (gastbench.cpu_gemm), its linear layer, and every family through it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from extras import skip_without_extras

from gastbench import cpu_gemm
from gastbench.fastpath import run_streams
from gastbench.registry import create_lifter

needs_onednn = pytest.mark.skipif(not cpu_gemm.onednn_usable(), reason="this torch has no oneDNN linear op")


@pytest.fixture(autouse=True)
def _no_choice_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GASTBENCH_BLAS", raising=False)


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (("AuthenticAMD", 26, frozenset({"avx2", "avx512f"})), "onednn"),  # Zen 5
        (("AuthenticAMD", 25, frozenset({"avx2", "avx512f"})), "openblas"),  # Zen 4: 512-bit ops on 256-bit units
        (("AuthenticAMD", 26, frozenset({"avx2"})), "openblas"),
        (("", 0, frozenset[str]()), "openblas"),
    ],
)
def test_the_default_follows_the_cpu(
    monkeypatch: pytest.MonkeyPatch, identity: tuple[str, int, frozenset[str]], expected: str
) -> None:
    if expected == "onednn" and not cpu_gemm.onednn_usable():
        expected = "openblas"
    monkeypatch.setattr(cpu_gemm, "cpu_identity", lambda: identity)
    cpu_gemm.default_library.cache_clear()
    try:
        assert cpu_gemm.default_library() == expected
    finally:
        cpu_gemm.default_library.cache_clear()


def test_intel_keeps_torchs_blas_where_torch_has_mkl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_gemm, "cpu_identity", lambda: ("GenuineIntel", 6, frozenset({"avx512f"})))
    cpu_gemm.default_library.cache_clear()
    try:
        assert cpu_gemm.default_library() == ("torch" if torch.backends.mkl.is_available() else "openblas")
    finally:
        cpu_gemm.default_library.cache_clear()


@needs_onednn
def test_environment_and_context_decide_and_streams_inherit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GASTBENCH_BLAS", "onednn")
    assert cpu_gemm.chosen_library() == "onednn"
    with cpu_gemm.use_library("torch"):
        assert not cpu_gemm.onednn_chosen()
        # a folded forward's streams run on other threads: the caller's choice holds there too
        assert run_streams([cpu_gemm.onednn_chosen, cpu_gemm.onednn_chosen]) == [False, False]
    monkeypatch.setenv("GASTBENCH_BLAS", "torch")
    with cpu_gemm.use_library("onednn"):
        assert run_streams([cpu_gemm.onednn_chosen, cpu_gemm.onednn_chosen]) == [True, True]
    assert not cpu_gemm.onednn_chosen()
    with pytest.raises(ValueError, match="none of onednn, openblas, torch"):
        with cpu_gemm.use_library("mkl"):  # type: ignore[arg-type]
            pass


def _operands() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 33, 48, generator=g)
    w = torch.randn(80, 48, generator=g)
    return [
        ("contiguous", x, w),
        ("transposed weight", x, torch.randn(48, 80, generator=g).t()),
        ("padded weight rows", x, torch.randn(80, 96, generator=g)[:, 20:68]),
        ("strided rows", torch.randn(165, 96, generator=g)[:, 10:58], w),
        ("transposed input", torch.randn(48, 165, generator=g).t(), w),
        ("batch-first view", torch.randn(33, 5, 48, generator=g).transpose(0, 1), w),
    ]


@needs_onednn
@pytest.mark.parametrize("library", ["onednn", "torch"])
@pytest.mark.parametrize("case", range(len(_operands())), ids=[name for name, _, _ in _operands()])
def test_linear_is_f_linear_with_its_activation_or_residual(library: cpu_gemm.Library, case: int) -> None:
    _, x, w = _operands()[case]
    bias = torch.linspace(-1, 1, w.shape[0])
    expected = F.linear(x, w, bias)
    residual = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1))
    with cpu_gemm.use_library(library), torch.no_grad():
        torch.testing.assert_close(cpu_gemm.linear(x, w, bias), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(cpu_gemm.linear(x, w), F.linear(x, w), rtol=1e-5, atol=1e-5)
        for act, fn in (("gelu", F.gelu), ("relu", F.relu), ("tanh", torch.tanh)):
            torch.testing.assert_close(cpu_gemm.linear(x, w, bias, activation=act), fn(expected), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            cpu_gemm.linear(x, w, bias, residual=residual), expected + residual, rtol=1e-5, atol=1e-5
        )
    with pytest.raises(ValueError, match="not both"):
        cpu_gemm.linear(x, w, bias, activation="relu", residual=residual)


@needs_onednn
def test_linear_keeps_autograd_and_other_dtypes_on_torch() -> None:
    w = torch.randn(8, 4, requires_grad=True)
    x = torch.randn(3, 4)
    with cpu_gemm.use_library("onednn"):
        cpu_gemm.linear(x, w, activation="relu").sum().backward()
        assert w.grad is not None
        y = cpu_gemm.linear(x.double(), w.detach().double())
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, F.linear(x.double(), w.detach().double()))


#: One model of every family whose folded path routes its GEMMs through gastbench.cpu_gemm.
FAMILY_MODELS = ["gast-t27", "martinez", "semgcn", "semgcn-nonlocal", "poseformer-t27", "mixste-t27", "motionbert-lite"]


@needs_onednn
@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_every_family_through_onednn_is_its_plain_path(name: str) -> None:
    skip_without_extras(name)
    torch.manual_seed(0)
    lifter = create_lifter(name).eval()
    for p in lifter.parameters():  # away from the initialisation's zeros and ones: every term counts
        p.data.add_(0.05 * torch.randn_like(p))
    for buffer_name, b in lifter.named_buffers():
        if buffer_name.endswith("running_var"):
            b.data.uniform_(0.5, 2.0)
        elif buffer_name.endswith("running_mean"):
            b.data.normal_(0.0, 0.1)
    frames = lifter.receptive_field + 20 if lifter.clip_frames is None else lifter.clip_frames
    x = 0.3 * torch.randn(3, frames, lifter.input_layout.num_joints, 2)
    with torch.enable_grad():
        plain = lifter(x).detach()  # autograd on: the plain path
    with cpu_gemm.use_library("onednn"), torch.no_grad():
        folded = lifter(x)
    # 1e-5 m on poses of up to a metre or so; random weights may scale the outputs, the bound with them
    scale = max(1.0, float(plain.abs().max()))
    torch.testing.assert_close(folded, plain, rtol=0, atol=1e-5 * scale)
