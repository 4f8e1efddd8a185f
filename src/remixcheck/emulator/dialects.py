"""How each vendor words its answers: Video bodies, error envelopes, status codes.

Everything vendor-specific about the *shape* of a response lives here; app.py decides
*what* happens (auth, validation, lifecycle) and asks the dialect how to say it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from remixcheck.contract.profiles import Profile
from remixcheck.emulator.config import EmulatorConfig
from remixcheck.emulator.error_texts import _BIFROST_MESSAGES, _OPENAI_ERRORS
from remixcheck.emulator.state import DEFAULT_SIZE, JobView

CREATE, RETRIEVE, REMIX = "createVideo", "GetVideo", "CreateVideoRemix"


# The upstream id a faulty gateway leaks into error messages and remixed_from_video_id.
FOREIGN_ID = "video_upstream_7f3a9c2e"


# Bifrost's extra_fields.request_type per operation (maximhq/bifrost core/schemas/bifrost.go).
REQUEST_TYPES = {CREATE: "video_generation", RETRIEVE: "video_retrieve", REMIX: "video_remix"}


class ApiError(Exception):
    """A request the emulated vendor refuses; `kind` picks status, code and wording per dialect."""

    def __init__(
        self,
        kind: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.param = param
        self.headers = headers or {}
        self.fields = fields


@dataclass(frozen=True)
class Dialect:
    """One vendor's way of answering, driven by its profile."""

    profile: Profile
    config: EmulatorConfig

    @property
    def vendor(self) -> str:
        return self.profile.id

    @property
    def default_size(self) -> str:
        # Bifrost documents size as a free string with 1920x1080 as its example (seed 000).
        return "1920x1080" if self.vendor == "bifrost" else DEFAULT_SIZE

    @property
    def accepts_multipart(self) -> bool:
        return "multipart/form-data" in self.profile.content_types

    @property
    def validates_enums(self) -> bool:
        # Bifrost forwards seconds and size to the provider unchecked (size is a free string).
        return self.vendor != "bifrost"

    def remix_body_keys(self) -> frozenset[str] | None:
        """The remix body fields the vendor accepts; None means it passes unknown keys through."""
        if self.vendor == "bifrost":
            return None
        if self.vendor == "apifree":
            return frozenset({"prompt", "model"})  # seed 001: optional `model`
        return frozenset({"prompt"})

    # -- errors ---------------------------------------------------------------

    def error_status(self, err: ApiError) -> int:
        status = _OPENAI_ERRORS[err.kind][0]
        if err.kind == "not_completed":
            return self.profile.not_completed_status
        if err.kind == "quota" and self.vendor == "aihubmix":
            return 403  # aihubmix error page: 403 when the quota is exhausted
        if err.kind == "unsupported_media_type" and self.vendor == "bifrost":
            return 400  # Bifrost only JSON-decodes the body; a failed decode is its generic 400
        return status

    def error_body(
        self, err: ApiError, *, request_type: str | None = None, provider: str | None = None
    ) -> dict[str, Any]:
        status = self.error_status(err)
        _, type_, code, template = _OPENAI_ERRORS[err.kind]
        if self.vendor == "aihubmix":
            # aihubmix's error page names these two codes for bad prompts.
            code = {
                "prompt_missing": "prompt_missing",
                "prompt_empty": "prompt_missing",
                "prompt_too_long": "prompt_too_long",
            }.get(err.kind, code)
        if self.config.has("foreign-id-in-message") and "video_id" in err.fields:
            # A gateway that decodes its own id and quotes the upstream error names an id
            # its client never saw.
            err = ApiError(err.kind, param=err.param, headers=err.headers, **err.fields)
            err.fields["video_id"] = FOREIGN_ID
        if self.config.has("wrong-error-envelope"):
            return {"message": _fill(template, err)}
        if self.vendor != "bifrost":
            return self._error_content_faults(
                {
                    "error": {
                        "message": _fill(template, err),
                        "type": type_,
                        "param": err.param,
                        "code": code,
                    }
                },
                status,
            )
        if err.kind in ("prompt_missing", "prompt_empty"):
            # Bifrost's create and remix handlers word the same check differently.
            message = (
                "prompt cannot be empty"
                if request_type == REQUEST_TYPES[CREATE]
                else "prompt is required"
            )
        else:
            message = _fill(_BIFROST_MESSAGES.get(err.kind, template), err)
        inner: dict[str, Any] = {"message": message}
        if code is not None and err.kind in _BIFROST_CODED:
            inner["code"] = code
        extra: dict[str, Any] = {}
        if request_type:
            extra["request_type"] = request_type
        if provider:
            extra["provider"] = provider
        return self._error_content_faults(
            {
                # Bifrost flags its own failures; validation and upstream errors are not "its" errors.
                "is_bifrost_error": status >= 500,
                "status_code": status,
                "error": inner,
                "extra_fields": extra,
            },
            status,
        )

    def _error_content_faults(self, body: dict[str, Any], status: int) -> dict[str, Any]:
        """The envelope's shape stays right; what it says goes wrong, as gateways get it wrong."""
        cfg, inner = self.config, body["error"]
        if cfg.has("foreign-id-in-message") and FOREIGN_ID not in inner["message"]:
            inner["message"] += f" (upstream id '{FOREIGN_ID}')"
        if cfg.has("null-param"):
            inner["param"] = None
        if cfg.has("status-as-code"):
            inner["code"] = str(status)
        if cfg.has("upstream-json-message"):
            upstream = {"error": {k: inner.get(k) for k in ("message", "type", "param", "code")}}
            inner["message"] = json.dumps(upstream)
        return body

    # -- videos ---------------------------------------------------------------

    def video_body(self, view: JobView, operation: str, *, latency_ms: int = 0) -> dict[str, Any]:
        if self.vendor == "bifrost":
            body = self._bifrost_video(view, operation, latency_ms)
        elif self.vendor == "apifree" and operation == REMIX:
            body = _apifree_remix(view)
        elif self.vendor == "apifree" and operation == RETRIEVE:
            body = _apifree_retrieve(view)
        else:
            body = _openai_video(view)
        return self._body_faults(body)

    def _body_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config
        dropped = cfg.fault_argument("drop-field")
        if dropped is not None:
            body.pop(dropped, None)
        if cfg.has("null-id"):
            body["id"] = None
        if cfg.has("string-progress") and "progress" in body:
            body["progress"] = str(body["progress"])
        if cfg.has("wrong-enum") and isinstance(body.get("status"), str):
            body["status"] = _WRONG_STATUS.get(body["status"], body["status"])
        return body

    def _bifrost_video(self, view: JobView, operation: str, latency_ms: int) -> dict[str, Any]:
        job = view.job
        # Go struct field order of BifrostVideoGenerationResponse; every empty field is
        # omitted (json:",omitempty"), which is why nulls never appear.
        fields: list[tuple[str, Any]] = [
            ("id", job.video_id),
            ("completed_at", view.completed_at),
            ("created_at", view.created_at),
            ("error", view.error),
            ("expires_at", view.expires_at),
            ("model", job.model),
            ("object", "video"),
            ("progress", _go_float(_bifrost_progress(view))),
            ("prompt", job.prompt),
            ("remixed_from_video_id", job.remixed_from),
            ("seconds", job.seconds),
            ("size", job.size),
            ("status", view.status),
        ]
        body = {k: v for k, v in fields if v is not None and v != ""}
        native = job.video_id.split(":", 1)[0]
        if view.status == "completed":
            body["videos"] = [
                {
                    "type": "url",
                    "url": f"https://emulator.invalid/videos/{native}.mp4",
                    "content_type": "video/mp4",
                }
            ]
        if view.status == "failed" and view.error is not None:
            body["content_filter"] = {"filtered_count": 1, "reasons": [view.error["message"]]}
        body["extra_fields"] = {
            "request_type": REQUEST_TYPES[operation],
            "provider": job.provider,
            "latency": latency_ms,
            "chunk_index": 0,
        }
        return body

    def poll_after_ms(self) -> int:
        """Milliseconds a client should wait between polls (OpenAI's openai-poll-after-ms)."""
        return max(10, min(2000, int(self.config.job_seconds * 1000 / 5)))


