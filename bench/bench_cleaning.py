"""Run the cleaning rules over an LA's collections and over the national EYFSP batch, end to end.

A benchmark, not a test. "Cleaning" is `do_run_cleaning` as the import command, the worker and the
web page call it: read the collection from the database into polars frames, run every rule,
replace the stored issues, and write the run and its audit row. Scopes:
- `la`: LA 831's synthetic world (about 4,600 pupils per year group, the nearest size to the
  issue's 5,000), 2% planted errors, all five collections plus the expected cohorts and last
  year's phonics, imported through the same action as `keystage import`; then each collection is
  cleaned separately.
- `national`: every LA's EYFSP pupils (about 600,000 pupils, 10 million result rows). Importing
  the CTFs takes minutes, so the rows are built from the synthetic world with the writer's 2%
  planted errors applied, and bulk-loaded as the import stores them; then every LA is cleaned in
  one process. Built this way, LA 831's rows give exactly the issues an import of the same CTFs
  gives (checked once); the import stores about 0.1% more result rows (superseded R rows).
Three passes by default: the first run, a re-run over unchanged data (what every later import
does), then ANALYZE and a re-run with the database's statistics gathered. The first two see the
tables as the import or the load left them, never analysed, as cleaning straight after an import
does (and as every run does on a server with autovacuum off).
Each run is split, by wrapping the functions the action calls (keystage itself is unchanged), into
loading the frames (load_cleaning_data), running the rules (run_rules), and storing (the rest:
reading the last run's issues, deleting and inserting issues, the run row and the audit row, the
commit). Peak memory is the cleaning process's own VmHWM.

Run from the project root: .venv/bin/python bench/bench_cleaning.py [--scope la|national|both]
[--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
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

PG_SERVER = "postgres://postgres@127.0.0.1:5432/test"
SCRATCH_DB = f"keystage_bench_clean_{os.getpid()}"  # one per run, so runs never share a database
YEAR = 2026
ALL_COLLECTIONS = COLLECTION_CODES
TARGETS = {"la": 2.0, "national": 60.0}  # seconds: EYFSP for one LA, EYFSP for every LA
ERRORS = 0.02


def peak_mb() -> float:
    """This process's own peak RSS in MB (VmHWM: ru_maxrss carries over fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Preparing the files (parent process, not timed)
# ---------------------------------------------------------------------------------------------


def prepare_la(folder: Path, la_code: str) -> dict:
    """The LA's register, cohorts, last year's phonics and this year's CTFs with planted errors."""
    import polars as pl

    from keystage.synth import render
    from keystage.synth.ctf_writer import NC_YEARS, write_ctfs, write_earlier_phonics_ctfs
    from keystage.synth.world import WorldSpec, build_world

    world = build_world(WorldSpec(seed=1, la_codes=(la_code,), year=YEAR))
    render.write_gias_extract(world, folder / "gias.csv")
    render.write_pvi_settings(world, folder / "pvi.csv")
    render.write_expected_cohorts(world, folder / "cohorts.csv")
    earlier = write_earlier_phonics_ctfs(world, folder / "previous", seed=1)
    report = write_ctfs(world, folder, collections=ALL_COLLECTIONS, errors=ERRORS, seed=1)
    planted = report.planted.group_by("collection").len()
    return {
        "la_code": la_code,
        "files": [str(f.path) for f in report.files],
        "earlier_files": [str(f.path) for f in earlier.files],
        "planted": dict(zip(planted["collection"], planted["len"], strict=True)),
        "world_pupils": {
            c: world.pupils.filter(pl.col("ncyear").cast(pl.String).is_in(NC_YEARS[c])).height
            for c in ALL_COLLECTIONS
        },
        "schools": world.schools.height,
    }


