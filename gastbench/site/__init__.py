"""A static, self-contained website of the leaderboards and the zoo, generated from result records and cards.

A view, like :mod:`gastbench.tables` and :mod:`gastbench.leaderboard`: it reads records, cards and
the registered families' conventions and writes HTML (standard library), one CSS and one small
sorting script beside the pages, and SVG plots. No server, no CDN, nothing fetched when a page opens.

- one page per dataset x 2D input x protocol (:mod:`~.board_page`), one per zoo card
  (:mod:`~.card_page`), one on the protocols (:mod:`~.conventions_page`) and an index;
- FLOPs per frame are counted on the registered model (:func:`gastbench.flop_count.flops_per_frame`, the
  figure the benchmarks quote).
"""

from __future__ import annotations

from .build import SiteReport, build_site
from .folder import SITE_MARKER

__all__ = ["SITE_MARKER", "SiteReport", "build_site"]
