"""A HAR that a browser wrote, not our test helper: Chromium (driven by Playwright) records
its traffic to an emulator on loopback, and `remixcheck validate` reads it whole and cut
into ranges of entries (-j 3) with the same report, the key nowhere in it.

Needs Debian's Chromium and the playwright Python package, as tests/test_report_browser.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from remixcheck.emulator import running_emulator
from remixcheck.traffic import pieces
from remixcheck.validation import parallel
from tests.conftest import run_cli
from tests.test_report_browser import ARGS, CHROMIUM

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)
if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
    pytest.skip(f"Chromium is not installed at {CHROMIUM}", allow_module_level=True)

REMIXES = 80  # ~160 entries, ~390 KB: past the 256 KB under which a file stays whole


def _record_har(path: Path) -> tuple[str, int]:
    """Chromium retrieves the source video and remixes it REMIXES times, then retrieves each
    job (same-origin fetches from a page of the emulator); the key, and the requests sent."""
    with running_emulator("openai", job_seconds=0.3) as emu, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
            args=ARGS,
        )
        context = browser.new_context(
            extra_http_headers={"Authorization": f"Bearer {emu.api_key}"},
            record_har_path=str(path),
        )
        page = context.new_page()
        page.goto(f"{emu.base_url}/v1/videos/{emu.source_video_id}")  # a JSON document
        sent = page.evaluate(
            """async ([source, remixes]) => {
                let sent = 0;
                const ids = [];
                for (let i = 0; i < remixes; i++) {
                    const r = await fetch(`/v1/videos/${source}/remix`, {
                        method: "POST",
                        headers: {"Content-Type": "application/json"},
                        body: JSON.stringify({prompt: `a cat, take ${i}`}),
                    });
                    sent++;
                    ids.push((await r.json()).id);
                }
                for (const id of ids) { await (await fetch(`/v1/videos/${id}`)).json(); sent++; }
                return sent;
            }""",
            [emu.source_video_id, REMIXES],
        )
        context.close()  # writes the HAR
        browser.close()
        return emu.api_key, int(sent) + 1


def test_a_har_chromium_wrote_validates_the_same_whole_and_in_ranges(tmp_path: Path) -> None:
    har = tmp_path / "chromium.har"
    key, sent = _record_har(har)
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    assert any(e["request"]["method"] == "POST" for e in entries)
    assert key in har.read_text(encoding="utf-8")  # the capture holds it; reports must not

    ranges = parallel.plan([har], 3)
    assert len(ranges) == 3, "the file is cut into ranges of entries"
    assert all(r.har for r in ranges)
    assert [r.first_entry for r in ranges] == sorted({r.first_entry for r in ranges})
    assert sum(1 for r in ranges for _ in pieces.read(r)) == len(entries)

    one = run_cli("validate", str(har), "--vendor", "openai", "--format", "json", "-j", "1")
    three = run_cli("validate", str(har), "--vendor", "openai", "--format", "json", "-j", "3")
    assert one.returncode == three.returncode == 0, one.stdout + one.stderr
    assert three.stdout == one.stdout
    report = json.loads(one.stdout)
    # Every request the browser sent was read and judged, each as the faithful emulator's.
    assert report["validated"] == report["records"] == sent
    assert report["bad_records"] == 0
    assert report["exchanges_by_operation"] == {
        "GetVideo": REMIXES + 1,
        "CreateVideoRemix": REMIXES,
    }
    assert report["exchanges_by_verdict"] == {"pass": sent, "deviation": 0, "violation": 0}
    for output in (one.stdout, one.stderr, three.stdout, three.stderr):
        assert key not in output
        assert key[8:] not in output
