"""The compatibility report in a real headless Chromium: matrix, drill-down, filters, no network, no injected script.

Needs Debian's Chromium at /usr/bin/chromium and the playwright Python package (never
`playwright install`: the system browser is driven directly).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remixcheck.report import html as report_html
from remixcheck.report.model import build_model
from remixcheck.report.views import ReportModel
from tests.test_report_model import hostile_results, real

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = Path(__file__).resolve().parent.parent / "reports"

if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
            args=ARGS,
        )
        yield b
        b.close()


class Watched:
    """A page opened from disk, with every request, dialog, console message and page error kept."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(self.url, wait_until="load")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_quiet(self) -> None:
        assert self.requests == [self.url]
        assert self.dialogs == []
        assert self.errors == []
        assert self.console == []  # a CSP violation or a script error would be logged here


def _page(browser: Any, model: ReportModel, path: Path) -> Watched:
    path.write_text(report_html.render_model(model), encoding="utf-8")
    return Watched(browser, path)


def test_matrix_drilldown_filters_offline(browser: Any, tmp_path: Path) -> None:
    model = build_model(real())
    w = _page(browser, model, tmp_path / "compat.html")
    page = w.page
    try:
        assert page.title() == model.title
        assert page.locator("#filters").is_visible()  # the script ran, so its CSP hash matched

        # The matrix: one row per check, and per target the right count of each verdict.
        assert page.locator("#matrix-table tbody tr").count() == len(model.rows)
        for t in model.targets:
            for outcome, n in t.counts.items():
                assert (
                    page.locator(
                        f'#matrix-table td[data-col="{t.key}"][data-outcome="{outcome}"]'
                    ).count()
                    == n
                )
            score = page.locator(f'#matrix-table tfoot td[data-col="{t.key}"][data-score]')
            assert score.inner_text().startswith(f"{t.score.passed}/{t.score.applicable}")

        # A click on a violation cell opens its drill-down and brings it into view.
        row = next(r for r in model.rows if any(c.outcome == "violation" for c in r.cells))
        cell = next(c for c in row.cells if c.outcome == "violation")
        details = page.locator(f"#{cell.anchor}")
        assert details.evaluate("d => d.open") is False
        page.click(f'#{row.anchor} a[data-open="{cell.anchor}"]')
        assert details.evaluate("d => d.open") is True
        assert details.locator("table.findings").is_visible()
        assert cell.findings[0].message[:40] in details.inner_text()
        assert (
            page.evaluate(f"document.getElementById('{cell.anchor}').getBoundingClientRect().top")
            < 1000
        )

        # And from the keyboard: focus another summary, press Enter.
        other = next(c for r in model.rows for c in r.cells if c.outcome == "deviation")
        summary = page.locator(f"#{other.anchor} > summary")
        summary.focus()
        page.keyboard.press("Enter")
        assert page.locator(f"#{other.anchor}").evaluate("d => d.open") is True

        # Target filter: a column disappears from both tables and comes back.
        first = model.targets[0]
        box = page.locator(f'input[data-filter="target"][value="{first.key}"]')
        box.uncheck()
        assert page.locator(f'#matrix-table th[data-col="{first.key}"]').is_hidden()
        assert page.locator(f'#fields-table td[data-col="{first.key}"]').first.is_hidden()
        assert page.locator(f"#{cell.anchor}").is_visible() == (
            model.targets[cell.col].key != first.key
        )
        box.check()
        assert page.locator(f'#matrix-table th[data-col="{first.key}"]').is_visible()

        # Verdict filter: without "pass", rows where every target passed are gone.
        page.locator('input[data-filter="verdict"][value="pass"]').uncheck()
        expected = sum(1 for r in model.rows if any(c.outcome != "pass" for c in r.cells))
        assert page.locator("#matrix-table tbody tr:visible").count() == expected
        assert (
            page.locator("#filter-status").inner_text()
            == f"Showing {expected} of {len(model.rows)} checks and {len(model.targets)} of {len(model.targets)} targets."
        )

        # Family filter: the negative family leaves the matrix and the drill-down.
        negative = next(f for f in model.families if f.name == "negative")
        page.locator('button[data-action="all"]').click()
        page.locator(f'input[data-filter="family"][value="{negative.key}"]').uncheck()
        assert (
            page.locator("#matrix-table tbody tr:visible").count()
            == len(model.rows) - negative.checks
        )
        assert (
            page.locator(
                f'#drilldown [data-drill-group][data-family="{negative.key}"]:visible'
            ).count()
            == 0
        )

        # "Only problems": skipped and passing rows go.
        page.locator('button[data-action="all"]').click()
        page.locator('button[data-action="problems"]').click()
        problems = sum(
            1
            for r in model.rows
            if any(c.outcome in ("deviation", "violation", "error") for c in r.cells)
        )
        assert page.locator("#matrix-table tbody tr:visible").count() == problems
        page.locator('button[data-action="all"]').click()

        _screenshots(page, model)
        w.assert_quiet()
    finally:
        w.context.close()


