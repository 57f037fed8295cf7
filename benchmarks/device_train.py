"""The training parts of benchmarks/device_run.py: training throughput, and the budget training run."""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from budget_plan import plan_budget
from device_common import (
    COMPILE_S,
    EpochBudget,
    PoseDataset,
    Reporter,
    TimeCap,
    WindowSampler,
    build_lifter,
    environment,
    loss_fn,
    overrides_for,
    precision,
    resolve_config,
    timed,
    train,
    training_windows,
)  # fmt: skip

TRAIN_RECIPES = ("gast-t27", "videopose3d-t243")
#: name -> (precision, channels-last, torch.compile mode or None); the order is the priority under a cap.
VARIANTS: dict[str, tuple[str, bool, str | None]] = {
    "eager-fp32": ("fp32", False, None),
    "eager-tf32": ("tf32", False, None),
    "amp-bf16": ("bf16", False, None),
    "amp-bf16-channels-last": ("bf16", True, None),
    "compile-cudagraphs-amp-bf16": ("bf16", False, "reduce-overhead"),  # launch overhead is the likely limit
    "compile-amp-bf16": ("bf16", False, "default"),
}
__all__ = ["RUN_FOLDER", "VARIANTS", "run_train", "run_train_throughput"]

#: The train part's run folder, inside --out: config, log, checkpoint, weights, result and card.
RUN_FOLDER = "train_run"
#: --tiny: small batches and few windows (every 32nd), so that an epoch takes a moment on a CPU.
TINY_TRAIN = {"batch_size": 16, "train_stride": 32}
#: --tiny: more epochs than its budget allows, so that the schedule is compressed as in a real run.
TINY_EPOCHS = 20


def _config(model: str, dataset: PoseDataset, device: torch.device, tiny: bool, **overrides: Any) -> Any:
    if tiny:
        overrides = {**TINY_TRAIN, **overrides}
    return resolve_config(model, dataset.name, dataset.input, device=str(device),
                          model_overrides=overrides_for(model, tiny), **overrides)  # fmt: skip