def prepare_national(folder: Path, las: list[str]) -> dict:
    """The register, and the EYFSP pupils and results as frames ready to load (parquet)."""
    from keystage.synth import render
    from keystage.synth.ctf_writer import write_ctfs
    from keystage.synth.world import WorldSpec, build_world, national_spec

    started = time.perf_counter()
    spec = national_spec(seed=1, year=YEAR) if not las else WorldSpec(
        seed=1, la_codes=tuple(las), year=YEAR)
    world = build_world(spec)
    built = time.perf_counter() - started
    render.write_gias_extract(world, folder / "gias.csv")
    render.write_pvi_settings(world, folder / "pvi.csv")
    world.expected_cohorts.write_parquet(folder / "cohorts.parquet")
    # The writer is the one source of planted errors: write the files once for its report.
    report = write_ctfs(world, folder / "ctfs", collections=("eyfsp",), errors=ERRORS, seed=1)
    written = time.perf_counter() - started - built
    pupils, results = national_frames(world, report.planted)
    pupils.write_parquet(folder / "pupils.parquet")
    results.write_parquet(folder / "results.parquet")
    for ctf in report.files:  # 3.9 GB nationally, not needed any more
        ctf.path.unlink()
    return {
        "las": sorted(world.las["la_code"].to_list()),
        "pupils": pupils.height,
        "results": results.height,
        "planted": report.planted.height,
        "schools": world.schools.height,
        "submissions": pupils["urn"].n_unique(),
        "world_seconds": built,
        "ctf_seconds": written,
        "frames_seconds": time.perf_counter() - started - built - written,
    }


def national_frames(world, planted):
    """EYFSP pupils and result rows as the import would store them, with the planted errors.

    One row per pupil and one R row per ELG (is_latest). The writer's untidiness (superseded R
    rows, T/E rows, split blocks, capitals) is not reproduced: about 2% of pupils would carry
    one extra row that the rules read but that never counts.
    """
    import polars as pl

    from keystage.collection.derive import ELGS, GLD_ELGS

    errors = planted.filter(pl.col("collection") == "eyfsp").select(
        "pupil_id", "error_code", "field", "value"
    )
    if errors["pupil_id"].is_duplicated().any():
        raise SystemExit("expected at most one planted error per EYFSP pupil")
    code = pl.col("error_code")
    pupils = (
        world.pupils.lazy()
        .filter(pl.col("ncyear") == "R")
        .select(
            "pupil_id", "la_code", "urn",
            pl.col("upn").fill_null(""),
            pl.col("surname").fill_null(""),
            pl.col("forename").fill_null(""),
            pl.col("middle_names").fill_null(""),
            pl.col("dob").dt.strftime("%Y-%m-%d").alias("dob_text"),
            pl.col("sex").cast(pl.String),
            pl.col("ncyear").cast(pl.String),
            *[pl.col(f"elg_{c}").cast(pl.String).alias(c) for c in ELGS],
        )
        .join(errors.lazy(), on="pupil_id", how="left")
        .with_columns(
            pl.when(code.is_in(["UPN_CHECK_LETTER", "UPN_TEMPORARY", "UPN_DUPLICATE"]))
            .then(pl.col("value"))
            .when(code == "UPN_MISSING").then(pl.lit(""))
            .otherwise(pl.col("upn")).alias("upn"),
            pl.when(code == "DOB_OUT_OF_YEAR").then(pl.col("value"))
            .otherwise(pl.col("dob_text")).alias("dob_text"),
            pl.when(code == "SEX_MISSING").then(pl.lit(""))
            .when(code == "SEX_INVALID").then(pl.col("value"))
            .otherwise(pl.col("sex")).alias("sex"),
            pl.when(code == "NCYEAR_MISMATCH").then(pl.col("value"))
            .otherwise(pl.col("ncyear")).alias("ncyear"),
        )
        # Files list pupils alphabetically; the import gives each its line.
        .sort("la_code", "urn", pl.col("surname").str.to_lowercase(),
              pl.col("forename").str.to_lowercase(), "upn")
        .with_columns(pl.int_range(pl.len()).alias("key"),
                      (pl.int_range(pl.len()).over("urn") + 1).alias("line"))
        .collect()
    )
    field = pl.col("component")
    results = (
        pupils.lazy()
        .select("key", "error_code", "field", *ELGS)
        .unpivot(index=["key", "error_code", "field"], on=list(ELGS), variable_name="component",
                 value_name="result")
        .with_columns(
            hit=pl.col("field").str.split(",").list.contains(field).fill_null(False)
        )
        .filter(((code == "ELG_MISSING") & pl.col("hit")).fill_null(False).not_())
        .with_columns(
            pl.when((code == "ELG_PARTIAL_A") & pl.col("hit")).then(pl.lit("A"))
            .when((code == "ELG_INVALID_RESULT") & pl.col("hit")).then(pl.lit("3"))
            .otherwise(pl.col("result")).alias("result")
        )
        .select("key", "component", "result")
        .sort("key", "component")
        .collect()
    )
    # Derived measures as derive_measures gives them: none for an incomplete record.
    measures = results.group_by("key").agg(
        pl.len().alias("n"),
        (pl.col("result") == "2").sum().alias("expected"),
        ((pl.col("result") == "2") | ~pl.col("component").is_in(GLD_ELGS)).all().alias("gld"),
    )
    complete = pl.col("n") == len(ELGS)
    pupils = (
        pupils.join(measures, on="key", how="left")
        .with_columns(
            pl.when(complete).then(pl.col("gld")).alias("gld"),
            pl.when(complete).then(pl.col("expected")).alias("elgs_expected"),
        )
        .select("key", "la_code", "urn", "line", "upn", "surname", "forename", "middle_names",
                "dob_text", "sex", "ncyear", "gld", "elgs_expected")
        .sort("key")
    )
    return pupils, results


