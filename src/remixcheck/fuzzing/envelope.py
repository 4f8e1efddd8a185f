"""The error envelope of an answer whose status the contract does not declare.

An undeclared status (a 405 for a method no route has, a 422 from a framework) has no
response schema, so schema validation says nothing about its body. But every error of
the API, declared or not, is meant to come in the vendor's error envelope: a web
framework's `{"detail": "Method Not Allowed"}` is the framework answering, not the API.
The body is judged against the envelope of a declared error of the same class (400 for
4xx, 5XX for 5xx), explained by the profile like every finding.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from remixcheck.contract.findings import Finding
from remixcheck.contract.spec import Operation
from remixcheck.traffic.exchange import media_type
from remixcheck.validation.validator import Validator

# Any operation declares the same envelope for its errors; GetVideo stands in when the
# request matched no operation (an undeclared method).
STAND_IN = "GetVideo"


def undeclared_error_findings(
    validator: Validator,
    operation: Operation | None,
    status: int,
    headers: dict[str, str],
    body: Any,
    *,
    raw: bool,
    truncated: bool,
) -> list[Finding]:
    """Envelope findings for a JSON error answer with an undeclared status; [] otherwise."""
    if status < 400 or status == 429:
        return []
    if operation is not None and operation.response_for(status) is not None:
        return []  # declared: the schema of its response already judged the body
    ctype = media_type(headers) or ""
    if not (ctype == "application/json" or ctype.endswith("+json")) or truncated:
        return []  # only a whole JSON body can be judged as an envelope
    op = operation or validator.contract.operation(STAND_IN)
    stand_in = 400 if status < 500 else 500
    if op.response_for(stand_in) is None:
        return []
    out = []
    for f in validator.check_response(op, stand_in, headers, body, raw=raw, truncated=False):
        if f.check != "response.body":
            continue
        out.append(
            replace(
                f,
                status=status,
                operation=operation.operation_id if operation else None,
                message=f"error body of {status} is not the error envelope: {f.message}",
            )
        )
    return out
