"""A hostile body kept as evidence is rendered without crashing any output.

A server whose answer is 5,000-deep JSON (well under the body cap) is judged; the body is
kept as evidence, and every writer that shows evidence (the HTML report above all) must
treat it as the untrusted text it is: no RecursionError, no lost compat.html.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli

KEY = "sk-deep-0123456789abcdef"


@contextmanager
def _server(body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * 200_000],
    ids=["deep-array", "deep-object", "unclosed"],
)
def test_deep_json_evidence_keeps_every_output(tmp_path: Path, body: bytes) -> None:
    with _server(body) as base_url:
        out = run_cli(
            "run", "--base-url", base_url, "--vendor", "openai", "--video-id", "video_1",
            "--checks", "source.retrieve", "--timeout", "5", "--report-dir", str(tmp_path),
            env={"OPENAI_API_KEY": KEY}, cwd=tmp_path,
        )  # fmt: skip
    assert out.returncode == 1, out.stderr[-2000:]
    assert "internal error" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    page = (tmp_path / "compat.html").read_text(encoding="utf-8")
    assert "source.retrieve" in page
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["targets"][0]["checks"][0]["outcome"] == "violation"
    # The same results rendered again by `report`.
    again = run_cli("report", str(tmp_path / "results.json"), "-o", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "source.retrieve" in (tmp_path / "again.html").read_text(encoding="utf-8")
