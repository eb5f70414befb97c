"""Import one LA's spring census end to end and compare with a floor measured in the same run.

A benchmark, not a test. The synthetic world writes one census return per school (keystage synth's
census writer); the import is the action the upload worker, `keystage import` and the demo call
(do_import_files: read, store pupils and their census rows, link them to pupils), and then the
census cleaning rules. The floor parses the same files with lxml's safe parser alone (touching
every element) and bulk-loads the same pupil rows into a scratch table with COPY (PostgreSQL) or
executemany (SQLite) alone. On PostgreSQL a second floor loads what the import stored (its
pupil records, census details, FSM periods, SEN needs, leavers, pupils and identifiers: several
rows a pupil) into empty tables with the same columns and indexes, one COPY a table: the
database's share of an import that writes those tables, beside the issue's floor of one
unindexed table.

Run from the project root:
    .venv/bin/python bench/bench_census_import.py [--db sqlite|postgres] [--schools N]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import secrets
import sys
import time
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmHWM, VmRSS), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """This process's peak RSS in MB."""
    return _status_mb("VmHWM")


def resident_mb() -> float:
    """This process's resident memory now, in MB."""
    return _status_mb("VmRSS")


def forget_peak() -> None:
    """Free what can be freed and start this process's peak RSS again from now (Linux)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--la", default="831")
    parser.add_argument("--profile", action="store_true",
                        help="print where the import's time goes (cProfile, top 30 by cumulative)")
    parser.add_argument("--schools", type=int, default=None,
                        help="primary schools in the LA (default: the LA's synthetic size)")
    args = parser.parse_args()
    from bench._scratch import scratch_django

    with scratch_django(args.db, "census") as folder:
        run(args, folder)


FLOOR_TABLE = ("CREATE TABLE {table} (line int, upn varchar(20), surname varchar(100), "
               "forename varchar(100), dob date, sex varchar(10), ncyear varchar(4), "
               "ethnicity varchar(4), lang varchar(4), enrol varchar(1), sen varchar(1))")


def census_floor(paths: list[Path], table: str) -> tuple[float, float, int]:
    """The issue's floor of these census returns: seconds for lxml's safe parser alone over
    every file (touching every element), seconds for one bulk load of the same pupil rows into
    `table` (made by FLOOR_TABLE; COPY on PostgreSQL, executemany on SQLite), and the rows.
    The rows themselves are taken by the import's reader, untimed."""
    from bench_collection import load_floor_rows
    from lxml import etree

    from keystage.formats.census import read_census

    started = time.perf_counter()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    for path in paths:
        for _ in etree.fromstring(path.read_bytes(), parser).iter():
            pass
    parsed = time.perf_counter() - started
    rows = []
    for path in paths:
        rows.extend(read_census(path, filename=path.name).frames["pupils"].select(
            "line", "upn", "surname", "forename", "dob", "sex", "ncyear", "ethnicity",
            "first_language", "enrol_status", "sen_provision").iter_rows())
    return parsed, load_floor_rows(table, rows), len(rows)


