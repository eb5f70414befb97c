"""Time link_records on a national year: known pupils against one dataset's records.

Pupils are one per LA (design.md), so a national year is matched LA by LA, as the import does
(keystage/pupils/linking.py groups a batch's records by LA). A synthetic population per LA
(keystage.synth.planted) stands in for the census pupils Keystage knows; one record per pupil of
a sample of them, 20% with a planted identity variant, plus new children (twins among them),
stands in for a results file. Reports the time of link_records over every LA, peak memory, and
precision and recall against the truth.

Run from the project root:
    .venv/bin/python bench/bench_matching.py [--pupils N] [--records N] [--las N]
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
    parser.add_argument("--las", type=int, default=150)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    per_la_pupils, per_la_records = args.pupils // args.las, args.records // args.las
    matching = making = 0.0
    correct = linked = known = review = 0
    methods: dict[str, int] = {}
    for index in range(args.las):
        started = time.perf_counter()
        la = f"{201 + index:03d}"
        pupils = population(per_la_pupils, seed=args.seed + index, la=la)
        sample = pupils.sample(n=per_la_records, seed=args.seed + index)
        records, truth = plant_variants(sample, seed=args.seed + index + 1, rate=0.2, la=la)
        identifiers = pupils.select("pupil_id", kind=pl.lit("upn"), value="upn")
        making += time.perf_counter() - started
        started = time.perf_counter()
        result = link_records(records, pupils, identifiers)
        matching += time.perf_counter() - started
        links = result.links.filter(pl.col("method") != "new").join(
            truth.rename({"pupil_id": "true_id"}), on="record_id")
        correct += links.filter(pl.col("pupil_id") == pl.col("true_id")).height
        linked += links.height
        known += truth.filter(pl.col("pupil_id").is_not_null()).height
        review += result.review.height
        for method, count in result.links.group_by("method").len().iter_rows():
            methods[method] = methods.get(method, 0) + count
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(methods.values())
    print(f"{args.las} LAs: populations and records made in {making:.1f} s")
    print(f"link_records: {args.pupils:,} pupils against {total:,} records in {matching:.1f} s "
          f"({total / matching:,.0f} records/s); peak RSS {peak:,.0f} MB")
    print(f"precision {correct / linked:.4%}, recall {correct / known:.4%}, {review:,} for review")
    print(", ".join(f"{m}: {n:,}" for m, n in sorted(methods.items())))


if __name__ == "__main__":
    main()
