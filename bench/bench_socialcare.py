"""Load the peers' SSDA903 and CIN census files end to end and compare with a floor and the peers.

A benchmark, not a test. The load is the action `keystage import` calls (read every table, store
the return's children and every row, link the children to pupils, audit), on a scratch database.
The floor, measured in the same run, is reading the same files with the fastest plain parsers
(polars CSV, lxml) alone, with no checks, storage or linking. The peers' validators took 10.2 s
for the 903 tables (2,675 children, about 260 a second) and 4.1 s for the CIN file (332
children, about 80 a second) on a 2-core machine (shared/data/peers/README.md; peers.md quotes
about 260 and 200 a second).

With --national, a synthetic national collection instead: one SSDA903 and one CIN census per LA
for 152 LAs (about 85,000 looked-after children and 400,000 children in need, with the children
no school holds), written by keystage.synth.socialcare_writers, each LA's returns loaded as
`keystage import` loads them; the floor is the same files read by polars and lxml alone.

Run from the project root, with the shared folder beside the checkout:
    .venv/bin/python bench/bench_socialcare.py [--db sqlite|postgres] [--repeat N] [--national]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import secrets
import sys
import time
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PEERS = ROOT.parent / "shared" / "data" / "peers"
PEER_RATES = {"ssda903": 2675 / 10.2, "cin": 332 / 4.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--repeat", type=int, default=3, help="loads of each return (best kept)")
    parser.add_argument("--only", choices=["ssda903", "cin"],
                        help="load only this return (both by default)")
    parser.add_argument("--national", action="store_true",
                        help="a synthetic national collection (152 LAs) instead")
    args = parser.parse_args()
    if not args.national and not PEERS.exists():
        sys.exit("the peers' files (shared/data/peers) are not beside this checkout")
    from bench._scratch import scratch_django

    with scratch_django(args.db, "socialcare") as folder:
        run(args, folder)


def run(args, folder: Path) -> None:
    """The benchmark itself, on the scratch database."""
    import polars as pl
    from django.core.management import call_command
    from django.db import connection
    from lxml import etree

    from keystage.schools.models import LocalAuthority
    from keystage.socialcare.actions import CareFile, import_care_files
    from keystage.socialcare.models import CareReturn

    call_command("migrate", verbosity=0)
    if args.national:
        national(folder, connection)
        return
    la = LocalAuthority.objects.create(code="975", name="Bench LA")
    tables = [p for p in sorted((PEERS / "ssda903").glob("*.csv"))]
    cin = PEERS / "cin" / "fake_CIN_data.xml"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {connection.vendor}")

    def files_of(paths, kind):
        import hashlib

        return [CareFile(p.name, kind, p.read_bytes(),
                         hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]

    results = {}
    for dataset, paths, kind, year in (("ssda903", tables, "ssda903_csv", 2026),
                                       ("cin", [cin], "cin_xml", 2022)):
        if args.only and dataset != args.only:
            continue
        times = []
        for attempt in range(args.repeat):
            files = files_of(paths, kind)
            if attempt:  # a changed digest so each run stores the return again
                files[0].sha256 = f"{attempt:064d}"
            started = time.perf_counter()
            outcomes = import_care_files(files, la=la, year=year, acting_user=None,
                                         confirm_replacements=True)
            took = time.perf_counter() - started
            assert all(o.status == "committed" for o in outcomes), outcomes[0].message
            times.append(took)
        best, median = min(times), sorted(times)[len(times) // 2]
        children = CareReturn.objects.get(la=la, dataset=dataset, status="current").children
        started = time.perf_counter()
        for _ in range(args.repeat):
            for path in paths:
                if path.suffix == ".csv":
                    pl.read_csv(io.BytesIO(path.read_bytes()), infer_schema=False)
                else:
                    for _ in etree.fromstring(path.read_bytes()).iter():
                        pass
        floor = (time.perf_counter() - started) / args.repeat
        rate = children / best
        results[dataset] = (children, best, floor, rate)
        print(f"{dataset}: {children:,} children loaded in {best * 1000:,.1f} ms at best of "
              f"{len(times)} (median {median * 1000:,.1f} ms; {rate:,.0f} children/s,"
              f" {rate / PEER_RATES[dataset]:.0f}x the peer's {PEER_RATES[dataset]:.0f}/s); "
              f"floor (plain parse) {floor:.3f} s; ratio {best / floor:.1f}")


def peak_mb() -> float:
    """This process's peak RSS in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def national(folder: Path, connection) -> None:
    """Write and load a synthetic national collection, one LA at a time."""
    import hashlib
    from dataclasses import dataclass

    import numpy as np
    import polars as pl
    from lxml import etree

    from keystage.formats.upn import make_upn
    from keystage.schools.models import LocalAuthority
    from keystage.socialcare.actions import CareFile, import_care_files
    from keystage.synth.socialcare_writers import NOT_AT_SCHOOL_RATE, write_socialcare

    las = [f"{code}" for code in range(201, 201 + 152)]
    looked_after = int(85_000 / (1 + NOT_AT_SCHOOL_RATE))
    in_need = int(400_000 / (1 + NOT_AT_SCHOOL_RATE))
    rng = np.random.default_rng(1)
    n = looked_after + in_need
    la_of = rng.integers(0, len(las), n)
    days = rng.integers(0, 365 * 12, n)
    pupils = pl.DataFrame({
        "la_code": [las[i] for i in la_of],
        "upn": [make_upn(las[la_of[i]], "2001", 2015 + i % 10, i % 999 + 1) + "" for i in
                range(n)],
        "dob": pl.Series(days + 365 * 40, dtype=pl.Int32).cast(pl.Date),
        "sex": ["M" if x else "F" for x in rng.integers(0, 2, n)],
        "ethnicity": ["WBRI"] * n,
        "looked_after": [i < looked_after for i in range(n)],
        "child_in_need": [i >= looked_after or i % 3 == 0 for i in range(n)],
    })

    @dataclass
    class Spec:
        year: int = 2026

    @dataclass
    class World:
        pupils: pl.DataFrame
        spec: Spec

    started = time.perf_counter()
    files = write_socialcare(World(pupils, Spec()), folder, seed=1)
    children = {"ssda903": 0, "cin": 0}
    for frame in (files.truth.group_by("dataset").len().iter_rows()):
        children[frame[0]] = frame[1]
    print(f"wrote {len(las)} LAs' returns ({children['ssda903']:,} looked-after children, "
          f"{children['cin']:,} children in need) in {time.perf_counter() - started:.0f} s")
    for code in las:
        LocalAuthority.objects.create(code=code, name=f"LA {code}")
    took = 0.0
    for code in las:
        la = LocalAuthority.objects.get(code=code)
        group = [*sorted(files.ssda903[code].glob("*.csv")), files.cin[code]]
        care = [CareFile(p.name, "cin_xml" if p.suffix == ".xml" else "ssda903_csv",
                         p.read_bytes(), hashlib.sha256(p.read_bytes()).hexdigest())
                for p in group]
        started = time.perf_counter()
        outcomes = import_care_files(care, la=la, year=2026, acting_user=None)
        took += time.perf_counter() - started
        assert all(o.status == "committed" for o in outcomes), outcomes[0].message
    started = time.perf_counter()
    for code in las:
        for path in sorted(files.ssda903[code].glob("*.csv")):
            pl.read_csv(io.BytesIO(path.read_bytes()), infer_schema=False)
        for _ in etree.fromstring(files.cin[code].read_bytes()).iter():
            pass
    floor = time.perf_counter() - started
    total = sum(children.values())
    peers = total / (children["ssda903"] / PEER_RATES["ssda903"]
                     + children["cin"] / PEER_RATES["cin"])
    print(f"national load: {total:,} children in {took:.1f} s ({total / took:,.0f} children/s, "
          f"{total / took / peers:.0f}x the peers' {peers:.0f}/s); floor (plain parse) "
          f"{floor:.1f} s; ratio {took / floor:.1f}; peak RSS {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
