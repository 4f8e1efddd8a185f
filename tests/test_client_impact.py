"""Client impact with the real client libraries: the openai SDK, Perl's OpenAPI::Client, the rules.

The Perl stack needs Debian's libopenapi-client-perl and libjson-validator-perl (`.ci/run`
installs them); where they are missing, the tests that need them skip with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from remixcheck.clients import Observed, official
from remixcheck.clients.impact import assess
from remixcheck.clients.openai_sdk import LenientSDK, StrictSDK
from remixcheck.clients.perl_openapi import PerlOpenAPIClient
from remixcheck.clients.rules import TypedDecodingRules
from remixcheck.contract import profiles as vendors
from remixcheck.contract import resources
from remixcheck.report.clients import ClientsSection
from remixcheck.report.model import build_model
from tests.conftest import ROOT, run_cli, video

STRICT = ("openai-sdk-strict", "perl-openapi-client", "pydantic-generated", "typed-decoding-rules")
GENERATE = [
    "--input", "spec/reference/openai-videos-official.yaml", "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel", "--target-python-version", "3.11",
    "--disable-timestamp", "--field-constraints", "--formatters", "builtin",
]  # fmt: skip


def _perl_missing() -> str | None:
    try:
        done = subprocess.run(
            ["perl", "-MOpenAPI::Client", "-MJSON::Validator", "-e", "1"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return "perl is not installed"
    if done.returncode != 0:
        return "perl modules OpenAPI::Client / JSON::Validator are not installed (apt-get install libopenapi-client-perl libjson-validator-perl)"
    return None


PERL_MISSING = _perl_missing()
needs_perl = pytest.mark.skipif(PERL_MISSING is not None, reason=PERL_MISSING or "")


def _observed(*bodies: dict[str, Any], operation: str = "GetVideo") -> list[Observed]:
    return [Observed(operation, 200, b) for b in bodies]


def _without(**drop: Any) -> dict[str, Any]:
    body = video()
    for name in drop:
        del body[name]
    return body


# -- one CLI run of the four emulators --------------------------------------------------


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out_dir = tmp_path_factory.mktemp("impact")
    out = run_cli("run", "--emulate", "--report-dir", str(out_dir), cwd=out_dir)
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    return results, out.stdout, out_dir


def _impact(results: dict[str, Any], vendor: str) -> dict[str, Any]:
    (target,) = [t for t in results["targets"] if t["vendor"] == vendor]
    return target["client_impact"]  # type: ignore[no-any-return]


def _stacks(impact: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in impact["stacks"]}


def _documented_fields(vendor: str) -> set[str]:
    """Every top-level field a deviation of the vendor's profile names."""
    return {
        pointer.split("/")[1]
        for dev in vendors.load(vendor).deviations
        for matcher in dev.match
        for pointer in matcher.pointers
        if pointer.startswith("/")
    }


@needs_perl
def test_run_writes_an_entry_per_target_with_real_clients(
    emulated: tuple[dict[str, Any], str, Path],
) -> None:
    results, _, _ = emulated
    schema = json.loads((resources.spec_dir() / "results.schema.json").read_text("utf-8"))
    jsonschema.validate(results, schema)
    for target in results["targets"]:
        impact = target["client_impact"]
        assert impact["bodies"] >= 1
        assert impact["observed"] >= impact["bodies"]
        real = [s for s in impact["stacks"] if s["kind"] == "client" and s["status"] != "skipped"]
        assert {s["id"] for s in real} >= {
            "openai-sdk",
            "openai-sdk-strict",
            "perl-openapi-client",
            "pydantic-generated",
        }
        assert all(s["library"] for s in real)
        (rules,) = [s for s in impact["stacks"] if s["kind"] == "rules"]
        assert rules["id"] == "typed-decoding-rules"


@needs_perl
@pytest.mark.parametrize("vendor", ["openai", "aihubmix"])
def test_openai_and_aihubmix_work_with_every_client(
    emulated: tuple[dict[str, Any], str, Path], vendor: str
) -> None:
    impact = _impact(emulated[0], vendor)
    assert {s["id"]: s["status"] for s in impact["stacks"]} == {
        "openai-sdk": "works",
        "openai-sdk-strict": "works",
        "perl-openapi-client": "works",
        "pydantic-generated": "works",
        "typed-decoding-rules": "works",
    }
    assert impact["headline"] == {
        "stack": "perl-openapi-client",
        "breaks": False,
        "text": "breaks strict clients generated from OpenAI's document: no",
    }


