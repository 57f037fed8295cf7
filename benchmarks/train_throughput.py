"""Training throughput: on-device window gather vs a per-sample Python gather (gast-t27 by default).

Two numbers per gather, in samples per second:

- ``gather``: building the batch only (windows, targets, flip), which is what the two methods differ in;
- ``train step``: gather + forward (strided graph) + MPJPE loss + backward + Amsgrad step.

The Python gather is the research scripts' way: a loop over the batch that slices each sample's
window out of its own pre-padded sequence, then stacks and copies the batch to the device.

    python benchmarks/train_throughput.py                       # gast-t27, synthetic data, CPU
    python benchmarks/train_throughput.py --steps 3 --threads 2 --json

Every family's training step at its recipe's batch size, against the GEMM-rate yardstick, is
``family_throughput.py --table train`` (the same step, alternated across models in one process).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import numpy as np
import torch

from gastbench.data import load_dataset
from gastbench.training import WindowSampler, resolve_config
from gastbench.training.setup import build_lifter, loss_fn, set_seed, training_windows


class PythonGather:
    """Per-sample gather from per-sequence padded numpy arrays (the baseline)."""

    def __init__(self, windows: Any) -> None:
        padded = windows.padded.cpu().numpy()
        targets = windows.targets.cpu().numpy()
        offsets = windows.sequence_offsets
        frames = windows.sequence_frames
        self.rf = windows.receptive_field
        self.sequences = [padded[offsets[i] : offsets[i + 1]] for i in range(len(frames))]
        starts = np.concatenate([[0], np.cumsum(frames)])
        self.targets = [targets[starts[i] : starts[i + 1]] for i in range(len(frames))]
        # sample -> (sequence, frame), as a research script's list of chunks
        self.pairs = [(s, f) for s in range(len(frames)) for f in range(frames[s])]

    def gather(self, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        j_in = self.sequences[0].shape[1]
        j_out = self.targets[0].shape[1]
        x = np.empty((len(index), self.rf, j_in, 2), dtype=np.float32)
        y = np.empty((len(index), 1, j_out, 3), dtype=np.float32)
        for i, sample in enumerate(index.tolist()):
            seq, frame = self.pairs[sample]
            x[i] = self.sequences[seq][frame : frame + self.rf]
            y[i, 0] = self.targets[seq][frame]
        return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def _time_pair(first: Any, second: Any, repeats: int) -> tuple[float, float]:
    """Mean seconds per call of each, interleaved so that load drifts on a shared machine hit both alike."""
    first(), second()  # warm-up
    totals = [0.0, 0.0]
    for _ in range(repeats):
        for k, fn in enumerate((first, second)):
            started = time.perf_counter()
            fn()
            totals[k] += time.perf_counter() - started
    return totals[0] / repeats, totals[1] / repeats


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides: dict[str, Any] = {"model_overrides": {"channels": args.channels}} if args.channels else {}
    config = resolve_config(args.model, args.dataset, args.input, batch_size=args.batch_size, **overrides)
    dataset = load_dataset(config.dataset, config.input, args.data_dir)
    set_seed(0)
    lifter = build_lifter(config, dataset).to(device)
    windows = training_windows(config, dataset, lifter, device)
    python_gather = PythonGather(windows)
    layout_in, layout_out = lifter.input_layout, lifter.output_layout
    perm_in, perm_out = list(layout_in.flip_permutation), list(layout_out.flip_permutation)

    def batchers(batch_size: int) -> tuple[Any, Any]:
        batch_index, batch_flip = next(WindowSampler(len(windows), batch_size, seed=0).plan_epoch().batches())
        index_dev, flip_dev = batch_index.to(device), batch_flip.to(device)

        def device_batch() -> tuple[torch.Tensor, torch.Tensor]:
            return windows.gather(index_dev, flip_dev)  # flipped items read the mirrored copy

        def python_batch() -> tuple[torch.Tensor, torch.Tensor]:
            x, y = python_gather.gather(batch_index, torch.device("cpu"))
            f = batch_flip.numpy()
            xn, yn = x.numpy(), y.numpy()
            xn[f] = xn[f][:, :, perm_in] * np.array([-1, 1], dtype=np.float32)
            yn[f] = yn[f][:, :, perm_out] * np.array([-1, 1, 1], dtype=np.float32)
            return torch.from_numpy(xn).to(device), torch.from_numpy(yn).to(device)

        (x_a, y_a), (x_b, y_b) = device_batch(), python_batch()
        if not (torch.equal(x_a.cpu(), x_b.cpu()) and torch.equal(y_a.cpu(), y_b.cpu())):
            raise SystemExit("the two gathers disagree: benchmark aborted")
        return device_batch, python_batch

    optimizer = torch.optim.Adam(lifter.parameters(), lr=1e-3, amsgrad=True)
    loss = loss_fn("mpjpe")
    lifter.train()

    def step(make_batch: Any) -> None:
        x, y = make_batch()
        value = loss(lifter(x, mode="strided"), y)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    b = config.batch_size
    device_batch, python_batch = batchers(b)
    gather_device, gather_python = _time_pair(device_batch, python_batch, args.gather_repeats)
    big_device, big_python = _time_pair(*batchers(args.big_batch), args.gather_repeats)
    step_device, step_python = _time_pair(lambda: step(device_batch), lambda: step(python_batch), args.steps)
    return {
        "model": args.model,
        "dataset": config.dataset,
        "channels": args.channels or "default",
        "parameters": lifter.num_parameters(),
        "receptive_field": lifter.receptive_field,
        "batch_size": b,
        "windows": len(windows),
        "device": str(device),
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "gather_samples_per_s": {"device": b / gather_device, "python": b / gather_python},
        "gather_speedup": gather_python / gather_device,
        "big_batch": args.big_batch,
        "big_batch_gather_samples_per_s": {
            "device": args.big_batch / big_device,
            "python": args.big_batch / big_python,
        },
        "big_batch_gather_speedup": big_python / big_device,
        "train_step_samples_per_s": {"device": b / step_device, "python": b / step_python},
        "train_step_speedup": step_python / step_device,
        "steps_timed": args.steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gast-t27")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--input", default="gt")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--channels", type=int, default=None, help="shrink the model (default: its own width)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per gather")
    parser.add_argument("--big-batch", type=int, default=1024, help="second gather-only batch size (VideoPose3D's)")
    parser.add_argument("--gather-repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the record as JSON")
    args = parser.parse_args()
    record = run(args)
    if args.json:
        print(json.dumps(record, indent=2))
        return
    g, s = record["gather_samples_per_s"], record["train_step_samples_per_s"]
    print(f"{record['model']} ({record['parameters']:,} params, RF {record['receptive_field']}), batch "
          f"{record['batch_size']}, {record['device']} x{record['threads']} threads, "
          f"torch {record['torch']}")  # fmt: skip
    print(f"  gather only : device {g['device']:10.0f}  python {g['python']:10.0f} samples/s"
          f"  -> {record['gather_speedup']:.1f}x  (batch {record['batch_size']})")  # fmt: skip
    gb = record["big_batch_gather_samples_per_s"]
    print(f"  gather only : device {gb['device']:10.0f}  python {gb['python']:10.0f} samples/s"
          f"  -> {record['big_batch_gather_speedup']:.1f}x  (batch {record['big_batch']})")  # fmt: skip
    print(f"  train step  : device {s['device']:10.1f}  python {s['python']:10.1f} samples/s"
          f"  -> {record['train_step_speedup']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
