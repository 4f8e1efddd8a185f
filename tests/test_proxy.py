"""remixcheck proxy: real clients through a real proxy to real upstreams on loopback."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from remixcheck.conformance.transport import TransportSettings
from remixcheck.emulator import RunningEmulator, running_emulator
from remixcheck.proxy import ProxyConfig, RunningProxy, running_proxy
from tests.hostile import hostile_servers

VENDORS = ("openai", "aihubmix", "apifree", "bifrost")
KEY = "sk-proxy-fidelity-secret-4242"


# -- an upstream that says exactly what it received ----------------------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, Any]]
    sent: list[bytes]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if not size:
                    break
                out += chunk
            return out
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _handle(self) -> None:
        body = self._body()
        self.seen.append(
            {
                "method": self.command,
                "target": self.path,
                "headers": list(self.headers.items()),
                "body": body,
            }
        )
        if self.path.endswith("/content"):
            payload = bytes(range(256)) * (5 * 4096)  # 5 MiB, not JSON: streamed through
            self.sent.append(payload)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        # Odd but valid JSON (spacing, key order) and odd headers: they must come back as they are.
        answer = b'{ "echo" :true,"sha256": "' + hashlib.sha256(body).hexdigest().encode() + b'" }'
        gzipped = "gzip" in self.path
        payload = gzip.compress(answer) if gzipped else answer
        self.sent.append(payload)
        self.send_response(203, "Echoed")
        self.send_header("Content-Type", "application/json")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("X-Echo", "one")
        self.send_header("X-Echo", "two")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture
def echo() -> Iterator[tuple[str, list[dict[str, Any]], list[bytes]]]:
    seen: list[dict[str, Any]] = []
    sent: list[bytes] = []
    handler = type("Echo", (_Echo,), {"seen": seen, "sent": sent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen, sent
    finally:
        server.shutdown()
        server.server_close()


def _header(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name]


def test_requests_and_answers_pass_unchanged(
    echo: tuple[str, list[dict[str, Any]], list[bytes]],
) -> None:
    upstream, seen, sent = echo
    upload = bytes(range(256)) * 12_000  # 3 MB: over the 1 MiB cap, so it is streamed on
    with (
        running_proxy(ProxyConfig(upstream=upstream, vendor="openai")) as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        request = client.build_request(
            "POST",
            "/v1/videos/video_123/remix",
            files={"input_reference": ("ref.png", upload, "image/png")},
            data={"prompt": "snow"},
            headers=[
                ("Authorization", f"Bearer {KEY}"),
                ("X-Custom", "kept as is"),
                ("X-Dup", "1"),
                ("X-Dup", "2"),
            ],
        )
        sent_body = request.read()
        r = client.send(request)
        got = seen[-1]
        assert got["method"] == "POST"
        assert got["target"] == "/v1/videos/video_123/remix"
        assert hashlib.sha256(got["body"]).digest() == hashlib.sha256(sent_body).digest()
        assert _header(got["headers"], "content-length") == [str(len(sent_body))]
        assert _header(got["headers"], "transfer-encoding") == []
        assert _header(got["headers"], "authorization") == [f"Bearer {KEY}"]
        assert _header(got["headers"], "x-custom") == ["kept as is"]
        assert _header(got["headers"], "x-dup") in (["1", "2"], ["1, 2"])
        assert _header(got["headers"], "host") == [upstream.removeprefix("http://")]
        assert _header(got["headers"], "user-agent") == [r.request.headers["user-agent"]]
        assert _header(got["headers"], "cookie") == []
        # The answer: status, reason, repeated headers and bytes exactly as the upstream sent them.
        assert (r.status_code, r.reason_phrase) == (203, "Echoed")
        assert r.headers.get_list("x-echo") == ["one", "two"]
        assert r.content == sent[-1]

        # Raw request targets: dot segments and %2F arrive as the client wrote them.
        client.get("/v1/videos/x", extensions={"target": b"/v1/videos/..%2Fvideo_1?q=%2F"})
        assert seen[-1]["target"] == "/v1/videos/..%2Fvideo_1?q=%2F"

        # A compressed answer goes back compressed; the proxy judged it decompressed.
        r = client.get("/v1/videos/video_gzip", headers={"Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip"
        assert r.read() == gzip.decompress(sent[-1])

        # Not the remix API (a video download): streamed, length kept, every byte through.
        with client.stream("GET", "/v1/videos/video_1/content") as stream:
            assert stream.headers["content-length"] == str(len(sent[-1]))
            assert hashlib.sha256(stream.read()).digest() == hashlib.sha256(sent[-1]).digest()
        session = proxy.settle()
    counts = session.counts()
    assert counts["errors"] == 0, session.public_dict()["targets"][0]["checks"][-1]
    assert counts["judged"] == 3  # remix, two retrieves; the download is not judged
    assert KEY not in json.dumps(session.public_dict())


def _sdk_flow(proxy: RunningProxy, emu: RunningEmulator) -> None:
    import openai

    sdk = openai.OpenAI(base_url=proxy.base_url + "/v1", api_key=emu.api_key, max_retries=0)
    assert sdk.videos.retrieve(emu.source_video_id).status == "completed"
    if emu.vendor in ("openai", "aihubmix"):  # the others take no multipart, which create sends
        video = sdk.videos.create(prompt="a calico cat", seconds="8", size="1280x720")
        assert sdk.videos.poll(video.id, poll_interval_ms=20).status == "completed"
    remix = sdk.videos.remix(emu.source_video_id, prompt="now in snow")
    assert remix.id
    assert remix.id != emu.source_video_id
    done = sdk.videos.poll(remix.id, poll_interval_ms=20)
    assert done.status == "completed"
    assert done.id == remix.id
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve("video_missing:openai" if emu.vendor == "bifrost" else "video_missing")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("vendor", VENDORS)
def test_openai_sdk_works_through_the_proxy_to_each_emulator(vendor: str) -> None:
    with (
        running_emulator(vendor, job_seconds=0.2) as emu,
        running_proxy(ProxyConfig(upstream=emu.base_url, vendor=vendor)) as proxy,
    ):
        _sdk_flow(proxy, emu)
        data = proxy.settle().public_dict()
    target = data["targets"][0]
    outcomes = {c["check"]: c["outcome"] for c in target["checks"]}
    # A faithful emulator: nothing violated; documented deviations may show (apifree, bifrost).
    assert not [c for c, o in outcomes.items() if o in ("violation", "error")], target["checks"]
    for check in (
        "proxy.requests",
        "proxy.responses",
        "lifecycle.same-job",
        "lifecycle.status-forward",
        "lifecycle.progress-monotonic",
        "lifecycle.terminal-fields",
        "invariant.remixed-from",
    ):
        assert outcomes[check] in ("pass", "deviation"), (check, outcomes[check])
    assert target["proxy"]["errors"] == 0
    assert emu.api_key not in json.dumps(data)


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("progress-decreases", "lifecycle.progress-monotonic"),
        ("status-regresses", "lifecycle.status-forward"),
        ("no-remixed-from", "invariant.remixed-from"),
        ("drop-field:completed_at", "lifecycle.terminal-fields"),
    ],
)
def test_job_invariants_across_exchanges(fault: str, check: str) -> None:
    lines: list[Any] = []
    with (
        running_emulator("openai", job_seconds=0.3, faults=(fault,)) as emu,
        running_proxy(ProxyConfig(upstream=emu.base_url, vendor="openai"), lines.append) as proxy,
        httpx.Client(
            base_url=proxy.base_url,
            headers={"Authorization": f"Bearer {emu.api_key}"},
            trust_env=False,
        ) as client,
    ):
        job = client.post(f"/v1/videos/{emu.source_video_id}/remix", json={"prompt": "snow"}).json()
        for _ in range(40):  # poll past completion: a job that falls back shows it then
            client.get(f"/v1/videos/{job['id']}")
            threading.Event().wait(0.02)
        data = proxy.settle().public_dict()
    result = {c["check"]: c for c in data["targets"][0]["checks"]}[check]
    assert result["outcome"] == "violation", result
    assert any(line.verdict == "violation" and check in line.text for line in lines), lines


def test_hostile_upstream_does_not_take_the_proxy_down() -> None:
    settings = TransportSettings(connect_timeout=1.0, read_timeout=1.0, max_body_bytes=65536)
    with hostile_servers() as (hostile, _elsewhere, _seen):
        for mode, status in (("hang", 504), ("huge", 502), ("reset", 502), ("truncated", 502)):
            # The mode is a path prefix of the upstream, so the client's path is the remix API's.
            config = ProxyConfig(upstream=f"{hostile}/{mode}", vendor="openai", transport=settings)
            with (
                running_proxy(config) as proxy,
                httpx.Client(base_url=proxy.base_url, timeout=10, trust_env=False) as client,
            ):
                for _ in range(2):  # and again: still serving
                    r = client.get("/v1/videos/video_1", headers={"Authorization": f"Bearer {KEY}"})
                    assert r.status_code == status, (mode, r.text)
                    assert r.headers["x-remixcheck-proxy"] in (
                        "upstream_timeout",
                        "upstream_failed",
                    )
                    assert r.json()["error"]["type"] == "proxy_error"
                data = proxy.settle().public_dict()
            checks = {c["check"]: c for c in data["targets"][0]["checks"]}
            assert checks["proxy.upstream"]["outcome"] == "error", mode
            # Transport trouble is the tool's error, never a contract finding.
            assert checks["proxy.responses"]["findings"] == [], mode
        # Not the remix API: streamed. A body that never ends cleanly cuts the client off;
        # the proxy itself keeps serving.
        with (
            running_proxy(
                ProxyConfig(upstream=hostile, vendor="openai", transport=settings)
            ) as proxy,
            httpx.Client(base_url=proxy.base_url, timeout=10, trust_env=False) as client,
        ):
            with pytest.raises(httpx.TransportError):
                client.get("/huge/anything").read()
            r = client.get("/nonjson/anything")
            assert (r.status_code, r.text) == (200, "<html><body>Welcome to nginx</body></html>")
            assert proxy.settle().counts()["errors"] == 1


def test_bad_upstream_and_vendor_are_usage_errors() -> None:
    from remixcheck.errors import RemixcheckError

    for upstream in ("ftp://example.org", "not a url", "http://127.0.0.1:1/v1?x=1"):
        with pytest.raises(RemixcheckError, match="--upstream"):
            RunningProxy(ProxyConfig(upstream=upstream, vendor="openai"))
    with pytest.raises(RemixcheckError):
        RunningProxy(ProxyConfig(upstream="http://127.0.0.1:1", vendor="no-such-vendor"))
