"""The GPU benchmark: parity with the CPU, evaluation and training throughput, a budgeted training run.

    python benchmarks/device_run.py --out runs/gpu-bench                  # every part, Human3.6M gt, CUDA
    python benchmarks/device_run.py --out /tmp/gpu-check --tiny           # CPU check on synthetic data
    python benchmarks/device_run.py --out runs/gpu-bench --parts parity,train --train-minutes 60

Parts (each rewrites ``<part>.json`` in ``--out`` after every measurement, so a run stopped early
keeps what it measured; every line also goes to ``device_run.log``):

- ``parity``: random weights (BatchNorm statistics randomized) on a few test sequences, CPU fp32
  against CUDA fp32, TF32 and bf16 autocast: largest prediction difference (m), metric differences (mm).
- ``train``: a deterministic run of ``--train-model`` sized to ``--train-minutes`` (the paper's
  recipe, its learning-rate schedule compressed to the epochs that fit); its run folder, weights
  and card go to ``<out>/train_run/``. Skipped with the reason when not even one epoch fits.
- ``eval-throughput``: test sequences (every frame, flip) per model, fp32 / TF32 / bf16, eager
  and ``torch.compile``; FLOPs per frame over the measured matmul rate of the same precision.
- ``train-throughput``: windows/s of the papers' Human3.6M recipes, eager / TF32 / AMP /
  channels-last / compile, and the window gather's share of a step.

CUDA-only measurements are recorded as ``{"skipped": reason}`` on a machine without CUDA.
benchmarks/DEVICE.md explains the files and how to size a run to a time budget.
"""

from __future__ import annotations

import os

# cuBLAS needs this before CUDA starts for deterministic matmuls (the train part).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules, wherever this runs from
from device_common import (  # noqa: E402
    COMPILE_S,
    NO_CUDA,
    PRECISIONS,
    EvalOptions,
    Lifter,
    PoseDataset,
    Reporter,
    TimeCap,
    environment,
    evaluate,
    load_dataset,
    precision,
    predict_sequences,
    random_lifter,
    resolve_device,
    sync,
    timed,
)  # fmt: skip
from device_train import run_train, run_train_throughput  # noqa: E402

from gastbench.flop_count import flops_per_frame as count_flops_per_frame  # noqa: E402

#: In the order they run: the quick correctness check first, then training (the longest part and the
#: only one that leaves an artefact) before the throughput figures, so a run stopped early has its weights.
PARTS = ("parity", "train", "eval-throughput", "train-throughput")
#: Parts whose measurements a time cap may cut (the train part has its own budget, --train-minutes).
CAPPED_PARTS = ("parity", "eval-throughput", "train-throughput")
PARITY_MODELS = ("gast-t27", "gast-t81", "videopose3d-t243", "martinez", "semgcn")
EVAL_MODELS = ("gast-t27", "gast-t81", "videopose3d-t243")
#: Test sequences timed per model by default: a rate needs steady state, not every frame, and each
#: variant of each model is timed over all of them (--eval-max-sequences 0 times the whole split).
EVAL_SEQUENCES = 16
#: The train part's default budget; the paper's full schedule takes hours on one GPU.
TRAIN_MINUTES = 30.0
#: --tiny: a budget of seconds, enough for a few epochs of the tiny model on synthetic data.
TINY_TRAIN_SECONDS = 8.0


# --- parity ---------------------------------------------------------------------------------------
def _eval_once(lifter: Lifter, dataset: PoseDataset, device: str, mode: str, sequences: int, tmp: Path) -> dict:
    path = tmp / f"pred-{device.replace(':', '')}-{mode}.npz"
    options = EvalOptions(device=device, subjects=(dataset.subjects("test")[0],), max_sequences=sequences,
                          save_predictions=path)  # fmt: skip
    with precision(mode, torch.device(device)):
        result = evaluate(lifter, dataset, options, progress=False)
    with np.load(path) as saved:
        preds = {k: saved[k] for k in saved.files if k.startswith("pred/")}
    avg = result.average_over_actions
    metrics = {"mpjpe_mm": avg.mpjpe_mm, "p_mpjpe_mm": avg.p_mpjpe_mm, "n_mpjpe_mm": avg.n_mpjpe_mm,
               "mpjve_mm": avg.mpjve_mm}  # fmt: skip
    return {"preds": preds, "metrics": metrics, "frames": result.frames_evaluated}


def _difference(ref: dict, other: dict) -> dict[str, Any]:
    max_m = max(float(np.abs(ref["preds"][k] - other["preds"][k]).max()) for k in ref["preds"])
    metric_mm = {k: abs(v - other["metrics"][k]) for k, v in ref["metrics"].items() if v is not None}
    return {"max_abs_prediction_m": max_m, "metric_abs_diff_mm": metric_mm,
            "max_metric_abs_diff_mm": max(metric_mm.values())}  # fmt: skip


