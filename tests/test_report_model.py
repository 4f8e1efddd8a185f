"""The HTML compatibility report: its data model, the page it renders, and hostile input."""

from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from remixcheck.conformance.checks import catalogue
from remixcheck.contract import profiles as vendors
from remixcheck.report import html as report_html
from remixcheck.report.fields import classify, field_rules
from remixcheck.report.model import build_model
from remixcheck.report.views import FieldSection, MatrixSection, ReportModel
from remixcheck.report.vocabulary import BODY_CLIP, NOT_RUN
from tests.conftest import video

# -- building results -------------------------------------------------------------

CHECK_IDS = [c.id for c in catalogue()]


def check(cid: str, outcome: str = "pass", **extra: Any) -> dict[str, Any]:
    family = cid.split(".")[0]
    return {
        "check": cid,
        "family": family,
        "title": f"title of {cid}",
        "outcome": outcome,
        "reason": extra.pop("reason", ""),
        "deviations": extra.pop("deviations", []),
        "billable": False,
        "duration_ms": 1.0,
        "findings": extra.pop("findings", []),
        "evidence": extra.pop("evidence", []),
        **extra,
    }


def finding(message: str = "bad", **extra: Any) -> dict[str, Any]:
    base = {
        "check": "response.body",
        "verdict": "violation",
        "severity": "error",
        "message": message,
        "where": "response",
        "location": "body",
        "pointer": "/status",
        "operation": "GetVideo",
        "keyword": "enum",
        "expected": ["queued"],
        "actual": "succeeded",
        "spec_location": "#/components/schemas/VideoStatus/enum",
        "origin": "openai-published",
        "deviation": None,
        "status": 200,
        "extra": {},
    }
    base.update(extra)
    return base


def exchange(body: Any = '{"object": "video"}', **extra: Any) -> dict[str, Any]:
    base = {
        "request": {
            "method": "GET",
            "url": "http://127.0.0.1:9/v1/videos/video_1",
            "headers": {"accept": "application/json", "authorization": "Bearer <redacted>"},
            "body": None,
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": body,
            "truncated": False,
            "elapsed_ms": 2.5,
        },
        "curl": 'curl -sS -X GET http://127.0.0.1:9/v1/videos/video_1 -H "Authorization: Bearer $KEY"',
        "note": "",
    }
    base.update(extra)
    return base


def target(name: str, vendor: str, checks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "vendor": vendor,
        "base_url": "http://127.0.0.1:9",
        "api_key_env": "KEY",
        "emulated": True,
        "source_video_id": "video_1",
        "requests_sent": 10,
        "billable_sent": 3,
        "max_billable": None,
        "duration_ms": 100.0,
        "counts": {},
        "checks": checks,
        "observed_videos": [],
    }
    base.update(extra)
    return base


def results(
    *targets: dict[str, Any], sha: str = "a" * 64, started: str = "2026-01-02T03:04:05+00:00"
) -> dict[str, Any]:
    return {
        "schema": "remixcheck/results",
        "version": 1,
        "tool_version": "0.1.0",
        "spec": {"version": "1.0.0", "sha256": sha},
        "started_at": started,
        "finished_at": started,
        "strict": False,
        "billable_sent": sum(t["billable_sent"] for t in targets),
        "targets": list(targets),
    }


@functools.cache
def emulated_results() -> str:
    """A real run of all four emulators plus one faulty OpenAI, as JSON (cached per process)."""
    from remixcheck.conformance.checks.context import Settings
    from remixcheck.conformance.runner import RunOptions, emulated_targets, public_dict, run

    options = RunOptions(context=Settings(poll_interval=0.05, poll_timeout=20))
    with emulated_targets(["openai", "aihubmix", "apifree", "bifrost"], job_seconds=0.3) as targets:
        clean = public_dict(run(targets, options), targets)
    with emulated_targets(["openai"], job_seconds=0.3, faults=["status-500-on-remix"]) as targets:
        faulty = public_dict(run(targets, options), targets)
    return json.dumps([clean, faulty])


