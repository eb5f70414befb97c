"""Import a season's CTFs end to end and compare with a floor measured in the same run.

A benchmark, not a test. Scopes:
- `la`: one LA's EYFSP batch (and its five collections), through `keystage import` as users run it;
- `national`: every LA's EYFSP files (about 600,000 pupils, 10 million result rows), imported LA
  by LA through the same action the command line calls, in --workers processes that take the
  LAs from one queue (whichever is free takes the next, as workers take jobs).
The floor reads the same files with today's streaming reader (CtfReader) alone and bulk-loads
their rows into a scratch table with COPY (PostgreSQL) or executemany (SQLite) alone, in as many
processes as the import, each on the LAs its import process took; it is reported as the slowest
process's parse plus load.
Peak memory is the child process's peak RSS.

Run from the project root: .venv/bin/python bench/bench_collection.py [--scope la|national|both]
[--db sqlite|postgres|both] [--workers N] [--las CODE,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Benchmarks sign nothing that outlives them: a scratch key when none is set (make bench sets one).
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from keystage.datasets import COLLECTION_CODES  # noqa: E402

# The server's maintenance database, used only to create and drop the scratch one.
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432/postgres")
SCRATCH_DB = f"keystage_bench_{os.getpid()}"  # one per run, so runs never share a database


def peak_mb() -> float:
    """This process's own peak RSS in MB.

    VmHWM, not getrusage: Linux carries ru_maxrss across fork and exec, so a child started by a
    parent holding the national world would report the parent's size.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(scope: str, folder: Path, la_code: str) -> dict:
    """Write the world's register files and CTFs, and a manifest of files per LA."""
    import polars as pl

    from keystage.synth import render
    from keystage.synth.ctf_writer import write_ctfs
    from keystage.synth.world import WorldSpec, build_world, national_spec

    if scope == "la":
        world = build_world(WorldSpec(seed=1, la_codes=(la_code,)))
        collections = COLLECTION_CODES
    else:
        world = build_world(national_spec(seed=1))
        collections = ("eyfsp",)
    render.write_gias_extract(world, folder / "gias.csv")
    render.write_pvi_settings(world, folder / "pvi.csv")
    report = write_ctfs(world, folder, collections=collections, errors=0.0, seed=1)
    by_la: dict[str, dict[str, list[str]]] = {}
    for written in report.files:
        entry = by_la.setdefault(written.la_code, {})
        for collection in written.collections:
            entry.setdefault(collection, []).append(str(written.path))
    reception = world.pupils.filter(pl.col("ncyear") == "R")
    return {"by_la": by_la, "eyfsp_pupils": reception.height,
            "schools": world.schools.height, "files": len(report.files)}


def child_setup(url: str, folder: Path) -> None:
    """A fresh database with the register loaded (not timed)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()
    from django.core.management import call_command

    from keystage.schools.actions import do_import_establishments

    call_command("migrate", verbosity=0)
    for name in ("gias.csv", "pvi.csv"):
        do_import_establishments((folder / name).read_bytes(), filename=name, acting_user=None)


def child_import(url: str, folder: Path, collections: list[str], las: list[str],
                 queue: str = "") -> dict:
    """Import the given LAs' files through the collection action; time it. With `queue`, the
    LAs are taken one at a time from a queue shared with the other children, as workers take
    jobs; the report names the LAs this child took."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()
    from keystage.collection.actions import do_import_files
    from keystage.schools.models import LocalAuthority

    manifest = json.loads((folder / "manifest.json").read_text())
    # BENCH_PROFILE=FILE: where the import's time goes, as cProfile stats saved to FILE.
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    refused = pupils = results = 0
    took = []
    for la_code in (_taken_from(queue, las) if queue else las):
        took.append(la_code)
        files = manifest["by_la"][la_code]
        la = LocalAuthority.objects.get(code=la_code)
        paths = sorted({p for c in collections for p in files.get(c, [])})
        items = ((Path(p).name, Path(p).read_bytes()) for p in paths)
        for outcome in do_import_files(items, la=la, year=2026, acting_user=None):
            if outcome.status not in ("committed", "unchanged"):
                refused += 1
            for change in outcome.changes:
                pupils += change.pupils
                results += change.results
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{os.environ['BENCH_PROFILE']}.{os.getpid()}")
    return {"seconds": seconds, "pupils": pupils, "results": results, "refused": refused,
            "peak_mb": peak_mb(), "las": took}


def _taken_from(queue: str, las: list[str]):
    """The LAs of a queue file (the count already taken), one at a time, each taken by one of
    the processes that share the file: whichever is free takes the next, as workers do."""
    import fcntl

    while True:
        with open(queue, "r+") as shared:
            fcntl.flock(shared, fcntl.LOCK_EX)
            taken = int(shared.read() or 0)
            if taken >= len(las):
                return
            shared.seek(0)
            shared.write(str(taken + 1))
            shared.truncate()
        yield las[taken]


