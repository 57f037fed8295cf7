"""Result plots: per-action and per-joint error bars, error over a sequence, training curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, DataError
from ..outputs import replacing_path
from ..run_folder import LOG
from .style import use_agg

if TYPE_CHECKING:
    from ..results import EvalResult, MetricRow

__all__ = ["plot_actions", "plot_joints", "plot_sequence_errors", "plot_training", "read_training_log"]

_METRIC_LABELS = {
    "mpjpe_mm": "MPJPE (mm)",
    "p_mpjpe_mm": "P-MPJPE (mm)",
    "n_mpjpe_mm": "N-MPJPE (mm)",
    "mpjve_mm": "MPJVE (mm/frame)",
}


def _save(fig: Any, out: Path, overwrite: bool, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    if out.exists() and not overwrite:
        plt.close(fig)
        raise ConfigError(f"{out} already exists; pass --overwrite to replace it")
    try:
        with replacing_path(out) as tmp:
            if out.suffix.lower() == ".svg":
                # Same record, same file: no date stamp, element ids from a fixed salt instead of a random one.
                with plt.rc_context({"svg.hashsalt": "gastbench"}):
                    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="svg", metadata={"Date": None})
            else:
                fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=out.suffix.lstrip(".") or None)
    finally:
        plt.close(fig)
    return out


def _value(row: MetricRow | None, metric: str) -> float:
    value = row.get(metric) if row is not None else None
    return float("nan") if value is None else float(value)


def _label(record: EvalResult) -> str:
    tag = " [untrained]" if record.untrained else " [reported]" if record.reported else ""
    return f"{record.model} ({record.dataset} {record.input}){tag}"


def plot_actions(
    records: Sequence[EvalResult], out: str | Path, *, metric: str = "mpjpe_mm", overwrite: bool = False, dpi: int = 110
) -> Path:
    """Grouped bars: one group per action (plus the average over actions), one bar per record."""
    if not records:
        raise ConfigError("plot results: give at least one result record")
    if metric not in _METRIC_LABELS:
        raise ConfigError(f"unknown metric {metric!r}; metrics: {', '.join(_METRIC_LABELS)}")
    actions: list[str] = []
    for r in records:
        actions += [a for a in r.per_action if a not in actions]
    groups = actions + ["Avg"]
    use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(groups) * max(1, len(records)) ** 0.5 + 2), 3.2))
    width = 0.8 / len(records)
    x = np.arange(len(groups))
    for i, r in enumerate(records):
        rows = [r.per_action.get(a) for a in actions] + [r.average_over_actions]
        values = [_value(row, metric) for row in rows]
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=_label(r))
    ax.set_xticks(x, groups, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(_METRIC_LABELS[metric])
    ax.set_xlabel("action")
    ax.set_title(f"{_METRIC_LABELS[metric]} per action", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, Path(out), overwrite, dpi)


def _read_predictions(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    from ..evaluation.predictions import read_predictions

    saved = read_predictions(path)
    return saved.pred, saved.gt, list(saved.joint_names)


def _errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame, per-joint position error in mm (the saved arrays are already root-aligned as scored)."""
    return np.linalg.norm(pred.astype(np.float64) - gt, axis=-1) * 1000.0


