"""Peak memory of importing a ZIP that expands to about 1.9 GB of CTF XML (issue 9, point 3).

A benchmark, not a test. It builds a synthetic LA's register and two ZIPs of large synthetic CTFs
(one school's EYFSP, indented with CRLF like MIS output):
- `repeated`: the issue's case, a ZIP of a few tens of MB holding one 40 MB CTF 48 times under
  different names (the first loads, the others are read in full and found unchanged);
- `largest`: the largest upload the limits admit, members just under the 200 MB a CTF may be,
  each from a different school and all loaded, expanding to just under the 2 GiB a ZIP may.
Each ZIP is imported as the web upload does: saved in a job folder, queued, and run by the worker
(`run_pending_jobs`, which also runs the cleaning rules) in a fresh child process whose own peak
RSS (VmHWM) is reported. `--workers 3` runs three uploads at once, one worker process each.

Run from the project root: .venv/bin/python bench/bench_upload_memory.py [--scope repeated|largest|
both] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# Benchmarks sign nothing that outlives them: a scratch key when none is set (make bench sets one).
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LA = "999"
YEAR = 2026
MB = 1024 * 1024

SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
            "Green", "Hall", "Wood", "Jackson", "Clarke", "Khan", "Ahmed", "Hughes", "Lewis",
            "Edwards", "Hill", "Moore", "Clark", "Harrison", "Scott", "Young", "Morris", "Hussain"]
FORENAMES = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie",
             "Sophia", "Grace", "Freya", "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo",
             "Harry", "Oscar", "Archie", "Henry", "Theodore", "Freddie", "Jack", "Charlie",
             "Aisha", "Zara", "Maryam", "Yusuf", "Ibrahim", "Ella", "Evie", "Alfie"]
AREAS = ["COM", "COM", "PSE", "PSE", "PSE", "PHY", "PHY", "LIT", "LIT", "LIT", "MAT", "MAT",
         "UTW", "UTW", "UTW", "EXP", "EXP"]


def peak_mb() -> float:
    """This process's own peak RSS in MB (VmHWM: ru_maxrss carries across fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _upn(la: str, estab: str, serial: int) -> str:
    from keystage.formats.upn import make_upn

    # Three digits of serial per year of issue: spread a large school over years of issue.
    return make_upn(la, estab, serial // 1000, serial % 1000)


def write_ctf(path: Path, estab: str, target_bytes: int, seed: int, first_serial: int) -> int:
    """A one-school EYFSP CTF of about target_bytes; returns the number of pupils."""
    rng = random.Random(seed)
    nl = "\r\n"
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>{nl}<CTfile>{nl}  <Header>{nl}'
        f"    <DocumentName>Common Transfer File</DocumentName>{nl}"
        f"    <CTFversion>25.0</CTFversion>{nl}    <DateTime>2026-06-19T14:03:11</DateTime>{nl}"
        f"    <DocumentQualifier>partial</DocumentQualifier>{nl}"
        f"    <DataQualifier>FSP</DataQualifier>{nl}    <SupplierID>BenchMIS</SupplierID>{nl}"
        f"    <SourceSchool>{nl}      <LEA>{LA}</LEA>{nl}      <Estab>{estab}</Estab>{nl}"
        f"      <SchoolName>Bench School</SchoolName>{nl}"
        f"      <AcademicYear>2025</AcademicYear>{nl}    </SourceSchool>{nl}"
        f"    <DestSchool>{nl}      <LEA>{LA}</LEA>{nl}      <Estab>LLLL</Estab>{nl}"
        f"    </DestSchool>{nl}  </Header>{nl}  <CTFpupilData>{nl}"
    )
    tail = f"  </CTFpupilData>{nl}</CTfile>{nl}"
    written = 0
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(head)
        written += len(head)
        while written < target_bytes - len(tail):
            rows = "".join(
                f"          <StageAssessment>{nl}            <Locale>ENG</Locale>{nl}"
                f"            <Year>{YEAR}</Year>{nl}            <Subject>{AREAS[i]}</Subject>{nl}"
                f"            <Method>TA</Method>{nl}"
                f"            <Component>E{i + 1:02d}</Component>{nl}"
                f"            <ResultStatus>R</ResultStatus>{nl}"
                f"            <ResultQualifier>FD</ResultQualifier>{nl}"
                f"            <Result>{'2' if rng.random() < 0.8 else '1'}</Result>{nl}"
                f"          </StageAssessment>{nl}"
                for i in range(17)
            )
            pupil = (
                f"    <Pupil>{nl}      <UPN>{_upn(LA, estab, first_serial + count)}</UPN>{nl}"
                f"      <Surname>{rng.choice(SURNAMES)}</Surname>{nl}"
                f"      <Forename>{rng.choice(FORENAMES)}</Forename>{nl}"
                f"      <DOB>2020-{rng.randint(9, 12):02d}-{rng.randint(1, 28):02d}</DOB>{nl}"
                f"      <Sex>{rng.choice('MF')}</Sex>{nl}"
                f"      <BasicDetails>{nl}        <NCyearActual>R</NCyearActual>{nl}"
                f"      </BasicDetails>{nl}      <StageAssessments>{nl}        <KeyStage>{nl}"
                f"          <Stage>FSP</Stage>{nl}{rows}        </KeyStage>{nl}"
                f"      </StageAssessments>{nl}    </Pupil>{nl}"
            )
            out.write(pupil)
            written += len(pupil)
            count += 1
        out.write(tail)
    return count


