"""Tables are views of result records: the papers' Table 1 (Human3.6M) and Table 3 (HumanEva-I).

:func:`results_frame` builds a pandas DataFrame (one row per record, numbers in mm);
:func:`render` turns it into terminal, markdown, csv, latex or json text with one decimal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Literal

import pandas as pd

from .data.actions import H36M_ACTIONS, HUMANEVA_ACTIONS, HUMANEVA_SUBJECTS
from .errors import ConfigError
from .results import EvalResult

__all__ = [
    "FORMATS",
    "H36M_ABBREVIATIONS",
    "PROTOCOL_METRICS",
    "results_frame",
    "humaneva_frame",
    "cell_average",
    "headline_average",
    "headline_protocol",
    "table_frame",
    "latex_escape",
    "render",
    "render_results",
]

Format = Literal["terminal", "markdown", "csv", "latex", "json"]
FORMATS = ("terminal", "markdown", "csv", "latex", "json")

#: Column headers of the papers' Table 1 (in :data:`~gastbench.data.actions.H36M_ACTIONS` order).
H36M_ABBREVIATIONS = dict(zip(H36M_ACTIONS, (
    "Dir.", "Disc.", "Eat", "Greet", "Phone", "Photo", "Pose", "Purch.", "Sit", "SitD.", "Smoke", "Wait", "WalkD.",
    "Walk", "WalkT.",
)))  # fmt: skip
#: Datasets whose tables are per subject x action cells (the papers' Table 3) and whose headline
#: number is Protocol #2, as the papers report HumanEva-I; every other dataset: Table 1, Protocol #1.
_CELL_TABLE_DATASETS = frozenset({"humaneva"})

#: Protocol number (or metric name) -> record metric.
PROTOCOL_METRICS = {"1": "mpjpe_mm", "2": "p_mpjpe_mm", "n": "n_mpjpe_mm", "velocity": "mpjve_mm"}
AVG = "Avg"
AVG_FRAMES = "Avg (frames)"


def _metric(protocol: str | int) -> str:
    key = str(protocol)
    if key in PROTOCOL_METRICS:
        return PROTOCOL_METRICS[key]
    if key in PROTOCOL_METRICS.values():
        return key
    raise ConfigError(f"unknown protocol {protocol!r}; use 1 (MPJPE), 2 (P-MPJPE), n (N-MPJPE) or velocity (MPJVE)")


def _label(r: EvalResult) -> str:
    tag = f"{r.model} ({r.input})"
    if r.reported:
        tag += f" [{r.reference or 'reported'}]"
    if r.protocol.convention != "standard":
        tag += f" [{r.protocol.convention}]"
    if r.untrained:
        tag += " [untrained]"  # a pipeline check, never a result to compare
    if r.synthetic:
        tag += " [synthetic data]"
    if r.protocol.incomplete or r.protocol.max_sequences is not None:
        tag += " [partial]"  # see EvalResult.partial_reasons
    return tag


def _columns(records: list[EvalResult]) -> list[str]:
    """The H36M 15 in table order when every action is one of them, else the union of actions in order."""
    seen: list[str] = []
    for r in records:
        seen += [a for a in r.per_action if a not in seen]
    if seen and all(a in H36M_ABBREVIATIONS for a in seen):
        return [a for a in H36M_ABBREVIATIONS if a in seen]
    return seen


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def results_frame(records: Iterable[EvalResult], protocol: str | int = 1, frame_average: bool = True) -> pd.DataFrame:
    """Table 1 layout: one row per record, one column per action, Avg (mean over actions), params (M), RF."""
    records = list(records)
    metric = _metric(protocol)
    actions = _columns(records)
    rows = []
    for r in records:
        row: dict[str, object] = {"Method": _label(r)}
        for a in actions:
            cell = r.per_action.get(a)
            row[H36M_ABBREVIATIONS.get(a, a)] = _nan(cell.get(metric) if cell else None)
        row[AVG] = _nan(r.average_over_actions.get(metric))
        if frame_average:
            row[AVG_FRAMES] = _nan(r.average_over_frames.get(metric))
        row["Params (M)"] = math.nan if r.parameters is None else r.parameters / 1e6
        row["RF"] = r.receptive_field
        rows.append(row)
    return pd.DataFrame(rows).set_index("Method") if rows else pd.DataFrame()


def cell_average(record: EvalResult, protocol: str | int) -> float | None:
    """The Table 3 Avg: the mean of the Walk/Jog/Box x S1-S3 cells (None unless all nine are there)."""
    metric = _metric(protocol)
    cells = [record.per_cell.get(s, {}).get(a) for a in HUMANEVA_ACTIONS for s in HUMANEVA_SUBJECTS]
    values = [c.get(metric) for c in cells if c is not None]
    if len(values) != len(cells) or any(v is None for v in values):
        return None
    return float(sum(values)) / len(values)  # type: ignore[arg-type]


def headline_average(record: EvalResult, protocol: str | int) -> float | None:
    """The number a row is ranked by, as its table shows it in the Avg column: for HumanEva-I the mean of its
    nine cells (a paper that printed only an average: that average), else the mean over actions."""
    if record.dataset in _CELL_TABLE_DATASETS:
        cells = cell_average(record, protocol)
        if cells is not None:
            return cells
    return record.average_over_actions.get(_metric(protocol))


def humaneva_frame(records: Iterable[EvalResult], protocol: str | int = 2) -> pd.DataFrame:
    """Table 3 layout: Walk/Jog/Box x S1-S3 cells, their mean, params (M) and RF (Protocol #2 by default)."""
    metric = _metric(protocol)
    rows = []
    for r in records:
        row: dict[str, object] = {"Method": _label(r)}
        for action in HUMANEVA_ACTIONS:
            for subject in HUMANEVA_SUBJECTS:
                cell = r.per_cell.get(subject, {}).get(action)
                row[f"{action} {subject}"] = _nan(cell.get(metric) if cell else None)
        row[AVG] = _nan(headline_average(r, protocol))
        row["Params (M)"] = math.nan if r.parameters is None else r.parameters / 1e6  # same trailing columns as Table 1
        row["RF"] = r.receptive_field
        rows.append(row)
    return pd.DataFrame(rows).set_index("Method") if rows else pd.DataFrame()


def headline_protocol(dataset: str) -> str:
    """The protocol a dataset's papers rank by: ``"2"`` for HumanEva-I (Table 3), ``"1"`` otherwise."""
    return "2" if dataset in _CELL_TABLE_DATASETS else "1"


def table_frame(records: list[EvalResult], protocol: str | int, frame_average: bool = True) -> pd.DataFrame:
    """The papers' layout for the records' dataset: Table 3 cells for HumanEva-I, Table 1 otherwise."""
    if records and {r.dataset for r in records} <= _CELL_TABLE_DATASETS:
        return humaneva_frame(records, protocol)
    return results_frame(records, protocol, frame_average=frame_average)


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy().astype(object)
    for col in out.columns:
        if col == "RF":
            out[col] = [
                ("-" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v))) for v in frame[col]
            ]
        elif any(isinstance(v, str) for v in frame[col]):  # a text column, e.g. the leaderboard's notes
            out[col] = [v if isinstance(v, str) else "" for v in frame[col]]
        elif col == "Params (M)":
            out[col] = ["-" if math.isnan(v) else f"{v:.2f}" for v in frame[col].astype(float)]
        else:
            out[col] = ["-" if math.isnan(v) else f"{v:.1f}" for v in frame[col].astype(float)]
    return out


