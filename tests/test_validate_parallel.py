"""`remixcheck validate -j N`: the pieces' summaries add up to the whole, and the CLI gives the
same report and exit code with N processes as with one."""

from __future__ import annotations

import codecs
import dataclasses
import functools
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from remixcheck.traffic import pieces, recordings
from remixcheck.validation import offline, parallel
from remixcheck.validation.offline import OfflineReport
from remixcheck.validation.validator import Validator
from tests.conftest import error_body, run_cli, video
from tests.test_cli_validate import _har, _record

BAD_SIZES = ["1920x1080", "640x480", "4k", "", "720x720"]


def _line(rng: random.Random, i: int) -> bytes:
    """One line of a capture: mostly exchanges, judged or not, and some unreadable records."""
    kind = rng.randrange(12)
    if kind == 0:
        return b"{not json\n"
    if kind == 1:
        return json.dumps({"request": "x", "n": i}).encode() + b"\n"
    if kind == 2:
        return b"\n"  # blank: skipped, yet it counts for the line numbers
    if kind == 3:
        return b'{"request": {"method": "GET", "url": "https://x/\xff"}}\n'  # not UTF-8
    if kind == 4:
        return json.dumps(_record("/v1/models", 200, {"data": []}, method="GET")).encode() + b"\n"
    if kind == 5:
        # Same finding group, different messages: the group's sample is the earliest record's.
        body = video(size=rng.choice(BAD_SIZES), id=f"video_{i}")
        return json.dumps(_record("/v1/videos/video_1/remix", 200, body)).encode() + b"\n"
    if kind == 6:
        record = _record("/v1/videos/video_1/remix", 400, error_body(), req_body={"prompt": ""})
        return json.dumps(record).encode() + b"\n"
    if kind == 7:
        body = video(status="in_progress", progress=rng.randrange(100), id=f"video_{i}")
        return (
            json.dumps(_record(f"/v1/videos/video_{i}", 200, body, method="GET")).encode() + b"\n"
        )
    body = video(id=f"video_{i}", prompt=" ".join(rng.choices(["a", "cat", "in", "rain"], k=9)))
    return json.dumps(_record("/v1/videos/video_1/remix", 200, body)).encode() + b"\n"