def build(folder: Path, scope: str) -> dict:
    """The register (GIAS extract) and the scope's ZIP; returns what was built."""
    import polars as pl

    from keystage.synth import render
    from keystage.synth.world import WorldSpec, build_world

    world = build_world(WorldSpec(seed=1, la_codes=(LA,)))
    render.write_gias_extract(world, folder / "gias.csv")
    estabs = (world.schools.filter(pl.col("estab").is_not_null() & (pl.col("kind") != "pvi"))
              ["estab"].to_list())
    parts = folder / f"parts-{scope}"
    parts.mkdir(exist_ok=True)
    pupils = 0
    if scope == "repeated":
        one = parts / "big.xml"
        pupils = write_ctf(one, estabs[0], 40 * MB, seed=1, first_serial=1)
        members = [(f"school-{i:02d}.xml", one) for i in range(48)]
    else:
        members = []
        for i in range(10):
            path = parts / f"school-{i:02d}.xml"
            pupils += write_ctf(path, estabs[i], 195 * MB, seed=i, first_serial=1)
            members.append((path.name, path))
    archive_path = folder / f"{scope}.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in members:
            archive.write(path, f"upload/{name}")
    expanded = sum(path.stat().st_size for _name, path in members)
    largest = max(path.stat().st_size for _name, path in members)
    shutil.rmtree(parts)
    return {"scope": scope, "zip_bytes": archive_path.stat().st_size, "expanded": expanded,
            "members": len(members), "largest_member": largest, "pupils_written": pupils}


def _django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "keystage.settings"
    os.environ["KEYSTAGE_VAR_DIR"] = str(folder / "var")
    import django

    django.setup()


def child_setup(folder: Path) -> dict:
    """A fresh database with the register loaded (not timed)."""
    _django(folder)
    from django.core.management import call_command

    from keystage.schools.actions import do_import_establishments

    call_command("migrate", verbosity=0)
    do_import_establishments((folder / "gias.csv").read_bytes(), filename="gias.csv",
                             acting_user=None)
    return {"peak_mb": peak_mb()}


