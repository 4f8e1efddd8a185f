"""`remixcheck validate -j N`: a capture spread over N processes, the summaries merged in order.

The standard library's ProcessPoolExecutor runs the pieces (`traffic.pieces`: JSON lines by
byte ranges, a HAR or stdin whole); each worker builds its Validator once, reads its pieces
itself and sends back one small OfflineReport per piece. The reports are merged in the
order of the pieces, which gives exactly the report of a single process (`OfflineReport.merge`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from remixcheck import procpool
from remixcheck.errors import InputError, RemixcheckError
from remixcheck.traffic import pieces
from remixcheck.traffic.pieces import Piece
from remixcheck.traffic.recordings import Record
from remixcheck.validation.offline import OfflineReport, validate_files
from remixcheck.validation.validator import Validator

# Pieces per worker: enough that a worker with a slow piece does not hold up the end of the
# run, few enough that each piece stays long next to its fixed cost (a few ms).
PIECES_PER_JOB = 4
MIN_PIECE = 256 * 1024  # bytes
CHECK_EVERY = 256  # records between a worker's looks at whether the run was given up


def plan(paths: Sequence[Path], jobs: int) -> list[Piece]:
    """Every file in pieces, in order: JSON lines cut so that each job gets several."""
    sizes = [_size(p) for p in paths]
    size = max(MIN_PIECE, sum(sizes) // max(1, jobs * PIECES_PER_JOB))
    share = max(1, sum(sizes) // max(1, jobs))
    # A HAR larger than a job's share is cut into ranges of entries, as many as the shares
    # it holds (each range counts the entries before it, so no more).
    return [
        piece
        for path, bytes_ in zip(paths, sizes, strict=True)
        for piece in _split(path, size, min(jobs, round(bytes_ / share)))
    ]


def _split(path: Path, size: int, har_pieces: int) -> list[Piece]:
    try:
        return pieces.split(path, size, har_pieces)
    except InputError:
        # Read whole in its turn, it raises the same error then: the first bad file in the
        # order given is the one reported, as with one process.
        return [Piece(path)]


def _size(path: Path) -> int:
    try:
        return 0 if str(path) == "-" else path.stat().st_size
    except OSError:
        return 0  # pieces.split says why it cannot be read


def validate_piece(piece: Piece, vendor: str) -> OfflineReport:
    """One piece's summary; it names its file only if it holds the file's first record."""
    validator = Validator.for_vendor(vendor)  # built once per process
    report = validate_files([piece.path], validator, read=lambda _: _until_cancelled(piece))
    if not piece.opens_file:
        report.files = []
    return report


def _until_cancelled(piece: Piece) -> Iterator[Record]:
    """The piece's records, until the parent gives up on the run (a worker's check)."""
    for n, record in enumerate(pieces.read(piece)):
        if n % CHECK_EVERY == 0:
            procpool.check()
        yield record


def merge(reports: Sequence[OfflineReport]) -> OfflineReport:
    """The summaries of consecutive pieces, in their order, as one."""
    return functools.reduce(OfflineReport.merge, reports)


def validate_parallel(paths: Sequence[Path], vendor: str, jobs: int) -> OfflineReport:
    """The report `offline.validate_files` gives, computed by up to `jobs` processes."""
    work = plan(paths, jobs)
    workers = min(jobs, sum(not _stdin(p) for p in work))
    if workers <= 1:
        return merge([validate_piece(p, vendor) for p in work])
    pool = procpool.executor(workers, Validator.for_vendor, (vendor,))
    try:
        reports = _run(pool, work, vendor)
    except BrokenProcessPool:
        raise RemixcheckError(
            "a validation worker process ended abruptly (killed, or out of memory?); "
            "nothing was reported: run again, or with fewer processes (-j)"
        ) from None
    finally:
        # A bad file or Ctrl-C: the pieces under way are not needed, their workers give
        # them up; after the last piece this only waits for the workers to end.
        pool.stop()
    return merge(reports)


def _stdin(piece: Piece) -> bool:
    return str(piece.path) == "-"


def _run(pool: procpool.Pool, work: list[Piece], vendor: str) -> list[OfflineReport]:
    futures = [None if _stdin(p) else pool.submit(validate_piece, p, vendor) for p in work]
    # Standard input is read here, while the workers run.
    return [
        validate_piece(p, vendor) if f is None else procpool.result(f)
        for p, f in zip(work, futures, strict=True)
    ]
