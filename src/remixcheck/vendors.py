"""Vendor profiles: each vendor's documented dialect, as validated data."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remixcheck import resources
from remixcheck.errors import ProfileError

OPERATIONS = ("createVideo", "GetVideo", "CreateVideoRemix")


@dataclass(frozen=True, slots=True)
class Matcher:
    """Which findings a deviation explains. Every given constraint must hold."""

    check: str | None = None
    where: str | None = None
    operations: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    keyword: str | None = None
    pointers: tuple[str, ...] = ()
    actual_types: tuple[str, ...] = ()
    only_empty: bool = False

    def matches(
        self,
        *,
        check: str,
        where: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        keyword: str | None = None,
        pointer: str = "",
        actual: Any = None,
        must_be_set: bool = False,
    ) -> bool:
        if self.only_empty and must_be_set:
            return False
        if self.check is not None and not fnmatch.fnmatchcase(check, self.check):
            return False
        if self.where is not None and where != self.where:
            return False
        if self.operations and operation not in self.operations:
            return False
        if self.status and (
            status is None or not any(_status_matches(p, status) for p in self.status)
        ):
            return False
        if self.keyword is not None and keyword != self.keyword:
            return False
        if self.pointers and not any(fnmatch.fnmatchcase(pointer, p) for p in self.pointers):
            return False
        return not (self.actual_types and json_type(actual) not in self.actual_types)


def _status_matches(pattern: str, status: int) -> bool:
    code = str(status)
    return len(code) == 3 and all(p in ("X", c) for p, c in zip(pattern, code, strict=True))


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value (integral floats count as number)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True, slots=True)
class Deviation:
    id: str
    reason: str
    source: str
    match: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class VideoIdFormat:
    format: str  # "opaque" | "id-provider"
    pattern: re.Pattern[str]
    example: str
    provider: str | None = None

    def make(self, native_id: str) -> str:
        """A video id in this vendor's format for a native id."""
        if self.format == "id-provider":
            return f"{native_id}:{self.provider}"
        return native_id

    def native(self, video_id: str) -> str:
        """The native part of an id in this vendor's format (Bifrost splits on the first colon)."""
        if self.format == "id-provider":
            return video_id.split(":", 1)[0]
        return video_id


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    name: str
    summary: str
    default_base_url: str
    base_paths: tuple[str, ...]
    compat_base_paths: tuple[str, ...]
    auth_scheme: str
    key_prefix: str | None
    key_env: str
    content_types: tuple[str, ...]
    preferred_content_type: str
    prompt_max_length: int | None
    video_id: VideoIdFormat
    error_envelope: str
    not_completed_status: int
    poll_after_header: str | None
    deviations: tuple[Deviation, ...]
    sources: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def all_base_paths(self) -> tuple[str, ...]:
        return self.base_paths + self.compat_base_paths

    def deviation(self, deviation_id: str) -> Deviation | None:
        for d in self.deviations:
            if d.id == deviation_id:
                return d
        return None

    def explain(self, **finding: Any) -> str | None:
        """The id of the first documented deviation that explains a finding, if any."""
        for d in self.deviations:
            for m in d.match:
                if m.matches(**finding):
                    return d.id
        return None


@functools.cache
def _profile_validator() -> Any:
    import jsonschema

    schema_file = resources.spec_dir() / resources.PROFILE_SCHEMA_FILE
    schema = resources.load_yaml(schema_file, ProfileError)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _pointer(path: Iterable[Any]) -> str:
    parts = [str(p) for p in path]
    return "/" + "/".join(parts) if parts else "(top level)"