def child_queue(folder: Path, scope: str, copies: int) -> dict:
    """Save the ZIP in job folders as the upload page does, and queue the imports."""
    _django(folder)
    from django.conf import settings

    from keystage.jobs.actions import do_queue_job
    from keystage.schools.models import LocalAuthority

    la = LocalAuthority.objects.get(code=LA)
    ids = []
    for copy in range(copies):
        relative = f"jobs/bench-{scope}-{copy}"
        target = Path(settings.MEDIA_ROOT) / relative
        target.mkdir(parents=True)
        shutil.copyfile(folder / f"{scope}.zip", target / f"00000__{scope}.zip")
        job = do_queue_job("import-files", f"Bench {scope}", la=la, acting_user=None,
                           params={"folder": relative, "la_code": LA, "year": YEAR})
        ids.append(job.pk)
    return {"jobs": ids}


def child_worker(folder: Path) -> dict:
    """Run one queued import as the worker does; report its outcome and this process's peak."""
    _django(folder)
    from keystage.collection import jobs as collection_jobs
    from keystage.jobs.actions import run_pending_jobs
    from keystage.jobs.models import Job

    # The peak of reading and loading the files, before the cleaning rules run over the LA's
    # whole collection (whose frames grow with the LA's data, not with the upload).
    import_peak: list[float] = []
    clean = collection_jobs.clean_after_import

    def measured_clean(*args, **kwargs):
        import_peak.append(peak_mb())
        return clean(*args, **kwargs)

    collection_jobs.clean_after_import = measured_clean
    started = time.perf_counter()
    run_pending_jobs(limit=1)
    seconds = time.perf_counter() - started
    job = Job.objects.filter(status__in=["succeeded", "failed"]).order_by("-finished_at").first()
    counts: dict[str, int] = {}
    for entry in job.result.get("files", []):
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return {"seconds": seconds, "status": job.status, "error": job.error[:300],
            "files": counts, "import_peak_mb": import_peak[0] if import_peak else None,
            "peak_mb": peak_mb()}


def _run(args: list[str], folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--child", *args, "--folder", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _result(child: subprocess.Popen) -> dict:
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"child failed:\n{out}\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run_scope(folder: Path, scope: str, workers: int) -> dict:
    built = build(folder, scope)
    database = folder / "bench.sqlite3"
    database.unlink(missing_ok=True)
    shutil.rmtree(folder / "var", ignore_errors=True)
    _result(_run(["setup"], folder))
    _result(_run(["queue", "--scope", scope, "--copies", str(workers)], folder))
    started = time.perf_counter()
    reports = [_result(child) for child in [_run(["worker"], folder) for _ in range(workers)]]
    wall = time.perf_counter() - started
    media = folder / "var" / "uploads"
    left = sorted(str(p.relative_to(media)) for p in (media / "tmp").rglob("*") if p.is_file())
    (folder / f"{scope}.zip").unlink()
    return {**built, "workers": workers, "wall_seconds": wall, "imports": reports,
            "temporary_files_left": left}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scope", choices=["repeated", "largest", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1,
                        help="uploads imported at once, one worker process each")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--child", choices=["setup", "queue", "worker"])
    parser.add_argument("--folder")
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        folder = Path(args.folder)
        if args.child == "setup":
            report = child_setup(folder)
        elif args.child == "queue":
            report = child_queue(folder, args.scope, args.copies)
        else:
            report = child_worker(folder)
        print(json.dumps(report))
        return
    scopes = ["repeated", "largest"] if args.scope == "both" else [args.scope]
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-upload-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"# bench_upload_memory on {platform.machine()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, SQLite; folder {folder}")
    try:
        for scope in scopes:
            report = run_scope(folder, scope, args.workers)
            print(json.dumps(report), flush=True)
            for number, run in enumerate(report["imports"], 1):
                print(f"{scope}: ZIP {report['zip_bytes'] / MB:.1f} MB -> "
                      f"{report['expanded'] / MB:,.0f} MB in {report['members']} members "
                      f"(ratio {report['expanded'] / report['zip_bytes']:.0f}); import "
                      f"{number}/{report['workers']}: {run['status']} {run['files']} in "
                      f"{run['seconds']:.1f} s, peak RSS {run['import_peak_mb']:.0f} MB "
                      f"reading and loading, {run['peak_mb']:.0f} MB with the cleaning rules",
                      flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
