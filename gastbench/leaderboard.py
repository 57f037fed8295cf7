"""The leaderboard: measured result records beside the numbers the papers report.

Measured rows come from result JSONs (the zoo's published ``zoo/results/*.json`` and the
user's runs folder); reported rows are generated from the zoo cards' ``[reported]`` tables,
never typed twice, plus the reported records in each zoo folder's ``reported/`` (a paper's
second row for one card: MotionBERT fine-tuned after pretraining). Where a model has both, the
difference (measured - the card's reported Avg) is shown. Rendering goes through :mod:`gastbench.tables`.

2D sources stay apart: a table for one ``input`` holds only that input's rows (CPN, SH
fine-tuned, SH pre-trained, ground truth are different names), every row's label names its input,
and a table over all inputs (``input=None``) adds a "2D input" column and groups the rows by it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .cards import Card, load_cards, zoo_dirs
from .errors import ConfigError, GastbenchError
from .results import EvalResult, MetricRow, ProtocolInfo

__all__ = [
    "DIFF_COLUMN", "INPUT_COLUMN", "NOTES_COLUMN", "Leaderboard", "collect_measured", "headline_average",
    "leaderboard_frame", "leaderboard_table", "record_files", "record_folders", "render_leaderboard", "reported_files",
    "reported_records",
]  # fmt: skip

DIFF_COLUMN = "Δ vs paper"
INPUT_COLUMN = "2D input"
NOTES_COLUMN = "Notes"
_METRIC = {1: "mpjpe_mm", 2: "p_mpjpe_mm"}


def record_folders(runs_dirs: Iterable[str | Path] = ()) -> list[Path]:
    """Where the leaderboard reads records: every zoo folder's ``results/`` (the repository's and those
    installed packages ship), then ``runs_dirs``."""
    return [*(d / "results" for d in zoo_dirs()), *(Path(d) for d in runs_dirs)]


def record_files(folders: Iterable[str | Path]) -> list[Path]:
    """Every JSON file below ``folders``: what a leaderboard read, so that no output may replace one."""
    return sorted(p for f in folders if Path(f).is_dir() for p in Path(f).rglob("*.json"))


def _record_key(record: EvalResult) -> str:
    """What makes two measured records the same result: model, data, the whole protocol and the weights."""
    weights = record.weights or {}
    identity = weights.get("sha256") or weights.get("card") or f"{weights.get('source')}:{weights.get('seed')}"
    return json.dumps(
        [record.model, record.dataset, record.input, record.source_2d_sha256, asdict(record.protocol), identity],
        sort_keys=True,
    )


def _is_record(data: object) -> bool:
    """Result records carry a schema version; a run folder's config.json or summary.json does not."""
    return isinstance(data, dict) and "schema_version" in data


def collect_measured(
    folders: Iterable[str | Path], include_partial: bool = False
) -> tuple[list[EvalResult], list[str]]:
    """Every measured record in ``folders`` (recursively), and a warning per unreadable record.

    Re-runs of the same model, data, protocol and weights keep only the newest. Partial
    records (:meth:`EvalResult.partial_reasons`: untrained, ``--max-sequences``, synthetic,
    incomplete data) are left out unless ``include_partial``. JSON files that are not result
    records (a training run's ``config.json``) are skipped without a word.
    """
    latest: dict[str, EvalResult] = {}
    warnings: list[str] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                warnings.append(f"skipped {path}: not a readable JSON file: {type(exc).__name__}: {str(exc)[:200]}")
                continue
            if not _is_record(data):
                continue
            try:
                record = EvalResult.from_dict(data, origin=str(path))
            except GastbenchError as exc:
                warnings.append(f"skipped {path}: {exc}")
                continue
            if record.reported or (record.partial_reasons() and not include_partial):
                continue
            key = _record_key(record)
            if key not in latest or record.timestamp >= latest[key].timestamp:
                latest[key] = record
    return list(latest.values()), warnings


