"""What bounds each family's evaluation rate: one forward against a replay of its own GEMMs and attention kernels.

For every model (default: the family table's, ``_families.default_models``) one evaluation
forward as the evaluator issues it on a CPU (one chunk and its mirror: ``auto_chunking``'s
frames for a temporal model, one clip and its mirror for a sequence-to-sequence one) is run
single-threaded, i.e. as ONE of the family table's streams runs it. A ``TorchDispatchMode``
records every GEMM (``mm``, ``addmm``, ``bmm``, ``baddbmm``, convolutions, oneDNN's linear) and every fused
attention kernel the forward issues, with their operands' shapes and strides; two replays then
issue exactly those calls, in order, on random operands of the same layouts and nothing else:

- ``GEMMs``: the GEMMs alone;
- ``+ attention``: the GEMMs and the attention kernels.

A fourth side runs the same forward on ``--threads`` torch threads, as the evaluation runs it
(its streams included). All sides are timed in alternation (best of ``--repeats``,
``_common.alternate``). Per model, FLOPs being the plain path's (as the family table counts them):
the single-threaded forward's FLOP rate and its share of the yardstick's measured the same way;
the GEMMs' own rate; the share of the forward's time that its GEMMs and attention take alone;
the *ceiling*, the model's FLOPs over that kernel time as a share of the yardstick's rate (what
the model would reach if everything between those kernels -- norms, activations, copies -- cost
nothing); then the forward on all threads, its share of the yardstick on as many threads, and
how it scales from one thread. A single-threaded share near its ceiling leaves only fewer FLOPs
or faster kernels; a multi-threaded share below the single-threaded one is lost to the cores'
shared caches and memory (or to a thread pool's barriers), not to the model's own ops.

The dispatcher sees torch's kernels, oneDNN's linear op among them (``gastbench.cpu_gemm``, where
it is chosen), but not numpy's OpenBLAS: where GAST-Net's GEMMs would go to OpenBLAS, they go
through torch's BLAS here (``gastbench.models._blas.torch_blas``).

    GASTBENCH_DATA=... python benchmarks/family_bound.py
    python benchmarks/family_bound.py --models videopose3d-t243 motionbert-lite --repeats 5
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, machine_line  # noqa: E402
from _families import YARDSTICK, Row, commit_label, default_models, missing_requirements, print_table  # noqa: E402

from gastbench import cpu_gemm  # noqa: E402
from gastbench.evaluation.inference import auto_chunking  # noqa: E402
from gastbench.flop_count import flop_counter  # noqa: E402
from gastbench.lifter import Lifter  # noqa: E402
from gastbench.models._blas import torch_blas  # noqa: E402
from gastbench.registry import create_lifter, get_lifter_spec, load_plugins  # noqa: E402

__all__ = ["Call", "forward_input", "main", "model_flops", "record", "replay"]

_aten = torch.ops.aten
GEMM_OPS = {
    _aten.mm.default, _aten.mm.out, _aten.addmm.default, _aten.addmm.out, _aten.addmm_.default,
    _aten.bmm.default, _aten.bmm.out, _aten.baddbmm.default, _aten.baddbmm.out, _aten.baddbmm_.default,
}  # fmt: skip
_CONVOLUTIONS = {_aten.convolution.default, _aten.mkldnn_convolution.default}
GEMM_OPS |= _CONVOLUTIONS
# gastbench.cpu_gemm's linear layer where oneDNN runs the GEMMs: (X, [other,] W, ...), K = X's last dimension
_ONEDNN_LINEARS = (
    {torch.ops.mkldnn._linear_pointwise.default, torch.ops.mkldnn._linear_pointwise.binary}
    if cpu_gemm.onednn_usable()
    else set()
)
GEMM_OPS |= _ONEDNN_LINEARS
ATTENTION_OPS = {
    getattr(_aten, name).default
    for name in ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
                 "_scaled_dot_product_efficient_attention")
    if hasattr(_aten, name)
}  # fmt: skip
Layout = tuple[tuple[int, ...], tuple[int, ...]]  # (shape, stride)


@dataclass(frozen=True)
class Call:
    """One recorded kernel call: tensors replaced by their layouts, everything else as given."""

    op: torch._ops.OpOverload
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    attention: bool
    out_shape: tuple[int, ...]  # of the (first) result

    @property
    def flops(self) -> int:
        """Multiply-adds x2: a GEMM's output elements times its contraction length; attention's two GEMMs."""
        shapes = [a[1][0] for a in self.args if isinstance(a, tuple) and len(a) == 2 and a[0] == "tensor"]
        if self.attention:
            (*batch, length, head), keys, value_head = shapes[0], shapes[1][-2], shapes[2][-1]
            return 2 * math.prod(batch) * length * keys * (head + value_head)
        if self.op in _ONEDNN_LINEARS:
            return 2 * math.prod(self.out_shape) * shapes[0][-1]
        if self.op in _CONVOLUTIONS:
            weight = shapes[1]
            return 2 * math.prod(self.out_shape) * math.prod(weight[1:])
        return 2 * math.prod(self.out_shape) * shapes[-2][-1]  # (…, m, k) @ (…, k, n)


def _layout_of(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return ("tensor", (tuple(value.shape), tuple(value.stride())))
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        return type(value)(_layout_of(v) for v in value)
    return value


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in GEMM_OPS or func in ATTENTION_OPS:
            first = result[0] if isinstance(result, (tuple, list)) else result
            layouts = tuple(_layout_of(a) for a in args)
            self.calls.append(
                Call(
                    func,
                    layouts,
                    {k: _layout_of(v) for k, v in kwargs.items()},
                    func in ATTENTION_OPS,
                    tuple(first.shape),
                )
            )
        return result


def record(run: Callable[[], object]) -> list[Call]:
    """The GEMM and attention calls ``run`` issues, in order (on this thread)."""
    with torch.no_grad(), _Recorder() as recorder:
        run()
    return recorder.calls


def replay(calls: list[Call]) -> Callable[[], None]:
    """A function issuing ``calls`` in order on random operands of the recorded layouts (one
    buffer per layout, shared between calls: the values do not matter, the memory layout does)."""
    pool: dict[tuple[object, Layout], torch.Tensor] = {}  # keyed by argument position too: no call aliases itself

    def operand(value: Any, position: object) -> Any:
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "tensor":
            layout: Layout = value[1]
            if (position, layout) not in pool:
                shape, stride = layout  # strides may be 0 (an expanded operand): fill the storage, then view it
                extent = 1 + sum((n - 1) * st for n, st in zip(shape, stride)) if all(shape) else 0
                pool[position, layout] = torch.empty(extent).normal_().as_strided(shape, stride)
            return pool[position, layout]
        if isinstance(value, (list, tuple)):
            return type(value)(operand(v, (position, i)) for i, v in enumerate(value))
        return value

    prepared = [
        (c.op, tuple(operand(a, i) for i, a in enumerate(c.args)), {k: operand(v, k) for k, v in c.kwargs.items()})
        for c in calls
    ]

    def run() -> None:
        for op, args, kwargs in prepared:
            op(*args, **kwargs)

    return run


def _seen_by_the_dispatcher() -> contextlib.AbstractContextManager[None]:
    """GEMMs as chosen here (``gastbench.cpu_gemm``), except numpy's OpenBLAS, which the dispatcher
    cannot see: where GAST-Net's GEMMs would go there, torch's BLAS runs them instead."""
    return torch_blas() if cpu_gemm.chosen_library() == "openblas" else contextlib.nullcontext()


def forward_input(lifter: Lifter, batch: int = 2) -> torch.Tensor:
    """One CPU evaluation forward's input, as the evaluator builds it: a clip (sequence-to-sequence)
    or one chunk of ``auto_chunking``'s output frames plus the receptive field, and its mirror."""
    joints = lifter.input_layout.num_joints
    if lifter.clip_frames is not None:
        frames = int(lifter.clip_frames)
    else:
        _, frames = auto_chunking(lifter.receptive_field, torch.device("cpu"), lifter.eval_chunk_frames)
    return torch.randn(batch, frames, joints, 2, generator=torch.Generator().manual_seed(0))