def real() -> list[dict[str, Any]]:
    return json.loads(emulated_results())  # type: ignore[no-any-return]


def matrix(model: ReportModel) -> MatrixSection:
    section = model.section("matrix")
    assert isinstance(section, MatrixSection)
    return section


def fields(model: ReportModel) -> FieldSection:
    section = model.section("fields")
    assert isinstance(section, FieldSection)
    return section


# -- counts, scores, rows --------------------------------------------------------------


def test_counts_and_scores() -> None:
    checks = [
        check("source.retrieve"),
        check("negative.missing-auth"),
        check("negative.invalid-key", "deviation", deviations=["openai.x"]),
        check("negative.unknown-video", "violation", findings=[finding()]),
        check("negative.bare-video-id", "skipped", reason="ids are opaque"),
        check("negative.empty-prompt", "error", reason="connection refused"),
        # neither is a verdict: both stay out of the pass rate
        check("negative.unknown-field", "info", reason="ignores unknown fields"),
        check("positive.remix-json", "precondition", reason="source video is queued"),
    ]
    model = build_model([results(target("one", "openai", checks))])
    (t,) = model.targets
    assert dict(t.counts) == {
        "pass": 2,
        "deviation": 1,
        "violation": 1,
        "info": 1,
        "skipped": 1,
        "precondition": 1,
        "error": 1,
        NOT_RUN: 0,
    }
    assert (t.score.passed, t.score.deviations, t.score.applicable) == (2, 1, 5)
    assert t.score.percent == 40
    assert t.score.compatible_percent == 60
    assert model.totals["violation"] == 1
    assert model.billable_sent == 3
    assert [b[0] for b in t.bar] == [
        "pass",
        "deviation",
        "violation",
        "info",
        "skipped",
        "precondition",
        "error",
    ]
    assert sum(b[2] for b in t.bar) == pytest.approx(100, abs=0.01)


def test_rows_follow_the_catalogue_and_keep_unknown_checks() -> None:
    checks = [
        check("lifecycle.polls-valid"),
        check("zz.future-check", "violation"),
        check("source.retrieve"),
    ]
    model = build_model([results(target("one", "openai", checks))])
    ids = [r.id for r in model.rows]
    assert ids == ["source.retrieve", "lifecycle.polls-valid", "zz.future-check"]
    assert CHECK_IDS.index(ids[0]) < CHECK_IDS.index(ids[1])
    future = model.rows[2]
    assert not future.in_catalogue
    assert future.title == "title of zz.future-check"
    assert model.rows[0].description == catalogue()[0].description
    assert [f.name for f in model.families] == ["source", "lifecycle", "zz"]


def test_unknown_outcome_is_an_error_with_a_reason() -> None:
    model = build_model([results(target("one", "openai", [check("source.retrieve", "exploded")]))])
    cell = model.rows[0].cells[0]
    assert cell.outcome == "error"
    assert "exploded" in cell.reason


def test_merging_two_results_files_side_by_side() -> None:
    first = results(
        target("openai", "openai", [check("source.retrieve"), check("negative.missing-auth")]),
        target(
            "bifrost",
            "bifrost",
            [check("source.retrieve", "deviation", deviations=["bifrost.extra-fields"])],
        ),
    )
    second = results(
        target(
            "openai",
            "openai",
            [check("source.retrieve", "violation"), check("compat.remix-json", "skipped")],
        ),
        sha="b" * 64,
        started="2026-02-01T00:00:00+00:00",
    )
    model = build_model([first, second])
    assert [t.display_name for t in model.targets] == [
        "openai (run 1)",
        "bifrost",
        "openai (run 2)",
    ]
    assert [t.key for t in model.targets] == ["t0", "t1", "t2"]
    assert [t.run for t in model.targets] == [1, 1, 2]
    assert [r.id for r in model.rows] == [
        "source.retrieve",
        "negative.missing-auth",
        "compat.remix-json",
    ]
    by_row = {r.id: [c.outcome for c in r.cells] for r in model.rows}
    assert by_row["source.retrieve"] == ["pass", "deviation", "violation"]
    assert by_row["negative.missing-auth"] == ["pass", NOT_RUN, NOT_RUN]
    assert by_row["compat.remix-json"] == [NOT_RUN, NOT_RUN, "skipped"]
    # a check a target did not run is neither passed nor applicable
    assert model.targets[1].score.applicable == 1
    assert model.targets[2].score.applicable == 1
    assert len(model.runs) == 2
    assert model.runs[1].started_at == "2026-02-01 00:00:00 UTC"
    assert model.billable_sent == 9
    assert any("different versions of the contract" in w for w in model.warnings)
    assert NOT_RUN in model.outcomes


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_model([])