def _notes(record: EvalResult) -> str:
    """What tells a measured row apart: its weights, protocol settings off the default, why it is partial."""
    if record.reported:
        return ""
    weights = record.weights or {}
    parts = [weights["sha256"][:8]] if weights.get("sha256") else []
    p = record.protocol
    if not p.flip:
        parts.append("no flip")
    if p.causal:
        parts.append("causal")
    if p.train_stride != 1 or p.score_stride != 1:
        parts.append(f"train stride {p.train_stride}, score stride {p.score_stride}")
    if p.output_scale == "image-2.5d":
        parts.append("2.5D output scaled by ground-truth root depth")
    if p.clips and p.clips.get("scoring") not in (None, "once"):
        parts.append(f"clips scored {p.clips['scoring']}")
    reasons = record.partial_reasons()
    if reasons:
        parts.append("partial: " + "; ".join(reasons))
    return ", ".join(parts)


def card_record(card: Card) -> EvalResult | None:
    """The paper's row for ``card`` as a ``reported`` record (None if the card reports nothing)."""
    rep = card.reported
    if rep is None:
        return None
    per_action: dict[str, MetricRow] = {}
    per_cell: dict[str, dict[str, MetricRow]] = {}
    p1, p2 = rep.per_action(1), rep.per_action(2)
    for action in rep.actions:
        row = MetricRow(mpjpe_mm=p1.get(action), p_mpjpe_mm=p2.get(action))
        if "/" in action:  # HumanEva cells are "<Action>/<Subject>"
            name, subject = action.split("/", 1)
            per_cell.setdefault(subject, {})[name] = row
        else:
            per_action[action] = row
    return EvalResult(
        model=card.lifter,
        dataset=card.dataset,
        input=card.input,
        kind="reported",
        reference="reported",
        paper=rep.source,
        protocol=ProtocolInfo(convention="standard"),
        per_action=per_action,
        per_cell=per_cell,
        average_over_actions=MetricRow(mpjpe_mm=rep.p1_avg, p_mpjpe_mm=rep.p2_avg),
        parameters=card.params or (round(rep.params_m * 1e6) if rep.params_m is not None else None),
        receptive_field=card.receptive_field or None,
    )


def reported_records(cards: Iterable[Card]) -> list[EvalResult]:
    return [r for r in (card_record(c) for c in cards) if r is not None]


def reported_files(folders: Iterable[str | Path] | None = None) -> tuple[list[EvalResult], list[str]]:
    """The reported records (``kind = "reported"``) in ``folders`` (default: every zoo folder's ``reported/``)."""
    records: list[EvalResult] = []
    warnings: list[str] = []
    for folder in [d / "reported" for d in zoo_dirs()] if folders is None else [Path(f) for f in folders]:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                record = EvalResult.from_dict(json.loads(path.read_text(encoding="utf-8")), origin=str(path))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, GastbenchError) as exc:
                warnings.append(f"skipped {path}: {exc}")
                continue
            if not record.reported:
                warnings.append(f"skipped {path}: a reported/ record must have kind 'reported'")
                continue
            records.append(record)
    return records, warnings


def headline_average(record: EvalResult, protocol: int) -> float | None:
    """The number a row is ranked by, the Avg its table shows (:func:`gastbench.tables.headline_average`)."""
    from .tables import headline_average as shown

    return shown(record, protocol)


@dataclass
class Leaderboard:
    """The leaderboard's rows: ``records[i]`` is the record behind ``frame``'s i-th row (same order)."""

    records: list[EvalResult] = field(default_factory=list)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    #: (model, dataset, input) -> the paper's average for this protocol (from the cards)
    paper_averages: dict[tuple[str, str, str], float | None] = field(default_factory=dict)


