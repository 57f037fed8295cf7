"""Evaluation throughput: gastbench's batched evaluator vs. a one-sequence-at-a-time loop.

The loop is how the reference scripts evaluate: each sequence and its flipped copy form a
batch of 2, one forward per sequence. Also prints the model's FLOP floor on this device:
multiply-adds per output frame (``torch.utils.flop_counter``) over the measured matmul rate,
and each side's FLOP rate.

Both sides run once untimed with exactly the calls that are then timed (a warm-up on other
shapes leaves oneDNN kernel selection and first-touch allocation inside the timed call: that
is how this script once printed ~1,140 frames/s for videopose3d-t243 against 2,600+ measured
directly), then alternate for ``--repeats`` rounds; best round and spread are printed, and
the thread count is set (default 2) and printed.

    python benchmarks/eval_throughput.py --max-sequences 8           # Human3.6M S9/S11 gt
    python benchmarks/eval_throughput.py --dataset synthetic
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, flops_per_frame, machine_line, predict_sequences  # noqa: E402

from gastbench.data import load_dataset  # noqa: E402
from gastbench.lifter import Lifter  # noqa: E402
from gastbench.pretrained import resolve_lifter  # noqa: E402


def loop_predict(lifter: Lifter, keypoints: list[np.ndarray], device: torch.device) -> list[np.ndarray]:
    """Reference-style loop: one forward per sequence on [sequence, flipped sequence]."""
    left, right = lifter.pad + lifter.causal_shift, lifter.pad - lifter.causal_shift
    perm_in, perm_out = list(lifter.input_layout.flip_permutation), list(lifter.output_layout.flip_permutation)
    out = []
    with torch.inference_mode():
        for kp in keypoints:
            x = torch.from_numpy(np.pad(kp, ((left, right), (0, 0), (0, 0)), mode="edge")).to(device)
            xf = x[:, perm_in].clone()
            xf[..., 0] *= -1
            y = lifter(torch.stack([x, xf]), mode="dilated")
            yf = y[1][:, perm_out].clone()
            yf[..., 0] *= -1
            out.append((0.5 * (y[0] + yf)).cpu().numpy())
    return out


def matmul_gflops(device: torch.device, n: int = 1024, reps: int = 10) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="h36m", choices=["h36m", "synthetic"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models", nargs="+", default=["gast-t27", "videopose3d-t243"])
    parser.add_argument("--max-sequences", type=int, default=None)
    parser.add_argument(
        "--chunk-frames", type=int, default=None, help="output frames per chunk (default: the evaluator's own choice)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per side (best counts)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    dataset = load_dataset(args.dataset, "gt", args.data_dir)
    seqs = dataset.sequences("test", actions=dataset.actions("test"))[: args.max_sequences]
    keypoints = [np.asarray(s.keypoints_2d, dtype=np.float32) for s in seqs]
    frames = sum(k.shape[0] for k in keypoints)
    gflops = matmul_gflops(device)
    print(f"{dataset.name} gt: {len(seqs)} sequences, {frames} frames; matmul {gflops:.0f} GFLOP/s; {machine_line()}")
    for name in args.models:
        lifter, _ = resolve_lifter(name, dataset=dataset.name, input="gt", layout=dataset.layout_2d, random_init=True)
        lifter = lifter.to(device).eval()
        fpf = flops_per_frame(lifter)
        sides = {
            "batched": lambda lifter=lifter: predict_sequences(
                lifter, keypoints, chunk_frames=args.chunk_frames, device=device
            ),
            "loop": lambda lifter=lifter: loop_predict(lifter, keypoints, device),
        }
        timings, _ = alternate(sides, args.repeats)
        floor_s = 2 * frames * fpf / (gflops * 1e9)  # x2: flip doubles the frames
        b, lp = timings["batched"], timings["loop"]
        print(f"{name:>18}: batched {frames / b.best_s:7.0f} frames/s ({b.best_s:.2f} s, spread {b.spread:.0%}, "
              f"{2 * frames * fpf / b.best_s / 1e9:.0f} GFLOP/s) | loop {frames / lp.best_s:7.0f} frames/s "
              f"({lp.best_s:.2f} s, spread {lp.spread:.0%}, {2 * frames * fpf / lp.best_s / 1e9:.0f} GFLOP/s) | "
              f"x{lp.best_s / b.best_s:.2f} | {fpf / 1e6:.1f} MFLOP/frame, floor {frames / floor_s:.0f} frames/s")  # fmt: skip


if __name__ == "__main__":
    main()