# -- the field matrix -----------------------------------------------------------------


def _rule(name: str) -> Any:
    return next(r for r in field_rules()[1] if r.name == name)


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("id", video(), "present"),
        ("completed_at", video(), "null"),
        ("completed_at", {k: v for k, v in video().items() if k != "completed_at"}, "omitted"),
        ("progress", video(progress=45.5), "wrong-type"),
        ("progress", video(progress=50.0), "present"),  # JSON Schema: 50.0 is an integer
        ("progress", video(progress="100"), "wrong-type"),
        ("id", video(id=None), "wrong-type"),  # not nullable
        ("prompt", video(prompt=None), "null"),
        ("seconds", video(seconds=8), "wrong-type"),
        ("status", video(status="succeeded"), "out-of-enum"),
        ("size", video(size="1920x1080"), "out-of-enum"),
        ("object", video(object="vid"), "out-of-enum"),  # const
        ("model", video(model="some-new-model"), "present"),  # open string
        ("error", video(error={"code": "x", "message": "y"}), "present"),
        ("error", video(error={"message": "y"}), "invalid"),
        ("error", video(error="boom"), "wrong-type"),
    ],
)
def test_field_classification(name: str, body: dict[str, Any], expected: str) -> None:
    assert classify(_rule(name), body) == expected


def test_field_matrix_rows_cells_and_summaries() -> None:
    bodies = [
        {"operation": "GetVideo", "status": 200, "body": video(videos=[{"url": "u"}])},
        {
            "operation": "GetVideo",
            "status": 200,
            "body": {k: v for k, v in video(progress=12.5).items() if k != "completed_at"},
        },
        {"operation": "GetVideo", "status": 200, "body": "not an object"},
    ]
    model = build_model(
        [results(target("b", "bifrost", [check("source.retrieve")], observed_videos=bodies))]
    )
    section = fields(model)
    names = [r.name for r in section.rows]
    assert names[:13] == [
        "id",
        "object",
        "model",
        "status",
        "progress",
        "created_at",
        "completed_at",
        "expires_at",
        "prompt",
        "size",
        "seconds",
        "remixed_from_video_id",
        "error",
    ]
    assert names[13:] == ["videos"]
    row = {r.name: r for r in section.rows}
    assert row["completed_at"].cells[0].counts == (("omitted", 1), ("null", 1))
    assert row["completed_at"].cells[0].parts == ("omitted 1/2", "null 1/2")
    assert row["progress"].cells[0].worst == "wrong-type"
    assert row["progress"].cells[0].examples == ("12.5",)
    assert row["videos"].cells[0].counts == (("extra", 1), ("absent", 1))
    assert not row["videos"].canonical
    assert row["status"].expects == "string ∈ {queued, in_progress, completed, failed}"
    assert row["completed_at"].expects == "integer or null"
    (summary,) = section.summaries
    lines = dict(summary.lines)
    assert lines["omits 1 field"] == ("completed_at (1/2)",)
    assert lines["adds 1 field"] == ("videos",)
    assert summary.bodies == 2