def leaderboard_table(
    dataset: str = "h36m",
    input: str | None = "cpn",
    protocol: int = 1,
    runs_dirs: Iterable[str | Path] = (),
    cards: list[Card] | None = None,
    include_reported: bool = True,
    include_partial: bool = False,
) -> Leaderboard:
    """The leaderboard table (sorted by Avg) with the record behind each row, and warnings about skipped files."""
    from . import tables

    if protocol not in _METRIC:
        raise ConfigError(f"protocol must be 1 (MPJPE) or 2 (P-MPJPE), got {protocol!r}")
    # every zoo folder's results/ (the repository's and those installed packages ship), then the runs
    measured, warnings = collect_measured(record_folders(runs_dirs), include_partial=include_partial)
    from_cards = reported_records(load_cards() if cards is None else cards) if include_reported else []
    extra, extra_warnings = reported_files() if include_reported and cards is None else ([], [])
    warnings += extra_warnings
    reported = from_cards + extra

    def keep(r: EvalResult) -> bool:
        return r.dataset == dataset and (input is None or r.input == input)

    records = [r for r in measured if keep(r)] + [
        r for r in reported if keep(r) and headline_average(r, protocol) is not None
    ]
    # The difference is taken to the card's row: the checkpoint a measured record's weights belong to.
    paper = {(r.model, r.dataset, r.input): headline_average(r, protocol) for r in from_cards}
    if not records:
        return Leaderboard(warnings=warnings, paper_averages=paper)

    def rank(r: EvalResult) -> tuple[str, float, bool, str]:
        # rows of different 2D sources are never interleaved: each source is its own block
        avg = headline_average(r, protocol)
        return (r.input, math.inf if avg is None else avg, r.reported, r.model)

    if dataset == "3dhp":  # the cross-dataset table: PCK, AUC and MPJPE, best PCK first
        from .tables_pck import pck_frame

        records.sort(key=lambda r: (-(r.average_over_frames.pck or -math.inf), r.model))
        frame = pck_frame(records, tables._label)
        frame[NOTES_COLUMN] = [_notes(r) for r in records]
        return Leaderboard(records=records, frame=frame, warnings=warnings, paper_averages=paper)
    records.sort(key=rank)
    frame = tables.table_frame(records, protocol, frame_average=False)
    diffs = []
    for r in records:
        ref = paper.get((r.model, r.dataset, r.input))
        mine = headline_average(r, protocol)
        diffs.append(math.nan if r.reported or ref is None or mine is None else round(mine - ref, 1))
    frame[DIFF_COLUMN] = diffs
    frame[NOTES_COLUMN] = [_notes(r) for r in records]
    if len({r.protocol.convention for r in records if not r.reported}) > 1:
        # Both protocols measured: say which each row is (the standard one is the leaderboard's).
        frame.insert(1, "Convention", ["reported" if r.reported else r.protocol.convention for r in records])
    if len({r.input for r in records}) > 1:
        frame.insert(0, INPUT_COLUMN, [r.input for r in records])
    return Leaderboard(records=records, frame=frame, warnings=warnings, paper_averages=paper)


def leaderboard_frame(
    dataset: str = "h36m",
    input: str | None = "cpn",
    protocol: int = 1,
    runs_dirs: Iterable[str | Path] = (),
    cards: list[Card] | None = None,
    include_reported: bool = True,
    include_partial: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """The leaderboard table (sorted by Avg) and warnings about skipped files."""
    board = leaderboard_table(dataset, input, protocol, runs_dirs, cards, include_reported, include_partial)
    return board.frame, board.warnings


def render_leaderboard(
    dataset: str = "h36m",
    input: str | None = "gt",
    protocol: int | str | None = None,
    fmt: str = "terminal",
    runs_dirs: Iterable[str | Path] = (),
    cards: list[Card] | None = None,
    include_partial: bool = False,
) -> tuple[str, list[str]]:
    """The leaderboard as text in ``fmt`` (terminal, markdown, csv, latex, json) and warnings about skipped files.

    ``protocol`` None: the dataset's headline protocol (2 for HumanEva-I, as its papers rank; else 1).
    """
    from . import tables

    key = tables.headline_protocol(dataset) if protocol is None else str(protocol)
    if key not in ("1", "2"):
        raise ConfigError(f"the leaderboard ranks by protocol 1 (MPJPE) or 2 (P-MPJPE), got {protocol!r}")
    chosen = int(key)
    frame, warnings = leaderboard_frame(dataset, input, chosen, runs_dirs, cards, include_partial=include_partial)
    if frame.empty:
        raise ConfigError(
            f"no results or reported numbers for {dataset}{'' if input is None else f'/{input}'}, protocol {chosen}: "
            "evaluate a model (`gastbench eval`) or pick another --dataset/--input"
        )
    name = {1: "Protocol #1 (MPJPE, mm)", 2: "Protocol #2 (P-MPJPE, mm)"}[chosen]
    if dataset == "3dhp":
        name = "PCK@150mm / AUC (%), MPJPE (mm), ranked by PCK"
    mixed = INPUT_COLUMN in frame.columns
    where = (
        f"/{input}"
        if input is not None
        else (", every 2D input, grouped: rows of different inputs are not comparable" if mixed else "")
    )
    title = f"gastbench leaderboard: {dataset}{where}, {name}; [reported] rows are the papers' numbers"
    return tables.render(frame, fmt, title), warnings
