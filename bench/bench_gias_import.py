"""Load a national GIAS extract (50,000 rows, every LA) into an empty register, then again.

Measures `keystage import-gias` end to end (read, compare, bulk write, audit rows) on SQLite and,
when a server answers, on PostgreSQL. A benchmark, not a test.

Run from the project root: .venv/bin/python bench/bench_gias_import.py [--rows N] [--pg URL]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_gias_read import write_extract  # noqa: E402

# Benchmarks sign nothing that outlives them: a scratch key when none is set (make bench sets one).
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

KEYSTAGE = [sys.executable, "-m", "keystage.cli"]


def run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run a keystage command; return seconds, peak RSS of the child in MB, and its output."""
    started = time.perf_counter()
    wrapped = [
        sys.executable, "-c",
        "import resource, runpy, sys; sys.argv = sys.argv[1:];"
        "code = 0\n"
        "try:\n    runpy.run_module('keystage.cli', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code or 0\n"
        "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "file=sys.stderr)\nsys.exit(code)",
        "keystage", *args,
    ]
    done = subprocess.run(wrapped, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"keystage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS")
    )
    return seconds, peak / 1024, done.stdout.strip()


def write_changed_extract(extract: Path, out: Path, every: int = 10) -> None:
    """A later extract: every tenth school renamed, every fiftieth closed."""
    with extract.open(encoding="utf-8", newline="") as src, out.open(
        "w", encoding="utf-8", newline=""
    ) as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        for i, row in enumerate(reader):
            if i % every == 0:
                row["EstablishmentName"] += " (renamed)"
            if i % 50 == 0 and row["EstablishmentStatus (name)"] != "Closed":
                row["EstablishmentStatus (name)"] = "Closed"
                row["CloseDate"] = "31-08-2026"
            writer.writerow(row)


def bench_database(label: str, url: str, extract: Path, changed: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    run(["migrate", "--noinput", "-v", "0"], env)
    for title, path in (("first load", extract), ("unchanged re-load", extract),
                        ("later extract", changed)):
        seconds, peak_mb, summary = run(["import-gias", str(path)], env)
        print(f"{label}: {title} {seconds:.1f} s (peak {peak_mb:.0f} MB): "
              f"{summary.splitlines()[0].split(': ', 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL server where a scratch database may be created")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        extract = Path(tmp) / "edubasealldata.csv"
        write_extract(extract, args.rows)
        print(f"extract: {args.rows} rows, {extract.stat().st_size / 1e6:.1f} MB")
        changed = Path(tmp) / "edubasealldata_later.csv"
        write_changed_extract(extract, changed)
        bench_database("SQLite", f"sqlite:///{tmp}/bench.sqlite3", extract, changed)
        try:
            import psycopg

            with psycopg.connect(args.pg, autocommit=True, connect_timeout=3) as conn:
                conn.execute("DROP DATABASE IF EXISTS keystage_bench")
                conn.execute("CREATE DATABASE keystage_bench")
        except Exception as error:  # no server: report and skip, the SQLite figure stands
            print(f"PostgreSQL skipped: {error}")
            return
        base = args.pg.rsplit("/", 1)[0]
        try:
            bench_database("PostgreSQL", f"{base}/keystage_bench", extract, changed)
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS keystage_bench")


if __name__ == "__main__":
    main()