def run(args, folder: Path) -> None:
    """The benchmark itself, on the scratch database."""
    from django.core.management import call_command
    from django.db import connection

    from keystage.cleaning.actions import do_run_cleaning
    from keystage.collection.actions import do_import_files
    from keystage.pupils.models import LinkReview
    from keystage.schools.actions import do_import_establishments
    from keystage.schools.models import LocalAuthority
    from keystage.synth import render
    from keystage.synth.context_writers import write_census
    from keystage.synth.world import WorldSpec, build_world

    started = time.perf_counter()
    world = build_world(WorldSpec(seed=1, la_codes=(args.la,), primary_schools=args.schools))
    paths, _ = write_census(world, folder, seed=1)
    size = sum(p.stat().st_size for p in paths)
    render.write_gias_extract(world, folder / "gias.csv")
    # The synthetic world is not the import's: freed, and the peak counted from here on.
    del world
    forget_peak()
    call_command("migrate", verbosity=0)
    do_import_establishments((folder / "gias.csv").read_bytes(), filename="gias.csv",
                             acting_user=None)
    la = LocalAuthority.objects.get(code=args.la)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {connection.vendor}")
    print(f"prepared {len(paths)} census files ({size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.0f} s; resident before the import "
          f"{resident_mb():.0f} MB")

    profiler = cProfile.Profile() if args.profile else None
    statements: dict[str, list[float]] = {}

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.setdefault(sql[:110], []).append(time.perf_counter() - began)

    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with connection.execute_wrapper(timed) if profiler else contextlib.nullcontext():
        outcomes = do_import_files(((p.name, p.read_bytes()) for p in paths), la=la,
                                   year=2026, acting_user=None)
    imported = time.perf_counter() - started
    import_peak = peak_mb()
    if profiler:
        profiler.disable()
        # SORT and TOP choose the order and length of the listing; CALLERS lists who called
        # the functions matching it.
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative"))
        stats.print_stats(int(os.environ.get("TOP", "30")))
        print("slowest statements (total s, count, SQL):")
        for sql, times in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:12]:
            print(f"  {sum(times):6.3f} {len(times):5d} {sql}")
        if os.environ.get("CALLERS"):
            pstats.Stats(profiler).print_callers(os.environ["CALLERS"])
    pupils = sum(c.pupils for o in outcomes for c in o.changes)
    refused = [o.message for o in outcomes if o.status != "committed"]
    # Possible matches left for an officer: on a first load, children the LA had no other
    # record of, so each is a near match between two children.
    reviews = LinkReview.objects.filter(la=la).count()
    started = time.perf_counter()
    do_run_cleaning(la, "census", 2026, acting_user=None, trigger="import")
    cleaned = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE.format(table="bench_floor"))
    parsed, loaded, _ = census_floor(paths, "bench_floor")
    floor = parsed + loaded
    stored = _load_what_the_import_stored() if connection.vendor == "postgresql" else None
    print(f"import: {pupils:,} pupils on roll from {len(paths)} files in {imported:.1f} s "
          f"({pupils / imported:,.0f} pupils/s), refused {len(refused)}; census rules "
          f"{cleaned:.1f} s; peak RSS of the import {import_peak:.0f} MB (with the rules and the "
          f"floor {peak_mb():.0f} MB); {reviews:,} possible matches queued for review")
    print(f"floor: {floor:.1f} s (safe parse {parsed:.1f} + load {loaded:.1f}); "
          f"ratio {imported / floor:.2f}")
    if stored is not None:
        seconds, rows, tables = stored
        print(f"floor of what the import stores: {parsed + seconds:.1f} s (safe parse "
              f"{parsed:.1f} + one COPY of each of {tables} tables' {rows:,} rows into empty "
              f"tables with the same columns and indexes, one commit {seconds:.1f}); ratio "
              f"{imported / (parsed + seconds):.2f}")
    if refused:
        print("\n".join(refused[:5]))


def _load_what_the_import_stored() -> tuple[float, int, int]:
    """Seconds to COPY the rows the census import stored (pupil records, census details, FSM
    periods, SEN needs, leavers, pupils and identifiers), as PostgreSQL holds them, into empty
    tables like theirs (same columns, defaults and indexes; no foreign keys), in one
    transaction: the database's share of the work, for a floor that loads the same rows."""
    import io

    from django.db import connection, transaction

    from keystage.collection.models import PupilRecord
    from keystage.context.models import CensusDetail, CensusLeaver, FsmPeriod, SenNeed
    from keystage.pupils.models import Pupil, PupilIdentifier

    models = [PupilRecord, CensusDetail, FsmPeriod, SenNeed, CensusLeaver, Pupil,
              PupilIdentifier]
    dumps = []
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"CREATE TABLE bench_like_{table} (LIKE {table} INCLUDING DEFAULTS "
                           "INCLUDING INDEXES)")
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    buffer.write(block)
            data = buffer.getvalue()
            dumps.append((table, data, data.count(b"\n")))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, data, _ in dumps:
            with cursor.cursor.copy(f"COPY bench_like_{table} FROM STDIN") as copy:
                copy.write(data)
    return time.perf_counter() - started, sum(n for *_, n in dumps), len(dumps)


if __name__ == "__main__":
    main()
