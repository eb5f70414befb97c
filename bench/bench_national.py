"""A national year on PostgreSQL: every LA's census, results and statutory collections loaded
through the import, then the emerging national picture of every primary dataset recomputed.

A benchmark, not a test. The synthetic national world (about 150 LAs; Reception and Years 1,
2, 4, 6 and 11) writes each school's spring census, the five collections' CTFs and, per LA,
the pupil premium and KS2 results files; each is imported LA by LA through the action
`keystage import` calls, in `--workers` processes at once that take the LAs from one queue, as
workers take jobs (issue 10's national census batch: the import action alone, without the rules
and the statistics step `do_import_batch` adds; its floor, lxml's safe parser alone plus a COPY
of the same pupil rows, is taken after it in as many processes, each on the LAs its import
process took).
Then, in a fresh process, the national picture of each primary dataset (EYFSP, phonics, KS1,
KS2 TA, KS2, MTC: every LA's pupils, every group of 11.2, the progress SDs and estimates) is
summed from the database and kept as the worker does after a load: cold (every LA's part summed
and every LA's characteristics derived), cold again with the characteristics kept as each LA's
loads leave them (issue 12's national recompute, under 60 s and 1 GB), then again after one
LA's files change (that LA's parts only), and one LA's report is read against it.

Run from the project root (about an hour on 2 cores; several GB of files in a temporary folder):
    .venv/bin/python bench/bench_national.py [--workers 2] [--skip-ctf]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_collection  # noqa: E402

from keystage.datasets import COLLECTION_CODES  # noqa: E402

PRIMARY = ("eyfsp", "phonics", "ks1", "ks2ta", "ks2", "mtc")


def prepare(folder: Path, las: int = 0) -> dict:
    """The national world's register, census returns, per-LA results files and CTFs (with
    `las`, only that many of its LAs: a quick check of the benchmark itself)."""
    import polars as pl

    from keystage.synth import render
    from keystage.synth.context_writers import write_census, write_results
    from keystage.synth.ctf_writer import write_ctfs
    from keystage.synth.world import WorldSpec, build_world, national_spec

    spec = national_spec(seed=1)
    if las:
        spec = WorldSpec(seed=1, la_codes=spec.la_codes[:las], year=spec.year)
    world = build_world(spec)
    render.write_gias_extract(world, folder / "gias.csv")
    render.write_pvi_settings(world, folder / "pvi.csv")
    by_la: dict[str, dict[str, list[str]]] = {}

    def add(la_code: str, kind: str, path: Path) -> None:
        by_la.setdefault(la_code, {}).setdefault(kind, []).append(str(path))

    started = time.perf_counter()
    census, _ = write_census(world, folder, seed=1)
    for path in census:
        add(path.name[:3], "census", path)
    census_written = time.perf_counter() - started
    # The results files are the DfE's per LA: one national file split by the pupils' LA.
    files = write_results(world, folder, seed=1)
    for kind, path in (("pp", files.pupil_premium), ("ks2", files.ks2)):
        frame = pl.read_csv(path, infer_schema=False)
        column = next(c for c in frame.columns if c.upper() == "LAESTAB")
        for (la_code,), part in frame.group_by(pl.col(column).str.slice(0, 3)):
            target = folder / kind / f"{la_code}_{kind}.csv"
            target.parent.mkdir(exist_ok=True)
            part.write_csv(target)
            add(la_code, kind, target)
    report = write_ctfs(world, folder, collections=COLLECTION_CODES, errors=0.0, seed=1)
    for written in report.files:
        for collection in written.collections:
            add(written.la_code, collection, written.path)
    return {"by_la": by_la, "census_pupils": world.pupils.height,
            "census_files": len(census), "census_written": census_written,
            "census_mb": sum(p.stat().st_size for p in census) / 1e6,
            "schools": world.schools.height, "ctf_files": len(report.files)}


def child_census_floor(url: str, folder: Path, las: list[str]) -> dict:
    """The issue's floor of these LAs' census returns, taken an LA at a time as
    `bench_census_import.py` takes it for one LA: lxml's safe parser alone, and one COPY of the
    same pupil rows into a plain table."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    import django

    django.setup()
    from bench_census_import import FLOOR_TABLE, census_floor
    from django.db import connection

    manifest = json.loads((folder / "manifest.json").read_text())
    table = f"bench_census_floor_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_TABLE.format(table=table))
    parsed = loaded = 0.0
    pupils = 0
    for la_code in las:
        la_parsed, la_loaded, rows = census_floor(
            [Path(p) for p in manifest["by_la"][la_code].get("census", [])], table)
        parsed, loaded, pupils = parsed + la_parsed, loaded + la_loaded, pupils + rows
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return {"seconds": parsed + loaded, "parse": parsed, "load": loaded, "pupils": pupils}