def parse_profile(data: Any, path: Path, *, check_schema: bool = True) -> Profile:
    """Validate raw profile data against the profile schema and build a Profile."""
    if check_schema:
        validator = _profile_validator()
        errors = sorted(
            validator.iter_errors(data), key=lambda e: (len(e.path), list(map(str, e.path)))
        )
        if errors:
            e = errors[0]
            more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
            raise ProfileError(f"{path}: field {_pointer(e.absolute_path)}: {e.message}{more}")
    if not isinstance(data, Mapping):
        raise ProfileError(f"{path}: not a profile (top level is not a mapping)")
    if data["id"] != path.stem:
        raise ProfileError(
            f"{path}: field /id: {data['id']!r} must match the file name {path.stem!r}"
        )
    vid = data["video_id"]
    try:
        pattern = re.compile(vid["pattern"])
    except re.error as exc:
        raise ProfileError(
            f"{path}: field /video_id/pattern: not a regular expression: {exc}"
        ) from None
    if vid["format"] == "id-provider" and "provider" not in vid:
        raise ProfileError(f"{path}: field /video_id/provider: required when format is id-provider")
    if not pattern.fullmatch(vid["example"]):
        raise ProfileError(
            f"{path}: field /video_id/example: {vid['example']!r} does not match the pattern"
        )
    req = data["request"]
    if req["preferred_content_type"] not in req["content_types"]:
        raise ProfileError(
            f"{path}: field /request/preferred_content_type: not one of /request/content_types"
        )
    seen: set[str] = set()
    deviations = []
    for i, d in enumerate(data["deviations"]):
        if not d["id"].startswith(data["id"] + "."):
            raise ProfileError(f"{path}: field /deviations/{i}/id: must start with {data['id']!r}.")
        if d["id"] in seen:
            raise ProfileError(f"{path}: field /deviations/{i}/id: duplicate id {d['id']!r}")
        seen.add(d["id"])
        matchers = tuple(
            Matcher(
                check=m.get("check"),
                where=m.get("where"),
                operations=tuple(m.get("operations", ())),
                status=tuple(m.get("status", ())),
                keyword=m.get("keyword"),
                pointers=tuple(m.get("pointers", ())),
                actual_types=tuple(m.get("actual_types", ())),
                only_empty=bool(m.get("only_empty", False)),
            )
            for m in d["match"]
        )
        deviations.append(Deviation(d["id"], d["reason"], d["source"], matchers))
    return Profile(
        id=data["id"],
        name=data["name"],
        summary=data["summary"],
        default_base_url=data["default_base_url"],
        base_paths=tuple(data["base_paths"]),
        compat_base_paths=tuple(data.get("compat_base_paths", ())),
        auth_scheme=data["auth"]["scheme"],
        key_prefix=data["auth"].get("key_prefix"),
        key_env=data["auth"]["key_env"],
        content_types=tuple(req["content_types"]),
        preferred_content_type=req["preferred_content_type"],
        prompt_max_length=req.get("prompt_max_length", 32000),
        video_id=VideoIdFormat(vid["format"], pattern, vid["example"], vid.get("provider")),
        error_envelope=data["errors"]["envelope"],
        not_completed_status=data["errors"].get("not_completed_status", 400),
        poll_after_header=data.get("polling", {}).get("poll_after_header"),
        deviations=tuple(deviations),
        sources=tuple(data.get("sources", ())),
        path=path,
    )


def load_profile_file(path: Path, *, check_schema: bool = True) -> Profile:
    return parse_profile(resources.load_yaml(path, ProfileError), path, check_schema=check_schema)


def available() -> list[str]:
    """Names of the bundled vendor profiles."""
    return sorted(p.stem for p in resources.vendors_dir().glob("*.yaml"))


@functools.cache
def load(name_or_path: str) -> Profile:
    """A bundled profile by name (openai, aihubmix, apifree, bifrost) or a profile file by path."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return load_profile_file(Path(name_or_path))
    path = resources.vendors_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        names = ", ".join(available())
        raise ProfileError(
            f"unknown vendor {name_or_path!r}; known vendors: {names} (or a path to a profile .yaml)"
        )
    # Bundled profiles are held to the schema by the test suite (tests/test_profiles.py);
    # importing jsonschema to re-check them would cost ~80 ms at every start.
    return load_profile_file(path, check_schema=False)