def _on_threads(count: int, forward: Callable[[], object]) -> object:
    """``forward()`` with torch on ``count`` threads, as an evaluation runs it (streams included), then 1 again."""
    torch.set_num_threads(count)
    try:
        return forward()
    finally:
        torch.set_num_threads(1)


def model_flops(lifter: Lifter, x: torch.Tensor) -> int:
    """The forward's FLOPs on the plain path (autograd on), as the family table counts a model's FLOPs:
    the work the model defines, whatever a folded path saves or adds."""
    with flop_counter() as counter:
        lifter(x, mode="dilated")
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=None, help=f"default: {YARDSTICK} and one model per architecture"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per side (best counts)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the evaluation-as-it-runs side")
    parser.add_argument("--markdown", action="store_true", help="print the README's table (with commit and command)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one stream, as each of the family table's streams runs (the process is a benchmark)
    torch.manual_seed(0)
    load_plugins()
    machine = machine_line()
    models = args.models or default_models()
    if YARDSTICK not in models:
        models = [YARDSTICK, *models]
    sides: dict[str, Callable[[], object]] = {}
    facts: dict[str, tuple[int, int, int]] = {}
    skipped = []
    for name in models:
        if missing_requirements(name):
            skipped.append(f"{name}: needs {', '.join(missing_requirements(name))}")
            continue
        layout = get_lifter_spec(name).default_layout
        lifter = create_lifter(name, layout=layout).eval()
        x = forward_input(lifter)

        def forward(lifter: Lifter = lifter, x: torch.Tensor = x) -> object:
            with torch.no_grad(), _seen_by_the_dispatcher():
                return lifter(x, mode="dilated")

        with _seen_by_the_dispatcher():
            calls = record(forward)
        gemm_flops = sum(c.flops for c in calls if not c.attention)
        facts[name] = (model_flops(lifter, x), gemm_flops, sum(c.flops for c in calls if c.attention))
        sides[f"{name}/forward"] = forward
        sides[f"{name}/threads"] = functools.partial(_on_threads, args.threads, forward)
        sides[f"{name}/gemms"] = replay([c for c in calls if not c.attention])
        sides[f"{name}/kernels"] = replay(calls)
    with torch.no_grad():
        timings, _ = alternate(sides, args.repeats)
    best = {side: t.best_s for side, t in timings.items()}
    base = facts[YARDSTICK][0] / best[f"{YARDSTICK}/forward"]
    base_threads = facts[YARDSTICK][0] / best[f"{YARDSTICK}/threads"]
    n = args.threads
    header = ["model", "1 thread: GFLOP/s", "share", "GEMMs alone: GFLOP/s", "attention's share of FLOPs",
              "GEMMs + attention alone: share of the forward's time", "ceiling: share", f"{n} threads: GFLOP/s",
              "share", f"{n} threads / 1"]  # fmt: skip
    rows = []
    for name, (total, gemm, attn) in facts.items():
        t_fwd, t_gemm, t_kern, t_threads = (
            best[f"{name}/{side}"] for side in ("forward", "gemms", "kernels", "threads")
        )
        rate, ceiling, rate_threads = total / t_fwd, total / t_kern, total / t_threads
        cells = (name, f"{rate / 1e9:.1f}", f"{rate / base:.0%}", f"{gemm / t_gemm / 1e9:.1f}",
                 f"{attn / total:.0%}" if attn else "-", f"{t_kern / t_fwd:.0%}", f"{ceiling / base:.0%}",
                 f"{rate_threads / 1e9:.1f}", f"{rate_threads / base_threads:.0%}", f"{t_fwd / t_threads:.2f}")  # fmt: skip
        rows.append(Row(cells, frozenset()))
    command = "python benchmarks/family_bound.py " + " ".join(sys.argv[1:])
    heading = (f"commit `{commit_label()}`, one evaluation forward per model (a chunk or clip and its mirror), "
               f"best of {args.repeats}; {machine}")  # fmt: skip
    print_table(heading, command.strip(), header, rows, args.markdown, skipped)


if __name__ == "__main__":
    main()