def _capture(path: Path, lines: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    with path.open("wb") as fh:
        for i in range(lines):
            fh.write(_line(rng, i))
    return path


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1.3 MB of JSON lines: cut into several pieces with -j 3."""
    return _capture(tmp_path_factory.mktemp("parallel") / "capture.jsonl", 3500)


def _whole(path: Path) -> OfflineReport:
    return offline.validate_files([path], Validator.for_vendor("openai"))


def test_the_pieces_summaries_add_up_to_the_whole(capture: Path) -> None:
    pieces = parallel.plan([capture], jobs=3)
    assert len(pieces) >= 4
    # Contiguous byte ranges that cover the file, each starting where a line starts.
    assert pieces[0].start == 0
    assert pieces[-1].end == capture.stat().st_size
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))
    data = capture.read_bytes()
    assert all(data[p.start - 1 : p.start] == b"\n" for p in pieces[1:])
    assert [p.first_line for p in pieces] == [data[: p.start].count(b"\n") + 1 for p in pieces]

    reports = [parallel.validate_piece(p, "openai") for p in pieces]
    whole = _whole(capture).to_dict()
    assert parallel.merge(reports).to_dict() == whole
    # Associative: any grouping of consecutive pieces gives the same.
    right = functools.reduce(lambda acc, r: r.merge(acc), reversed(reports))
    assert right.to_dict() == whole
    half = len(reports) // 2
    tree = parallel.merge(reports[:half]).merge(parallel.merge(reports[half:]))
    assert tree.to_dict() == whole
    # An empty report is the identity, and merging leaves its inputs as they were.
    before = [r.to_dict() for r in reports]
    assert OfflineReport("openai").merge(reports[0]).to_dict() == before[0]
    assert reports[0].merge(OfflineReport("openai")).to_dict() == before[0]
    assert [r.to_dict() for r in reports] == before
    # What the comparison is worth: the capture exercises every part of the summary.
    assert whole["bad_records"] > offline.MAX_BAD_RECORDS
    assert whole["not_covered"]
    assert whole["exchanges_by_verdict"]["violation"]
    assert any(f["count"] > offline.MAX_EXAMPLES for f in whole["findings"])
    # Pieces after the first leave the file's name to it: the merged summary names it once.
    assert [r.files for r in reports[1:]] == [[]] * (len(reports) - 1)


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["", "bom"])
@pytest.mark.parametrize("size", [1, 97, 1000, 10**6])
def test_pieces_read_the_records_a_whole_reading_gives(
    tmp_path: Path, size: int, bom: bytes
) -> None:
    """Odd files too: a line longer than a piece, blank lines, CRLF, no final newline, a
    byte order mark."""
    rng = random.Random(size)
    lines = [_line(rng, i) for i in range(60)]
    lines[10] = lines[10].rstrip(b"\n") + b" " * 5000 + b"\n"  # longer than most pieces
    lines[20] = lines[20].replace(b"\n", b"\r\n")
    path = tmp_path / "odd.jsonl"
    path.write_bytes(bom + b"".join(lines).rstrip(b"\n"))
    cut = pieces.split(path, size)
    assert cut[0].start == 0
    assert cut[-1].end == path.stat().st_size or cut == [pieces.Piece(path)]
    assert [a.end for a in cut[:-1]] == [b.start for b in cut[1:]]
    whole = list(recordings.read(path))
    assert [r for p in cut for r in pieces.read(p)] == whole  # same records, same sources
    assert len(whole) > 40


def test_merge_knows_every_field_of_the_report() -> None:
    """A field added to OfflineReport must be merged too, or -j would drop it silently."""
    assert [f.name for f in dataclasses.fields(OfflineReport)] == [
        "vendor",
        "files",
        "records",
        "validated",
        "not_covered",
        "verdicts",
        "operations",
        "groups",
        "bad_records",
        "bad_record_count",
    ]


def test_merging_other_vendors_summaries_is_refused() -> None:
    with pytest.raises(ValueError, match="openai's summary with bifrost's"):
        OfflineReport("openai").merge(OfflineReport("bifrost"))


def _both(*args: str, stdin: str | None = None) -> tuple[Any, Any]:
    one = run_cli("validate", *args, "-j", "1", stdin=stdin)
    three = run_cli("validate", *args, "-j", "3", stdin=stdin)
    return one, three


def test_cli_gives_the_same_report_and_exit_code_with_3_processes(
    capture: Path, tmp_path: Path
) -> None:
    good = [_record("/v1/videos/video_1/remix", 200, video(id=f"video_{i}")) for i in range(40)]
    bad = [_record("/v1/videos/video_1/remix", 200, video(size="4k"))] * 5
    har_a = tmp_path / "a.har"
    har_a.write_text(json.dumps(_har(good + bad), indent=1), encoding="utf-8")
    har_b = tmp_path / "b.har"  # cut short: a bad record at its end
    text = json.dumps(_har(bad + good), indent=1)
    har_b.write_text(text[: len(text) * 3 // 4], encoding="utf-8")
    stdin = "".join(json.dumps(r) + "\n" for r in bad + good)
    files = [str(capture), str(har_a), "-", str(har_b), str(capture)]
    outputs = {}
    for fmt in ("json", "text"):
        one, three = _both(*files, "--vendor", "openai", "--format", fmt, stdin=stdin)
        assert (one.returncode, three.returncode) == (2, 2), three.stderr
        assert three.stdout == one.stdout
        assert three.stderr == one.stderr
        outputs[fmt] = three.stdout
    report = json.loads(outputs["json"])
    assert report["files"] == files
    assert report["records"] > 2 * 3000

    # Findings but every record readable: exit 1; nothing wrong: exit 0.
    findings = tmp_path / "findings.jsonl"
    findings.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in (good + bad) * 200))
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in good * 250))
    for path, code in ((findings, 1), (clean, 0)):
        one, three = _both(str(path), "--vendor", "openai", "--format", "json")
        assert (one.returncode, three.returncode) == (code, code), three.stderr
        assert three.stdout == one.stdout
        assert len(parallel.plan([path], 3)) > 1  # it was cut


def test_j_0_and_auto_give_the_same_report(capture: Path) -> None:
    expected = run_cli("validate", str(capture), "--vendor", "openai", "--format", "json")
    for value in ("0", "auto"):
        out = run_cli(
            "validate", str(capture), "--vendor", "openai", "--format", "json", "-j", value
        )
        assert (out.returncode, out.stdout) == (expected.returncode, expected.stdout)


def test_bad_input_is_one_line_whatever_the_number_of_processes(
    capture: Path, tmp_path: Path
) -> None:
    for value in ("-1", "abc", "1.5", "100000", ""):
        out = run_cli("validate", str(capture), "--vendor", "openai", "-j", value)
        assert out.returncode == 2, value
        assert out.stderr.startswith("remixcheck: error:"), out.stderr
        assert "-j" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert len(out.stderr.splitlines()) == 1
    not_har = tmp_path / "other.json"
    not_har.write_text(json.dumps({"hello": [1, 2, 3]}), encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    for broken in (tmp_path / "nope.jsonl", not_har, empty):
        one, three = _both(str(capture), str(broken), str(capture), "--vendor", "openai")
        assert (one.returncode, three.returncode) == (2, 2)
        assert three.stderr == one.stderr
        assert one.stderr.startswith(f"remixcheck: error: {broken}")
        assert "Traceback" not in three.stderr
    # Two bad files: the first one given is the one reported, whichever is found first.
    one, three = _both(str(not_har), str(tmp_path / "nope.jsonl"), "--vendor", "openai")
    assert three.stderr == one.stderr
    assert one.stderr.startswith(f"remixcheck: error: {not_har}")


@pytest.mark.parametrize("after_cpu_seconds", [0.0, 0.3], ids=["at-start", "mid-run"])
def test_a_killed_worker_ends_the_run_with_an_error(
    tmp_path: Path, after_cpu_seconds: float
) -> None:
    """A worker that dies (OOM killer, kill -9) must not hang the run, nor lose it silently."""
    lines = _capture(tmp_path / "seed.jsonl", 200).read_bytes()
    big = tmp_path / "big.jsonl"
    big.write_bytes(lines * 400)  # 80,000 records: seconds of work for two processes
    proc = subprocess.Popen(
        [sys.executable, "-m", "remixcheck", "validate", str(big), "--vendor", "openai", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        victim = _a_worker_of(proc.pid, after_cpu_seconds)
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 2, err
    assert "worker process ended abruptly" in err, err
    assert "Traceback" not in err, err
    assert out == ""


def test_ctrl_c_stops_the_workers_too(tmp_path: Path) -> None:
    lines = _capture(tmp_path / "seed.jsonl", 200).read_bytes()
    big = tmp_path / "big.jsonl"
    big.write_bytes(lines * 400)
    proc = subprocess.Popen(
        [sys.executable, "-m", "remixcheck", "validate", str(big), "--vendor", "openai", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = psutil.Process(_a_worker_of(proc.pid, 0.2))
        proc.send_signal(signal.SIGINT)  # what a terminal sends the parent
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, out, err) == (130, "", "remixcheck: interrupted\n")
    # No worker outlives the run (nor goes on working for nothing).
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE


def _a_worker_of(pid: int, after_cpu_seconds: float) -> int:
    """A worker of the run, once it has worked that long."""
    parent = psutil.Process(pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # Forked workers run the parent's command line; anything else is not one of ours.
        for child in parent.children():
            if child.cmdline() == parent.cmdline():
                cpu = child.cpu_times()
                if cpu.user + cpu.system >= after_cpu_seconds:
                    return int(child.pid)
        time.sleep(0.01)
    raise AssertionError("no worker process started, or none worked long enough")


def _big_har(path: Path, entries: int, *, cut: float | None = None, seed: int = 3) -> Path:
    """A HAR of judged, odd and unreadable entries; `cut`: the text ends that far in."""
    rng = random.Random(seed)
    records: list[Any] = []
    for i in range(entries):
        kind = rng.randrange(6)
        if kind == 0:
            records.append(
                _record("/v1/videos/video_1/remix", 200, video(size=rng.choice(BAD_SIZES)))
            )
        elif kind == 1:
            records.append(_record("/v1/models", 200, {"data": []}, method="GET"))
        else:
            records.append(_record("/v1/videos/video_1/remix", 200, video(id=f"video_{i}")))
    har = _har(records)
    # Entries msgspec refuses (NaN, a lone surrogate), which the C scanner reads: a range
    # counting the entries before it must find their ends too.
    for i in range(5, entries, 89):
        har["log"]["entries"][i]["response"]["content"]["size"] = float("nan")
    for i in range(7, entries, 113):
        har["log"]["entries"][i]["request"]["url"] += "?q=\ud800"
    # A nested list whose second item starts with the entries' first key: "}, {<key>:"
    # inside an entry, which only decoding the text up to it tells from an entry's end.
    for i in range(9, entries, 71):
        har["log"]["entries"][i]["_pages"] = [{"id": 1}, {"startedDateTime": "x"}]
    # An integer past Python's 4,300 digits: JSON all the same, which msgspec counts and
    # Python's scanner could not read (it ended the file with a traceback).
    for i in range(11, entries, 131):
        har["log"]["entries"][i]["time"] = "__BIG__"
    for i in range(3, entries, 97):
        har["log"]["entries"][i] = {"request": 5}  # unreadable entries across the ranges
    text = json.dumps(har, indent=1).replace('"__BIG__"', "1" * 5000)
    path.write_text(text if cut is None else text[: int(len(text) * cut)], encoding="utf-8")
    return path


@pytest.mark.parametrize("cut", [None, 0.3, 0.8])
def test_one_har_is_cut_into_ranges_of_entries_with_the_same_report(
    tmp_path: Path, cut: float | None
) -> None:
    """A single HAR goes to several processes as ranges of entries: the report, the sources of
    the examples and the malformed end are those of -j 1."""
    path = _big_har(tmp_path / "one.har", 1500, cut=cut)
    ranges = parallel.plan([path], 3)
    assert len(ranges) == 3
    assert (ranges[0].first_entry, ranges[-1].last_entry) == (1, None)
    # A later range also counts the entries before it, so it holds fewer of its own.
    first, second = (r.last_entry - r.first_entry + 1 for r in ranges[:2])
    assert first > second * 1.1
    one, three = _both(str(path), "--vendor", "openai", "--format", "json")
    assert one.returncode == three.returncode == 2, three.stderr
    assert three.stdout == one.stdout
    assert three.stderr == one.stderr
    report = json.loads(three.stdout)
    assert report["bad_records"] >= 1
    # Every entry read once: the ranges neither drop nor repeat any.
    merged = parallel.merge([parallel.validate_piece(p, "openai") for p in ranges])
    assert merged.to_dict() == _whole(path).to_dict()


def test_ranges_past_the_last_entry_read_nothing_and_lose_nothing(tmp_path: Path) -> None:
    """Small entries first and large ones after: the estimate from the head overshoots, so
    the later ranges start past the end (and the malformed end falls in the first range)."""
    small = [_record("/v1/videos/video_1/remix", 200, video(id=f"video_{i}")) for i in range(400)]
    large = [_record("/v1/videos/video_1/remix", 200, video(prompt="x" * 40_000))] * 80
    text = json.dumps(_har(small + large), indent=1)
    path = tmp_path / "uneven.har"
    path.write_text(text[: int(len(text) * 0.95)], encoding="utf-8")
    ranges = parallel.plan([path], 3)
    assert len(ranges) == 3
    assert ranges[1].first_entry > 480  # past every entry the file holds
    one, three = _both(str(path), "--vendor", "openai", "--format", "json")
    assert one.returncode == three.returncode == 2, three.stderr
    assert three.stdout == one.stdout
    assert json.loads(three.stdout)["bad_records"] == 1
