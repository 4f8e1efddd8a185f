"""Contract x profile x exchange -> findings. Schemas are compiled once per Validator.

The fast path compiles each schema of the contract with jsonschema-rs (the Rust
implementation of JSON Schema) and only walks errors when a body is invalid;
`reference_findings` runs the same exchange through openapi-core, the reference
implementation, and a differential test holds the two to the same answers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from remixcheck.contract import profiles as vendors
from remixcheck.contract.findings import Finding, Verdict, worst_verdict
from remixcheck.contract.profiles import Profile
from remixcheck.contract.spec import (
    Contract,
    MediaType,
)
from remixcheck.traffic.exchange import Exchange
from remixcheck.validation.judging import CompiledSchema
from remixcheck.validation.requests import RequestChecks
from remixcheck.validation.responses import ResponseChecks
from remixcheck.validation.routing import Routing


@dataclass(frozen=True, slots=True)
class ExchangeResult:
    operation: str
    findings: tuple[Finding, ...]
    source: str = ""

    @property
    def verdict(self) -> Verdict:
        return worst_verdict(self.findings)


class Validator(RequestChecks, ResponseChecks, Routing):
    """Validates exchanges against the canonical contract under one vendor profile."""

    def __init__(self, profile: Profile, contract: Contract | None = None) -> None:
        self.profile = profile
        self.contract = contract or Contract.load()
        self._compiled: dict[str, CompiledSchema] = {}
        self._locations: dict[tuple[Any, ...], tuple[str, str | None, str | None]] = {}
        self._explained: dict[tuple[Any, ...], Any] = {}
        self._findings_of: dict[tuple[Any, ...], tuple[Finding, ...]] = {}
        self._findings_weight = 0
        for media in self.contract.iter_media_types():
            self._compile(media)
        self._routes = [(op.method, op.segments, op) for op in self.contract.operations]
        self._by_method = {}
        self._expected = {}
        # Longest prefix first so /v1/openai wins over /v1.
        self._prefixes = sorted(
            (
                (tuple(s for s in p.split("/") if s), p in profile.compat_base_paths, p)
                for p in profile.all_base_paths
            ),
            key=lambda t: -len(t[0]),
        )

    @classmethod
    def for_vendor(cls, vendor: str) -> Validator:
        return _for_vendor(vendor)

    def _compile(self, media: MediaType) -> CompiledSchema:
        compiled = self._compiled.get(media.schema_pointer)
        if compiled is None:
            validator = jsonschema_rs.Draft202012Validator(
                self.contract.schema_root(media.schema_pointer),
                # Formats are annotations here (OpenAI's `unixtime` beside `type: integer`).
                # A Python callable registered for one costs a call per value, even unused.
                validate_formats=False,
            )
            props = media.schema.get("properties")
            compiled = CompiledSchema(
                validator=validator,
                properties=frozenset(props) if isinstance(props, Mapping) else None,
                origin=media.schema.get("x-remixcheck-origin"),
                why=media.schema.get("x-remixcheck-why"),
                pointer=media.schema_pointer,
            )
            self._compiled[media.schema_pointer] = compiled
        return compiled

    # -- exchanges -----------------------------------------------------------

    def validate(self, exchange: Exchange) -> ExchangeResult | None:
        """All findings for one exchange, or None when it is not a request to the contract."""
        route = self.route(exchange.request.method, exchange.request.path)
        if route is None:
            return None
        findings = self.check_request(exchange.request, route)
        if exchange.response is not None:
            r = exchange.response
            findings += self.check_response(
                route.operation, r.status, r.headers, r.body, raw=r.body_raw, truncated=r.truncated
            )
        return ExchangeResult(route.operation.operation_id, tuple(findings), exchange.source)


@functools.cache
def _for_vendor(vendor: str) -> Validator:
    return Validator(vendors.load(vendor))
