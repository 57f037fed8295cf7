"""How close GAST-Net's fused eval path is to its own GEMMs: each level timed against a replay of its GEMMs alone.

Every ``mm``/``addmm``/``addmm_`` the fused path issues for one level is recorded (op,
shapes, strides, whether it writes into a given buffer) through a ``TorchDispatchMode``;
the replay then issues exactly those calls, in order, on random operands of the same
shapes and memory layouts, with nothing else in between. Both are timed in alternation
(best of N, ``_common.alternate``). A ratio ``level / GEMMs alone`` near 1.0 means the level
runs at the rate this machine's BLAS reaches on those GEMM shapes: the remaining time is
the GEMMs themselves, and only fewer FLOPs or larger GEMM shapes can make it faster.

The dispatcher sees torch's GEMMs only, so both sides run with torch's BLAS
(``gastbench.models._blas.torch_blas``); by default the fused path sends its GEMMs to
OpenBLAS where numpy bundles it (``benchmarks/gast_layers.py`` times both).

    python benchmarks/gast_gemm_bound.py                      # gast-t27, 600 frames + flip
    python benchmarks/gast_gemm_bound.py --model gast-t81 --frames 300
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, machine_line  # noqa: E402

from gastbench.models._blas import torch_blas  # noqa: E402
from gastbench.models._fast import Workspace  # noqa: E402
from gastbench.models.gastnet import GASTNet  # noqa: E402
from gastbench.registry import create_lifter  # noqa: E402

__all__ = ["GemmCall", "record_gemms", "replay", "main"]

_GEMMS = {torch.ops.aten.mm.default, torch.ops.aten.mm.out, torch.ops.aten.addmm.default,
          torch.ops.aten.addmm.out, torch.ops.aten.addmm_.default}  # fmt: skip


@dataclass(frozen=True)
class GemmCall:
    op: torch._ops.OpOverload
    layouts: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]  # (shape, stride) of each tensor argument
    out_layout: tuple[tuple[int, ...], tuple[int, ...]] | None  # the ``out=`` buffer, when one is given

    @property
    def flops(self) -> int:
        (m, k), (_, n) = self.layouts[-2][0], self.layouts[-1][0]
        return 2 * m * k * n


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[GemmCall] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if func in _GEMMS:
            layouts = tuple((tuple(a.shape), tuple(a.stride())) for a in args if isinstance(a, torch.Tensor))
            out = kwargs.get("out")
            out_layout = (tuple(out.shape), tuple(out.stride())) if isinstance(out, torch.Tensor) else None
            self.calls.append(GemmCall(func, layouts, out_layout))
        return func(*args, **kwargs)


def _level_input(model: GASTNet, level: int, frames: int, batch: int) -> torch.Tensor:
    width = 2 if level == 0 else model.channels * 2**level
    margin = (model.filter_widths[level] - 1) * model._dilations[level]
    return torch.randn(frames + margin, batch, model.input_layout.num_joints, width)


def record_gemms(run: Callable[[], object]) -> list[GemmCall]:
    """The GEMM calls ``run`` issues, in order."""
    with torch.no_grad(), _Recorder() as recorder:
        run()
    return recorder.calls


def replay(calls: list[GemmCall]) -> Callable[[], None]:
    """A function issuing ``calls`` on random operands of the recorded shapes and layouts."""

    def strided(layout: tuple[tuple[int, ...], tuple[int, ...]]) -> torch.Tensor:
        shape, stride = layout
        return torch.empty_strided(shape, stride).normal_()

    prepared = [(c.op, [strided(lay) for lay in c.layouts], strided(c.out_layout) if c.out_layout else None)
                for c in calls]  # fmt: skip

    def run() -> None:
        for op, tensors, out in prepared:
            op(*tensors, out=out) if out is not None else op(*tensors)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gast-t27")
    parser.add_argument("--frames", type=int, default=600, help="output frames of each level")
    parser.add_argument("--batch", type=int, default=2, help="2: a sequence and its flipped copy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_lifter(args.model).eval()
    if not isinstance(model, GASTNet):
        raise SystemExit(f"{args.model} is not a GAST-Net model")
    taps = model._folded_taps()
    print(f"{args.model}: each level on {args.frames} output frames x batch {args.batch}")
    print(machine_line())
    print(f"{'level':>5} | {'width':>5} | {'GEMMs':>5} | {'GFLOP':>6} | {'level s':>7} | {'GEMMs s':>7} | "
          f"{'GEMM GFLOP/s':>12} | level / GEMMs alone")  # fmt: skip
    total_level = total_gemm = 0.0
    for level, block in enumerate(model.layers_graph_conv):
        h = _level_input(model, level, args.frames, args.batch)
        folded = block.fold()

        def run_level(h: torch.Tensor = h, level: int = level, folded=folded) -> object:  # type: ignore[no-untyped-def]
            return model._fused_level(level, h, taps, folded, False, Workspace(h), None)

        with torch_blas():
            calls = record_gemms(run_level)
            with torch.no_grad():
                timings, _ = alternate({"level": run_level, "gemms": replay(calls)}, args.repeats)
        flops = sum(c.flops for c in calls)
        lvl, gemm = timings["level"].best_s, timings["gemms"].best_s
        total_level, total_gemm = total_level + lvl, total_gemm + gemm
        print(f"{level:5d} | {block.channels:5d} | {len(calls):5d} | {flops / 1e9:6.1f} | {lvl:7.3f} | {gemm:7.3f} | "
              f"{flops / gemm / 1e9:12.1f} | {lvl / gemm:.2f}")  # fmt: skip
    print(f"all levels: {total_level:.3f} s vs their GEMMs alone {total_gemm:.3f} s: {total_level / total_gemm:.2f}")


if __name__ == "__main__":
    main()
