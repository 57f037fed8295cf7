"""``build_site``: every page, asset, record copy and plot of the site, planned in memory, then written.

Nothing is written until every page has rendered, so bad input costs nothing on disk; the folder
rules are :mod:`gastbench.site.folder`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .. import __version__
from ..cards import Card
from ..errors import ConfigError
from ..viz.plots import plot_actions
from .badges import Badge
from .board_page import board_page_body, card_page_name
from .card_page import card_page_body, card_plots, citing_records
from .content import DATASET_NAMES, SiteContent, gather, record_file, row_anchor
from .conventions_page import conventions_page_body
from .folder import check_site_dir, prepare_site_dir
from .html import CSS, JS, badge_html, esc, link, page

__all__ = ["SiteReport", "build_site"]

log = logging.getLogger(__name__)


@dataclass
class SiteReport:
    """What a build wrote: the folder, its pages (relative paths), the leaderboards and their row counts."""

    out_dir: str
    pages: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    boards: list[dict[str, object]] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    records: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _index_body(content: SiteContent) -> str:
    boards = []
    keys = sorted({(b.dataset, b.input) for b in content.boards})
    for dataset, input in keys:
        mine = [b for b in content.boards if (b.dataset, b.input) == (dataset, input)]
        links = " · ".join(link(b.file, f"Protocol #{b.protocol}") for b in mine)
        rows = {row_anchor(r): r for b in mine for r in b.table.records}  # a row on either protocol's page, once
        measured = sum(not r.reported for r in rows.values())
        boards.append(
            f"<tr><th>{esc(DATASET_NAMES.get(dataset, dataset))}</th><td><code>{esc(input)}</code></td><td>{links}</td>"
            f'<td class="num">{measured}</td><td class="num">{len(rows) - measured}</td></tr>'
        )
    cards = []
    for card in content.cards:
        status = Badge("status", card.status, f"weights status: {card.status}")
        cards.append(
            f"<tr><th>{link(card_page_name(card.id), card.id)}</th><td><code>{esc(card.lifter)}</code></td>"
            f"<td>{esc(card.dataset)}</td><td><code>{esc(card.input)}</code></td><td>{badge_html(status)}</td>"
            f'<td>{esc(card.license)}</td><td class="num">{len(citing_records(card, content))}</td></tr>'
        )
    return f"""<p>Leaderboards of 2D-to-3D human pose lifting, generated from gastbench's result records and zoo
cards. Each page shows every model on one dataset, 2D input and protocol, with the convention each number was
scored under; <a href="conventions.html">protocols &amp; conventions</a> explains the standard protocol and each
paper's own.</p>
<h2 id="leaderboards">Leaderboards</h2>
<table class="kv" id="boards"><thead><tr><th>dataset</th><th>2D input</th><th>pages</th><th>measured rows</th>
<th>reported rows</th></tr></thead><tbody>{"".join(boards)}</tbody></table>
<h2 id="cards">Zoo cards</h2>
<table class="kv" id="card-list"><thead><tr><th>card</th><th>lifter</th><th>dataset</th><th>2D input</th>
<th>weights</th><th>licence</th><th>records</th></tr></thead><tbody>{"".join(cards)}</tbody></table>
<p>Regenerate with <code>gastbench site OUT_DIR</code>.</p>"""


def _asset(name: str) -> str:
    return resources.files("gastbench.site").joinpath("assets", name).read_text(encoding="utf-8")


def _record_json(content: SiteContent) -> dict[str, str]:
    return {record_file(r): json.dumps(r.to_dict(), indent=2) + "\n" for r in content.measured}


def build_site(
    out_dir: str | Path,
    *,
    runs_dirs: Iterable[str | Path] = (),
    cards: list[Card] | None = None,
    include_partial: bool = False,
    overwrite: bool = False,
) -> SiteReport:
    """Write the static site for every record (the zoo's ``results/`` and ``runs_dirs``) and card into ``out_dir``."""
    content = gather(runs_dirs, cards, include_partial)
    plots = [plan for card in content.cards for plan in card_plots(card, content)]
    pages = sorted(
        [b.file for b in content.boards]
        + [card_page_name(c.id) for c in content.cards]
        + ["conventions.html", "index.html"]
    )
    records = _record_json(content)
    planned = [*pages, CSS, JS, *records, *(p.file for p in plots)]
    clashes = sorted({name for name in planned if planned.count(name) > 1})
    if clashes:
        raise ConfigError(f"two pages of the site would share a file name ({clashes[0]}): rename a dataset or input")
    # The folder is checked before the pages render (building every model takes a while), written after.
    reads = {"inputs": content.inputs, "read_folders": content.record_folders}
    check_site_dir(out_dir, overwrite=overwrite, planned=planned, **reads)
    texts: dict[str, str] = {}
    for board in content.boards:
        texts[board.file] = page(board.title, board_page_body(board, content), __version__)
    for card in content.cards:
        texts[card_page_name(card.id)] = page(f"Zoo card {card.id}", card_page_body(card, content), __version__)
    texts["conventions.html"] = page(
        "Protocols and paper conventions", conventions_page_body(content.catalog.families()), __version__
    )
    texts["index.html"] = page("gastbench leaderboards", _index_body(content), __version__)
    texts[CSS] = _asset("site.css")
    texts[JS] = _asset("sort.js")
    texts.update(records)
    out = prepare_site_dir(out_dir, overwrite=overwrite, planned=planned, **reads)
    for name, text in texts.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for plan in plots:
        plot_actions(list(plan.records), out / plan.file, metric=plan.metric)
    log.info("site: %d pages, %d plots in %s", len(pages), len(plots), out)
    return SiteReport(
        out_dir=str(out),
        pages=pages,
        files=sorted(planned),
        boards=[
            {
                "dataset": b.dataset,
                "input": b.input,
                "protocol": b.protocol,
                "page": b.file,
                "rows": len(b.table.records),
            }
            for b in content.boards
        ],
        cards=[c.id for c in content.cards],
        records=len(content.measured),
        warnings=content.warnings,
    )
