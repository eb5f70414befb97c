"""Rows per second reading the peers' school census CSV extracts, scaled up.

The eight tables in shared/data/peers/census-extracts (about 100,000 rows) are repeated until
there are about --rows rows in all, written to temporary files, and read with
read_census_extract. The open-source peer cleans these extracts at about 900 rows a second.

Run from the project root: .venv/bin/python bench/bench_census_extracts.py [--rows N] [--peers DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.formats.census_extract import read_census_extract  # noqa: E402

PEER_RATE = 900


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--peers", default=str(ROOT.parent / "shared" / "data" / "peers" /
                                               "census-extracts"))
    args = parser.parse_args()
    sources = sorted(Path(args.peers).glob("*.csv"))
    if not sources:
        raise SystemExit(f"no census extracts in {args.peers}")
    base = sum(len(p.read_bytes().splitlines()) - 1 for p in sources)
    times = max(1, args.rows // base)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for source in sources:
            header, *rows = source.read_bytes().splitlines(keepends=True)
            target = Path(tmp) / source.name
            target.write_bytes(header + b"".join(rows) * times)
            files.append(target)
        started = time.perf_counter()
        total = sum(f.height for path in files
                    for f in read_census_extract(path, filename=path.name).frames.values())
        seconds = time.perf_counter() - started
    rate = total / seconds
    print(f"{total:,} rows in {len(files)} tables read in {seconds:.2f} s: {rate:,.0f} rows/s, "
          f"{rate / PEER_RATE:,.0f} times the peer's ~{PEER_RATE} rows/s")


if __name__ == "__main__":
    main()
