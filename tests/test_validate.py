"""The validation core: routing, request and response findings, exact pointers, all errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remixcheck.contract import profiles as vendors
from remixcheck.contract.findings import Severity, Verdict
from remixcheck.traffic.exchange import REDACTED, Exchange
from remixcheck.validation.validator import Validator
from tests.conftest import error_body, video

JSON_HEADERS = {"content-type": "application/json"}


def _remix(
    vendor: str = "openai",
    status: int = 200,
    body: Any = None,
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> list[Any]:
    v = Validator.for_vendor(vendor)
    raw = body if isinstance(body, (bytes, str)) else json.dumps(video() if body is None else body)
    return v.check_response(
        v.contract.operation("CreateVideoRemix"), status, headers or JSON_HEADERS, raw, **kw
    )


def _request(
    vendor: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    content_type: str | None = "application/json",
    auth: str | None = "Bearer sk-abc",
) -> list[Any]:
    headers = {"Authorization": auth} if auth else {}
    if content_type:
        headers["Content-Type"] = content_type
    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    ex = Exchange.build(
        method=method,
        url="http://127.0.0.1:9" + path,
        request_headers=headers,
        request_body=raw,
        request_body_raw=True,
        status=None,
    )
    result = Validator.for_vendor(vendor).validate(ex)
    assert result is not None
    return list(result.findings)


def test_valid_video_has_no_findings() -> None:
    assert _remix() == []


def test_all_errors_reported_with_exact_pointers() -> None:
    body = video(progress="50", status="running", error={"code": 5}, object="job")
    del body["prompt"]
    findings = _remix(body=body)
    got = {(f.pointer, f.keyword) for f in findings}
    assert got == {
        ("/progress", "type"),
        ("/status", "enum"),
        ("/error/code", "type"),
        ("/error/message", "required"),
        ("/object", "const"),
        ("/prompt", "required"),
    }
    assert all(f.verdict is Verdict.VIOLATION for f in findings)
    status = next(f for f in findings if f.pointer == "/status")
    assert status.expected == ["queued", "in_progress", "completed", "failed"]
    assert status.actual == "running"
    assert status.spec_location == "#/components/schemas/VideoStatus/enum"


def test_null_error_and_open_model_are_fine() -> None:
    assert _remix(body=video(model="some-future-model", error=None)) == []
    findings = _remix(body=video(model=7))
    assert [(f.pointer, f.keyword, f.expected) for f in findings] == [
        ("/model", "type", ["string"])
    ]


def test_error_envelope_on_4xx() -> None:
    assert _remix(status=400, body=error_body()) == []
    findings = _remix(status=404, body={"message": "not found"})
    assert {(f.pointer, f.keyword) for f in findings if f.severity is not Severity.INFO} == {
        ("/error", "required")
    }
    assert all(
        f.origin == "remixcheck-convention" for f in findings if f.severity is not Severity.INFO
    )
    # an extra top-level property is what the server was seen to send, not a rule
    assert all(f.origin == "observation" for f in findings if f.severity is Severity.INFO)


def test_undeclared_status_content_type_and_non_json() -> None:
    [f] = _remix(status=418, body=video())
    assert (f.check, f.location, f.actual) == ("response.status", "status", 418)
    findings = _remix(headers={"content-type": "text/plain"})
    assert [f.check for f in findings] == ["response.content-type"]
    [f] = _remix(body=b'{"id": "video_1", "obj')
    assert (f.check, f.keyword) == ("response.body", "json")
    [f] = _remix(body=b"<html>502 Bad Gateway</html>")
    assert "not valid JSON" in f.message
    [f] = _remix(body=b'{"id": "vid', truncated=True)
    assert (f.keyword, f.actual) == ("size", "truncated")


def test_retry_after_may_be_omitted_but_when_sent_is_an_integer_of_at_least_1() -> None:
    # OpenAI's TooManyRequests: "may be omitted for 429 responses that require user action".
    assert _remix(status=429, body=error_body()) == []
    assert _remix(status=429, body=error_body(), headers={**JSON_HEADERS, "retry-after": "2"}) == []
    for bad in ("0", "1.5", "Wed, 21 Oct 2026 07:28:00 GMT", "-3", "soon"):
        [f] = _remix(status=429, body=error_body(), headers={**JSON_HEADERS, "retry-after": bad})
        assert (f.check, f.severity, f.pointer) == (
            "response.header",
            Severity.WARNING,
            "retry-after",
        )
        assert f.origin == "remixcheck-convention"
        assert "integer >= 1" in (f.origin_why or "")


def test_extra_properties_are_info_and_explained_for_bifrost() -> None:
    body = video(videos=[], surprise=True)
    openai = _remix(body=body)
    assert {(f.pointer, f.verdict, f.severity) for f in openai} == {
        ("/videos", Verdict.PASS, Severity.INFO),
        ("/surprise", Verdict.PASS, Severity.INFO),
    }
    bifrost = {f.pointer: f.deviation for f in _remix("bifrost", body=body)}
    assert bifrost == {"/videos": "bifrost.extra-fields", "/surprise": None}


def test_routing_through_vendor_prefixes() -> None:
    apifree = Validator.for_vendor("apifree")
    route = apifree.route("POST", "/v1/openai/videos/video_1/remix")
    assert route is not None
    assert (route.operation.operation_id, route.video_id, route.compat) == (
        "CreateVideoRemix",
        "video_1",
        True,
    )
    assert apifree.route("GET", "/v1/videos/video_1").operation.operation_id == "GetVideo"  # type: ignore[union-attr]
    assert apifree.route("POST", "/v1/videos").operation.operation_id == "createVideo"  # type: ignore[union-attr]
    assert apifree.route("DELETE", "/v1/videos/video_1") is None
    assert apifree.route("GET", "/v2/videos/video_1") is None
    openai = Validator.for_vendor("openai")
    assert openai.route("POST", "/v1/openai/videos/video_1/remix") is None
    # %2F stays inside one segment: it is an id with a slash, not another path.
    route = openai.route("GET", "/v1/videos/a%2Fb")
    assert route is not None
    assert route.video_id == "a/b"


def test_request_validation() -> None:
    assert _request("openai", "POST", "/v1/videos/video_1/remix", body={"prompt": "x"}) == []
    # OpenAI's remix body is open: an unknown field is no finding, a short prompt is.
    findings = _request("openai", "POST", "/v1/videos/video_1/remix", body={"prompt": "", "n": 2})
    assert {(f.pointer, f.keyword, f.origin, f.verdict) for f in findings} == {
        ("/prompt", "minLength", "openai-published", Verdict.VIOLATION),
        ("/n", "additionalProperties", "observation", Verdict.PASS),
    }
    findings = _request("openai", "POST", "/v1/videos/video_1/remix", body={"prompt": "x" * 32001})
    [f] = findings
    assert (f.keyword, f.expected, f.actual, f.where) == ("maxLength", 32000, 32001, "request")
    [f] = _request("openai", "POST", "/v1/videos/video_1/remix", body={"prompt": 5})
    assert (f.pointer, f.keyword) == ("/prompt", "type")
    [f] = _request("openai", "POST", "/v1/videos/video_1/remix", body='{"prompt": ')
    assert f.keyword == "json"
    [f] = _request(
        "openai",
        "POST",
        "/v1/videos/video_1/remix",
        body="prompt=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert f.check == "request.content-type"
    [f] = _request("openai", "POST", "/v1/videos/video_1/remix", body=None, content_type=None)
    assert (f.check, f.keyword) == ("request.body", "required")
    # requestBody.required is ours, not OpenAI's: the finding says so, and why.
    assert f.origin == "remixcheck-convention"
    assert "400" in (f.origin_why or "")
    [f] = _request("openai", "GET", "/v1/videos/video_1", content_type=None, auth=None)
    assert f.check == "request.auth"
    [f] = _request("openai", "GET", "/v1/videos/video_1", content_type=None, auth="Basic dXNlcg==")
    assert (f.check, f.actual) == ("request.auth", "Basic")


def test_multipart_requests() -> None:
    body = '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nsnow\r\n--b--\r\n'
    assert (
        _request(
            "openai",
            "POST",
            "/v1/videos/video_1/remix",
            body=body,
            content_type="multipart/form-data; boundary=b",
        )
        == []
    )
    empty = '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n\r\n--b--\r\n'
    [f] = _request(
        "openai",
        "POST",
        "/v1/videos/video_1/remix",
        body=empty,
        content_type="multipart/form-data; boundary=b",
    )
    assert (f.pointer, f.keyword) == ("/prompt", "minLength")
    [f] = _request(
        "openai",
        "POST",
        "/v1/videos/video_1/remix",
        body="garbage",
        content_type="multipart/form-data; boundary=b",
    )
    assert f.keyword == "multipart"
    [f] = _request(
        "bifrost",
        "POST",
        "/v1/videos/v:openai/remix",
        body=body,
        content_type="multipart/form-data; boundary=b",
    )
    assert (f.check, f.verdict) == ("request.content-type", Verdict.VIOLATION)
    assert "accepts only application/json" in f.message


def test_vendor_request_dialects() -> None:
    [f] = _request(
        "apifree", "POST", "/v1/videos/video_1/remix", body={"prompt": "x", "model": "m"}
    )
    assert (f.verdict, f.deviation) == (Verdict.DEVIATION, "apifree.remix-model-field")
    [f] = _request(
        "bifrost", "POST", "/v1/videos/video_1:openai/remix", body={"prompt": "x", "fallbacks": []}
    )
    assert (f.verdict, f.deviation) == (Verdict.DEVIATION, "bifrost.request-passthrough")
    [f] = _request(
        "aihubmix", "GET", "/v1/videos/video_1", content_type=None, auth="Bearer sk-live-123"
    )
    assert (f.check, f.severity) == ("request.api-key-format", Severity.WARNING)
    assert (
        _request(
            "aihubmix", "GET", "/v1/videos/video_1", content_type=None, auth="Bearer sk-gateway-123"
        )
        == []
    )


def test_exchange_redacts_credentials() -> None:
    secret = "sk-live-SECRET-0123456789abcdef"
    ex = Exchange.build(
        method="GET",
        url="https://x/v1/videos/v",
        request_headers={"Authorization": f"Bearer {secret}", "Cookie": "s=1", "X-Api-Key": secret},
        request_body=None,
        request_body_raw=True,
        status=200,
        response_headers={"Set-Cookie": "s=2"},
    )
    assert ex.request.headers["authorization"] == f"Bearer {REDACTED}"
    assert ex.request.headers["x-api-key"] == REDACTED
    assert ex.request.headers["cookie"] == REDACTED
    assert ex.response is not None
    assert ex.response.headers["set-cookie"] == REDACTED
    assert secret not in repr(ex)
    assert ex.request.key_prefix == "sk-live-"


@pytest.mark.parametrize("vendor", ["openai", "aihubmix", "apifree", "bifrost"])
def test_validators_are_compiled_once(vendor: str) -> None:
    assert Validator.for_vendor(vendor) is Validator.for_vendor(vendor)


def test_from_httpx_reads_multipart_requests() -> None:
    import httpx

    from remixcheck.emulator import running_emulator

    with (
        running_emulator("openai") as emu,
        httpx.Client(
            base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}
        ) as client,
    ):
        response = client.post(
            f"/v1/videos/{emu.source_video_id}/remix",
            data={"prompt": "snow"},
            files={"input_reference": ("a.png", b"\x89PNG", "image/png")},
        )
    assert response.status_code == 400
    exchange = Exchange.from_httpx(response)
    assert b'name="prompt"' in exchange.request.body
    result = Validator.for_vendor("openai").validate(exchange)
    assert result is not None
    # OpenAI's remix body is open: the extra file part is an observation, not a break.
    [f] = [f for f in result.findings if f.where == "request"]
    assert (f.pointer, f.severity, f.verdict, f.origin) == (
        "/input_reference",
        Severity.INFO,
        Verdict.PASS,
        "observation",
    )
    assert emu.api_key not in repr(exchange)


def _segment_walk(validator: Validator, method: str, path: str) -> tuple[Any, ...] | None:
    """Routing as the contract says it, one segment at a time: the oracle for the compiled
    patterns (empty segments dropped, prefixes longest first, operations in order)."""
    from urllib.parse import unquote

    segments = [s for s in path.split("/") if s]
    for prefix, compat, base in validator._prefixes:
        if tuple(segments[: len(prefix)]) != prefix:
            continue
        rest = segments[len(prefix) :]
        for op_method, op_segments, op in validator._routes:
            if op_method != method.upper() or len(op_segments) != len(rest):
                continue
            video_id = None
            for want, got in zip(op_segments, rest, strict=True):
                if want.startswith("{"):
                    video_id = unquote(got)
                elif want != got:
                    break
            else:
                return (op.operation_id, video_id, base, compat)
    return None


@pytest.mark.parametrize("vendor", ["openai", "apifree", "bifrost", "litellm"])
def test_compiled_routes_agree_with_a_segment_walk(vendor: str) -> None:
    import random

    validator = Validator(vendors.load(vendor))
    rng = random.Random(vendor)
    tokens = [
        "",
        "v1",
        "videos",
        "openai",
        "remix",
        "content",
        "video_1",
        "a%2Fb",
        "V1",
        "..",
        "%20",
        "x.y",
    ]
    for _ in range(5000):
        path = "/".join(rng.choice(tokens) for _ in range(rng.randint(0, 6)))
        path = "/" + path if rng.random() < 0.7 else path
        method = rng.choice(["GET", "POST", "get", "DELETE", "PUT", "PATCH"])
        got = validator.route(method, path)
        found = (
            None
            if got is None
            else (got.operation.operation_id, got.video_id, got.base_path, got.compat)
        )
        assert found == _segment_walk(validator, method, path), (method, path)
