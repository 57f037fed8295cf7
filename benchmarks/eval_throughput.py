"""Evaluation throughput: gastbench's batched evaluator vs. a one-sequence-at-a-time loop.

The loop is how the reference scripts evaluate: each sequence and its flipped copy form a
batch of 2, one forward per sequence. Also prints the model's FLOP floor on this device:
multiply-adds per output frame (``torch.utils.flop_counter``) over the measured matmul rate.

    python benchmarks/eval_throughput.py --max-sequences 16          # Human3.6M S9/S11 gt
    python benchmarks/eval_throughput.py --dataset synthetic
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from gastbench.data import load_dataset
from gastbench.evaluation import predict_sequences, resolve_device
from gastbench.lifter import Lifter
from gastbench.pretrained import resolve_lifter


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


def flops_per_frame(lifter: Lifter, device: torch.device) -> float:
    """Marginal FLOPs of one more output frame (a short window overcounts the dilated layers' margins)."""

    def count(frames: int) -> int:
        x = torch.zeros(1, frames + lifter.receptive_field - 1, lifter.input_layout.num_joints, 2, device=device)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            lifter(x, mode="dilated")
        return counter.get_total_flops()

    return (count(96) - count(32)) / 64


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


def timed(fn, device: torch.device) -> float:  # type: ignore[no-untyped-def]
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="h36m", choices=["h36m", "synthetic"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models", nargs="+", default=["gast-t27", "videopose3d-t243"])
    parser.add_argument("--max-sequences", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the evaluator's own choice")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dataset = load_dataset(args.dataset, "gt", args.data_dir)
    seqs = dataset.sequences("test", actions=dataset.actions("test"))[: args.max_sequences]
    keypoints = [np.asarray(s.keypoints_2d, dtype=np.float32) for s in seqs]
    frames = sum(k.shape[0] for k in keypoints)
    gflops = matmul_gflops(device)
    print(f"{dataset.name} gt: {len(seqs)} sequences, {frames} frames; device {device}, "
          f"{torch.get_num_threads()} threads; matmul {gflops:.0f} GFLOP/s")  # fmt: skip
    for name in args.models:
        lifter, _ = resolve_lifter(name, dataset=dataset.name, input="gt", layout=dataset.layout_2d, random_init=True)
        lifter = lifter.to(device).eval()
        predict_sequences(lifter, keypoints[:1], batch_size=args.batch_size, device=device)  # warm-up
        t_batched = timed(lambda: predict_sequences(lifter, keypoints, batch_size=args.batch_size, device=device), device)
        t_loop = timed(lambda: loop_predict(lifter, keypoints, device), device)
        fpf = flops_per_frame(lifter, device)
        floor_s = 2 * frames * fpf / (gflops * 1e9)  # x2: flip doubles the frames
        print(f"{name:>18}: batched {frames / t_batched:8.0f} frames/s ({t_batched:.2f} s) | loop "
              f"{frames / t_loop:8.0f} frames/s ({t_loop:.2f} s) | speed-up x{t_loop / t_batched:.2f} | "
              f"{fpf / 2e6:.1f} M mult-adds/frame, floor {floor_s:.2f} s = {frames / floor_s:.0f} frames/s")  # fmt: skip


if __name__ == "__main__":
    main()