def child_report(url: str, folder: Path, collections: list[str]) -> dict:
    """The emerging national picture of the loaded collection after the import, read from the
    database as `keystage report --by group --national` and the pages read it: one LA's rows
    with every group and the national rows over every LA (issue 12's national recompute)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()
    from keystage.analysis.queries import report_rows
    from keystage.schools.models import LocalAuthority

    la = LocalAuthority.objects.order_by("code").first()
    started = time.perf_counter()
    rows = sum(len(report_rows(la, dataset, 2026, by="group", national=True)[0])
               for dataset in collections)
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mb": peak_mb()}


def child_floor(url: str, folder: Path, collections: list[str], las: list[str]) -> dict:
    """The given LAs' files read by today's streaming reader alone, then their rows loaded
    alone with COPY (PostgreSQL) or executemany (SQLite) into a scratch table of this process."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    import django

    django.setup()
    from django.db import connection

    from keystage.formats.ctf import CtfReader

    manifest = json.loads((folder / "manifest.json").read_text())
    paths = sorted({p for la in las for c in collections
                    for p in manifest["by_la"][la].get(c, [])})
    started = time.perf_counter()
    rows = []
    for path in paths:
        with CtfReader(path, filename=Path(path).name) as reader:
            for pupil in reader.pupils():
                rows.extend((r.locale[:3], str(r.year)[:4], r.subject[:3], r.method[:3],
                             r.component[:3], r.status[:1], r.qualifier[:2], r.result[:9],
                             r.result_date.isoformat() if r.result_date else None)
                            for r in pupil.assessments)
    parsed = time.perf_counter() - started
    table = f"bench_floor_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} (a varchar(3), b varchar(4), c varchar(3), "
                       "d varchar(3), e varchar(3), f varchar(1), g varchar(2), h varchar(9), "
                       "i varchar(10))")
    loaded = load_floor_rows(table, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return {"seconds": parsed + loaded, "parse": parsed, "load": loaded, "rows": len(rows),
            "peak_mb": peak_mb()}


def load_floor_rows(table: str, rows: list[tuple]) -> float:
    """Seconds to bulk-load a floor's rows into `table` in one transaction, the fastest way
    each database takes them: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif rows:
            marks = ", ".join(["%s"] * len(rows[0]))
            cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
    return time.perf_counter() - started


def _child_command(kind, url, folder, collections, las=(), queue="") -> list[str]:
    return [sys.executable, __file__, "--child", kind, "--url", url, "--folder", str(folder),
            "--collections", ",".join(collections), "--las", ",".join(las),
            *(["--queue", queue] if queue else [])]


def run_child(kind: str, url: str, folder: Path, collections: list[str]) -> dict:
    done = subprocess.run(_child_command(kind, url, folder, collections), capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_parallel(kind: str, url: str, folder: Path, collections: list[str], workers: int,
                 only: list[str], shares: list[list[str]] | None = None
                 ) -> tuple[float, list[dict]]:
    """Run `workers` children of one kind at once; the wall time and each child's report. An
    import's children take the LAs from one queue, whichever is free the next (as workers take
    jobs: none sits idle while another has a backlog); others take the `shares` given (the LAs
    each import child took), else every other LA."""
    las = sorted(json.loads((folder / "manifest.json").read_text())["by_la"])
    if only:
        las = [la for la in las if la in only]
    started = time.perf_counter()
    if kind == "import":
        queue = folder / f"queue-{secrets.token_hex(4)}"
        queue.write_text("0")
        commands = [_child_command(kind, url, folder, collections, las, str(queue))
                    for _ in range(min(workers, len(las)))]
    else:
        shares = shares or [las[i::workers] for i in range(workers)]
        commands = [_child_command(kind, url, folder, collections, share)
                    for share in shares if share]
    reports = run_children(commands, kind)
    return time.perf_counter() - started, reports


def run_children(commands: list[list[str]], kind: str) -> list[dict]:
    """Start every command at once and wait for them all; each one's report (the JSON of its
    last line of output)."""
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=ROOT) for command in commands]
    reports = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"{kind} failed:\n{out}\n{err}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def run_import(url: str, folder: Path, collections: list[str], workers: int,
               only: list[str]) -> dict:
    """Import every LA's files in `workers` processes at once (as several workers would)."""
    seconds, reports = run_parallel("import", url, folder, collections, workers, only)
    return {
        "seconds": seconds,
        # The import itself, without starting Python and Django: like for like with the floor.
        "inner": max(r["seconds"] for r in reports),
        "pupils": sum(r["pupils"] for r in reports),
        "results": sum(r["results"] for r in reports),
        "refused": sum(r["refused"] for r in reports),
        "peak_mb": max(r["peak_mb"] for r in reports),
        "shares": [r["las"] for r in reports],
    }


