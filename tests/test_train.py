"""Training: window gather, flip, sampler, recipes, the loop (loss, resume, final weights), config, CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from gastbench.errors import ConfigError, WeightsError
from gastbench.skeleton import H36M_17, HUMANEVA_15
from gastbench.training import (
    TrainConfig,
    WindowSampler,
    build_windows,
    flip_windows,
    recipe_for,
    resolve_config,
    train,
)
from gastbench.training.checkpoint import load_checkpoint
from gastbench.training.schedule import LrScheduler, bn_momentum_at

# A tiny, fast run: VideoPose3D-t27 at 32 channels on four synthetic sequences (888 windows).
TINY = {
    "epochs": 2,
    "batch_size": 64,
    "train_subjects": ["S1"],
    "actions": ["Directions"],
    "model_overrides": {"channels": 32},
    "validate_every": 0,
    "num_threads": 1,
}


def naive_gather(
    keypoints_2d: Sequence[np.ndarray],
    positions_3d: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
    *,
    receptive_field: int,
    causal_shift: int = 0,
    joints_3d: Sequence[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample reference gather: pad each sequence, slice one window per (sequence, frame) pair."""
    pad = (receptive_field - 1) // 2
    left, right = pad + causal_shift, pad - causal_shift
    windows = []
    targets = []
    for seq, frame in pairs:
        kp = np.pad(keypoints_2d[seq], ((left, right), (0, 0), (0, 0)), mode="edge")
        windows.append(kp[frame : frame + receptive_field])
        pos = positions_3d[seq][frame : frame + 1]
        targets.append(pos[:, list(joints_3d)] if joints_3d is not None else pos)
    return (
        torch.from_numpy(np.stack(windows).astype(np.float32)),
        torch.from_numpy(np.stack(targets).astype(np.float32)),
    )


def _tiny_config(tmp_path: Path, name: str = "run", **overrides: Any) -> TrainConfig:
    return resolve_config("videopose3d-t27", "synthetic", "gt", runs_dir=str(tmp_path), run_name=name,
                          **{**TINY, **overrides})  # fmt: skip


def _random_sequences(rng: np.random.Generator, lengths: list[int], j_in: int = 17, j_3d: int = 17) -> tuple:
    kp = [rng.standard_normal((n, j_in, 2)).astype(np.float32) for n in lengths]
    pos = [rng.standard_normal((n, j_3d, 3)).astype(np.float32) for n in lengths]
    return kp, pos


# --- windows ------------------------------------------------------------------------------


@pytest.mark.parametrize("causal_shift", [0, 13])
def test_window_gather_equals_naive_per_sample_gather(causal_shift: int) -> None:
    rng = np.random.default_rng(0)
    kp, pos = _random_sequences(rng, [5, 40, 1, 27, 60])
    joints = (0, 3, 5, 16)
    windows = build_windows(kp, pos, receptive_field=27, causal_shift=causal_shift, joints_3d=joints)
    pairs = [(s, f) for s, n in enumerate(len(k) for k in kp) for f in range(n)]
    assert len(windows) == len(pairs)
    order = torch.from_numpy(rng.permutation(len(pairs)))
    x, y = windows.gather(order)
    x_ref, y_ref = naive_gather(kp, pos, [pairs[i] for i in order.tolist()], receptive_field=27,
                                causal_shift=causal_shift, joints_3d=joints)  # fmt: skip
    assert x.shape == (len(pairs), 27, 17, 2) and y.shape == (len(pairs), 1, len(joints), 3)
    assert torch.equal(x, x_ref)
    assert torch.equal(y, y_ref)


def test_window_centre_is_the_target_frame_and_edges_repeat() -> None:
    kp = [np.arange(10, dtype=np.float32)[:, None, None].repeat(2, 1).repeat(2, 2)]
    pos = [np.zeros((10, 2, 3), dtype=np.float32)]
    windows = build_windows(kp, pos, receptive_field=5)
    x, _ = windows.gather(torch.tensor([0, 4, 9]))
    assert x[:, :, 0, 0].tolist() == [[0, 0, 0, 1, 2], [2, 3, 4, 5, 6], [7, 8, 9, 9, 9]]
    causal = build_windows(kp, pos, receptive_field=5, causal_shift=2)
    xc, _ = causal.gather(torch.tensor([0, 4]))
    assert xc[:, :, 0, 0].tolist() == [[0, 0, 0, 0, 0], [0, 1, 2, 3, 4]]