# Errors that come from the provider keep its code; Bifrost's own handler errors carry none.
_BIFROST_CODED = frozenset({"unsupported_operation", "not_completed", "quota"})


_WRONG_STATUS = {
    "queued": "pending",
    "in_progress": "running",
    "completed": "succeeded",
    "failed": "error",
}


def _fill(template: str, err: ApiError) -> str:
    values = {"param": err.param, **err.fields}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A missing detail must never turn a clean 4xx into a 500.
        return template


def _openai_video(view: JobView) -> dict[str, Any]:
    job = view.job
    return {
        "id": job.video_id,
        "object": "video",
        "model": job.model,
        "status": view.status,
        "progress": math.floor(view.progress),
        "created_at": view.created_at,
        "completed_at": view.completed_at,
        "expires_at": view.expires_at,
        "prompt": job.prompt,
        "size": job.size,
        "seconds": job.seconds,
        "remixed_from_video_id": job.remixed_from,
        "error": view.error,
    }


def _apifree_remix(view: JobView) -> dict[str, Any]:
    # seed 001: the remix response is only these five fields.
    job = view.job
    return {
        "id": job.video_id,
        "object": "video",
        "created_at": view.created_at,
        "status": view.status,
        "model": job.model,
    }


def _apifree_retrieve(view: JobView) -> dict[str, Any]:
    # vendor-contracts.md 2: retrieve says `created`, sends seconds as an integer and
    # progress only when available (not while queued). Nothing else differs.
    body: dict[str, Any] = {}
    for key, value in _openai_video(view).items():
        if key == "created_at":
            body["created"] = value
        elif key == "progress":
            if view.status != "queued":
                body["progress"] = value
        elif key == "seconds":
            body["seconds"] = int(value) if isinstance(value, str) and value.isdigit() else value
        else:
            body[key] = value
    return body


def _bifrost_progress(view: JobView) -> float:
    # Sent as a float 0..100 (seed 000); in_progress values always carry a fraction.
    if view.status == "queued":
        return 0.0
    if view.status == "completed":
        return 100.0
    return min(99.5, math.floor(view.progress) + 0.5)


def _go_float(value: float) -> float | int:
    # Go's encoding/json writes float64 100 as `100`, not `100.0`.
    return int(value) if value.is_integer() else value
