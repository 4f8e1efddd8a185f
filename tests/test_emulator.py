"""The vendor emulators, over real sockets: behaviour per dialect, the SDK, robustness, the API."""

from __future__ import annotations

import http.client
import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import yaml

from remixcheck import emulator
from remixcheck.contract import profiles as vendors
from remixcheck.contract import resources
from remixcheck.contract.findings import Verdict
from remixcheck.emulator import (
    EmulatorConfig,
    RunningEmulator,
    create_app,
    generate_api_key,
    running_emulator,
)
from remixcheck.errors import ProfileError, UsageError
from remixcheck.traffic.exchange import Exchange
from remixcheck.validation.validator import Validator

VENDORS = ("openai", "aihubmix", "apifree", "bifrost")
JOB_SECONDS = 0.3
VIDEO_FIELDS = {
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
}
STATUSES = ("queued", "in_progress", "completed", "failed")


# -- fixtures and helpers -----------------------------------------------------------


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, RunningEmulator]]:
    """One clean emulator per vendor, shared by the module (each test makes its own jobs)."""
    started: dict[str, RunningEmulator] = {}
    try:
        for vendor in VENDORS:
            started[vendor] = RunningEmulator(
                EmulatorConfig(vendor, generate_api_key(vendor), job_seconds=JOB_SECONDS)
            )
        yield started
    finally:
        for running in started.values():
            running.stop()


@pytest.fixture(params=VENDORS)
def emu(request: pytest.FixtureRequest, emulators: dict[str, RunningEmulator]) -> RunningEmulator:
    return emulators[request.param]