def test_field_matrix_on_real_runs_shows_the_dialects() -> None:
    model = build_model(real()[:1])
    section = fields(model)
    by_vendor = {model.targets[s.col].vendor: dict(s.lines) for s in section.summaries}
    assert not by_vendor["openai"]
    bifrost = next(v for k, v in by_vendor["bifrost"].items() if k.startswith("omits"))
    assert any(f.startswith("completed_at") for f in bifrost)
    apifree = next(k for k in by_vendor["apifree"] if k.startswith("omits"))
    assert int(apifree.split()[1]) >= 8  # apifree's minimal remix response
    assert "extra_fields" in next(
        v for k, v in by_vendor["bifrost"].items() if k.startswith("adds")
    )


# -- drill-down ------------------------------------------------------------------------


def test_drilldown_attaches_deviation_reason_and_source() -> None:
    dev_id = "bifrost.omits-empty-fields"
    f = finding(
        "required property 'error' is missing",
        verdict="deviation",
        keyword="required",
        pointer="/error",
        expected="present",
        actual="missing",
        deviation=dev_id,
    )
    checks = [
        check(
            "source.retrieve",
            "deviation",
            deviations=[dev_id],
            findings=[f, f, f],
            evidence=[exchange()],
        )
    ]
    model = build_model([results(target("b", "bifrost", checks))])
    cell = model.rows[0].cells[0]
    documented = vendors.load("bifrost").deviation(dev_id)
    assert documented is not None
    (ref,) = cell.deviations
    assert (ref.id, ref.reason, ref.source, ref.documented) == (
        dev_id,
        documented.reason,
        documented.source,
        True,
    )
    (view,) = cell.findings  # three identical findings (one per poll) shown once
    assert view.count == 3
    assert cell.finding_total == 3
    assert view.deviation == ref
    assert (view.pointer, view.expected, view.actual) == ("/error", "present", "missing")
    (ex,) = cell.exchanges
    assert ex.summary == "GET http://127.0.0.1:9/v1/videos/video_1 → 200"
    assert ex.response_body == '{\n  "object": "video"\n}'
    assert "$KEY" in ex.curl
    page = report_html.render_model(model)
    assert 'id="cell-0-0"' in page
    assert 'href="#cell-0-0"' in page
    assert documented.reason.replace("`", "`") in page.replace("&#39;", "'").replace("&#34;", '"')
    assert "Source: " in page


def test_undocumented_deviation_and_skip_reason() -> None:
    checks = [
        check("source.retrieve", "deviation", deviations=["bifrost.no-such-thing"]),
        check("negative.bare-video-id", "skipped", reason="ids are opaque: no bare form"),
    ]
    model = build_model([results(target("b", "bifrost", checks))])
    assert model.rows[0].cells[0].deviations[0].documented is False
    assert model.rows[1].cells[0].reason == "ids are opaque: no bare form"
    assert model.rows[1].cells[0].has_detail
    page = report_html.render_model(model)
    assert "ids are opaque: no bare form" in page
    assert "Not in the bundled bifrost profile" in page


def test_expected_actual_keep_json_types() -> None:
    f = finding(
        '"100" is not of type "integer"',
        keyword="type",
        pointer="/progress",
        expected=["integer"],
        actual="100",
    )
    model = build_model(
        [results(target("o", "openai", [check("source.retrieve", "violation", findings=[f])]))]
    )
    view = model.rows[0].cells[0].findings[0]
    assert (view.expected, view.actual) == ('["integer"]', '"100"')


def test_long_bodies_are_clipped() -> None:
    huge = json.dumps({"prompt": "x" * 50_000})
    checks = [
        check(
            "source.retrieve",
            "violation",
            findings=[finding(actual="y" * 10_000)],
            evidence=[exchange(huge)],
        )
    ]
    observed = [
        {
            "operation": "GetVideo",
            "status": 200,
            "body": video(prompt="z" * 40_000, status="z" * 5000),
        }
    ]
    model = build_model([results(target("o", "openai", checks, observed_videos=observed))])
    cell = model.rows[0].cells[0]
    body = cell.exchanges[0].response_body
    assert body is not None
    assert len(body) < BODY_CLIP + 100
    assert body.endswith("more characters clipped]")
    assert len(cell.findings[0].actual) < 500
    page = report_html.render_model(model)
    assert len(page) < 150_000


