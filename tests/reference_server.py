"""A reference server written from OpenAI's document alone, sharing no code with remixcheck.

It does what `openai-videos-official.yaml` says, plus the conventions OpenAI's own API
follows (400 and the error envelope for invalid input, 401 for a missing or wrong key, 404
for an unknown id). Where the document is silent it takes the liberal reading: unknown body
fields are accepted (the schemas are open), and a method it does not implement gets HTTP's
501 (or 405, in the variant). remixcheck must judge it clean; where it and remixcheck's
emulators disagree, the document decides which is wrong.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SECONDS = ("4", "8", "12")
MAX_PROMPT = 32000
MAX_BODY = 64 * 1024 * 1024


class Refused(Exception):
    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


@dataclass(frozen=True)
class Media:
    """A non-JSON answer (the video bytes of GET /videos/{id}/content)."""

    data: bytes
    content_type: str


@dataclass
class Job:
    id: str
    created: float
    prompt: str | None
    model: str
    size: str
    seconds: str
    remixed_from: str | None
    seconds_to_complete: float  # < 0: never completes

    def status(self, now: float) -> tuple[str, int]:
        if self.seconds_to_complete < 0:
            return "in_progress", 50
        age = now - self.created
        if age >= self.seconds_to_complete:
            return "completed", 100
        if age >= self.seconds_to_complete / 2:
            return "in_progress", 50
        return "queued", 0

    def view(self) -> dict[str, Any]:
        now = time.time()
        status, progress = self.status(now)
        done = int(self.created + self.seconds_to_complete) if status == "completed" else None
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": status,
            "progress": progress,
            "created_at": int(self.created),
            "completed_at": done,
            "expires_at": done + 86400 if done is not None else None,
            "prompt": self.prompt,
            "size": self.size,
            "seconds": self.seconds,
            "remixed_from_video_id": self.remixed_from,
            "error": None,
        }


@dataclass
class State:
    key: str
    job_seconds: float
    jobs: dict[str, Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def new(self, **kwargs: Any) -> Job:
        with self.lock:
            self.counter += 1
            job = Job(id=f"video_ref{self.counter:06d}", created=time.time(), **kwargs)
            self.jobs[job.id] = job
            return job


def _error(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _form(content_type: str, body: bytes) -> dict[str, str]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart() or message.defects:
        raise Refused(400, "Could not parse the multipart form body.")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise Refused(400, "A multipart part has no name.")
        if part.get_filename() is not None:
            fields[str(name)] = "<file>"
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[str(name)] = data.decode(part.get_content_charset() or "utf-8", "replace")
    return fields


def _prompt(fields: dict[str, Any]) -> str:
    if "prompt" not in fields:
        raise Refused(
            400, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"
        )
    prompt = fields["prompt"]
    if not isinstance(prompt, str):
        raise Refused(
            400, "Invalid type for 'prompt': expected a string.", "prompt", "invalid_type"
        )
    if not prompt:
        raise Refused(
            400, "'prompt' must be at least 1 character.", "prompt", "string_below_min_length"
        )
    if len(prompt) > MAX_PROMPT:
        raise Refused(
            400,
            f"'prompt' must be at most {MAX_PROMPT} characters.",
            "prompt",
            "string_above_max_length",
        )
    return prompt


def _create_fields(fields: dict[str, Any], multipart: bool) -> dict[str, str]:
    """CreateVideoJsonBody / CreateVideoMultipartBody: everything optional but the prompt."""
    model = fields.get("model", "sora-2")
    if not isinstance(model, str):
        raise Refused(400, "Invalid type for 'model': expected a string.", "model", "invalid_type")
    seconds = fields.get("seconds", "4")
    if seconds not in SECONDS:
        raise Refused(
            400, "'seconds' must be one of 4, 8, 12 (as a string).", "seconds", "invalid_value"
        )
    size = fields.get("size", "720x1280")
    if size not in SIZES:
        raise Refused(400, f"'size' must be one of {', '.join(SIZES)}.", "size", "invalid_value")
    # ImageRefParam: an object; image_url (at most 20,971,520 characters) and file_id strings.
    # A field may be left out, not sent as null: the document declares none of them nullable.
    if "input_reference" in fields and not multipart:
        ref = fields["input_reference"]
        if not isinstance(ref, dict):
            raise Refused(
                400, "'input_reference' must be an object.", "input_reference", "invalid_type"
            )
        if "image_url" in ref and (
            not isinstance(ref["image_url"], str) or len(ref["image_url"]) > 20971520
        ):
            raise Refused(
                400, "'input_reference.image_url' is invalid.", "input_reference.image_url"
            )
        if "file_id" in ref and not isinstance(ref["file_id"], str):
            raise Refused(
                400, "'input_reference.file_id' must be a string.", "input_reference.file_id"
            )
    return {"model": model, "seconds": seconds, "size": size}


def make_handler(
    state: State, unknown_method: int, poll_hint: bool = True
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "reference"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def __getattr__(self, name: str) -> Any:
            # The 405 variant: a method this server does not implement is "not allowed".
            if name.startswith("do_") and unknown_method == 405:
                return self._not_allowed
            raise AttributeError(name)

        # -- plumbing ------------------------------------------------------------

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            media = (
                body
                if isinstance(body, Media)
                else Media(json.dumps(body).encode(), "application/json")
            )
            data = media.data
            self.send_response(status)
            self.send_header("Content-Type", media.content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise Refused(413, "Request body too large.")
            return self.rfile.read(length) if length > 0 else b""

        def _not_allowed(self) -> None:
            self._body()
            self._send(
                405,
                _error(405, f"Method {self.command} is not allowed."),
                {"Allow": "GET, POST, DELETE"},
            )

        def _route(self) -> tuple[list[str], str | None]:
            path = self.path.split("?", 1)[0]
            parts = path.split("/")[1:]
            if parts[:2] != ["v1", "videos"]:
                raise Refused(404, f"Unknown path {path[:100]}.")
            rest = parts[2:]
            vid = unquote(rest[0]) if rest else None
            return rest, vid

        def _auth(self) -> None:
            scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or key.strip() != state.key:
                raise Refused(401, "Incorrect API key provided.", None, "invalid_api_key")

        def _fields(self, body: bytes) -> tuple[dict[str, Any], bool]:
            ctype = (self.headers.get("Content-Type") or "").strip()
            kind = ctype.split(";", 1)[0].strip().lower()
            if kind == "application/json":
                try:
                    value = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    raise Refused(
                        400, "We could not parse the JSON body of your request."
                    ) from None
                if not isinstance(value, dict):
                    raise Refused(400, "The request body must be a JSON object.")
                return value, False
            if kind == "multipart/form-data":
                return _form(ctype, body), True
            if not kind and not body:
                raise Refused(
                    400,
                    "Missing required parameter: 'prompt'.",
                    "prompt",
                    "missing_required_parameter",
                )
            raise Refused(
                400,
                f"Unsupported content type {kind[:100]!s}: send application/json or multipart/form-data.",
            )

        def _handle(self, method: str) -> None:
            try:
                body = self._body()
                rest, vid = self._route()
                self._auth()
                status, payload = self._dispatch(method, rest, vid, body)
                # OpenAI's API sends a polling hint; the document declares none (variant).
                self._send(status, payload, {"openai-poll-after-ms": "50"} if poll_hint else {})
            except Refused as r:
                self._send(r.status, _error(r.status, r.message, r.param, r.code))

        def _dispatch(
            self, method: str, rest: list[str], vid: str | None, body: bytes
        ) -> tuple[int, Any]:
            if not rest and method == "POST":
                fields, multipart = self._fields(body)
                prompt = _prompt(fields)
                extra = _create_fields(fields, multipart)
                job = state.new(
                    prompt=prompt, remixed_from=None, seconds_to_complete=state.job_seconds, **extra
                )
                return 200, job.view()
            if not rest and method == "GET":
                data = [j.view() for j in state.jobs.values()]
                return 200, {
                    "object": "list",
                    "data": data,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                    "has_more": False,
                }
            if not rest:
                raise Refused(405, f"Method {method} is not allowed on /v1/videos.")
            job = state.jobs.get(vid or "")
            if len(rest) == 1 and method in ("GET", "DELETE"):
                if job is None:
                    raise Refused(
                        404,
                        f"No video found with id '{(vid or '')[:100]}'.",
                        "video_id",
                        "not_found",
                    )
                if method == "DELETE":
                    del state.jobs[job.id]
                    return 200, {"object": "video.deleted", "deleted": True, "id": job.id}
                return 200, job.view()
            if len(rest) == 2 and rest[1] == "remix" and method == "POST":
                fields, _ = self._fields(body)
                prompt = _prompt(fields)  # unknown fields: accepted, the body is open
                if job is None:
                    raise Refused(
                        404,
                        f"No video found with id '{(vid or '')[:100]}'.",
                        "video_id",
                        "not_found",
                    )
                if job.view()["status"] != "completed":
                    raise Refused(
                        400,
                        "Only completed videos can be remixed.",
                        "video_id",
                        "video_not_completed",
                    )
                new = state.new(
                    prompt=prompt,
                    model=job.model,
                    size=job.size,
                    seconds=job.seconds,
                    remixed_from=job.id,
                    seconds_to_complete=state.job_seconds,
                )
                return 200, new.view()
            if len(rest) == 2 and rest[1] == "content" and method == "GET":
                if job is None:
                    raise Refused(
                        404,
                        f"No video found with id '{(vid or '')[:100]}'.",
                        "video_id",
                        "not_found",
                    )
                if job.view()["status"] != "completed":
                    raise Refused(
                        400, "The video is not completed yet.", "video_id", "video_not_completed"
                    )
                variant = self.path.partition("variant=")[2].split("&", 1)[0] or "video"
                if variant not in ("video", "thumbnail", "spritesheet"):
                    raise Refused(
                        400, "'variant' must be video, thumbnail or spritesheet.", "variant"
                    )
                return 200, Media(b"\x00" * 16, "video/mp4" if variant == "video" else "image/webp")
            if len(rest) == 1 or (len(rest) == 2 and rest[1] in ("remix", "content")):
                raise Refused(405, f"Method {method} is not allowed here.")
            raise Refused(404, "Unknown path.")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


@dataclass
class Reference:
    base_url: str
    key: str
    source_video_id: str
    state: State


@contextmanager
def reference_server(
    *,
    unknown_method: int = 501,
    job_seconds: float = 0.6,
    source_completes: bool = True,
    poll_hint: bool = True,
) -> Iterator[Reference]:
    """The server on 127.0.0.1 with one source video (completed, or one that never completes);
    `poll_hint=False`: no openai-poll-after-ms, which OpenAI's document does not declare."""
    # Random-looking, as real keys are: a key holding a word (it was "sk-reference-...") has
    # that word redacted wherever it appears, "input_reference" included.
    state = State(key="sk-rsrv-7f3a9c0e15b2d8464e1b", job_seconds=job_seconds)
    source = state.new(
        prompt="a reference source video",
        model="sora-2",
        size="720x1280",
        seconds="4",
        remixed_from=None,
        seconds_to_complete=0.0 if source_completes else -1.0,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state, unknown_method, poll_hint))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Reference(f"http://{host}:{port}", state.key, source.id, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