def run_floor(url: str, folder: Path, collections: list[str], workers: int,
              only: list[str], shares: list[list[str]] | None = None) -> dict:
    """The floor with as many processes as the import: each reads and loads its share (the LAs
    an import child took, when `shares` gives them)."""
    wall, reports = run_parallel("floor", url, folder, collections, workers, only, shares)
    # Like the import's own time, without starting Python and Django: the slowest process.
    slowest = max(reports, key=lambda r: r["seconds"])
    return {"seconds": slowest["seconds"], "parse": slowest["parse"], "load": slowest["load"],
            "wall": wall, "rows": sum(r["rows"] for r in reports)}


def database_urls(which: str, folder: Path) -> list[tuple[str, str]]:
    urls = []
    if which in ("sqlite", "both"):
        urls.append(("SQLite", f"sqlite:///{folder}/bench.sqlite3"))
    if which in ("postgres", "both"):
        import psycopg

        try:
            with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
                conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
            urls.append(("PostgreSQL", PG_SERVER.rsplit("/", 1)[0] + f"/{SCRATCH_DB}"))
        except Exception as error:
            print(f"PostgreSQL skipped: {error}")
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scope", choices=["la", "national", "both"], default="both")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    # 831's synthetic size is the nearest to the issue's LA batch (about 5,000 per year group).
    parser.add_argument("--la", default="831", help="the LA of the `la` scope")
    parser.add_argument("--child", choices=["setup", "import", "floor", "report"])
    parser.add_argument("--url")
    parser.add_argument("--folder")
    parser.add_argument("--collections", default="eyfsp")
    parser.add_argument("--las", default="",
                        help="only these LAs (comma-separated codes), e.g. a national sample")
    parser.add_argument("--queue", default="",
                        help="(import children) a file the children take the LAs from in turn")
    parser.add_argument("--workers", type=int, default=1,
                        help="import processes at once (each takes a share of the LAs)")
    parser.add_argument("--report", action="store_true",
                        help="after the import, time the national report of what was loaded")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (with --report)")
    args = parser.parse_args()
    if args.child == "setup":
        child_setup(args.url, Path(args.folder))
        print(json.dumps({}))
        return
    if args.child == "import":
        print(json.dumps(child_import(args.url, Path(args.folder), args.collections.split(","),
                                      args.las.split(","), args.queue)))
        return
    if args.child == "report":
        print(json.dumps(child_report(args.url, Path(args.folder), args.collections.split(","))))
        return
    if args.child == "floor":
        print(json.dumps(child_floor(args.url, Path(args.folder), args.collections.split(","),
                                     args.las.split(","))))
        return

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    scopes = ["la", "national"] if args.scope == "both" else [args.scope]
    for scope in scopes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            manifest = prepare(scope, folder, args.la)
            (folder / "manifest.json").write_text(json.dumps(manifest))
            print(f"\n== {scope}: {manifest['eyfsp_pupils']} EYFSP pupils, "
                  f"{manifest['schools']} establishments, {manifest['files']} files "
                  f"(written in {time.perf_counter() - started:.0f} s)")
            runs = [["eyfsp"]]
            if scope == "la":
                runs.append(list(COLLECTION_CODES))
            for label, url in database_urls(args.db, folder):
                for collections in runs:
                    if url.startswith("sqlite"):
                        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
                    else:
                        database_urls("postgres", folder)
                    run_child("setup", url, folder, collections)
                    only = [la for la in args.las.split(",") if la]
                    ours = run_import(url, folder, collections, args.workers, only)
                    if args.report:
                        done = run_child("report", url, folder, collections)
                        print(f"{label} national report of {'+'.join(collections)} (every "
                              f"group, national rows, read from the database): "
                              f"{done['rows']} rows in {done['seconds']:.1f} s, peak "
                              f"{done['peak_mb']:.0f} MB")
                    if args.no_floor:
                        continue
                    floor = run_floor(url, folder, collections, args.workers, only,
                                      ours["shares"])
                    name = "+".join(collections) if len(collections) < 5 else "all five"
                    print(f"{label} {name} ({args.workers} worker(s)): {ours['pupils']} pupils, "
                          f"{ours['results']} result "
                          f"rows in {ours['seconds']:.1f} s "
                          f"({ours['pupils'] / ours['seconds']:,.0f} pupils/s), peak "
                          f"{ours['peak_mb']:.0f} MB, refused {ours['refused']}; floor with "
                          f"{args.workers} process(es) {floor['seconds']:.1f} s (the slowest "
                          f"process's parse {floor['parse']:.1f} + load {floor['load']:.1f}; "
                          f"{floor['wall']:.1f} s with start-up); ratio "
                          f"{ours['inner'] / floor['seconds']:.2f} "
                          f"(import {ours['inner']:.1f} s without process start-up)")
    if args.db in ("postgres", "both"):
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")


if __name__ == "__main__":
    main()
