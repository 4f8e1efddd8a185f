"""schemathesis's coverage phase, generated once per contract and kept on disk.

The coverage phase draws no random numbers that a seed changes: for one contract and one
schemathesis it yields the same drafts, in the same order, every time (tests hold it to
that). Yet generating them costs more than sending them (several milliseconds a case, and
building its strategies on first use). So the first run that goes through the whole phase
writes its drafts to the cache folder (the user's cache, as Hypothesis keeps its unicode
tables there), and later runs read them back. The file's name carries the contract's
digest and both tools' versions, so a new contract or a new schemathesis regenerates; an
unreadable file is ignored and regenerated."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from remixcheck.__about__ import __version__
from remixcheck.contract.spec import Contract
from remixcheck.fuzzing.drafts import Draft

FORMAT = 1


def cache_file(cache_dir: Path, contract: Contract) -> Path:
    versions = f"{FORMAT}:{contract.sha256}:{metadata.version('schemathesis')}:{__version__}"
    return cache_dir / f"coverage-{hashlib.sha256(versions.encode()).hexdigest()[:32]}.json"


def coverage_drafts(
    contract: Contract, cache_dir: Path | None, generate: Callable[[], Iterator[Draft]]
) -> Iterator[Draft]:
    """The coverage phase's drafts: from the cache, else generated (and cached when complete)."""
    path = cache_file(cache_dir, contract) if cache_dir is not None else None
    cached = _load(path) if path is not None else None
    if cached is not None:
        yield from cached
        return
    drafts = []
    for draft in generate():
        drafts.append(draft)
        yield draft
    if path is not None:  # only reached when the run used the whole phase
        _store(path, drafts)


def _load(path: Path) -> list[Draft] | None:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [_draft(row) for row in rows]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _draft(row: dict[str, Any]) -> Draft:
    body = row.pop("body")
    return Draft(**row, body=None if body is None else base64.b64decode(body))


def _store(path: Path, drafts: list[Draft]) -> None:
    rows = []
    for draft in drafts:
        row = dataclasses.asdict(draft)
        row["body"] = None if draft.body is None else base64.b64encode(draft.body).decode()
        rows.append(row)
    # A cache that cannot be written only costs the next run the time to generate it again.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".coverage-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(rows, out)
        os.replace(tmp, path)  # readers see the old file or the whole new one
