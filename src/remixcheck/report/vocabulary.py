"""The report's vocabulary: outcome labels and symbols, field kinds, and the clip sizes and budgets
that keep a page bounded whatever the results hold."""

from __future__ import annotations

import re

OUTCOMES = ("pass", "deviation", "violation", "info", "skipped", "precondition", "error")


NOT_RUN = "not-run"  # a merged column whose results file has no row for this check


# Outcomes that are no verdict on the server: left out of the pass rate.
NOT_JUDGED = ("skipped", "info", "precondition", NOT_RUN)


LABELS = {
    "pass": "pass",
    "deviation": "deviation",
    "violation": "violation",
    "info": "dialect fact",
    "skipped": "skipped",
    "precondition": "precondition",
    "error": "error",
    NOT_RUN: "not run",
}


# Shapes as well as colours, so the matrix reads in greyscale and for colour-blind readers.
SYMBOLS = {
    "pass": "✓",
    "deviation": "≈",
    "violation": "✗",
    "info": "i",
    "skipped": "\u2013",
    "precondition": "?",
    "error": "!",
    NOT_RUN: "·",
}


# Field-matrix observations, worst first (the order cells list them in).
FIELD_KINDS = (
    "wrong-type",
    "out-of-enum",
    "invalid",
    "omitted",
    "null",
    "extra",
    "present",
    "absent",
)


FIELD_LABELS = {
    "wrong-type": "wrong type",
    "out-of-enum": "out of enum",
    "invalid": "invalid value",
    "omitted": "omitted",
    "null": "null",
    "extra": "extra field",
    "present": "present",
    "absent": "not sent",
}


# Clip limits. A vendor may echo the 32 KB prompt in every poll; the page must stay well
# under 2 MB for four targets, so bodies and values are cut here with a visible marker.
BODY_CLIP = 3000


HEADER_CLIP = 300


VALUE_CLIP = 400


MESSAGE_CLIP = 1000


EXAMPLE_CLIP = 60


CURL_CLIP = 1500


REQUEST_CLIP = 2000


MAX_HEADERS = 40  # per request or response; a hostile server can send thousands


REASON_CLIP = 2000


NAME_CLIP = 120


MAX_EXTRA_FIELDS = 40  # a hostile server could send thousands of keys


MAX_EXAMPLES = 3


# A real vendor's job may take a hundred polls, each an exchange in lifecycle.polls-valid:
# a cell keeps the first and the last few (results.json keeps them all).
EXCHANGES_HEAD = 5


EXCHANGES_TAIL = 3


MAX_FINDINGS = 60  # distinct findings per cell, after identical ones are grouped


# The page budget. The clips above keep one exchange readable; these keep the whole page
# under 2 MB however many cells fail: every non-passing cell gets an equal share.
EVIDENCE_BUDGET = 700_000  # characters of exchange text in the page


FINDING_ROWS_BUDGET = 500


EXCHANGE_OVERHEAD = 1_200  # headers, summary line and curl of one exchange, roughly


# Defence in depth: results are scrubbed when written, but a results file may come from
# an older tool or be edited by hand, so header values that carry secrets are masked again.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)


USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
