"""GAST-Net on an accelerator, checked without one: launch counts, host syncs, torch.compile graphs.

Three CPU-only habits cost a GPU dearly (the GPU benchmark, benchmarks/device_run.py, shows them): the fused
eval path cut each level into cache-sized chunks (thousands of small GEMMs per sequence), every
graph convolution called ``nonzero`` (a host sync, and a torch.compile graph break), and the fused
path's ``out=`` views could not be lowered by Inductor. The meta device stands in for the GPU: it
runs the same Python with shapes only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from gast_helpers import randomize_gastnet
from torch.utils._python_dispatch import TorchDispatchMode

import gastbench
from gastbench.models import _blas, _fast, gastnet
from gastbench.models.global_attention import MultiGlobalGraph

#: Ops whose result the host must read back (a device sync) or whose output shape depends on data.
SYNCING_OPS = ("nonzero", "_local_scalar_dense", "item", "masked_select", "unique")


class OpCounter(TorchDispatchMode):
    """Counts every aten op by its packet name (``mm``, ``addmm_``, ``nonzero``...)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))

    def gemms(self) -> int:
        return sum(n for op, n in self.ops.items() if op in ("mm", "addmm", "addmm_", "bmm", "baddbmm"))


def _count(fn: Callable[[], Any]) -> OpCounter:
    with OpCounter() as counter:
        fn()
    return counter


def _one_sequence_forward(device: str) -> OpCounter:
    """The evaluator's GPU forward for one ~2,300-frame sequence: 6 chunks of 442 frames and their mirrors."""
    model = randomize_gastnet(gastbench.create_lifter("gast-t27")).to(device)
    x = torch.randn(12, 442 + model.receptive_field - 1, 17, 2, device=device)
    with torch.no_grad():
        return _count(lambda: model(x))


@pytest.mark.slow
def test_accelerator_levels_are_not_cut_into_cache_sized_chunks() -> None:
    with _blas.torch_blas():  # torch's GEMMs, which the op counter sees
        cpu, accelerator = _one_sequence_forward("cpu"), _one_sequence_forward("meta")
    # CPU: each level in cache-sized chunks; elsewhere whole levels, i.e. far fewer, larger GEMMs.
    assert accelerator.gemms() * 5 < cpu.gemms()
    assert gastnet._chunk_frames(12 * 17, 1024, torch.device("cuda")) >= 64 * gastnet._chunk_frames(
        12 * 17, 1024, torch.device("cpu")
    )


def test_accelerator_chunking_gives_the_cpu_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    model = randomize_gastnet(gastbench.create_lifter("gast-t27"))
    x = torch.randn(3, 300, 17, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        cache_sized = model(x)
        monkeypatch.setattr(gastnet, "_CHUNK_BYTES_CPU", gastnet._CHUNK_BYTES_ACCELERATOR)
        whole_levels = model(x)
    torch.testing.assert_close(whole_levels, cache_sized, rtol=0, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_forward_never_waits_for_the_device(training: bool) -> None:
    model = randomize_gastnet(gastbench.create_lifter("gast-t27")).train(training)
    if training:
        x = torch.randn(4, model.receptive_field, 17, 2)

        def step() -> None:
            model(x, mode="strided").square().mean().backward()

    else:
        x = torch.randn(2, 60, 17, 2)

        def step() -> None:
            with torch.no_grad():
                model(x)

    ops = _count(step).ops
    assert not {op for op in ops if op in SYNCING_OPS}, f"host syncs in the forward: {dict(ops)}"


def test_torch_compile_traces_one_graph() -> None:
    model = gastbench.create_lifter("gast-t27").train()
    explained = torch._dynamo.explain(lambda x: model(x, mode="strided"))(torch.randn(2, 27, 17, 2))
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]


def test_compiled_forward_takes_the_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    model = gastbench.create_lifter("gast-t27").eval()
    with torch.no_grad():
        assert _fast.use_fast_path(model)
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
        assert not _fast.use_fast_path(model)


def test_autocast_query_accepts_devices_autocast_does_not_know() -> None:
    assert _fast.autocast_enabled("meta") is False


def _global_layer() -> MultiGlobalGraph:
    layer = MultiGlobalGraph(num_joints=17, in_channels=64, inter_channels=16).eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return layer


def test_batched_heads_equal_the_head_loop() -> None:
    layer = _global_layer()
    x = torch.randn(5, 17, 64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    heads = torch.cat([head(x) for head in layer.attentions], dim=-1)  # GlobalGraph: the reference's per-head form
    loop = F.relu(layer.cat_bn(heads @ layer.cat_conv.weight[:, :, 0, 0].t()))
    torch.testing.assert_close(layer(x), loop, rtol=0, atol=1e-5)
    with torch.no_grad():  # and the fused eval path agrees with both
        torch.testing.assert_close(layer(x), loop, rtol=0, atol=1e-5)


def test_batched_heads_halve_the_training_ops() -> None:
    layer = _global_layer().train()
    x = torch.randn(5, 17, 64, requires_grad=True)

    def head_loop() -> None:
        heads = torch.cat([head(x) for head in layer.attentions], dim=-1)
        F.relu(layer.cat_bn(heads @ layer.cat_conv.weight[:, :, 0, 0].t())).sum().backward()

    loop = sum(_count(head_loop).ops.values())
    batched = sum(_count(lambda: layer(x).sum().backward()).ops.values())
    # On a GPU each op is a launch (or more): the step is launch-bound (DEVICE.md), so the count is the cost.
    assert batched < 0.6 * loop, (batched, loop)
