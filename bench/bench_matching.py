"""Time link_records on a national year: known pupils against one dataset's records.

A synthetic population (keystage.synth.planted) stands in for the census pupils Keystage knows;
one record per pupil of a sample of them, 20% with a planted identity variant, plus new
children (twins among them), stands in for a results file. Reports the time of link_records,
peak memory, and precision and recall against the truth.

Run from the project root: .venv/bin/python bench/bench_matching.py [--pupils N] [--records N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from keystage.identity.link import link_records  # noqa: E402
from keystage.synth.planted import plant_variants, population  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pupils", type=int, default=3_000_000)
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    pupils = population(args.pupils, seed=args.seed)
    sample = pupils.sample(n=args.records, seed=args.seed)
    records, truth = plant_variants(sample, seed=args.seed + 1, rate=0.2)
    identifiers = pupils.select("pupil_id", kind=pl.lit("upn"), value="upn")
    made = time.perf_counter() - started

    started = time.perf_counter()
    result = link_records(records, pupils, identifiers)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    links = result.links.filter(pl.col("method") != "new").join(
        truth.rename({"pupil_id": "true_id"}), on="record_id")
    correct = links.filter(pl.col("pupil_id") == pl.col("true_id")).height
    known = truth.filter(pl.col("pupil_id").is_not_null()).height
    print(f"population and records made in {made:.1f} s")
    print(f"link_records: {args.pupils:,} pupils against {records.height:,} records in "
          f"{elapsed:.1f} s ({records.height / elapsed:,.0f} records/s); peak RSS {peak:,.0f} MB")
    print(f"precision {correct / links.height:.4%}, recall {correct / known:.4%}, "
          f"{result.review.height:,} for review")
    methods = result.links.group_by("method").len().sort("method")
    print(", ".join(f"{m}: {n:,}" for m, n in methods.iter_rows()))


if __name__ == "__main__":
    main()
