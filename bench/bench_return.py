"""Make the EYFSP return of every LA (about 600,000 pupils nationally), end to end.

A benchmark, not a test. Each LA's return goes through `do_make_return`, as `keystage return`
and the worker call it: a fresh run of the cleaning rules (the gate), the pupils streamed from
the database in chunks with the results pivoted by the database, the file written streaming and
renamed into place, its validation against the layout's XSD, and the history row. The time is
split by wrapping the functions the action calls (keystage itself is unchanged): the gate, the
writing (database read plus file), the validation, and the rest. The issue's target is the
writing: 600,000 pupils in 60 s or less with flat memory. Peak memory is the process's VmHWM.

The rows are bulk-loaded from the synthetic world with no planted errors (so no error blocks
the return), by the loader of bench_cleaning.py.

Run from the project root: .venv/bin/python bench/bench_return.py [--db postgres|sqlite]
[--national-las 330,331] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cleaning as loader  # noqa: E402  (the national loader and scratch databases)

# Benchmarks sign nothing that outlives them: a scratch key when none is set (make bench sets one).
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

TARGET_SECONDS = 60.0


def child_make(url: str, folder: Path) -> dict:
    """Make every LA's EYFSP return, timing the gate, the writing and the validation."""
    loader._django(url, folder)
    from keystage.returns import actions
    from keystage.schools.models import LocalAuthority

    gate = loader._Timer(actions, "check_return")
    write = loader._Timer(actions, "write_return")
    validate = loader._Timer(actions, "validate_return")
    runs = []
    for la in LocalAuthority.objects.order_by("code"):
        if not actions.Submission.objects.filter(la=la, collection="eyfsp").exists():
            continue
        begun = time.perf_counter()
        made = actions.do_make_return(la, "eyfsp", loader.YEAR, acting_user=None,
                                      accept_queries=True)
        runs.append({"la": la.code, "seconds": time.perf_counter() - begun,
                     "gate": gate.take(), "write": write.take(), "validate": validate.take(),
                     "pupils": made.pupils, "schools": made.schools, "bytes": made.size})
    return {"runs": runs, "peak_mb": loader.peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--national-las", default="",
                        help="only these LA codes (comma-separated; for trials)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=["make"])
    parser.add_argument("--url")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_make(args.url, Path(args.folder))))
        return

    loader.ERRORS = 0.0  # a return is made only from data with no errors
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.platform()}, {time.strftime('%Y-%m-%d %H:%M')}")
    label = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[args.db]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        las = [c for c in args.national_las.split(",") if c]
        manifest = loader.prepare_national(folder, las)
        (folder / "manifest.json").write_text(json.dumps(manifest))
        url = loader.database_url(label, folder)
        if url is None:
            raise SystemExit(f"{label} is not available")
        try:
            setup = loader.run_child("setup-national", url, folder)
            command = [sys.executable, __file__, "--child", "make", "--url", url, "--folder",
                       str(folder)]
            import subprocess

            done = subprocess.run(command, capture_output=True, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
            if done.returncode != 0:
                raise SystemExit(f"make failed:\n{done.stdout}\n{done.stderr}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            if label == "PostgreSQL":  # the scratch database is the loader's, one per run
                import psycopg

                with psycopg.connect(loader.PG_SERVER, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {loader.SCRATCH_DB}")
    runs = result["runs"]

    def total(key: str) -> float:
        return sum(r[key] for r in runs)

    pupils = total("pupils")
    write = total("write")
    print(f"{label}: {len(runs)} LA returns, {pupils:,.0f} pupils, "
          f"{total('bytes') / 1e9:.2f} GB of XML (loaded in {setup['seconds']:.0f} s)")
    print(f"  writing (database read + streamed file): {write:.1f} s, {pupils / write:,.0f} "
          f"pupils/s  [target <= {TARGET_SECONDS:.0f} s: "
          f"{'met' if write <= TARGET_SECONDS else 'NOT met'}]")
    print(f"  gate (fresh cleaning run): {total('gate'):.1f} s; validation against the XSD: "
          f"{total('validate'):.1f} s; end to end: {total('seconds'):.1f} s")
    print(f"  peak memory of the making process: {result['peak_mb']:.0f} MB; largest LA "
          f"{max(r['pupils'] for r in runs):,} pupils")
    if args.json:
        Path(args.json).write_text(json.dumps({"manifest": manifest, "setup": setup,
                                               **result}, indent=1))


if __name__ == "__main__":
    main()