def test_downsampled_windows_equal_windows_of_the_downsampled_sequences() -> None:
    rng = np.random.default_rng(1)
    kp, pos = _random_sequences(rng, [23, 50])
    down = build_windows(kp, pos, receptive_field=9, train_stride=5)
    ref = build_windows([k[::5] for k in kp], [p[::5] for p in pos], receptive_field=9)
    assert len(down) == 5 + 10
    assert torch.equal(down.gather(torch.arange(len(down)))[0], ref.gather(torch.arange(len(ref)))[0])


def test_bad_window_input_is_a_clear_error() -> None:
    with pytest.raises(Exception, match=r"expected \(T, J_in, 2\)"):
        build_windows([np.zeros((5, 17, 3))], [np.zeros((5, 17, 3))], receptive_field=3)
    with pytest.raises(Exception, match="no training sequences"):
        build_windows([], [], receptive_field=3)


# --- flip augmentation ----------------------------------------------------------------------


def test_flip_is_consistent_between_2d_and_3d_and_only_touches_flagged_items() -> None:
    torch.manual_seed(0)
    y = torch.randn(6, 1, 15, 3)
    x = y[..., :2].expand(6, 9, 15, 2).clone()  # an orthographic "projection" of the 3D pose
    flags = torch.tensor([True, False, True, False, False, True])
    xf, yf = flip_windows(x, y, flags, HUMANEVA_15, HUMANEVA_15)
    # Projecting the flipped 3D pose gives the flipped 2D pose.
    assert torch.equal(xf, yf[..., :2].expand(6, 9, 15, 2))
    assert torch.equal(xf[~flags], x[~flags]) and torch.equal(yf[~flags], y[~flags])
    perm = list(HUMANEVA_15.flip_permutation)
    assert torch.equal(yf[flags][..., 0], -y[flags][:, :, perm, 0])
    assert torch.equal(yf[flags][..., 1:], y[flags][:, :, perm, 1:])
    # Flipping twice is the identity.
    xff, yff = flip_windows(xf, yf, flags, HUMANEVA_15, HUMANEVA_15)
    assert torch.equal(xff, x) and torch.equal(yff, y)


def test_mirrored_gather_equals_flipping_the_gathered_batch() -> None:
    rng = np.random.default_rng(2)
    kp, pos = _random_sequences(rng, [30, 12], j_in=15, j_3d=15)
    plain = build_windows(kp, pos, receptive_field=9)
    mirrored = build_windows(kp, pos, receptive_field=9, mirror_layouts=(HUMANEVA_15, HUMANEVA_15))
    index = torch.from_numpy(rng.permutation(len(plain)))
    flags = torch.from_numpy(rng.random(len(plain)) < 0.5)
    x_ref, y_ref = flip_windows(*plain.gather(index), flags, HUMANEVA_15, HUMANEVA_15)
    x, y = mirrored.gather(index, flags)
    assert torch.equal(x, x_ref) and torch.equal(y, y_ref)
    assert torch.equal(mirrored.gather(index)[0], plain.gather(index)[0])
    with pytest.raises(Exception, match="without layouts"):
        plain.gather(index, flags)


# --- sampler ------------------------------------------------------------------------------


