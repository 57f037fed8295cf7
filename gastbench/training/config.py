"""The training configuration: one flat, JSON-round-trippable record of every setting of a run."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from ..errors import ConfigError, not_a_file

__all__ = ["TrainConfig", "OptimizerName", "LossName", "LrSchedule"]

OptimizerName = Literal["adam", "amsgrad", "adamw"]
LossName = Literal["mpjpe", "mse"]
LrSchedule = Literal["epoch", "step"]


@dataclass
class TrainConfig:
    """Every setting of a training run (a recipe preset plus command-line overrides).

    Attributes:
        model: registry name (``"gast-t27"``).
        dataset / input / data_dir: what :func:`gastbench.data.load_dataset` reads.
        layout: 2D input layout the model is trained at (e.g. ``"h36m16"``, Martinez's and SemGCN's
            native 16 joints, selected by name from the dataset's 2D joints); None: the dataset's.
        recipe: name of the preset the defaults came from (``"gast-net/humaneva"``).
        epochs: passes over the training windows.
        batch_size: global batch (split evenly across DDP ranks).
        lr: initial learning rate.
        lr_decay: multiplicative decay factor.
        lr_schedule: ``"epoch"``: ``lr * decay**epoch`` (VideoPose3D, GAST-Net);
            ``"step"``: ``lr * decay**floor(step / lr_decay_steps)`` (Martinez, SemGCN).
        lr_decay_steps: optimizer steps per decay for the ``"step"`` schedule.
        optimizer: ``"amsgrad"`` (Adam with AMSGrad), ``"adam"`` or ``"adamw"`` (Adam with decoupled
            weight decay, PoseFormer).
        weight_decay: ``"adamw"``: the decoupled decay (PoseFormer: 0.1); ``"adam"``/``"amsgrad"``:
            torch's L2 penalty added to the gradient. 0.0 (every other recipe): none.
        loss: ``"mpjpe"`` (mean joint distance) or ``"mse"`` (mean squared coordinate error).
        grad_clip_norm: clip the gradient norm to this (the "max-norm" of Martinez/SemGCN); None: off.
        dropout: passed to the model factory; None keeps the factory's default.
        bn_momentum: ``[initial, final]`` BatchNorm momentum, decayed exponentially over the
            epochs (VideoPose3D); None leaves it alone.
        flip_augment: flip half of every batch horizontally.
        train_stride: keep every n-th training frame (GAST-Net: Human3.6M 50 -> 10 fps); the
            weights are then evaluated on video at the same stride (older configs: ``downsample``).
        train_subjects / test_subjects / actions: subsets; None: the dataset's protocol.
        seed: seeds model init, dropout, the window order and the flip choice.
        device: ``"auto"`` (cuda when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        amp: bf16 autocast for the forward pass.
        compile: ``torch.compile`` the model for training.
        validate_every: validate on the test split every n epochs (0: never); logged only.
        eval_flip: test-time flip augmentation in validation and the final evaluation.
        num_threads: torch CPU threads (None: torch's default).
        model_overrides: extra factory keyword arguments (``{"channels": 512}``).
        runs_dir / run_name: the run folder is ``runs_dir/run_name``.
    """

    model: str
    dataset: str = "synthetic"
    input: str = "gt"
    data_dir: str | None = None
    layout: str | None = None
    recipe: str = ""
    epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: float = 1.0
    lr_schedule: LrSchedule = "epoch"
    lr_decay_steps: int = 100_000
    optimizer: OptimizerName = "amsgrad"
    weight_decay: float = 0.0
    loss: LossName = "mpjpe"
    grad_clip_norm: float | None = None
    dropout: float | None = None
    bn_momentum: list[float] | None = None
    flip_augment: bool = True
    train_stride: int = 1
    train_subjects: list[str] | None = None
    test_subjects: list[str] | None = None
    actions: list[str] | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    compile: bool = False
    validate_every: int = 1
    eval_flip: bool = True
    num_threads: int | None = None
    model_overrides: dict[str, Any] = field(default_factory=dict)
    runs_dir: str = "runs"
    run_name: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first setting of the wrong type or out of range."""
        _check_types(self)
        name = self.run_name
        if name in (".", "..") or "/" in name or "\\" in name:
            raise ConfigError(f"training config: run_name must be a plain folder name, got {name!r}")
        checks: list[tuple[bool, str]] = [
            (bool(self.model), "model must be a registry name"),
            (isinstance(self.epochs, int) and self.epochs >= 1, f"epochs must be an integer >= 1, got {self.epochs!r}"),
            (
                isinstance(self.batch_size, int) and self.batch_size >= 1,
                f"batch_size must be an integer >= 1, got {self.batch_size!r}",
            ),
            (self.lr > 0, f"lr must be > 0, got {self.lr!r}"),
            (0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay!r}"),
            (self.lr_schedule in ("epoch", "step"), f"lr_schedule must be 'epoch' or 'step', got {self.lr_schedule!r}"),
            (self.lr_decay_steps >= 1, f"lr_decay_steps must be >= 1, got {self.lr_decay_steps!r}"),
            (
                self.optimizer in ("adam", "amsgrad", "adamw"),
                f"optimizer must be 'adam', 'amsgrad' or 'adamw', got {self.optimizer!r}",
            ),
            (
                math.isfinite(self.weight_decay) and self.weight_decay >= 0,
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}",
            ),
            (self.loss in ("mpjpe", "mse"), f"loss must be 'mpjpe' or 'mse', got {self.loss!r}"),
            (
                self.grad_clip_norm is None or self.grad_clip_norm > 0,
                f"grad_clip_norm must be > 0 or None, got {self.grad_clip_norm!r}",
            ),
            (
                self.dropout is None or 0.0 <= self.dropout < 1.0,
                f"dropout must be in [0, 1) or None, got {self.dropout!r}",
            ),
            (
                self.bn_momentum is None
                or (len(self.bn_momentum) == 2 and all(0 < m <= 1 for m in self.bn_momentum)),
                f"bn_momentum must be [initial, final] in (0, 1], got {self.bn_momentum!r}",
            ),
            (
                isinstance(self.train_stride, int) and self.train_stride >= 1,
                f"train_stride must be an integer >= 1, got {self.train_stride!r}",
            ),
            (self.validate_every >= 0, f"validate_every must be >= 0, got {self.validate_every!r}"),
            (
                self.num_threads is None or self.num_threads >= 1,
                f"num_threads must be >= 1 or None, got {self.num_threads!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"training config: {message}")

    # --- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> "TrainConfig":
        """Rebuild a config; unknown keys are an error (a typo must not be ignored silently)."""
        if not isinstance(data, dict):
            raise ConfigError(f"training config {origin}: expected a JSON object, got {type(data).__name__}")
        if "downsample" in data and "train_stride" not in data:  # configs written before the rename
            data = {("train_stride" if k == "downsample" else k): v for k, v in data.items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"training config {origin}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        if "model" not in data:
            raise ConfigError(f"training config {origin}: missing key 'model'")
        return cls(**data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"training config {path} {not_a_file(path)}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"training config {path} is not valid JSON: {exc}") from None
        return cls.from_dict(data, origin=str(path))

    # --- derived ----------------------------------------------------------------------
    @property
    def default_run_name(self) -> str:
        return f"{self.model}.{self.dataset}-{self.input}"

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / (self.run_name or self.default_run_name)

    def with_overrides(self, **overrides: Any) -> "TrainConfig":
        """A copy with some settings replaced (``None`` values are ignored: "not given")."""
        data = self.to_dict()
        for key, value in overrides.items():
            if key not in data:
                raise ConfigError(f"training config: unknown setting {key!r}; settings: {sorted(data)}")
            if value is not None:
                data[key] = value
        return TrainConfig.from_dict(data)


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the type ``hint`` (the simple types a config holds)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return value in args
    if origin in (Union, UnionType):
        return any(_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and all(_matches(v, args[0]) for v in value) if args else isinstance(value, list)
    if origin is dict:
        return isinstance(value, dict)
    return True


def _check_types(config: "TrainConfig") -> None:
    """A :class:`ConfigError` naming the setting, the expected type and the value given."""
    hints = get_type_hints(type(config))
    for f in fields(config):
        value = getattr(config, f.name)
        if not _matches(value, hints[f.name]):
            hint = hints[f.name]
            expected = hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
            raise ConfigError(
                f"training config: {f.name} must be {expected}, got {value!r} ({type(value).__name__})"
            )
