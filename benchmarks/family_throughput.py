"""Every registered family on this CPU, side by side: evaluation and training rates against the GEMM-rate yardstick.

Three tables, one per ``--table``:

- ``eval`` (default): the evaluator (``predict_sequences``: whole sequences, test-time flip, so
  every frame is lifted twice) on the first test sequences totalling ``--frames`` frames. All
  models run in ONE process, alternated round by round (order flipped every round) after an
  untimed warm-up each, best of ``--repeats``. Per model: frames/s, plain-path MFLOP per lifted
  frame (``torch.utils.flop_counter``), GFLOP/s (x2 for the flip) and its share of
  videopose3d-t243's GFLOP/s in the same run; shares under 80% are flagged.
- ``train``: one training step as ``gastbench train`` runs it (on-device window gather, strided
  graph, MPJPE loss, backward, the recipe's optimizer) at each recipe's batch size, alternated the
  same way over ``--train-steps`` steps a round: windows/s, training MFLOP per window (forward +
  backward, counted on one step) and GFLOP/s against the yardstick's; under 50% is flagged.
- ``test-set``: one whole-test-set evaluation (``gastbench.evaluate``, standard protocol, every
  frame, flip, random weights) per model and dataset, after a one-sequence warm-up; its own wall
  clock, not an estimate. Long: hours for the temporal models on Human3.6M.

Random weights throughout (speed does not depend on them). Every table names the commit, the
command and the machine; ``--markdown`` prints it as the README's table. On a shared machine
wall-clock numbers swing with the other processes: regenerate the README on an idle one.

    GASTBENCH_DATA=... python benchmarks/family_throughput.py --markdown
    GASTBENCH_DATA=... python benchmarks/family_throughput.py --table train --markdown
    GASTBENCH_DATA=... python benchmarks/family_throughput.py --table test-set --datasets h36m humaneva --markdown
    python benchmarks/family_throughput.py --dataset synthetic --models semgcn martinez --frames 2000
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import alternate, flops_per_frame, machine_line, predict_sequences  # noqa: E402
from _families import (  # noqa: E402
    YARDSTICK,
    Row,
    commit_label,
    default_models,
    missing_requirements,
    model_keypoints,
    print_table,
)  # fmt: skip

from gastbench.data import load_dataset  # noqa: E402
from gastbench.errors import ConfigError  # noqa: E402
from gastbench.evaluation import EvalOptions, evaluate  # noqa: E402
from gastbench.flop_count import flop_counter  # noqa: E402
from gastbench.lifter import Lifter  # noqa: E402
from gastbench.pretrained import resolve_lifter  # noqa: E402
from gastbench.training import WindowSampler, resolve_config  # noqa: E402
from gastbench.training.setup import build_lifter, loss_fn, make_optimizer, training_windows  # noqa: E402

EVAL_BAR, TRAIN_BAR = 0.8, 0.5


def _lifter(name: str, dataset: Any) -> Lifter:
    """``name`` with random weights, built for the dataset's 2D (at its native layout when inside it)."""
    lifter, _ = resolve_lifter(
        name, dataset=dataset.name, input=dataset.input, layout=dataset.layout_2d, random_init=True
    )
    return lifter.eval()


def _first_frames(dataset: Any, frames: int) -> list[np.ndarray]:
    """The first test sequences (in the dataset's order) totalling at least ``frames`` frames."""
    chosen, total = [], 0
    for seq in dataset.sequences("test", actions=dataset.actions("test")):
        if total >= frames:
            break
        chosen.append(np.asarray(seq.keypoints_2d, dtype=np.float32))
        total += chosen[-1].shape[0]
    return chosen


def _skip_reason(name: str, dataset: Any, training: bool = False) -> str | None:
    """Why ``name`` cannot run here (a missing requirement, an unsupported layout; with ``training``,
    a family ``gastbench train`` does not train), or None."""
    missing = missing_requirements(name)
    if missing:
        return f"needs {', '.join(missing)}"
    try:
        _lifter(name, dataset)
        if training:
            build_lifter(resolve_config(name, dataset.name, dataset.input), dataset)
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    return None


def _share(value: float, base: float) -> str:
    return f"{value / base:.0%}" if base > 0 else "n/a"


Table = tuple[list[str], list[Row], dict[str, Any]]  # header, rows, the numbers for --json


