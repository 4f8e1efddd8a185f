"""A recording served back (`remixcheck serve --cassette FILE.jsonl`): recorded vendor behaviour, no key.

A request is matched on method, raw path (with query) and body. Bodies are compared by
meaning, not bytes: JSON by value, multipart by its fields (the boundary is random on
every request), anything else as text. Answers are served as recorded, job ids and all;
when the same request was recorded several times (polls of one job), the answers come
back in the recorded order and the last one repeats, so a client polls its way from
queued to completed as it did against the vendor. Credentials are not checked: a
recording holds none, and a test in CI has none to send.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from remixcheck.emulator.server import _Server, _uvicorn_config, base_url_of, bind
from remixcheck.errors import InputError
from remixcheck.traffic import jsonsafe, recordings
from remixcheck.traffic.exchange import Exchange, media_type
from remixcheck.validation.requests import MULTIPART, parse_multipart

MISS_HEADER = "x-remixcheck-cassette"
# These describe the original answer's bytes on the wire or its server (uvicorn sends its own
# date and server), not the body served here.
_NOT_REPLAYED = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "date", "server"}
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Key = tuple[str, str, str]
OnMiss = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(slots=True)
class Cassette:
    """The recorded answers by request, and how far each request's answers have been served."""

    path: Path
    answers: dict[Key, list[Answer]] = field(default_factory=dict)
    served: dict[Key, int] = field(default_factory=dict)
    exchanges: int = 0
    without_answer: int = 0

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """Read a JSON-lines recording; InputError when it has unreadable records or nothing to serve."""
        cassette = cls(path)
        bad: list[recordings.BadRecord] = []
        for record in recordings.read(path):
            if isinstance(record, recordings.BadRecord):
                bad.append(record)
            elif record.response is None:
                cassette.without_answer += 1
            else:
                cassette._add(record)
        if bad:
            first = bad[0]
            raise InputError(
                f"{path}: {len(bad)} record(s) could not be read (first: {first.source}: {first.reason})"
            )
        if not cassette.answers:
            raise InputError(f"{path}: no recorded exchange with an answer to serve")
        return cassette

    def _add(self, exchange: Exchange) -> None:
        req, resp = exchange.request, exchange.response
        assert resp is not None
        parts = urlsplit(req.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (req.method, target, body_key(req.headers.get("content-type"), req.body))
        if isinstance(resp.body, str):
            body = resp.body.encode("utf-8", "surrogateescape")
        elif resp.body is None:
            body = b""
        elif isinstance(resp.body, (bytes, bytearray)):
            body = bytes(resp.body)
        else:  # a JSON value, as a hand-written line may hold it
            body = json.dumps(resp.body).encode()
        headers = [(k, v) for k, v in resp.headers.items() if k not in _NOT_REPLAYED]
        self.answers.setdefault(key, []).append(Answer(resp.status, headers, body))
        self.exchanges += 1

    def answer(
        self, method: str, target: str, content_type: str | None, body: bytes
    ) -> Answer | None:
        """The next recorded answer to this request, the last one again once all were served."""
        key = (method.upper(), target, body_key(content_type, body))
        answers = self.answers.get(key)
        if answers is None:
            return None
        n = self.served.get(key, 0)
        self.served[key] = n + 1
        return answers[min(n, len(answers) - 1)]


def body_key(content_type: str | None, body: Any) -> str:
    """A request body by meaning: JSON by value, multipart by fields, else its text."""
    if body is None or body == b"" or body == "":
        return ""
    if not isinstance(body, (str, bytes, bytearray)):
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
    if media_type({"content-type": content_type} if content_type else {}) == MULTIPART:
        try:
            return json.dumps(parse_multipart(content_type or "", body), sort_keys=True)
        except ValueError:
            pass
    text = body if isinstance(body, str) else bytes(body).decode("utf-8", "replace")
    decoded = jsonsafe.loads(text)
    if not decoded.ok:
        return text
    return json.dumps(decoded.value, sort_keys=True, separators=(",", ":"))


def create_app(cassette: Cassette, on_miss: OnMiss | None = None) -> Starlette:
    async def endpoint(request: Request) -> Response:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string") or b""
        target = raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        body = await request.body()
        found = cassette.answer(request.method, target, request.headers.get("content-type"), body)
        if found is None:
            message = f"remixcheck cassette: no recorded exchange for {request.method} {target[:200]} with this body"
            if on_miss is not None:
                on_miss(message)
            return Response(
                json.dumps(
                    {
                        "error": {
                            "message": message,
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "cassette_no_match",
                        }
                    }
                ),
                status_code=404,
                media_type="application/json",
                headers={MISS_HEADER: "miss"},
            )
        response = Response(found.body, status_code=found.status)
        for name, value in found.headers:
            response.headers.append(name, value)
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


def serve_cassette(
    path: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[str, Cassette], None] | None = None,
    on_miss: OnMiss | None = None,
) -> None:
    """Serve a recording until interrupted; on_ready(base_url, cassette) runs once it listens."""
    cassette = Cassette.load(path)
    sock = bind(host, port)
    url = base_url_of(sock)

    def ready() -> None:
        if on_ready is not None:
            on_ready(url, cassette)

    _Server(_uvicorn_config(create_app(cassette, on_miss)), on_started=ready).run(sockets=[sock])
