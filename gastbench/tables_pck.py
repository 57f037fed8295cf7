"""MPI-INF-3DHP tables: the cross-dataset table of lifting papers, and its per-sequence detail.

The papers' table: PCK (at 150 mm) per scene -- green screen (GS: TS1, TS2), no green screen
(noGS: TS3, TS4), outdoor (TS5, TS6) -- then PCK, AUC and MPJPE over all test frames (the
official evaluation pools every valid frame, so "All" is the frame-weighted value, not the mean
of the scenes). PCK and AUC are percentages, MPJPE millimetres. Views of result records;
:func:`gastbench.tables.render_results` renders them for MPI-INF-3DHP records, passing its
row labels in (this module sits below :mod:`gastbench.tables`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pandas as pd

from .errors import ConfigError
from .results import EvalResult, MetricRow

__all__ = ["DATASET", "PCK_UNIT", "VIEWS", "pck_frame", "sequence_frame", "table_title", "view_frame"]

Label = Callable[[EvalResult], str]

DATASET = "3dhp"
SCENES = ("GS", "noGS", "Outdoor")
#: Table views: the papers' scene table, or one row per test sequence.
VIEWS = ("scenes", "sequences")
PCK_UNIT = "% (PCK, AUC), mm (MPJPE)"


def _value(row: MetricRow | None, name: str) -> float:
    value = getattr(row, name) if row is not None else None
    return math.nan if value is None else float(value)


def _label_3dhp(record: EvalResult, label: Label) -> str:
    annotation = record.protocol.annotation_3d
    return label(record) + (f" [{annotation}]" if annotation and annotation != "univ_annot3" else "")


def _trailing(record: EvalResult) -> dict[str, object]:
    return {
        "Params (M)": math.nan if record.parameters is None else record.parameters / 1e6,
        "RF": record.receptive_field,
    }


def pck_frame(records: Iterable[EvalResult], label: Label) -> pd.DataFrame:
    """One row per record (named by ``label``): PCK per scene, then PCK, AUC, MPJPE over all frames, params (M), RF."""
    rows = []
    for r in records:
        row: dict[str, object] = {"Method": _label_3dhp(r, label)}
        for scene in SCENES:
            row[f"PCK {scene}"] = _value(r.per_action.get(scene), "pck")
        overall = r.average_over_frames
        row.update({"PCK": _value(overall, "pck"), "AUC": _value(overall, "auc"), "MPJPE": _value(overall, "mpjpe_mm")})
        row.update(_trailing(r))
        rows.append(row)
    return pd.DataFrame(rows).set_index("Method") if rows else pd.DataFrame()


def sequence_frame(records: Iterable[EvalResult], label: Label) -> pd.DataFrame:
    """One row per record (named by ``label``) and test sequence: its scene, PCK, AUC and MPJPE."""
    rows = []
    for r in records:
        for sequence in sorted(r.per_cell, key=lambda s: (len(s), s)):
            for scene, cell in r.per_cell[sequence].items():
                rows.append({
                    "Method": _label_3dhp(r, label), "Sequence": sequence, "Scene": scene,
                    "PCK": _value(cell, "pck"), "AUC": _value(cell, "auc"), "MPJPE": _value(cell, "mpjpe_mm"),
                })  # fmt: skip
    return pd.DataFrame(rows).set_index("Method") if rows else pd.DataFrame()


def view_frame(records: list[EvalResult], view: str, label: Label) -> pd.DataFrame:
    """The table ``view`` (``"scenes"``, the papers', or ``"sequences"``) of ``records``."""
    if view not in VIEWS:
        raise ConfigError(f"unknown MPI-INF-3DHP table {view!r}; tables: {', '.join(VIEWS)}")
    return pck_frame(records, label) if view == "scenes" else sequence_frame(records, label)


def table_title(records: list[EvalResult], view: str = "scenes") -> str:
    """The title naming the metrics and the 3D annotation(s) of ``records``."""
    annotations = sorted({r.protocol.annotation_3d or "univ_annot3" for r in records})
    suffix = ", per test sequence" if view == "sequences" else ""
    return f"3dhp ({', '.join(annotations)}) — PCK@150mm / AUC (%), MPJPE (mm){suffix}"
