"""The canonical contract: valid OpenAPI 3.1, and its Video schema matches the published facts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from remixcheck.contract import resources
from remixcheck.contract.spec import CONVENTION, PUBLISHED, Contract
from remixcheck.errors import SpecError
from tests.conftest import DATA, ROOT

FACTS = DATA / "vendor-contracts.md"
SHARED_FACTS = ROOT.parent / "shared" / "reference" / "vendor-contracts.md"


def _video_table() -> dict[str, str]:
    """The `| field | type |` rows of the Video table in vendor-contracts.md."""
    text = FACTS.read_text(encoding="utf-8")
    section = text.split("The Video object", 1)[1].split("SDK behaviour", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("field", "---") and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1]
    return rows


def _resolve(contract: Contract, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = contract.resolve(schema["$ref"])
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    return {t} if isinstance(t, str) else set(t or ())


def test_spec_passes_openapi_spec_validator() -> None:
    document = yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_facts_copy_is_current() -> None:
    if not SHARED_FACTS.is_file():
        pytest.skip("shared/reference is not beside this checkout")
    assert FACTS.read_text(encoding="utf-8") == SHARED_FACTS.read_text(encoding="utf-8")


def test_video_schema_matches_facts_field_by_field() -> None:
    contract = Contract.load()
    video = contract.resolve("#/components/schemas/VideoResource")
    facts = _video_table()
    assert len(facts) == 13
    assert sorted(video["required"]) == sorted(facts), "all 13 fields are required"
    assert sorted(video["properties"]) == sorted(facts)
    nullable = []
    for name, fact in facts.items():
        schema = _resolve(contract, video["properties"][name])
        if name == "error":
            branches = [_resolve(contract, b) for b in schema["anyOf"]]
            assert {"null"} in [_types(b) for b in branches]
            obj = next(b for b in branches if "object" in _types(b))
            assert "both required" in fact
            assert sorted(obj["required"]) == ["code", "message"]
            assert {k: _types(v) for k, v in obj["properties"].items()} == {
                "code": {"string"},
                "message": {"string"},
                # optional in OpenAI's SDK >= 3.54 (vendor-contracts.md, section 1)
                "headers": {"object", "null"},
                "misalignment": {"object", "null"},
                "param": {"string", "null"},
                "type": {"string", "null"},
            }
            nullable.append(name)
            continue
        if fact.startswith('"video"'):
            assert schema["const"] == "video"
            continue
        if fact.startswith("enum "):
            values = [v.strip() for v in fact.removeprefix("enum ").split(",")]
            assert schema["enum"] == values
            assert _types(schema) == {"string"}
            continue
        if name == "model":
            known = re.findall(r"sora-[\w-]+", fact)
            assert len(known) == 5
            branches = [_resolve(contract, b) for b in schema["anyOf"]]
            assert any(_types(b) == {"string"} and "enum" not in b for b in branches), (
                "model is an open string"
            )
            assert any(b.get("enum") == known for b in branches), "known model values are listed"
            continue
        base = fact.split(" ", 1)[0].rstrip(",;")
        expected = {base}
        if " or null" in fact:
            expected.add("null")
            nullable.append(name)
        assert _types(schema) == expected, f"{name}: {fact}"
        if "no enum" in fact:
            assert "enum" not in schema
        if "Unix seconds" in fact or name in ("completed_at", "expires_at"):
            assert schema.get("format") == "unixtime"
    assert sorted(nullable) == sorted(
        ["completed_at", "expires_at", "prompt", "remixed_from_video_id", "error"]
    )


def test_remix_body_limits_and_content_types() -> None:
    contract = Contract.load()
    remix = contract.operation("CreateVideoRemix")
    assert remix.method == "POST"
    assert remix.path_template == "/videos/{video_id}/remix"
    assert set(remix.request_content) == {"application/json", "multipart/form-data"}
    for media in remix.request_content.values():
        prompt = media.schema["properties"]["prompt"]
        assert (prompt["type"], prompt["minLength"], prompt["maxLength"]) == ("string", 1, 32000)
        assert media.schema["required"] == ["prompt"]
        # OpenAI's document leaves the remix body open (vendor-contracts.md, section 1).
        assert "additionalProperties" not in media.schema
    assert contract.document["security"] == [{"bearerAuth": []}]
    assert contract.operation("GetVideo").method == "GET"
    assert contract.operation("createVideo").billable is True
    assert contract.operation("GetVideo").billable is False


def test_error_responses_are_marked_as_conventions() -> None:
    contract = Contract.load()
    remix = contract.operation("CreateVideoRemix")
    assert {"200", "400", "401", "404", "409", "415", "429", "5XX"} <= set(remix.responses)
    assert remix.responses["200"].origin == PUBLISHED
    for status in ("400", "401", "404", "409", "415", "429", "5XX"):
        assert remix.responses[status].origin == CONVENTION
    assert "retry-after" in remix.responses["429"].headers
    retry_after = contract.resolve("#/components/responses/RateLimited")["headers"]["Retry-After"]
    assert retry_after["required"] is False
    assert retry_after["schema"] == {"type": "integer", "minimum": 1}
    for status in ("400", "401", "404", "409", "415", "429", "5XX"):
        assert remix.responses[status].why, f"convention {status} says why"
    envelope = contract.resolve("#/components/schemas/Error")
    assert sorted(envelope["required"]) == ["code", "message", "param", "type"]
    assert (
        contract.operation("GetVideo").response_for(503)
        is contract.operation("GetVideo").responses["5XX"]
    )
    assert contract.operation("GetVideo").response_for(418) is None


def test_malformed_spec_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken\.yaml: line \d+, column \d+: invalid YAML"):
        Contract.load(broken)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"wrong\.yaml: field .*version"):
        Contract.load(wrong)
    old = tmp_path / "old.yaml"
    old.write_text("swagger: '2.0'\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"OpenAPI 3\.1"):
        Contract.load(old)
    with pytest.raises(SpecError, match="cannot read"):
        Contract.load(tmp_path / "missing.yaml")
