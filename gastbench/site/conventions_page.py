"""The protocols page: gastbench's standard protocol and each family's paper convention.

Both come from :func:`gastbench.evaluation.resolve_protocol` applied to a built model of each
family, the call the evaluation makes, and from the family's :class:`~gastbench.lifter.PaperConvention`
itself; nothing here is retyped from the papers.
"""

from __future__ import annotations

from dataclasses import asdict

from ..data import h36m, humaneva
from .badges import RECENTER_MEANING, Badge, Scoring, scoring_badges
from .html import badges_html, esc, legend_html
from .model_facts import ModelFacts

__all__ = ["conventions_page_body"]


def _standard(families: list[ModelFacts]) -> tuple[str, list[Badge]]:
    built = [f for f in families if f.standard_protocol is not None]
    if not built:
        return "<p>No registered model could be built here, so the protocol cannot be shown.</p>", []
    standard = built[0].standard_protocol
    assert standard is not None
    badges = [b for b in scoring_badges(Scoring.of_protocol(standard)) if b.kind != "joints"]
    joints = ", ".join(
        f"{esc(f.family)}: {f.standard_protocol.joints.num_joints} ({esc(f.standard_protocol.joints.name)})"
        for f in built
        if f.standard_protocol is not None
    )
    excluded = "; ".join(f"{s} {a} ({why})" for (s, a), why in h36m.EXCLUDED.items())
    average = (
        "mean over actions (each frame-weighted within its action)"
        if standard.average == "actions"
        else "mean over frames"
    )
    body = f"""
<p>Every measured leaderboard row is scored the same way unless its badges say otherwise:</p>
<p>{badges_html(badges)}</p>
<ul>
<li>Scored frames: every {standard.score_stride if standard.score_stride > 1 else ""}{"th " if standard.score_stride > 1 else ""}test frame; centring: {esc(RECENTER_MEANING[standard.recenter])}.</li>
<li>Test-time flip: {"on" if standard.flip else "off"}; arithmetic: {esc(standard.precision)}.</li>
<li>Joints averaged: the model's output joints ({joints}).</li>
<li>Headline Avg: {esc(average)}; the mean over frames is shown beside it, labelled.</li>
<li>Human3.6M test subjects: {esc(", ".join(h36m.SPLITS["test"]))}, all cameras; left out: {esc(excluded)}.</li>
<li>HumanEva-I test split: {esc(humaneva.SPLITS["test"])}/{esc(", ".join(humaneva.SUBJECTS))}.</li>
</ul>"""
    return body, badges


def _family_rows(families: list[ModelFacts]) -> tuple[str, list[Badge]]:
    rows, legend = [], []
    for f in families:
        anchor = f'id="family-{esc(f.family)}"'
        url = (
            f'<a class="external" href="{esc(f.url)}">{esc(f.url)}</a>'
            if f.url.startswith("https://")
            else esc(f.url or "–")
        )
        if f.paper_protocol is None or f.convention is None:
            rows.append(f"<tr {anchor}><th>{esc(f.family)}</th><td>{esc(f.paper or '–')}</td><td><code>{esc(f.name)}</code></td>"
                        f"<td colspan=\"3\" class=\"warning\">{esc(f.error)}</td></tr>")  # fmt: skip
            continue
        badges = scoring_badges(Scoring.of_protocol(f.paper_protocol))
        legend += badges
        raw = ", ".join(f"{k}={v!r}" for k, v in asdict(f.convention).items() if k != "note")
        rows.append(
            f"<tr {anchor}><th>{esc(f.family)}</th><td>{esc(f.paper)}<br>{url}</td><td><code>{esc(f.name)}</code> "
            f'({esc(f.layout)})</td><td>{badges_html(badges)}<br><code class="raw">PaperConvention({esc(raw)})</code></td>'
            f"<td>{esc(f.paper_protocol.joints.name)}: {f.paper_protocol.joints.num_joints} of "
            f"{f.standard_protocol.joints.num_joints if f.standard_protocol else '?'}</td><td>{esc(f.convention.note or '–')}</td></tr>"
        )
    head = "<tr><th>family</th><th>paper and code</th><th>resolved on</th><th>convention</th><th>joints averaged</th><th>why (from the convention's note)</th></tr>"
    return f'<table class="kv" id="families"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>', legend


def conventions_page_body(families: list[ModelFacts]) -> str:
    standard, standard_badges = _standard(families)
    table, family_badges = _family_rows(families)
    glossary = "".join(f"<dt><code>{esc(k)}</code></dt><dd>{esc(v)}</dd>" for k, v in RECENTER_MEANING.items())
    return "\n".join([
        '<h2 id="standard">The standard protocol</h2>', standard,
        '<h2 id="paper">Each family\'s paper convention</h2>',
        "<p>How each family's authors scored the numbers they published, all of it, so that a reported row can be "
        "matched: <code>gastbench eval --convention paper</code> applies exactly this, and every reported row on the "
        "leaderboards carries these badges. Each convention is checked frame by frame against its authors' own "
        "evaluation code.</p>", table,
        '<h2 id="centring">Centring modes</h2>', f'<dl class="facts">{glossary}</dl>',
        legend_html(standard_badges + family_badges),
    ])  # fmt: skip
