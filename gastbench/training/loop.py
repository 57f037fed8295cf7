"""The training loop: windows -> strided graph -> loss -> optimizer, per-epoch checkpoint and log.

Outputs in ``runs/<run>/``: ``config.json`` (the resolved config), ``log.jsonl`` (one line per
epoch), ``checkpoint.pt`` (every epoch; resumable), ``weights.safetensors`` and the
rest of the finished run folder come from :mod:`gastbench.training.finish`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import ConfigError, WeightsError
from ..process_state import process_state_restored
from ..progress import progress_bar
from ..run_folder import CHECKPOINT, CONFIG, LOG, SUMMARY, WEIGHTS, mark_run_folder, prepare_run_dir, record_written
from .budget import EpochBudget, out_of_budget
from .checkpoint import capture_rng, check_resume_config, load_checkpoint, restore_rng, rewrite_log, save_checkpoint
from .config import TrainConfig
from .distributed import DistContext, all_reduce_sum, barrier, init_distributed
from .finish import finish_run, state_dict_cpu
from .presets import default_recipe_note
from .result import TrainResult
from .sampler import WindowSampler
from .schedule import LrScheduler, bn_momentum_at
from .setup import build_lifter, loss_fn, make_optimizer, set_bn_momentum, set_seed, training_windows

if TYPE_CHECKING:
    from ..data import PoseDataset
    from ..pretrained import WeightsInfo
    from ..results import EvalResult

__all__ = ["TrainResult", "train"]


class _Trainer:
    """One run's state; :func:`train` drives it."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: PoseDataset,
        ctx: DistContext,
        progress: bool,
        log: Callable[[str], None],
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.ctx = ctx
        self.progress = progress and ctx.is_main
        self.log = log if ctx.is_main else (lambda _msg: None)
        self.run_dir = config.run_dir
        if config.amp and ctx.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(f"--amp uses bfloat16, which {torch.cuda.get_device_name(ctx.device)} does not support")
        set_seed(config.seed)
        self.lifter = build_lifter(config, dataset).to(ctx.device)
        self.windows = training_windows(config, dataset, self.lifter, ctx.device)
        self.sampler = WindowSampler(
            len(self.windows),
            config.batch_size,
            seed=config.seed,
            flip=config.flip_augment,
            rank=ctx.rank,
            world_size=ctx.world_size,
        )
        self.optimizer = make_optimizer(config, self.lifter)
        self.scheduler = LrScheduler(self.optimizer, config)
        self.loss = loss_fn(config.loss)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        model: nn.Module = self.lifter
        if ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel

            model = DistributedDataParallel(
                self.lifter, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
            )
        self.model: Any = torch.compile(model) if config.compile else model
        # Dropout draws from the global torch RNG: give every rank its own stream (rank 0's is the
        # one-process stream), so ranks do not drop the same units for different samples.
        if ctx.rank:
            torch.manual_seed(config.seed + 1_000_003 * ctx.rank)
        self.layout_out = self.lifter.output_layout

    # --- checkpoint ----------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def gather_rng(self) -> list[dict[str, Any]]:
        """Every rank's RNG states (a collective: all ranks call it); one process: its own."""
        state = capture_rng()
        if not self.ctx.enabled:
            return [state]
        import torch.distributed as dist

        states: list[Any] = [None] * self.ctx.world_size
        dist.all_gather_object(states, state)
        return states

    def save(self, rng_states: list[dict[str, Any]]) -> None:
        save_checkpoint(
            self.checkpoint_path,
            {
                "epoch": self.epoch,
                "model": state_dict_cpu(self.lifter),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "sampler": self.sampler.state_dict(),
                "rng": rng_states[0],
                "rng_per_rank": rng_states,
                "config": self.config.to_dict(),
            },
        )

    def resume(self) -> None:
        from ..checkpoint import load_state_dict_strict

        state = load_checkpoint(self.checkpoint_path)
        try:
            load_state_dict_strict(self.lifter, state["model"], origin=str(self.checkpoint_path))
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.sampler.load_state_dict(state["sampler"])
            per_rank = state.get("rng_per_rank") or [state["rng"]]
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
            why = " ".join(str(exc).split())  # torch's refusals span several lines
            raise WeightsError(
                f"checkpoint {self.checkpoint_path} does not fit this run ({type(exc).__name__}: {why[:300]}); "
                "resume it with the settings it was written with, or start a new run"
            ) from None
        if len(per_rank) != self.ctx.world_size:
            self.log(
                f"warning: checkpoint written by {len(per_rank)} process(es), resumed by {self.ctx.world_size}: "
                "the run continues, but not bitwise as it would have"
            )
        restore_rng(per_rank[self.ctx.rank % len(per_rank)])
        self.epoch = int(state["epoch"])
        if self.ctx.is_main:
            self.history = rewrite_log(self.run_dir / LOG, self.epoch)
        self.log(f"resumed {self.run_dir} after epoch {self.epoch}/{self.config.epochs}")

    # --- one epoch -----------------------------------------------------------------
    def _autocast(self) -> Any:
        if not self.config.amp:
            return nullcontext()
        return torch.autocast(device_type=self.ctx.device.type, dtype=torch.bfloat16)

    def train_epoch(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.bn_momentum is not None:
            set_bn_momentum(self.lifter, bn_momentum_at(self.epoch, cfg.epochs, *cfg.bn_momentum))
        self.lifter.train()
        plan = self.sampler.plan_epoch()
        index = plan.index.to(self.ctx.device)
        flips = plan.flip.to(self.ctx.device)
        lr = self.scheduler.lr
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.ctx.device)
        count = torch.zeros((), dtype=torch.float64, device=self.ctx.device)
        started = time.perf_counter()
        bar = progress_bar(self.progress, elapsed=True, info=True)
        task = bar.add_task(f"epoch {self.epoch + 1}/{cfg.epochs}", total=len(plan), info="")
        with bar:
            for step, start in enumerate(range(0, len(index), plan.batch_size)):
                idx = index[start : start + plan.batch_size]
                x, y = self.windows.gather(idx, flips[start : start + plan.batch_size] if cfg.flip_augment else None)
                with self._autocast():
                    pred = self.model(x, mode="strided")
                loss = self.loss(pred.float(), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip_norm is not None:
                    nn.utils.clip_grad_norm_(self.lifter.parameters(), cfg.grad_clip_norm)
                self.optimizer.step()
                self.scheduler.step_batch()
                loss_sum += loss.detach().double() * len(idx)
                count += len(idx)
                if self.progress and step % 20 == 0:
                    bar.update(task, completed=step + 1, info=f"loss {self._loss_display(loss.item()):.2f}")
            bar.update(task, completed=len(plan))
        all_reduce_sum(loss_sum, self.ctx)
        all_reduce_sum(count, self.ctx)
        elapsed = time.perf_counter() - started
        self.scheduler.step_epoch()
        self.epoch += 1
        samples = int(count.item())
        return {
            "epoch": self.epoch,
            "loss": float((loss_sum / count.clamp(min=1)).item()),
            "loss_unit": "m" if cfg.loss == "mpjpe" else "m^2",
            "lr": lr,
            "bn_momentum": self.lifter_bn_momentum(),
            "samples": samples,
            "steps": len(plan),
            "time_s": round(elapsed, 3),
            "samples_per_s": round(samples / elapsed, 1) if elapsed > 0 else None,
        }

    def lifter_bn_momentum(self) -> float | None:
        for module in self.lifter.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                return module.momentum
        return None

    def _loss_display(self, loss: float) -> float:
        return loss * 1000.0 if self.config.loss == "mpjpe" else loss

    # --- validation (log only) -----------------------------------------------------------
    def evaluate(self, weights: WeightsInfo | None = None, progress: bool = False) -> EvalResult:
        """Evaluate the current weights under the same stride rule as ``gastbench eval`` (every frame scored,
        each lifted from video at the training stride)."""
        from ..evaluation import EvalOptions, evaluate

        options = EvalOptions.for_weights(
            weights,
            train_stride=self.config.train_stride,
            device=str(self.ctx.device),
            flip=self.config.eval_flip,
            subjects=tuple(self.config.test_subjects) if self.config.test_subjects else None,
        )
        return evaluate(self.lifter, self.dataset, options, weights, progress=progress)

    def log_epoch(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        with open(self.run_dir / LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        unit = "mm" if self.config.loss == "mpjpe" else "(mse)"
        line = (
            f"epoch {row['epoch']}/{self.config.epochs}  loss {self._loss_display(row['loss']):.3f} {unit}  "
            f"lr {row['lr']:.3e}  {row['time_s']:.1f} s  {row['samples_per_s'] or 0:.0f} samples/s"
        )
        if row.get("val_mpjpe_mm") is not None:
            line += f"  val MPJPE {row['val_mpjpe_mm']:.2f} mm  P-MPJPE {row['val_p_mpjpe_mm']:.2f} mm"
        self.log(line)


_LOG = logging.getLogger("gastbench.training")


def train(
    config: TrainConfig,
    *,
    dataset: PoseDataset | None = None,
    resume: bool = False,
    progress: bool = True,
    final_eval: bool = True,
    write_card: bool = True,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
    overwrite: bool = False,
    max_minutes: float | None = None,
    on_epoch_end: Callable[[int], bool] | None = None,
) -> TrainResult:
    """Train ``config.model`` with ``config``'s recipe; write the run folder; return what it produced.

    Args:
        config: the resolved settings (see :func:`gastbench.training.resolve_config`).
        dataset: an already loaded dataset (else ``load_dataset(config.dataset, config.input, config.data_dir)``).
        resume: continue from ``runs/<run>/checkpoint.pt`` (the result equals an uninterrupted run).
        progress: show a progress bar per epoch.
        final_eval: evaluate the final weights on the test split and save the result record.
        write_card: write a zoo card for the final weights into the run folder.
        command: the command line recorded in the card (default: this process's argv).
        log: where the per-epoch lines go (default: the ``gastbench.training`` logger, at INFO).
        overwrite: replace an existing run folder (else a non-empty one is refused).
        max_minutes: wall-clock budget: after an epoch, stop when another one (at that epoch's
            time, plus 10%) would not end inside it; the run then finishes normally with the epochs
            done, and its config and card say how many (a deviation from the recipe).
        on_epoch_end: called with the epoch number once its checkpoint is written; returning True
            stops the run there, as if killed (no weights until a later ``resume=True`` call ends it).

    The run seeds the global generators and sets ``config.num_threads`` for itself; the caller's
    generators and thread count are restored when it returns or fails.
    """
    with process_state_restored(threads=config.num_threads):
        return _train(config, dataset, resume, progress, final_eval, write_card, command, log or _LOG.info,
                      overwrite, max_minutes, on_epoch_end)  # fmt: skip


def _train(
    config: TrainConfig,
    dataset: PoseDataset | None,
    resume: bool,
    progress: bool,
    final_eval: bool,
    write_card: bool,
    command: str | None,
    log: Callable[[str], None],
    overwrite: bool,
    max_minutes: float | None,
    on_epoch_end: Callable[[int], bool] | None,
) -> TrainResult:
    started = time.perf_counter()
    budget = EpochBudget.minutes(max_minutes) if max_minutes is not None else None
    run_dir = config.run_dir
    config_path = run_dir / CONFIG
    if resume:
        if not (run_dir / CHECKPOINT).is_file():
            raise WeightsError(
                f"checkpoint {run_dir / CHECKPOINT} does not exist; nothing to resume (run without --resume)"
            )
        if config_path.is_file():
            check_resume_config(TrainConfig.load(config_path), config)
    elif (run_dir / CHECKPOINT).exists() and not overwrite:
        raise ConfigError(
            f"run folder {run_dir} already holds a checkpoint; pass --resume to continue it, or choose another "
            "--run-name (or --overwrite to replace it)"
        )
    else:
        # Under torchrun only the first process deletes a replaced folder; the others just check.
        prepare_run_dir(run_dir, overwrite=overwrite, remove=os.environ.get("RANK", "0") == "0")
    if dataset is None:
        from ..data import load_dataset

        dataset = load_dataset(config.dataset, config.input, config.data_dir)
    if config.layout is not None:
        from ..data.relayout import with_layout_2d

        dataset = with_layout_2d(dataset, config.layout)
    ctx = init_distributed(config.device)
    try:
        trainer = _Trainer(config, dataset, ctx, progress, log)
        if ctx.is_main:
            mark_run_folder(run_dir)  # what --overwrite may later delete: only the files listed here
            record_written(
                run_dir, config_path, run_dir / LOG, run_dir / CHECKPOINT, run_dir / WEIGHTS, run_dir / SUMMARY
            )
            config.save(config_path)
        if resume:
            trainer.resume()
        elif ctx.is_main:
            (run_dir / LOG).write_text("", encoding="utf-8")
        trainer.log(
            f"training {config.model} on {dataset.name} ({dataset.input}): {len(trainer.windows)} windows, "
            f"RF {trainer.lifter.receptive_field}, {trainer.lifter.num_parameters():,} parameters, recipe "
            f"{config.recipe or 'custom'}, {ctx.world_size} process(es) on {ctx.device}"
        )
        if note := default_recipe_note(config.recipe):
            trainer.log(note)
        while trainer.epoch < config.epochs:
            row = trainer.train_epoch()
            rng_states = trainer.gather_rng()  # before validation, which must not shift any stream
            if ctx.is_main:
                if config.validate_every and (trainer.epoch % config.validate_every == 0):
                    val = trainer.evaluate()
                    row["val_mpjpe_mm"] = val.average_over_actions.mpjpe_mm
                    row["val_p_mpjpe_mm"] = val.average_over_actions.p_mpjpe_mm
                trainer.log_epoch(row)
                trainer.save(rng_states)
            barrier(ctx)
            if (
                budget is not None
                and trainer.epoch < config.epochs
                and out_of_budget(budget, float(row["time_s"]), ctx)
            ):
                trainer.log(
                    f"budget: stopping after epoch {trainer.epoch} of {config.epochs} (--max-minutes {max_minutes:g})"
                )
                config = trainer.config = config.with_overrides(epochs=trainer.epoch)
                if ctx.is_main:
                    config.save(config_path)
                break
            if on_epoch_end is not None and trainer.epoch < config.epochs and on_epoch_end(trainer.epoch):
                trainer.log(f"stopped after epoch {trainer.epoch}; continue with --resume")
                return TrainResult(config=config, run_dir=run_dir, history=list(trainer.history),
                                   lifter=trainer.lifter, completed=False,
                                   wall_time_s=time.perf_counter() - started)  # fmt: skip
        result = TrainResult(config=config, run_dir=run_dir, history=list(trainer.history), lifter=trainer.lifter)
        if ctx.is_main:
            finish_run(trainer.lifter, trainer.config, result, trainer.evaluate, trainer.log,
                       final_eval=final_eval, write_card=write_card, command=command)  # fmt: skip
        barrier(ctx)
        result.wall_time_s = time.perf_counter() - started
        return result
    finally:
        ctx.close()
