"""The training configuration: a recipe's settings plus where and how a run goes, one JSON-round-trippable record."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, not_a_file
from ..recipes import LossName, LrSchedule, OptimizerName, Recipe
from ..typecheck import check_field_types

__all__ = ["TrainConfig", "OptimizerName", "LossName", "LrSchedule"]


@dataclass(kw_only=True)
class TrainConfig(Recipe):
    """Every setting of a training run: the :class:`~gastbench.recipes.Recipe` settings and the run's own.

    Attributes:
        model: registry name (``"gast-t27"``).
        dataset / input / data_dir: what :func:`gastbench.data.load_dataset` reads.
        layout: 2D input layout the model is trained at (e.g. ``"h36m16"``, Martinez's and SemGCN's
            native 16 joints, selected by name from the dataset's 2D joints); None: the dataset's.
        recipe: name of the recipe the settings came from (``"gast-net/humaneva"``).
        train_subjects / test_subjects: subsets; None: the dataset's protocol.
        device: ``"auto"`` (cuda when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
        compile: ``torch.compile`` the model for training.
        validate_every: validate on the test split every n epochs (0: never); logged only.
        num_threads: torch CPU threads during the run (None: torch's default); restored afterwards.
        model_overrides: extra factory keyword arguments (``{"channels": 512}``).
        runs_dir / run_name: the run folder is ``runs_dir/run_name``.

    The recipe settings (epochs, batch size, optimizer, ...) are documented on :class:`Recipe`.
    """

    model: str
    dataset: str = "synthetic"
    input: str = "gt"
    data_dir: str | None = None
    layout: str | None = None
    recipe: str = ""
    train_subjects: list[str] | None = None
    test_subjects: list[str] | None = None
    device: str = "auto"
    compile: bool = False
    validate_every: int = 1
    num_threads: int | None = None
    model_overrides: dict[str, Any] = field(default_factory=dict)
    runs_dir: str = "runs"
    run_name: str = ""

    def validate(self, where: str = "training config") -> None:
        """Raise :class:`ConfigError` naming the first setting of the wrong type or out of range."""
        super().validate(where)
        check_field_types(self, where)
        name = self.run_name
        if name in (".", "..") or "/" in name or "\\" in name:
            raise ConfigError(f"{where}: run_name must be a plain folder name, got {name!r}")
        checks: list[tuple[bool, str]] = [
            (bool(self.model), "model must be a registry name"),
            (self.validate_every >= 0, f"validate_every must be >= 0, got {self.validate_every!r}"),
            (
                self.num_threads is None or self.num_threads >= 1,
                f"num_threads must be >= 1 or None, got {self.num_threads!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{where}: {message}")

    # --- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> TrainConfig:
        """Rebuild a config; unknown keys are an error (a typo must not be ignored silently)."""
        if not isinstance(data, dict):
            raise ConfigError(f"training config {origin}: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"training config {origin}: unknown key(s) {unknown}; known keys: {sorted(known)}")
        if "model" not in data:
            raise ConfigError(f"training config {origin}: missing key 'model'")
        return cls(**data)

    def save(self, path: str | Path) -> Path:
        from ..outputs import write_text_file

        return write_text_file(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"training config {path} {not_a_file(path)}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"training config {path} is not valid JSON: {exc}") from None
        return cls.from_dict(data, origin=str(path))

    # --- derived ----------------------------------------------------------------------
    @property
    def default_run_name(self) -> str:
        return f"{self.model}.{self.dataset}-{self.input}"

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / (self.run_name or self.default_run_name)

    def recipe_settings(self) -> dict[str, Any]:
        """This run's values of every :class:`Recipe` setting."""
        return {f.name: getattr(self, f.name) for f in fields(Recipe)}

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with some settings replaced (``None`` values are ignored: "not given")."""
        data = self.to_dict()
        for key, value in overrides.items():
            if key not in data:
                raise ConfigError(f"training config: unknown setting {key!r}; settings: {sorted(data)}")
            if value is not None:
                data[key] = value
        return TrainConfig.from_dict(data)
