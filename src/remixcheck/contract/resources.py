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
    here = Path(__file__).resolve().parent.parent  # the remixcheck package, not contract/
    for candidate in (here / "_spec", here.parent.parent / "spec"):
        if (candidate / SPEC_FILE).is_file():
            return candidate
    raise RemixcheckError(f"bundled spec not found next to {here}; the installation is broken")


def spec_path() -> Path:
    return spec_dir() / SPEC_FILE


def vendors_dir() -> Path:
    return spec_dir() / "vendors"


MAX_YAML_BYTES = 16 * 1024 * 1024  # the bundled contract is ~100 KB; profiles a few KB
# Aliases let a few hundred bytes stand for billions of nodes (a "billion laughs"); the
# loader shares them, but everything that walks the value afterwards would expand them.
MAX_YAML_NODES = 1_000_000


def load_yaml(path: Path, error: type[RemixcheckError]) -> Any:
    """Parse a YAML file, turning every failure into `error` with the file and line in it.

    Safe loading only, and bounded: a regular file of at most MAX_YAML_BYTES whose value,
    aliases expanded, has at most MAX_YAML_NODES nodes and no alias that contains itself.
    """
    import stat

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file")
        if info.st_size > MAX_YAML_BYTES:
            raise error(f"{path}: {info.st_size} bytes is too large (at most {MAX_YAML_BYTES})")
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    try:
        value = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}:{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise error(f"{path}: invalid YAML: nested too deeply") from None
    problem = _expansion_problem(value)
    if problem:
        raise error(f"{path}: refused: {problem}")
    return value


def _expansion_problem(value: Any) -> str | None:
    """Why the value is too big once its aliases are expanded (or cyclic); None when it is fine."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    # Iterative post-order walk: shared (aliased) containers are sized once, then reused.
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
        if done:
            open_.discard(key)
            total = 1 + sum(
                sizes.get(id(c), 1) if isinstance(c, (dict, list)) else 1 for c in children
            )
            if total > MAX_YAML_NODES:
                return (
                    f"its aliases expand to more than {MAX_YAML_NODES:,} nodes "
                    "(a YAML alias bomb?); write the values out instead"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_:
            return "an alias refers to a node that contains it (a recursive YAML structure)"
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if isinstance(c, (dict, list)))
    return None


# The C loader when libyaml is present: several times faster on the spec.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