def run_census_floor(url: str, folder: Path, shares: list[list[str]]) -> dict:
    """The census floor in as many processes as the import had, each on the LAs its import
    child took (`shares`)."""
    reports = bench_collection.run_children(
        [[sys.executable, __file__, "--child", "census-floor", "--url", url, "--folder",
          str(folder), "--child-las", ",".join(share)]
         for share in shares if share], "census floor")
    slowest = max(reports, key=lambda r: r["seconds"])
    return {"seconds": slowest["seconds"], "parse": slowest["parse"], "load": slowest["load"],
            "pupils": sum(r["pupils"] for r in reports)}


def child_picture(url: str, folder: Path) -> dict:
    """Every primary dataset's national picture summed from the database and kept, as the
    worker does after a load: cold (every LA's part summed, each LA's characteristics derived
    and kept on the way), cold again with the characteristics kept (as every LA's loads leave
    them: the picture after an upgrade of the measures), then after one LA's files change (that
    LA's parts only), then one LA's report by group with national rows against them."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()
    from keystage.analysis.models import LaSummary, NationalSummary
    from keystage.analysis.national import national_picture, refresh_national_pictures
    from keystage.analysis.queries import report_rows
    from keystage.context.models import KeptCharacteristics
    from keystage.schools.models import LocalAuthority

    phases: dict[str, list[str]] = {}

    def progress(index, total, message):
        phases.setdefault("las", []).append(message)

    KeptCharacteristics.objects.all().delete()
    started = time.perf_counter()
    refresh_national_pictures(2026, PRIMARY, progress=progress)
    total = time.perf_counter() - started
    cold_peak = bench_collection.peak_mb()
    sums = {d: len(national_picture(d, 2026).sums) for d in PRIMARY}
    LaSummary.objects.filter(year=2026).delete()
    NationalSummary.objects.filter(year=2026).delete()
    began = time.perf_counter()
    refresh_national_pictures(2026, PRIMARY)
    kept = time.perf_counter() - began
    assert sums == {d: len(national_picture(d, 2026).sums) for d in PRIMARY}
    la = LocalAuthority.objects.filter(code__in=json.loads(
        (folder / "manifest.json").read_text())["by_la"]).order_by("code").first()
    # One LA's files change (a replaced census reaches every dataset's part of it): its parts,
    # its characteristics and the national pictures are no longer current; the next refresh
    # sums that LA again.
    LaSummary.objects.filter(la=la, year=2026).delete()
    KeptCharacteristics.objects.filter(la=la, year=2026).delete()
    NationalSummary.objects.filter(year=2026).delete()
    began = time.perf_counter()
    refresh_national_pictures(2026, PRIMARY)
    one_la = time.perf_counter() - began
    began = time.perf_counter()
    rows = sum(len(report_rows(la, d, 2026, by="group", national=True)[0]) for d in PRIMARY)
    return {"total": total, "las": len(phases.get("las", [])), "sums": sums,
            "cold_peak_mb": cold_peak, "kept": kept, "one_la": one_la, "la": la.code,
            "la_rows": rows, "la_seconds": time.perf_counter() - began,
            "peak_mb": bench_collection.peak_mb()}


def _print_picture(label: str, done: dict) -> None:
    print(f"{label} national picture of the six primary datasets, every LA's part summed "
          f"({done['las']} LAs) and their characteristics derived: {done['total']:.1f} s, "
          f"peak {done['cold_peak_mb']:.0f} MB")
    print(f"{label} again, every LA's part summed with their characteristics kept: "
          f"{done['kept']:.1f} s")
    print(f"{label} after LA {done['la']}'s files change, the six pictures again: "
          f"{done['one_la']:.1f} s")
    print(f"{label} then LA {done['la']}'s report of the six by group with national rows: "
          f"{done['la_rows']} rows in {done['la_seconds']:.1f} s; peak {done['peak_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-ctf", action="store_true",
                        help="load the census and results only (the picture then has no "
                        "statutory collection)")
    parser.add_argument("--las", type=int, default=0, help="only the first N LAs (a check)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch database afterwards (its name is printed)")
    parser.add_argument("--child", choices=["picture", "census-floor"])
    parser.add_argument("--child-las", default="", help=argparse.SUPPRESS)
    parser.add_argument("--picture-only", metavar="DATABASE",
                        help="only the national picture, from a database kept by --keep")
    parser.add_argument("--url")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child == "picture":
        print(json.dumps(child_picture(args.url, Path(args.folder))))
        return
    if args.child == "census-floor":
        print(json.dumps(child_census_floor(args.url, Path(args.folder),
                                            args.child_las.split(","))))
        return
    if args.picture_only:
        with tempfile.TemporaryDirectory() as tmp:
            url = bench_collection.PG_SERVER.rsplit("/", 1)[0] + f"/{args.picture_only}"
            # A database kept by an earlier version: brought to this version's tables first.
            subprocess.run([sys.executable, "-m", "keystage.cli", "migrate", "--noinput"],
                           check=True, cwd=ROOT, capture_output=True,
                           env={**os.environ, "DATABASE_URL": url,
                                "KEYSTAGE_VAR_DIR": str(Path(tmp) / "var")})
            psycopg = __import__("psycopg")
            with psycopg.connect(url, autocommit=True) as conn:
                # A fresh start: the kept pictures are summed again.
                conn.execute("DELETE FROM analysis_nationalsummary")
                conn.execute("DELETE FROM analysis_lasummary")
                codes = [r[0] for r in conn.execute("SELECT code FROM schools_localauthority")]
            (Path(tmp) / "manifest.json").write_text(json.dumps({"by_la": codes}))
            _print_picture("PostgreSQL", child_picture(url, Path(tmp)))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        manifest = prepare(folder, args.las)
        (folder / "manifest.json").write_text(json.dumps(manifest))
        print(f"prepared {len(manifest['by_la'])} LAs, {manifest['schools']} establishments: "
              f"{manifest['census_files']} census returns ({manifest['census_mb']:.0f} MB, "
              f"{manifest['census_pupils']:,} pupils in the world; census written in "
              f"{manifest['census_written']:.0f} s), {manifest['ctf_files']} CTFs, in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        (label, url), = bench_collection.database_urls("postgres", folder)
        bench_collection.run_child("setup", url, folder, [])
        stages = [("census", ["census"]), ("pupil premium and KS2 results", ["pp", "ks2"])]
        if not args.skip_ctf:
            stages.append(("the five collections' CTFs", list(COLLECTION_CODES)))
        for name, kinds in stages:
            done = bench_collection.run_import(url, folder, kinds, args.workers, [])
            print(f"{label} import of {name} ({args.workers} worker(s)): {done['pupils']:,} "
                  f"pupils, {done['results']:,} results in {done['inner']:.1f} s "
                  f"({done['pupils'] / done['inner']:,.0f} pupils/s), peak "
                  f"{done['peak_mb']:.0f} MB, refused {done['refused']}", flush=True)
            if kinds == ["census"]:
                floor = run_census_floor(url, folder, done["shares"])
                print(f"{label} census floor ({args.workers} processes, each over the LAs its "
                      f"import took): {floor['seconds']:.1f} s (safe parse "
                      f"{floor['parse']:.1f} + COPY of the {floor['pupils']:,} pupil rows "
                      f"{floor['load']:.1f}, the slower process); import / floor "
                      f"{done['inner'] / floor['seconds']:.2f}", flush=True)
        out = subprocess.run(
            [sys.executable, __file__, "--child", "picture", "--url", url, "--folder",
             str(folder)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            raise SystemExit(f"picture failed:\n{out.stdout}\n{out.stderr}")
        _print_picture(label, json.loads(out.stdout.strip().splitlines()[-1]))
    if args.keep:
        print(f"kept the database {bench_collection.SCRATCH_DB}")
        return
    import psycopg

    with psycopg.connect(bench_collection.PG_SERVER, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {bench_collection.SCRATCH_DB}")


if __name__ == "__main__":
    main()