def test_credentials_never_reach_the_page() -> None:
    secret = "sk-live-0123456789abcdef"
    ex = exchange()
    ex["request"]["headers"] = {"authorization": f"Bearer {secret}", "x-api-key": secret}
    ex["request"]["url"] = f"https://user:{secret}@api.example/v1/videos/v"
    ex["curl"] = f"curl https://user:{secret}@api.example/v1/videos/v"
    t = target(
        "o",
        "openai",
        [check("source.retrieve", "violation", evidence=[ex])],
        base_url=f"https://user:{secret}@api.example/v1?key={secret}",
    )
    model = build_model([results(t)])
    assert model.targets[0].base_url == "https://***@api.example/v1?key=***"
    page = report_html.render_model(model)
    assert secret not in page
    assert "Bearer &lt;redacted&gt;" in page


def test_write_html(tmp_path: Path) -> None:
    out = report_html.write_html(
        [results(target("o", "openai", [check("source.retrieve")]))], tmp_path / "r" / "compat.html"
    )
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert not list(out.parent.glob("*.tmp"))


def test_module_import_stays_light() -> None:
    code = "import sys, remixcheck.report.html; print(sorted(m for m in ('jinja2', 'jsonschema', 'remixcheck.conformance.checks') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the page -------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "link",
    "style",
    "body",
    "header",
    "nav",
    "ul",
    "li",
    "a",
    "main",
    "section",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "p",
    "div",
    "article",
    "svg",
    "rect",
    "span",
    "table",
    "caption",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "code",
    "strong",
    "fieldset",
    "legend",
    "label",
    "input",
    "button",
    "details",
    "summary",
    "dl",
    "dt",
    "dd",
    "pre",
    "footer",
    "script",
}


