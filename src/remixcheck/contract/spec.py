"""The canonical contract: load and check the spec, index its operations, compile schemas once."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remixcheck.contract import origins, resources
from remixcheck.errors import SpecError

PUBLISHED, CONVENTION = origins.PUBLISHED, origins.CONVENTION
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def unixtime_format(value: object) -> bool:
    """`format: unixtime` is OpenAI's annotation for Unix seconds.

    The `type` keyword beside it already demands an integer (or null), so the format
    itself accepts every value; registering it keeps validators from warning about it.
    """
    return True


@dataclass(frozen=True, slots=True)
class MediaType:
    content_type: str
    schema_pointer: str  # JSON pointer of the schema inside the spec, refs followed
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    status_key: str  # "200", "5XX" or "default"
    origin: str
    why: str | None
    content: Mapping[str, MediaType]
    headers: tuple[str, ...]  # declared header names, lower case
    pointer: str


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path_template: str  # e.g. /videos/{video_id}/remix
    segments: tuple[str, ...]  # path split on "/", parameters kept as "{name}"
    origin: str
    billable: bool
    request_required: bool
    request_required_origin: tuple[str, str | None]  # (origin, why) of requestBody.required
    deprecated: bool
    # Methods OpenAI's document declares on the path (x-remixcheck-upstream-methods), in
    # scope or not; upper case.
    upstream_methods: frozenset[str]
    request_content: Mapping[str, MediaType]
    responses: Mapping[str, ResponseSpec]
    pointer: str

    def response_for(self, status: int) -> ResponseSpec | None:
        """The declared response for a status: exact code first, then 4XX-style range, then default."""
        exact = self.responses.get(str(status))
        if exact is not None:
            return exact
        ranged = self.responses.get(f"{str(status)[0]}XX")
        return ranged if ranged is not None else self.responses.get("default")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(slots=True)
class Contract:
    """The canonical contract, parsed and indexed. Build with `Contract.load()`."""

    path: Path
    document: Mapping[str, Any]
    sha256: str
    operations: tuple[Operation, ...] = field(default=())

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", "?"))

    @property
    def deprecation(self) -> Mapping[str, Any] | None:
        """The upstream deprecation note (`info.x-remixcheck-deprecation`), when there is one."""
        note = self.document.get("info", {}).get("x-remixcheck-deprecation")
        return note if isinstance(note, Mapping) else None

    @classmethod
    def load(cls, path: Path | str | None = None) -> Contract:
        """The bundled contract (cached) or a contract file given by path."""
        if path is None:
            return _bundled()
        return _load(Path(path), check=True)

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise SpecError(f"{self.path}: no operation {operation_id!r}")

    def resolve(self, pointer: str) -> Any:
        """The node at a JSON pointer ("#/components/...") of the spec."""
        node: Any = self.document
        for raw in pointer.lstrip("#").strip("/").split("/"):
            if not raw:
                continue
            token = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def schema_root(self, schema_pointer: str) -> dict[str, Any]:
        """A standalone JSON Schema for a spec schema: a $ref into a copy of the components.

        Keeping `components` beside the `$ref` lets every compiled validator resolve the
        spec's own refs and report absolute schema locations in spec coordinates.
        """
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": schema_pointer,
            "components": self.document.get("components", {}),
        }

    def iter_media_types(self) -> Iterator[MediaType]:
        for op in self.operations:
            yield from op.request_content.values()
            for resp in op.responses.values():
                yield from resp.content.values()


@functools.cache
def _bundled() -> Contract:
    # The bundled spec is checked by the test suite; re-checking it costs ~0.3 s at every start.
    return _load(resources.spec_path(), check=False)


def _load(path: Path, *, check: bool) -> Contract:
    document = resources.load_yaml(path, SpecError)
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document (top level is not a mapping)")
    if not str(document.get("openapi", "")).startswith("3.1"):
        raise SpecError(
            f"{path}: field /openapi: expected an OpenAPI 3.1 document, got {document.get('openapi')!r}"
        )
    if check:
        check_document(document, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    contract = Contract(path=path, document=document, sha256=sha)
    try:
        contract.operations = tuple(_index(contract))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SpecError(f"{path}: cannot index operations: {exc!r}") from None
    return contract


def check_document(document: Mapping[str, Any], path: Path) -> None:
    """Run openapi-spec-validator, turning its first error into a SpecError naming the field."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(document)
    except OpenAPIValidationError as exc:
        where = (
            "/" + "/".join(str(p) for p in getattr(exc, "path", ()))
            if getattr(exc, "path", None)
            else ""
        )
        raise SpecError(f"{path}: field {where or '(top level)'}: {exc.message}") from None


