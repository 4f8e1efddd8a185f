"""The HTML compatibility report: one self-contained page rendered from the report model.

The page makes no request of any kind: CSS and JS are inline, and a Content-Security-Policy
allows only those two blocks (by hash), so even a value that escaped escaping could not
run or load anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remixcheck.report.model import build_model
from remixcheck.report.views import ReportModel
from remixcheck.report.vocabulary import FIELD_KINDS, FIELD_LABELS, LABELS, SYMBOLS
from remixcheck.traffic.redact import redact

if TYPE_CHECKING:
    import jinja2

__all__ = ["ReportModel", "build_model", "render_html", "render_model", "write_html"]

TEMPLATE = "compat.html.j2"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _asset(name: str) -> str:
    return (resources.files("remixcheck.report") / "templates" / name).read_text(encoding="utf-8")


def csp_source_hash(text: str) -> str:
    """A CSP source expression allowing exactly this inline block."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def json_for_script(value: Any) -> str:
    """JSON that is inert inside <script type="application/json">, whatever its strings hold.

    `<`, `>` and `&` become \\u escapes so no `</script>` or `<!--` can end or confuse the
    block; U+2028/2029 too, for readers that still treat them as line ends.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


@functools.cache
def _environment() -> jinja2.Environment:
    # Imported here: the CLI imports this module at start and must stay fast.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("remixcheck.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def _assets() -> tuple[str, str]:
    css, js = _asset("compat.css"), _asset("compat.js")
    for name, text, end in (("compat.css", css, "</style"), ("compat.js", js, "</script")):
        if end in text.lower():
            raise RuntimeError(
                f"report asset {name} contains {end}>, which would end its inline block"
            )
    return css, js


def render_model(model: ReportModel) -> str:
    """The page for a built model."""
    from markupsafe import Markup

    css, js = _assets()
    csp = "; ".join(
        [
            "default-src 'none'",
            f"style-src {csp_source_hash(css)}",
            f"script-src {csp_source_hash(js)}",
            "img-src data:",  # the empty data: favicon, so the browser does not go looking for one
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    page = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            model=model,
            csp=csp,
            labels=LABELS,
            symbols=SYMBOLS,
            field_kinds=FIELD_KINDS,
            field_labels=FIELD_LABELS,
            # Markup: the assets are ours and go in verbatim, byte for byte what the hashes cover.
            css=Markup(css),
            script=Markup(js),
            summary_json=Markup(json_for_script(model.summary())),
        )
    )
    try:
        page.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from a hostile "\ud800" in a results file cannot be written as UTF-8.
        page = _SURROGATE.sub("\ufffd", page)
    return page


def render_html(results: Sequence[Mapping[str, Any]]) -> str:
    """The compatibility report of one or more results.json dicts, as one HTML page."""
    return render_model(build_model(results))


def write_html(results: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Render and write the report atomically; returns the path."""
    from remixcheck.results.model import write_atomic

    page = redact(render_html(results))  # the page as written: escaped forms of a key included
    write_atomic(page.encode("utf-8", "backslashreplace"), path)
    return path
