"""Where a schema error points in the contract: its spec location, and the origin (published,
convention) and reason declared along the way, computed once per schema path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remixcheck.contract.spec import Contract
from remixcheck.validation.schema_errors import _escape


class Locating:
    contract: Contract
    _locations: dict[tuple[Any, ...], tuple[str, str | None, str | None]]

    def _locate(self, schema_path: tuple[Any, ...]) -> tuple[str, str | None, str | None]:
        """The spec location, origin and why of a schema path, computed once per path."""
        found = self._locations.get(schema_path)
        if found is None:
            location = "#/" + "/".join(_escape(str(p)) for p in schema_path)
            found = self._locations[schema_path] = (location, *self._origin_of(list(schema_path)))
        return found

    def _origin_of(self, schema_path: list[Any]) -> tuple[str | None, str | None]:
        """The innermost x-remixcheck-origin along a schema location, with its x-remixcheck-why."""
        node: Any = self.contract.document
        origin = why = None
        for token in schema_path:
            if isinstance(node, Mapping):
                if "x-remixcheck-origin" in node:
                    origin, why = node["x-remixcheck-origin"], node.get("x-remixcheck-why")
                node = node.get(token) if isinstance(token, str) else None
            elif isinstance(node, list) and isinstance(token, int) and token < len(node):
                node = node[token]
            else:
                break
        return origin, why
