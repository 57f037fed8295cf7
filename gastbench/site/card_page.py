"""A zoo card's page: the model, its data, its weights, recipe and command, the paper's numbers,
the records computed with its weights, and per-action plots drawn by :func:`gastbench.viz.plots.plot_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cards import Card
from ..errors import GastbenchError
from ..leaderboard import card_record
from ..recipes import effective_recipe
from ..results import EvalResult
from .badges import Badge, Scoring, scoring_badges
from .content import SiteContent, record_file, row_anchor
from .html import badge_html, badges_html, esc, legend_html, link

__all__ = ["PlotPlan", "card_page_body", "card_plots", "citing_records"]

_STATUS = {
    "published": "on the Hub at a pinned revision",
    "local": "trained and hashed, not on the Hub yet",
    "unpublished": "no weights exist yet (hash, size and revision stay empty)",
}
_METRICS = {1: "mpjpe_mm", 2: "p_mpjpe_mm"}


@dataclass(frozen=True)
class PlotPlan:
    """One SVG to draw: the records it compares and the metric."""

    file: str
    records: tuple[EvalResult, ...]
    metric: str
    protocol: int


def citing_records(card: Card, content: SiteContent) -> list[EvalResult]:
    """The measured records computed with this card's weights, newest first."""
    mine = [r for r in content.measured if content.cites(r, card)]
    return sorted(mine, key=lambda r: r.timestamp, reverse=True)


def card_plots(card: Card, content: SiteContent) -> list[PlotPlan]:
    """A plot per protocol that some record (the paper's row or a measured one) has numbers for."""
    reported = card_record(card)
    records = ([reported] if reported is not None else []) + citing_records(card, content)
    plans = []
    for protocol, metric in _METRICS.items():
        with_values = [
            r for r in records
            if any(row.get(metric) is not None for row in (*r.per_action.values(), r.average_over_actions))
        ]  # fmt: skip
        if with_values:
            plans.append(PlotPlan(f"plots/{card.id}-p{protocol}.svg", tuple(with_values), metric, protocol))
    return plans


def _facts_list(items: list[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _weights(card: Card) -> str:
    status = Badge("status", card.status, _STATUS.get(card.status, card.status))
    size = f"{card.size:,} bytes ({card.size / 2**20:.1f} MiB)" if card.size else "–"
    hub = f"https://huggingface.co/{card.repo_id}"
    repo = (
        f'<a class="external" href="{esc(hub)}">{esc(card.repo_id)}</a>'
        if card.status == "published"
        else esc(card.repo_id)
    )
    return _facts_list([
        ("Status", badge_html(status) + " " + esc(status.explanation)),
        ("sha256", f"<code>{esc(card.sha256 or '–')}</code>"),
        ("Size", esc(size)),
        ("Licence", esc(card.license)),
        ("Hub repository", repo),
        ("File", f"<code>{esc(card.filename)}</code>"),
        ("Revision", f"<code>{esc(card.revision or '–')}</code>"),
    ])  # fmt: skip


def _recipe(card: Card) -> str:
    written = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in card.recipe.items())
    try:
        resolved = effective_recipe(card.recipe, f"zoo card {card.id}") if card.recipe else {}
        full = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in resolved.items())
        details = f'<details><summary>Every setting of the recipe</summary><table class="kv">{full}</table></details>'
    except GastbenchError as exc:
        details = f'<p class="warning">{esc(exc)}</p>'
    command = f"<pre><code>{esc(card.command)}</code></pre>" if card.command else "<p>No command recorded.</p>"
    table = f'<table class="kv">{written}</table>' if written else "<p>No recipe recorded.</p>"
    return f'<h2 id="recipe">Recipe and training command</h2>{table}{details if card.recipe else ""}{command}'


