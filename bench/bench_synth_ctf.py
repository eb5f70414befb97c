"""Write the synthetic world's CTF files: the demo LA's five collections, then a national EYFSP set.

A benchmark, not a test. Prints files, pupil records, seconds, MB written and the peak RSS for
each run; files go to a temporary folder that is removed afterwards.

Run from the project root: .venv/bin/python bench/bench_synth_ctf.py [--seed S] [--errors E]
[--skip-national]
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

from keystage.datasets import COLLECTION_CODES  # noqa: E402
from keystage.synth.ctf_writer import (  # noqa: E402
    CtfWriteReport,
    write_ctf_batch_zip,
    write_ctfs,
)
from keystage.synth.world import World, WorldSpec, build_world, national_spec  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_write(
    label: str, world: World, collections: tuple[str, ...], errors: float, seed: int
) -> CtfWriteReport:
    """Write the collections to a temporary folder and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = write_ctfs(world, tmp, collections=collections, errors=errors, seed=seed)
        seconds = time.perf_counter() - started
        mb = report.size / 1e6
        print(
            f"{label}: {len(report.files):,} files, {report.pupils:,} pupil records, "
            f"{report.planted.height:,} planted errors, {seconds:.2f} s, {mb:,.0f} MB "
            f"({mb / seconds:,.0f} MB/s, {report.pupils / seconds:,.0f} records/s), "
            f"peak RSS {peak_rss_mb():,.0f} MB"
        )
        if len(report.files) < 1_000:
            started = time.perf_counter()
            archive = write_ctf_batch_zip(report, Path(tmp) / "batch.zip")
            print(
                f"{label}: batch zip {archive.stat().st_size / 1e6:,.1f} MB "
                f"in {time.perf_counter() - started:.2f} s"
            )
    return report


def main() -> None:
    """Time the LA's five collections and the national EYFSP set, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--errors", type=float, default=0.05)
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, seed {args.seed}")

    started = time.perf_counter()
    la = build_world(WorldSpec(seed=args.seed, la_codes=("999",)))
    print(f"LA 999 world built in {time.perf_counter() - started:.1f} s")
    timed_write("LA 999, five collections", la, COLLECTION_CODES, args.errors, args.seed)
    if args.skip_national:
        return

    started = time.perf_counter()
    nation = build_world(national_spec(seed=args.seed))
    print(
        f"national world built in {time.perf_counter() - started:.1f} s "
        f"({nation.pupils.height:,} pupils), peak RSS {peak_rss_mb():,.0f} MB"
    )
    timed_write("national EYFSP", nation, ("eyfsp",), args.errors, args.seed)


if __name__ == "__main__":
    main()
