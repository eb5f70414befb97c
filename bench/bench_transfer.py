"""Issue 13's two targets: a transfer upload of 500 CTFs in under 10 s, and matching a national
lost-pupils register (10,000 pupils) against a national census load (3 million) in under 60 s.

- `upload`: 500 full CTFs (one pupil each, as a school's leavers are sent) sent from one school
  through `send_transfer_files` on a scratch database (SQLite or PostgreSQL): read, checked,
  routed, encrypted, stored and audited, each its own transaction. Floor: the same 500 files
  read by the CTF reader alone.
- `match`: `keystage.identity.lost.find_lost` over 3,000,000 census records and a register of
  10,000 pupils, of whom 8,000 are in the census (a fifth of them changed as real files change
  pupils). Floor: a plain polars join of the register to the census on UPN.

Run from the project root:
    .venv/bin/python bench/bench_transfer.py upload [--db sqlite|postgres] [--files 500]
    .venv/bin/python bench/bench_transfer.py match [--census 3000000] [--lost 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import secrets
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))


def _machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d')}")


def upload(args) -> None:
    from bench._scratch import scratch_django

    with scratch_django(args.db, "transfer"):
        from django.core.management import call_command
        from django.db import connection

        from keystage.core.testing import build_test_world
        from keystage.formats.ctf import CtfReader
        from keystage.formats.upn import make_upn
        from keystage.transfer.actions import send_transfer_files
        from keystage.transfer.models import TransferFile
        from keystage.transfer.tests.builder import full_pupil, transfer_ctf

        call_command("migrate", verbosity=0)
        from django.db import transaction

        with transaction.atomic():
            world = build_test_world()
        school = world.a.schools[0]
        files = [(f"3302001_CTF_3312001_{i:03d}.xml",
                  transfer_ctf("330", "2001", "331", "2001",
                               [full_pupil(make_upn("330", "2001", 2016, i + 1), f"Surname{i}",
                                           "Forename", "2016-05-01")]))
                 for i in range(args.files)]
        started = time.perf_counter()
        for name, data in files:
            with CtfReader(data, filename=name) as reader:
                list(reader.pupils())
        floor = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = send_transfer_files(files, from_school=school, acting_user=None)
        took = time.perf_counter() - started
        assert all(o.status == "sent" for o in outcomes), outcomes[0].message
        assert TransferFile.objects.count() == args.files
        print(f"machine: {_machine()}, {connection.vendor}")
        print(f"upload: {args.files} CTFs sent in {took:.2f} s ({args.files / took:,.0f} files/s;"
              f" target under 10 s); floor (CTF reader alone) {floor:.2f} s; ratio "
              f"{took / floor:.1f}")


def _census(n: int, seed: int):
    """n census records: names drawn as the synthetic world draws them, births over 14 years."""
    import numpy as np
    import polars as pl

    from keystage.synth.names import FORENAMES_FEMALE, FORENAMES_MALE, SURNAMES

    rng = np.random.default_rng(seed)
    surnames = np.array(sorted({s for names in SURNAMES.values() for s in names}))
    forenames = np.array(sorted({f for names in (*FORENAMES_MALE.values(),
                                                 *FORENAMES_FEMALE.values()) for f in names}))
    days = rng.integers(0, 14 * 365, n)
    return pl.DataFrame({
        "record_id": np.arange(1, n + 1, dtype=np.int64),
        "surname": surnames[rng.integers(0, len(surnames), n)],
        "forename": forenames[rng.integers(0, len(forenames), n)],
        "sex": np.where(rng.random(n) < 0.5, "M", "F"),
    }).with_columns(
        upn=pl.format("A{}{}", pl.lit("999"), pl.col("record_id").cast(pl.String).str.zfill(9)),
        former_upns=pl.lit(""),
        dob=(pl.lit(np.datetime64("2008-09-01")) + pl.duration(days=pl.Series(days))).cast(
            pl.Date),
        laestab=pl.format("999{}", (pl.col("record_id") % 9000 + 1000).cast(pl.String)),
    )


def match(args) -> None:
    import polars as pl

    from keystage.identity.lost import find_lost

    started = time.perf_counter()
    census = _census(args.census, seed=1)
    made = time.perf_counter() - started
    rng = random.Random(2)
    seen_ids = rng.sample(range(1, args.census + 1), int(args.lost * 0.8))
    seen = census.filter(pl.col("record_id").is_in(seen_ids))
    unseen = _census(args.lost - seen.height, seed=3).with_columns(
        pl.col("record_id") + 10 * args.census,
        upn=pl.format("B{}", pl.col("upn").str.slice(1)))
    register = pl.concat([seen, unseen]).select(
        lost_id="record_id", upn="upn", former_upn=pl.lit(""), surname="surname",
        forename="forename", dob="dob", sex="sex", last_laestab=pl.lit("8881000"),
        left_on=pl.lit(date(2026, 2, 27)))
    # A fifth of the pupils the census holds have a new UPN (issued this year by the school they
    # joined: characters 9-10 are the year of issue), or a typo in the surname.
    changed = set(rng.sample(seen_ids, len(seen_ids) // 5))
    census = census.with_columns(
        upn=pl.when(pl.col("record_id").is_in(list(changed)) & (pl.col("record_id") % 2 == 0))
        .then(pl.format("N{}26{}", pl.col("upn").str.slice(1, 7), pl.col("upn").str.slice(10)))
        .otherwise("upn"),
        surname=pl.when(pl.col("record_id").is_in(list(changed)) & (pl.col("record_id") % 2 == 1))
        .then(pl.col("surname") + "e").otherwise("surname"))
    started = time.perf_counter()
    present = census.join(register, on="upn", how="inner").height
    floor = time.perf_counter() - started
    started = time.perf_counter()
    found, review = find_lost(census, register)
    took = time.perf_counter() - started
    right = found.filter(pl.col("lost_id") == pl.col("record_id")).height
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {_machine()}")
    print(f"match: register of {register.height:,} against {census.height:,} census records "
          f"(made in {made:.1f} s): {took:.1f} s (target under 60 s); found {found.height:,} "
          f"({right:,} right, {found.height - right:,} wrong) of {len(seen_ids):,} present; "
          f"{review['lost_id'].n_unique():,} waiting for review; floor (UPN join) {floor:.2f} s;"
          f" ratio {took / floor:.0f} ({present:,} by UPN alone); peak memory {peak:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    up = sub.add_parser("upload")
    up.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    up.add_argument("--files", type=int, default=500)
    m = sub.add_parser("match")
    m.add_argument("--census", type=int, default=3_000_000)
    m.add_argument("--lost", type=int, default=10_000)
    args = parser.parse_args()
    upload(args) if args.what == "upload" else match(args)


if __name__ == "__main__":
    main()
