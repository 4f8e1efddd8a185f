"""Where the bundled contract and profiles live: inside the wheel, or in a source checkout."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from remixcheck.errors import RemixcheckError

SPEC_FILE = "remix.openapi.yaml"
PROFILE_SCHEMA_FILE = "profile.schema.yaml"


@functools.cache
def spec_dir() -> Path:
    """The folder holding remix.openapi.yaml and vendors/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_spec", here.parent.parent / "spec"):
        if (candidate / SPEC_FILE).is_file():
            return candidate
    raise RemixcheckError(f"bundled spec not found next to {here}; the installation is broken")


def spec_path() -> Path:
    return spec_dir() / SPEC_FILE


def vendors_dir() -> Path:
    return spec_dir() / "vendors"


def load_yaml(path: Path, error: type[RemixcheckError]) -> Any:
    """Parse a YAML file, turning every failure into `error` with the file and line in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}:{where}: invalid YAML: {problem}") from None


# The C loader when libyaml is present: several times faster on the spec.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
