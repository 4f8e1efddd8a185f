"""One fuzz case as plain data: the fuzz checks, the kinds of ids a case uses, the request.

Nothing in fuzzing/ but `generate.py` imports schemathesis, so `remixcheck replay` starts fast."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remixcheck.contract.origins import CONVENTION, PUBLISHED, WHY_AUTH, WHY_INVALID, WHY_STATUSES
from remixcheck.contract.spec import Operation

FAMILY = "fuzz"


EVIDENCE_PER_CHECK = 3


@dataclass(frozen=True, slots=True)
class FuzzCheck:
    id: str
    title: str
    description: str
    origin: str = CONVENTION  # where the rule comes from (origins.py), and why
    why: str = ""


FUZZ_CHECKS: tuple[FuzzCheck, ...] = (
    FuzzCheck(
        "fuzz.contract",
        "Fuzzed responses meet the contract",
        "Every response to a generated request is validated by remixcheck's validation core "
        "(body schema, content type, headers) under the vendor profile.",
        PUBLISHED,
        "each finding names the origin of the part of the contract it breaks",
    ),
    FuzzCheck(
        "fuzz.status-conformance",
        "Declared and expected statuses",
        "Every status is declared for its operation, and is the one the case calls for "
        "(404 for an id in the vendor's format that does not exist).",
        CONVENTION,
        WHY_STATUSES,
    ),
    FuzzCheck(
        "fuzz.server-error",
        "No server errors",
        "No generated request, valid or not, gets a 5xx (501 Not Implemented for a method "
        "the server does not implement is HTTP's answer, not a server error).",
        CONVENTION,
        "OpenAI's API answers bad input with 4xx; a 5xx says the server failed",
    ),
    FuzzCheck(
        "fuzz.negative-data-rejection",
        "Invalid requests are rejected",
        "A request the contract calls invalid (boundary and non-string prompts, unknown "
        "content types, hostile ids) gets a 4xx, never a 2xx.",
        CONVENTION,
        WHY_INVALID,
    ),
    FuzzCheck(
        "fuzz.positive-data-acceptance",
        "Valid requests are accepted",
        "A valid remix of a completed video, a valid create and a retrieve of an existing "
        "video get a 2xx.",
        PUBLISHED,
        "OpenAI's document answers valid requests with 200",
    ),
    FuzzCheck(
        "fuzz.ignored-auth",
        "Auth is enforced",
        "A request without a key, or with a wrong one, gets 401.",
        CONVENTION,
        WHY_AUTH,
    ),
    FuzzCheck(
        "fuzz.unsupported-method",
        "Undeclared methods are refused",
        "A method the contract does not declare for a path is refused: a 4xx, or 501 Not "
        "Implemented (405 and 501 are both HTTP's answers; sent to loopback targets, or with --unsafe).",
        CONVENTION,
        "HTTP: a server refuses a method it does not allow (405) or implement (501); OpenAI documents neither",
    ),
    FuzzCheck(
        "fuzz.invariants",
        "Jobs keep their invariants",
        "An accepted remix is a new job that names its source and echoes its prompt; a "
        "retrieved job keeps its id and never goes back in status or progress.",
        PUBLISHED,
        "the meaning of the Video fields in OpenAI's document; status only moves forward for OpenAI's SDK to poll",
    ),
)


CHECK_IDS = tuple(c.id for c in FUZZ_CHECKS)


CHECKS_BY_ID = {c.id: c for c in FUZZ_CHECKS}


# Id kinds: which video a request names, which decides what the contract expects of it.
SOURCE, UNKNOWN, JOB, GENERATED, HOSTILE = "source", "unknown", "job", "generated", "hostile"


REMIX_OP, CREATE_OP, RETRIEVE_OP = "CreateVideoRemix", "createVideo", "GetVideo"


@dataclass(frozen=True, slots=True)
class FuzzRequest:
    """One request of a fuzz run, exactly as sent; everything its judgement and replay need."""

    operation: str | None  # contract operationId; None when the method is not declared
    method: str
    path: str  # the raw request target, base path and query included, sent byte for byte
    base_path: str
    body: bytes | None
    content_type: str | None
    auth: str  # valid | none | invalid
    id_kind: str | None  # SOURCE, UNKNOWN, JOB, GENERATED, HOSTILE; None without an id
    video_id: str | None  # the id as the server decodes it
    origin: str  # remixcheck | schemathesis-coverage | schemathesis-fuzzing
    description: str
    target: str = ""  # the target's name, so cases of several targets never share an id

    @property
    def case_id(self) -> str:
        """Stable across runs: the same request to the same target always has the same id."""
        digest = hashlib.sha256()
        for part in (self.target, self.method, self.path, self.content_type or "", self.auth):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(self.body or b"")
        return digest.hexdigest()[:12]

    @property
    def signature(self) -> tuple[str, str, str | None, str, bytes | None]:
        return (self.method, self.path, self.content_type, self.auth, self.body)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"body": None, "body_encoding": None}
        if self.body is not None:
            try:
                body = {"body": self.body.decode("utf-8"), "body_encoding": "utf-8"}
            except UnicodeDecodeError:
                body = {"body": base64.b64encode(self.body).decode(), "body_encoding": "base64"}
        return {
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "base_path": self.base_path,
            "content_type": self.content_type,
            "auth": self.auth,
            "id_kind": self.id_kind,
            "video_id": self.video_id,
            "origin": self.origin,
            "description": self.description,
            "target": self.target,
            **body,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FuzzRequest:
        raw = data.get("body")
        encoding = data.get("body_encoding")
        body = None
        if raw is not None:
            body = base64.b64decode(raw) if encoding == "base64" else str(raw).encode("utf-8")
        return cls(
            operation=data.get("operation"),
            method=str(data["method"]),
            path=str(data["path"]),
            base_path=str(data.get("base_path", "")),
            body=body,
            content_type=data.get("content_type"),
            auth=str(data.get("auth", "valid")),
            id_kind=data.get("id_kind"),
            video_id=data.get("video_id"),
            origin=str(data.get("origin", "")),
            description=str(data.get("description", "")),
            target=str(data.get("target", "")),
        )


def exposed(request: FuzzRequest, operation: Operation | None) -> bool:
    """Whether the server could start a paid job for this request, were it to accept it.

    Without a valid key there is no account to bill; a remix of a video that does not exist
    starts nothing. Everything else sent with the key to a billable operation could.
    """
    if operation is None or not operation.billable or request.method != "POST":
        return False
    if request.auth != "valid":
        return False
    return request.operation == CREATE_OP or request.id_kind in (SOURCE, JOB)
