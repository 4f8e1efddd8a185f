"""Fuzz case files written (scrubbed, one per failing case) and read, and a fuzz run merged
into an existing results.json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remixcheck.conformance.checks.context import evidence
from remixcheck.conformance.transport import Sent
from remixcheck.fuzzing.casefile import CASE_SCHEMA, CASE_VERSION
from remixcheck.fuzzing.cases import FAMILY
from remixcheck.fuzzing.invariants import Judgement
from remixcheck.results.model import Outcome, scrub, write_json


@dataclass(slots=True)
class CaseRecord:
    """A failing case as it is kept on disk: redacted, replayable, with its judgement."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])


def case_record(
    judgement: Judgement,
    sent: Sent,
    *,
    target: str,
    vendor: str,
    base_url: str,
    api_key_env: str,
    seed: int,
    index: int,
) -> CaseRecord:
    request = judgement.request
    ev = evidence(sent)
    return CaseRecord(
        {
            "schema": CASE_SCHEMA,
            "version": CASE_VERSION,
            "id": request.case_id,
            "target": target,
            "vendor": vendor,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "seed": seed,
            "index": index,
            "request": {**request.to_dict(), "headers": sent.exchange.request.headers},
            "expected": {
                "kind": judgement.expectation.kind,
                "why": judgement.expectation.why,
                "cause": judgement.expectation.cause,
                "statuses": list(judgement.expectation.statuses),
            },
            "context": judgement.context,
            "response": ev.response,
            "verdict": judgement.verdict.value,
            "findings": [{"fuzz_check": c, **f.to_dict()} for c, f in judgement.findings],
            "curl": sent.curl,
        }
    )


def write_cases(
    records: Iterable[CaseRecord],
    directory: Path,
    secrets: Iterable[str],
    emulator: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write each case as <directory>/<id>.json, every secret scrubbed; returns the paths.

    `emulator` (faults, job seconds) marks cases found on a bundled emulator, so
    `replay --emulate` can start the same one again.
    """
    needles = [s for s in secrets if s]
    written = []
    for record in records:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{record.id}.json"
        data = {**record.data, "emulator": dict(emulator)} if emulator else record.data
        written.append(write_json(scrub(data, needles), path))
    return written


def load_case(path: Path) -> dict[str, Any]:
    """A case file, checked as the untrusted input it is (see casefile.py)."""
    from remixcheck.fuzzing import casefile

    return casefile.load(path)


def merge_results(existing: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """New fuzz results laid over an existing results.json of the same contract.

    A target of the same name keeps its catalogue checks and gets this run's fuzz checks in
    place of any earlier ones; its request counts are the catalogue's plus this run's. Other
    targets are kept, new ones appended. A results file of another contract is replaced.
    """
    if existing is None or existing.get("spec") != new.get("spec"):
        return dict(new)
    merged = dict(existing)
    merged["finished_at"] = new.get("finished_at", merged.get("finished_at"))
    merged["strict"] = new.get("strict", merged.get("strict"))
    merged["interrupted"] = bool(new.get("interrupted"))
    targets = [dict(t) for t in existing.get("targets", [])]
    by_name = {t["name"]: i for i, t in enumerate(targets)}
    for t in new.get("targets", []):
        i = by_name.get(t["name"])
        if i is None:
            targets.append(dict(t))
            continue
        old = targets[i]
        earlier = old.get("fuzz") or {}
        kept = [c for c in old.get("checks", []) if c.get("family") != FAMILY]
        old["checks"] = kept + list(t["checks"])
        for key in ("requests_sent", "billable_sent"):
            old[key] = int(old.get(key, 0)) - int(earlier.get(key, 0)) + int(t["fuzz"][key])
        old["fuzz"] = t["fuzz"]
        counts = dict.fromkeys(o.value for o in Outcome)
        for name in counts:
            counts[name] = sum(1 for c in old["checks"] if c.get("outcome") == name)
        old["counts"] = counts
        targets[i] = old
    merged["targets"] = targets
    merged["billable_sent"] = sum(int(t.get("billable_sent", 0)) for t in targets)
    return merged
