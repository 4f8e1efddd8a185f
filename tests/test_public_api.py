"""The small public surface, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import remixcheck


def test_all_names_resolve() -> None:
    assert remixcheck.__all__ == sorted(remixcheck.__all__, key=lambda n: (n.startswith("_"), n))
    for name in remixcheck.__all__:
        assert getattr(remixcheck, name) is not None
    assert remixcheck.Validator.for_vendor("openai").profile.id == "openai"


def test_import_and_help_do_not_load_heavy_modules() -> None:
    code = (
        "import sys, remixcheck, remixcheck.cli\n"
        "heavy = ['openapi_core', 'schemathesis', 'uvicorn', 'starlette', 'aiohttp', 'uvloop', 'jinja2', 'httpx', 'jsonschema_rs', 'rich']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
