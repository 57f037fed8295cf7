"""A leaderboard page: every model on one dataset x 2D input x protocol, one row each, sortable.

The numbers are the cells of :func:`gastbench.leaderboard.leaderboard_table`'s frame (the CLI
leaderboard's), next to what the records and cards add: the mean over frames, the paper's
average, parameters, FLOPs per frame, and each row's convention as badges.
"""

from __future__ import annotations

from ..leaderboard import DIFF_COLUMN, NOTES_COLUMN, headline_average
from ..results import EvalResult
from ..tables import H36M_ABBREVIATIONS, PROTOCOL_METRICS
from .badges import Badge, Scoring, kind_badges, scoring_badges
from .content import Board, SiteContent, record_file, row_anchor
from .html import Cell, Column, Row, badges_html, esc, legend_html, link, num_cell, table_html, text_cell

__all__ = ["board_page_body", "card_page_name", "row_badges"]

_TRAILING = {"Avg", "Params (M)", "RF", DIFF_COLUMN, NOTES_COLUMN, "Convention"}
_FULL_ACTION = {abbr: action for action, abbr in H36M_ABBREVIATIONS.items()}


def card_page_name(card_id: str) -> str:
    return f"card-{card_id}.html"


def _action_key(header: str, dataset: str) -> str:
    """The record key behind a column header: the action (H36M), or ``Action/Subject`` (a HumanEva cell)."""
    if dataset == "humaneva" and " " in header:
        action, subject = header.split(" ", 1)
        return f"{action}/{subject}"
    return _FULL_ACTION.get(header, header)


def row_badges(record: EvalResult, content: SiteContent, has_twin: bool) -> tuple[list[Badge], list[Badge]]:
    """(kind badges, convention badges): a measured row's from its record, a reported row's from its family's paper convention."""
    kinds = kind_badges(record, has_twin)
    if not record.reported:
        return kinds, scoring_badges(Scoring.of_record(record.protocol))
    facts = content.facts_for(record)
    if facts.paper_protocol is None:
        unknown = Badge(
            "unknown", "convention unknown", "the paper convention could not be resolved here (hover: why)", facts.error
        )
        return kinds, [unknown]
    return kinds, scoring_badges(Scoring.of_protocol(facts.paper_protocol))


def _columns(board: Board) -> tuple[list[Column], list[str]]:
    frame = board.table.frame
    headers = [c for c in frame.columns if c not in _TRAILING]
    actions = [
        Column(_action_key(h, board.dataset), h, _action_key(h, board.dataset).replace("/", " of ") + " (mm)")
        for h in headers
    ]
    metric_name = "MPJPE" if board.protocol == 1 else "P-MPJPE"
    columns = [
        Column("rank", "#", "rank by Avg (the order the page opens in)"),
        Column("model", "Model", "registered model name; links to its zoo card", numeric=False),
        Column("kind", "Kind", "measured by gastbench or reported in a paper", numeric=False),
        Column("convention", "Convention", "how the row was scored (hover a badge, or see the legend)", numeric=False),
        *actions,
        Column("avg", "Avg", f"mean of the per-action {metric_name} (the papers' Avg), mm"),
        Column("avg_frames", "Avg (frames)", f"{metric_name} averaged over every evaluated frame (measured rows), mm"),
        Column("paper_avg", "Paper Avg", "the Avg the paper reports for this model and input, mm"),
        Column("diff", "Δ vs paper", "measured Avg minus the paper's Avg, mm (negative: lower error than reported)"),
        Column("params", "Params (M)", "parameters, millions"),
        Column("flops", "MFLOPs / frame", "floating-point operations per output frame of a whole sequence, millions"),
        Column("rf", "RF", "receptive field, frames"),
        Column("weights", "Weights", "sha256 of the weights (links to the zoo card)", numeric=False),
        Column(
            "record",
            "Record",
            "the result record the row is read from (JSON), or the card holding the paper's numbers",
            numeric=False,
        ),
    ]
    return columns, headers


def _model_cell(record: EvalResult, content: SiteContent) -> Cell:
    card = content.card_for(record)
    if card is None:
        return text_cell(esc(record.model), record.model)
    return text_cell(link(card_page_name(card.id), record.model, f"zoo card {card.id}"), record.model)