def _screenshots(page: Any, model: ReportModel) -> None:
    """Pictures for a reviewer: the top of the page, the field matrix, an open drill-down."""
    REPORTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.screenshot(path=str(REPORTS / "compat-screenshot.png"))
    page.evaluate("document.getElementById('fields').scrollIntoView({block: 'start'})")
    page.screenshot(path=str(REPORTS / "compat-screenshot-fields.png"))
    cell = next(c for r in model.rows for c in r.cells if c.outcome == "deviation" and c.exchanges)
    page.evaluate(f"document.getElementById('{cell.anchor}').open = true")
    page.evaluate(f"document.getElementById('{cell.anchor}').scrollIntoView({{block: 'start'}})")
    page.screenshot(path=str(REPORTS / "compat-screenshot-drilldown.png"))


def test_hostile_payloads_never_run(browser: Any, tmp_path: Path) -> None:
    model = build_model([hostile_results(), real()[0]])
    w = _page(browser, model, tmp_path / "hostile.html")
    page = w.page
    try:
        assert page.title() == model.title
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img, iframe, object, embed").count() == 0
        # Open everything, so any payload that became markup would be live now.
        page.locator('button[data-action="expand"]').click()
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(100)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.title() == model.title
        # shown as text
        assert "<script>window.__pwned=1" in page.locator("#drilldown").inner_text()
        assert page.locator("#filters").is_visible()
        w.assert_quiet()
    finally:
        w.context.close()


def test_client_impact_matrix(browser: Any, tmp_path: Path) -> None:
    from remixcheck.report.clients import ClientsSection

    model = build_model(real()[:1])
    section = model.section("clients")
    assert isinstance(section, ClientsSection)
    w = _page(browser, model, tmp_path / "clients.html")
    page = w.page
    try:
        rows = page.locator("#clients-table tbody tr")
        assert rows.count() == len(section.rows) >= 4
        for row in section.rows:
            for cell in row.cells:
                t = model.targets[cell.col]
                shown = page.locator(
                    f'#clients-table tr[data-stack="{row.id}"] td[data-col="{t.key}"]'
                )
                assert shown.get_attribute("data-status") == cell.status
                assert cell.label in shown.inner_text()
                if cell.first is not None:
                    assert cell.first.field in shown.inner_text()
        headlines = page.locator("#clients .client-headlines li")
        assert headlines.count() == len(model.targets)
        assert (
            "breaks strict clients generated from OpenAI's document" in headlines.first.inner_text()
        )
        assert page.locator(
            '#clients-table tr[data-stack="typed-decoding-rules"] .tag'
        ).inner_text() == ("rules, not a client run")
        # The target filter hides a column here too.
        first = model.targets[0]
        page.locator(f'input[data-filter="target"][value="{first.key}"]').uncheck()
        assert page.locator(f'#clients-table th[data-col="{first.key}"]').is_hidden()
        page.locator(f'input[data-filter="target"][value="{first.key}"]').check()
        REPORTS.mkdir(exist_ok=True)
        page.locator("#clients").screenshot(path=str(REPORTS / "compat-screenshot-clients.png"))
        w.assert_quiet()
    finally:
        w.context.close()