def test_sampler_flips_exactly_half_of_every_batch_and_covers_every_window() -> None:
    sampler = WindowSampler(1000, 64, seed=3)
    plan = sampler.plan_epoch()
    assert sorted(plan.index.tolist()) == list(range(1000))
    sizes = [len(i) for i, _ in plan.batches()]
    assert sizes == [64] * 15 + [40]
    assert [int(f.sum()) for _, f in plan.batches()] == [s // 2 for s in sizes]
    assert not torch.equal(plan.index, sampler.plan_epoch().index)  # a new order every epoch


def test_distributed_shards_are_disjoint_and_together_form_the_global_batches() -> None:
    single = WindowSampler(1001, 64, seed=5).plan_epoch()
    shards = [WindowSampler(1001, 64, seed=5, rank=r, world_size=2).plan_epoch() for r in range(2)]
    assert set(shards[0].index.tolist()).isdisjoint(shards[1].index.tolist())
    assert len(shards[0].index) == len(shards[1].index) == 500
    for step, ((i0, _), (i1, _)) in enumerate(zip(shards[0].batches(), shards[1].batches())):
        glob = single.index[step * 64 : (step + 1) * 64]
        assert sorted(torch.cat([i0, i1]).tolist()) == sorted(glob[: len(i0) + len(i1)].tolist())
    with pytest.raises(ConfigError, match="divisible"):
        WindowSampler(100, 63, seed=0, world_size=2)


# --- recipes, schedules, config -------------------------------------------------------------------


def test_recipes_hold_the_papers_settings() -> None:
    _, gast_h36m = recipe_for("gast-t27", "h36m")
    assert (gast_h36m["optimizer"], gast_h36m["lr"], gast_h36m["lr_decay"], gast_h36m["batch_size"]) == (
        "amsgrad", 1e-3, 0.95, 128)  # fmt: skip
    assert (gast_h36m["dropout"], gast_h36m["epochs"], gast_h36m["train_stride"]) == (0.05, 60, 5)
    _, gast_he = recipe_for("gast-t81", "humaneva")
    assert (gast_he["batch_size"], gast_he["lr_decay"], gast_he["dropout"], gast_he["epochs"]) == (32, 0.98, 0.5, 200)
    _, vp = recipe_for("videopose3d-t243", "h36m")
    assert (vp["batch_size"], vp["dropout"], vp["epochs"], vp["bn_momentum"]) == (1024, 0.25, 80, [0.1, 0.001])
    _, vp_he = recipe_for("videopose3d-t27", "humaneva")
    assert (vp_he["batch_size"], vp_he["epochs"], vp_he["lr_decay"]) == (128, 1000, 0.996)
    _, mart = recipe_for("martinez", "h36m")
    assert (mart["optimizer"], mart["batch_size"], mart["epochs"], mart["grad_clip_norm"]) == ("adam", 64, 200, 1.0)
    assert recipe_for("semgcn-nonlocal", "h36m")[1]["epochs"] == 30
    with pytest.raises(ConfigError, match="unknown lifter"):
        recipe_for("not-a-model", "h36m")


def test_lr_schedules_and_bn_momentum_decay() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=1.0)
    per_epoch = LrScheduler(opt, TrainConfig(model="m", lr=1e-3, lr_decay=0.95))
    per_epoch.step_epoch()
    per_epoch.step_epoch()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.95**2)
    steps = LrScheduler(opt, TrainConfig(model="m", lr=1e-3, lr_decay=0.96, lr_schedule="step", lr_decay_steps=10))
    for _ in range(19):
        steps.step_batch()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.96)
    steps.step_batch()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.96**2)
    assert bn_momentum_at(0, 80, 0.1, 0.001) == pytest.approx(0.1)
    assert bn_momentum_at(80, 80, 0.1, 0.001) == pytest.approx(0.001)


def test_config_json_round_trip_and_unknown_keys(tmp_path: Path) -> None:
    config = resolve_config("gast-t27", "humaneva", "gt", epochs=7, seed=3, model_overrides={"channels": 64})
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config
    assert TrainConfig.load(config.save(tmp_path / "config.json")) == config
    with pytest.raises(ConfigError, match="unknown key"):
        TrainConfig.from_dict({**config.to_dict(), "epoch": 3})
    with pytest.raises(ConfigError, match="lr_decay"):
        config.with_overrides(lr_decay=1.5)


# --- the loop -----------------------------------------------------------------------------------


def test_two_epochs_lower_the_loss_and_write_the_run_folder(tmp_path: Path) -> None:
    result = train(_tiny_config(tmp_path, validate_every=2), progress=False, final_eval=True, write_card=False)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 2 and losses[1] < losses[0]
    run = tmp_path / "run"
    assert TrainConfig.load(run / "config.json") == result.config
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2] and log[1]["loss"] == losses[1]
    assert log[1]["val_mpjpe_mm"] > 0 and "val_mpjpe_mm" not in log[0]
    assert result.result is not None and result.result_path is not None and result.result_path.is_file()
    assert result.result.weights is not None and result.result.weights["sha256"]


