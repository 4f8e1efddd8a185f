"""Targets of a conformance run: from flags, or from remixcheck.toml / [tool.remixcheck]."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from remixcheck.conformance import config_schema, keys
from remixcheck.conformance.wire import is_loopback
from remixcheck.contract import profiles as vendors
from remixcheck.contract.quoting import show
from remixcheck.errors import UsageError
from remixcheck.traffic import redact

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class Target:
    name: str
    vendor: str
    base_url: str
    api_key_env: str
    api_key: str | None = field(default=None, repr=False)
    video_id: str | None = None
    max_billable: int | None = None  # None: unlimited
    emulated: bool = False

    def __post_init__(self) -> None:
        redact.register(self.api_key)  # however the target was made, its key is never printed

    @property
    def loopback(self) -> bool:
        return is_loopback(self.base_url)


def check_base_url(url: str, where: str = "--base-url") -> str:
    """A base URL with scheme and host, no credentials, no query; returned without a trailing slash."""
    shown = show(url, 100)
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1"
        raise UsageError(f"{where}: {shown} is not a valid URL (bad host)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where}: {shown} is not an http(s) URL with a host")
    if any(c <= " " or c == "\x7f" for c in url) or _SURROGATE.search(url):
        raise UsageError(f"{where}: {shown} holds whitespace or control characters")
    try:
        port = parts.port
    except ValueError:  # "http://h:99999", "http://h:x"
        raise UsageError(f"{where}: {shown} has an invalid port") from None
    if parts.username or parts.password or "@" in parts.netloc:
        raise UsageError(f"{where}: put credentials in an environment variable, not in the URL")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise UsageError(f"{where}: {shown} must not carry a query or fragment")
    if port == 0:
        raise UsageError(f"{where}: {shown}: port 0 is no port a server listens on")
    return url.rstrip("/")


def check_name(name: str, where: str) -> str:
    """A target name usable as a pytest node id, a file name and a report label."""
    if not re.fullmatch(config_schema.NAME_PATTERN, name):
        raise UsageError(
            f"{where}: target name {show(name, 80)}: expected {config_schema.NAME_RULE}"
        )
    return name


def make_target(
    *,
    name: str,
    vendor: str,
    base_url: str,
    api_key_env: str | None,
    video_id: str | None,
    max_billable: int | None,
    where: str = "--base-url",
    require_key: bool = True,
) -> Target:
    check_name(name, where)
    profile = vendors.load(vendor)
    url = check_base_url(base_url, where)
    env = api_key_env or profile.key_env
    key = keys.from_env(env, where)
    if require_key and not key:
        raise UsageError(
            f"target {name}: environment variable {env} is not set (it must hold the API key)"
        )
    if video_id is not None and not profile.video_id.pattern.fullmatch(video_id):
        raise UsageError(
            f"target {name}: video id {show(video_id, 80)} is not in {profile.name}'s format (e.g. {profile.video_id.example})"
        )
    if max_billable is not None and max_billable < 0:
        raise UsageError(f"{where}: max billable must be a whole number >= 0, got {max_billable}")
    if max_billable is None and not is_loopback(url):
        max_billable = 0  # real vendors bill every accepted remix: nothing billable unless asked
    return Target(
        name=name,
        vendor=vendor,  # as given: a bundled name or a profile file's path
        base_url=url,
        api_key_env=env,
        api_key=key,
        video_id=video_id,
        max_billable=max_billable,
    )


CONFIG_KEYS = set(config_schema.TARGET_SCHEMA["properties"])


def load_config(path: Path | None, cwd: Path) -> tuple[Path, list[dict[str, Any]]] | None:
    """Target tables from remixcheck.toml or pyproject.toml [tool.remixcheck]; None when neither has them."""
    candidates = [path] if path else [cwd / "remixcheck.toml", cwd / "pyproject.toml"]
    for candidate in candidates:
        if candidate is None or not candidate.is_file():
            if path is not None:
                raise UsageError(f"{path}: config file not found")
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{candidate}: cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{candidate}: invalid TOML: {exc}") from None
        section = config_schema.section_of(data, candidate)
        if section is None:
            continue
        config_schema.check_section(section, candidate)
        targets = section["targets"]
        names = [t["name"] for t in targets]
        if len(set(names)) != len(names):
            raise UsageError(f"{candidate}: target names must be unique")
        return candidate, targets
    return None


def targets_from_config(
    path: Path | None,
    cwd: Path,
    *,
    only: tuple[str, ...] = (),
    max_billable: int | None = None,
    require_key: bool = True,
) -> list[Target]:
    found = load_config(path, cwd)
    if found is None:
        raise UsageError(
            "no targets: give --base-url and --vendor, --emulate, or a remixcheck.toml with [[targets]]"
        )
    source, tables = found
    if only:
        missing = sorted(set(only) - {t["name"] for t in tables})
        if missing:
            raise UsageError(f"{source}: no target named {', '.join(missing)}")
        tables = [t for t in tables if t["name"] in only]
    return [
        make_target(
            name=t["name"],
            vendor=t["vendor"],
            base_url=t["base_url"],
            api_key_env=t.get("api_key_env"),
            video_id=t.get("video_id"),
            max_billable=max_billable if max_billable is not None else t.get("max_billable"),
            where=f"{source}: target {t['name']}",
            require_key=require_key,
        )
        for t in tables
    ]