def eval_table(args: argparse.Namespace, dataset: Any, models: list[str]) -> Table:
    """The evaluator's rates, all models alternated in this process (module doc)."""
    keypoints = _first_frames(dataset, args.frames)
    frames = sum(k.shape[0] for k in keypoints)
    lifters = {name: _lifter(name, dataset) for name in models}
    inputs = {n: model_keypoints(keypoints, dataset.layout_2d, m.input_layout) for n, m in lifters.items()}
    mflop = {n: flops_per_frame(m) / 1e6 for n, m in lifters.items()}
    cpu = torch.device("cpu")
    sides: dict[str, Callable[[], object]] = {
        n: (lambda m=m, kp=inputs[n]: predict_sequences(m, kp, device=cpu)) for n, m in lifters.items()
    }
    timings, _ = alternate(sides, args.repeats)
    rate = {n: 2 * frames * mflop[n] / 1e3 / t.best_s for n, t in timings.items()}  # x2: the flipped copy
    base = rate.get(YARDSTICK, 0.0)
    header = ["model", "frames/s", "MFLOP/frame", "GFLOP/s", f"share of {YARDSTICK}'s GFLOP/s", "spread"]
    rows = []
    for n, t in timings.items():
        cells = (
            n,
            f"{frames / t.best_s:,.0f}",
            f"{mflop[n]:.1f}",
            f"{rate[n]:.1f}",
            _share(rate[n], base),
            f"{t.spread:.0%}",
        )
        rows.append(Row(cells, frozenset({4}) if base and rate[n] < EVAL_BAR * base else frozenset()))
    what = (
        f"{dataset.name} {dataset.input}, first {len(keypoints)} test sequences ({frames:,} frames) + flip, "
        f"best of {args.repeats}"
    )
    record = {
        n: {"frames_per_s": frames / t.best_s, "mflop_per_frame": mflop[n], "gflop_per_s": rate[n],
            "share": rate[n] / base if base else None, "spread": t.spread}
        for n, t in timings.items()
    }  # fmt: skip
    return header, rows, {"what": what, "frames": frames, "models": record}


def _train_side(name: str, args: argparse.Namespace, dataset: Any) -> tuple[Callable[[], object], int, float]:
    """``(run --train-steps steps, batch size, training FLOPs per window)`` of one model's recipe."""
    config = resolve_config(name, dataset.name, dataset.input)
    if args.train_subjects:
        config = config.with_overrides(train_subjects=list(args.train_subjects))
    lifter = build_lifter(config, dataset)
    windows = training_windows(config, dataset, lifter)
    optimizer = make_optimizer(config, lifter)
    loss = loss_fn(config.loss)
    size = config.batch_size
    plan = WindowSampler(len(windows), size, seed=0, flip=config.flip_augment).plan_epoch()
    starts = range(0, len(plan.index) - size + 1, size)[: max(1, args.train_steps)]
    batches = [(plan.index[s : s + size], plan.flip[s : s + size] if config.flip_augment else None) for s in starts]
    if len(batches) < args.train_steps:
        raise SystemExit(f"{name}: only {len(batches)} full batches of {size} windows; lower --train-steps")

    def step(index: torch.Tensor, flip: torch.Tensor | None) -> None:
        x, y = windows.gather(index, flip)
        value = loss(lifter(x, mode="strided").float(), y)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        if config.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(lifter.parameters(), config.grad_clip_norm)
        optimizer.step()

    lifter.train()
    x, y = windows.gather(*batches[0])
    with flop_counter() as counter:
        loss(lifter(x, mode="strided").float(), y).backward()  # forward + backward, as every step runs them
    lifter.zero_grad(set_to_none=True)
    return (lambda: [step(i, f) for i, f in batches]), config.batch_size, counter.get_total_flops() / config.batch_size


