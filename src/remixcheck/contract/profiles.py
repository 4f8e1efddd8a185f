"""Vendor profiles: each vendor's documented dialect, as validated data."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remixcheck.contract import resources
from remixcheck.contract.deviations import Deviation, KnownBug, Matcher
from remixcheck.contract.quoting import schema_problem, show
from remixcheck.contract.video_ids import IdEncoding, VideoIdFormat
from remixcheck.errors import ProfileError

OPERATIONS = ("createVideo", "GetVideo", "CreateVideoRemix")


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
    # Gateways: fields every create needs beyond the prompt (LiteLLM routes on `model`).
    create_fields: tuple[tuple[str, str], ...] = ()  # (name, value), in the profile's order
    # Response headers the target is expected to send on Video responses, its own or passed
    # through from its upstream (a gateway that drops them breaks the client's polling).
    passthrough_headers: tuple[str, ...] = ()
    known_bugs: tuple[KnownBug, ...] = ()
    notes: str = ""
    # The upstream API's state (OpenAI: deprecated, shutdown announced), as the profile says.
    upstream: Mapping[str, Any] | None = None

    @property
    def upstream_notice(self) -> str:
        """One line on the upstream's state, or "" when the profile says nothing of it."""
        u = self.upstream
        if not u or u.get("status") == "live":
            return ""
        dates = []
        if u.get("deprecated"):
            dates.append(f"deprecated since {u['deprecated']}")
        if u.get("shutdown"):
            dates.append(f"shutdown announced for {u['shutdown']}")
        return f"upstream {u['status']} ({', '.join(dates)}): {u['note']}"

    @property
    def all_base_paths(self) -> tuple[str, ...]:
        return self.base_paths + self.compat_base_paths

    def known_bug(self, check_id: str) -> KnownBug | None:
        """The known bug of the vendor that turns this check red, if the profile names one."""
        return next((b for b in self.known_bugs if b.covers(check_id)), None)

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
            raise ProfileError(
                f"{path}: field {_pointer(e.absolute_path)}: {schema_problem(e)}{more}"
            )
    if not isinstance(data, Mapping):
        raise ProfileError(f"{path}: not a profile (top level is not a mapping)")
    if data["id"] != path.stem:
        raise ProfileError(
            f"{path}: field /id: {show(data['id'])} must match the file name {show(path.stem)}"
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
    encoding = _id_encoding(vid, path)
    if not pattern.fullmatch(vid["example"]):
        raise ProfileError(
            f"{path}: field /video_id/example: {show(vid['example'])} does not match the pattern"
        )
    if encoding is not None and encoding.decode(vid["example"]) is None:
        raise ProfileError(
            f"{path}: field /video_id/example: does not decode with /video_id/encoding"
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
            raise ProfileError(
                f"{path}: field /deviations/{i}/id: must start with {show(data['id'])}."
            )
        if d["id"] in seen:
            raise ProfileError(f"{path}: field /deviations/{i}/id: duplicate id {show(d['id'])}")
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
        base_paths=tuple(_root(p) for p in data["base_paths"]),
        compat_base_paths=tuple(_root(p) for p in data.get("compat_base_paths", ())),
        auth_scheme=data["auth"]["scheme"],
        key_prefix=data["auth"].get("key_prefix"),
        key_env=data["auth"]["key_env"],
        content_types=tuple(req["content_types"]),
        preferred_content_type=req["preferred_content_type"],
        prompt_max_length=req.get("prompt_max_length", 32000),
        video_id=VideoIdFormat(
            vid["format"], pattern, vid["example"], vid.get("provider"), encoding
        ),
        error_envelope=data["errors"]["envelope"],
        not_completed_status=data["errors"].get("not_completed_status", 400),
        poll_after_header=data.get("polling", {}).get("poll_after_header"),
        deviations=tuple(deviations),
        sources=tuple(data.get("sources", ())),
        path=path,
        create_fields=tuple(req.get("create_fields", {}).items()),
        passthrough_headers=tuple(h.lower() for h in data.get("passthrough_headers", ())),
        known_bugs=_known_bugs(data, path),
        notes=data.get("notes", ""),
        upstream=data.get("upstream"),
    )


def _known_bugs(data: Mapping[str, Any], path: Path) -> tuple[KnownBug, ...]:
    bugs = []
    for i, b in enumerate(data.get("known_bugs", ())):
        if not b["id"].startswith(data["id"] + ".bug."):
            raise ProfileError(
                f"{path}: field /known_bugs/{i}/id: must start with {show(data['id'] + '.bug.')}"
            )
        bugs.append(KnownBug(b["id"], b["summary"], b["evidence"], tuple(b["checks"])))
    return tuple(bugs)


def _root(prefix: str) -> str:
    # "/" in a profile means the routes sit at the root (/videos...): the prefix is empty.
    return "" if prefix == "/" else prefix


def _id_encoding(vid: Mapping[str, Any], path: Path) -> IdEncoding | None:
    enc = vid.get("encoding")
    if (vid["format"] == "encoded") != (enc is not None):
        raise ProfileError(
            f"{path}: field /video_id/encoding: required when format is encoded, and only then"
        )
    if enc is None:
        return None
    if "{id}" not in enc["template"]:
        raise ProfileError(f"{path}: field /video_id/encoding/template: must contain {{id}}")
    try:
        native = re.compile(enc["native"])
    except re.error as exc:
        raise ProfileError(
            f"{path}: field /video_id/encoding/native: not a regular expression: {exc}"
        ) from None
    if "id" not in native.groupindex:
        raise ProfileError(
            f"{path}: field /video_id/encoding/native: needs a group named id, (?P<id>...)"
        )
    return IdEncoding(enc["prefix"], enc["scheme"], enc["template"], native)


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