def plot_joints(predictions: Sequence[Path], out: str | Path, *, overwrite: bool = False, dpi: int = 110) -> Path:
    """Per-joint MPJPE bars from ``gastbench eval --save-predictions`` files, one bar series per file."""
    if not predictions:
        raise ConfigError("plot joints: give at least one predictions .npz")
    use_agg()
    import matplotlib.pyplot as plt

    series = []
    for path in predictions:
        pred, gt, names = _read_predictions(Path(path))
        per_joint = np.concatenate([_errors(pred[k], gt[k]) for k in sorted(pred)]).mean(axis=0)
        series.append((Path(path).stem, names, per_joint))
    names = series[0][1]
    if any(s[1] != names for s in series):
        raise DataError("plot joints: the predictions files have different joints; plot them separately")
    fig, ax = plt.subplots(figsize=(max(5.0, 0.4 * len(names) + 1.5), 3.2))
    width = 0.8 / len(series)
    x = np.arange(len(names))
    for i, (label, _, values) in enumerate(series):
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, label=label)
    ax.set_xticks(x, [n.replace("_", " ") for n in names], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("MPJPE (mm)")
    ax.set_xlabel("joint")
    ax.set_title("Error per joint (all frames)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, Path(out), overwrite, dpi)


def plot_sequence_errors(
    predictions: Sequence[Path],
    out: str | Path,
    *,
    sequence: str | None = None,
    fps: float | None = None,
    overwrite: bool = False,
    dpi: int = 110,
) -> Path:
    """MPJPE over the frames of one sequence (``SUBJECT/SEQUENCE/CAMERA``; default: the first), one curve per file."""
    use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    chosen = sequence
    for path in predictions:
        pred, gt, _ = _read_predictions(Path(path))
        chosen = chosen or sorted(pred)[0]
        if chosen not in pred:
            plt.close(fig)
            raise DataError(f"{path}: no sequence {chosen!r}; it has {sorted(pred)[:10]}")
        err = _errors(pred[chosen], gt[chosen]).mean(axis=1)
        t = np.arange(err.shape[0]) / fps if fps else np.arange(err.shape[0])
        ax.plot(t, err, lw=1.0, label=f"{Path(path).stem} (mean {err.mean():.1f} mm)")
    ax.set_xlabel("time (s)" if fps else "frame")
    ax.set_ylabel("MPJPE (mm)")
    ax.set_title(f"Error over {chosen}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, Path(out), overwrite, dpi)


def read_training_log(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of a run folder's ``log.jsonl`` (or a ``*.log.jsonl`` file given directly)."""
    path = run_dir / LOG if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise DataError(f"{run_dir}: no training log (expected {path})")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path}:{i}: not a JSON line") from None
        if not isinstance(row, dict) or "epoch" not in row or "loss" not in row:
            raise DataError(f"{path}:{i}: a log row needs 'epoch' and 'loss'")
        rows.append(row)
    if not rows:
        raise DataError(f"{path}: the training log is empty")
    return rows


def plot_training(runs: Sequence[Path], out: str | Path, *, overwrite: bool = False, dpi: int = 110) -> Path:
    """Training loss and (when logged) validation MPJPE / P-MPJPE per epoch, one line per run."""
    if not runs:
        raise ConfigError("plot training: give at least one run folder")
    logs = [(Path(r), read_training_log(Path(r))) for r in runs]
    has_val = any(row.get("val_mpjpe_mm") is not None for _, rows in logs for row in rows)
    use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if has_val else 1, figsize=(9.0 if has_val else 5.0, 3.0), squeeze=False)
    for run, rows in logs:
        label = run.name.removesuffix(".log.jsonl") if run.is_file() else run.name
        epochs = [r["epoch"] for r in rows]
        in_mm = all(r.get("loss_unit") == "m" for r in rows)
        loss = [r["loss"] * (1000.0 if in_mm else 1.0) for r in rows]
        axes[0, 0].plot(epochs, loss, marker="o", ms=3, label=label)
        axes[0, 0].set_ylabel("training loss (MPJPE, mm)" if in_mm else "training loss")
        if has_val:
            val = [
                (r["epoch"], r["val_mpjpe_mm"], r.get("val_p_mpjpe_mm"))
                for r in rows
                if r.get("val_mpjpe_mm") is not None
            ]
            if val:
                e, m, p = zip(*val)
                axes[0, 1].plot(e, m, marker="o", ms=3, label=f"{label} MPJPE")
                if all(v is not None for v in p):
                    axes[0, 1].plot(e, p, marker="s", ms=3, ls="--", label=f"{label} P-MPJPE")
    axes[0, 0].set_title("Training loss per epoch", fontsize=10)
    if has_val:
        axes[0, 1].set_title("Validation error per epoch", fontsize=10)
        axes[0, 1].set_ylabel("error (mm)")
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, Path(out), overwrite, dpi)
