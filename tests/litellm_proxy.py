"""A real LiteLLM proxy on loopback, in front of the OpenAI emulator, with outbound traffic trapped.

LiteLLM is third-party: it lives in its own virtual environment (it pins its own `openai`),
found through $REMIXCHECK_LITELLM_VENV or `.venv-litellm/` at the repository root, which
`.ci/run` creates. An id LiteLLM cannot decode goes to its default provider, api.openai.com,
whatever the config says (vendor-contracts.md section 4), so the proxy is started with
HTTP(S)_PROXY pointing at `Trap`, a loopback listener that refuses every request and keeps
what arrived, and with LITELLM_LOCAL_MODEL_COST_MAP so it does not fetch its price list.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_ENV = "REMIXCHECK_LITELLM_VENV"
DEFAULT_VENV = ROOT / ".venv-litellm"
# Prisma is installed with --no-deps into its own directory (vendor-contracts.md section 4):
# without it, a request with no key gets a text/plain 500 from a missing import, not a 401.
PRISMA_DIR_NAME = "prisma-site"
MODEL = "sora-2"


def venv_dir() -> Path:
    return Path(os.environ.get(VENV_ENV) or DEFAULT_VENV)


def missing_reason() -> str | None:
    """Why the LiteLLM tests cannot run here, or None when they can."""
    venv = venv_dir()
    if not (venv / "bin" / "litellm").is_file():
        return (
            f"no LiteLLM virtual environment at {venv} (set ${VENV_ENV} or run .ci/run, "
            "which creates .venv-litellm/)"
        )
    if not (venv / PRISMA_DIR_NAME / "prisma").is_dir():
        return f"LiteLLM's venv {venv} lacks {PRISMA_DIR_NAME}/prisma (run .ci/run to add it)"
    return None


@dataclass
class Trap:
    """A loopback listener standing in for every outbound proxy: it refuses and records."""

    received: list[bytes] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="litellm-trap", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(2.0)
                data = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in data and len(data) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                with self._lock:
                    self.received.append(data)
                with contextlib.suppress(OSError):
                    conn.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )

    def close(self) -> None:
        self._sock.close()


@dataclass
class Proxy:
    base_url: str
    master_key: str
    trap: Trap
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(upstream_v1: str) -> str:
    # api_base must end in /v1: LiteLLM appends /videos to it.
    return (
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream_v1}\n"
        "      api_key: os.environ/EMULATOR_KEY\n"
        "general_settings:\n"
        "  master_key: os.environ/LITELLM_MASTER_KEY\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )


@contextlib.contextmanager
def running_litellm(upstream_base_url: str, upstream_key: str) -> Iterator[Proxy]:
    """Start `litellm` on a free loopback port in front of `upstream_base_url`; stop it after."""
    venv = venv_dir()
    trap = Trap()
    master_key = "sk-litellm-" + secrets.token_hex(12)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="remixcheck-litellm-") as tmp:
        tmpdir = Path(tmp)
        config = tmpdir / "config.yaml"
        config.write_text(_config(upstream_base_url + "/v1"), encoding="utf-8")
        log = tmpdir / "litellm.log"
        env = {
            "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(tmpdir),
            "PYTHONPATH": str(venv / PRISMA_DIR_NAME),
            "EMULATOR_KEY": upstream_key,
            "LITELLM_MASTER_KEY": master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "HTTP_PROXY": trap.url,
            "HTTPS_PROXY": trap.url,
            "ALL_PROXY": trap.url,
            "http_proxy": trap.url,
            "https_proxy": trap.url,
            "all_proxy": trap.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    str(venv / "bin" / "litellm"),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmpdir,
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(proc, base_url, log)
            yield Proxy(base_url, master_key, trap, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            trap.close()


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    # LiteLLM takes several seconds to import on a busy machine; its liveness route answers once up.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"litellm exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/health/liveliness", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError("litellm did not become ready within 180 s")