def test_saved_weights_are_the_final_epochs(tmp_path: Path) -> None:
    result = train(_tiny_config(tmp_path, epochs=3), progress=False, final_eval=False, write_card=False)
    saved = load_file(str(tmp_path / "run" / "weights.safetensors"))
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert checkpoint["epoch"] == 3
    assert result.lifter is not None
    final = result.lifter.state_dict()
    assert set(saved) == set(final) == set(checkpoint["model"])
    for key, value in saved.items():
        assert torch.equal(value, final[key].cpu()) and torch.equal(value, checkpoint["model"][key])


def test_resume_after_a_kill_gives_bitwise_identical_weights(tmp_path: Path) -> None:
    train(_tiny_config(tmp_path, "straight", epochs=3), progress=False, final_eval=False, write_card=False)
    partial = train(_tiny_config(tmp_path, "killed", epochs=3), progress=False, final_eval=False, write_card=False,
                    on_epoch_end=lambda epoch: epoch >= 2)  # fmt: skip
    assert not partial.completed and not (tmp_path / "killed" / "weights.safetensors").exists()
    # The checkpoint is plain tensors and numbers: it loads with weights_only=True.
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    # Scramble every global RNG: resume must restore them all.
    torch.manual_seed(1234)
    np.random.seed(99)
    resumed = train(_tiny_config(tmp_path, "killed", epochs=3), resume=True, progress=False, final_eval=False,
                    write_card=False)  # fmt: skip
    a = load_file(str(tmp_path / "straight" / "weights.safetensors"))
    b = load_file(str(tmp_path / "killed" / "weights.safetensors"))
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]


def test_resume_refuses_changed_settings_and_a_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="nothing to resume"):
        train(_tiny_config(tmp_path, "none"), resume=True, progress=False, final_eval=False, write_card=False)
    assert not (tmp_path / "none").exists()  # refused before anything was written
    train(_tiny_config(tmp_path, epochs=1), progress=False, final_eval=False, write_card=False)
    with pytest.raises(ConfigError, match="lr"):
        train(_tiny_config(tmp_path, epochs=1, lr=0.5), resume=True, progress=False, final_eval=False,
              write_card=False)  # fmt: skip
    with pytest.raises(ConfigError, match="already holds a checkpoint"):
        train(_tiny_config(tmp_path, epochs=1), progress=False, final_eval=False, write_card=False)


def test_model_output_layout_selects_ground_truth_joints(tmp_path: Path) -> None:
    # SemGCN on the 16-joint input predicts 16 joints; the synthetic 3D layout has 17 (with the neck).
    from gastbench.data import load_dataset
    from gastbench.training import build_lifter, training_windows

    dataset = load_dataset("synthetic", "gt16")
    config = resolve_config("semgcn", "synthetic", "gt16", **{**TINY, "model_overrides": {}})
    lifter = build_lifter(config, dataset)
    assert lifter.output_layout.num_joints == 16 and dataset.layout_3d == H36M_17
    windows = training_windows(config, dataset, lifter)
    idx = list(lifter.output_layout.indices_in(dataset.layout_3d))
    assert H36M_17.index("neck") not in idx
    first = dataset.sequences("train", subjects=["S1"], actions=["Directions"])[0]
    assert windows.targets.shape[1:] == (16, 3)
    assert torch.equal(windows.targets[0], torch.from_numpy(np.asarray(first.positions_3d[0][idx])))
    # The frame model's recipe (RF 1, MSE loss, gradient clipping, per-step lr) trains end to end.
    run = train(config.with_overrides(runs_dir=str(tmp_path), epochs=1), dataset=dataset, progress=False,
                final_eval=False, write_card=False)  # fmt: skip
    assert run.history[0]["steps"] == 14 and np.isfinite(run.history[0]["loss"])


