"""One saved fuzz case sent again and judged (`remixcheck replay`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from remixcheck.conformance.transport import Sent, Transport, TransportError, TransportSettings
from remixcheck.contract.findings import Severity, Verdict
from remixcheck.contract.profiles import Profile
from remixcheck.validation.validator import Validator

if TYPE_CHECKING:
    from remixcheck.conformance.targets import Target
from remixcheck.fuzzing.cases import FuzzRequest, exposed
from remixcheck.fuzzing.invariants import Judgement, Observed
from remixcheck.fuzzing.judge import Judge


def send(transport: Transport, request: FuzzRequest, profile: Profile) -> Sent:
    """Send a fuzz request through the target's transport (key, timeouts, caps, redaction)."""
    return transport.send(
        request.method,
        request.path,
        body=request.body,
        content_type=request.content_type,
        auth=request.auth,
        invalid_key=(profile.key_prefix or "sk-") + "remixcheck-invalid-0000",
    )


@dataclass(slots=True)
class Replay:
    case_id: str
    judgement: Judgement
    sent: Sent
    failing: bool
    base_url: str


def replay(
    data: Mapping[str, Any], target: Target, settings: TransportSettings, *, strict: bool = False
) -> Replay:
    """Send one saved (and checked) case to `target` again and judge the answer."""
    from remixcheck.errors import RemixcheckError, UsageError
    from remixcheck.fuzzing.casefile import request_url

    request = FuzzRequest.from_dict(data["request"])
    request_url(target.base_url, request.path)
    validator = Validator.for_vendor(target.vendor)
    judge = Judge(validator, Observed.from_context(request.video_id, data.get("context") or {}))
    if exposed(request, judge.operation(request)) and target.max_billable == 0:
        raise UsageError(
            f"case {request.case_id} could start a paid job on {target.base_url}; "
            "pass --max-billable 1 to replay it there"
        )
    with Transport(target.base_url, target.api_key, target.api_key_env, settings) as transport:
        transport.request_limit = 1
        try:
            sent = send(transport, request, validator.profile)
        except TransportError as exc:
            raise RemixcheckError(f"could not replay case {request.case_id}: {exc}") from None
    judgement = judge.judge(request, sent)
    failing = any(
        f.severity is not Severity.INFO
        and (f.verdict is Verdict.VIOLATION or (strict and f.verdict is Verdict.DEVIATION))
        for _, f in judgement.findings
    )
    return Replay(request.case_id, judgement, sent, failing, target.base_url)
