"""Build the national synthetic world and write its GIAS extract and truth. A benchmark, not a test.

Prints the seconds for each step, the number of pupils, pupils per second and the peak RSS.

Run from the project root: .venv/bin/python bench/bench_synth.py [--seed S] [--year YYYY]
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keystage.synth import render  # noqa: E402
from keystage.synth.world import build_world, national_spec  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Time the national build and the writers, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()

    spec = national_spec(seed=args.seed, year=args.year)
    started = time.perf_counter()
    world = build_world(spec)
    built = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        render.write_gias_extract(world, out / "gias_establishments.csv")
        render.write_pvi_settings(world, out / "pvi_settings.csv")
        render.write_expected_cohorts(world, out / "expected_cohorts.csv")
        written = render.write_truth(world, out)
        finished = time.perf_counter()
        truth_mb = sum(path.stat().st_size for path in written) / 1e6

    pupils = world.pupils.height
    per_year = world.pupils.group_by("ncyear").len()["len"]
    total = finished - started
    print(f"python {platform.python_version()} on {platform.machine()}, seed {args.seed}")
    print(f"LAs {world.las.height}, establishments {world.schools.height}, pupils {pupils:,}")
    print(f"pupils per year group: {per_year.min():,} to {per_year.max():,}")
    print(f"build  {built - started:6.1f} s")
    print(f"write  {finished - built:6.1f} s  (truth files {truth_mb:,.0f} MB)")
    print(f"total  {total:6.1f} s  ({pupils / total:,.0f} pupils per second)")
    print(f"peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
