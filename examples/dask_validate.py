"""Validate a large JSON-lines capture on a Dask cluster; print what
`remixcheck validate --format json` prints for the same files.

    pip install 'remixcheck' 'dask[bag,distributed]'
    python examples/dask_validate.py traffic.jsonl --vendor openai             # a LocalCluster
    python examples/dask_validate.py traffic.jsonl --vendor openai --scheduler tcp://host:8786

How it goes, with nothing but remixcheck's library and Dask's own scheduling:

1. `remixcheck.traffic.pieces.split` cuts each file into byte ranges of about --blocksize,
   each starting where a line starts (what `remixcheck validate -j N` does; a HAR stays
   whole). Every worker must see the files at the same path: a shared disk.
2. `dask.bag.from_sequence` makes one partition per piece; each partition is validated with
   `remixcheck.validation.parallel.validate_piece`, which opens the file, reads its own lines
   and returns an `OfflineReport` (the Validator is built once per worker process).
3. `Bag.fold(OfflineReport.merge)` merges the reports. The merge is associative and Dask's
   reduction keeps the partitions in order, so the result is exactly the summary of a single
   process: counts add up, examples are those of the earliest records.

Why not `dask.bag.read_text(path, blocksize=...)`: it cuts at line boundaries just as well,
but its partitions are decoded text without their line numbers, and a capture's sources
("traffic.jsonl:1234") and its undecodable lines (reported as unreadable records) need both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import dask.bag
from dask.utils import parse_bytes
from distributed import Client, LocalCluster

from remixcheck.errors import RemixcheckError
from remixcheck.traffic import pieces, redact
from remixcheck.validation.offline import OfflineReport
from remixcheck.validation.parallel import validate_piece
from remixcheck.validation.validator import Validator


def plan(paths: list[Path], blocksize: int) -> list[pieces.Piece]:
    """Every file in pieces of about `blocksize` bytes, in order (InputError if unreadable)."""
    return [piece for path in paths for piece in pieces.split(path, blocksize)]


def summarize(work: list[pieces.Piece], vendor: str) -> OfflineReport:
    """The pieces' summary, computed on the current Dask client's cluster."""
    bag = dask.bag.from_sequence(work, npartitions=len(work))
    report: OfflineReport = bag.map(validate_piece, vendor).fold(OfflineReport.merge).compute()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="JSON-lines (or HAR) captures")
    parser.add_argument("--vendor", required=True, help="vendor profile name, or a .yaml path")
    parser.add_argument("--blocksize", default="64MiB", help="bytes per partition (64MiB)")
    parser.add_argument(
        "--scheduler", help="address of a running scheduler (default: a LocalCluster)"
    )
    args = parser.parse_args(argv)
    try:
        validator = Validator.for_vendor(args.vendor)
        work = plan(args.files, parse_bytes(args.blocksize))
    except (RemixcheckError, ValueError) as exc:  # before any cluster starts
        print(f"dask_validate: error: {exc}", file=sys.stderr)
        return 2
    # A capture usually holds the key of the vendor's own variable: never print it back.
    redact.register(os.environ.get(validator.profile.key_env))
    if args.scheduler:
        with Client(args.scheduler):
            report = summarize(work, args.vendor)
    else:
        with LocalCluster(host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
            report = summarize(work, args.vendor)
    print(json.dumps(redact.redact(report.to_dict()), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
