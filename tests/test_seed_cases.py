"""Every example in the five seed documents gives the verdicts the docs imply."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from remixcheck.contract.findings import Severity, Verdict
from remixcheck.traffic.exchange import Exchange
from remixcheck.validation.validator import Validator
from tests.conftest import DATA

CASES = yaml.safe_load((DATA / "seed_cases.yaml").read_text(encoding="utf-8"))
PARAMS = [
    pytest.param(case, vendor, id=f"{case['name']}-{vendor}")
    for case in CASES
    for vendor in case["expect"]
]


def _exchange(case: dict[str, Any], vendor: str) -> Exchange:
    req = case["request"]
    prefix = Validator.for_vendor(vendor).profile.key_prefix or ""
    headers = {"Authorization": req.get("authorization", f"Bearer {prefix}test0123456789")}
    # Response-only examples get the plainest valid request, so only the response is judged.
    headers["Content-Type"] = req.get("content_type", "application/json")
    body: Any = (
        req["raw_body"]
        if "raw_body" in req
        else json.dumps(req.get("body", {"prompt": "remix it"}))
    )
    resp = case.get("response")
    return Exchange.build(
        method=req["method"],
        url="https://vendor.example" + req["path"],
        request_headers=headers,
        request_body=body,
        request_body_raw=True,
        status=resp["status"] if resp else None,
        response_headers={"Content-Type": "application/json"},
        response_body=json.dumps(resp["body"]) if resp else None,
    )


def _where(f: Any) -> str:
    return f.pointer if f.location == "body" and f.pointer else f.check


@pytest.mark.parametrize(("case", "vendor"), PARAMS)
def test_seed_example_verdicts(case: dict[str, Any], vendor: str) -> None:
    expect = case["expect"][vendor]
    result = Validator.for_vendor(vendor).validate(_exchange(case, vendor))
    assert result is not None, "the seed example must route to a contract operation"
    counted = [f for f in result.findings if f.severity is not Severity.INFO]
    violations = sorted(_where(f) for f in counted if f.verdict is Verdict.VIOLATION)
    deviations = sorted(_where(f) for f in result.findings if f.verdict is Verdict.DEVIATION)
    assert violations == sorted(expect["violations"])
    assert deviations == sorted(expect["deviations"])
    assert result.verdict == Verdict(expect["verdict"])


def test_deviation_findings_name_their_source() -> None:
    case = next(c for c in CASES if c["name"] == "apifree-remix-example")
    result = Validator.for_vendor("apifree").validate(_exchange(case, "apifree"))
    assert result is not None
    finding = next(f for f in result.findings if f.pointer == "/prompt")
    assert finding.deviation == "apifree.minimal-remix-response"
    assert finding.operation == "CreateVideoRemix"
    assert finding.spec_location == "#/components/schemas/VideoResource/required"
    assert finding.origin == "openai-published"
    profile = Validator.for_vendor("apifree").profile
    deviation = profile.deviation(finding.deviation)
    assert deviation is not None
    assert "seed 001" in deviation.source