def _deref(contract: Contract, node: Any, pointer: str) -> tuple[Any, str]:
    """Follow $ref chains at a node, returning the target and its pointer."""
    seen = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise SpecError(f"{contract.path}: {pointer}: unsupported or circular $ref {ref!r}")
        seen.add(ref)
        pointer = ref
        try:
            node = contract.resolve(ref)
        except (KeyError, IndexError, ValueError):
            raise SpecError(f"{contract.path}: {pointer}: $ref {ref!r} points nowhere") from None
    return node, pointer


def _media(contract: Contract, content: Mapping[str, Any], pointer: str) -> dict[str, MediaType]:
    out = {}
    for ctype, media in (content or {}).items():
        schema_node = media.get("schema", {})
        mpointer = f"{pointer}/content/{_escape(ctype)}/schema"
        schema, spointer = _deref(contract, schema_node, mpointer)
        if "$ref" not in schema_node:
            spointer = mpointer
        out[ctype.lower()] = MediaType(ctype.lower(), "#" + spointer.lstrip("#"), schema)
    return out


_PARAM = re.compile(r"^\{[^{}]+\}$")


def _index(contract: Contract) -> Iterator[Operation]:
    for template, item in (contract.document.get("paths") or {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            pointer = f"#/paths/{_escape(template)}/{method}"
            body, bpointer = _deref(contract, op.get("requestBody"), f"{pointer}/requestBody")
            responses = {}
            for status_key, resp in (op.get("responses") or {}).items():
                rpointer = f"{pointer}/responses/{status_key}"
                resolved, rpointer = _deref(contract, resp, rpointer)
                responses[str(status_key).upper()] = ResponseSpec(
                    status_key=str(status_key).upper(),
                    origin=resolved.get(
                        "x-remixcheck-origin", op.get("x-remixcheck-origin", PUBLISHED)
                    ),
                    why=resolved.get("x-remixcheck-why"),
                    content=_media(contract, resolved.get("content", {}), rpointer),
                    headers=tuple(h.lower() for h in resolved.get("headers", {}) or {}),
                    pointer=rpointer,
                )
            segments = tuple(s for s in template.split("/") if s)
            for s in segments:
                if "{" in s and not _PARAM.match(s):
                    raise SpecError(
                        f"{contract.path}: path {template!r}: partial path parameters are not supported"
                    )
            yield Operation(
                operation_id=op.get("operationId") or f"{method} {template}",
                method=method.upper(),
                path_template=template,
                segments=segments,
                origin=op.get("x-remixcheck-origin", PUBLISHED),
                billable=bool(op.get("x-remixcheck-billable", False)),
                request_required=bool(body and body.get("required", False)),
                request_required_origin=(
                    (body or {}).get(
                        "x-remixcheck-origin", op.get("x-remixcheck-origin", PUBLISHED)
                    ),
                    (body or {}).get("x-remixcheck-why"),
                ),
                deprecated=bool(op.get("deprecated", False)),
                upstream_methods=frozenset(
                    str(m).upper()
                    for m in item.get("x-remixcheck-upstream-methods")
                    or [m for m in _METHODS if m in item]
                ),
                request_content=_media(contract, body.get("content", {}), bpointer) if body else {},
                responses=responses,
                pointer=pointer,
            )
