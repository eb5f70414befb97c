"""Time read_gias_extract on a synthetic national-sized GIAS extract (50,000 rows, 140 columns).

Run from the project root: .venv/bin/python bench/bench_gias_read.py [--rows N] [--repeat N]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keystage.formats.gias import GIAS_COLUMNS, read_gias_extract  # noqa: E402
from keystage.formats.la_codes import current_english_la_codes  # noqa: E402

USED_COLUMNS = list(GIAS_COLUMNS)
TOTAL_COLUMNS = 140

# Values like the ones that fill the real extract's other ~126 columns: codes, labels, blanks.
FILLERS = [
    "",
    "",
    "0",
    "0",
    "1",
    "2",
    "99",
    "Yes",
    "No",
    "Good",
    "Mixed",
    "Not applicable",
    "Does not apply",
    "Not under a federation",
    "E09000001",
    "15-03-2019",
    "Church of England",
    "Some, with a comma",
]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_extract(path: Path, rows: int, seed: int = 1) -> None:
    """Write a synthetic extract row by row, so that generating it uses little memory."""
    rng = random.Random(seed)
    extra = [f"ExtraField{n:03d} (name)" for n in range(TOTAL_COLUMNS - len(USED_COLUMNS))]
    header = USED_COLUMNS[:5] + extra[:60] + USED_COLUMNS[5:] + extra[60:]
    las = current_english_la_codes()
    statuses = ["Open", "Open", "Open", "Closed", "Open, but proposed to close", "Proposed to open"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(rows):
            la = rng.choice(las)
            status = rng.choice(statuses)
            opened = date(1950, 1, 1) + timedelta(days=rng.randrange(27_000))
            used = [
                f"{100000 + n:06d}",
                la,
                f"Authority {la}",
                "" if n % 10 == 0 else f"{rng.randrange(1000, 8000):04d}",
                f"St Example's School, number {n}",
                "Community school",
                "Local authority maintained schools",
                status,
                "Primary",
                "4",
                "11",
                opened.strftime("%d-%m-%Y"),
                "31-08-2020" if status == "Closed" else "",
                f"AB{rng.randrange(1, 99)} {rng.randrange(1, 9)}CD",
            ]
            fill = [rng.choice(FILLERS) for _ in extra]
            writer.writerow(used[:5] + fill[:60] + used[5:] + fill[60:])


def main() -> None:
    """Generate the extract, read it a few times, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "edubasealldata.csv"
        start = time.perf_counter()
        write_extract(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows x {TOTAL_COLUMNS} columns, {size_mb:.1f} MB "
            f"in {time.perf_counter() - start:.1f} s"
        )
        rss_before = peak_rss_mb()
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            extract = read_gias_extract(path, filename=path.name)
            timings.append(time.perf_counter() - start)
            assert len(extract.records) == args.rows
        best = min(timings)
        print(
            f"read all:     best {best:.2f} s, mean {sum(timings) / len(timings):.2f} s "
            f"over {len(timings)} runs; {args.rows / best:,.0f} rows/s; {size_mb / best:.0f} MB/s"
        )
        la = extract.la_codes[0]
        start = time.perf_counter()
        one_la = read_gias_extract(path, filename=path.name, la_code=la)
        seconds = time.perf_counter() - start
        print(f"read one LA:  {seconds:.2f} s ({len(one_la.records):,} rows of LA {la} kept)")
        print(f"peak RSS:     {rss_before:.0f} MB before reading, {peak_rss_mb():.0f} MB after")


if __name__ == "__main__":
    main()