def assert_structurally_safe(page: str, model: ReportModel) -> _Tags:
    """The page holds only our tags, our two scripts, no handlers and only in-page links."""
    parser = _Tags()
    parser.feed(page)
    names = {t for t, _ in parser.tags}
    assert names <= ALLOWED_TAGS, names - ALLOWED_TAGS
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if "href" in attrs:
            href = attrs["href"] or ""
            assert href.startswith("#") or (tag == "link" and href == "data:,"), href
        for name in ("src", "srcdoc", "style", "action", "formaction"):
            assert name not in attrs, (tag, attrs)
    js = (Path(report_html.__file__).parent / "templates" / "compat.js").read_text(encoding="utf-8")
    assert len(parser.scripts) == 2
    (blob_attrs, blob), (code_attrs, code) = parser.scripts
    assert blob_attrs == {"type": "application/json", "id": "report-summary"}
    assert code_attrs == {}
    assert code == js  # nothing got into the executable script
    assert json.loads(blob) == json.loads(json.dumps(model.summary()))
    assert not re.search("[<>\u2028\u2029]", blob)
    csp = next(
        a["content"]
        for t, a in parser.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None
    assert "default-src 'none'" in csp
    assert f"script-src {report_html.csp_source_hash(js)}" in csp
    assert page.index("Content-Security-Policy") < page.index("<style>")
    return parser


PAYLOADS = (
    "<script>window.__pwned=1;document.title='pwned'</script>",
    '"><img src=x onerror="window.__pwned=2;alert(2)">',
    "</script><script>window.__pwned=3;alert(3)</script>",
    "javascript:window.__pwned=4",
    "'><svg onload=alert(5)>",
    "line\u2028sep\u2029para <!-- <style>body{display:none}</style>",
    "{{ 7*7 }} {% raw %}",
)
HOSTILE = " ".join(PAYLOADS)


def hostile_results() -> dict[str, Any]:
    """A results file in which everything that can come from a server or a hand edit is hostile."""
    f = finding(
        HOSTILE,
        pointer="/" + PAYLOADS[1],
        expected=PAYLOADS[0],
        actual={PAYLOADS[2]: PAYLOADS[3]},
        deviation="bifrost." + PAYLOADS[1],
        keyword=PAYLOADS[4],
        spec_location=PAYLOADS[0],
        operation=PAYLOADS[2],
    )
    ex = exchange(
        HOSTILE,
        curl="curl " + HOSTILE,
        note=HOSTILE,
        request={
            "method": "GET",
            "url": PAYLOADS[3] + PAYLOADS[1],
            "headers": {PAYLOADS[0]: PAYLOADS[1]},
            "body": HOSTILE,
        },
    )
    ex["response"]["headers"] = {PAYLOADS[1]: PAYLOADS[0], "x-evil": PAYLOADS[5]}
    checks = [
        check(
            "source.retrieve",
            "violation",
            findings=[f],
            evidence=[ex],
            deviations=[PAYLOADS[0]],
            title=HOSTILE,
        ),
        check("negative.missing-auth", "skipped", reason=HOSTILE),
        check("negative.invalid-key", "error", reason=HOSTILE),
        check(PAYLOADS[0], "violation", family=PAYLOADS[1], title=HOSTILE, findings=[f]),
    ]
    bad_video = video(
        id=PAYLOADS[0], status=PAYLOADS[1], size=PAYLOADS[2], prompt=HOSTILE, model=PAYLOADS[3]
    )
    bad_video[PAYLOADS[4]] = PAYLOADS[0]
    bad_video[PAYLOADS[0]] = {"nested": PAYLOADS[1]}
    observed = [{"operation": PAYLOADS[0], "status": 200, "body": bad_video}]
    t = target(
        PAYLOADS[1],
        PAYLOADS[0],  # an unknown vendor, named by a payload
        checks,
        base_url="javascript:alert(1)//" + PAYLOADS[1],
        api_key_env=PAYLOADS[2],
        source_video_id=PAYLOADS[0],
        observed_videos=observed,
    )
    first = {
        "operation": PAYLOADS[0],
        "status": 200,
        "field": PAYLOADS[1],
        "pointer": PAYLOADS[2],
        "kind": PAYLOADS[4],
        "present": True,
        "value": HOSTILE,
        "error": HOSTILE,
    }
    stack = {
        "id": PAYLOADS[1],
        "name": HOSTILE,
        "kind": "rules",
        "description": HOSTILE,
        "library": PAYLOADS[2],
        "status": PAYLOADS[3],
        "reason": HOSTILE,
        "bodies": 1,
        "failing": 1,
        "first_break": first,
        "fields": {"missing": [PAYLOADS[0]], PAYLOADS[1]: [PAYLOADS[2]]},
        "notes": [HOSTILE],
    }
    t["client_impact"] = {
        "observed": 1,
        "bodies": 1,
        "headline": {"stack": PAYLOADS[0], "breaks": True, "text": HOSTILE},
        "stacks": [stack],
    }
    data = results(t, sha=PAYLOADS[1], started=PAYLOADS[0])
    data["tool_version"] = PAYLOADS[2]
    data["spec"]["version"] = PAYLOADS[0]
    return data


def test_hostile_payloads_are_escaped() -> None:
    data = hostile_results()
    model = build_model([data, copy.deepcopy(real()[0])])
    page = report_html.render_model(model)
    assert_structurally_safe(page, model)
    for needle in (
        "<script>window",
        "<img",
        "<svg onload",
        "</script><script>window",
        "<style>body",
        'onerror="',
    ):
        assert needle not in page, needle
    assert "&lt;script&gt;window.__pwned=1" in page  # shown to the reader, as text
    assert "&lt;img src=x onerror=&#34;window.__pwned=2" in page
    assert "{{ 7*7 }}" in page  # data is never evaluated as a template
    assert 'href="javascript' not in page


def test_lone_surrogates_do_not_break_writing(tmp_path: Path) -> None:
    data = results(
        target("o\ud800", "openai", [check("source.retrieve", "skipped", reason="bad \udfff text")])
    )
    out = report_html.write_html([data], tmp_path / "r.html")
    assert "o\ufffd" in out.read_text(encoding="utf-8")


def test_real_runs_render_every_non_passing_cell_with_details() -> None:
    data = real()
    model = build_model(data)
    page = report_html.render_model(model)
    assert_structurally_safe(page, model)
    assert len(page.encode("utf-8")) < 2_000_000
    raw_targets = [t for d in data for t in d["targets"]]
    assert len(model.targets) == len(raw_targets) == 5
    for t, raw in zip(model.targets, raw_targets, strict=True):
        assert {k: v for k, v in t.counts.items() if k != NOT_RUN} == raw["counts"]
    for row in matrix(model).rows:
        for cell in row.cells:
            if cell.has_detail:
                assert f'id="{cell.anchor}"' in page
                assert f'data-open="{cell.anchor}"' in page
    faulty = model.targets[-1]
    assert faulty.counts["violation"] > 0
    assert faulty.display_name == "openai-emulator (run 2)"


def worst_case_results() -> dict[str, Any]:
    """Four targets x the whole catalogue, every cell failing with a hundred long polls."""
    body = json.dumps(video(prompt="p" * 3900))
    exchanges = [exchange(body) for _ in range(150)]
    for ex in exchanges:
        ex["request"]["body"] = "q" * 2000
    findings = [finding(f"progress went back at poll {i}", actual=i) for i in range(200)]
    observed = [{"operation": "GetVideo", "status": 200, "body": video(prompt="z" * 32_000)}] * 150
    targets = [
        target(
            f"{vendor}-live",
            vendor,
            [check(cid, "violation", findings=findings, evidence=exchanges) for cid in CHECK_IDS],
            observed_videos=observed,
        )
        for vendor in ("openai", "aihubmix", "apifree", "bifrost")
    ]
    return results(*targets)


def test_worst_case_stays_under_two_megabytes() -> None:
    model = build_model([worst_case_results()])
    cell = model.rows[0].cells[0]
    assert len(cell.exchanges) >= 2
    assert cell.exchanges_left_out == 150 - len(cell.exchanges)
    assert cell.findings_left_out == 200 - len(cell.findings)
    page = report_html.render_model(model)
    assert len(page.encode("utf-8")) < 2_000_000
    assert f"{cell.exchanges_left_out} more exchanges left out here" in page
    assert f"{cell.findings_left_out} more distinct findings left out" in page


def test_a_few_failing_cells_keep_their_evidence_whole() -> None:
    polls = [exchange(json.dumps(video(progress=i))) for i in range(7)]
    checks = [check("lifecycle.polls-valid", "violation", findings=[finding()], evidence=polls)]
    cell = build_model([results(target("o", "openai", checks))]).rows[0].cells[0]
    assert len(cell.exchanges) == 7
    assert cell.exchanges_left_out == 0
    assert all("clipped" not in (e.response_body or "") for e in cell.exchanges)


def test_hostile_client_impact_is_data() -> None:
    from remixcheck.report.clients import ClientsSection

    model = build_model([hostile_results()])
    section = model.section("clients")
    assert isinstance(section, ClientsSection)
    (row,) = section.rows
    (cell,) = row.cells
    assert cell.status == "error"  # an unknown status is never shown as if it were known
    assert [label for label, _ in cell.fields] == ["missing"]  # unknown kinds are left out
    assert cell.first is not None
    assert cell.first.kind == "invalid"
    assert row.rules
    page = report_html.render_model(model)
    assert_structurally_safe(page, model)
    assert "&lt;script&gt;window.__pwned=1" in page.split('id="clients"')[1]
