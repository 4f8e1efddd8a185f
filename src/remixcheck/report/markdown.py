"""A Markdown summary of a results dict, for `$GITHUB_STEP_SUMMARY` under GitHub Actions.

Every value that comes from a server (messages, ids) is escaped: the summary is rendered
as GitHub Markdown, which takes inline HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from remixcheck.report.causes import group
from remixcheck.report.terminal import DEVIATION_MEANS, deviation_counts
from remixcheck.results.display import short_ids

OUTCOMES = ("pass", "deviation", "violation", "skipped", "error")
_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
CAUSES_SHOWN = 10


def md(text: Any) -> str:
    """Text as literal Markdown: one line, HTML escaped, Markdown punctuation escaped."""
    one_line = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", html.escape(short_ids(one_line), quote=False))


def summary(data: Mapping[str, Any], title: str) -> str:
    targets = [t for t in data.get("targets") or () if isinstance(t, Mapping)]
    lines = [f"### {md(title)}", ""]
    lines.append("| target | vendor | " + " | ".join(OUTCOMES) + " | requests |")
    lines.append("|---|---|" + "---:|" * (len(OUTCOMES) + 1))
    for t in targets:
        counts = t.get("counts") or {}
        lines.append(
            f"| {md(t.get('name'))} | {md(t.get('vendor'))} | "
            + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES)
            + f" | {t.get('requests_sent', 0)} |"
        )
    for t in targets:
        causes = group(
            [c for c in t.get("checks") or () if isinstance(c, Mapping)],
            strict=bool(data.get("strict")),
        )
        errors = [
            c
            for c in t.get("checks") or ()
            if isinstance(c, Mapping) and c.get("outcome") == "error"
        ]
        if not causes and not errors:
            continue
        lines += ["", f"**{md(t.get('name'))}**: {len(causes)} root cause(s)", ""]
        for cause in causes[:CAUSES_SHOWN]:
            origin = f" ({md(cause.origin)})" if cause.origin else ""
            checks = ", ".join(f"`{c}`" for c in cause.checks)
            lines.append(f"- {md(cause.label)}{origin}: {checks}")
            if cause.server_message:
                lines.append(f"  - server said: {md(cause.server_message)}")
        if len(causes) > CAUSES_SHOWN:
            lines.append(f"- and {len(causes) - CAUSES_SHOWN} more causes in the report")
        for c in errors:
            lines.append(f"- error `{c.get('check')}`: {md(c.get('reason') or '')}")
    impacts = [(t, t.get("client_impact")) for t in targets]
    heads = [(t, i.get("headline")) for t, i in impacts if isinstance(i, Mapping)]
    if heads:
        lines += ["", "**Client impact**", ""]
        for t, head in heads:
            text = head.get("text") if isinstance(head, Mapping) else ""
            lines.append(f"- {md(t.get('name'))}: {md(text)}")
    counts = deviation_counts(targets)
    if counts:
        lines += ["", f"_{md(DEVIATION_MEANS)}_", ""]
        for name, counted in counts.items():
            listed = ", ".join(f"`{d}` ({n})" for d, n in counted.most_common())
            lines.append(f"- {md(name)}: {listed}")
    return "\n".join(lines) + "\n\n"


def append_summary(path: Path, data: Mapping[str, Any], title: str) -> None:
    """Append the summary to the step summary file (GitHub creates it; others may not)."""
    with path.open("a", encoding="utf-8") as out:
        out.write(summary(data, title))
