"""JUnit XML: one testcase per target x check, as CI systems expect."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from remixcheck.contract.origins import label
from remixcheck.contract.quoting import show
from remixcheck.traffic.redact import redact


def _text(finding: dict[str, Any]) -> str:
    where = finding.get("pointer") or finding.get("location") or ""
    dev = f" [documented: {finding['deviation']}]" if finding.get("deviation") else ""
    origin = label(finding.get("origin"), finding.get("origin_why"))
    origin = f" [origin: {origin}]" if origin else ""
    return f"{finding['verdict']}: {where}: {finding['message']} (expected {show(finding.get('expected'))}, got {show(finding.get('actual'))}){dev}{origin}"


def _check_origin(check: dict[str, Any]) -> str:
    text = label(check.get("origin"), check.get("origin_why"))
    return f"origin of the rule: {text}" if text else ""


def build(results: dict[str, Any]) -> ET.Element:
    strict = bool(results.get("strict"))
    suites = ET.Element("testsuites", name="remixcheck")
    for target in results["targets"]:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"remixcheck.{target['name']}",
            tests=str(len(target["checks"])),
            timestamp=results.get("started_at", ""),
        )
        failures = errors = skipped = 0
        for check in target["checks"]:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"remixcheck.{target['name']}",
                name=check["check"],
                time=f"{check.get('duration_ms', 0) / 1000:.3f}",
            )
            outcome = check["outcome"]
            lines = [_text(f) for f in check.get("findings", [])]
            curls = [e["curl"] for e in check.get("evidence", []) if e.get("curl")]
            said = (
                [f"server said: {check['server_message']}"] if check.get("server_message") else []
            )
            origin = _check_origin(check)
            detail = "\n".join(
                lines
                + said
                + ([f"reproduce: {curls[0]}"] if curls else [])
                + ([origin] if origin else [])
            )
            if outcome == "violation" or (strict and outcome == "deviation"):
                failures += 1
                first = lines[0] if lines else check.get("reason", "")
                ET.SubElement(case, "failure", message=first[:500], type=outcome).text = detail
            elif outcome in ("error", "precondition"):
                # precondition: the server's state let the check judge nothing (not a verdict)
                errors += 1
                ET.SubElement(
                    case, "error", message=check.get("reason", "")[:500], type=outcome
                ).text = "\n".join([check.get("reason", ""), *said])
            elif outcome == "info":
                ET.SubElement(
                    case, "system-out"
                ).text = f"dialect fact: {check.get('fact') or check.get('reason', '')}\n{detail}"
            elif outcome == "skipped":
                skipped += 1
                ET.SubElement(case, "skipped", message=check.get("reason", "")[:500])
            elif outcome == "deviation":
                ET.SubElement(case, "system-out").text = (
                    "documented deviation(s): "
                    + ", ".join(check.get("deviations", []))
                    + "\n"
                    + detail
                )
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
    return suites


def write_junit(results: dict[str, Any], path: Path) -> Path:
    import io

    from remixcheck.results.model import write_atomic

    tree = ET.ElementTree(build(redact(results)))
    ET.indent(tree)
    buffer = io.BytesIO()
    tree.write(buffer, encoding="utf-8", xml_declaration=True)
    write_atomic(buffer.getvalue(), path)
    return path