def client(emu: RunningEmulator, **headers: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {emu.api_key}", **headers}
    return httpx.Client(base_url=emu.base_url, headers=auth, timeout=10)


def profile(emu: RunningEmulator) -> vendors.Profile:
    return vendors.load(emu.vendor)


def poll(c: httpx.Client, video_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every body seen while polling a job until it is completed or failed."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.get(f"/v1/videos/{video_id}")
        assert r.status_code == 200, r.text
        seen.append(r.json())
        if seen[-1]["status"] in ("completed", "failed"):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"job {video_id} did not finish in {timeout}s: {seen[-1]}")


def assert_error(vendor: str, r: httpx.Response, status: int) -> dict[str, Any]:
    """The response is `status` in the vendor's documented error envelope; returns the inner error."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    if vendor == "bifrost":
        assert set(body) == {"is_bifrost_error", "status_code", "error", "extra_fields"}
        assert body["status_code"] == status
        assert body["is_bifrost_error"] is (status >= 500)
        assert isinstance(body["extra_fields"], dict)
        inner = body["error"]
        assert isinstance(inner["message"], str)
        assert inner["message"]
        # Bifrost's documented error object carries no type or param (and no nulls).
        assert set(inner) <= {"message", "code"}
        return dict(inner)
    assert set(body) == {"error"}
    inner = body["error"]
    assert set(inner) == {"message", "type", "param", "code"}
    assert isinstance(inner["message"], str)
    assert inner["message"]
    assert isinstance(inner["type"], str)
    assert inner["param"] is None or isinstance(inner["param"], str)
    assert inner["code"] is None or isinstance(inner["code"], str)
    return dict(inner)


def canonical_schema(name: str) -> dict[str, Any]:
    spec = yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))
    return {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}


def is_vendor_id(emu: RunningEmulator, video_id: Any) -> bool:
    return isinstance(video_id, str) and bool(profile(emu).video_id.pattern.fullmatch(video_id))


# -- every vendor ---------------------------------------------------------------------


def test_source_video_is_seeded_completed_in_vendor_format(emu: RunningEmulator) -> None:
    assert is_vendor_id(emu, emu.source_video_id)
    with client(emu) as c:
        body = c.get(f"/v1/videos/{emu.source_video_id}").json()
    assert body["id"] == emu.source_video_id
    assert body["status"] == "completed"
    assert body["progress"] == 100
    assert body["expires_at"] == body["completed_at"] + 3600


def test_create_json_runs_queued_to_completed(emu: RunningEmulator) -> None:
    with client(emu) as c:
        r = c.post("/v1/videos", json={"prompt": "a fox in the snow", "seconds": "8"})
        assert r.status_code == 200, r.text
        created = r.json()
        assert created["status"] == "queued"
        assert is_vendor_id(emu, created["id"])
        seen = [created, *poll(c, created["id"])]
    order = [STATUSES.index(b["status"]) for b in seen]
    assert order == sorted(order), "status never goes back"
    progress = [b["progress"] for b in seen if "progress" in b]
    assert progress == sorted(progress), "progress never goes down"
    done = seen[-1]
    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["completed_at"] >= done.get("created_at", done.get("created"))
    assert done["expires_at"] == done["completed_at"] + 3600
    assert done["prompt"] == "a fox in the snow"


def test_fail_marker_makes_the_job_fail(emu: RunningEmulator) -> None:
    with client(emu) as c:
        created = c.post("/v1/videos", json={"prompt": "a storm [fail]"}).json()
        done = poll(c, created["id"])[-1]
        remix = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "more [fail]"})
        remix_done = poll(c, remix.json()["id"])[-1]
    for body in (done, remix_done):
        assert body["status"] == "failed"
        assert body["error"]["code"] == "video_generation_failed"
        assert "[fail]" in body["error"]["message"]
        assert body.get("expires_at") is None  # nothing to download from a failed job


def test_remix_json_starts_a_job_from_the_source(emu: RunningEmulator) -> None:
    with client(emu) as c:
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "make it snow"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert is_vendor_id(emu, body["id"])
        assert body["id"] != emu.source_video_id
        assert body["object"] == "video"
        assert body["status"] == "queued"
        done = poll(c, body["id"])[-1]
    assert done["status"] == "completed"
    assert done["remixed_from_video_id"] == emu.source_video_id
    assert done["prompt"] == "make it snow"


def test_remix_multipart_as_each_vendor_documents(emu: RunningEmulator) -> None:
    with client(emu) as c:
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", files={"prompt": (None, "snow")})
    if "multipart/form-data" in profile(emu).content_types:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "queued"
    else:
        # apifree: a header it documents as "must be application/json" -> 415;
        # Bifrost JSON-decodes every body, so multipart is its generic 400.
        assert_error(emu.vendor, r, 415 if emu.vendor == "apifree" else 400)


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer wrong-key-0123456789", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["missing", "wrong", "basic", "empty"],
)
def test_auth_failures_are_401_in_the_vendor_envelope(
    emu: RunningEmulator, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    with httpx.Client(base_url=emu.base_url, headers=headers) as c:
        for r in (
            c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x"}),
            c.get(f"/v1/videos/{emu.source_video_id}"),
            c.post("/v1/videos", json={"prompt": "x"}),
        ):
            inner = assert_error(emu.vendor, r, 401)
            assert "0123456789" not in inner["message"], "a key is never echoed back whole"


def test_unknown_video_is_404(emu: RunningEmulator) -> None:
    unknown = profile(emu).video_id.make("video_doesnotexist")
    with client(emu) as c:
        assert_error(emu.vendor, c.get(f"/v1/videos/{unknown}"), 404)
        r = c.post(f"/v1/videos/{unknown}/remix", json={"prompt": "x"})
    assert_error(emu.vendor, r, 404)


def test_remix_of_unfinished_video_is_refused(emu: RunningEmulator) -> None:
    status = profile(emu).not_completed_status
    with client(emu) as c:
        before = emu.state.snapshot()["billable_jobs"]
        for video_id in (emu.pending_video_id, emu.failed_video_id):
            r = c.post(f"/v1/videos/{video_id}/remix", json={"prompt": "x"})
            assert_error(emu.vendor, r, status)
        fresh = c.post("/v1/videos", json={"prompt": "x"}).json()
        # A job just created is queued for 20% of job_seconds; refuse it too when caught early.
        r = c.post(f"/v1/videos/{fresh['id']}/remix", json={"prompt": "y"})
        assert r.status_code in (200, status)
    assert emu.state.snapshot()["billable_jobs"] >= before + 1


def test_prompt_limits(emu: RunningEmulator) -> None:
    url = f"/v1/videos/{emu.source_video_id}/remix"
    limit = profile(emu).prompt_max_length
    with client(emu) as c:
        assert_error(emu.vendor, c.post(url, json={"prompt": ""}), 400)
        assert_error(emu.vendor, c.post(url, json={}), 400)
        assert c.post(url, json={"prompt": "x" * 32000}).status_code == 200
        assert c.post(url, json={"prompt": "é" * 32000}).status_code == 200  # characters, not bytes
        too_long = c.post(url, json={"prompt": "x" * 32001})
    if limit is None:
        assert too_long.status_code == 200  # Bifrost checks only that the prompt is non-empty
    else:
        assert limit == 32000
        assert_error(emu.vendor, too_long, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": 123},
        {"prompt": ["x"]},
        {"prompt": {"a": 1}},
        {"prompt": True},
        ["prompt"],
        "x",
        1,
        None,
    ],
    ids=["int", "list", "object", "bool", "body-list", "body-string", "body-number", "body-null"],
)
def test_wrong_types_are_400(emu: RunningEmulator, body: Any) -> None:
    with client(emu) as c:
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json=body)
        assert_error(emu.vendor, r, 400)
        r = c.post("/v1/videos", json=body)
    assert_error(emu.vendor, r, 400)


@pytest.mark.parametrize("field", ["model", "seconds", "size"])
@pytest.mark.parametrize("value", [None, ""])
def test_create_optional_fields_null_or_empty(emu: RunningEmulator, field: str, value: Any) -> None:
    """OpenAI-shaped vendors reject null (and "" where an enum applies); Go decodes both as left out."""
    with client(emu) as c:
        r = c.post("/v1/videos", json={"prompt": "a dawn", field: value})
    # model is an open string in the contract: "" is a string like any other.
    if emu.vendor == "bifrost" or (field == "model" and value == ""):
        assert r.status_code == 200, r.text
    else:
        assert_error(emu.vendor, r, 400)


def test_prompt_null(emu: RunningEmulator) -> None:
    with client(emu) as c:
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": None})
    inner = assert_error(emu.vendor, r, 400)
    if emu.vendor == "bifrost":
        assert inner["message"] == "prompt is required"  # Go decodes null into ""


def test_unknown_route_and_wrong_method(emu: RunningEmulator) -> None:
    with client(emu) as c:
        for path in ("/v1/nothing", "/", "/v2/videos", "/v1/videos/", "/v1/videos//remix"):
            assert_error(emu.vendor, c.get(path), 404)
        r = c.delete(f"/v1/videos/{emu.source_video_id}/remix")
        assert_error(emu.vendor, r, 405)
        assert r.headers["allow"] == "POST"
        assert_error(emu.vendor, c.put(f"/v1/videos/{emu.source_video_id}"), 405)
        assert_error(emu.vendor, c.get("/v1/videos"), 405)


def test_unsupported_content_types(emu: RunningEmulator) -> None:
    expected = 400 if emu.vendor == "bifrost" else 415
    with client(emu) as c:
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            r = c.post(
                f"/v1/videos/{emu.source_video_id}/remix",
                content=b'{"prompt": "x"}',
                headers={"Content-Type": ctype},
            )
            assert_error(emu.vendor, r, expected)


def test_json_content_type_with_charset(emu: RunningEmulator) -> None:
    with client(emu) as c:
        r = c.post(
            f"/v1/videos/{emu.source_video_id}/remix",
            content=json.dumps({"prompt": "snow"}).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    assert r.status_code == 200, r.text


def test_ids_are_deterministic_from_the_seed() -> None:
    for vendor in VENDORS:
        a = create_app(EmulatorConfig(vendor, "k", seed=7)).state.emulator
        b = create_app(EmulatorConfig(vendor, "k", seed=7)).state.emulator
        c = create_app(EmulatorConfig(vendor, "k", seed=8)).state.emulator
        assert a.source_video_id == b.source_video_id != c.source_video_id
        assert vendors.load(vendor).video_id.pattern.fullmatch(a.source_video_id)
        assert len({a.source_video_id, a.pending_video_id, a.failed_video_id}) == 3


def test_request_counters(emu: RunningEmulator) -> None:
    before = emu.state.snapshot()
    with client(emu) as c:
        c.get(f"/v1/videos/{emu.source_video_id}")
        c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "count me"})
        c.get("/v1/unknown")
    after = emu.state.snapshot()
    assert (
        after["requests"]["GET /v1/videos/{video_id}"]
        == before["requests"].get("GET /v1/videos/{video_id}", 0) + 1
    )
    assert (
        after["operations"]["CreateVideoRemix"]
        == before["operations"].get("CreateVideoRemix", 0) + 1
    )
    assert after["requests"]["GET (no route)"] == before["requests"].get("GET (no route)", 0) + 1
    assert after["billable_jobs"] == before["billable_jobs"] + 1


def test_clean_emulators_show_only_documented_deviations(emu: RunningEmulator) -> None:
    """The validation core finds no response violation and every response-side deviation."""
    validator = Validator.for_vendor(emu.vendor)
    deviations: set[str] = set()
    with client(emu) as c:
        remix = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"})
        created = c.post("/v1/videos", json={"prompt": "a cat"})
        queued = c.get(f"/v1/videos/{created.json()['id']}")
        responses = [
            remix,
            created,
            queued,
            c.get(f"/v1/videos/{emu.pending_video_id}"),
            c.get(f"/v1/videos/{emu.failed_video_id}"),
            c.get(f"/v1/videos/{emu.source_video_id}"),
            c.get(f"/v1/videos/{profile(emu).video_id.make('video_nope')}"),
            c.post(f"/v1/videos/{emu.pending_video_id}/remix", json={"prompt": "x"}),
            c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": ""}),
            c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": 5}),
            c.post(
                f"/v1/videos/{emu.source_video_id}/remix",
                content=b"{",
                headers={"Content-Type": "application/json"},
            ),
            c.post(
                f"/v1/videos/{emu.source_video_id}/remix",
                json={"prompt": "x"},
                headers={"Authorization": "Bearer bad"},
            ),
        ]
        if emu.vendor == "apifree":
            responses.append(
                c.post(
                    f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x", "model": "m"}
                )
            )
            responses.append(c.get(f"/v1/openai/videos/{emu.source_video_id}"))
        if emu.vendor == "bifrost":
            responses.append(
                c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x", "seed": 3})
            )
    for r in responses:
        result = validator.validate(Exchange.from_httpx(r))
        assert result is not None, r.request.url
        bad = [
            f for f in result.findings if f.where == "response" and f.verdict is Verdict.VIOLATION
        ]
        assert not bad, (
            r.request.method,
            r.request.url.path,
            r.status_code,
            [f.message for f in bad],
        )
        deviations |= {f.deviation for f in result.findings if f.deviation}
    expected = {
        "openai": set(),
        "aihubmix": set(),
        "apifree": {
            "apifree.minimal-remix-response",
            "apifree.retrieve-created",
            "apifree.seconds-integer",
            "apifree.progress-when-available",
            "apifree.remix-model-field",
        },
        "bifrost": {
            "bifrost.omits-empty-fields",
            "bifrost.float-progress",
            "bifrost.free-size",
            "bifrost.extra-fields",
            "bifrost.error-envelope",
            "bifrost.request-passthrough",
        },
    }[emu.vendor]
    # The queued-retrieve evidence for apifree depends on catching the job while queued.
    if emu.vendor == "apifree" and queued.json()["status"] != "queued":
        expected.discard("apifree.progress-when-available")
    assert deviations == expected


def test_every_documented_deviation_is_covered() -> None:
    """Each deviation in a profile is exhibited, and this table says which test shows it."""
    covered = {
        "aihubmix.multipart-documented": "test_remix_multipart_as_each_vendor_documents",
        "aihubmix.quota-403": "test_quota_exhaustion",
        "apifree.minimal-remix-response": "test_clean_emulators_show_only_documented_deviations",
        "apifree.retrieve-created": "test_apifree_retrieve_shape",
        "apifree.seconds-integer": "test_apifree_retrieve_shape",
        "apifree.progress-when-available": "test_apifree_retrieve_shape",
        "apifree.remix-model-field": "test_apifree_remix_model_field",
        "apifree.json-only": "test_remix_multipart_as_each_vendor_documents",
        "apifree.compat-route": "test_apifree_compat_route",
        "apifree.errors-undocumented": "test_auth_failures_are_401_in_the_vendor_envelope",
        "bifrost.provider-suffixed-ids": "test_bifrost_ids",
        "bifrost.omits-empty-fields": "test_bifrost_video_shape",
        "bifrost.float-progress": "test_bifrost_video_shape",
        "bifrost.free-size": "test_bifrost_video_shape",
        "bifrost.extra-fields": "test_bifrost_video_shape",
        "bifrost.error-envelope": "test_bifrost_errors",
        "bifrost.json-only": "test_remix_multipart_as_each_vendor_documents",
        "bifrost.request-passthrough": "test_bifrost_remix_passthrough",
        "bifrost.prompt-max-length-not-enforced": "test_prompt_limits",
    }
    # LiteLLM has no emulator: its deviations are shown by the real proxy (tests/test_litellm.py).
    documented = {d.id for v in emulator.EMULATED_VENDORS for d in vendors.load(v).deviations}
    assert documented == set(covered)
    assert all(name in globals() for name in covered.values())


# -- OpenAI -------------------------------------------------------------------------


def test_openai_video_is_full_and_conformant(emulators: dict[str, RunningEmulator]) -> None:
    for vendor in ("openai", "aihubmix"):
        emu = emulators[vendor]
        validator = jsonschema.Draft202012Validator(canonical_schema("VideoResource"))
        with client(emu) as c:
            bodies = [
                c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"}).json(),
                c.get(f"/v1/videos/{emu.pending_video_id}").json(),
                c.get(f"/v1/videos/{emu.failed_video_id}").json(),
                c.get(f"/v1/videos/{emu.source_video_id}").json(),
            ]
        for body in bodies:
            assert set(body) == VIDEO_FIELDS
            assert isinstance(body["progress"], int)
            validator.validate(body)
        assert bodies[0]["completed_at"] is None
        assert bodies[0]["error"] is None


def test_openai_poll_after_header(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["openai"]
    with client(emu) as c:
        r = c.get(f"/v1/videos/{emu.pending_video_id}")
        assert int(r.headers["openai-poll-after-ms"]) > 0
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x"})
        assert "openai-poll-after-ms" in r.headers
    with client(emulators["aihubmix"]) as c:
        r = c.get(f"/v1/videos/{emulators['aihubmix'].source_video_id}")
        assert "openai-poll-after-ms" not in r.headers


def test_openai_error_codes(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["openai"]
    url = f"/v1/videos/{emu.source_video_id}/remix"
    with client(emu) as c:
        inner = assert_error("openai", c.post(url, json={"prompt": "x", "model": "sora-2"}), 400)
        assert inner["code"] == "unknown_parameter"
        assert inner["param"] == "model"
        assert (
            assert_error("openai", c.post(url, json={}), 400)["code"]
            == "missing_required_parameter"
        )
        assert (
            assert_error("openai", c.post(url, json={"prompt": ""}), 400)["code"]
            == "string_below_min_length"
        )
        assert (
            assert_error("openai", c.post(url, json={"prompt": "x" * 32001}), 400)["code"]
            == "string_above_max_length"
        )
        assert (
            assert_error("openai", c.post(url, json={"prompt": 1}), 400)["code"] == "invalid_type"
        )
        inner = assert_error(
            "openai",
            c.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer sk-nope"}),
            401,
        )
        assert inner["code"] == "invalid_api_key"
        r = c.post(url, files={"prompt": (None, "x"), "foo": (None, "y")})
        assert assert_error("openai", r, 400)["code"] == "unknown_parameter"
        r = c.post(url, files={"prompt": ("p.txt", b"x", "text/plain")})
        assert assert_error("openai", r, 400)["code"] == "invalid_type"


def test_openai_create_validates_enums_and_accepts_schema_valid_bodies(
    emulators: dict[str, RunningEmulator],
) -> None:
    emu = emulators["openai"]
    with client(emu) as c:
        assert (
            assert_error("openai", c.post("/v1/videos", json={"prompt": "x", "seconds": "5"}), 400)[
                "param"
            ]
            == "seconds"
        )
        assert (
            assert_error("openai", c.post("/v1/videos", json={"prompt": "x", "size": "1x1"}), 400)[
                "param"
            ]
            == "size"
        )
        assert (
            assert_error("openai", c.post("/v1/videos", json={"prompt": "x", "seconds": 8}), 400)[
                "code"
            ]
            == "invalid_type"
        )
        # OpenAI's document declares JSON create's input_reference an object, not nullable.
        for ref in (None, 0, False, "x"):
            body = {"prompt": "x", "input_reference": ref}
            err = assert_error("openai", c.post("/v1/videos", json=body), 400)
            assert (err["code"], err["param"]) == ("invalid_type", "input_reference")
        # The contract leaves model open and allows extra create fields.
        r = c.post(
            "/v1/videos",
            json={
                "prompt": "x",
                "model": "my-model",
                "extra": 1,
                "seconds": "12",
                "size": "1792x1024",
            },
        )
        assert r.status_code == 200, r.text
        assert (r.json()["model"], r.json()["seconds"], r.json()["size"]) == (
            "my-model",
            "12",
            "1792x1024",
        )
        r = c.post(
            "/v1/videos",
            files={
                "prompt": (None, "x"),
                "seconds": (None, "8"),
                "input_reference": ("ref.png", b"\x89PNG", "image/png"),
            },
        )
        assert r.status_code == 200, r.text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openai_sdk_against_the_emulator(emulators: dict[str, RunningEmulator]) -> None:
    import openai

    emu = emulators["openai"]
    sdk = openai.OpenAI(base_url=emu.base_url + "/v1", api_key=emu.api_key, max_retries=0)
    video = sdk.videos.create(prompt="a calico cat", seconds="8", size="1280x720", model="sora-2")
    assert video.status == "queued"
    assert video.seconds == "8"
    assert video.size == "1280x720"
    assert sdk.videos.retrieve(video.id).id == video.id
    done = sdk.videos.poll(video.id)
    assert done.status == "completed"
    assert done.progress == 100
    assert done.expires_at is not None
    remix = sdk.videos.remix(emu.source_video_id, prompt="now in snow")
    assert remix.remixed_from_video_id == emu.source_video_id
    assert remix.prompt == "now in snow"
    assert sdk.videos.poll(remix.id).status == "completed"
    failed = sdk.videos.create_and_poll(prompt="doomed [fail]")
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "video_generation_failed"
    with pytest.raises(openai.BadRequestError):
        sdk.videos.remix(emu.pending_video_id, prompt="too early")
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve("video_missing")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=emu.base_url + "/v1", api_key="sk-wrong", max_retries=0
        ).videos.retrieve(video.id)


# -- aihubmix -----------------------------------------------------------------------


def test_aihubmix_error_codes_and_key_format(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["aihubmix"]
    assert emu.api_key.startswith("sk-gateway-")
    url = f"/v1/videos/{emu.source_video_id}/remix"
    with client(emu) as c:
        assert (
            assert_error("aihubmix", c.post(url, files={"other": (None, "x")}), 400)["code"]
            == "unknown_parameter"
        )
        assert assert_error("aihubmix", c.post(url, json={}), 400)["code"] == "prompt_missing"
        assert (
            assert_error("aihubmix", c.post(url, files={"prompt": (None, "")}), 400)["code"]
            == "prompt_missing"
        )
        r = c.post(url, files={"prompt": (None, "x" * 32001)})
        assert assert_error("aihubmix", r, 400)["code"] == "prompt_too_long"
        r = c.post(url, files={"prompt": (None, "multipart, as documented")})
        assert r.status_code == 200
        assert r.json()["prompt"] == "multipart, as documented"


def test_quota_exhaustion() -> None:
    for vendor, status in (("openai", 429), ("aihubmix", 403), ("apifree", 429), ("bifrost", 429)):
        with running_emulator(vendor, billable_quota=1) as emu, client(emu) as c:
            url = f"/v1/videos/{emu.source_video_id}/remix"
            assert c.post(url, json={"prompt": "first"}).status_code == 200
            r = c.post(url, json={"prompt": "second"})
            inner = assert_error(vendor, r, status)
            assert inner.get("code") == "insufficient_quota"
            assert (r.headers.get("retry-after") is not None) is (status == 429)
            assert emu.state.snapshot()["billable_jobs"] == 1


# -- apifree ------------------------------------------------------------------------


def test_apifree_remix_response_is_minimal(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["apifree"]
    with client(emu) as c:
        body = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"}).json()
    assert set(body) == {"id", "object", "created_at", "status", "model"}
    assert body["object"] == "video"
    assert body["status"] == "queued"


def test_apifree_retrieve_shape() -> None:
    # A long job_seconds keeps a fresh job queued while we look at it.
    with running_emulator("apifree", job_seconds=60) as emu, client(emu) as c:
        created = c.post("/v1/videos", json={"prompt": "x", "seconds": "12"}).json()
        assert set(created) == VIDEO_FIELDS  # create is not documented as different
        queued = c.get(f"/v1/videos/{created['id']}").json()
        done = c.get(f"/v1/videos/{emu.source_video_id}").json()
        pending = c.get(f"/v1/videos/{emu.pending_video_id}").json()
    assert set(queued) == VIDEO_FIELDS - {"created_at", "progress"} | {"created"}
    assert queued["seconds"] == 12
    assert isinstance(queued["created"], int)
    assert set(done) == VIDEO_FIELDS - {"created_at"} | {"created"}
    assert done["seconds"] == 8
    assert done["progress"] == 100
    assert pending["progress"] == 42
    assert pending["completed_at"] is None


def test_apifree_remix_model_field(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["apifree"]
    url = f"/v1/videos/{emu.source_video_id}/remix"
    with client(emu) as c:
        r = c.post(url, json={"prompt": "snow", "model": "video-model-id"})
        assert r.status_code == 200
        assert r.json()["model"] == "video-model-id"
        assert (
            assert_error("apifree", c.post(url, json={"prompt": "x", "model": 3}), 400)["param"]
            == "model"
        )
        assert (
            assert_error("apifree", c.post(url, json={"prompt": "x", "foo": 1}), 400)["code"]
            == "unknown_parameter"
        )


def test_apifree_compat_route(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["apifree"]
    with client(emu) as c:
        before = emu.state.snapshot()["requests"]
        r = c.post(f"/v1/openai/videos/{emu.source_video_id}/remix", json={"prompt": "compat"})
        assert r.status_code == 200
        assert set(r.json()) == {"id", "object", "created_at", "status", "model"}
        got = c.get(f"/v1/openai/videos/{r.json()['id']}")
        assert got.status_code == 200
        assert got.json()["prompt"] == "compat"
        assert c.post("/v1/openai/videos", json={"prompt": "c"}).status_code == 200
        assert_error(
            "apifree", c.post("/v1/openai/videos/video_nope/remix", json={"prompt": "x"}), 404
        )
        after = emu.state.snapshot()["requests"]
    route = "POST /v1/openai/videos/{video_id}/remix"
    assert after[route] == before.get(route, 0) + 2
    # No other vendor serves the compatibility route.
    with running_emulator("openai") as other, client(other) as c2:
        assert_error("openai", c2.get(f"/v1/openai/videos/{other.source_video_id}"), 404)


# -- Bifrost ------------------------------------------------------------------------


def test_bifrost_ids(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["bifrost"]
    native = emu.source_video_id.split(":", 1)[0]
    assert emu.source_video_id.endswith(":openai")
    with client(emu) as c:
        for bad in (native, f"{native}:", ":openai"):
            r = c.get(f"/v1/videos/{bad}")
            assert (
                assert_error("bifrost", r, 400)["message"]
                == "video_id must be in id:provider format"
            )
            r = c.post(f"/v1/videos/{bad}/remix", json={"prompt": "x"})
            assert (
                assert_error("bifrost", r, 400)["message"]
                == "video_id must be in id:provider format"
            )
        # %3A is decoded before the split, as Bifrost url.PathUnescapes the id.
        assert c.get(f"/v1/videos/{native}%3Aopenai").status_code == 200
        r = c.post(f"/v1/videos/{native}:runway/remix", json={"prompt": "x"})
        assert assert_error("bifrost", r, 400)["code"] == "unsupported_operation"
        body = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x"}).json()
        assert body["id"].endswith(":openai")
        assert body["remixed_from_video_id"] == emu.source_video_id
        # A job on another provider exists but cannot be remixed through Bifrost.
        runway = c.post("/v1/videos", json={"prompt": "x", "model": "runway/gen-4"}).json()
        assert runway["id"].endswith(":runway")
        assert runway["model"] == "gen-4"
        done = poll(c, runway["id"])[-1]
        assert done["status"] == "completed"
        r = c.post(f"/v1/videos/{runway['id']}/remix", json={"prompt": "x"})
        assert assert_error("bifrost", r, 400)["code"] == "unsupported_operation"
        r = c.post("/v1/videos", json={"prompt": "x", "model": "/sora-2"})
        assert (
            assert_error("bifrost", r, 400)["message"] == "model should be in provider/model format"
        )


def test_bifrost_video_shape(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["bifrost"]
    with client(emu) as c:
        remix = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x"}).json()
        pending = c.get(f"/v1/videos/{emu.pending_video_id}").json()
        failed = c.get(f"/v1/videos/{emu.failed_video_id}").json()
        done = c.get(f"/v1/videos/{emu.source_video_id}").json()
        created = c.post("/v1/videos", json={"prompt": "x", "size": "3840x2160"}).json()
    for body in (remix, pending, failed, done, created):
        assert None not in body.values()
        assert set(body["extra_fields"]) == {"request_type", "provider", "latency", "chunk_index"}
        assert body["extra_fields"]["provider"] == "openai"
    assert remix["extra_fields"]["request_type"] == "video_remix"
    assert done["extra_fields"]["request_type"] == "video_retrieve"
    assert created["extra_fields"]["request_type"] == "video_generation"
    assert created["size"] == "3840x2160"
    assert done["size"] == "1920x1080"
    assert isinstance(pending["progress"], float)
    assert not pending["progress"].is_integer()
    assert 0 <= pending["progress"] <= 100
    assert "completed_at" not in pending
    assert "error" not in pending
    assert "videos" not in pending
    assert "remixed_from_video_id" not in done
    assert "error" not in done
    assert done["videos"] == [
        {"type": "url", "url": done["videos"][0]["url"], "content_type": "video/mp4"}
    ]
    assert failed["error"]["code"] == "video_generation_failed"
    assert "videos" not in failed
    assert failed["content_filter"]["filtered_count"] == 1
    assert "content_filter" not in done


def test_bifrost_errors(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["bifrost"]
    url = f"/v1/videos/{emu.source_video_id}/remix"
    with client(emu) as c:
        r = c.post(f"/v1/videos/{emu.pending_video_id}/remix", json={"prompt": "x"})
        inner = assert_error("bifrost", r, 400)
        assert r.json()["extra_fields"] == {"request_type": "video_remix", "provider": "openai"}
        assert inner["code"] == "video_not_completed"
        r = c.post(
            f"/v1/videos/{emu.source_video_id.split(':')[0]}x:openai/remix", json={"prompt": "x"}
        )
        assert assert_error("bifrost", r, 404)["message"] == "Source video not found"
        assert (
            assert_error("bifrost", c.post(url, json={"prompt": ""}), 400)["message"]
            == "prompt is required"
        )
        assert (
            assert_error("bifrost", c.post("/v1/videos", json={}), 400)["message"]
            == "prompt cannot be empty"
        )
        inner = assert_error(
            "bifrost", c.post(url, content=b"{", headers={"Content-Type": "application/json"}), 400
        )
        assert inner["message"].startswith("Invalid request format")
        r = c.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer nope"})
        assert assert_error("bifrost", r, 401)
        assert r.json()["extra_fields"] == {"request_type": "video_remix"}


def test_bifrost_remix_passthrough(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["bifrost"]
    url = f"/v1/videos/{emu.source_video_id}/remix"
    with client(emu) as c:
        r = c.post(
            url,
            json={"prompt": "x", "fallbacks": ["openai/sora-2-pro"], "seed": 42, "style": {"a": 1}},
        )
        assert r.status_code == 200, r.text
        job = emu.state.jobs[r.json()["id"]]
        assert job.extra_params == {"seed": 42, "style": {"a": 1}}
        r = c.post(url, json={"prompt": "x", "fallbacks": "openai/sora-2"})
        assert assert_error("bifrost", r, 400)["message"].startswith("Invalid request format")


# -- robustness -----------------------------------------------------------------------


def _host_port(emu: RunningEmulator) -> tuple[str, int]:
    parts = urlsplit(emu.base_url)
    assert parts.hostname
    assert parts.port
    return parts.hostname, parts.port


def _raw(
    emu: RunningEmulator,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """A request whose path is sent byte for byte (httpx would normalise `..` and friends)."""
    conn = http.client.HTTPConnection(*_host_port(emu), timeout=10)
    try:
        conn.request(
            method,
            path,
            body=body,
            headers={"Authorization": f"Bearer {emu.api_key}", **(headers or {})},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _still_serving(emu: RunningEmulator) -> None:
    with client(emu) as c:
        assert c.get(f"/v1/videos/{emu.source_video_id}").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"prompt": "x"',
        b"\xff\xfe\x00garbage",
        b'{"prompt": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"prompt": ' + b"9" * 5000 + b"}",
        b"",
        b"null",
    ],
    ids=["open-brace", "truncated", "bad-utf8", "nan", "deep-nesting", "huge-int", "empty", "null"],
)
def test_malformed_json_is_400(emu: RunningEmulator, body: bytes) -> None:
    with client(emu) as c:
        r = c.post(
            f"/v1/videos/{emu.source_video_id}/remix",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    assert_error(emu.vendor, r, 400)
    _still_serving(emu)


def test_odd_but_valid_prompts_round_trip(emu: RunningEmulator) -> None:
    with client(emu) as c:
        for prompt in (
            "\ud800 lone surrogate",
            "emoji \U0001f600 and \u00e9",
            "nul \x00 byte",
            "  ",
        ):
            r = c.post(
                f"/v1/videos/{emu.source_video_id}/remix",
                content=json.dumps({"prompt": prompt}).encode(),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 200, r.text
            got = c.get(f"/v1/videos/{r.json()['id']}").json()
            assert got["prompt"] == prompt


def test_malformed_multipart_is_400(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["openai"]
    with client(emu) as c:
        for ctype, body in (
            ("multipart/form-data", b"--x\r\n"),
            ("multipart/form-data; boundary=x", b"garbage without parts"),
            (
                "multipart/form-data; boundary=x",
                b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nunterminated',
            ),
        ):
            r = c.post(
                f"/v1/videos/{emu.source_video_id}/remix",
                content=body,
                headers={"Content-Type": ctype},
            )
            assert_error("openai", r, 400)
    _still_serving(emu)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos/..",
        "/v1/videos/../videos/x",
        "/v1/videos/%2e%2e/remix",
        "/v1/videos/a%2Fb/remix",
        "/v1/videos/a%2Fb",
        "/v1/videos/%00",
        "/v1/videos/%ff%fe",
        "/v1/videos/" + "v" * 5000,
        "/v1/videos/" + "v" * 5000 + "/remix",
        "/v1//videos/x",
        "/v1/videos/x?video_id=../../etc/passwd",
    ],
)
def test_path_tricks_get_clean_4xx(emu: RunningEmulator, path: str) -> None:
    method = "POST" if path.endswith("/remix") else "GET"
    status, body = _raw(
        emu,
        method,
        path,
        json.dumps({"prompt": "x"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert 400 <= status < 500
    assert "error" in body
    assert emu.vendor != "bifrost" or "is_bifrost_error" in body
    if "v" * 5000 in path and emu.vendor != "bifrost":
        assert len(json.dumps(body)) < 2000, "long ids are not echoed back whole"
    _still_serving(emu)


def test_declared_oversized_body_is_413_without_reading_it(emu: RunningEmulator) -> None:
    host, port = _host_port(emu)
    head = (
        f"POST /v1/videos/{emu.source_video_id}/remix HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {emu.api_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(head + b'{"prompt": "')  # and nothing more of the 50 MB promised
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert time.monotonic() - started < 3
    _still_serving(emu)


def test_streamed_oversized_body_is_413() -> None:
    with running_emulator("openai", max_body_bytes=1024) as emu, client(emu) as c:

        def chunks() -> Iterator[bytes]:
            yield b'{"prompt": "'
            for _ in range(8):
                yield b"x" * 512
            yield b'"}'

        r = c.post(
            f"/v1/videos/{emu.source_video_id}/remix",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert "content-length" not in r.request.headers  # chunked: no length declared
        assert_error("openai", r, 413)
        assert (
            c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "fits"}).status_code
            == 200
        )
        r = c.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "x" * 2000})
        assert_error("openai", r, 413)


def test_concurrent_requests(emulators: dict[str, RunningEmulator]) -> None:
    emu = emulators["openai"]
    before = emu.state.snapshot()["billable_jobs"]
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            with client(emu) as c:
                for _ in range(5):
                    r = c.post(
                        f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "parallel"}
                    )
                    assert r.status_code == 200
                    with lock:
                        ids.append(r.json()["id"])
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert len(ids) == len(set(ids)) == 40
    assert emu.state.snapshot()["billable_jobs"] == before + 40


# -- public API and server life cycle ---------------------------------------------------


def test_public_api() -> None:
    assert set(emulator.__all__) == {
        "EMULATED_VENDORS",
        "FAULTS",
        "FAULT_SPECS",
        "TRIGGERS",
        "EmulatorConfig",
        "Fault",
        "RunningEmulator",
        "create_app",
        "generate_api_key",
        "running_emulator",
        "serve",
    }
    assert all(isinstance(v, str) and v for v in emulator.FAULTS.values())


def test_generate_api_key_formats() -> None:
    assert generate_api_key("openai").startswith("sk-")
    assert generate_api_key("aihubmix").startswith("sk-gateway-")
    assert generate_api_key("bifrost") != generate_api_key("bifrost")
    with pytest.raises(ProfileError):
        generate_api_key("nosuchvendor")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"vendor": "nosuchvendor"}, ProfileError),
        ({"faults": ("no-such-fault",)}, UsageError),
        ({"faults": ("skip-auth:x",)}, UsageError),
        ({"faults": ("drop-field:",)}, UsageError),
        ({"job_seconds": -1.0}, UsageError),
        ({"job_seconds": math.nan}, UsageError),
        ({"max_body_bytes": 0}, UsageError),
        ({"api_key": ""}, UsageError),
    ],
)
def test_config_is_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    args: dict[str, Any] = {"vendor": "openai", "api_key": "k", **kwargs}
    with pytest.raises(error):
        EmulatorConfig(**args)


def test_running_emulator_lifecycle() -> None:
    with running_emulator("openai", api_key="sk-fixed") as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert urlsplit(emu.base_url).path == ""
        assert emu.api_key == "sk-fixed"
        assert emu.config.api_key == "sk-fixed"
        assert emu.source_video_id == emu.app.state.emulator.source_video_id
        host, port = _host_port(emu)
        _still_serving(emu)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), timeout=1):
        pass
    emu.stop()  # a second stop is harmless


def test_port_in_use_is_a_usage_error() -> None:
    with running_emulator("openai") as emu:
        _, port = _host_port(emu)
        with (
            pytest.raises(UsageError, match="cannot listen"),
            running_emulator("openai", port=port),
        ):
            pass


def test_serve_blocks_and_reports_when_ready() -> None:
    script = (
        "from remixcheck.emulator import EmulatorConfig, serve\n"
        "cfg = EmulatorConfig('bifrost', 'key-123', job_seconds=0.2)\n"
        "serve(cfg, port=0, on_ready=lambda u, k, s: print(u, k, s, flush=True))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert len(line) == 3, proc.stderr.read() if proc.stderr else ""
        base_url, key, source = line
        assert base_url.startswith("http://127.0.0.1:")
        assert key == "key-123"
        assert source.endswith(":openai")
        r = httpx.get(f"{base_url}/v1/videos/{source}", headers={"Authorization": "Bearer key-123"})
        assert r.status_code == 200
        assert r.json()["status"] == "completed"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_job_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from remixcheck.emulator import state as state_module

    monkeypatch.setattr(state_module, "MAX_JOBS", 5)
    st = create_app(EmulatorConfig("openai", "k")).state.emulator
    ids = []
    for _ in range(10):
        view = st.start_job(
            model="m", prompt="p", size="720x1280", seconds="4", remixed_from=None, provider=None
        )
        assert view is not None
        ids.append(view.job.video_id)
    assert len(st.jobs) == 5
    assert {st.source_video_id, st.pending_video_id, st.failed_video_id} <= set(st.jobs)
    assert ids[-1] in st.jobs
    assert ids[0] not in st.jobs