@needs_perl
@pytest.mark.parametrize("vendor", ["apifree", "bifrost"])
def test_apifree_and_bifrost_break_strict_clients_on_documented_fields(
    emulated: tuple[dict[str, Any], str, Path], vendor: str
) -> None:
    impact = _impact(emulated[0], vendor)
    stacks = _stacks(impact)
    documented = _documented_fields(vendor)
    for stack_id in STRICT:
        stack = stacks[stack_id]
        assert stack["status"] == "breaks", stack
        broken = {name for names in stack["fields"].values() for name in names}
        assert broken, stack
        assert broken <= documented, (stack_id, broken - documented)
        first = stack["first_break"]
        assert first["field"] in broken
        assert first["error"]
        assert first["present"] == (first["kind"] != "missing")
    assert stacks["openai-sdk"]["status"] == "works"
    assert impact["headline"]["breaks"] is True
    assert impact["headline"]["text"].startswith(
        "breaks strict clients generated from OpenAI's document: yes ("
    )


@needs_perl
def test_what_each_strict_client_says(emulated: tuple[dict[str, Any], str, Path]) -> None:
    results = emulated[0]
    apifree = _stacks(_impact(results, "apifree"))["perl-openapi-client"]
    # The minimal remix response leaves 8 fields out; retrieve says `created`, not created_at.
    assert set(apifree["fields"]["missing"]) == {
        "progress", "completed_at", "expires_at", "prompt", "size", "seconds",
        "remixed_from_video_id", "error", "created_at",
    }  # fmt: skip
    assert _impact(results, "apifree")["headline"]["text"].endswith("yes (9 missing fields)")
    bifrost = _stacks(_impact(results, "bifrost"))
    assert bifrost["perl-openapi-client"]["fields"]["type"] == ["progress"]  # a float
    assert bifrost["perl-openapi-client"]["fields"]["enum"] == ["size"]  # 1920x1080
    assert bifrost["openai-sdk-strict"]["fields"]["enum"] == ["size"]
    assert bifrost["typed-decoding-rules"]["fields"]["type"] == ["progress"]
    # The SDK types the nullable fields as optional: leaving them out does not break it.
    assert "missing" not in bifrost["openai-sdk-strict"]["fields"]


@needs_perl
def test_lenient_sdk_works_with_all_four(emulated: tuple[dict[str, Any], str, Path]) -> None:
    results = emulated[0]
    for vendor in ("openai", "aihubmix", "apifree", "bifrost"):
        lenient = _stacks(_impact(results, vendor))["openai-sdk"]
        assert lenient["status"] == "works"
        assert lenient["failing"] == 0
    # What a typed reader of the lenient load meets, per vendor.
    (note,) = _stacks(_impact(results, "apifree"))["openai-sdk"]["notes"]
    assert "created_at" in note
    assert _stacks(_impact(results, "openai"))["openai-sdk"]["notes"] == []


@needs_perl
def test_terminal_and_report_show_the_impact(emulated: tuple[dict[str, Any], str, Path]) -> None:
    results, stdout, out_dir = emulated
    for target in results["targets"]:
        assert f"client impact: {target['client_impact']['headline']['text']}" in stdout
    assert "typed-decoding-rules: works (rules, not a client run)" in stdout
    assert "perl-openapi-client: breaks on " in stdout
    page = (out_dir / "compat.html").read_text(encoding="utf-8")
    assert 'id="clients-table"' in page
    assert "rules, not a client run" in page

    from remixcheck.report.markdown import summary

    step_summary = summary(results, "remixcheck")
    assert "**Client impact**" in step_summary
    assert (
        "- apifree-emulator: breaks strict clients generated from OpenAI's document: yes (9 missing"
        in step_summary
    )

    model = build_model([results])
    section = model.section("clients")
    assert isinstance(section, ClientsSection)
    assert [r.id for r in section.rows] == [
        "openai-sdk",
        "openai-sdk-strict",
        "perl-openapi-client",
        "pydantic-generated",
        "typed-decoding-rules",
    ]
    assert [r.rules for r in section.rows] == [False, False, False, False, True]
    by_vendor = {t.vendor: t.col for t in model.targets}
    perl = section.rows[2]
    assert perl.cells[by_vendor["openai"]].status == "works"
    broken = perl.cells[by_vendor["apifree"]]
    assert broken.status == "breaks"
    assert broken.first is not None
    assert broken.first.error.endswith("Missing property.")
    assert [h.breaks for h in section.headlines] == [
        by_vendor_name in ("apifree", "bifrost") for by_vendor_name in by_vendor
    ]


# -- each harness on crafted bodies -------------------------------------------------------


