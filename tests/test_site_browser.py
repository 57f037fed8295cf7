"""The static site in a real browser: Debian's chromium, driven by its chromedriver through Selenium.

The site is generated from the committed records (``zoo/results``) and cards (``zoo/*.toml``) only.
Numbers are read from the rendered DOM and compared with the record files and card files read here
directly; a column header is clicked and the order checked; every link, image, stylesheet and script
of every page is followed; and a screenshot of the Human3.6M page is saved to
``docs/images/site_h36m.png`` (the README shows it). Pages are opened from ``file://``: no server.

Skips with the reason when selenium, chromium or chromedriver is missing (``.ci/run`` installs them;
``pip install "gastbench[site-test]"`` and ``apt-get install chromium chromium-driver`` by hand).
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from gastbench.site import build_site

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "images" / "site_h36m.png"
SCREENSHOT_PAGE = "leaderboard-h36m-cpn-p1.html"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)  # fmt: skip
METRIC = {1: "mpjpe_mm", 2: "p_mpjpe_mm"}


def _browser_paths() -> tuple[str, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip('selenium is not installed: pip install "gastbench[site-test]" to run the browser test')
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if chromium is None:
        pytest.skip("no chromium browser on PATH: apt-get install chromium chromium-driver to run the browser test")
    driver = shutil.which("chromedriver")
    if driver is None:
        pytest.skip("no chromedriver on PATH: apt-get install chromium-driver to run the browser test")
    return chromium, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="gastbench-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1600,1000")
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))  # no driver download
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    no_runs = tmp_path_factory.mktemp("no-runs")  # the committed zoo only: no one's local runs
    report = build_site(tmp_path_factory.mktemp("site") / "site", runs_dirs=[no_runs])
    return Path(report.out_dir), report


def _open(browser: Any, path: Path) -> None:
    browser.get(path.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"


_ROWS_JS = """
return Array.from(document.querySelectorAll('#board tbody tr')).map(tr => ({
  attrs: Object.fromEntries(Array.from(tr.attributes).map(a => [a.name, a.value])),
  cells: Object.fromEntries(Array.from(tr.cells).map(td => [td.dataset.key, td.innerText.trim()])),
}));
"""


def _committed_records() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "zoo" / "results").glob("*.json"))]


def _committed_cards() -> list[dict[str, Any]]:
    return [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "zoo").glob("*.toml"))]


def _record_value(record: dict[str, Any], key: str, metric: str) -> float | None:
    if "/" in key:  # a HumanEva-I cell, Action/Subject
        action, subject = key.split("/")
        return record["per_cell"].get(subject, {}).get(action, {}).get(metric)
    return record["per_action"].get(key, {}).get(metric)


def _shown(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def test_numbers_in_the_dom_equal_the_records_and_cards(browser: Any, site: tuple[Path, Any]) -> None:
    out, report = site
    records, cards = _committed_records(), _committed_cards()
    assert any(b["dataset"] == "h36m" for b in report.boards) and any(b["dataset"] == "humaneva" for b in report.boards)
    checked = 0
    for board in report.boards:
        dataset, input, protocol = board["dataset"], board["input"], board["protocol"]
        metric = METRIC[protocol]
        _open(browser, out / board["page"])
        rows = browser.execute_script(_ROWS_JS)
        mine = [r for r in records if (r["dataset"], r["input"]) == (dataset, input)]
        papers = [
            c
            for c in cards
            if (c["dataset"], c["input"]) == (dataset, input)
            and c.get("reported", {}).get(f"p{protocol}_avg") is not None
        ]
        assert sorted(r["attrs"]["data-model"] for r in rows) == sorted(
            [r["model"] for r in mine] + [c["lifter"] for c in papers]
        )
        action_keys = [k for k in rows[0]["cells"] if k[:1].isupper()]  # action columns are keyed by action name
        for row in rows:
            cells = row["cells"]
            if row["attrs"]["data-kind"] == "measured":
                # two records of one model on one board (say both conventions) are told apart by the site's copy
                copy = json.loads((out / row["attrs"]["data-record"]).read_text(encoding="utf-8"))
                record = next(r for r in mine if (r["model"], r["timestamp"]) == (copy["model"], copy["timestamp"]))
                values = [_record_value(record, k, metric) for k in action_keys]
                for key, value in zip(action_keys, values):
                    assert cells[key] == _shown(value), (board["page"], row["attrs"]["data-model"], key)
                avg = sum(values) / len(values) if dataset == "humaneva" else record["average_over_actions"][metric]  # type: ignore[arg-type]
                assert cells["avg"] == _shown(avg)
                assert cells["avg_frames"] == _shown(record["average_over_frames"][metric])
                assert cells["params"] == _shown(record["parameters"] / 1e6, 2)
                assert cells["rf"] == str(record["receptive_field"])
                assert cells["weights"] == record["weights"]["sha256"][:8]
                assert "measured" in cells["kind"] and record["protocol"]["convention"] in cells["convention"]
            else:
                card = next(c for c in papers if c["lifter"] == row["attrs"]["data-model"])
                rep = card["reported"]
                numbers = dict(zip(rep.get("actions", []), rep.get(f"p{protocol}", [])))
                for key in action_keys:
                    assert cells[key] == _shown(numbers.get(key)), (board["page"], card["id"], key)
                assert cells["avg"] == _shown(rep[f"p{protocol}_avg"])
                assert "reported" in cells["kind"]
            checked += 1
    assert checked >= 20


def _column(browser: Any, key: str) -> list[str]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll('#board tbody td[data-key=\"{key}\"]')).map(td => td.dataset.value);"
    )


def test_clicking_a_header_sorts_the_column(browser: Any, site: tuple[Path, Any]) -> None:
    from selenium.webdriver.common.by import By

    out, _ = site
    _open(browser, out / SCREENSHOT_PAGE)
    header = browser.find_element(By.CSS_SELECTOR, '#board th[data-key="avg"]')
    opening = [float(v) for v in _column(browser, "avg")]
    assert opening == sorted(opening)  # the page opens ranked by Avg
    header.click()
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    descending = [float(v) for v in _column(browser, "avg")]
    assert descending == sorted(opening, reverse=True) and header.get_attribute("aria-sort") == "descending"
    browser.find_element(By.CSS_SELECTOR, '#board th[data-key="model"]').click()
    models = _column(browser, "model")
    assert models == sorted(models)
    browser.find_element(By.CSS_SELECTOR, '#board th[data-key="Directions"]').click()
    values = _column(browser, "Directions")
    present = [float(v) for v in values if v]
    assert present == sorted(present) and values[len(present) :] == [""] * (len(values) - len(present))  # missing last


_TARGETS_JS = """
return {
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  assets: Array.from(document.querySelectorAll('img[src], script[src], link[href]')).map(e => e.src || e.href),
  broken_images: Array.from(document.querySelectorAll('img')).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  sheets: document.styleSheets.length,
  header_background: getComputedStyle(document.querySelector('header')).backgroundColor,
  sortable: Array.from(document.querySelectorAll('table.sortable th')).every(th => th.hasAttribute('aria-sort')),
};
"""


def test_every_link_resolves(browser: Any, site: tuple[Path, Any]) -> None:
    out, report = site
    root = out.resolve()
    queue, seen, external = ["index.html"], set(), set()
    anchors: list[tuple[str, str, str]] = []
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        _open(browser, root / name)
        found = browser.execute_script(_TARGETS_JS)
        assert found["sheets"] >= 1 and found["header_background"] not in ("", "rgba(0, 0, 0, 0)"), (
            f"{name}: CSS not applied"
        )
        assert found["sortable"], f"{name}: the sorting script did not run"
        assert not found["broken_images"], f"{name}: images that do not load: {found['broken_images']}"
        for url in found["links"] + found["assets"]:
            parsed = urlparse(url)
            if parsed.scheme == "https":
                external.add(url)  # offline: named, never fetched
                continue
            assert parsed.scheme == "file", f"{name}: unexpected link {url}"
            target = Path(unquote(parsed.path))
            assert target.is_file() and root in target.resolve().parents, (
                f"{name}: {url} does not resolve inside the site"
            )
            relative = target.resolve().relative_to(root).as_posix()
            if parsed.fragment:
                anchors.append((name, relative, parsed.fragment))
            if relative.endswith(".html"):
                queue.append(relative)
    assert seen == set(report.pages), f"pages not reachable from index.html: {set(report.pages) - seen}"
    for source, page, fragment in anchors:
        _open(browser, root / page)
        assert browser.execute_script("return document.getElementById(arguments[0]) !== null", fragment), (
            f"{source}: {page}#{fragment}"
        )
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors
    assert all(url.startswith(("https://github.com/", "https://huggingface.co/")) for url in external), external


def test_screenshot_of_the_human36m_page(browser: Any, site: tuple[Path, Any]) -> None:
    out, _ = site
    browser.set_window_size(1920, 1000)
    _open(browser, out / SCREENSHOT_PAGE)
    height = browser.execute_script("return Math.min(document.documentElement.scrollHeight, 1400)")
    browser.set_window_size(1920, int(height) + 100)  # the window, not the page: room for the browser's own frame
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, tall = struct.unpack(">II", png[16:24])
    assert width >= 1200 and tall >= 600 and len(png) > 20_000