def run_parity(args: argparse.Namespace, dataset: PoseDataset, device: torch.device, rep: Reporter) -> dict:
    record: dict[str, Any] = {"part": "parity", "env": environment(device, args.tiny),
                              "sequences": args.parity_sequences,
                              "tolerance": {"prediction_m": 1e-4, "metric_mm": 0.01}, "models": {}}  # fmt: skip
    cap = TimeCap(args.caps["parity"])
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for model in args.parity_models:
            if cap.over(model, record, rep):
                continue
            lifter = random_lifter(model, dataset, args.tiny)
            ref = _eval_once(lifter, dataset, "cpu", "fp32", args.parity_sequences, tmp)
            row: dict[str, Any] = {"frames": ref["frames"], "cpu_fp32_metrics": ref["metrics"]}
            # Without CUDA the comparison still runs: how far bf16 autocast moves the CPU numbers.
            variants = [(str(device), m) for m in PRECISIONS] if device.type == "cuda" else [("cpu", "bf16")]
            if device.type != "cuda":
                row["cuda"] = NO_CUDA
            for where, mode in variants:
                key = f"{where.split(':')[0]}-{mode}"
                try:
                    row[key] = _difference(ref, _eval_once(lifter, dataset, where, mode, args.parity_sequences, tmp))
                except Exception as exc:  # e.g. a layer that autocast breaks: a finding, not the end of the part
                    row[key] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            if "cuda-fp32" in row:
                fp32 = row["cuda-fp32"]
                ok_m = fp32.get("max_abs_prediction_m", 1.0) <= 1e-4  # an error entry fails
                row["pass"] = ok_m and fp32.get("max_metric_abs_diff_mm", 1.0) <= 0.01
            record["models"][model] = row
            rep.log(f"parity {model}: " + ", ".join(
                f"{k} {v['max_abs_prediction_m']:.2e} m / {v['max_metric_abs_diff_mm']:.4f} mm" if "error" not in v
                else f"{k} {v['error']}"
                for k, v in row.items() if isinstance(v, dict) and k != "cpu_fp32_metrics"))  # fmt: skip
            rep.write("parity", record)
    record["complete"] = True
    rep.write("parity", record)
    return record


# --- evaluation throughput ------------------------------------------------------------------------
def flops_per_frame(lifter: Lifter) -> float:
    """:func:`gastbench.flop_count.flops_per_frame`, counted on CPU (fp32): the figure the CPU tables quote,
    whatever kernels the accelerator picks. The lifter goes back to the device it came from."""
    device = next(lifter.parameters()).device
    lifter.to("cpu")
    try:
        return count_flops_per_frame(lifter)
    finally:
        lifter.to(device)


def matmul_tflops(device: torch.device, mode: str, n: int, reps: int) -> float:
    dtype = torch.bfloat16 if mode == "bf16" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    with precision("tf32" if mode == "tf32" else "fp32", device):
        a @ b
        seconds, _ = timed(lambda: [a @ b for _ in range(reps)], device)
    return 2 * n**3 * reps / seconds / 1e12


