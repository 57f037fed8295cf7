"""Evaluation speed of PoseFormer beside the convolutional lifters, on CPU by default.

Each model lifts the same 2D sequences through gastbench's evaluator (``predict_sequences``:
chunked whole-sequence graph, test-time flip, so two forwards per frame), random weights. Per
model it prints output frames per second (median of ``--repeats`` timed runs), the work per
output frame (``torch.utils.flop_counter``, flip included; the marginal cost of one more frame)
and the arithmetic rate that gives, then every model's speed relative to the first one.

    python benchmarks/poseformer_speed.py                                   # synthetic test split
    python benchmarks/poseformer_speed.py --dataset h36m --max-sequences 8  # real Human3.6M S9/S11 gt
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from gastbench.data import load_dataset
from gastbench.evaluation import predict_sequences, resolve_device
from gastbench.flop_count import flops_per_frame
from gastbench.lifter import Lifter
from gastbench.pretrained import resolve_lifter

DEFAULT_MODELS = ["gast-t81", "poseformer-t81", "videopose3d-t243"]


def flops_per_output_frame(lifter: Lifter) -> float:
    """FLOPs (2 per multiply-add) of one more output frame of the whole-sequence graph, flip included
    (the evaluator lifts the sequence and its mirror): twice :func:`gastbench.flop_count.flops_per_frame`."""
    return 2 * flops_per_frame(lifter)


def time_evaluation(lifter: Lifter, keypoints: list[np.ndarray], device: torch.device, repeats: int) -> float:
    """Median wall-clock seconds of one flip-averaged evaluation of ``keypoints``."""
    warm = keypoints[0][: 2 * lifter.receptive_field]
    predict_sequences(lifter, [warm], device=device)  # warm-up: allocator, kernels, thread pool
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_sequences(lifter, keypoints, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="synthetic", choices=["synthetic", "h36m"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="first one is the ratio baseline")
    parser.add_argument("--max-sequences", type=int, default=4)
    parser.add_argument("--max-frames", type=int, default=1500, help="frames kept per sequence")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = resolve_device(args.device)
    dataset = load_dataset(args.dataset, "gt", args.data_dir)
    seqs = dataset.sequences("test", actions=dataset.actions("test"))[: args.max_sequences]
    keypoints = [np.asarray(s.keypoints_2d[: args.max_frames], dtype=np.float32) for s in seqs]
    frames = sum(k.shape[0] for k in keypoints)
    print(f"{dataset.name} gt: {len(keypoints)} sequences, {frames} frames; device {device}, "
          f"{torch.get_num_threads()} threads; flip on; median of {args.repeats}")  # fmt: skip
    rates: list[tuple[str, float]] = []
    for name in args.models:
        lifter, _ = resolve_lifter(name, dataset=dataset.name, input="gt", layout=dataset.layout_2d, random_init=True)
        lifter = lifter.to(device).eval()
        seconds = time_evaluation(lifter, keypoints, device, args.repeats)
        gflop_per_frame = flops_per_output_frame(lifter) / 1e9
        fps = frames / seconds
        rates.append((name, fps))
        print(f"{name:>18}: {fps:9.0f} frames/s ({seconds:.2f} s) | {gflop_per_frame:7.3f} GFLOP/frame | "
              f"{fps * gflop_per_frame:6.1f} GFLOP/s | {lifter.num_parameters():,} params")  # fmt: skip
    base_name, base_fps = rates[0]
    print("relative to " + base_name + ": " + ", ".join(f"{n} x{fps / base_fps:.2f}" for n, fps in rates[1:]))


if __name__ == "__main__":
    main()