#: Characters LaTeX treats as commands, and the symbols the tables use, as text-mode LaTeX.
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "Δ": r"$\Delta$", "—": "---", "–": "--",
    "±": r"$\pm$", "×": r"$\times$",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """``text`` as LaTeX that pdflatex compiles: special characters escaped, symbols as math."""
    out = "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))
    return "{}" + out if out.startswith("[") else out  # a cell opening with [ would be read as \\[...]


def _latex(text: pd.DataFrame, title: str) -> str:
    """A booktabs tabular: the method column left-aligned, every number right-aligned."""
    header = [text.index.name or "Method", *map(str, text.columns)]
    lines = [f"% {title}"] if title else []
    lines += [
        "% needs \\usepackage{booktabs}",
        "\\begin{tabular}{l" + "r" * len(text.columns) + "}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    lines += [
        " & ".join(latex_escape(c) for c in (method, *row)) + " \\\\" for method, row in zip(text.index, text.values)
    ]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def render(frame: pd.DataFrame, fmt: str = "markdown", title: str = "", unit: str = "mm") -> str:
    """Render a table frame; numbers with one decimal (params in millions, two decimals); ``unit`` for JSON."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    if fmt == "json":
        rows = []
        for method, values in frame.iterrows():
            clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()}
            row: dict[str, object] = {"method": method}
            for k, v in clean.items():
                if v is None or isinstance(v, str):
                    row[k] = v
                elif k == "RF":
                    row[k] = int(v)
                else:
                    row[k] = round(float(v), 2 if k == "Params (M)" else 1)
            rows.append(row)
        return json.dumps({"title": title, "unit": unit, "rows": rows}, indent=2, ensure_ascii=False)
    text = _formatted(frame)
    if fmt == "csv":
        return text.to_csv()
    if fmt == "latex":
        return _latex(text, title)
    if fmt == "markdown":
        from tabulate import tabulate

        body = tabulate(text, headers="keys", tablefmt="github", disable_numparse=True, stralign="right")
        return (f"**{title}**\n\n" if title else "") + body
    from tabulate import tabulate

    return (f"{title}\n" if title else "") + tabulate(
        text, headers="keys", tablefmt="simple", disable_numparse=True, stralign="right"
    )


def render_results(records: list[EvalResult], protocol: str | int = 1, fmt: str = "terminal") -> str:
    """The right layout for the records' dataset: Table 3 for HumanEva-I, Table 1 otherwise; MPI-INF-3DHP's
    PCK table (``protocol="sequences"``: per test sequence) from :mod:`gastbench.tables_pck`."""
    if not records:
        raise ConfigError("no result records to render")
    datasets = {r.dataset for r in records}
    if datasets == {"3dhp"}:
        from . import tables_pck

        view = "sequences" if str(protocol) == "sequences" else "scenes"
        frame = tables_pck.view_frame(records, view, _label)
        return render(frame, fmt, tables_pck.table_title(records, view), unit=tables_pck.PCK_UNIT)
    names = {"1": "Protocol #1 (MPJPE, mm)", "2": "Protocol #2 (P-MPJPE, mm)", "n": "N-MPJPE (mm)",
             "velocity": "MPJVE (mm/frame)"}  # fmt: skip
    title = f"{'/'.join(sorted(datasets))} — {names.get(str(protocol), str(protocol))}"
    return render(table_frame(records, protocol), fmt, title)
