"""The Starlette app of one emulator: routes under every base path, auth, validation, jobs."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from remixcheck.contract import profiles as vendors
from remixcheck.emulator.config import EmulatorConfig
from remixcheck.emulator.dialects import (
    CREATE,
    FOREIGN_ID,
    REMIX,
    REQUEST_TYPES,
    RETRIEVE,
    ApiError,
    Dialect,
)
from remixcheck.emulator.parsing import (
    _echo,
    _input_reference,
    _kind,
    _mask,
    _parse_json,
    _parse_multipart,
)
from remixcheck.emulator.state import DEFAULT_MODEL, DEFAULT_SECONDS, EmulatorState, JobView

SECONDS = ("4", "8", "12")


SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")


@dataclass
class Call:
    """One request being served: which operation, since when, which provider (Bifrost)."""

    operation: str
    started: float
    provider: str | None = None


Handler = Callable[[Request, Call], Awaitable[Response]]


class Emulator:
    """The request handlers of one emulator, bound to its config, dialect and state."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.profile = vendors.load(config.vendor)
        self.dialect = Dialect(self.profile, config)
        self.state = EmulatorState(
            config, self.profile, default_size=self.dialect.default_size, clock=clock
        )

    # -- plumbing ---------------------------------------------------------------

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, str, Handler]] = [
            ("/videos", "POST", CREATE, self.create),
            ("/videos/{video_id}", "GET", RETRIEVE, self.retrieve),
            ("/videos/{video_id}/remix", "POST", REMIX, self.remix),
        ]
        return [
            Route(base + path, self._endpoint(base + path, operation, handler), methods=[method])
            for base in self.profile.all_base_paths
            for path, method, operation, handler in table
        ]

    def _endpoint(
        self, route: str, operation: str, handler: Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            call = Call(operation, time.perf_counter())
            self.state.count(f"{request.method} {route}", operation)
            try:
                self._check_auth(request)
                return await handler(request, call)
            except ApiError as err:
                return self.error_response(err, call)

        return endpoint

    async def on_http_exception(self, request: Request, exc: Exception) -> Response:
        """Starlette's router raises 404 (no route) and 405 (wrong method); answer in the vendor envelope."""
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
        self.state.count(f"{request.method} (no route)", None)
        if status == 405 and self.config.has("framework-405"):
            return Response(
                b'{"detail":"Method Not Allowed"}', 405, headers, media_type="application/json"
            )
        kind = "method_not_allowed" if status == 405 else "route_not_found"
        return self.error_response(
            ApiError(kind, headers=headers, method=request.method, path=_echo(request.url.path)),
            None,
        )

    async def on_error(self, request: Request, exc: Exception) -> Response:
        # A bug in the emulator still answers in the vendor envelope; Starlette logs the traceback.
        return self.error_response(ApiError("server_error"), None)

    def error_response(self, err: ApiError, call: Call | None) -> Response:
        body = self.dialect.error_body(
            err,
            request_type=REQUEST_TYPES[call.operation] if call else None,
            provider=call.provider if call else None,
        )
        status = self.dialect.error_status(err)
        headers = dict(err.headers)
        if status == 429:
            # The contract's 429 declares Retry-After; a client that honours it backs off.
            headers.setdefault("Retry-After", "60")
        return self._json(body, status, headers)

    def video_response(self, view: JobView, call: Call, status: int = 200) -> Response:
        latency_ms = int((time.perf_counter() - call.started) * 1000)
        body = self.dialect.video_body(view, call.operation, latency_ms=latency_ms)
        headers: dict[str, str] = {}
        if self.profile.poll_after_header and not self.config.has("drop-poll-after"):
            headers[self.profile.poll_after_header] = str(self.dialect.poll_after_ms())
        return self._json(body, status, headers)

    def _json(self, body: Any, status: int, headers: dict[str, str]) -> Response:
        media = "application/json"
        if status < 400 and self.config.has("wrong-content-type"):
            media = "text/plain; charset=utf-8"
        # ensure_ascii: a prompt may hold a lone surrogate ("\ud800" is valid JSON) that
        # has no UTF-8 encoding; escaped, it round-trips instead of crashing the response.
        content = json.dumps(body, separators=(",", ":")).encode()
        return Response(content, status_code=status, headers=headers, media_type=media)

    # -- auth and bodies --------------------------------------------------------

    def _check_auth(self, request: Request) -> None:
        if self.config.has("skip-auth"):
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError("missing_key")
        if not hmac.compare_digest(token.encode(), self.config.api_key.encode()):
            raise ApiError("invalid_key", masked=_mask(token))

    async def _read_fields(self, request: Request) -> dict[str, Any]:
        """The request body as a field mapping, whichever content type the vendor accepts."""
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await self._read_body(request)
        if not body and not media:
            return {}  # no body at all: every required field is missing
        if media == "application/json" or (
            self.config.has("ignore-content-type") and media != "multipart/form-data"
        ):
            return _parse_json(body, crash=self.config.has("crash-on-non-object"))
        if media == "multipart/form-data" and self.dialect.accepts_multipart:
            return await _parse_multipart(request.headers, body, self.config.max_body_bytes)
        raise ApiError(
            "unsupported_media_type",
            content_type=_echo(media or "(none)"),
            accepted=" or ".join(self.profile.content_types),
        )

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        # Refuse on the declared length before reading a byte; h11 has already checked it is a number.
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError("body_too_large", headers={"Connection": "close"}, limit=limit)
        chunks: list[bytes] = []
        total = 0
        try:
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:  # chunked bodies declare no length: cap the read itself
                    raise ApiError("body_too_large", headers={"Connection": "close"}, limit=limit)
                chunks.append(chunk)
        except ClientDisconnect:
            raise ApiError(
                "invalid_json", detail="the client disconnected before sending the whole body"
            ) from None
        return b"".join(chunks)

    def _prompt(self, fields: dict[str, Any]) -> str:
        accept_empty = self.config.has("accept-empty-prompt")
        value = fields.get("prompt")
        if self.dialect.vendor == "bifrost":
            # Go decodes a missing or null prompt to "", and only checks it is non-empty.
            if value is not None and not isinstance(value, str):
                raise ApiError(
                    "invalid_type", param="prompt", expected="a string", got=_kind(value)
                )
            if not value and not accept_empty:
                raise ApiError("prompt_missing", param="prompt")
            return value or ""
        if "prompt" not in fields:
            raise ApiError("prompt_missing", param="prompt")
        if not isinstance(value, str):
            raise ApiError("invalid_type", param="prompt", expected="a string", got=_kind(value))
        if value == "" and not accept_empty:
            raise ApiError("prompt_empty", param="prompt")
        limit = self.profile.prompt_max_length
        if limit is not None and len(value) > limit and not self.config.has("accept-long-prompt"):
            raise ApiError("prompt_too_long", param="prompt", limit=limit, length=len(value))
        return value

    def _optional_string(self, fields: dict[str, Any], name: str) -> str | None:
        if name not in fields:
            return None
        value = fields[name]
        if value is None and self.dialect.vendor == "bifrost":
            return None  # Go decodes a JSON null into the field's zero value: as if left out
        if not isinstance(value, str):
            raise ApiError("invalid_type", param=name, expected="a string", got=_kind(value))
        return value

    def _path_id(self, video_id: str, call: Call) -> None:
        """Bifrost ids must be <id>:<provider>; opaque ids are only looked up."""
        if self.profile.video_id.format != "id-provider":
            return
        native, sep, provider = video_id.partition(":")
        if not sep or not native or not provider:
            raise ApiError("invalid_video_id", param="video_id")
        call.provider = provider

    # -- operations -------------------------------------------------------------

    async def create(self, request: Request, call: Call) -> Response:
        fields = await self._read_fields(request)
        prompt = self._prompt(fields)
        model = self._optional_string(fields, "model")
        provider = self.profile.video_id.provider
        if model is None or (model == "" and self.dialect.vendor == "bifrost"):
            model = DEFAULT_MODEL
        if self.dialect.vendor == "bifrost" and "/" in model:
            # Bifrost routes on "provider/model"; a bare model resolves to openai in its catalog.
            provider, _, model = model.partition("/")
            if not provider or not model:
                raise ApiError("invalid_model", param="model", value=_echo(f"{provider}/{model}"))
        call.provider = provider
        seconds = self._optional_string(fields, "seconds")
        size = self._optional_string(fields, "size")
        if self.dialect.vendor == "bifrost":
            seconds, size = seconds or None, size or None  # Go's zero value: as if left out
        seconds = DEFAULT_SECONDS if seconds is None else seconds
        size = self.dialect.default_size if size is None else size
        if self.dialect.validates_enums:
            if seconds not in SECONDS:
                raise ApiError(
                    "invalid_value",
                    param="seconds",
                    value=_echo(repr(seconds)),
                    allowed=", ".join(SECONDS),
                )
            if size not in SIZES:
                raise ApiError(
                    "invalid_value", param="size", value=_echo(repr(size)), allowed=", ".join(SIZES)
                )
            _input_reference(request, fields)
        view = self.state.start_job(
            model=model,
            prompt=prompt,
            size=size,
            seconds=seconds,
            remixed_from=None,
            provider=provider,
        )
        if view is None:
            raise ApiError("quota")
        return self.video_response(view, call)

    async def retrieve(self, request: Request, call: Call) -> Response:
        video_id: str = request.path_params["video_id"]
        self._path_id(video_id, call)
        view = self.state.get(video_id, read=True)
        if view is None:
            raise ApiError(
                "video_not_found", param="video_id", video_id=_echo(video_id), what="Video"
            )
        return self.video_response(view, call)

    async def remix(self, request: Request, call: Call) -> Response:
        video_id: str = request.path_params["video_id"]
        if self.config.has("status-500-on-remix"):
            raise ApiError("server_error")
        self._path_id(video_id, call)
        fields = await self._read_fields(request)
        allowed = self.dialect.remix_body_keys()
        extra: dict[str, Any] = {}
        if allowed is None:
            fallbacks = fields.get("fallbacks")
            if fallbacks is not None and not (
                isinstance(fallbacks, list) and all(isinstance(f, str) for f in fallbacks)
            ):
                raise ApiError(
                    "invalid_type",
                    param="fallbacks",
                    expected="an array of strings",
                    got=_kind(fallbacks),
                )
            # Bifrost forwards keys it does not know to the provider (extra params).
            extra = {k: v for k, v in fields.items() if k not in ("prompt", "fallbacks")}
        else:
            unknown = sorted(k for k in fields if k not in allowed)
            # OpenAI's document leaves the remix body open; rejecting an unknown field is
            # this dialect's choice (OpenAI's API refuses unknown parameters elsewhere),
            # which a run reports as a dialect fact, never as a verdict.
            if unknown:
                raise ApiError("unknown_parameter", param=_echo(unknown[0]))
        prompt = self._prompt(fields)
        model = self._optional_string(fields, "model") if allowed and "model" in allowed else None
        if call.provider is not None and call.provider != self.profile.video_id.provider:
            # Bifrost: only the openai provider implements remix.
            raise ApiError("unsupported_operation", provider=_echo(call.provider))
        source = self.state.get(video_id)
        if source is None:
            raise ApiError(
                "video_not_found", param="video_id", video_id=_echo(video_id), what="Source video"
            )
        if source.status != "completed" and not self.config.has("ignore-not-completed"):
            raise ApiError(
                "not_completed", param="video_id", video_id=_echo(video_id), status=source.status
            )
        view = self.state.start_job(
            model=model or source.job.model,
            prompt=prompt,
            size=source.job.size,
            seconds=source.job.seconds,
            remixed_from=self._remixed_from(source.job.video_id),
            provider=source.job.provider,
            extra_params=extra,
        )
        if view is None:
            raise ApiError("quota")
        return self.video_response(view, call, 201 if self.config.has("remix-returns-201") else 200)

    def _remixed_from(self, source_id: str) -> str | None:
        if self.config.has("no-remixed-from"):
            return None
        if self.config.has("foreign-remixed-from"):
            return self.profile.video_id.make(FOREIGN_ID)
        return source_id


def create_app(config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """The ASGI app emulating `config.vendor`; `app.state.emulator` exposes its state to tests.
    `clock` drives the job lifecycle (a test may pass one that moves with requests, not time)."""
    emulator = Emulator(config, clock)
    app = Starlette(
        routes=emulator.routes(),
        exception_handlers={
            HTTPException: emulator.on_http_exception,
            Exception: emulator.on_error,
        },
    )
    # An API answers a stray trailing slash with 404, not a redirect to another URL.
    app.router.redirect_slashes = False
    app.state.emulator = emulator.state
    app.state.dialect = emulator.dialect
    return app
