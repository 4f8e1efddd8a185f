"""A recording cut into pieces that separate processes read on their own.

JSON lines are cut by byte ranges that start where a line starts: each reader opens the file,
seeks, and reads its own lines, so nothing is sent per record. A piece knows the number of
its first line, so its records carry the sources a reading of the whole file gives them.
A HAR is one JSON document, which only a parse from its first byte can cut into entries: a
large one is cut into ranges of entries, each read from the file's start (the entries
before a range are only counted, their ends checked without building them, which costs
about a fifth of validating them). Standard input stays one piece.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from remixcheck.errors import InputError
from remixcheck.traffic import harscan, recordings

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes [start, end) of a file, or the whole file or stdin (end None)."""

    path: Path
    start: int = 0
    end: int | None = None
    first_line: int = 1
    # A HAR's entries first_entry..last_entry (None: to the end); a HAR piece reads the file
    # from its start, counting the entries before its own without building them.
    first_entry: int = 1
    last_entry: int | None = None
    har: bool = False

    @property
    def opens_file(self) -> bool:
        """Whether the piece holds the file's first record (its summary names the file)."""
        return self.start == 0 and self.first_entry == 1


def read(piece: Piece) -> Iterator[recordings.Record]:
    """The piece's records, exactly as `recordings.read` gives them for those bytes."""
    if piece.har:
        yield from recordings.read_har_entries(piece.path, piece.first_entry, piece.last_entry)
        return
    if piece.end is None:
        yield from recordings.read(piece.path)
        return
    try:
        with piece.path.open("rb") as fh:
            fh.seek(piece.start)
            lines = _lines_until(fh, piece.end - piece.start)
            yield from recordings._read_jsonl(lines, piece.path, piece.first_line)
    except OSError as exc:
        raise InputError(f"{piece.path}: cannot read: {exc.strerror or exc}") from None


def split(path: Path, size: int, har_pieces: int = 1) -> list[Piece]:
    """JSON lines in pieces of about `size` bytes (whole lines); a HAR in up to `har_pieces`
    ranges of entries, about equal by an estimate of its entry count; anything else in one
    piece.

    Raises InputError for a file `recordings.read` could not read either."""
    if size < 1:
        raise ValueError(f"a piece must hold at least one byte, not {size}")
    if str(path) == "-":
        return [Piece(path)]
    try:
        with path.open("rb") as fh:
            head = fh.read(recordings._PEEK)
            if not head.removeprefix(codecs.BOM_UTF8).strip():
                raise InputError(f"{path}: empty input: expected HAR 1.2 or JSON lines")
            total = fh.seek(0, 2)
            # A byte order mark is for `recordings.read` to drop: such a file stays whole.
            if total <= size or head.startswith(codecs.BOM_UTF8):
                return [Piece(path)]
            if not recordings._looks_like_jsonl(head):
                return _har_ranges(path, head, total, har_pieces)
            return _cut(fh, total, size, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _cut(fh: BinaryIO, total: int, size: int, path: Path) -> list[Piece]:
    starts = [0]
    for guess in range(size, total, size):
        if guess <= starts[-1]:
            continue  # a line longer than a piece
        fh.seek(guess - 1)
        fh.readline()  # to the end of the line that holds byte guess - 1
        if fh.tell() >= total:
            break
        starts.append(fh.tell())
    lines = _line_numbers(fh, starts)
    ends = [*starts[1:], total]
    return [Piece(path, s, e, n) for s, e, n in zip(starts, ends, lines, strict=True)]


def _line_numbers(fh: BinaryIO, offsets: list[int]) -> list[int]:
    """The number of the line that starts at each offset (offsets ascending)."""
    numbers, newlines, pos = [], 0, 0
    fh.seek(0)
    for offset in offsets:
        while pos < offset:
            chunk = fh.read(min(_CHUNK, offset - pos))
            if not chunk:
                break
            newlines += chunk.count(b"\n")
            pos += len(chunk)
        numbers.append(newlines + 1)
    return numbers


def _lines_until(fh: BinaryIO, size: int) -> Iterator[bytes]:
    for line in fh:
        yield line
        size -= len(line)
        if size <= 0:
            return


# Counting an entry (finding its end) costs about this share of reading and validating it:
# skipping all 40,000 entries of bench_bulk's HAR took 0.18 of validating them.
SKIP_COST = 0.18


def _har_ranges(path: Path, head: bytes, total: int, count: int) -> list[Piece]:
    """A HAR in `count` ranges of entries. Every range but the first counts the entries
    before it, so more ranges than processes would only add that, and earlier ranges are
    longer: each range costs the same, its own entries plus counting those before. The
    last range runs to the end, so an estimate that is off costs balance, never entries."""
    estimate = _entries_estimate(head, total)
    if count < 2 or estimate < 2 * count:
        return [Piece(path)]
    # In units of one range's cost: range k starts at start_k and holds 1 - SKIP_COST *
    # start_k entries, so the next one starts at start_k * (1 - SKIP_COST) + 1.
    starts = [0.0]
    for _ in range(count - 1):
        starts.append(starts[-1] * (1 - SKIP_COST) + 1)
    scale = estimate / (starts[-1] * (1 - SKIP_COST) + 1)
    bounds = [1]
    for start in starts[1:]:
        bounds.append(max(bounds[-1] + 1, 1 + round(start * scale)))
    lasts: list[int | None] = [b - 1 for b in bounds[1:]]
    return [
        Piece(path, first_entry=b, last_entry=e, har=True)
        for b, e in zip(bounds, [*lasts, None], strict=True)
    ]


def _entries_estimate(head: bytes, total: int) -> int:
    """Entries in the file, from the size of those the head holds whole."""
    scan = harscan.Entries(io.BytesIO(head))
    seen = 0
    try:
        for seen, _ in enumerate(scan, start=1):  # noqa: B007 - the count is the point
            pass
    except harscan.Malformed:
        pass  # the head ends inside an entry
    if seen < 2:
        return 0  # entries too large to measure: the file stays whole
    return int(total * (seen + 0.5) / len(head))  # the head ends inside one more entry