@needs_perl
def test_perl_client_reports_in_its_own_words() -> None:
    judged = PerlOpenAPIClient().judge(
        _observed(video(), video(progress=12.5), _without(size=1), video(status="paused"))
    )
    assert judged.library.startswith("OpenAPI::Client ")
    ok, fraction, missing, unknown = judged.breaks
    assert ok == []
    assert [(b.pointer, b.kind, b.error) for b in fraction] == [
        ("/progress", "type", "/body/progress: Expected integer - got number.")
    ]
    assert [(b.field, b.kind, b.error) for b in missing] == [
        ("size", "missing", "/body/size: Missing property.")
    ]
    assert unknown[0].kind == "enum"
    assert unknown[0].error.startswith("/body/status: Not in enum list")


def test_strict_sdk_reports_pydantics_words() -> None:
    judged = StrictSDK().judge(_observed(video(), video(progress=12.5), _without(size=1)))
    assert judged.library.startswith("openai ")
    ok, fraction, missing = judged.breaks
    assert ok == []
    assert fraction[0].pointer == "/progress"
    assert fraction[0].error.startswith(
        "progress: Input should be a valid integer, got a number with a fractional part"
    )
    assert [(b.field, b.kind) for b in missing] == [("size", "missing")]
    assert missing[0].error.startswith("size: Field required [type=missing")


def test_lenient_sdk_loads_what_strict_rejects() -> None:
    bodies = _observed(video(progress=12.5), {"id": "v"}, video(size="1920x1080"))
    assert LenientSDK().judge(bodies).breaks == [[], [], []]
    assert all(StrictSDK().judge(bodies).breaks)


def test_typed_decoding_rules() -> None:
    judged = TypedDecodingRules().judge(
        _observed(
            video(),
            video(progress=12.0),  # integral, but written as a float: Go and serde refuse it
            video(status="paused"),
            video(size=None),
            _without(completed_at=1, expires_at=1),  # nullable: decodes as an absent optional
            video(error={"message": "boom"}),
            video(seconds=8),
        )
    )
    assert judged.library.startswith("remixcheck rules")
    assert [[(b.pointer, b.kind) for b in found] for found in judged.breaks] == [
        [],
        [("/progress", "type")],
        [("/status", "enum")],
        [("/size", "null")],
        [],
        [("/error/code", "missing")],
        [("/seconds", "type")],
    ]


def test_hostile_bodies_end_as_data_not_crashes() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = {"a": deep}
    bodies = [
        {"operation": "GetVideo", "status": 200, "body": video(prompt="p" * 40_000)},
        {"operation": "GetVideo", "status": 200, "body": video(progress=float("nan"))},
        {"operation": "GetVideo", "status": 200, "body": video(error=deep)},
        {"operation": "GetVideo", "status": 200, "body": {"<script>": "</script>"}},
        {"operation": "NotAnOperation", "status": 200, "body": video()},
    ]
    (entry,) = assess([bodies])
    assert entry["bodies"] == 5
    statuses = {s["id"]: s["status"] for s in entry["stacks"]}
    assert statuses["openai-sdk"] == "works"
    assert statuses["openai-sdk-strict"] == statuses["typed-decoding-rules"] == "breaks"
    assert statuses["pydantic-generated"] == "breaks"
    assert statuses["perl-openapi-client"] in ("breaks", "skipped")  # skipped: no perl modules
    for stack in entry["stacks"]:
        if stack["first_break"]:
            assert len(stack["first_break"]["value"]) < 400
    json.dumps(entry, allow_nan=False)  # the entry itself is plain JSON


def test_repeated_bodies_are_judged_once() -> None:
    poll = {"operation": "GetVideo", "status": 200, "body": video()}
    (entry,) = assess([[poll, poll, poll]])
    assert (entry["observed"], entry["bodies"]) == (3, 1)


