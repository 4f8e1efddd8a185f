"""openapi-core as the reference validator: slow, thorough, and the arbiter in differential tests."""

from __future__ import annotations

import functools
from typing import Any

from remixcheck.contract.spec import Contract, Operation, unixtime_format


@functools.cache
def _openapi(contract_path: str) -> Any:
    from openapi_core import OpenAPI
    from openapi_core.configurations import Config

    contract = Contract.load(None if contract_path == "" else contract_path)
    config = Config(extra_format_validators={"unixtime": unixtime_format})
    return OpenAPI.from_dict(dict(contract.document), config=config)


def openapi_core_response_errors(
    contract: Contract,
    operation: Operation,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    video_id: str = "video_123",
) -> list[str]:
    """The errors openapi-core finds in one response (its schema errors lifted out of __cause__)."""
    from openapi_core.testing import MockRequest, MockResponse

    is_bundled = contract is Contract.load()
    openapi = _openapi("" if is_bundled else str(contract.path))
    path = "/v1" + operation.path_template.replace("{video_id}", video_id)
    request = MockRequest("https://api.openai.com", operation.method.lower(), path)
    response = MockResponse(body, status_code=status, content_type=content_type)
    try:
        openapi.validate_response(request, response)
    except Exception as exc:  # openapi-core raises one of many classes; all mean "invalid"
        return _messages(exc)
    return []


def _messages(exc: BaseException) -> list[str]:
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None)
    if errors:
        return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    return [f"{type(exc).__name__}: {exc}" + (f" ({cause})" if cause else "")]