def train_table(args: argparse.Namespace, dataset: Any, models: list[str]) -> Table:
    """Training steps at each recipe's batch size, all models alternated in this process (module doc)."""
    sides, batch, flops = {}, {}, {}
    for name in models:
        sides[name], batch[name], flops[name] = _train_side(name, args, dataset)
    timings, _ = alternate(sides, args.repeats)
    windows_s = {n: args.train_steps * batch[n] / t.best_s for n, t in timings.items()}
    rate = {n: windows_s[n] * flops[n] / 1e9 for n in timings}
    base = rate.get(YARDSTICK, 0.0)
    header = ["model", "batch", "windows/s", "MFLOP/window", "GFLOP/s", f"share of {YARDSTICK}'s GFLOP/s", "spread"]
    rows = [
        Row((n, str(batch[n]), f"{windows_s[n]:,.0f}", f"{flops[n] / 1e6:.1f}", f"{rate[n]:.1f}", _share(rate[n], base),
             f"{t.spread:.0%}"), frozenset({5}) if base and rate[n] < TRAIN_BAR * base else frozenset())
        for n, t in timings.items()
    ]  # fmt: skip
    what = f"{dataset.name} {dataset.input} recipes, {args.train_steps} steps a round, best of {args.repeats}"
    record = {n: {"batch_size": batch[n], "windows_per_s": windows_s[n], "mflop_per_window": flops[n] / 1e6,
                  "gflop_per_s": rate[n], "share": rate[n] / base if base else None} for n in timings}  # fmt: skip
    return header, rows, {"what": what, "models": record}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def test_set_table(args: argparse.Namespace, models: list[str]) -> Table:
    """One row per model, one column per dataset: the wall time of a whole-test-set evaluation (frames/s)."""
    cells: dict[str, list[str]] = {model: [model] for model in models}
    header, record = ["model"], {}
    for name in args.datasets:
        dataset = load_dataset(name, args.input, args.data_dir)
        frames = None
        for model in models:
            reason = _skip_reason(model, dataset)
            if reason:
                cells[model].append(f"n/a ({reason})")
                continue
            lifter = _lifter(model, dataset)
            evaluate(lifter, dataset, EvalOptions(device="cpu", max_sequences=1), progress=False)  # warm-up
            result = evaluate(lifter, dataset, EvalOptions(device="cpu"), progress=False)
            wall, frames = float(result.wall_time_s or 0.0), int(result.frames_evaluated or 0)
            cells[model].append(f"{_duration(wall)} ({frames / wall:,.0f} frames/s)")
            record[f"{model}/{name}"] = {"frames": frames, "wall_time_s": wall, "frames_per_s": frames / wall}
            print(
                f"{model} on {name}: {frames:,} frames in {wall:,.1f} s", file=sys.stderr, flush=True
            )  # runs are long
        header.append(f"{name} test set" + (f" ({frames:,} frames)" if frames else ""))
    rows = [Row(tuple(c)) for c in cells.values()]
    return (
        header,
        rows,
        {"what": f"whole test sets ({args.input} 2D), standard protocol (every frame, flip)", "runs": record},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--table", choices=["eval", "train", "test-set"], default="eval", help="which table (module doc)"
    )
    parser.add_argument("--dataset", default="h36m", help="eval/train tables: dataset (h36m, humaneva, synthetic)")
    parser.add_argument("--datasets", nargs="+", default=["h36m", "humaneva"], help="test-set table: datasets")
    parser.add_argument("--input", default="gt", help="2D input of the dataset")
    parser.add_argument("--data-dir", default=None, help="dataset folder (default: $GASTBENCH_DATA)")
    parser.add_argument(
        "--models", nargs="+", default=None, help=f"default: {YARDSTICK} and one model per architecture"
    )
    parser.add_argument(
        "--frames", type=int, default=20_000, help="eval table: test frames (whole sequences, at least this many)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per model (best counts)")
    parser.add_argument("--train-steps", type=int, default=10, help="train table: training steps per round")
    parser.add_argument(
        "--train-subjects",
        nargs="*",
        default=None,
        help="train table: subjects whose windows are drawn (default: the recipe's)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (the process is a benchmark: set, not restored)"
    )
    parser.add_argument("--markdown", action="store_true", help="print the README's table (with commit and command)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    machine = machine_line()  # before the runs: the load they meet, not the load they make
    command = "python benchmarks/family_throughput.py " + shlex.join(sys.argv[1:])
    models = args.models or default_models()
    skipped: list[str] = []
    if args.table == "test-set":
        header, rows, info = test_set_table(args, models)
    else:
        dataset = load_dataset(args.dataset, args.input, args.data_dir)
        runnable = []
        for name in models:
            reason = _skip_reason(name, dataset, training=args.table == "train")
            (skipped.append(f"{name}: {reason}") if reason else runnable.append(name))
        build = eval_table if args.table == "eval" else train_table
        header, rows, info = build(args, dataset, runnable)
    info.update(
        commit=commit_label(), command=command, machine=machine, skipped=skipped, when=time.strftime("%Y-%m-%d")
    )
    if args.json:
        print(json.dumps(info, indent=2))
        return
    heading = f"commit `{info['commit']}`, {info['what']}; {info['machine']}; {info['when']}"
    print_table(heading, command, header, rows, args.markdown, skipped)


if __name__ == "__main__":
    main()
