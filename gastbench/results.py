"""The result record: every number of an evaluation plus every setting that produced it.

A record is data first (lm-evaluation-harness style): tables and the leaderboard are views of
it. The same type holds a measured run (``kind="measured"``, with weights provenance) and a
row reported in a paper (``kind="reported"``, metrics only, ``weights=None``). Records are
versioned JSON; :func:`load_result` refuses an unknown ``schema_version``.

Units: every metric is in millimetres (``*_mm``); MPJVE in millimetres per frame.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, DataError, not_a_file
from .typecheck import check_field_types

__all__ = [
    "SCHEMA_VERSION",
    "RANDOM_INIT",
    "RUNS_ENV_VAR",
    "METRIC_KEYS",
    "MetricRow",
    "ProtocolInfo",
    "EvalResult",
    "default_runs_dir",
    "save_result",
    "load_result",
]

SCHEMA_VERSION = 1
#: ``weights.source`` of an untrained model (a pipeline check, never a result to rank).
RANDOM_INIT: Literal["random-init"] = "random-init"
RUNS_ENV_VAR = "GASTBENCH_RUNS"
#: Metric field names of :class:`MetricRow`, in display order.
METRIC_KEYS = ("mpjpe_mm", "p_mpjpe_mm", "n_mpjpe_mm", "mpjve_mm", "pck", "auc")

ResultKind = Literal["measured", "reported"]


@dataclass
class MetricRow:
    """Errors of one group of frames (an action, a subject/action cell or an average), in mm.

    ``frames`` counts the frames the position metrics averaged; ``velocity_frames`` the frame
    pairs MPJVE averaged. A reported row may leave any field ``None``. ``pck`` (at 150 mm) and
    ``auc`` are percentages, computed for datasets whose papers report them (MPI-INF-3DHP; see
    :mod:`gastbench.metrics_pck`), else ``None``.
    """

    mpjpe_mm: float | None = None
    p_mpjpe_mm: float | None = None
    n_mpjpe_mm: float | None = None
    mpjve_mm: float | None = None
    frames: int | None = None
    velocity_frames: int | None = None
    pck: float | None = None
    auc: float | None = None

    def get(self, metric: str) -> float | None:
        if metric not in METRIC_KEYS:
            raise ConfigError(f"unknown metric {metric!r}; metrics are {', '.join(METRIC_KEYS)}")
        return getattr(self, metric)


@dataclass
class ProtocolInfo:
    """The evaluation protocol: enough to reproduce the numbers or tell two runs apart.

    Attributes:
        convention: ``"standard"`` (gastbench's leaderboard protocol) or ``"paper"``.
        split: dataset split evaluated (``"test"``).
        score_stride: every n-th frame of each sequence is scored.
        train_stride: frame stride of the video the model saw around each scored frame: its
            training rate (``EvalOptions.train_stride``), else ``score_stride`` (the papers'
            practice).
        flip: test-time horizontal flip augmentation.
        causal: the model predicts each window's last frame.
        joints: names of the joints averaged.
        recenter: ``"target"`` (only the ground-truth root at 0), ``"prediction"`` (the prediction
            re-centred on its root too) or ``"zero-prediction-root"`` (its root joint set to 0 alone).
        precision: arithmetic of the per-frame errors (``"float32"`` as the authors' code, or ``"float64"``).
        subjects / actions: what was evaluated.
        skipped: sequences left out by the dataset reader, and why.
        max_sequences: a cap used for quick checks (None: the whole split).
        trimmed: 2D/3D frame-count mismatches cut to the shorter side (a few frames is the norm).
        incomplete: why the evaluated subjects are not covered in full (a sequence missing from
            the 2D file, a trim beyond the tolerance allowed with ``--allow-trim``); empty when whole.
        annotation_3d: the 3D annotation scored against where a dataset has several (MPI-INF-3DHP:
            ``univ_annot3`` or ``annot3``, whose numbers differ); empty for datasets with one.
        clips: sequence-to-sequence lifters: ``{"clip_frames", "tail", "scoring"}``, how each sequence
            was cut into clips, how the last clip was formed and which clip frames were scored
            (:mod:`gastbench.evaluation.clips`); None for windowed lifters.
        output_scale: ``"metres"``, or ``"image-2.5d"`` when the model's output was brought to metres
            with each frame's 2.5D factor, taken from the ground truth's root depth (MotionBERT).
    """

    convention: str = "standard"
    split: str = "test"
    score_stride: int = 1
    train_stride: int = 1
    flip: bool = True
    causal: bool = False
    joints: list[str] = field(default_factory=list)
    recenter: str = "target"
    precision: str = "float64"
    subjects: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    max_sequences: int | None = None
    trimmed: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    annotation_3d: str = ""
    clips: dict[str, Any] | None = None
    output_scale: str = "metres"


@dataclass
class EvalResult:
    """One evaluation (or one paper-reported row) of one model on one dataset and 2D input.

    Attributes:
        model: registry name (``"gast-t27"``) or, for reported rows, the label shown.
        kind: ``"measured"`` by gastbench or ``"reported"`` in a paper (then ``reference`` says where).
        per_action: folded action -> errors; the table columns.
        per_cell: subject -> action -> errors (HumanEva-I's Table 3 cells; Human3.6M per subject).
        average_over_actions: mean of the per-action errors (the papers' "Avg").
        average_over_frames: frame-weighted mean over every evaluated frame (MMPose's average).
        weights: :meth:`gastbench.pretrained.WeightsInfo.to_dict` (None for reported rows).
    """

    model: str
    dataset: str
    input: str
    kind: ResultKind = "measured"
    family: str = ""
    paper: str = ""
    reference: str = ""
    weights: dict[str, Any] | None = None
    source_2d: str | None = None
    source_2d_sha256: str | None = None
    synthetic: bool = False
    protocol: ProtocolInfo = field(default_factory=ProtocolInfo)
    per_action: dict[str, MetricRow] = field(default_factory=dict)
    per_cell: dict[str, dict[str, MetricRow]] = field(default_factory=dict)
    average_over_actions: MetricRow = field(default_factory=MetricRow)
    average_over_frames: MetricRow = field(default_factory=MetricRow)
    parameters: int | None = None
    receptive_field: int | None = None
    frames_evaluated: int | None = None
    sequences_evaluated: int | None = None
    device: str | None = None
    wall_time_s: float | None = None
    frames_per_s: float | None = None
    gastbench_version: str = ""
    #: How the numbers were computed, which moves them by float rounding only (~1e-7 mm): torch threads,
    #: the BLAS of GAST-Net's fused CPU path, frames per chunk and per forward.
    compute: dict[str, Any] = field(default_factory=dict)
    #: Git commit of the code that computed the record ("+dirty" for uncommitted changes; "" outside a checkout).
    code_revision: str = ""
    torch_version: str = ""
    timestamp: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def reported(self) -> bool:
        return self.kind == "reported"

    @property
    def untrained(self) -> bool:
        """Computed with random-init weights."""
        return (self.weights or {}).get("source") == RANDOM_INIT

    @property
    def actions(self) -> list[str]:
        return list(self.per_action)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def partial_reasons(self) -> list[str]:
        """Why this measured record is not a full result to rank (empty for a complete one)."""
        reasons = list(self.protocol.incomplete)
        if self.protocol.max_sequences is not None:
            reasons.append(f"only the first {self.protocol.max_sequences} sequence(s) (--max-sequences)")
        if self.synthetic:
            reasons.append("synthetic data")
        if self.untrained:
            reasons.append("untrained (random-init) weights")
        trained = (self.weights or {}).get("trained_causal")
        if isinstance(trained, bool) and trained != self.protocol.causal:
            kind = {True: "causal", False: "non-causal"}
            reasons.append(f"a {kind[self.protocol.causal]} model on weights trained {kind[trained]}")
        return reasons

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> EvalResult:
        """Rebuild a record, checking the schema version and the field names."""
        if not isinstance(data, dict):
            raise DataError(f"result {origin}: expected a JSON object, got {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise DataError(
                f"result {origin}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION}); "
                "re-run the evaluation with this gastbench version"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        missing = sorted(k for k in ("model", "dataset", "input") if k not in data)
        if unknown or missing:
            raise DataError(f"result {origin}: unknown keys {unknown}, missing keys {missing}")
        if data.get("kind", "measured") not in ("measured", "reported"):
            raise DataError(f"result {origin}: kind must be 'measured' or 'reported', got {data.get('kind')!r}")
        try:
            values = dict(data)
            values["protocol"] = _build(ProtocolInfo, data.get("protocol", {}), f"result {origin}: protocol")
            values["per_action"] = {
                _key(a, origin): _row(r, f"result {origin}: per_action[{a!r}]")
                for a, r in _mapping(data.get("per_action", {}), origin, "per_action").items()
            }
            values["per_cell"] = {
                _key(s, origin): {
                    _key(a, origin): _row(r, f"result {origin}: per_cell[{s!r}][{a!r}]")
                    for a, r in _mapping(cells, origin, f"per_cell[{s!r}]").items()
                }
                for s, cells in _mapping(data.get("per_cell", {}), origin, "per_cell").items()
            }
            for key in ("average_over_actions", "average_over_frames"):
                values[key] = _row(data.get(key, {}), f"result {origin}: {key}")
            record = cls(**values)
        except (TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"result {origin}: malformed record: {exc}") from None
        check_field_types(record, f"result {origin}", error=DataError)
        for name in ("parameters", "frames_evaluated", "sequences_evaluated", "wall_time_s", "frames_per_s"):
            value = getattr(record, name)
            if value is not None and value < 0:
                raise DataError(f"result {origin}: {name} must be >= 0, got {value!r}")
        if record.receptive_field is not None and record.receptive_field < 1:
            raise DataError(f"result {origin}: receptive_field must be >= 1, got {record.receptive_field!r}")
        return record


def _mapping(value: Any, origin: str, what: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise DataError(f"result {origin}: {what} must be an object, got {type(value).__name__}")
    return value


def _key(value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"result {origin}: names of actions and subjects must be non-empty strings, got {value!r}")
    return value


def _build(cls: Any, raw: Any, where: str) -> Any:
    """A dataclass from a JSON object: known keys only, each of its declared type."""
    if not isinstance(raw, dict):
        raise DataError(f"{where} must be an object, got {type(raw).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DataError(f"{where}: unknown key(s) {unknown}")
    built = cls(**raw)
    check_field_types(built, where, error=DataError)
    return built


def _row(raw: Any, where: str) -> MetricRow:
    """A metric row whose errors are finite and non-negative (a negative or NaN error would rank first)."""
    row = _build(MetricRow, raw, where)
    for name in METRIC_KEYS:
        value = getattr(row, name, None)
        if value is not None and (value < 0 or (name in ("pck", "auc") and value > 100)):
            raise DataError(
                f"{where}: {name} must be >= 0{' and <= 100 (%)' if name in ('pck', 'auc') else ''}, got {value!r}"
            )
    for name in ("frames", "velocity_frames"):
        value = getattr(row, name)
        if value is not None and value < 0:
            raise DataError(f"{where}: {name} must be >= 0, got {value!r}")
    return row


def now_iso() -> str:
    """UTC timestamp for records, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def default_runs_dir() -> Path:
    """``$GASTBENCH_RUNS`` if set, else ``./runs``."""
    return Path(os.environ.get(RUNS_ENV_VAR) or "runs")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def save_result(result: EvalResult, runs_dir: str | Path | None = None) -> Path:
    """Write ``result`` as JSON into ``runs_dir`` (default :func:`default_runs_dir`); return the path.

    The file name is ``<model>_<dataset>-<input>_<convention>_<timestamp>.json``; an existing
    file is never overwritten (a counter is appended), also when two processes save at once.
    """
    from .outputs import write_new_file

    folder = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    stamp = _slug((result.timestamp or now_iso()).replace(":", "").replace("+0000", "Z"))
    stem = _slug(f"{result.model}_{result.dataset}-{result.input}_{result.protocol.convention}_{stamp}")
    return write_new_file(folder, stem, ".json", json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n")


def load_result(path: str | Path) -> EvalResult:
    """Read a record written by :func:`save_result`; :class:`DataError` if missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"result file {path} {not_a_file(path)}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"result file {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise DataError(f"result file {path} nests objects too deeply to be a result record") from None
    except OSError as exc:
        raise DataError(f"result file {path} cannot be read: {exc.strerror or exc}") from None
    return EvalResult.from_dict(data, origin=str(path))