class _Stepper:
    """One training step of the loop's kind (gather -> strided forward -> loss -> backward -> Amsgrad)."""

    def __init__(self, config: Any, lifter: Any, windows: Any, device: torch.device, mode: str,
                 net: Any = None) -> None:  # fmt: skip
        self.config, self.lifter, self.windows, self.device, self.mode = config, lifter, windows, device, mode
        self.net = net if net is not None else lifter
        self.optimizer = torch.optim.Adam(lifter.parameters(), lr=config.lr, amsgrad=config.optimizer == "amsgrad")
        self.loss = loss_fn(config.loss)
        plan = WindowSampler(len(windows), config.batch_size, seed=config.seed, flip=config.flip_augment).plan_epoch()
        self.index, self.flip = plan.index.to(device), plan.flip.to(device)
        self.batch = min(config.batch_size, len(windows))
        self.batches = max(1, len(windows) // self.batch)

    def gather(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        sl = slice((k % self.batches) * self.batch, (k % self.batches + 1) * self.batch)
        return self.windows.gather(self.index[sl], self.flip[sl] if self.config.flip_augment else None)

    def step(self, k: int) -> None:
        x, y = self.gather(k)
        with precision(self.mode, self.device):
            pred = self.net(x, mode="strided")
        value = self.loss(pred.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        value.backward()
        self.optimizer.step()

    def run(self, steps: int, start: int = 0) -> float:
        seconds, _ = timed(lambda: [self.step(start + k) for k in range(steps)], self.device)
        return seconds


def _state_sha256(lifter: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(lifter.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# --- training throughput --------------------------------------------------------------------------
def _measure_variant(config: Any, init: dict, windows: Any, dataset: PoseDataset, device: torch.device,
                     variant: tuple[str, bool, str | None], warmup: int, steps: int) -> dict[str, Any]:  # fmt: skip
    mode, channels_last, compile_mode = variant
    cuda = device.type == "cuda"
    if compile_mode and not cuda:
        return {"skipped": "torch.compile is timed on CUDA only (CPU tracing takes minutes)"}
    lifter = build_lifter(config, dataset).to(device)
    lifter.load_state_dict(init)
    lifter.train()
    if channels_last:
        lifter = lifter.to(memory_format=torch.channels_last)
    net = None
    if compile_mode:
        net = torch.compile(lifter, mode=compile_mode)
    stepper = _Stepper(config, lifter, windows, device, mode, net)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    warm_s = stepper.run(warmup)
    step_s = stepper.run(steps, start=warmup)
    gather_s, _ = timed(lambda: [stepper.gather(k) for k in range(steps)], device)
    row = {"windows_per_s": steps * stepper.batch / step_s, "step_ms": 1e3 * step_s / steps,
           "gather_share": gather_s / step_s, "warmup_s": warm_s, "steps": steps,
           "compile": compile_mode}  # fmt: skip
    if cuda:
        row["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return row


def run_train_throughput(args: argparse.Namespace, dataset: PoseDataset, device: torch.device, rep: Reporter) -> dict:
    record: dict[str, Any] = {"part": "train-throughput", "env": environment(device, args.tiny), "recipes": {}}
    warmup, steps = (1, 2) if args.tiny else (5, 50)
    cap = TimeCap(args.caps["train-throughput"])
    last_s = 0.0
    for model in TRAIN_RECIPES:
        config = _config(model, dataset, device, args.tiny)
        torch.manual_seed(config.seed)
        lifter = build_lifter(config, dataset).to(device)
        init = copy.deepcopy(lifter.state_dict())
        build_s, windows = timed(
            lambda config=config, lifter=lifter: training_windows(config, dataset, lifter, device), device
        )
        entry: dict[str, Any] = {"recipe": config.recipe, "batch_size": config.batch_size, "windows": len(windows),
                                 "train_stride": config.train_stride, "epochs": config.epochs,
                                 "windows_build_s": build_s, "variants": {}}  # fmt: skip
        record["recipes"][model] = entry
        for name, variant in VARIANTS.items():
            compiled = variant[2] is not None and device.type == "cuda"
            if cap.over(f"{model}/{name}", record, rep, estimate_s=max(last_s, COMPILE_S if compiled else 0.0)):
                continue
            try:
                row = _measure_variant(config, init, windows, dataset, device, variant, warmup, steps)
            except Exception as exc:  # e.g. a compile mode this torch build lacks: record it, measure the rest
                row = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            entry["variants"][name] = row
            if "windows_per_s" in row:
                last_s = row["warmup_s"] + row["step_ms"] * steps / 1e3
                epoch_s = len(windows) / row["windows_per_s"]
                row["epoch_s"], row["recipe_minutes"] = epoch_s, epoch_s * config.epochs / 60
                rep.log(
                    f"train {model} {name}: {row['windows_per_s']:,.0f} windows/s ({row['step_ms']:.2f} ms/step, "
                    f"gather {row['gather_share']:.1%}), {config.epochs} epochs = {row['recipe_minutes']:.1f} min"
                )
            else:
                rep.log(f"train {model} {name}: {row}")
            rep.write("train_throughput", record)
        del windows
    record["complete"] = True
    rep.write("train_throughput", record)
    return record


# --- the budget training run ----------------------------------------------------------------------
def _deterministic() -> None:
    # warn_only: an op without a deterministic kernel is named in the log instead of aborting the run.
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False


def _probe(config: Any, dataset: PoseDataset, device: torch.device, steps: int) -> dict[str, Any]:
    """Seconds per step of the run's own settings, measured twice from the same seed (bitwise-repeat check)."""
    shas, rates, windows = [], [], None
    for _ in range(2):
        torch.manual_seed(config.seed)
        lifter = build_lifter(config, dataset).to(device).train()
        windows = windows or training_windows(config, dataset, lifter, device)
        torch.manual_seed(config.seed)
        stepper = _Stepper(config, lifter, windows, device, "bf16" if config.amp else "fp32")
        stepper.run(1)
        rates.append(steps * stepper.batch / stepper.run(steps, start=1))
        shas.append(_state_sha256(lifter))
    return {"windows": len(windows), "steps_per_epoch": -(-len(windows) // config.batch_size),
            "windows_per_s": max(rates), "steps": steps + 1, "sha256": shas,
            "bitwise_repeatable": shas[0] == shas[1]}  # fmt: skip


def run_train(args: argparse.Namespace, dataset: PoseDataset, device: torch.device, rep: Reporter) -> dict:
    """The budget run in deterministic mode; the process's settings come back after it (parts run after it)."""
    cudnn = torch.backends.cudnn
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              cudnn.deterministic, cudnn.benchmark)  # fmt: skip
    _deterministic()
    try:
        return _budget_run(args, dataset, device, rep)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        cudnn.deterministic, cudnn.benchmark = before[2], before[3]


def _budget_run(args: argparse.Namespace, dataset: PoseDataset, device: torch.device, rep: Reporter) -> dict:
    budget = EpochBudget(args.train_seconds, safety=1.15)
    cuda = device.type == "cuda"
    base = _config(args.train_model, dataset, device, args.tiny, amp=cuda, validate_every=0, seed=0,
                   runs_dir=str(args.out), run_name=RUN_FOLDER,
                   epochs=TINY_EPOCHS if args.tiny else None)  # fmt: skip
    deterministic = {"use_deterministic_algorithms": True, "cudnn_deterministic": True,
                     "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}  # fmt: skip
    record: dict[str, Any] = {"part": "train", "env": environment(device, args.tiny), "budget_s": budget.max_seconds,
                              "deterministic": deterministic}  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probe = _probe(base, dataset, device, steps=3 if args.tiny else 40)
        record["probe"] = probe
        # The final evaluation (test split at the training frame rate) and the writing of the run
        # folder come after the last epoch: keep their time out of the epochs' share.
        reserve_s = 2.0 if args.tiny else 25.0
        seconds_per_epoch = probe["windows"] / probe["windows_per_s"] * 1.05
        left_s = max(0.0, budget.remaining() - reserve_s)
        if seconds_per_epoch * budget.safety > left_s:
            # The library trains at least one epoch whatever the budget; here the budget is a promise
            # about how long the whole script takes, so the part stops with the reason instead.
            record["skipped"] = (f"one epoch needs ~{seconds_per_epoch:.0f} s (x{budget.safety} safety) at "
                                 f"{probe['windows_per_s']:,.0f} windows/s; {left_s:.0f} s of the budget are left: "
                                 f"raise --train-minutes")  # fmt: skip
            rep.log(f"train: skipped: {record['skipped']}")
            rep.write("train", record)
            return record
        config, plan = plan_budget(base, left_s, seconds_per_epoch, safety=budget.safety,
                                   steps_per_epoch=probe["steps_per_epoch"])  # fmt: skip
        record["plan"] = plan.to_dict()
        rep.log(f"train: probe {probe['windows_per_s']:,.0f} windows/s, repeatable {probe['bitwise_repeatable']}; "
                f"{plan.epochs} epoch(s) of ~{seconds_per_epoch:.1f} s; deviation: {plan.deviation}")  # fmt: skip
        rep.write("train", record)
        command = (f"python benchmarks/device_run.py --parts train --train-model {args.train_model} "
                   f"--train-minutes {budget.max_seconds / 60:g}{' --tiny' if args.tiny else ''}")  # fmt: skip
        result = train(config, dataset=dataset, progress=False, final_eval=True, write_card=True, command=command,
                       log=rep.log)  # fmt: skip
    messages: dict[str, int] = {}
    for w in caught:  # one line per distinct warning (a nondeterministic op warns on every call)
        key = f"{w.category.__name__}: {w.message}"[:300]
        messages[key] = messages.get(key, 0) + 1
    record["warnings"] = messages
    for message in messages:
        rep.log(f"warning during training: {message}")
    record.update(_collect(result, args.out, budget, rep))
    record["complete"] = True
    rep.write("train", record)
    return record


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _collect(result: Any, out: Path, budget: EpochBudget, rep: Reporter) -> dict[str, Any]:
    """What the run left in its folder (paths relative to ``out``), the weights' sha256, and the metrics."""
    run_dir = Path(result.run_dir)
    weights = Path(result.weights_path)
    sha = _file_sha256(weights)
    avg = result.result.average_over_actions if result.result is not None else None
    card = Path(result.card_path).read_text(encoding="utf-8") if result.card_path else None
    rep.log(f"train: {weights.relative_to(out)}: {weights.stat().st_size:,} bytes, sha256 {sha}")
    return {
        "history": result.history,
        "wall_time_s": result.wall_time_s,
        "budget_used_s": budget.elapsed(),
        "final_mpjpe_mm": avg.mpjpe_mm if avg else None,
        "final_p_mpjpe_mm": avg.p_mpjpe_mm if avg else None,
        "run_dir": str(run_dir.relative_to(out)),
        "weights": {"file": str(weights.relative_to(out)), "bytes": weights.stat().st_size, "sha256": sha},
        "config_file": str((run_dir / "config.json").relative_to(out)),
        "card_toml": card,
        "notes": result.notes,
    }