def _reported(card: Card) -> str:
    rep = card.reported
    if rep is None:
        return '<h2 id="reported">Reported numbers</h2><p>The card reports no paper numbers.</p>'
    rows = "".join(
        f'<tr><th>{esc(a)}</th><td class="num">{_mm(rep.per_action(1).get(a))}</td><td class="num">{_mm(rep.per_action(2).get(a))}</td></tr>'
        for a in rep.actions
    )
    rows += (
        f'<tr class="avg"><th>Avg</th><td class="num">{_mm(rep.p1_avg)}</td><td class="num">{_mm(rep.p2_avg)}</td></tr>'
    )
    params = f"<p>Parameters reported: {rep.params_m} M.</p>" if rep.params_m is not None else ""
    note = f"<p>Note: {esc(rep.note)}</p>" if rep.note else ""
    return (
        f'<h2 id="reported">Reported numbers</h2><p>Source: {esc(rep.source)}</p>'
        f'<table class="kv" id="reported-table"><thead><tr><th>action</th><th>P1 (mm)</th><th>P2 (mm)</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>{params}{note}"
    )


def _mm(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _citing(card: Card, content: SiteContent) -> tuple[str, list[Badge]]:
    records = citing_records(card, content)
    if not records:
        return '<h2 id="records">Records computed with these weights</h2><p>None yet.</p>', []
    boards = content.boards_with(card)
    rows, legend = [], []
    for r in records:
        badges = scoring_badges(Scoring.of_record(r.protocol))
        legend += badges
        seen = [b for b in boards if any(row_anchor(x) == row_anchor(r) for x in b.table.records)]
        places = " ".join(link(f"{b.file}#{row_anchor(r)}", f"P{b.protocol} board") for b in seen) or "–"
        rows.append(
            f"<tr><td>{link(record_file(r), r.model + ' ' + r.timestamp)}</td><td>{badges_html(badges)}</td>"
            f'<td class="num">{_mm(r.average_over_actions.mpjpe_mm)}</td><td class="num">{_mm(r.average_over_actions.p_mpjpe_mm)}</td>'
            f'<td class="num">{r.frames_evaluated or "–"}</td><td><code>{esc(r.code_revision[:12] or "–")}</code></td><td>{places}</td></tr>'
        )
    head = "<tr><th>record</th><th>convention</th><th>P1 Avg</th><th>P2 Avg</th><th>frames</th><th>code</th><th>leaderboard</th></tr>"
    table = f'<table class="kv" id="citing"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    return f'<h2 id="records">Records computed with these weights</h2>{table}', legend


def card_page_body(card: Card, content: SiteContent) -> str:
    facts = content.catalog.facts(card.lifter, card.layout)
    flops = f"{facts.flops_per_frame / 1e6:.2f} M" if facts.flops_per_frame is not None else f"– ({esc(facts.error)})"
    built = f"{facts.params:,}" if facts.params is not None else "–"
    boards = " ".join(link(b.file, f"P{b.protocol}") for b in content.boards_with(card)) or "–"
    model = _facts_list([
        ("Lifter", f"<code>{esc(card.lifter)}</code> ({esc(facts.paper or '?')}; "
                   f"{link('conventions.html#family-' + facts.family, 'its convention') if facts.family else 'family unknown'})"),
        ("Layout", f"<code>{esc(card.layout)}</code>"),
        ("Dataset and 2D input", f"{esc(card.dataset)} / <code>{esc(card.input)}</code>"),
        ("Parameters", f"card {card.params:,} · built model {built}" if card.params else f"built model {built}"),
        ("Receptive field", esc(card.receptive_field or facts.receptive_field or "–")),
        ("FLOPs per frame", flops),
        ("Leaderboards", boards),
    ])  # fmt: skip
    figures = []
    for plan in card_plots(card, content):
        bars = "record (the paper's row marked [reported])" if any(r.reported for r in plan.records) else "record"
        figures.append(
            f'<figure><img src="{esc(plan.file)}" alt="{esc(card.id)} per-action error, protocol {plan.protocol}">'
            f"<figcaption>Protocol #{plan.protocol}: per-action error, one bar per {esc(bars)}</figcaption></figure>"
        )
    plots = "".join(figures)
    citing, legend = _citing(card, content)
    description = f"<p>{esc(card.description)}</p>" if card.description else ""
    return "\n".join([
        description, '<h2 id="model">Model and data</h2>', model, '<h2 id="weights">Weights</h2>', _weights(card),
        _recipe(card), _reported(card), citing,
        f'<h2 id="plots">Per-action plots</h2>{plots or "<p>No per-action numbers to plot.</p>"}', legend_html(legend),
    ])  # fmt: skip