def _top_ops(lifter: Lifter, keypoints: list[np.ndarray], device: torch.device, mode: str) -> list[dict]:
    """Where one evaluation pass spends its time: the ten ops with the most self time."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof, precision(mode, device):
        predict_sequences(lifter, keypoints, device=device)
        sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total = sum(getattr(e, attr) for e in events) or 1.0
    events.sort(key=lambda e: getattr(e, attr), reverse=True)
    return [{"op": e.key, "self_ms": getattr(e, attr) / 1e3, "share": getattr(e, attr) / total, "calls": e.count}
            for e in events[:10]]  # fmt: skip


def _module_shares(lifter: Lifter, keypoints: list[np.ndarray], device: torch.device, mode: str) -> dict[str, Any]:
    """Time per block type (synchronized hooks): are GAST-Net's graph layers the bottleneck?

    Layers that the model runs through their weights (GAST-Net's temporal convolutions are GEMMs on
    ``conv.weight``) call no hook: their time is the ``outside hooked blocks`` remainder.
    """
    blocks = [m for _, child in lifter.named_children()
              for m in (child if isinstance(child, (nn.ModuleList, nn.Sequential)) else [child])]  # fmt: skip
    seconds: dict[str, float] = {}
    started: dict[int, float] = {}

    def before(module: nn.Module, _args: Any) -> None:
        sync(device)
        started[id(module)] = time.perf_counter()

    def after(module: nn.Module, _args: Any, _out: Any) -> None:
        sync(device)
        name = type(module).__name__
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started.pop(id(module))

    def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            sync(device)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync(device)
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

        return staticmethod(wrapper)

    handles = [h for m in blocks for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    # A fused eval path (GAST-Net's) runs a block as ``type(block).fused(folded, x)``, which calls no
    # hook: time that static method instead, for the length of the measurement.
    fused = {type(m) for m in blocks if isinstance(getattr(type(m), "__dict__", {}).get("fused"), staticmethod)}
    originals = {cls: cls.__dict__["fused"] for cls in fused}
    try:
        for cls, original in originals.items():
            cls.fused = timing(f"{cls.__name__} (fused)", original.__func__)
        with precision(mode, device):
            total, _ = timed(lambda: predict_sequences(lifter, keypoints, device=device), device)
    finally:
        for handle in handles:
            handle.remove()
        for cls, original in originals.items():
            cls.fused = original
    seconds["outside hooked blocks"] = max(0.0, total - sum(seconds.values()))
    return {"total_s": total, "share": {k: v / total for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])}}


def run_eval_throughput(args: argparse.Namespace, dataset: PoseDataset, device: torch.device, rep: Reporter) -> dict:
    cuda = device.type == "cuda"
    seqs = dataset.sequences("test", actions=dataset.actions("test"))[: args.eval_max_sequences or None]
    keypoints = [np.asarray(s.keypoints_2d, dtype=np.float32)[: args.eval_max_frames] for s in seqs]
    frames = sum(k.shape[0] for k in keypoints)
    n, reps = (8192, 20) if cuda else (256, 3)
    rates = {mode: matmul_tflops(device, mode, n, reps) for mode in PRECISIONS}
    record: dict[str, Any] = {"part": "eval-throughput", "env": environment(device, args.tiny), "sequences": len(seqs),
                              "frames": frames, "flip": True, "matmul_tflops": rates, "matmul_n": n,
                              "models": {}}  # fmt: skip
    rep.log(f"eval-throughput: {len(seqs)} sequences, {frames} frames; matmul TFLOP/s "
            + ", ".join(f"{k} {v:.3g}" for k, v in rates.items()))  # fmt: skip
    cap = TimeCap(args.caps["eval-throughput"])
    lifters = {m: random_lifter(m, dataset, args.tiny) for m in args.eval_models}
    for model, lifter in lifters.items():
        record["models"][model] = {"flops_per_frame": flops_per_frame(lifter), "parameters": lifter.num_parameters(),
                                   "receptive_field": lifter.receptive_field, "runs": {}}  # fmt: skip
    last_s = 0.0
    # Eager runs of every model first, then compiled ones: a cap cuts the least important numbers.
    for compiled in (False, True):
        for model, lifter in lifters.items():
            row = record["models"][model]
            for mode in PRECISIONS if not compiled else ("tf32", "bf16"):
                key = f"{'compile' if compiled else 'eager'}-{mode}"
                if compiled and not cuda:
                    row["runs"][key] = {"skipped": "torch.compile is timed on CUDA only (CPU tracing takes minutes)"}
                    continue
                if cap.over(f"{model}/{key}", record, rep, estimate_s=max(last_s, COMPILE_S if compiled else 0.0)):
                    continue
                lifter = lifter.to(device)
                net = torch.compile(lifter) if compiled else lifter
                try:
                    with precision(mode, device):
                        warm_s, _ = timed(lambda net=net: predict_sequences(net, keypoints[:1], device=device), device)
                        run_s, _ = timed(lambda net=net: predict_sequences(net, keypoints, device=device), device)
                except Exception as exc:  # recorded (e.g. autocast breaking a layer); the other variants go on
                    row["runs"][key] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                    rep.log(f"eval {model} {key}: {row['runs'][key]['error']}")
                    rep.write("eval_throughput", record)
                    continue
                achieved = 2 * frames * row["flops_per_frame"] / run_s / 1e12  # x2: the flipped copy
                rate = rates[mode]
                row["runs"][key] = {"frames_per_s": frames / run_s, "seconds": run_s, "warmup_s": warm_s,
                                    "achieved_tflops": achieved, "fraction_of_floor": achieved / rate,
                                    "x_of_floor": rate / achieved}  # fmt: skip
                last_s = run_s + warm_s
                rep.log(f"eval {model} {key}: {frames / run_s:,.0f} frames/s, {achieved:.2f} TFLOP/s = "
                        f"{achieved / rate:.1%} of the {mode} matmul rate (warm-up {warm_s:.1f} s)")  # fmt: skip
                rep.write("eval_throughput", record)
    for model, lifter in lifters.items():
        if cap.over(f"{model}/profile", record, rep):
            continue
        lifter.to(device)  # a model whose every run was skipped is still where it was built
        mode = "tf32" if cuda else "fp32"  # bf16 autocast would time the plain path, not the fused one
        for key, probe in (("top_ops", _top_ops), ("block_shares", _module_shares)):
            try:
                found: Any = probe(lifter, keypoints[:8], device, mode)
            except Exception as exc:
                found = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            record["models"][model][key] = {"precision": mode, "result": found}
        shares = record["models"][model]["block_shares"]["result"].get("share", {})
        rep.log(f"eval {model} time by block ({mode}): " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
        rep.write("eval_throughput", record)
    record["complete"] = True
    rep.write("eval_throughput", record)
    return record


# --- driver ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the log, the JSON files and the training run; new or empty")  # fmt: skip
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--tiny", action="store_true", help="CPU check: synthetic data, shrunken models, few steps")
    parser.add_argument("--dataset", default=None, help="default: h36m (synthetic with --tiny)")
    parser.add_argument("--data-dir", default=None, help="dataset folder (default: $GASTBENCH_DATA)")
    parser.add_argument("--device", default="auto", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--parity-sequences", type=int, default=2, help="test sequences compared per model")
    parser.add_argument("--eval-max-sequences", type=int, default=None,
                        help=f"test sequences timed per model (default {EVAL_SEQUENCES}, 2 with --tiny; "
                             "0: the whole test split)")  # fmt: skip
    parser.add_argument("--eval-max-frames", type=int, default=None,
                        help="frames per timed sequence (default: all; 64 with --tiny)")  # fmt: skip
    parser.add_argument("--train-model", default="gast-t27", help="the model the train part trains")
    parser.add_argument("--train-minutes", type=float, default=None,
                        help=f"wall-clock budget of the train part, probe and final evaluation included "
                             f"(default {TRAIN_MINUTES:g}; {TINY_TRAIN_SECONDS:g} s with --tiny)")  # fmt: skip
    for part in CAPPED_PARTS:
        parser.add_argument(
            f"--cap-{part}",
            type=float,
            default=None,
            metavar="SECONDS",
            help=f"start no new {part} measurement after this many seconds (default: no cap)",
        )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; parts: {', '.join(PARTS)}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"--out {args.out} is not a new or empty folder (the run overwrites nothing)")
    if args.train_minutes is not None and not args.train_minutes > 0:
        parser.error(f"--train-minutes must be positive, got {args.train_minutes:g}")
    args.parts = [p for p in PARTS if p in parts]
    args.dataset = args.dataset or ("synthetic" if args.tiny else "h36m")
    args.caps = {part: getattr(args, f"cap_{part.replace('-', '_')}") for part in CAPPED_PARTS}
    if args.train_minutes is not None:
        args.train_seconds = 60.0 * args.train_minutes
    else:
        args.train_seconds = TINY_TRAIN_SECONDS if args.tiny else 60.0 * TRAIN_MINUTES
    args.parity_models, args.eval_models = PARITY_MODELS, EVAL_MODELS
    if args.eval_max_sequences is None:
        args.eval_max_sequences = 2 if args.tiny else EVAL_SEQUENCES
    if args.tiny:  # short sequences, one of them for parity
        args.eval_max_frames = args.eval_max_frames or 64
        args.parity_sequences = min(args.parity_sequences, 1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.tiny:  # the CPU check runs beside other work: one thread does not fight for the cores
        torch.set_num_threads(1)
    rep = Reporter(args.out)
    warnings.showwarning = lambda msg, cat, *_a, **_k: rep.log(f"warning: {cat.__name__}: {msg}")
    device = resolve_device(args.device)
    name = environment(device, args.tiny)["device"]
    rep.log(f"device_run {' '.join(args.parts)} on {name}, torch {torch.__version__}")
    started = time.perf_counter()
    dataset = load_dataset(args.dataset, "gt", args.data_dir)
    rep.log(f"loaded {dataset.name} ({dataset.input}) in {time.perf_counter() - started:.1f} s")
    runners = {"parity": run_parity, "eval-throughput": run_eval_throughput,
               "train-throughput": run_train_throughput, "train": run_train}  # fmt: skip
    failed = []
    for part in args.parts:
        part_started = time.perf_counter()
        try:
            runners[part](args, dataset, device, rep)
        except Exception as exc:  # one broken part must not cost the others their device time
            failed.append(part)
            rep.log(f"part {part} FAILED: {type(exc).__name__}: {exc}")
            rep.log(traceback.format_exc())
        rep.log(f"part {part} took {time.perf_counter() - part_started:.1f} s")
    rep.log(f"done in {time.perf_counter() - started:.1f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