# ---------------------------------------------------------------------------------------------
# Child processes: loading (not timed against the target) and cleaning (timed)
# ---------------------------------------------------------------------------------------------


def _django(url: str, folder: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()


def _setup_register(folder: Path) -> None:
    from django.core.management import call_command

    from keystage.schools.actions import do_import_establishments

    call_command("migrate", verbosity=0)
    for name in ("gias.csv", "pvi.csv"):
        do_import_establishments((folder / name).read_bytes(), filename=name, acting_user=None)


def child_setup_la(url: str, folder: Path) -> dict:
    """A fresh database with the LA's register, cohorts and files imported as users do."""
    _django(url, folder)
    from keystage.collection.actions import do_import_expected_cohorts, do_import_files
    from keystage.schools.models import LocalAuthority

    started = time.perf_counter()
    _setup_register(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    la = LocalAuthority.objects.get(code=manifest["la_code"])
    do_import_expected_cohorts((folder / "cohorts.csv").read_bytes(), filename="cohorts.csv",
                               la=la, acting_user=None)
    refused = []
    for paths, year in ((manifest["earlier_files"], YEAR - 1), (manifest["files"], YEAR)):
        items = ((Path(p).name, Path(p).read_bytes()) for p in paths)
        for outcome in do_import_files(items, la=la, year=year, acting_user=None):
            if outcome.status not in ("committed", "unchanged"):
                refused.append(outcome.message)
    return {"seconds": time.perf_counter() - started, "refused": refused}


def child_setup_national(url: str, folder: Path) -> dict:
    """A fresh database with the register, and every LA's EYFSP rows bulk-loaded."""
    _django(url, folder)
    import hashlib

    import polars as pl
    from django.db import transaction
    from django.utils import timezone

    from keystage.collection.actions import PUPIL_FIELDS, RESULT_FIELDS
    from keystage.collection.models import (
        AssessmentResult,
        ExpectedCohort,
        PupilRecord,
        ReceivedFile,
        Submission,
    )
    from keystage.core.bulk import bulk_insert
    from keystage.formats.assessment_spec import collection_components
    from keystage.schools.models import Establishment

    started = time.perf_counter()
    _setup_register(folder)
    registered = time.perf_counter()
    pupils = pl.read_parquet(folder / "pupils.parquet")
    schools = {urn: (pk, la_id, laestab, status) for pk, urn, la_id, laestab, status in
               Establishment.objects.values_list("pk", "urn", "la_id", "laestab", "status")}
    now = timezone.now()
    per_school = pupils.group_by("urn", maintain_order=True).agg(
        pl.len().alias("pupils"), pl.col("la_code").first())
    counts = pl.read_parquet(folder / "results.parquet", columns=["key"]).join(
        pupils.select("key", "urn"), on="key").group_by("urn").len()
    result_counts = dict(zip(counts["urn"], counts["len"], strict=True))
    with transaction.atomic():
        files = ReceivedFile.objects.bulk_create(
            [ReceivedFile(la_id=schools[urn][1], filename=f"{urn}_FSP_{code}LLLL_001.xml",
                          sha256=hashlib.sha256(urn.encode()).hexdigest(), size=0,
                          stored_path="", received_by_name="bench")
             for urn, _, code in per_school.iter_rows()], batch_size=2000)
        submissions = Submission.objects.bulk_create(
            [Submission(la_id=schools[urn][1], school_id=schools[urn][0], collection="eyfsp",
                        year=YEAR, file=file, pupil_count=n, result_count=result_counts[urn],
                        submitted_by_name="bench", report={})
             for (urn, n, _), file in zip(per_school.iter_rows(), files, strict=True)],
            batch_size=2000)
        submission_of = {s.school_id: s.pk for s in submissions}
        count = bulk_insert(PupilRecord, PUPIL_FIELDS, (
            (submission_of[schools[urn][0]], schools[urn][1], schools[urn][0], "eyfsp", YEAR,
             line, upn, surname, forename, middle, _date(dob), dob, sex, ncyear, gld, expected,
             None, None)
            for (_, _, urn, line, upn, surname, forename, middle, dob, sex, ncyear, gld,
                 expected) in pupils.iter_rows()
        ))
        # Keys follow insertion order, as collection.actions._write_rows relies on too.
        keys = PupilRecord.objects.order_by("pk").values_list("pk", flat=True)
        ids = pl.Series("pupil", list(keys), dtype=pl.Int64)
        if ids.len() != count:
            raise SystemExit(f"loaded {count} pupils but found {ids.len()}")
        prefix = {c.component: (c.stage, "ENG", YEAR, c.subject, c.method, c.component, "R",
                                c.qualifier) for c in collection_components("eyfsp", YEAR)}
        results = pl.read_parquet(folder / "results.parquet")
        results = results.with_columns(ids.gather(results["key"]).alias("pupil"))
        rows = bulk_insert(AssessmentResult, RESULT_FIELDS, (
            (pupil, *prefix[component], result, None, True)
            for pupil, component, result in results.select("pupil", "component", "result")
            .iter_rows()
        ))
        # Expected cohorts by LAESTAB or EY URN; an open school wins a shared LAESTAB.
        by_code: dict[str, tuple] = {}
        for urn, (pk, la_id, laestab, status) in schools.items():
            by_code.setdefault(urn, (pk, la_id))
            if laestab and (laestab not in by_code or not status.lower().startswith("closed")):
                by_code[laestab] = (pk, la_id)
        cohorts = pl.read_parquet(folder / "cohorts.parquet")
        bulk_insert(ExpectedCohort, ["la", "school", "collection", "year", "expected_count",
                                     "updated_at"], (
            (by_code[code][1], by_code[code][0], collection, int(year[:4]) + 1, n, now)
            for code, collection, year, n in cohorts.iter_rows()
        ))
    return {"seconds": time.perf_counter() - started, "register": registered - started,
            "load": time.perf_counter() - registered, "pupils": count, "results": rows,
            "submissions": len(submissions), "peak_mb": peak_mb()}


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


class _Timer:
    """Wraps a function of the cleaning action's module and adds up the time spent in it."""

    def __init__(self, module, name: str) -> None:
        self.function = getattr(module, name)
        self.seconds = 0.0
        setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


class _ReadTimer:
    """Wraps loading's read_frame and adds up the time of each frame's query, by frame name."""

    def __init__(self, module) -> None:
        from keystage.cleaning.engine import FRAME_SCHEMAS

        self.names = FRAME_SCHEMAS
        self.function = module.read_frame
        self.seconds: dict[str, float] = {}
        module.read_frame = self

    def __call__(self, sql, params, schema):
        started = time.perf_counter()
        try:
            return self.function(sql, params, schema)
        finally:
            # The frame whose columns the query returns (it may add some, like an id).
            fits = [n for n, s in self.names.items() if set(s) <= set(schema)]
            name = max(fits, key=lambda n: len(self.names[n]), default="other")
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def take(self) -> dict[str, float]:
        seconds, self.seconds = self.seconds, {}
        return seconds


def child_clean(url: str, folder: Path, collections: list[str], las: list[str],
                passes: int, analyse_before: int) -> dict:
    """Clean each LA's collections `passes` times in this one process; time every run.

    Before pass `analyse_before` the database's statistics are gathered (ANALYZE): until then
    the tables are as the import or the bulk load left them, never analysed.
    """
    _django(url, folder)
    from django.db import connection
    from polars.exceptions import PanicException

    from keystage.cleaning import actions, loading
    from keystage.cleaning.ruleset import rule_set_for
    from keystage.schools.models import LocalAuthority

    load = _Timer(actions, "load_cleaning_data")
    rules = _Timer(actions, "run_rules")
    insert = _Timer(actions, "bulk_insert")
    reads = _ReadTimer(loading)
    started = time.perf_counter()
    rule_set_for(YEAR)  # read once per process (cached): not part of any run
    rule_file = time.perf_counter() - started
    server = {"vendor": connection.vendor}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for name in ("server_version", "autovacuum", "shared_buffers", "work_mem"):
                cursor.execute(f"SHOW {name}")
                server[name] = cursor.fetchone()[0]
    authorities = list(LocalAuthority.objects.filter(code__in=las).order_by("code"))
    runs = []
    analyse = 0.0
    for number in range(passes):
        if number + 1 == analyse_before:
            begun = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            analyse = time.perf_counter() - begun
        for la in authorities:
            for collection in collections:
                begun = time.perf_counter()
                try:
                    run = actions.do_run_cleaning(la, collection, YEAR, acting_user=None,
                                                  trigger="command")
                except (Exception, PanicException) as error:
                    # Report it and go on: one LA's failure must not hide the others' figures.
                    runs.append({
                        "pass": number + 1, "la": la.code, "collection": collection,
                        "seconds": time.perf_counter() - begun, "load": load.take(),
                        "rules": rules.take(), "insert": insert.take(), "reads": reads.take(),
                        "pupils": 0,
                        "errors": 0, "queries": 0, "new": 0, "resolved": 0,
                        "analysed": 0 < analyse_before <= number + 1,
                        "failed": f"{type(error).__name__}: {str(error)[:300]}",
                    })
                    continue
                seconds = time.perf_counter() - begun
                runs.append({
                    "pass": number + 1, "la": la.code, "collection": collection,
                    "seconds": seconds, "load": load.take(), "rules": rules.take(),
                    "insert": insert.take(), "reads": reads.take(), "pupils": run.pupils,
                    "errors": run.errors,
                    "queries": run.queries, "new": run.new_issues,
                    "resolved": run.resolved_issues, "analysed": 0 < analyse_before <= number + 1,
                })
    for run in runs:
        run["store"] = run["seconds"] - run["load"] - run["rules"]
    return {"rule_file": rule_file, "analyse": analyse, "server": server, "runs": runs,
            "peak_mb": peak_mb()}


# ---------------------------------------------------------------------------------------------
# Parent: orchestration and reporting
# ---------------------------------------------------------------------------------------------


def run_child(kind: str, url: str, folder: Path, *extra: str) -> dict:
    load_before = os.getloadavg()[0]
    command = [sys.executable, __file__, "--child", kind, "--url", url, "--folder", str(folder),
               *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average_before"] = load_before
    return result


def database_url(label: str, folder: Path) -> str | None:
    """A fresh database: a new SQLite file, or the scratch PostgreSQL database re-created."""
    if label == "SQLite":
        path = folder / "bench.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    try:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
            conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    except Exception as error:
        print(f"PostgreSQL skipped: {error}")
        return None
    return PG_SERVER.rsplit("/", 1)[0] + f"/{SCRATCH_DB}"


def _sum(runs: list[dict], key: str) -> float:
    return sum(r[key] for r in runs)


def _split(r: dict) -> str:
    return (f"load {r['load']:.2f} + rules {r['rules']:.2f} + store {r['store']:.2f} "
            f"(insert issues {r['insert']:.2f})")


def _reads(reads: dict[str, float]) -> str:
    """The queries of the load, slowest first."""
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in
                     sorted(reads.items(), key=lambda item: -item[1]))


def _kind(r: dict) -> str:
    kind = "first run" if r["pass"] == 1 else "re-run"
    return kind + (", analysed" if r["analysed"] else "")


def report_la(label: str, setup: dict, clean: dict, manifest: dict) -> list[str]:
    lines = [f"{label}: setup (register, cohorts, {len(manifest['earlier_files'])} + "
             f"{len(manifest['files'])} files imported) {setup['seconds']:.1f} s, "
             f"{len(setup['refused'])} refused; ANALYZE {clean['analyse']:.2f} s; cleaning "
             f"process peak {clean['peak_mb']:.0f} MB"]
    for r in clean["runs"]:
        target = ""
        if r["collection"] == "eyfsp":
            met = "met" if r["seconds"] <= TARGETS["la"] else "NOT met"
            target = f"  [target <= {TARGETS['la']:.0f} s: {met}]"
        if "failed" in r:
            lines.append(f"  {r['collection']:<7} {_kind(r):<19} FAILED after "
                         f"{r['seconds']:.2f} s: {r['failed']}")
            continue
        lines.append(
            f"  {r['collection']:<7} {_kind(r):<19} {r['seconds']:5.2f} s = {_split(r)}; "
            f"{r['pupils']} pupils, {r['errors']} errors, {r['queries']} queries, "
            f"{r['new']} new, {r['resolved']} resolved (planted "
            f"{manifest['planted'].get(r['collection'], 0)}){target}"
        )
        lines.append(f"  {'':<7} {'':<19} load's queries: {_reads(r['reads'])}")
    return lines


def report_national(label: str, setup: dict, clean: dict, passes: int) -> list[str]:
    lines = [f"{label}: setup (register {setup['register']:.0f} s, bulk load "
             f"{setup['pupils']:,} pupils / {setup['results']:,} result rows / "
             f"{setup['submissions']:,} submissions {setup['load']:.0f} s); ANALYZE "
             f"{clean['analyse']:.1f} s; cleaning process peak {clean['peak_mb']:.0f} MB"]
    for number in range(1, passes + 1):
        runs = [r for r in clean["runs"] if r["pass"] == number]
        failed = [r for r in runs if "failed" in r]
        total = _sum(runs, "seconds")
        pupils = _sum(runs, "pupils")
        slowest = max(runs, key=lambda r: r["seconds"])
        met = "met" if total <= TARGETS["national"] else "NOT met"
        lines.append(
            f"  {_kind(runs[0])}: {len(runs)} LAs in {total:.1f} s ({pupils / total:,.0f} "
            f"pupils/s) = load {_sum(runs, 'load'):.1f} + rules {_sum(runs, 'rules'):.1f} + "
            f"store {_sum(runs, 'store'):.1f} (insert issues {_sum(runs, 'insert'):.1f}); "
            f"{pupils:,.0f} pupils, {_sum(runs, 'errors'):,.0f} errors, "
            f"{_sum(runs, 'queries'):,.0f} queries; slowest LA {slowest['la']} "
            f"{slowest['seconds']:.2f} s ({slowest['pupils']} pupils)  "
            f"[target <= {TARGETS['national']:.0f} s: {met}]"
        )
        reads: dict[str, float] = {}
        for r in runs:
            for name, seconds in r["reads"].items():
                reads[name] = reads.get(name, 0.0) + seconds
        lines.append(f"    load's queries: {_reads(reads)}")
        if failed:
            lines.append(f"    {len(failed)} LA(s) FAILED (their time up to the failure is in "
                         f"the total): " + "; ".join(f"{r['la']}: {r['failed'][:160]}"
                                                     for r in failed[:5]))
    return lines


def code_version() -> dict:
    """The commit measured, and whether keystage/ differs from it (read-only git commands)."""
    def git(*words: str) -> str:
        done = subprocess.run(["git", *words], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown",
            "keystage_changed": bool(git("status", "--porcelain", "--", "keystage"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scope", choices=["la", "national", "both"], default="both")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    # 831's synthetic size is the nearest to the issue's LA batch (as in bench_collection).
    parser.add_argument("--la", default="831", help="the LA of the `la` scope")
    parser.add_argument("--national-las", default="",
                        help="national scope: only these LA codes (comma-separated; for trials)")
    parser.add_argument("--passes", type=int, default=3,
                        help="cleaning runs of each collection (the first, then re-runs)")
    parser.add_argument("--analyse-before", type=int, default=3,
                        help="gather the database's statistics (ANALYZE) before this pass "
                        "(0: never); the earlier passes see the tables as loaded, which is "
                        "what cleaning straight after an import sees")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=["setup-la", "setup-national", "clean"])
    parser.add_argument("--url")
    parser.add_argument("--folder")
    parser.add_argument("--collections", default="eyfsp")
    parser.add_argument("--las", default="")
    args = parser.parse_args()
    if args.child:
        folder = Path(args.folder)
        if args.child == "setup-la":
            result = child_setup_la(args.url, folder)
        elif args.child == "setup-national":
            result = child_setup_national(args.url, folder)
        else:
            result = child_clean(args.url, folder, args.collections.split(","),
                                 args.las.split(","), args.passes, args.analyse_before)
        print(json.dumps(result))
        return

    begun = time.perf_counter()
    machine = {"machine": platform.machine(), "cores": os.cpu_count(),
               "python": platform.python_version(), "platform": platform.platform(),
               "date": time.strftime("%Y-%m-%d %H:%M"), **code_version()}
    print(f"machine: {machine['machine']}, {machine['cores']} cores, Python {machine['python']}"
          f", {machine['platform']}, {machine['date']}; code {machine['commit']}"
          + (" with uncommitted changes to keystage/" if machine["keystage_changed"] else ""))
    labels = {"sqlite": ["SQLite"], "postgres": ["PostgreSQL"],
              "both": ["SQLite", "PostgreSQL"]}[args.db]
    results: dict = {**machine, "scopes": {}}
    scopes = ["la", "national"] if args.scope == "both" else [args.scope]
    try:
        for scope in scopes:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                started = time.perf_counter()
                if scope == "la":
                    manifest = prepare_la(folder, args.la)
                    print(f"\n== la: LA {args.la}, {manifest['world_pupils']} pupils by "
                          f"collection, {manifest['schools']} establishments, "
                          f"{len(manifest['files'])} files, planted errors "
                          f"{manifest['planted']} (written in "
                          f"{time.perf_counter() - started:.0f} s)")
                else:
                    las = [c for c in args.national_las.split(",") if c]
                    manifest = prepare_national(folder, las)
                    print(f"\n== national: {len(manifest['las'])} LAs, {manifest['pupils']:,} "
                          f"EYFSP pupils, {manifest['results']:,} result rows, "
                          f"{manifest['submissions']:,} schools with pupils, "
                          f"{manifest['planted']:,} planted errors (world "
                          f"{manifest['world_seconds']:.0f} s, CTFs for the planted errors "
                          f"{manifest['ctf_seconds']:.0f} s, frames "
                          f"{manifest['frames_seconds']:.0f} s); rows built from the world, "
                          "bulk-loaded, not imported")
                (folder / "manifest.json").write_text(json.dumps(manifest))
                scope_results = results["scopes"][scope] = {"manifest": {
                    k: v for k, v in manifest.items() if not k.endswith("files")}}
                for label in labels:
                    url = database_url(label, folder)
                    if url is None:
                        continue
                    if scope == "la":
                        setup = run_child("setup-la", url, folder)
                        clean = run_child("clean", url, folder, "--collections",
                                          ",".join(ALL_COLLECTIONS), "--las", args.la,
                                          "--passes", str(args.passes),
                                          "--analyse-before", str(args.analyse_before))
                        lines = report_la(label, setup, clean, manifest)
                    else:
                        setup = run_child("setup-national", url, folder)
                        clean = run_child("clean", url, folder, "--collections", "eyfsp",
                                          "--las", ",".join(manifest["las"]),
                                          "--passes", str(args.passes),
                                          "--analyse-before", str(args.analyse_before))
                        lines = report_national(label, setup, clean, args.passes)
                    server = clean["server"]
                    settings = (f"; PostgreSQL {server['server_version']}, autovacuum "
                                f"{server['autovacuum']}, shared_buffers "
                                f"{server['shared_buffers']}" if "autovacuum" in server else "")
                    lines.append(f"  (1-minute load average before setup "
                                 f"{setup['load_average_before']:.2f}, before cleaning "
                                 f"{clean['load_average_before']:.2f}{settings})")
                    print("\n".join(lines), flush=True)
                    scope_results[label] = {"setup": setup, "clean": clean}
    finally:
        if "PostgreSQL" in labels:
            import psycopg

            with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")
    results["seconds"] = time.perf_counter() - begun
    print(f"\nbenchmark took {results['seconds']:.0f} s")
    text = json.dumps(results)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
