"""schemathesis's coverage phase, generated once per contract and kept on disk.

The coverage phase draws no random numbers that a seed changes: for one contract and one
schemathesis it yields the same drafts, in the same order, every time (tests hold it to
that). Yet generating them costs more than sending them (several milliseconds a case, and
building its strategies on first use). So a run writes the drafts it reached to the cache
folder (the user's cache, as Hypothesis keeps its unicode tables there), all of them or
the first ones when its budget ends inside the phase, and later runs read them back. The
file's name carries the contract's digest and both tools' versions, so a new contract or a
new schemathesis regenerates; an unreadable file is ignored and regenerated."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from remixcheck.__about__ import __version__
from remixcheck.contract.spec import Contract
from remixcheck.fuzzing.drafts import Draft

FORMAT = 2  # 2: {complete, drafts}, a prefix of the phase kept too


def cache_file(cache_dir: Path, contract: Contract) -> Path:
    versions = f"{FORMAT}:{contract.sha256}:{metadata.version('schemathesis')}:{__version__}"
    return cache_dir / f"coverage-{hashlib.sha256(versions.encode()).hexdigest()[:32]}.json"


@dataclass(frozen=True, slots=True)
class Cached:
    """The coverage phase's first drafts, in order; `complete`: all of them."""

    drafts: list[Draft]
    complete: bool


def cached(contract: Contract, cache_dir: Path | None) -> Cached | None:
    """What the cache holds of the coverage phase (when readable), else None."""
    return _load(cache_file(cache_dir, contract)) if cache_dir is not None else None


def coverage_drafts(
    contract: Contract,
    cache_dir: Path | None,
    generate: Callable[[], Iterator[Draft]],
    known: Cached | None,
) -> Iterator[Draft]:
    """The coverage phase's drafts: what the cache holds (`known`, as `cached` read it when
    the run started), and past that, generated. A run that ends inside the phase keeps what
    it reached, so the next run of that budget or less generates nothing."""
    prefix = known.drafts if known is not None else []
    yield from prefix
    if known is not None and known.complete:
        return
    path = cache_file(cache_dir, contract) if cache_dir is not None else None
    drafts: list[Draft] = []
    complete = False
    try:
        # The phase draws no random numbers: generated again from its start, it gives the
        # drafts the cache holds first, which were sent already.
        for draft in generate():
            drafts.append(draft)
            if len(drafts) > len(prefix):
                yield draft
        complete = True
    finally:  # also when the run ends inside the phase (the generator is closed)
        if path is not None and (complete or (len(drafts) > len(prefix) and _more(path, drafts))):
            _store(path, drafts, complete)


def _more(path: Path, drafts: list[Draft]) -> bool:
    """Whether a part of the phase holds more than the file now does (another run may have
    kept more since this one started)."""
    now = _load(path)
    return now is None or (not now.complete and len(now.drafts) < len(drafts))


def _load(path: Path) -> Cached | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Cached([_draft(row) for row in data["drafts"]], data["complete"] is True)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # any file but ours
        return None


def _draft(row: dict[str, Any]) -> Draft:
    body = row.pop("body")
    return Draft(**row, body=None if body is None else base64.b64decode(body))


def _store(path: Path, drafts: list[Draft], complete: bool) -> None:
    rows = []
    for draft in drafts:
        row = dataclasses.asdict(draft)
        row["body"] = None if draft.body is None else base64.b64encode(draft.body).decode()
        rows.append(row)
    # A cache that cannot be written only costs the next run the time to generate it again.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".coverage-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"complete": complete, "drafts": rows}, out)
            os.replace(tmp, path)  # readers see the old file or the whole new one
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # left only when the write or the rename failed