def _weights_cell(record: EvalResult, content: SiteContent) -> Cell:
    card = content.card_for(record)
    if record.reported:
        return text_cell(link(card_page_name(card.id), "paper", record.paper) if card else esc("paper"), "paper")
    sha = (record.weights or {}).get("sha256") or ""
    label = sha[:8] or str((record.weights or {}).get("source") or "?")
    body = (
        link(card_page_name(card.id), label, f"sha256 {sha}")
        if card
        else f'<span title="sha256 {esc(sha)}">{esc(label)}</span>'
    )
    return text_cell(body, label)


def _record_cell(record: EvalResult, content: SiteContent) -> Cell:
    if record.reported:
        card = content.card_for(record)
        body = link(card_page_name(card.id) + "#reported", "card", record.paper) if card else esc(record.paper)
        return text_cell(body, record.paper)
    return text_cell(link(record_file(record), "JSON", "the result record, as read"), record_file(record))


def _rows(board: Board, content: SiteContent, headers: list[str]) -> tuple[list[Row], list[Badge]]:
    frame, metric = board.table.frame, PROTOCOL_METRICS[str(board.protocol)]
    measured_keys = {(r.model, r.dataset, r.input) for r in board.table.records if not r.reported}
    rows, legend = [], []
    for rank, (record, (_, values)) in enumerate(zip(board.table.records, frame.iterrows()), start=1):
        key = (record.model, record.dataset, record.input)
        kinds, scoring = row_badges(record, content, key in measured_keys)
        legend += kinds + scoring
        facts = content.facts_for(record)
        flops = facts.flops_per_frame
        cells: dict[str, Cell] = {
            "rank": num_cell(rank, 0),
            "model": _model_cell(record, content),
            "kind": text_cell(badges_html(kinds), kinds[0].label),
            "convention": text_cell(badges_html(scoring), " ".join(b.label for b in scoring)),
            "avg": num_cell(values["Avg"]),
            "avg_frames": num_cell(None if record.reported else record.average_over_frames.get(metric)),
            "paper_avg": num_cell(None if record.reported else board.table.paper_averages.get(key)),
            "diff": num_cell(values[DIFF_COLUMN]),
            "params": num_cell(values["Params (M)"], 2),
            "flops": num_cell(flops, 2, 1e6)
            if flops is not None
            else Cell(f'<span title="{esc(facts.error)}">–</span>', None, "num missing"),
            "rf": num_cell(values["RF"], 0),
            "weights": _weights_cell(record, content),
            "record": _record_cell(record, content),
        }
        for header in headers:
            cells[_action_key(header, board.dataset)] = num_cell(values[header])
        attrs = {"id": row_anchor(record), "data-model": record.model, "data-kind": record.kind}
        card = content.card_for(record)
        if record.reported:
            attrs["data-card"] = card.id if card else ""
        else:
            attrs["data-record"] = record_file(record)
        attrs["data-headline"] = repr(headline_average(record, board.protocol))
        rows.append(Row(cells, attrs))
    return rows, legend


def board_page_body(board: Board, content: SiteContent) -> str:
    columns, headers = _columns(board)
    rows, legend = _rows(board, content, headers)
    siblings = [b for b in content.boards if (b.dataset, b.input) == (board.dataset, board.input) and b is not board]
    other = " ".join(link(b.file, f"Protocol #{b.protocol}") for b in siblings)
    measured = sum(not r.reported for r in board.table.records)
    intro = (
        f"<p>{measured} measured row(s) and {len(board.table.records) - measured} reported row(s), ranked by Avg. "
        "Measured rows are gastbench evaluations of released weights (their badges show the protocol the record says "
        "was applied); reported rows are numbers printed in papers, scored under each paper's own convention (their "
        "badges come from that family's <code>PaperConvention</code>, the one <code>--convention paper</code> "
        'reproduces: <a href="conventions.html">protocols &amp; conventions</a>). '
        + (
            "Partial records are included (<code>--include-partial</code>) and marked <em>partial</em>. "
            if content.include_partial
            else "Partial records (untrained, <code>--max-sequences</code>, synthetic or incomplete data) are left "
            "out, as in <code>gastbench leaderboard</code>. "
        )
        + "Click a column header to sort.</p>"
    )
    nav = f'<p class="siblings">Also: {other}</p>' if other else ""
    table = table_html("board", columns, rows, caption=board.title)
    return "\n".join([intro, nav, table, legend_html(legend)])
