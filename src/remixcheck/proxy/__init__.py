"""The validating proxy: clients talk to a vendor through it, and it judges every exchange.

It forwards each request unchanged and returns the upstream's answer unchanged (it never
swaps in an answer of its own, unless the upstream gave none: then 502 or 504), judges
each exchange of the remix API with the validation core after the answer has left, and
follows each job across exchanges (jobs.py). `forward` moves bytes, `session` judges and
adds up, `record` writes JSON lines, `server` runs it in the foreground or in a thread.
"""

from __future__ import annotations

from remixcheck.proxy.server import (
    Proxy,
    ProxyConfig,
    RunningProxy,
    check_upstream,
    running_proxy,
    serve,
)
from remixcheck.proxy.session import Line, Session

__all__ = [
    "Line",
    "Proxy",
    "ProxyConfig",
    "RunningProxy",
    "Session",
    "check_upstream",
    "running_proxy",
    "serve",
]
