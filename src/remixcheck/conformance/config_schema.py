"""The typed schema of a config's [[targets]], and errors that name the file, key and type.

TOML gives any type anywhere (`api_key_env = 5`, `tool = 5`); each wrong one must be one
line saying where and what was expected, never an AttributeError three calls later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remixcheck.contract.quoting import show
from remixcheck.errors import UsageError

# Names become pytest node ids ("remixcheck/<name>::<check>"), file names and report labels:
# no path separators, no brackets or colons (node id syntax), no control characters.
NAME_PATTERN = r"^(?!\s)[^\x00-\x1f\x7f/\\\[\]:\ud800-\udfff]{1,64}(?<!\s)$"
NAME_RULE = "1-64 characters without / \\ [ ] : or control characters, no space at either end"
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "vendor", "base_url"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "vendor": {"type": "string", "minLength": 1, "maxLength": 4096},
        "base_url": {"type": "string", "minLength": 1, "maxLength": 2000},
        "api_key_env": {"type": "string", "pattern": ENV_PATTERN, "maxLength": 200},
        "video_id": {"type": "string", "minLength": 1, "maxLength": 1000},
        "max_billable": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    },
}
SECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["targets"],
    "properties": {"targets": {"type": "array", "minItems": 1, "items": TARGET_SCHEMA}},
}
_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "object": "a table",
    "array": "an array of tables ([[targets]])",
}
_RULES = {NAME_PATTERN: NAME_RULE, ENV_PATTERN: "an environment variable name"}


def section_of(data: dict[str, Any], file: Path) -> Any:
    """The config section of a parsed file: the whole remixcheck.toml, or pyproject's [tool.remixcheck]."""
    if file.name != "pyproject.toml":
        return data
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise UsageError(f"{file}: tool: expected a table, got {show(tool, 60)}")
    section = tool.get("remixcheck")
    if section is not None and not isinstance(section, dict):
        raise UsageError(f"{file}: tool.remixcheck: expected a table, got {show(section, 60)}")
    return section


def check_section(section: dict[str, Any], file: Path) -> None:
    """UsageError naming file, key and expected type for the first thing wrong in the section."""
    import jsonschema

    prefix = "tool.remixcheck." if file.name == "pyproject.toml" else ""
    validator = jsonschema.Draft202012Validator(SECTION_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(section))
    if error is None:
        return
    where = prefix + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
    ).lstrip(".")
    where = where or prefix.rstrip(".") or "the file"
    raise UsageError(f"{file}: {where}: {_problem(error)}")


def _problem(error: Any) -> str:
    kind, value, schema = error.validator, error.instance, error.schema
    if kind == "type":
        return f"expected {_TYPE_WORDS.get(schema['type'], schema['type'])}, got {show(value, 60)}"
    if kind == "required":
        missing = [k for k in schema["required"] if k not in value]
        if missing == ["targets"]:
            return "expected one or more [[targets]] tables"
        return f"{', '.join(missing)} is required (a string)"
    if kind == "additionalProperties":
        unknown = sorted(set(value) - set(schema["properties"]))
        known = ", ".join(sorted(schema["properties"]))
        return f"unknown key(s) {', '.join(unknown)} (known: {known})"
    if kind == "pattern":
        return f"expected {_RULES.get(schema['pattern'], 'another form')}, got {show(value, 60)}"
    if kind == "minimum":
        return f"expected a whole number >= {schema['minimum']}, got {show(value, 60)}"
    if kind == "maximum":
        return f"expected a whole number <= {schema['maximum']}, got {show(value, 60)}"
    if kind in ("minLength", "minItems"):
        return (
            "must not be empty"
            if kind == "minLength"
            else "expected one or more [[targets]] tables"
        )
    if kind == "maxLength":
        return f"too long (at most {schema['maxLength']} characters)"
    return str(error.message)[:200]
