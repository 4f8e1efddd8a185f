"""The house rules of ARCHITECTURE.md, held mechanically: imports are read with ast over src/.

Packages are stages of the data flow, and a package imports only packages below it:

    errors, __about__, procpool  <  contract  <  traffic  <  validation  <  results  <  clients
    <  emulator  <  conformance  <  fuzzing  <  proxy  <  report  <  the doors (cli, pytest_plugin, the root package)
    <  __main__

Imports under `if TYPE_CHECKING:` do not run and do not count; imports inside functions do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "remixcheck"
MAX_LINES = 400

# Lowest first. A package may import any package before it in this list, never one after it.
LAYERS = [
    ("errors", "__about__", "procpool"),
    ("contract",),
    ("traffic",),
    ("validation",),
    ("results",),
    ("clients",),  # real client libraries judge the bodies a run observed
    ("emulator",),
    ("conformance",),
    ("fuzzing",),
    ("proxy",),
    ("report",),
    ("cli", "pytest_plugin", ""),  # "" is the root package, remixcheck/__init__.py
    ("__main__",),  # `python -m remixcheck` runs the CLI
]
DOORS = {"cli", "pytest_plugin", "__main__", ""}
HTTP = {"httpx", "httpcore", "starlette", "uvicorn", "requests", "urllib3"}


def _module_name(path: Path) -> str:
    parts = ["remixcheck", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _package(module: str) -> str:
    """The stage a module belongs to: the first name under remixcheck ("" for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _runtime_imports(path: Path) -> Iterator[str]:
    """Every module a file imports when it runs (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                # `from remixcheck.cli import run` imports the module remixcheck.cli.run
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in MODULES else node.module


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m in _runtime_imports(path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }


def _rank(package: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if package in layer:
            return rank
    raise AssertionError(
        f"package {package!r} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    )


def test_every_package_is_placed_in_a_layer() -> None:
    for module in MODULES:
        _rank(_package(module))


def test_packages_import_only_lower_stages() -> None:
    wrong = []
    for module, imported in _graph().items():
        here = _package(module)
        for target in imported:
            there = _package(target)
            if there != here and _rank(there) >= _rank(here):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports that run up or across the layers:\n" + "\n".join(sorted(wrong))


def test_nothing_below_the_doors_imports_a_door() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, imported in _graph().items()
        if _package(module) not in DOORS
        for target in imported
        if _package(target) in {"cli", "pytest_plugin"}
    ]
    assert not wrong, wrong


def test_validation_sends_nothing() -> None:
    """Validation reads exchanges; it never imports an HTTP client or server, nor a run."""
    wrong = []
    for module, path in MODULES.items():
        if _package(module) != "validation":
            continue
        for imported in _runtime_imports(path):
            top = imported.split(".")[0]
            if top in HTTP or (
                top == "remixcheck" and _package(imported) in {"conformance", "fuzzing"}
            ):
                wrong.append(f"{module} imports {imported}")
    assert not wrong, wrong


def test_the_emulator_never_imports_a_run() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, imported in _graph().items()
        if _package(module) == "emulator"
        for target in imported
        if _package(target) in {"conformance", "fuzzing", "report"}
    ]
    assert not wrong, wrong


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None (depth-first search, colouring nodes)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or ())


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, imported in _graph().items():
        here = _package(module)
        packages.setdefault(here, set()).update(
            _package(t) for t in imported if _package(t) != here
        )
    cycle = _cycle(packages)
    assert cycle is None, " -> ".join(cycle or ())


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The two tests above would pass vacuously if `_cycle` never found anything."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES}): split it"


def test_architecture_names_every_package() -> None:
    text = (SRC.parent.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    missing = [p for p in sorted(packages) if f"`{p}/`" not in text]
    assert not missing, f"ARCHITECTURE.md does not describe: {missing}"


@pytest.mark.parametrize(
    "where", ["remixcheck.validation.validator:Validator", "remixcheck.fuzzing.judge:Judge"]
)
def test_composed_classes_have_no_shadowed_parts(where: str) -> None:
    """A class composed of parts (one module each) must not have two parts define one method:
    the first in the MRO would silently win over the other."""
    import importlib

    module, name = where.split(":")
    cls = getattr(importlib.import_module(module), name)
    owners: dict[str, list[str]] = {}
    for base in cls.__mro__[1:-1]:
        for attr, value in vars(base).items():
            if callable(value) and not attr.startswith("__"):
                owners.setdefault(attr, []).append(base.__name__)
    # A method the class itself defines on purpose (e.g. Validator._compile) is no accident.
    clashes = {a: o for a, o in owners.items() if len(o) > 1 and a not in vars(cls)}
    assert not clashes, clashes
