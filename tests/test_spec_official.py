"""Our contract against OpenAI's own document: every difference is deliberate, listed, labelled."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any

import pytest
import yaml

from remixcheck.contract import resources
from remixcheck.contract.spec import CONVENTION, Contract
from tests.conftest import DATA, ROOT
from tests.spec_compare import Difference, compare

OFFICIAL = DATA / "openai-videos-official.yaml"
# /work/shared beside the main checkout, or two levels up from a worktree
SHARED_OFFICIAL = (
    next(
        (
            p
            for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
            if (p / "reference" / "openai-videos-official.yaml").is_file()
        ),
        ROOT.parent / "shared",
    )
    / "reference"
    / "openai-videos-official.yaml"
)
ALLOWED = yaml.safe_load((DATA / "official-differences.yaml").read_text(encoding="utf-8"))


def _ours() -> dict[str, Any]:
    return yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _theirs() -> dict[str, Any]:
    return yaml.safe_load(OFFICIAL.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _allowed(d: Difference) -> dict[str, Any] | None:
    for entry in ALLOWED:
        if entry["facet"] == d.facet and fnmatch.fnmatchcase(d.path, entry["path"]):
            return entry  # type: ignore[no-any-return]
    return None


def test_official_copy_is_current() -> None:
    if not SHARED_OFFICIAL.is_file():
        pytest.skip("shared/reference is not beside this checkout")
    assert OFFICIAL.read_bytes() == SHARED_OFFICIAL.read_bytes()


def test_every_allow_list_entry_has_a_reason_and_a_kind() -> None:
    for entry in ALLOWED:
        assert set(entry) == {"path", "facet", "kind", "reason"}, entry
        assert entry["kind"] in ("scope", "convention", "sdk"), entry
        assert len(entry["reason"]) > 20, entry


def test_spec_differs_from_openai_only_as_listed() -> None:
    differences = compare(_ours(), _theirs())
    unexplained = [str(d) for d in differences if _allowed(d) is None]
    assert not unexplained, (
        "differences from OpenAI's document not on the allow-list:\n" + "\n".join(unexplained)
    )
    stale = [e for e in ALLOWED if not any(_allowed(d) is e for d in differences)]
    assert not stale, f"allow-list entries that match no difference: {stale}"


def test_conventions_on_the_list_are_labelled_in_the_spec() -> None:
    """An allowed convention is marked remixcheck-convention in the spec, with its why."""
    contract = Contract.load()
    by_path = {(op.method, op.path_template): op for op in contract.operations}
    for d in compare(_ours(), _theirs()):
        entry = _allowed(d)
        assert entry is not None
        if entry["kind"] != "convention":
            continue
        method, rest = d.path.split(" ", 1)
        path = rest.split(" ", 1)[0]
        op = by_path[(method, path)]
        if d.facet == "response":
            status = d.path.rsplit("/", 1)[1]
            assert op.responses[status].origin == CONVENTION, d
            assert op.responses[status].why, d
        elif d.facet == "requestBody.required":
            origin, why = op.request_required_origin
            assert origin == CONVENTION, d
            assert why, d


def test_the_comparison_sees_each_facet() -> None:
    """The comparison is not blind: each facet changed in a copy of our spec shows up."""
    base = {str(d) for d in compare(_ours(), _theirs())}

    def new_differences(mutate: Any) -> set[str]:
        doc = _ours()
        mutate(doc)
        return {str(d) for d in compare(doc, _theirs())} - base

    schemas = "components", "schemas"

    def s(doc: dict[str, Any], name: str) -> dict[str, Any]:
        return doc[schemas[0]][schemas[1]][name]  # type: ignore[no-any-return]

    cases = {
        "additionalProperties": lambda d: s(d, "CreateVideoRemixBody").update(
            additionalProperties=False
        ),
        "limit maxLength": lambda d: s(d, "CreateVideoRemixBody")["properties"]["prompt"].update(
            maxLength=4000
        ),
        "required": lambda d: s(d, "VideoResource")["required"].remove("error"),
        "type": lambda d: s(d, "VideoResource")["properties"]["progress"].update(type="number"),
        "nullable": lambda d: s(d, "VideoResource")["properties"]["prompt"].update(type="string"),
        "enum": lambda d: s(d, "VideoStatus")["enum"].append("cancelled"),
        "deprecated": lambda d: d["paths"]["/videos/{video_id}/remix"]["post"].pop("deprecated"),
        "content types": lambda d: d["paths"]["/videos/{video_id}/remix"]["post"]["requestBody"][
            "content"
        ].pop("multipart/form-data"),
        "requestBody.required": lambda d: d["paths"]["/videos/{video_id}/remix"]["post"][
            "requestBody"
        ].update(required=False),
        "operation": lambda d: d["paths"].update(
            {
                "/videos/{video_id}/cancel": {
                    "post": copy.deepcopy(d["paths"]["/videos/{video_id}"]["get"])
                }
            }
        ),
        "limit minLength": lambda d: d["components"]["parameters"]["VideoId"]["schema"].update(
            minLength=1
        ),
    }
    for facet, mutate in cases.items():
        found = new_differences(mutate)
        if facet == "requestBody.required":
            # back to OpenAI's value: the listed difference disappears instead
            assert not any(
                "remix requestBody [requestBody.required]" in d
                for d in {str(d) for d in compare(_mutated(mutate), _theirs())}
            )
            continue
        assert any(f"[{facet}]" in d for d in found), (facet, found)


def _mutated(mutate: Any) -> dict[str, Any]:
    doc = _ours()
    mutate(doc)
    return doc


def test_deprecation_is_in_the_spec_with_dates_and_sources() -> None:
    contract = Contract.load()
    assert all(op.deprecated for op in contract.operations)
    note = contract.deprecation
    assert note is not None
    assert (note["deprecated"], note["shutdown"]) == ("2026-08-13", "2026-09-24")
    assert "f6a8e2f" in note["deprecated_source"]
    assert "openai-python" in note["shutdown_source"]
    assert "gateways" in note["note"]