def test_missing_runtimes_skip_with_the_reason(tmp_path: Path) -> None:
    """No perl on PATH and no openai package: those stacks skip, the rules still answer."""
    code = (
        "import sys, json; sys.modules['openai'] = None\n"
        "from remixcheck.clients.impact import assess\n"
        "body = {'id': 'v', 'object': 'video', 'status': 'queued', 'created_at': 1, 'model': 'm'}\n"
        "print(json.dumps(assess([[{'operation': 'CreateVideoRemix', 'status': 200, 'body': body}]])))"
    )
    env = {**os.environ, "PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)
    stacks = _stacks(entry)
    assert stacks["openai-sdk"]["status"] == "skipped"
    assert "openai package is not installed" in stacks["openai-sdk"]["reason"]
    assert stacks["perl-openapi-client"]["status"] == "skipped"
    assert stacks["perl-openapi-client"]["reason"] == "perl is not installed"
    # The next client generated from OpenAI's document speaks for the headline.
    assert stacks["pydantic-generated"]["status"] == "breaks"
    assert entry["headline"]["stack"] == "pydantic-generated"
    assert entry["headline"]["text"].endswith("yes (8 missing fields)")
    # The rules leave nullable fields out of it: progress, size, seconds.
    assert stacks["typed-decoding-rules"]["fields"] == {"missing": ["progress", "size", "seconds"]}


def test_results_without_client_impact_have_no_section() -> None:
    from tests.test_report_model import check, results, target

    model = build_model([results(target("o", "openai", [check("source.retrieve")]))])
    assert "clients" not in {s.kind for s in model.sections}


# -- the shipped document ------------------------------------------------------------------


def test_shipped_document_is_the_shared_reference() -> None:
    shared = [
        p / "shared" / "reference" / official.DOCUMENT
        for p in ROOT.parents
        if (p / "shared" / "reference" / official.DOCUMENT).is_file()
    ]
    if not shared:
        pytest.skip("shared/reference is not beside this checkout")
    assert official.document_path().read_bytes() == shared[0].read_bytes()
    assert (
        official.document_path()
        .read_text("utf-8")
        .startswith("# Trimmed copy of OpenAI's official OpenAPI document")
    )


def test_generated_models_are_what_the_generator_makes() -> None:
    """The committed models are datamodel-code-generator's output for the shipped document."""
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    if not codegen.is_file():
        pytest.skip("datamodel-code-generator is not installed (pip install -e '.[test]')")
    done = subprocess.run(
        [str(codegen), *GENERATE], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    committed = ROOT / "src" / "remixcheck" / "clients" / "generated" / "openai_videos.py"
    assert done.stdout == committed.read_text("utf-8")
    readme = (committed.parent / "README.md").read_text("utf-8")
    assert " ".join(readme.split()).count(" ".join(GENERATE)) == 1  # the documented command


def test_generated_models_require_all_13_fields() -> None:
    from remixcheck.clients.generated_models import GeneratedModels

    judged = GeneratedModels().judge(
        _observed(video(), _without(completed_at=1), video(progress=100.0), video(size="1x1"))
    )
    ok, nullable_left_out, integral_float, unknown_size = judged.breaks
    assert ok == []
    assert [(b.field, b.kind) for b in nullable_left_out] == [("completed_at", "missing")]
    assert integral_float == []  # pydantic's lax mode takes 100.0 for an int
    assert [(b.field, b.kind) for b in unknown_size] == [("size", "enum")]


def test_json_validator_cache_holds_the_31_meta_schema() -> None:
    import hashlib

    url = "https://spec.openapis.org/oas/3.1/schema/2021-05-20"
    cached = official.json_validator_cache() / hashlib.md5(url.encode()).hexdigest()
    assert json.loads(cached.read_text("utf-8"))["$id"] == url


def test_no_client_impact_leaves_the_entry_out(tmp_path: Path) -> None:
    out = run_cli(
        "run",
        "--emulate",
        "openai",
        "--no-client-impact",
        "--report-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    (target,) = results["targets"]
    assert "client_impact" not in target
    assert target["observed_videos"]  # the bodies are still kept, for the field matrix
    assert "client impact:" not in out.stdout
    assert 'id="clients-table"' not in (tmp_path / "compat.html").read_text(encoding="utf-8")


def test_a_key_echoed_into_a_video_never_reaches_the_entry() -> None:
    """pydantic quotes a body cut in the middle: the key must be gone before any client sees it."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from remixcheck.conformance import runner
    from remixcheck.conformance.checks.context import Settings
    from remixcheck.conformance.targets import Target

    key = "sk-echo-SECRETSECRETSECRET-0123456789abcdef"

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            body = json.dumps({"id": token, "object": "video", "status": "completed"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = Target(
            name="echo",
            vendor="openai",
            base_url=f"http://127.0.0.1:{server.server_address[1]}",
            api_key_env="ECHO_KEY",
            api_key=key,
            video_id="video_1",
        )
        options = runner.RunOptions(
            checks=("source.retrieve",), context=Settings(poll_interval=0.05, poll_timeout=2)
        )
        result = runner.run([target], options)
        data = runner.public_dict(result, [target])
    finally:
        server.shutdown()
        server.server_close()
    impact = data["targets"][0]["client_impact"]
    strict = _stacks(impact)["openai-sdk-strict"]
    assert strict["status"] == "breaks"
    assert "input_value={'id': '<redacted>'" in strict["first_break"]["error"]
    text = json.dumps(data)
    assert "SECRETSECRET" not in text
    assert key[:12] not in text
