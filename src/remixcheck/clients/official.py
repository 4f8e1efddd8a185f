"""OpenAI's published document, as shipped with remixcheck (data: spec/reference/)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from remixcheck.contract import resources
from remixcheck.errors import SpecError

DOCUMENT = "openai-videos-official.yaml"
VIDEO_SCHEMA = "VideoResource"


def reference_dir() -> Path:
    return resources.spec_dir() / "reference"


def document_path() -> Path:
    """The trimmed copy of OpenAI's openapi.yaml (video operations), with its source header."""
    return reference_dir() / DOCUMENT


def json_validator_cache() -> Path:
    """JSON::Validator's cache folder holding the OpenAPI 3.1 meta-schema (see its README)."""
    return reference_dir() / "json-validator-cache"


@functools.cache
def document() -> dict[str, Any]:
    data = resources.load_yaml(document_path(), SpecError)
    if not isinstance(data, dict) or VIDEO_SCHEMA not in data.get("components", {}).get(
        "schemas", {}
    ):
        raise SpecError(f"{document_path()}: no components.schemas.{VIDEO_SCHEMA}")
    return data


def resolve(node: Any) -> Any:
    """Follow local $refs (`#/components/...`) until a schema that is not a reference."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            raise SpecError(f"{document_path()}: cannot resolve {ref}")
        seen.add(ref)
        target: Any = document()
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def video_schema() -> dict[str, Any]:
    return resolve({"$ref": f"#/components/schemas/{VIDEO_SCHEMA}"})  # type: ignore[no-any-return]


def document_version() -> str:
    return str(document().get("info", {}).get("version", "?"))