def test_bf16_autocast_trains(tmp_path: Path) -> None:
    result = train(_tiny_config(tmp_path, epochs=1, amp=True), progress=False, final_eval=False, write_card=False)
    assert np.isfinite(result.history[0]["loss"])
    assert result.lifter is not None and next(result.lifter.parameters()).dtype == torch.float32


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_trains_and_reports_json(tmp_path: Path) -> None:
    from gastbench.cli import app

    args = [
        "train", "videopose3d-t27", "--dataset", "synthetic", "--epochs", "1", "--batch-size", "64",
        "--train-subjects", "S1", "--actions", "Directions", "--model-arg", "channels=32", "--threads", "1",
        "--validate-every", "0", "--no-final-eval", "--no-card", "--no-progress", "--runs-dir", str(tmp_path),
        "--set", "lr=0.002", "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["epochs"] == 1 and summary["completed"] is True
    config = TrainConfig.load(Path(summary["run_dir"]) / "config.json")
    assert (config.lr, config.batch_size, config.model_overrides) == (0.002, 64, {"channels": 32})
    assert Path(summary["weights"]).is_file()


def test_cli_dry_run_and_bad_setting(tmp_path: Path) -> None:
    from gastbench.cli import app

    dry = CliRunner().invoke(app, ["train", "gast-t27", "--dataset", "h36m", "--lr-decay", "0.9", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    config = TrainConfig.from_dict(json.loads(dry.output))
    assert (config.recipe, config.lr_decay, config.batch_size, config.train_stride) == ("gast-net/h36m", 0.9, 128, 5)
    bad = CliRunner().invoke(app, ["train", "gast-t27", "--set", "learning_rate=1", "--dry-run"])
    assert bad.exit_code != 0
    assert isinstance(bad.exception, ConfigError) and "learning_rate" in str(bad.exception)


# --- real data -------------------------------------------------------------------------------------


@pytest.mark.integration
def test_humaneva_training_windows_and_one_step(real_data_dir: Path, tmp_path: Path) -> None:
    from gastbench.data import load_dataset
    from gastbench.training import build_lifter, training_windows

    dataset = load_dataset("humaneva", "gt", real_data_dir)
    config = resolve_config("gast-t27", "humaneva", "gt", model_overrides={"channels": 16})
    assert config.actions == ["Walk", "Jog", "Box"] and (config.batch_size, config.dropout) == (32, 0.5)
    lifter = build_lifter(config, dataset)
    windows = training_windows(config, dataset, lifter)
    train_seqs = dataset.sequences("train", actions=config.actions)
    assert len(windows) == sum(s.frames for s in train_seqs)
    assert windows.padded.shape[1:] == (15, 2) and windows.targets.shape[1:] == (15, 3)
    assert float(windows.targets[: len(windows), 0].abs().max()) == 0.0  # root-relative targets
    run = train(config.with_overrides(runs_dir=str(tmp_path), epochs=1, train_subjects=["S1"], actions=["Box"],
                                      validate_every=0),
                dataset=dataset, progress=False, final_eval=False, write_card=False)  # fmt: skip
    assert np.isfinite(run.history[0]["loss"])


def test_max_minutes_stops_after_the_last_epoch_that_fits_and_records_it(tmp_path: Path) -> None:
    # A budget far below one epoch's time: epoch 1 runs (a run always trains at least one), then it stops.
    result = train(_tiny_config(tmp_path, epochs=3), progress=False, final_eval=False, write_card=True,
                   max_minutes=1e-4, log=lambda line: None)  # fmt: skip
    assert result.completed and [row["epoch"] for row in result.history] == [1]
    run = tmp_path / "run"
    assert TrainConfig.load(run / "config.json").epochs == 1 == result.config.epochs
    assert load_checkpoint(run / "checkpoint.pt")["epoch"] == 1 and (run / "weights.safetensors").is_file()
    card = next(run.glob("*.toml")).read_text()
    assert "epochs 1 instead of" in card  # the shortened run says so on its card
    with pytest.raises(ConfigError, match="max_seconds must be a positive number"):
        train(_tiny_config(tmp_path, name="bad"), progress=False, max_minutes=-1.0)
