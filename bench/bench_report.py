"""Issue 12's report targets, the computing part: every primary measure for one LA (5,000
pupils a year group, every group and school) in under 1 s, and the national picture (150 LAs,
600,000 pupils a year group, every dataset of one year, every group) in under 60 s.

Builds the pupil frames the database reads give (keystage/analysis/frames.py) with random
outcomes, then times the pure measures and cells (keystage.measures.primary) that `keystage
report` and the reports page run. The database read is not included: see RESULTS.md. Floor:
one polars group-by of the same frame.

Run from the project root:
    .venv/bin/python bench/bench_report.py [--pupils 5000] [--las 150]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.measures import primary  # noqa: E402

TA = np.array(["GDS", "EXS", "EXS", "EXS", "WTS", "PK4", "A"])


def frames(pupils: int, las: int, seed: int = 1,
           only: str | None = None) -> dict[str, pl.DataFrame]:
    """One frame per dataset, as collection_frame/ks2_frame give them, and characteristics
    (with `only`, that dataset's frame alone beside them, as the report reads one at a time)."""
    rng = np.random.default_rng(seed)
    n = pupils * las
    base = {"record_id": np.arange(n), "pupil_id": np.arange(n),
            "la": np.char.add("", (800 + np.arange(n) // pupils).astype(str)),
            "laestab": np.char.add((800 + np.arange(n) // pupils).astype(str),
                                   (2000 + (np.arange(n) % pupils) // 200).astype(str))}
    out = {}
    makers = {
        "eyfsp": lambda: {"ncyear": np.full(n, "R"), **{
            f"E{i:02d}": rng.choice(np.array(["1", "2", "2", "2", "A"]), n)
            for i in range(1, 18)}},
        "phonics": lambda: {"ncyear": np.full(n, "1"),
                            "PSC": rng.integers(10, 41, n).astype(str)},
        "ks1": lambda: {"ncyear": np.full(n, "2"),
                        **{c: rng.choice(TA, n) for c in ("RE", "WR", "MAT", "SCI")}},
        "ks2ta": lambda: {"ncyear": np.full(n, "6"),
                          **{c: rng.choice(TA, n) for c in ("WR", "SCI")}},
        "ks2": lambda: {"ncyear": np.full(n, "6"),
                        "READSCORE": rng.integers(80, 121, n).astype(str),
                        "READOUTCOME": np.full(n, ""),
                        "MATSCORE": rng.integers(80, 121, n).astype(str),
                        "MATOUTCOME": np.full(n, ""),
                        "GPSSCORE": rng.integers(80, 121, n).astype(str),
                        "GPSOUTCOME": np.full(n, ""), "WRITTAOUTCOME": rng.choice(TA, n)},
        "mtc": lambda: {"ncyear": np.full(n, "4"), "MTC": rng.integers(0, 26, n).astype(str)},
    }
    for dataset, make in makers.items():
        if only is None or dataset == only:
            out[dataset] = pl.DataFrame({**base, **make()})
    yn = np.array(["Y", "N", "N", ""])
    out["characteristics"] = pl.DataFrame({
        "pupil_id": np.arange(n), "sex": rng.choice(np.array(["M", "F"]), n),
        **{g: rng.choice(yn, n) for g in ("disadvantaged", "fsm", "fsm6", "pp", "eal", "cla",
                                           "cin", "summer_born")},
        "sen": rng.choice(np.array(["N", "K", "E"]), n),
        "ethnicity_major": rng.choice(np.array(["WHIT", "ASIA", "BLAC", "MIXD", "UNCL"]), n)})
    return out


DATASETS = ("eyfsp", "phonics", "ks1", "ks2ta", "ks2", "mtc")


def run(data: dict, la: str, by: str | None, national: bool) -> int:
    rows = 0
    for dataset in (d for d in DATASETS if d in data):
        frame = data[dataset]
        everyone = (primary.phonics(frame) if dataset == "phonics"
                    else primary.PUPIL_MEASURES[dataset](frame))
        ours = everyone.filter(pl.col("la") == la)
        rows += len(primary.cells(ours, data["characteristics"], dataset=dataset, year=2026,
                                  la=la, by=by, national=everyone, show_national=national))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=5000)
    parser.add_argument("--las", type=int, default=150)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    one = frames(args.pupils, 1)
    started = time.perf_counter()
    rows = run(one, "800", "group", False) + run(one, "800", "school", False)
    took = time.perf_counter() - started
    started = time.perf_counter()
    one["eyfsp"].group_by("laestab").agg(pl.len())
    floor = time.perf_counter() - started
    print(f"one LA: {args.pupils:,} pupils a year group, six datasets, by group and by school: "
          f"{rows:,} rows in {took:.2f} s (target under 1 s); floor {floor:.4f} s")
    # The national picture as the reports compute it: one dataset's frame at a time (each is
    # one database read), beside every pupil's characteristics.
    took, rows = 0.0, 0
    for dataset in DATASETS:
        national = frames(4000, args.las, only=dataset)
        started = time.perf_counter()
        rows += run(national, "800", "group", True)
        took += time.perf_counter() - started
        del national
        gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"national: {args.las} LAs, {4000 * args.las:,} pupils a year group, six datasets "
          f"read one at a time, every group with national rows: {rows:,} rows in {took:.1f} s "
          f"(target under 60 s); peak memory {peak:,.0f} MB (the generated frames included)")


if __name__ == "__main__":
    main()
